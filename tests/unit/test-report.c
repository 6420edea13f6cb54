/* SPDX-License-Identifier: MIT */
/* the report-json output: compact, the same document, bounded by leaving out per-sample detail */
#include <json-c/json.h>

#include "checks/check.h"
#include "config.h"
#include "gate.h"
#include "jsonh.h"
#include "log.h"
#include "report.h"
#include "tap.h"
#include "util.h"

static void
config_fill(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->url = xstrdup("http://service.example");
	cfg->environment = xstrdup("staging");
	cfg->max_latency_ms = -1;
	cfg->max_error_rate = 0.01;
}

/* a metric check with n samples of about 150 bytes each */
static void
add_samples(struct gate *g, size_t n)
{
	struct check_result *r = check_list_add(&g->checks, "error-rate", PHASE_METRICS);
	struct json_object *samples = json_object_new_array();
	size_t i;

	check_set(r, CHECK_PASS, "0.1%", "< 1%", "%zu samples", n);
	for (i = 0; i < n; i++) {
		struct json_object *s = json_object_new_object();
		jsonh_add_int(s, "at_ms", (int64_t)i * 1000);
		jsonh_add_string(s, "display",
				 "0.0123% of requests failed in the last five minutes");
		jsonh_add_string(s, "status", "pass");
		jsonh_append(samples, s);
	}
	r->data = json_object_new_object();
	jsonh_add(r->data, "samples", samples);
}

static void
test_report__compact(void)
{
	struct config cfg;
	struct gate g;
	struct json_object *root, *doc = NULL;
	char *text, *pretty;

	config_fill(&cfg);
	gate_init(&g, &cfg, NULL);
	g.result = GATE_PASSED;
	add_samples(&g, 10);
	root = report_build(&g, 0);
	pretty = xstrdup(jsonh_to_string(root, true));
	text = report_compact(root);
	ok(strchr(text, '\n') == NULL, "compact: one line");
	ok(jsonh_parse(&doc, text, strlen(text), NULL) == 0, "compact: valid JSON");
	ok(jsonh_member(doc, "samples_omitted") == NULL, "small: nothing left out");
	ok(strstr(text, "\"samples\"") != NULL, "small: the samples are there");
	{
		struct json_object *from_pretty = NULL;
		ok(jsonh_parse(&from_pretty, pretty, strlen(pretty), NULL) == 0 &&
			   json_object_equal(from_pretty, doc),
		   "compact: the same document as the file");
		json_object_put(from_pretty);
	}
	json_object_put(doc);
	free(text);
	free(pretty);
	json_object_put(root);
	gate_dispose(&g);

	gate_init(&g, &cfg, NULL);
	g.result = GATE_FAILED;
	add_samples(&g, 6000);
	root = report_build(&g, 1);
	ok(strlen(jsonh_to_string(root, false)) > REPORT_JSON_MAX,
	   "large: the whole document is over 512 KiB (%zu bytes)",
	   strlen(jsonh_to_string(root, false)));
	text = report_compact(root);
	ok(strlen(text) <= REPORT_JSON_MAX, "large: report-json within 512 KiB (%zu bytes)",
	   strlen(text));
	doc = NULL;
	ok(jsonh_parse(&doc, text, strlen(text), NULL) == 0, "large: valid JSON");
	ok(json_object_get_boolean(jsonh_member(doc, "samples_omitted")),
	   "large: says the samples were left out");
	ok(strstr(text, "\"samples\"") == NULL, "large: no per-sample detail");
	ok(strstr(text, "\"result\":\"failed\"") != NULL && strstr(text, "\"error-rate\"") != NULL,
	   "large: everything else is still there");
	json_object_put(doc);
	free(text);
	json_object_put(root);
	gate_dispose(&g);
	free(cfg.url);
	free(cfg.environment);
}

int
main(void)
{
	log_init(false, false);
	test_report__compact();
	log_secrets_dispose();
	return tap_done();
}
