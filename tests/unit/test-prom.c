/* SPDX-License-Identifier: MIT */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clients/prom.h"
#include "tap.h"
#include "util.h"

/* parses a recorded body from tests/data/prom/; returns the parse code, or 1 when unreadable */
static int
parse_file(struct prom_result *out, long status, const char *name, struct error *err)
{
	const char *root = getenv("ATOM_SAFETY_SOURCE_ROOT");
	char *path, *body;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (root == NULL) {
		root = ".";
	}
	path = xasprintf("%s/tests/data/prom/%s", root, name);
	body = file_read(path, 1 << 20, &len);
	free(path);
	if (body == NULL) {
		ok(0, "fixture %s readable (ATOM_SAFETY_SOURCE_ROOT=%s)", name, root);
		return 1;
	}
	rc = prom_response_parse(out, status, body, len, err);
	free(body);
	return rc;
}

static int
parse_text(struct prom_result *out, long status, const char *body, struct error *err)
{
	return prom_response_parse(out, status, body, strlen(body), err);
}

static void
test_prom__vector_ok(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;
	size_t w = 99;

	is_int(parse_file(&r, 200, "vector-ok.json", &err), 0, "vector-ok parses");
	is_int(r.type, PROM_VECTOR, "vector type");
	is_int(r.n, 1, "one sample");
	if (r.n == 1) {
		ok(fabs(r.samples[0].value - 0.005) < 1e-12, "value 0.005 (got %g)", r.samples[0].value);
		is_str(r.samples[0].value_text, "0.005", "value text kept as sent");
		is_str(r.samples[0].labels, "{}", "no labels rendered as {}");
		ok(fabs(r.samples[0].timestamp - 1795841677.860) < 1e-3, "fractional timestamp kept");
	}
	ok(prom_result_worst(&w, &r) && w == 0, "worst is the only sample");
	ok(r.warnings == NULL, "no warnings");
	is_int(r.http_status, 200, "status recorded");
	prom_result_dispose(&r);
	ok(r.samples == NULL && r.n == 0, "dispose clears");
	prom_result_dispose(&r); /* twice is harmless */
}

static void
test_prom__vector_nan(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;
	size_t w = 99;

	is_int(parse_file(&r, 200, "vector-nan.json", &err), 0, "vector-nan parses");
	is_int(r.n, 1, "one sample");
	ok(r.n == 1 && isnan(r.samples[0].value), "value is NaN, not 0");
	ok(!prom_result_worst(&w, &r), "NaN is never the worst: no data");
	prom_result_dispose(&r);
}

static void
test_prom__vector_empty(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;
	size_t w = 99;

	is_int(parse_file(&r, 200, "vector-empty.json", &err), 0, "vector-empty parses");
	is_int(r.type, PROM_VECTOR, "vector type");
	is_int(r.n, 0, "no samples");
	ok(!prom_result_worst(&w, &r), "no worst in an empty vector");
	prom_result_dispose(&r);
}

static void
test_prom__vector_multi(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;
	size_t w = 99;

	is_int(parse_file(&r, 200, "vector-multi.json", &err), 0, "vector-multi parses");
	is_int(r.n, 2, "both series kept");
	if (r.n == 2) {
		is_str(r.samples[0].labels, "{status=\"200\"}", "labels of the first series");
		is_str(r.samples[1].labels, "{status=\"500\"}", "labels of the second series");
		ok(prom_result_worst(&w, &r) && w == 0, "worst is the largest value (199 > 1)");
		ok(fabs(r.samples[0].value - 199.0) < 1e-9, "198.99999999999997 read");
	}
	prom_result_dispose(&r);
}

static void
test_prom__scalar(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;

	is_int(parse_file(&r, 200, "scalar.json", &err), 0, "scalar parses (the pair itself, not a list)");
	is_int(r.type, PROM_SCALAR, "scalar type");
	is_int(r.n, 1, "a scalar is one sample");
	ok(r.n == 1 && r.samples[0].value == 1.0, "value 1");
	is_str(r.n == 1 ? r.samples[0].labels : NULL, "{}", "no labels");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1795838354.982,\"NaN\"]}}", &err),
	       0, "scalar NaN parses");
	ok(r.n == 1 && isnan(r.samples[0].value), "scalar NaN kept as NaN");
	prom_result_dispose(&r);

	ok(parse_text(&r, 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[[1,\"1\"]]}}", &err) == ERR_PARSE,
	   "a scalar given as a list of pairs is rejected");
	prom_result_dispose(&r);
}

static void
test_prom__inf(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;
	size_t w = 99;

	is_int(parse_file(&r, 200, "inf.json", &err), 0, "inf parses");
	ok(r.n == 1 && isinf(r.samples[0].value) && r.samples[0].value > 0, "+Inf is a real, infinite value");
	ok(prom_result_worst(&w, &r) && w == 0, "+Inf can be the worst");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200,
			  "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			  "{\"metric\":{\"a\":\"1\"},\"value\":[1,\"-Inf\"]},{\"metric\":{\"a\":\"2\"},\"value\":[1,\"NaN\"]},"
			  "{\"metric\":{\"a\":\"3\"},\"value\":[1,\"1e-07\"]}]}}",
			  &err),
	       0, "-Inf, NaN and 1e-07 parse");
	ok(r.n == 3 && isinf(r.samples[0].value) && r.samples[0].value < 0, "-Inf read as negative infinity");
	ok(prom_result_worst(&w, &r) && w == 2, "worst skips NaN and beats -Inf");
	ok(r.n == 3 && fabs(r.samples[2].value - 1e-7) < 1e-20, "exponent form read");
	prom_result_dispose(&r);
}

static void
test_prom__error_bad_data(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;

	is_int(parse_file(&r, 400, "error-bad-data.json", &err), ERR_HTTP, "400 bad_data is an HTTP error");
	is_str(r.error_type, "bad_data", "errorType kept");
	ok(strstr(err.msg, "HTTP 400") != NULL, "message names the status: %s", err.msg);
	ok(strstr(err.msg, "bad_data") != NULL, "message names the errorType");
	ok(strstr(err.msg, "unclosed left parenthesis") != NULL, "message carries Prometheus's error");
	is_int(err.http_status, 400, "err.http_status");
	is_int(r.n, 0, "no samples on failure");
	prom_result_dispose(&r);
}

static void
test_prom__error_timeout(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;

	is_int(parse_text(&r, 503, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out in query execution\"}", &err),
	       ERR_TIMEOUT, "503 timeout maps to ERR_TIMEOUT");
	is_str(r.error_type, "timeout", "errorType timeout");
	ok(strstr(err.msg, "HTTP 503, timeout: query timed out") != NULL, "message: %s", err.msg);
	prom_result_dispose(&r);

	is_int(parse_text(&r, 422, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"found duplicate series\"}", &err),
	       ERR_CONFLICT, "422 execution maps as every client maps 422 (http_status_error_code)");
	is_str(r.error_type, "execution", "errorType execution");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "{\"status\":\"error\",\"errorType\":\"internal\",\"error\":\"boom\"}", &err), ERR_HTTP,
	       "status error with HTTP 200 is still an error");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 401, "{\"status\":\"error\",\"errorType\":\"unauthorized\",\"error\":\"no token\"}", &err),
	       ERR_AUTH, "401 maps to ERR_AUTH");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 500, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", &err),
	       ERR_HTTP, "a success body under HTTP 500 is not trusted");
	prom_result_dispose(&r);
}

static void
test_prom__not_json(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;

	is_int(parse_file(&r, 404, "404.txt", &err), ERR_NOT_FOUND, "404 text body maps to ERR_NOT_FOUND");
	ok(strstr(err.msg, "HTTP 404") != NULL && strstr(err.msg, "404 page not found") != NULL, "message: %s", err.msg);
	is_str(r.error_type, "", "no errorType without the API's JSON");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n<body>please log in</body></html>", &err),
	       ERR_PARSE, "HTML under 200 is a parse error");
	ok(strstr(err.msg, "HTML page") != NULL && strstr(err.msg, "\n") == NULL, "named as an HTML page, one line: %s",
	   err.msg);
	prom_result_dispose(&r);

	is_int(parse_text(&r, 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", &err), ERR_HTTP,
	       "HTML 502 from a proxy is an HTTP error");
	ok(strstr(err.msg, "HTTP 502") != NULL && strstr(err.msg, "502 Bad Gateway") != NULL, "message: %s", err.msg);
	prom_result_dispose(&r);

	is_int(prom_response_parse(&r, 200, "", 0, &err), ERR_PARSE, "empty body");
	ok(strstr(err.msg, "empty body") != NULL, "message: %s", err.msg);
	prom_result_dispose(&r);

	is_int(prom_response_parse(&r, 200, NULL, 0, &err), ERR_PARSE, "NULL body");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "{\"data\":{}}", &err), ERR_PARSE, "JSON without a status");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "[1,2]", &err), ERR_PARSE, "a JSON array");
	prom_result_dispose(&r);

	is_int(prom_response_parse(&r, 200, "{\"status\":\"succ\x01\x02", 16, &err), ERR_PARSE, "truncated, control bytes");
	ok(strchr(err.msg, '\x01') == NULL, "control bytes not copied into the message");
	prom_result_dispose(&r);
}

static void
test_prom__wrong_types(void)
{
	static const char *const bodies[] = {
		"{\"status\":\"success\"}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\"}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":{}}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[1]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{}}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"x\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\" 1\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"1 \"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,null]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[\"t\",\"1\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[true,\"1\"]}]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":\"1\"}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\",2]}}",
		"{\"status\":\"success\",\"data\":{\"resultType\":42,\"result\":[]}}",
		"{\"status\":\"success\",\"data\":[]}",
		"{\"status\":7}",
	};
	struct prom_result r;
	struct error err = ERROR_INIT;
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		is_int(parse_text(&r, 200, bodies[i], &err), ERR_PARSE, "rejected: %s (%s)", bodies[i], err.msg);
		is_int(r.n, 0, "no samples left behind");
		prom_result_dispose(&r);
	}

	is_int(parse_text(&r, 200,
			  "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"1\"]]}]}}",
			  &err),
	       ERR_PARSE, "matrix is not a number");
	ok(strstr(err.msg, "range vector") != NULL, "message explains the matrix: %s", err.msg);
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"a\"]}}", &err),
	       ERR_PARSE, "string result rejected");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200,
			  "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"histogram\":[1,{\"count\":\"1\"}]}]}}",
			  &err),
	       ERR_PARSE, "native histogram sample rejected");
	ok(strstr(err.msg, "histogram") != NULL, "message names the histogram: %s", err.msg);
	prom_result_dispose(&r);

	/* the API sends strings, but numbers from a compatible server mean the same */
	is_int(parse_text(&r, 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,0.25]}]}}", &err),
	       0, "a number value accepted");
	ok(r.n == 1 && r.samples[0].value == 0.25, "number value read");
	is_str(r.n == 1 ? r.samples[0].labels : NULL, "{}", "missing metric renders as {}");
	prom_result_dispose(&r);

	is_int(parse_text(&r, 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1795841677,\"2\"]}]}}", &err),
	       0, "integer timestamp accepted");
	ok(r.n == 1 && r.samples[0].timestamp == 1795841677.0, "integer timestamp read");
	prom_result_dispose(&r);
}

static void
test_prom__warnings_and_labels(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;

	is_int(parse_text(&r, 200,
			  "{\"status\":\"success\",\"warnings\":[\"partial\\nresponse\",\"second\"],\"infos\":[\"x\"],"
			  "\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"a\\\"b\\nc\",\"n\":\"1\"},"
			  "\"value\":[1.5,\"3\"]}]}}",
			  &err),
	       0, "success with warnings parses");
	ok(r.warnings != NULL && r.warnings[0] != NULL && r.warnings[1] != NULL && r.warnings[2] == NULL, "two warnings kept");
	is_str(r.warnings != NULL ? r.warnings[0] : NULL, "partial response", "warning flattened to one line");
	is_str(r.n == 1 ? r.samples[0].labels : NULL, "{job=\"a\\\"b c\", n=\"1\"}", "labels escaped, newline folded");
	prom_result_dispose(&r);
}

static bool
utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, k;

	while (u[i] != '\0') {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		n = u[i] >= 0xf0 ? 4 : u[i] >= 0xe0 ? 3 : u[i] >= 0xc2 ? 2 : 0;
		if (n == 0 || u[i] > 0xf4) {
			return false;
		}
		for (k = 1; k < n; k++) {
			if ((u[i + k] & 0xc0) != 0x80) {
				return false;
			}
		}
		i += n;
	}
	return true;
}

static void
test_prom__utf8(void)
{
	struct prom_result r;
	struct error err = ERROR_INIT;
	struct buf body = BUF_INIT;
	int i;
	/* a proxy's Latin-1 page: invalid UTF-8 must not reach the report or the issue (JSON) */
	static const char latin1[] = "Bad gateway \xe9t\xe9 \xff\xfe caf\xc3\xa9";

	is_int(prom_response_parse(&r, 502, latin1, sizeof(latin1) - 1, &err), ERR_HTTP, "Latin-1 body");
	ok(utf8_valid(err.msg), "message is valid UTF-8: %s", err.msg);
	ok(strstr(err.msg, "caf\xc3\xa9") != NULL, "valid characters kept");
	prom_result_dispose(&r);

	/* a long label of two-byte characters is cut between characters, never inside one */
	buf_puts(&body, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"x\":\"");
	for (i = 0; i < 200; i++) {
		buf_puts(&body, i % 2 == 0 ? "\xc3\xa9" : "\xe2\x82\xac");
	}
	buf_puts(&body, "\"},\"value\":[1,\"1\"]}]}}");
	is_int(prom_response_parse(&r, 200, body.data, body.len, &err), 0, "long UTF-8 label parses");
	ok(r.n == 1 && utf8_valid(r.samples[0].labels), "label cut on a character boundary");
	ok(r.n == 1 && strlen(r.samples[0].labels) < 200, "label capped (%zu bytes)", r.n == 1 ? strlen(r.samples[0].labels) : 0);
	prom_result_dispose(&r);
	buf_dispose(&body);
}

static void
test_prom__query_url(void)
{
	char *u;

	u = prom_query_url("http://prom:9090", "sum(rate(x{status=~\"5..\"}[5m])) / 2");
	is_str(u, "http://prom:9090/api/v1/query?query=sum%28rate%28x%7Bstatus%3D~%225..%22%7D%5B5m%5D%29%29%20%2F%202",
	       "query percent-encoded");
	free(u);
	u = prom_query_url("https://h/prometheus", "up");
	is_str(u, "https://h/prometheus/api/v1/query?query=up", "path prefix kept");
	free(u);
	u = prom_query_url("https://h/p?tenant=a&b=c", "up");
	is_str(u, "https://h/p/api/v1/query?query=up&tenant=a&b=c", "the base's own query kept after ours");
	free(u);
	u = prom_query_url("https://h/p?", "a+b");
	is_str(u, "https://h/p/api/v1/query?query=a%2Bb", "empty base query dropped; + encoded");
	free(u);
}

int
main(void)
{
	test_prom__vector_ok();
	test_prom__vector_nan();
	test_prom__vector_empty();
	test_prom__vector_multi();
	test_prom__scalar();
	test_prom__inf();
	test_prom__error_bad_data();
	test_prom__error_timeout();
	test_prom__not_json();
	test_prom__wrong_types();
	test_prom__warnings_and_labels();
	test_prom__utf8();
	test_prom__query_url();
	return tap_done();
}
