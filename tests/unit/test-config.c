/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "config.h"
#include <string.h>

#include "log.h"
#include "tap.h"
#include "util.h"

static void
test_config__durations(void)
{
	struct error err = ERROR_INIT;
	int64_t ms = -5;
	ok(config_parse_duration(&ms, "250ms", &err) == 0 && ms == 250, "250ms");
	ok(config_parse_duration(&ms, "10s", &err) == 0 && ms == 10000, "10s");
	ok(config_parse_duration(&ms, "5m", &err) == 0 && ms == 300000, "5m");
	ok(config_parse_duration(&ms, "1.5s", &err) == 0 && ms == 1500, "1.5s");
	ok(config_parse_duration(&ms, "0s", &err) == 0 && ms == 0, "0s");
	ok(config_parse_duration(&ms, "10", &err) < 0, "a bare number is refused (unit required)");
	ok(config_parse_duration(&ms, "-1s", &err) < 0, "negative refused");
	ok(config_parse_duration(&ms, "1e3ms", &err) < 0, "exponent refused");
	ok(config_parse_duration(&ms, "s", &err) < 0, "unit alone refused");
	ok(config_parse_duration(&ms, "10 s", &err) < 0, "inner space refused");
	ok(config_parse_duration(&ms, "2d", &err) < 0, "unknown unit refused");
	ok(config_parse_duration(&ms, "25h", &err) < 0, "over a day refused");
	ok(config_parse_duration(&ms, "0x10s", &err) < 0, "hex refused");
}

static void
test_config__bools_fractions(void)
{
	struct error err = ERROR_INIT;
	bool b = false;
	double f = -1;
	const char *yes[] = { "true", "True", "TRUE" }, *no[] = { "false", "False", "FALSE" };
	size_t i;
	for (i = 0; i < 3; i++) {
		ok(config_parse_bool(&b, yes[i], &err) == 0 && b, "bool %s", yes[i]);
		ok(config_parse_bool(&b, no[i], &err) == 0 && !b, "bool %s", no[i]);
	}
	ok(config_parse_bool(&b, "yes", &err) < 0, "yes refused");
	ok(config_parse_bool(&b, "tRUE", &err) < 0, "tRUE refused");
	ok(config_parse_bool(&b, "1", &err) < 0, "1 refused");
	ok(config_parse_fraction(&f, "0.5%", &err) == 0 && f > 0.00499 && f < 0.00501, "0.5%%");
	ok(config_parse_fraction(&f, "0.005", &err) == 0 && f == 0.005, "0.005");
	ok(config_parse_fraction(&f, "100%", &err) == 0 && f == 1.0, "100%%");
	ok(config_parse_fraction(&f, "0", &err) == 0 && f == 0.0, "0");
	ok(config_parse_fraction(&f, "1.5", &err) < 0, "1.5 refused (above 100%%)");
	ok(config_parse_fraction(&f, "101%", &err) < 0, "101%% refused");
	ok(config_parse_fraction(&f, "-1%", &err) < 0, "negative refused");
	ok(config_parse_fraction(&f, "nan", &err) < 0, "nan refused");
	ok(config_parse_fraction(&f, "%", &err) < 0, "%% alone refused");
	ok(config_parse_fraction(&f, "1e-3", &err) < 0, "exponent refused");
}

static void
test_config__endpoints(void)
{
	struct error err = ERROR_INIT;
	struct endpoint *e = NULL;
	size_t n = 0;

	ok(config_parse_endpoints(&e, &n, "GET /api/projects\n\n# comment\n  post /api/items 200,201  \n/api/x 2xx\r\n", &err) == 0,
	   "endpoints parse");
	is_int(n, 3, "three endpoints");
	if (n == 3) {
		is_str(e[0].name, "GET /api/projects", "name is METHOD PATH");
		is_int(e[0].expected.n, 0, "default expectation");
		ok(status_set_matches(&e[0].expected, 204) && !status_set_matches(&e[0].expected, 301), "default is any 2xx");
		is_str(e[1].method, "POST", "method upper-cased");
		ok(status_set_matches(&e[1].expected, 201) && !status_set_matches(&e[1].expected, 200 + 2), "status list");
		is_str(e[2].method, "GET", "method defaults to GET");
		ok(status_set_matches(&e[2].expected, 299), "class 2xx");
	}
	endpoints_free(e, n);
	ok(config_parse_endpoints(&e, &n, "BREW /x", &err) < 0, "unknown method");
	ok(config_parse_endpoints(&e, &n, "GET x", &err) < 0, "path must start with /");
	ok(config_parse_endpoints(&e, &n, "GET //evil.example/x", &err) < 0, "protocol-relative path refused");
	ok(config_parse_endpoints(&e, &n, "GET /x 200 extra", &err) < 0, "too many words");
	ok(config_parse_endpoints(&e, &n, "GET /x 600", &err) < 0, "status out of range");
	ok(config_parse_endpoints(&e, &n, "GET /x 200,", &err) < 0, "dangling comma");
	ok(config_parse_endpoints(&e, &n, "GET /a\nGET /b\nPUT c", &err) < 0 && strstr(err.msg, "line 3") != NULL,
	   "error names the line: %s", err.msg);
	ok(config_parse_endpoints(&e, &n, "", &err) == 0 && n == 0, "empty is no endpoints");
	endpoints_free(e, n);
}

static void
test_config__token_path(void)
{
	struct error err = ERROR_INIT;
	char **p = NULL;
	ok(config_parse_token_path(&p, "access_token", &err) == 0 && strv_len(p) == 1, "simple");
	strv_free(p);
	ok(config_parse_token_path(&p, "$.data.token", &err) == 0 && strv_len(p) == 2 && strcmp(p[1], "token") == 0, "$. prefix");
	strv_free(p);
	ok(config_parse_token_path(&p, "a..b", &err) < 0, "empty segment refused");
	ok(config_parse_token_path(&p, "a.", &err) < 0, "trailing dot refused");
	ok(config_parse_token_path(&p, "$.", &err) < 0, "prefix alone refused");
	ok(config_parse_token_path(&p, "a[0]", &err) < 0, "brackets refused");
}

static void
test_config__list(void)
{
	struct error err = ERROR_INIT;
	char **l = NULL;
	ok(config_parse_list(&l, " atom, worker\nbilling,,atom ", &err) == 0, "list parses");
	is_int(strv_len(l), 3, "trimmed, deduplicated, empties dropped");
	strv_free(l);
}

/* the defaults in the table must be the ones action.yml declares (users read action.yml) */
static void
test_config__defaults_match_action_yml(void)
{
	const char *root = getenv("ATOM_SAFETY_SOURCE_ROOT");
	char *path, *yml;
	size_t n, i;
	const struct input_info *info = config_inputs(&n);

	if (root == NULL) {
		ok(1, "# SKIP ATOM_SAFETY_SOURCE_ROOT not set");
		return;
	}
	path = xasprintf("%s/action.yml", root);
	yml = file_read(path, 1 << 20, NULL);
	ok(yml != NULL, "action.yml readable");
	for (i = 0; yml != NULL && i < n; i++) {
		char *key = xasprintf("\n  %s:\n", info[i].name);
		const char *at = strstr(yml, key);
		const char *end = NULL, *def = NULL;
		ok(at != NULL, "action.yml declares '%s'", info[i].name);
		if (at != NULL) {
			/* the input's block ends where the next two-space key starts */
			at += strlen(key) - 1;
			for (end = at; (end = strstr(end + 1, "\n  ")) != NULL && end[3] == ' ';) {
			}
			def = strstr(at, "\n    default: '");
			if (def != NULL && end != NULL && def > end) {
				def = NULL;
			}
		}
		if (def != NULL) {
			const char *v = def + strlen("\n    default: '");
			const char *q = strstr(v, "'\n");
			char *value = q != NULL ? xstrndup(v, (size_t)(q - v)) : xstrdup("");
			if (strcmp(info[i].name, "github-token") == 0) {
				is_str(value, "${{ github.token }}", "github-token defaults to the job token");
			} else {
				is_str(value, info[i].default_value, "default of '%s' equals action.yml", info[i].name);
			}
			free(value);
		} else if (at != NULL) {
			ok(info[i].required, "'%s' has no default only when required", info[i].name);
		}
		free(key);
	}
	free(yml);
	free(path);
}

/* issue 11 item 7: absent means the default; '' means what the row says, or is refused */
static void
test_config__empty_values(void)
{
	struct config cfg;
	struct error err = ERROR_INIT;

	setenv("INPUT_URL", "http://svc.example", 1);
	setenv("INPUT_ENVIRONMENT", "staging", 1);
	unsetenv("INPUT_DB-HEALTH-PATH");
	ok(config_load(&cfg, &err) == 0 && cfg.db_health_path != NULL &&
		   strcmp(cfg.db_health_path, "/health/db") == 0,
	   "db-health-path absent: the default");
	config_dispose(&cfg);
	setenv("INPUT_DB-HEALTH-PATH", "", 1);
	ok(config_load(&cfg, &err) == 0 && cfg.db_health_path == NULL,
	   "db-health-path '': switched off");
	config_dispose(&cfg);
	setenv("INPUT_RETRIES", " ", 1);
	ok(config_load(&cfg, &err) == ERR_CONFIG && strstr(err.msg, "'retries'") != NULL &&
		   strstr(err.msg, "empty") != NULL,
	   "retries '': refused, naming the input (%s)", err.msg);
	config_dispose(&cfg);
	unsetenv("INPUT_RETRIES");
	setenv("INPUT_USERNAME", "u", 1);
	setenv("INPUT_PASSWORD", "pw-unit-secret", 1);
	setenv("INPUT_LOGIN-PATH", "", 1);
	ok(config_load(&cfg, &err) == ERR_CONFIG && strstr(err.msg, "'login-path'") != NULL,
	   "login-path '' with a username: refused (%s)", err.msg);
	config_dispose(&cfg);
	unsetenv("INPUT_USERNAME");
	unsetenv("INPUT_PASSWORD");
	ok(config_load(&cfg, &err) == 0 && cfg.login_path == NULL,
	   "login-path '' without a username: accepted");
	config_dispose(&cfg);
	unsetenv("INPUT_LOGIN-PATH");
	setenv("INPUT_PROMETHEUS-URL", "https://prom.example/?api_key=key%2fvalue123&q=1", 1);
	ok(config_load(&cfg, &err) == 0 && log_has_secret("x key%2fvalue123") &&
		   log_has_secret("key/value123") && !log_has_secret("q=1"),
	   "prometheus-url: its query key is masked, as written and decoded; short values are not");
	config_dispose(&cfg);
	unsetenv("INPUT_PROMETHEUS-URL");
	unsetenv("INPUT_DB-HEALTH-PATH");
	unsetenv("INPUT_URL");
	unsetenv("INPUT_ENVIRONMENT");
	log_secrets_dispose();
}

/* every URL input's query values are credentials, the later inputs' too (review of issues 11-16) */
static void
test_config__url_queries_masked(void)
{
	/* kube-server refuses a ?query altogether */
	static const char *const names[] = { "INPUT_PAGERDUTY-EVENTS-URL", "INPUT_WEBHOOK-URL",
					     "INPUT_SLACK-WEBHOOK-URL" };
	struct config cfg;
	struct error err = ERROR_INIT;
	size_t i;

	setenv("INPUT_URL", "http://svc.example", 1);
	setenv("INPUT_ENVIRONMENT", "staging", 1);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *value = xasprintf("https://relay.example/v2/enqueue?token=Qk%zuzz9secret", i);
		char *secret = xasprintf("Qk%zuzz9secret", i);
		setenv(names[i], value, 1);
		ok(config_load(&cfg, &err) == 0 && log_has_secret(secret),
		   "%s: its query value is masked when read (%s)", names[i], err.msg);
		config_dispose(&cfg);
		unsetenv(names[i]);
		free(secret);
		free(value);
	}
	unsetenv("INPUT_URL");
	unsetenv("INPUT_ENVIRONMENT");
	log_secrets_dispose();
}

int
main(void)
{
	test_config__durations();
	test_config__bools_fractions();
	test_config__endpoints();
	test_config__token_path();
	test_config__list();
	test_config__defaults_match_action_yml();
	test_config__empty_values();
	test_config__url_queries_masked();
	return tap_done();
}
