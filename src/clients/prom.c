/* SPDX-License-Identifier: MIT */
#include "clients/prom.h"

#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonh.h"
#include "outside.h"
#include "util.h"

#define PROM_LABELS_MAX 256   /* rendered label set, for logs and the report */
#define PROM_EXCERPT_MAX 300  /* of an error message or a body that is not the API's */
#define PROM_WARNINGS_MAX 8

char *
prom_query_url(const char *base_url, const char *expr)
{
	return prom_query_url_at(base_url, expr, 0);
}

char *
prom_query_url_at(const char *base_url, const char *expr, int64_t time)
{
	char *q = http_escape(expr);
	char *pq;
	char *url;

	if (time > 0) {
		/* an instant query evaluated in the past: the baseline at the deploy start */
		pq = xasprintf("/api/v1/query?query=%s&time=%lld", q, (long long)time);
	} else {
		pq = xasprintf("/api/v1/query?query=%s", q);
	}
	/*
	 * A base with a ?query of its own (some hosted services want a tenant parameter) keeps it
	 * after ours; the path goes before it.
	 */
	url = http_url_join(base_url, pq);
	/* prometheus-url was parsed by the same parser when the configuration was read */
	assert(url != NULL);
	free(pq);
	free(q);
	return url;
}

/* outside text as one printable line (outside.h) */
static void
put_excerpt(struct buf *b, const char *s, size_t len, size_t max)
{
	outside_append(b, s, len, max);
}

/* the same, with '"' and '\\' escaped as in a PromQL label value */
static void
put_quoted(struct buf *b, const char *s, size_t len, size_t max)
{
	char *line = outside_line(s, len, max);
	const char *p;

	for (p = line; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			buf_putc(b, '\\');
		}
		buf_putc(b, *p);
	}
	free(line);
}

static enum error_code
code_for_status(long status)
{
	enum error_code code = http_status_error_code(status);

	/* a 2xx whose body is not the API's answer is still a failed query */
	return code == ERR_OK ? ERR_HTTP : code;
}

/* a body that is not the API's JSON: an HTML page from a proxy, "404 page not found", ... */
static int
fail_foreign_body(long status, const char *body, size_t len, const char *why, struct error *err)
{
	struct buf b = BUF_INIT;
	size_t i = 0;
	int rc;

	while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) {
		i++;
	}
	if (i == len) {
		buf_puts(&b, "an empty body");
	} else if (body[i] == '<') {
		buf_puts(&b, "an HTML page (a proxy or login page?): ");
		put_excerpt(&b, body + i, len - i, 120);
	} else {
		buf_printf(&b, "%s: ", why);
		put_excerpt(&b, body + i, len - i, PROM_EXCERPT_MAX);
	}
	if (status >= 200 && status <= 299) {
		rc = error_set(err, ERR_PARSE, "HTTP %ld but not the Prometheus API: %s", status, buf_str(&b));
	} else {
		rc = error_set(err, code_for_status(status), "HTTP %ld, %s%s", status, buf_str(&b),
			       status == 404 ? " (is prometheus-url the server's base URL, without /api/v1?)" : "");
	}
	err->http_status = status;
	buf_dispose(&b);
	return rc;
}

static void
render_labels(struct buf *b, struct json_object *metric)
{
	size_t start = b->len;
	bool first = true;

	buf_putc(b, '{');
	if (metric != NULL && json_object_is_type(metric, json_type_object)) {
		json_object_object_foreach(metric, key, val)
		{
			const char *v = json_object_is_type(val, json_type_string) ? json_object_get_string(val)
										 : json_object_to_json_string(val);
			if (b->len - start > PROM_LABELS_MAX) {
				buf_puts(b, ", ...");
				break;
			}
			buf_puts(b, first ? "" : ", ");
			put_excerpt(b, key, strlen(key), 64);
			buf_puts(b, "=\"");
			put_quoted(b, v, strlen(v), 128);
			buf_putc(b, '"');
			first = false;
		}
	}
	buf_putc(b, '}');
}

static int
parse_number_text(double *out, const char *s)
{
	char *end;
	double v;

	if (s[0] == '\0' || isspace((unsigned char)s[0])) {
		return -1;
	}
	/*
	 * strtod() takes NaN, +Inf and -Inf as the API writes them; an overflow becomes the infinity
	 * it is. The program never calls setlocale(), so the decimal point is '.'.
	 */
	v = strtod(s, &end);
	if (end == s || *end != '\0') {
		return -1;
	}
	*out = v;
	return 0;
}

/* a [timestamp, "value"] pair, as vector samples and scalars carry it */
static int
parse_pair(struct prom_sample *s, struct json_object *pair, const char *where, struct error *err)
{
	struct json_object *ts, *val;

	if (pair == NULL || !json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2) {
		return error_set(err, ERR_PARSE, "%s: expected a [timestamp, \"value\"] pair", where);
	}
	ts = json_object_array_get_idx(pair, 0);
	val = json_object_array_get_idx(pair, 1);
	if (json_object_is_type(ts, json_type_int) || json_object_is_type(ts, json_type_double)) {
		s->timestamp = json_object_get_double(ts);
	} else if (!json_object_is_type(ts, json_type_string) ||
		   parse_number_text(&s->timestamp, json_object_get_string(ts)) < 0) {
		return error_set(err, ERR_PARSE, "%s: the timestamp is not a number", where);
	}
	if (json_object_is_type(val, json_type_string)) {
		s->value_text = xstrdup(json_object_get_string(val));
	} else if (json_object_is_type(val, json_type_int) || json_object_is_type(val, json_type_double)) {
		/* the API sends strings; a number from a compatible server means the same */
		s->value_text = xstrdup(json_object_to_json_string(val));
	} else {
		return error_set(err, ERR_PARSE, "%s: the value is not a string", where);
	}
	if (parse_number_text(&s->value, s->value_text) < 0) {
		struct buf b = BUF_INIT;
		put_excerpt(&b, s->value_text, strlen(s->value_text), 40);
		(void)error_set(err, ERR_PARSE, "%s: the value \"%s\" is not a number", where, buf_str(&b));
		buf_dispose(&b);
		return ERR_PARSE;
	}
	return 0;
}

static int
parse_vector(struct prom_result *out, struct json_object *result, struct error *err)
{
	size_t i, n;
	char where[64];

	if (result == NULL || !json_object_is_type(result, json_type_array)) {
		return error_set(err, ERR_PARSE, "vector result: \"result\" is not an array");
	}
	n = json_object_array_length(result);
	out->samples = xcalloc(n > 0 ? n : 1, sizeof(*out->samples));
	for (i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(result, i);
		struct prom_sample *s = &out->samples[i];
		struct buf labels = BUF_INIT;
		int rc;

		out->n = i + 1;
		(void)snprintf(where, sizeof(where), "series %zu of %zu", i + 1, n);
		if (item == NULL || !json_object_is_type(item, json_type_object)) {
			return error_set(err, ERR_PARSE, "%s: not an object", where);
		}
		render_labels(&labels, jsonh_member(item, "metric"));
		s->labels = buf_steal(&labels);
		if (jsonh_member(item, "value") == NULL && jsonh_member(item, "histogram") != NULL) {
			return error_set(err, ERR_PARSE, "%s %s is a native histogram, not a number (wrap it in histogram_quantile())",
					 where, s->labels);
		}
		rc = parse_pair(s, jsonh_member(item, "value"), where, err);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static void
parse_warnings(struct prom_result *out, struct json_object *doc)
{
	struct json_object *w = jsonh_member(doc, "warnings");
	size_t i, n;

	if (w == NULL || !json_object_is_type(w, json_type_array)) {
		return;
	}
	n = json_object_array_length(w);
	for (i = 0; i < n && i < PROM_WARNINGS_MAX; i++) {
		struct json_object *s = json_object_array_get_idx(w, i);
		struct buf b = BUF_INIT;
		const char *text = json_object_is_type(s, json_type_string) ? json_object_get_string(s)
									 : json_object_to_json_string(s);
		put_excerpt(&b, text, strlen(text), PROM_EXCERPT_MAX);
		strv_push(&out->warnings, buf_steal(&b));
	}
}

static void
samples_clear(struct prom_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->samples[i].labels);
		free(r->samples[i].value_text);
	}
	free(r->samples);
	r->samples = NULL;
	r->n = 0;
}

int
prom_response_parse(struct prom_result *out, long http_status, const char *body, size_t len, struct error *err)
{
	struct json_object *doc = NULL, *data, *result;
	const char *status, *type;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->type = PROM_VECTOR;
	out->http_status = http_status;
	if (body == NULL) {
		body = "";
		len = 0;
	}
	if (jsonh_parse(&doc, body, len, NULL) < 0 || !json_object_is_type(doc, json_type_object) ||
	    jsonh_get_string_or(doc, "status", NULL) == NULL) {
		rc = fail_foreign_body(http_status, body, len, doc == NULL ? "not JSON" : "JSON without a status", err);
		goto out;
	}
	status = jsonh_get_string_or(doc, "status", NULL);
	parse_warnings(out, doc);

	if (strcmp(status, "success") != 0 || http_status < 200 || http_status > 299) {
		const char *etype = jsonh_get_string_or(doc, "errorType", "");
		const char *emsg = jsonh_get_string_or(doc, "error", "");
		struct buf b = BUF_INIT;
		enum error_code code = code_for_status(http_status);

		put_excerpt(&b, etype, strlen(etype), sizeof(out->error_type) - 4);
		(void)snprintf(out->error_type, sizeof(out->error_type), "%s", buf_str(&b));
		buf_reset(&b);
		if (strcmp(etype, "timeout") == 0 || strcmp(etype, "canceled") == 0) {
			code = ERR_TIMEOUT;
		}
		buf_printf(&b, "HTTP %ld", http_status);
		if (strcmp(status, "success") == 0) {
			buf_puts(&b, " with a success body");
		} else if (strcmp(status, "error") != 0) {
			buf_puts(&b, ", status \"");
			put_excerpt(&b, status, strlen(status), 32);
			buf_puts(&b, "\"");
		}
		if (out->error_type[0] != '\0') {
			buf_printf(&b, ", %s", out->error_type);
		}
		if (emsg[0] != '\0') {
			buf_puts(&b, ": ");
			put_excerpt(&b, emsg, strlen(emsg), PROM_EXCERPT_MAX);
		}
		rc = error_set(err, code, "%s", buf_str(&b));
		err->http_status = http_status;
		buf_dispose(&b);
		goto out;
	}

	data = jsonh_member(doc, "data");
	type = jsonh_get_string_or(data, "resultType", NULL);
	result = jsonh_member(data, "result");
	if (type == NULL) {
		rc = error_set(err, ERR_PARSE, "HTTP %ld success without data.resultType", http_status);
	} else if (strcmp(type, "vector") == 0) {
		out->type = PROM_VECTOR;
		rc = parse_vector(out, result, err);
	} else if (strcmp(type, "scalar") == 0) {
		/* a scalar is the pair itself, not a list of samples */
		out->type = PROM_SCALAR;
		out->samples = xcalloc(1, sizeof(*out->samples));
		out->n = 1;
		out->samples[0].labels = xstrdup("{}");
		rc = parse_pair(&out->samples[0], result, "scalar result", err);
	} else if (strcmp(type, "matrix") == 0) {
		rc = error_set(err, ERR_PARSE,
			       "the query gives a range vector (matrix), not a number: wrap a [range] selector in a function such as rate()");
	} else {
		struct buf b = BUF_INIT;
		put_excerpt(&b, type, strlen(type), 32);
		rc = error_set(err, ERR_PARSE, "the query gives a %s result, not an instant vector or a scalar", buf_str(&b));
		buf_dispose(&b);
	}
	if (rc < 0) {
		err->http_status = http_status;
	}
out:
	if (rc < 0) {
		samples_clear(out);
	}
	json_object_put(doc);
	return rc;
}

bool
prom_result_worst(size_t *out, const struct prom_result *r)
{
	bool found = false;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (isnan(r->samples[i].value)) {
			continue;
		}
		if (!found || r->samples[i].value > r->samples[*out].value) {
			*out = i;
			found = true;
		}
	}
	return found;
}

void
prom_result_dispose(struct prom_result *r)
{
	if (r == NULL) {
		return;
	}
	samples_clear(r);
	strv_free(r->warnings);
	memset(r, 0, sizeof(*r));
}

int
prom_query_run(const struct prom_client *c, struct prom_query *queries, size_t n, struct error *err)
{
	struct http_request *reqs = xcalloc(n > 0 ? n : 1, sizeof(*reqs));
	char **urls = xcalloc(n > 0 ? n : 1, sizeof(*urls));
	struct http_batch_opts opts;
	struct http_batch *batch;
	size_t i;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.retry = c->retry;
	batch = http_batch_new(c->http, &opts);
	for (i = 0; i < n; i++) {
		urls[i] = prom_query_url_at(c->base_url, queries[i].expr, queries[i].time);
		reqs[i].url = urls[i];
		reqs[i].bearer = c->token;
		reqs[i].basic_user = c->username;
		reqs[i].basic_password = c->password;
		reqs[i].timeout_ms = c->timeout_ms;
		reqs[i].idempotent = true; /* an instant query changes nothing: transient failures are retried */
		reqs[i].max_retries = -1;
		reqs[i].headers = c->headers;
		http_batch_add(batch, &reqs[i]);
	}
	rc = http_batch_run(batch, err);

	for (i = 0; i < n; i++) {
		struct prom_query *q = &queries[i];
		struct http_request *req = &reqs[i];

		memset(&q->result, 0, sizeof(q->result));
		error_clear(&q->err);
		q->attempts = req->attempts;
		q->elapsed_ms = req->elapsed_ms;
		if (rc < 0 || req->state != HTTP_DONE) {
			q->rc = error_set(&q->err, ERR_CANCELLED, "%s",
					  req->err.msg[0] != '\0' ? req->err.msg : "not completed");
		} else if (req->transport != TRANSPORT_OK) {
			q->err = req->err;
			q->rc = req->err.code != ERR_OK ? req->err.code : ERR_NETWORK;
			q->err.code = q->rc;
			if (req->attempts > 1) {
				size_t used = strlen(q->err.msg);
				(void)snprintf(q->err.msg + used, sizeof(q->err.msg) - used, " (after %d attempts)",
					       req->attempts);
			}
		} else {
			q->rc = prom_response_parse(&q->result, req->resp.status, req->resp.body.data, req->resp.body.len,
						    &q->err);
			if (q->rc < 0 && req->attempts > 1) {
				size_t used = strlen(q->err.msg);
				(void)snprintf(q->err.msg + used, sizeof(q->err.msg) - used, " (after %d attempts)",
					       req->attempts);
			}
		}
		q->result.http_status = req->resp.status;
		http_request_dispose(req);
		free(urls[i]);
	}
	http_batch_free(batch);
	free(urls);
	free(reqs);
	return rc;
}
