/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "clients/github.h"
#include "clients/slack.h"
#include "config.h"
#include "gate.h"
#include "issue.h"
#include "jsonh.h"
#include "log.h"
#include "message.h"
#include "tap.h"
#include "util.h"

#define SHA "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678"

static char d_atom[] = "atom", d_worker[] = "worker";
static char *deployments[] = { d_atom, d_worker, NULL };

/* writable copies: struct config holds char *, and string literals are const here */
static char **strings;

static char *
str(const char *s)
{
	char *c = xstrdup(s);

	strv_push(&strings, c);
	return c;
}

static void
setup(struct gate *g, struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->url = str("https://atom.example.com");
	cfg->environment = str("production");
	cfg->production = true;
	cfg->max_error_rate = 0.001;
	cfg->max_latency_ms = 500;
	cfg->rollback = true;
	cfg->namespace = str("prod");
	cfg->deployments = deployments;
	cfg->ctx.repository = str("acme/atom");
	cfg->ctx.server_url = str("https://github.com");
	cfg->ctx.run_id = str("4242");
	cfg->ctx.run_attempt = str("2");
	cfg->ctx.workflow = str("deploy");
	cfg->ctx.ref_name = str("main");
	cfg->ctx.actor = str("octocat");
	gate_init(g, cfg, NULL);
	g->result = GATE_FAILED;
	g->commit.sha = xstrdup(SHA);
	g->commit.short_sha = xstrndup(SHA, 7);
	g->commit.author = xstrdup("Zoë Ångström");
	g->commit.email = xstrdup("zoe@example.org");
	g->commit.subject = xstrdup("Fix \"it\" @someone <b>bold</b> `x` | y [z](http://evil) <!channel>");
	g->commit.time = 1700000000;
	g->commit.from_git = true;
}

static bool
valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 9;
		size_t i;
		if (n == 9) {
			return false;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				return false;
			}
		}
		p += n + 1;
	}
	return true;
}

static void
test_issue__fingerprint(void)
{
	char a[ISSUE_FINGERPRINT_HEX + 1], b[ISSUE_FINGERPRINT_HEX + 1];

	/* expected values from Python's hashlib.sha256 over the same bytes */
	issue_fingerprint(a, "production", "atom", SHA);
	is_str(a, "fc2688f2aa0b7eef0f08b882c9450aa5", "fingerprint is SHA-256 of (environment, deployment, sha)");
	issue_fingerprint(b, "production", "atom", SHA);
	is_str(a, b, "fingerprint is stable");
	{
		char env[101], dep[71];
		memset(env, 'e', 100);
		env[100] = '\0';
		memset(dep, 'd', 70);
		dep[70] = '\0';
		issue_fingerprint(b, env, dep, "");
		is_str(b, "620b09205ef0e311608ab4a43305ac96", "multi-block input hashes right");
	}
	issue_fingerprint(b, "prod-é", "atom", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	is_str(b, "93bcd97d2d0f3f5dd6002f1646545dd9", "non-ASCII input hashes right");
	issue_fingerprint(a, "ab", "c", SHA);
	issue_fingerprint(b, "a", "bc", SHA);
	ok(strcmp(a, b) != 0, "fields are separated: (ab, c) != (a, bc)");
	issue_fingerprint(a, "staging", "atom", SHA);
	issue_fingerprint(b, "production", "atom", SHA);
	ok(strcmp(a, b) != 0, "another environment, another fingerprint");
}

static void
test_issue__title(void)
{
	struct config cfg;
	struct gate g;
	char *t;

	setup(&g, &cfg);
	t = issue_title(&g);
	is_str(t, "Deployment failed: production atom @ 1a2b3c4", "failed: nothing rolled back");
	free(t);
	g.result = GATE_ROLLED_BACK;
	g.rollback.outcome = ROLLBACK_DONE;
	t = issue_title(&g);
	is_str(t, "Deployment rolled back: production atom @ 1a2b3c4", "rolled back");
	free(t);
	g.result = GATE_ROLLBACK_FAILED;
	t = issue_title(&g);
	is_str(t, "Deployment rollback failed: production atom @ 1a2b3c4", "rollback failed");
	free(t);
	free(g.commit.sha);
	free(g.commit.short_sha);
	g.commit.sha = g.commit.short_sha = NULL;
	g.result = GATE_FAILED;
	t = issue_title(&g);
	is_str(t, "Deployment failed: production atom", "no commit: no '@'");
	free(t);
	cfg.environment = str("prod\nuction");
	t = issue_title(&g);
	is_str(t, "Deployment failed: prod uction atom", "control characters flattened");
	free(t);
	gate_dispose(&g);
}

static void
test_issue__body(void)
{
	struct config cfg;
	struct gate g;
	struct issue_draft d;
	struct check_result *r;
	char want[128];

	setup(&g, &cfg);
	log_mask("s3cr3t-t0ken-value");
	r = check_list_add(&g.checks, "database", PHASE_SMOKE);
	check_set(r, CHECK_FAIL, "HTTP 500", "2xx", "HTTP 500: <script>alert(1)</script> @admin s3cr3t-t0ken-value");
	r = check_list_add(&g.checks, "health", PHASE_READINESS);
	check_set(r, CHECK_PASS, "HTTP 200", "2xx", "ok");
	g.metrics.error_rate_set = true;
	g.metrics.error_rate = 0.023;
	g.metrics.latency_set = true;
	g.metrics.latency_ms = 812.5;
	cfg.prometheus_url = str("https://prom.example.com");
	cfg.error_rate_query = str("sum(rate(x{code=~`5..`}[5m]))");
	cfg.latency_query = str("histogram_quantile(0.95, y)");
	issue_draft_build(&d, &g);

	(void)snprintf(want, sizeof(want), "<!-- atom-safety:fingerprint=%s -->\n", d.fingerprint);
	ok(strncmp(d.body, want, strlen(want)) == 0, "body starts with the fingerprint marker");
	is_str(d.marker, "<!-- atom-safety:fingerprint=fc2688f2aa0b7eef0f08b882c9450aa5 -->", "marker");
	ok(strstr(d.body, "@someone") == NULL && strstr(d.body, "@admin") == NULL, "no live @mention");
	ok(strstr(d.body, "<b>") == NULL && strstr(d.body, "<script>") == NULL && strstr(d.body, "<!channel>") == NULL,
	   "no raw HTML from outside text");
	ok(strstr(d.body, "&lt;b&gt;bold&lt;/b&gt;") != NULL, "HTML shown as text");
	ok(strstr(d.body, "[z](http://evil)") == NULL, "no link from a commit subject");
	ok(strstr(d.body, "s3cr3t-t0ken-value") == NULL && strstr(d.comment, "s3cr3t-t0ken-value") == NULL,
	   "registered secret scrubbed");
	ok(strstr(d.body, "https://github.com/acme/atom/commit/" SHA) != NULL, "commit linked");
	ok(strstr(d.body, "| Author | Zoë Ångström") != NULL, "author");
	ok(strstr(d.body, "https://github.com/acme/atom/actions/runs/4242/attempts/2") != NULL, "run link");
	ok(strstr(d.body, "| `database` | HTTP 500 | 2xx | ") != NULL, "failed check row");
	ok(strstr(d.body, "| `health` |") == NULL, "passing checks not listed as failed");
	ok(strstr(d.body, "| Error rate | 2.3% | &lt; 0.1% |") != NULL, "error rate with limit");
	ok(strstr(d.body, "| Latency | 812.5 ms | &lt;= 500 ms |") != NULL, "latency with limit");
	ok(strstr(d.body, "kubectl rollout history deployment/atom -n prod\n") != NULL &&
	   strstr(d.body, "kubectl logs deployment/worker -n prod --since=1h\n") != NULL, "kubectl commands per deployment");
	ok(strstr(d.body, "````promql\nsum(rate(x{code=~`5..`}[5m]))\n````") == NULL &&
	   strstr(d.body, "```promql\nsum(rate(x{code=~`5..`}[5m]))\n```") != NULL, "PromQL in a fence it cannot close");
	ok(strstr(d.comment, "<!-- atom-safety") == NULL && strstr(d.comment, "attempt 2") != NULL,
	   "comment: no marker, names the attempt");
	ok(valid_utf8(d.body), "body is valid UTF-8");
	issue_draft_dispose(&d);

	/* a rollback that happened */
	g.result = GATE_ROLLED_BACK;
	g.rollback.outcome = ROLLBACK_DONE;
	g.rollback.enabled = true;
	g.rollback.n = 1;
	g.rollback.items = xcalloc(1, sizeof(*g.rollback.items));
	g.rollback.items[0].deployment = xstrdup("atom");
	g.rollback.items[0].namespace = xstrdup("prod-ns");
	g.rollback.items[0].revision_before = 7;
	g.rollback.items[0].revision_target = 6;
	g.rollback.items[0].revision_after = 8;
	g.rollback.items[0].images_before = xstrdup("atom:v2");
	g.rollback.items[0].images_after = xstrdup("atom:v1");
	g.rollback.items[0].outcome = ROLLBACK_DONE;
	g.rollback.items[0].rollout_ms = 12000;
	g.rollback.items[0].failure_to_patch_ms = 300;
	/* after the rollback, the checks run again: a failed one is the news, not a passed one */
	check_set(check_list_add(&g.checks, "recovery-health", PHASE_RECOVERY), CHECK_PASS,
		  "HTTP 200", "2xx", "HTTP 200");
	check_set(check_list_add(&g.checks, "recovery-database", PHASE_RECOVERY), CHECK_FAIL,
		  "HTTP 503", "2xx", "HTTP 503, expected 2xx");
	issue_draft_build(&d, &g);
	ok(strstr(d.body, "| `recovery-health` | pass | HTTP 200 |\n") != NULL &&
	   strstr(d.body, "| `recovery-database` | fail | HTTP 503, expected 2xx |\n") != NULL,
	   "after the rollback: each recovery check with its status and detail");
	ok(strstr(d.body, "| `recovery-database` | HTTP 503 |") == NULL,
	   "a recovery check is not listed as what failed");
	ok(strstr(d.body, "| `atom` | `prod-ns` | rolled back | 7 -> 8 (restores 6) | `atom:v2` -> `atom:v1` |") != NULL,
	   "rollback row: revision and image before -> after");
	ok(strstr(d.body, "kubectl rollout history deployment/atom -n prod-ns") != NULL, "namespace from the rollback");
	ok(strstr(d.body, "rollout undo") == NULL, "no manual undo suggested after a rollback");
	is_str(d.title, "Deployment rolled back: production atom @ 1a2b3c4", "title after a rollback");
	issue_draft_dispose(&d);
	gate_dispose(&g);
}

static void
test_issue__cap(void)
{
	struct config cfg;
	struct gate g;
	struct issue_draft d;
	struct buf b = BUF_INIT;
	char detail[1900];
	size_t i;

	setup(&g, &cfg);
	/* 'é' is two bytes: the cap counts bytes and must not split one */
	for (i = 0; i + 2 < sizeof(detail); i += 2) {
		memcpy(detail + i, "\xc3\xa9", 2);
	}
	detail[i] = '\0';
	for (i = 0; i < 150; i++) {
		char name[32];
		struct check_result *r;
		(void)snprintf(name, sizeof(name), "GET /api/%zu", i);
		r = check_list_add(&g.checks, name, PHASE_SMOKE);
		check_set(r, CHECK_FAIL, "HTTP 500", "2xx", "%s", detail);
	}
	issue_draft_build(&d, &g);
	ok(strlen(d.body) <= ISSUE_BODY_MAX, "body within 65,536 bytes: %zu", strlen(d.body));
	ok(strlen(d.body) > ISSUE_BODY_MAX - 4000, "and not cut far shorter: %zu", strlen(d.body));
	ok(strlen(d.comment) <= ISSUE_BODY_MAX, "comment within 65,536 bytes");
	ok(valid_utf8(d.body), "cut at a character boundary");
	ok(strstr(d.body, "was cut to fit") != NULL, "a note says it was cut");
	ok(strncmp(d.body, d.marker, strlen(d.marker)) == 0, "the marker survives the cut");
	issue_draft_dispose(&d);
	gate_dispose(&g);

	/* a cut inside a code fence closes the fence */
	buf_puts(&b, "intro\n```sh\n");
	for (i = 0; i < 2000; i++) {
		buf_puts(&b, "kubectl logs deployment/atom\n");
	}
	buf_puts(&b, "```\n");
	issue_body_cap(&b, 4096);
	ok(b.len <= 4096, "capped: %zu", b.len);
	ok(strstr(b.data, "deployment/atom\n```\n\n---\n") != NULL, "open fence closed before the note");
	buf_reset(&b);
	buf_puts(&b, "short");
	issue_body_cap(&b, 4096);
	is_str(buf_str(&b), "short", "a body that fits is untouched");
	buf_dispose(&b);
}

static void
test_issue__slack(void)
{
	struct config cfg;
	struct gate g;
	struct slack_message m;
	struct json_object *doc = NULL, *blocks;
	struct check_result *r;
	char *payload;
	size_t i;

	setup(&g, &cfg);
	r = check_list_add(&g.checks, "database", PHASE_SMOKE);
	check_set(r, CHECK_FAIL, "HTTP 500", "2xx", "reply <!here> & co");
	g.notify.issue_url = xstrdup("https://github.com/acme/atom/issues/12");
	g.notify.issue_number = 12;
	message_slack_build(&m, &g);
	payload = slack_payload_new(&m);
	ok(jsonh_parse(&doc, payload, strlen(payload), NULL) == 0, "Slack payload is JSON");
	ok(strstr(payload, "<!channel>") == NULL && strstr(payload, "<!here>") == NULL, "no ping from outside text");
	ok(strstr(payload, "&lt;!here&gt; &amp; co") != NULL, "escaped: &, <, >");
	ok(strstr(payload, "<https://github.com/acme/atom/issues/12|#12>") != NULL, "issue linked");
	ok(strstr(payload, "<https://github.com/acme/atom/commit/" SHA "|1a2b3c4>") != NULL, "commit linked");
	is_str(jsonh_get_string_or(doc, "text", NULL), "Deployment failed: production atom @ 1a2b3c4", "fallback text");
	blocks = jsonh_member(doc, "blocks");
	ok(blocks != NULL && json_object_array_length(blocks) >= 3 && json_object_array_length(blocks) <= 50, "blocks");
	is_str(jsonh_get_string_or(jsonh_member(json_object_array_get_idx(blocks, 0), "text"), "text", NULL),
	       "Failed: production / atom", "header");
	json_object_put(doc);
	free(payload);
	slack_message_dispose(&m);

	g.result = GATE_PASSED;
	message_slack_build(&m, &g);
	is_str(m.header, "Passed: production / atom", "passed header");
	ok(m.n_fields <= 3, "passed message is short: %zu fields", m.n_fields);
	slack_message_dispose(&m);
	gate_dispose(&g);

	/* limits enforced by the payload builder */
	memset(&m, 0, sizeof(m));
	{
		struct buf big = BUF_INIT;
		for (i = 0; i < 4000; i++) {
			buf_puts(&big, i % 2 == 0 ? "&amp;" : "\xc3\xa9");
		}
		m.text = xstrdup("fallback");
		m.header = xstrdup(buf_str(&big));
		for (i = 0; i < 12; i++) {
			slack_message_add_field(&m, xstrdup(buf_str(&big)));
		}
		slack_message_add_section(&m, xstrdup(buf_str(&big)));
		buf_dispose(&big);
	}
	is_int(m.n_fields, SLACK_MAX_FIELDS, "fields beyond 10 dropped");
	payload = slack_payload_new(&m);
	ok(jsonh_parse(&doc, payload, strlen(payload), NULL) == 0, "oversized message still valid JSON");
	blocks = jsonh_member(doc, "blocks");
	for (i = 0; blocks != NULL && i < json_object_array_length(blocks); i++) {
		struct json_object *blk = json_object_array_get_idx(blocks, i);
		const char *type = jsonh_get_string_or(blk, "type", "");
		if (strcmp(type, "header") == 0) {
			const char *t = jsonh_get_string_or(jsonh_member(blk, "text"), "text", "");
			ok(strlen(t) <= SLACK_MAX_HEADER_TEXT && valid_utf8(t), "header <= 150 bytes: %zu", strlen(t));
		} else if (jsonh_member(blk, "fields") != NULL) {
			struct json_object *f = json_object_array_get_idx(jsonh_member(blk, "fields"), 0);
			const char *t = jsonh_get_string_or(f, "text", "");
			size_t n = strlen(t);
			ok(n <= SLACK_MAX_FIELD_TEXT && valid_utf8(t), "field <= 2000 bytes: %zu", n);
			ok(n >= 6 && (memcmp(t + n - 6, "&amp;\xe2", 6) != 0), "no entity cut in half");
		} else if (jsonh_member(blk, "text") != NULL) {
			const char *t = jsonh_get_string_or(jsonh_member(blk, "text"), "text", "");
			ok(strlen(t) <= SLACK_MAX_SECTION_TEXT && valid_utf8(t), "section <= 3000 bytes: %zu", strlen(t));
		}
	}
	json_object_put(doc);
	free(payload);
	slack_message_dispose(&m);
}

static void
test_issue__slack_cut(void)
{
	char s[64];

	strcpy(s, "abc &amp; def");
	slack_cut(s, 9);
	is_str(s, "abc \xe2\x80\xa6", "an entity is never cut in half");
	strcpy(s, "see <https://x.example/y|label> now");
	slack_cut(s, 20);
	is_str(s, "see \xe2\x80\xa6", "a link is never cut in half");
	strcpy(s, "short");
	slack_cut(s, 20);
	is_str(s, "short", "short text untouched");
}

static void
test_issue__link_next(void)
{
	char *n;

	n = github_link_next("<https://api.example/repos/o/r/issues?page=2&labels=a%2Cb>; rel=\"next\", "
			     "<https://api.example/repos/o/r/issues?page=5>; rel=\"last\"");
	is_str(n, "https://api.example/repos/o/r/issues?page=2&labels=a%2Cb", "rel=next first");
	free(n);
	n = github_link_next("<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3,4>; rel=\"next\"");
	is_str(n, "https://a/x?page=3,4", "rel=next after prev, comma in URL");
	free(n);
	n = github_link_next("<https://a/x?page=5>; rel=\"last\", <https://a/x?page=1>; rel=\"first\"");
	ok(n == NULL, "last page: no next");
	free(n);
	n = github_link_next("<https://a/x?page=2>; rel=\"next last\"");
	is_str(n, "https://a/x?page=2", "several relation types");
	free(n);
	ok(github_link_next(NULL) == NULL && github_link_next("garbage") == NULL, "no or bad header");
}

/* a secret holding Slack's escaped characters is scrubbed before escaping, or it would survive */
static void
test_issue__slack_escape_scrubs(void)
{
	struct buf b = BUF_INIT;

	log_mask("p&ss<w>rd-Sl4ck");
	slack_escape(&b, "subject quoting p&ss<w>rd-Sl4ck here");
	ok(strstr(buf_str(&b), "p&amp;ss&lt;w&gt;rd") == NULL && strstr(buf_str(&b), "rd-Sl4ck") == NULL,
	   "slack_escape: a secret with & < > is scrubbed, not escaped past the scrubber");
	ok(strstr(buf_str(&b), "subject quoting ") != NULL, "slack_escape: the rest of the text stays");
	buf_dispose(&b);
}

int
main(void)
{
	log_init(false, false);
	test_issue__fingerprint();
	test_issue__title();
	test_issue__body();
	test_issue__cap();
	test_issue__slack();
	test_issue__slack_cut();
	test_issue__slack_escape_scrubs();
	test_issue__link_next();
	log_secrets_dispose();
	strv_free(strings);
	return tap_done();
}
