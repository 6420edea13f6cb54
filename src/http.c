/* SPDX-License-Identifier: MIT */
#include "atom-config.h"
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "log.h"
#include "util.h"

#ifndef PACKAGE_NAME
#define PACKAGE_NAME "atom-safety"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define MAX_HEADERS 64
#define MAX_HEADER_BYTES (64 * 1024)
/*
 * Idle connections the multi handle keeps, across batches and hosts: a full smoke batch to the
 * service plus the Kubernetes API, Prometheus, GitHub and Slack. Sized per batch instead, a
 * batch of one would shrink the cache to a single connection and close the rest, and the
 * rollback PATCH would pay a new TCP (and TLS) handshake to an API server the preflight had
 * already connected to.
 */
#define HTTP_MAX_CONNECTIONS (HTTP_MAX_PARALLEL + 8)

/* what the client knows about one origin (scheme://host:port) */
struct origin {
	char *origin;
	bool h2;          /* has answered over HTTP/2: requests are streams, not connections */
	char *ca_blob;    /* system bundle + extra CAs (http_trust_add), NULL: the default store */
	size_t ca_len;
	char *ca_hint;
};

struct http {
	CURLM *multi;
	CURLSH *share;
	struct origin *origins;
	size_t n_origins;
	char *ca_file;    /* SSL_CERT_FILE; NULL: libcurl's default */
	/*
	 * Easy handles of finished transfers, kept for the next request: each one carries libcurl's
	 * 16 KiB receive buffer, so handing them on keeps memory bounded by the parallelism, not by
	 * the number of requests.
	 */
	CURL *idle[HTTP_MAX_PARALLEL];
	size_t n_idle;
	/* http_budget_set(): a bound on every request from now on; 0: none */
	int64_t budget_deadline_ms;
	int64_t budget_request_ms;
	char budget_what[64];
};

struct req_priv {
	CURL *easy;
	char *origin;           /* NULL when the URL does not parse (libcurl then says why) */
	bool mux;               /* counted as an HTTP/2 stream, not against the connection cap */
	struct curl_slist *slist;
	struct curl_slist *connect_to; /* tls-server-name: connect here, verify that name */
	char errbuf[CURL_ERROR_SIZE];
	int64_t due_ms;
	int64_t timeout_ms;     /* this attempt's, as set on the handle */
	size_t header_bytes;
	bool too_big;
	bool headers_too_big;   /* too_big came from the header cap, not the body cap */
	bool consumer_stop;
	struct http_batch *batch;
};

struct http_batch {
	struct http *h;
	struct http_batch_opts opts;
	struct http_request **queue; /* waiting to start (pending or retry-due) */
	size_t n_queue, cap_queue;
	struct http_request **all;   /* every request ever added, to find running ones on abort */
	size_t n_all, cap_all;
	size_t running;
	size_t running_h1;           /* those that need a connection of their own */
	int stream_cap;              /* requests in flight to HTTP/2 origins */
	bool aborted;
};

int
http_global_init(struct error *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		return error_set(err, ERR_GENERIC, "cannot initialise libcurl: %s", curl_easy_strerror(rc));
	}
	return 0;
}

void
http_global_cleanup(void)
{
	curl_global_cleanup();
}

struct http *
http_new(void)
{
	struct http *h = xcalloc(1, sizeof(*h));

	h->multi = curl_multi_init();
	if (h->multi == NULL) {
		abort();
	}
	(void)curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_MAX_CONNECTIONS);
	(void)curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)HTTP_MAX_CONNECTIONS);
	/* libcurl also keeps each connection within the server's SETTINGS_MAX_CONCURRENT_STREAMS */
	(void)curl_multi_setopt(h->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, (long)HTTP_MAX_STREAMS);
	h->share = curl_share_init();
	if (h->share != NULL) {
		(void)curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		(void)curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
	return h;
}

void
http_budget_set(struct http *h, int64_t deadline_ms, int64_t request_ms, const char *what)
{
	h->budget_deadline_ms = deadline_ms;
	h->budget_request_ms = request_ms;
	(void)snprintf(h->budget_what, sizeof(h->budget_what), "%s", what != NULL ? what : "");
}

int64_t
http_budget_deadline(const struct http *h)
{
	return h->budget_deadline_ms;
}

void
http_free(struct http *h)
{
	if (h == NULL) {
		return;
	}
	while (h->n_idle > 0) {
		curl_easy_cleanup(h->idle[--h->n_idle]);
	}
	(void)curl_multi_cleanup(h->multi);
	if (h->share != NULL) {
		(void)curl_share_cleanup(h->share);
	}
	for (size_t i = 0; i < h->n_origins; i++) {
		free(h->origins[i].origin);
		free(h->origins[i].ca_blob);
		free(h->origins[i].ca_hint);
	}
	free(h->origins);
	free(h->ca_file);
	free(h);
}

static struct origin *
origin_find(struct http *h, const char *origin)
{
	size_t i;

	for (i = 0; origin != NULL && i < h->n_origins; i++) {
		if (strcmp(h->origins[i].origin, origin) == 0) {
			return &h->origins[i];
		}
	}
	return NULL;
}

static struct origin *
origin_get(struct http *h, const char *origin)
{
	struct origin *o = origin_find(h, origin);

	if (o != NULL) {
		return o;
	}
	h->origins = xrealloc(h->origins, (h->n_origins + 1) * sizeof(*h->origins));
	o = &h->origins[h->n_origins++];
	memset(o, 0, sizeof(*o));
	o->origin = xstrdup(origin);
	return o;
}

void
http_set_ca_file(struct http *h, const char *path)
{
	free(h->ca_file);
	h->ca_file = path != NULL ? xstrdup(path) : NULL;
}

/* the bundle libcurl verifies with when told nothing: SSL_CERT_FILE, else its built-in path */
static char *
system_bundle_path(const struct http *h)
{
	CURL *e;
	char *path = NULL, *copy = NULL;

	if (h->ca_file != NULL) {
		return xstrdup(h->ca_file);
	}
	e = curl_easy_init();
	if (e == NULL) {
		abort();
	}
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &path) == CURLE_OK && path != NULL) {
		copy = xstrdup(path);
	}
	curl_easy_cleanup(e);
	return copy;
}

int
http_trust_add(struct http *h, const char *base_url, const char *pem, size_t pem_len, const char *hint,
	       struct error *err)
{
	char *origin = http_url_origin(base_url);
	struct origin *o;
	int rc = 0;

	if (origin == NULL) {
		return error_set(err, ERR_CONFIG, "not an http(s) URL");
	}
	o = origin_get(h, origin);
	free(o->ca_hint);
	o->ca_hint = hint != NULL ? xstrdup(hint) : NULL;
	if (pem != NULL && pem_len > 0 && o->ca_blob == NULL) {
		/*
		 * CURLOPT_CAINFO_BLOB takes the place of the CA file, so the blob carries the system
		 * bundle too: a public certificate keeps validating while the private CA is trusted
		 */
		char *path = system_bundle_path(h);
		size_t sys_len = 0;
		char *sys = path != NULL ? file_read(path, 16 * 1024 * 1024, &sys_len) : NULL;
		if (sys == NULL) {
			rc = error_set(err, ERR_IO, "cannot read the system CA bundle %s: only the extra CAs are trusted",
				       path != NULL ? path : "(libcurl names none)");
		}
		o->ca_blob = xasprintf("%s\n%.*s\n", sys != NULL ? sys : "", (int)pem_len, pem);
		o->ca_len = strlen(o->ca_blob);
		free(sys);
		free(path);
	}
	free(origin);
	return rc;
}

const char *
transport_outcome_name(enum transport_outcome t)
{
	switch (t) {
	case TRANSPORT_OK:
		return "ok";
	case TRANSPORT_DNS:
		return "name resolution failed";
	case TRANSPORT_CONNECT:
		return "connection failed";
	case TRANSPORT_TIMEOUT:
		return "timed out";
	case TRANSPORT_RESET:
		return "connection closed mid-reply";
	case TRANSPORT_TLS:
		return "TLS failure";
	case TRANSPORT_TOO_BIG:
		return "reply too large";
	case TRANSPORT_OTHER:
	default:
		return "transfer failed";
	}
}

char *
http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			buf_putc(&b, (char)c);
		} else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[c >> 4]);
			buf_putc(&b, hex[c & 15]);
		}
	}
	return buf_steal(&b);
}

static void
push_secret(char ***v, const char *raw, size_t len, size_t min_len)
{
	char *part, *decoded, *p;
	int n = 0;

	if (len < min_len) {
		return;
	}
	part = xstrndup(raw, len);
	if (!strv_contains(*v, part)) {
		strv_push(v, xstrdup(part));
	}
	/* the decoded form too ("+" is a space in a query) */
	for (p = part; *p != '\0'; p++) {
		if (*p == '+') {
			*p = ' ';
		}
	}
	decoded = curl_easy_unescape(NULL, part, 0, &n);
	if (decoded != NULL && n > 0 && (size_t)n == strlen(decoded) && !strv_contains(*v, decoded)) {
		strv_push(v, xstrdup(decoded));
	}
	if (decoded != NULL) {
		secret_wipe(decoded, strlen(decoded));
		curl_free(decoded);
	}
	secret_free(part);
}

char **
http_url_secrets(const char *url, bool with_path, size_t min_len)
{
	static const CURLUPart parts[] = { CURLUPART_USER, CURLUPART_PASSWORD };
	CURLU *u = curl_url();
	char **out = NULL;
	char *value = NULL;
	size_t i;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME | CURLU_GUESS_SCHEME) != CURLUE_OK) {
		if (strpbrk(url, "?@") != NULL) {
			strv_push(&out, xstrdup(url));
		}
		goto out;
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (curl_url_get(u, parts[i], &value, 0) == CURLUE_OK && value != NULL) {
			push_secret(&out, value, strlen(value), 1);
		}
		curl_free(value);
		value = NULL;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &value, 0) == CURLUE_OK && value != NULL) {
		const char *p = value;
		while (*p != '\0') {
			size_t n = strcspn(p, "&");
			const char *eq = memchr(p, '=', n);
			if (eq != NULL) {
				push_secret(&out, eq + 1, n - (size_t)(eq + 1 - p), min_len);
			}
			p += n;
			if (*p == '&') {
				p++;
			}
		}
	}
	curl_free(value);
	value = NULL;
	if (with_path && curl_url_get(u, CURLUPART_PATH, &value, 0) == CURLUE_OK && value != NULL &&
	    strcmp(value, "/") != 0) {
		push_secret(&out, value, strlen(value), min_len);
	}
	curl_free(value);
out:
	curl_url_cleanup(u);
	return out;
}

static void
ascii_lower(char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		*s = (char)tolower((unsigned char)*s);
	}
}

/* a libcurl-owned string copied to ours (never mix allocators) */
static char *
take_part(CURLU *u, CURLUPart part, unsigned flags)
{
	char *v = NULL, *copy;

	if (curl_url_get(u, part, &v, flags) != CURLUE_OK || v == NULL) {
		return NULL;
	}
	copy = xstrdup(v);
	secret_wipe(v, strlen(v));
	curl_free(v);
	return copy;
}

/* a parsed handle for an absolute http(s) URL, or NULL */
static CURLU *
url_handle(const char *url, CURLUcode *uc_out)
{
	CURLU *u = curl_url();
	CURLUcode uc;

	if (u == NULL) {
		abort();
	}
	/* other schemes parse too, so the caller can say "expected http(s)" instead of libcurl's words */
	uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
	if (uc_out != NULL) {
		*uc_out = uc;
	}
	if (uc != CURLUE_OK) {
		curl_url_cleanup(u);
		return NULL;
	}
	return u;
}

int
http_url_parse(struct http_url *out, const char *url, struct error *err)
{
	CURLUcode uc = CURLUE_OK;
	CURLU *u;
	char *user = NULL, *password = NULL, *fragment = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	u = url_handle(url, &uc);
	if (u == NULL) {
		if (uc == CURLUE_NO_HOST) {
			return error_set(err, ERR_CONFIG, "expected an http:// or https:// URL with a host");
		}
		return error_set(err, ERR_CONFIG, "expected an http:// or https:// URL (%s)", curl_url_strerror(uc));
	}
	out->scheme = take_part(u, CURLUPART_SCHEME, 0);
	ascii_lower(out->scheme);
	if (out->scheme == NULL || (strcmp(out->scheme, "http") != 0 && strcmp(out->scheme, "https") != 0)) {
		rc = error_set(err, ERR_CONFIG, "expected an http:// or https:// URL");
		goto out;
	}
	out->host = take_part(u, CURLUPART_HOST, 0);
	ascii_lower(out->host);
	if (out->host == NULL || out->host[0] == '\0') {
		rc = error_set(err, ERR_CONFIG, "expected an http:// or https:// URL with a host");
		goto out;
	}
	out->port = take_part(u, CURLUPART_PORT, CURLU_DEFAULT_PORT);
	out->path = take_part(u, CURLUPART_PATH, 0);
	if (out->path == NULL) {
		out->path = xstrdup("/");
	}
	out->query = take_part(u, CURLUPART_QUERY, 0);
	user = take_part(u, CURLUPART_USER, 0);
	password = take_part(u, CURLUPART_PASSWORD, 0);
	if (user != NULL || password != NULL) {
		out->userinfo = password != NULL ? xasprintf("%s:%s", user != NULL ? user : "", password)
						 : xstrdup(user);
	}
	fragment = take_part(u, CURLUPART_FRAGMENT, 0);
	out->has_fragment = fragment != NULL;
out:
	secret_free(user);
	secret_free(password);
	free(fragment);
	curl_url_cleanup(u);
	return rc;
}

void
http_url_dispose(struct http_url *u)
{
	free(u->scheme);
	free(u->host);
	free(u->port);
	free(u->path);
	free(u->query);
	secret_free(u->userinfo);
	memset(u, 0, sizeof(*u));
}

char *
http_url_origin(const char *url)
{
	struct http_url u;
	struct error err = ERROR_INIT;
	char *origin = NULL;

	if (http_url_parse(&u, url, &err) == 0) {
		origin = xasprintf("%s://%s:%s", u.scheme, u.host, u.port);
	}
	http_url_dispose(&u);
	return origin;
}

bool
http_url_same_origin(const char *a, const char *b)
{
	char *oa = http_url_origin(a), *ob = http_url_origin(b);
	bool same = oa != NULL && ob != NULL && strcmp(oa, ob) == 0;

	free(oa);
	free(ob);
	return same;
}

/*
 * The text a part setter would store is normalised by libcurl 7.88 (%7B becomes %7b), while a
 * whole URL is kept as written: so joined URLs are assembled as text from parsed parts and parsed
 * once more as a whole, which both checks them and keeps the caller's encoding byte for byte.
 */
static char *
url_reparse(const char *text)
{
	CURLU *u = url_handle(text, NULL);
	char *out = NULL;

	if (u != NULL) {
		out = take_part(u, CURLUPART_URL, 0);
	}
	curl_url_cleanup(u);
	return out;
}

/* "scheme://[user@]host[:port]" of url as libcurl reads it, without path, query or fragment */
static char *
url_authority(const char *url)
{
	CURLU *u = url_handle(url, NULL);
	char *out = NULL;
	size_t n;

	if (u != NULL && curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PATH, "/", 0) == CURLUE_OK) {
		out = take_part(u, CURLUPART_URL, 0);
	}
	curl_url_cleanup(u);
	n = out != NULL ? strlen(out) : 0;
	if (n > 0 && out[n - 1] == '/') {
		out[n - 1] = '\0';
	}
	return out;
}

char *
http_url_join(const char *base, const char *path_query)
{
	struct http_url parsed;
	struct error err = ERROR_INIT;
	char *authority = NULL, *text = NULL, *joined = NULL;
	size_t n, plen = strcspn(path_query, "?");
	const char *pq_query = path_query[plen] == '?' ? path_query + plen + 1 : "";
	const char *base_query;

	if (http_url_parse(&parsed, base, &err) < 0) {
		goto out;
	}
	authority = url_authority(base);
	if (authority == NULL) {
		goto out;
	}
	n = strlen(parsed.path);
	while (n > 0 && parsed.path[n - 1] == '/') {
		n--;
	}
	base_query = parsed.query != NULL ? parsed.query : "";
	text = xasprintf("%s%.*s%.*s%s%s%s%s%s", authority, (int)n, parsed.path, (int)plen, path_query,
			 n + plen == 0 ? "/" : "", pq_query[0] != '\0' || base_query[0] != '\0' ? "?" : "", pq_query,
			 pq_query[0] != '\0' && base_query[0] != '\0' ? "&" : "", base_query);
	joined = url_reparse(text);
out:
	free(text);
	free(authority);
	http_url_dispose(&parsed);
	return joined;
}

char *
http_url_append_query(const char *url, const char *param)
{
	struct http_url parsed;
	struct error err = ERROR_INIT;
	char *text = NULL, *out = NULL;

	/* as text, then parsed whole: see url_reparse() */
	if (http_url_parse(&parsed, url, &err) == 0 && !parsed.has_fragment) {
		text = xasprintf("%s%s%s", url, parsed.query != NULL ? "&" : "?", param);
		out = url_reparse(text);
	}
	free(text);
	http_url_dispose(&parsed);
	return out;
}

enum error_code
http_status_error_code(long status)
{
	if (status >= 200 && status < 300) {
		return ERR_OK;
	}
	switch (status) {
	case 401:
	case 403:
		return ERR_AUTH;
	case 404:
		return ERR_NOT_FOUND;
	case 409:
	case 422:
		return ERR_CONFLICT;
	default:
		return ERR_HTTP;
	}
}

enum error_code
http_request_error_code(const struct http_request *req)
{
	if (req->state != HTTP_DONE) {
		return req->err.code != ERR_OK ? req->err.code : ERR_CANCELLED;
	}
	if (req->transport != TRANSPORT_OK) {
		if (req->transport == TRANSPORT_TIMEOUT) {
			return ERR_TIMEOUT;
		}
		return req->err.code != ERR_OK ? req->err.code : ERR_NETWORK;
	}
	return http_status_error_code(req->resp.status);
}

const char *
http_response_header(const struct http_response *resp, const char *name)
{
	size_t i;
	for (i = 0; i < resp->n_headers; i++) {
		if (strcasecmp(resp->headers[i].name, name) == 0) {
			return resp->headers[i].value;
		}
	}
	return NULL;
}

static void
headers_clear(struct http_response *resp)
{
	size_t i;
	for (i = 0; i < resp->n_headers; i++) {
		free(resp->headers[i].name);
		free(resp->headers[i].value);
	}
	free(resp->headers);
	resp->headers = NULL;
	resp->n_headers = 0;
}

void
http_response_dispose(struct http_response *resp)
{
	free(resp->content_type);
	buf_dispose(&resp->body);
	headers_clear(resp);
	memset(resp, 0, sizeof(*resp));
	resp->retry_after_ms = -1;
}

static void
priv_free(struct http_request *req)
{
	struct req_priv *p = req->priv;
	if (p == NULL) {
		return;
	}
	if (p->easy != NULL) {
		curl_easy_cleanup(p->easy);
	}
	curl_slist_free_all(p->slist);
	curl_slist_free_all(p->connect_to);
	free(p->origin);
	free(p);
	req->priv = NULL;
}

/*
 * kubeconfig's tls-server-name: libcurl has no option for "verify the certificate against another
 * name", so the URL names that server (SNI and verification use it) and CURLOPT_CONNECT_TO sends
 * the connection to the real host and port, as client-go does with ServerName.
 */
static void
set_server_name(struct req_priv *p, CURL *e, const char *url, const char *server_name)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *rewritten = NULL;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &rewritten, 0) != CURLUE_OK) {
		/* an unparsable URL fails in the transfer itself, with libcurl's message */
		goto out;
	}
	{
		char *entry = xasprintf("%s:%s:%s:%s", server_name, port, host, port);
		p->connect_to = curl_slist_append(p->connect_to, entry);
		free(entry);
	}
	(void)curl_easy_setopt(e, CURLOPT_URL, rewritten);
	(void)curl_easy_setopt(e, CURLOPT_CONNECT_TO, p->connect_to);
out:
	curl_free(host);
	curl_free(port);
	curl_free(rewritten);
	curl_url_cleanup(u);
}

/* an easy handle for a new transfer: a pooled one (already reset) or a new one */
static CURL *
easy_take(struct http *h)
{
	CURL *e;

	if (h->n_idle > 0) {
		return h->idle[--h->n_idle];
	}
	e = curl_easy_init();
	if (e == NULL) {
		abort();
	}
	return e;
}

/*
 * Ends req's transfer once it has left the multi handle: its easy handle goes back to the pool
 * (reset, so it keeps no pointer into req) and its header list is freed. A retry takes a
 * handle again when it is due.
 */
static void
transfer_release(struct http *h, struct http_request *req)
{
	struct req_priv *p = req->priv;

	if (p == NULL || p->easy == NULL) {
		return;
	}
	if (h->n_idle < HTTP_MAX_PARALLEL) {
		curl_easy_reset(p->easy);
		h->idle[h->n_idle++] = p->easy;
	} else {
		curl_easy_cleanup(p->easy);
	}
	p->easy = NULL;
	curl_slist_free_all(p->slist);
	p->slist = NULL;
	curl_slist_free_all(p->connect_to);
	p->connect_to = NULL;
}

void
http_request_dispose(struct http_request *req)
{
	priv_free(req);
	http_response_dispose(&req->resp);
	error_clear(&req->err);
	req->state = HTTP_PENDING;
	req->attempts = 0;
	req->transport = TRANSPORT_OK;
	req->certificate_rejected = false;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	struct req_priv *p = req->priv;
	size_t n = size * nmemb;
	size_t cap = req->max_body != 0 ? req->max_body : HTTP_DEFAULT_MAX_BODY;

	if (req->on_data != NULL) {
		if (req->on_data(req, data, n) != 0) {
			p->consumer_stop = true;
			return 0;
		}
		return n;
	}
	if (req->resp.body.len + n > cap) {
		/* returning short makes libcurl abort with CURLE_WRITE_ERROR: memory stays bounded */
		p->too_big = true;
		req->resp.body_truncated = true;
		return 0;
	}
	buf_append(&req->resp.body, data, n);
	return n;
}

static size_t
on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *req = userdata;
	struct req_priv *p = req->priv;
	size_t n = size * nmemb;
	const char *colon;
	struct http_header *hd;
	size_t name_len, vstart, vend;

	p->header_bytes += n;
	if (p->header_bytes > MAX_HEADER_BYTES) {
		p->too_big = true;
		p->headers_too_big = true;
		return 0;
	}
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		/* a new response (after 100 Continue): forget earlier headers */
		headers_clear(&req->resp);
		return n;
	}
	colon = memchr(data, ':', n);
	if (colon == NULL || req->resp.n_headers >= MAX_HEADERS) {
		return n;
	}
	name_len = (size_t)(colon - data);
	vstart = name_len + 1;
	while (vstart < n && (data[vstart] == ' ' || data[vstart] == '\t')) {
		vstart++;
	}
	vend = n;
	while (vend > vstart && (data[vend - 1] == '\r' || data[vend - 1] == '\n' || data[vend - 1] == ' ')) {
		vend--;
	}
	req->resp.headers = xrealloc(req->resp.headers, (req->resp.n_headers + 1) * sizeof(*hd));
	hd = &req->resp.headers[req->resp.n_headers++];
	hd->name = xstrndup(data, name_len);
	for (char *c = hd->name; *c != '\0'; c++) {
		*c = (char)tolower((unsigned char)*c);
	}
	hd->value = xstrndup(data + vstart, vend - vstart);
	return n;
}

/*
 * A request without its own http_tls: the extra CAs of its origin (http_trust_add: the system
 * bundle and ca-cert in one blob), else the system bundle named by SSL_CERT_FILE
 */
static void
easy_trust(struct http_batch *b, struct req_priv *p, CURL *e)
{
	const struct origin *o = origin_find(b->h, p->origin);

	if (o != NULL && o->ca_blob != NULL) {
		/* the origin's blob outlives every transfer: it is freed with the client */
		struct curl_blob blob = { o->ca_blob, o->ca_len, CURL_BLOB_NOCOPY };
		(void)curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	} else if (b->h->ca_file != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_CAINFO, b->h->ca_file);
	}
}

/* the request's own timeout (0: 30 s), within the budget when one is set */
static int64_t
attempt_timeout(const struct http *h, const struct http_request *req)
{
	int64_t ms = req->timeout_ms > 0 ? req->timeout_ms : 30000;

	if (h->budget_deadline_ms > 0) {
		int64_t left = h->budget_deadline_ms - clock_ms();
		if (h->budget_request_ms > 0 && h->budget_request_ms < ms) {
			ms = h->budget_request_ms;
		}
		if (left < ms) {
			ms = left > 1 ? left : 1;
		}
	}
	return ms;
}

/* the defaults every transfer gets, in one place (fwupd); every ignored return is visible */
static void
easy_defaults(struct http_batch *b, struct http_request *req, struct req_priv *p, CURL *e)
{
	(void)curl_easy_setopt(e, CURLOPT_URL, req->url);
	(void)curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	(void)curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	(void)curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	(void)curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* credentials never change host: redirects are reported, not followed */
	(void)curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	p->timeout_ms = attempt_timeout(b->h, req);
	(void)curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
	(void)curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(p->timeout_ms < 10000 ? p->timeout_ms : 10000));
	(void)curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	(void)curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	(void)curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	(void)curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	(void)curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	(void)curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	(void)curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (b->h->share != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_SHARE, b->h->share);
	}
	/* never CURLOPT_VERBOSE, even with --verbose: it prints Authorization headers */
}

/* the method, and the body for the methods that carry one */
static void
easy_method(struct http_request *req, CURL *e)
{
	const char *method = req->method != NULL ? req->method : "GET";

	if (strcmp(method, "GET") == 0) {
		(void)curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		(void)curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		(void)curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	if (req->body != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		(void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) {
		(void)curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
		(void)curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
	}
}

/* request headers and credentials: bearer tokens through CURLAUTH_BEARER, never a built header */
static void
easy_headers(struct http_request *req, struct req_priv *p, CURL *e)
{
	size_t i;

	if (req->content_type != NULL) {
		char *h = xasprintf("Content-Type: %s", req->content_type);
		p->slist = curl_slist_append(p->slist, h);
		free(h);
	}
	/* no "Expect: 100-continue" round trip for small JSON bodies */
	p->slist = curl_slist_append(p->slist, "Expect:");
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		p->slist = curl_slist_append(p->slist, req->headers[i]);
	}
	(void)curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->slist);
	if (req->bearer != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		(void)curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, req->bearer);
	} else if (req->basic_user != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		(void)curl_easy_setopt(e, CURLOPT_USERNAME, req->basic_user);
		(void)curl_easy_setopt(e, CURLOPT_PASSWORD, req->basic_password != NULL ? req->basic_password : "");
	}
}

/* the Kubernetes API's TLS: its CA, a client certificate and key, tls-server-name; proxy-url */
static void
easy_tls(struct http_batch *b, struct http_request *req, struct req_priv *p, CURL *e)
{
	const struct http_tls *t = req->tls;

	if (t->ca_pem != NULL) {
		struct curl_blob blob = { (void *)t->ca_pem, t->ca_len, CURL_BLOB_COPY };
		(void)curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	} else if (t->ca_file != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_CAINFO, t->ca_file);
	}
	if (t->cert_pem != NULL) {
		struct curl_blob blob = { (void *)t->cert_pem, t->cert_len, CURL_BLOB_COPY };
		(void)curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
		(void)curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (t->cert_file != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_SSLCERT, t->cert_file);
	}
	if (t->key_pem != NULL) {
		struct curl_blob blob = { (void *)t->key_pem, t->key_len, CURL_BLOB_COPY };
		(void)curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
		(void)curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (t->key_file != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_SSLKEY, t->key_file);
	}
	if (t->insecure) {
		(void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		(void)curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (t->server_name != NULL && t->server_name[0] != '\0') {
		set_server_name(p, e, req->url, t->server_name);
	}
	if (t->ca_pem == NULL && t->ca_file == NULL && b->h->ca_file != NULL) {
		(void)curl_easy_setopt(e, CURLOPT_CAINFO, b->h->ca_file);
	}
	if (t->proxy != NULL) {
		/* the kubeconfig's proxy-url: also overrides NO_PROXY, as client-go does */
		(void)curl_easy_setopt(e, CURLOPT_PROXY, t->proxy);
		(void)curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	}
}

static void
setup_easy(struct http_batch *b, struct http_request *req)
{
	struct req_priv *p = req->priv;
	CURL *e;

	if (p->easy == NULL) {
		p->easy = easy_take(b->h);
	} else {
		curl_easy_reset(p->easy);
	}
	e = p->easy;
	curl_slist_free_all(p->slist);
	p->slist = NULL;
	curl_slist_free_all(p->connect_to);
	p->connect_to = NULL;
	p->errbuf[0] = '\0';
	p->too_big = false;
	p->headers_too_big = false;
	p->consumer_stop = false;
	p->header_bytes = 0;

	easy_defaults(b, req, p, e);
	easy_method(req, e);
	easy_headers(req, p, e);
	if (req->tls != NULL) {
		easy_tls(b, req, p, e);
	} else {
		easy_trust(b, p, e);
	}
}

struct http_batch *
http_batch_new(struct http *h, const struct http_batch_opts *opts)
{
	struct http_batch *b = xcalloc(1, sizeof(*b));

	b->h = h;
	b->opts = *opts;
	/* a batch that asked for a bound (1: serial) keeps it on HTTP/2 too */
	b->stream_cap = b->opts.max_parallel > 0 ? b->opts.max_parallel : HTTP_MAX_STREAMS;
	if (b->opts.max_parallel <= 0) {
		b->opts.max_parallel = HTTP_MAX_PARALLEL;
	}
	/* the total and the idle cache stay as http_new() set them (HTTP_MAX_CONNECTIONS) */
	(void)curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)b->opts.max_parallel);
	return b;
}

static void
queue_push(struct http_batch *b, struct http_request *req)
{
	if (b->n_queue == b->cap_queue) {
		b->cap_queue = b->cap_queue == 0 ? 16 : b->cap_queue * 2;
		b->queue = xrealloc(b->queue, b->cap_queue * sizeof(*b->queue));
	}
	b->queue[b->n_queue++] = req;
}

/* no value that goes into a request header may end that header (CR, LF) and start another */
static bool
headers_ok(const struct http_request *req)
{
	size_t i;

	if ((req->bearer != NULL && !header_value_ok(req->bearer)) ||
	    (req->content_type != NULL && !header_value_ok(req->content_type))) {
		return false;
	}
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (!header_value_ok(req->headers[i])) {
			return false;
		}
	}
	return true;
}

void
http_batch_add(struct http_batch *b, struct http_request *req)
{
	struct req_priv *p;

	http_request_dispose(req);
	p = xcalloc(1, sizeof(*p));
	p->batch = b;
	p->origin = http_url_origin(req->url);
	req->priv = p;
	req->state = HTTP_PENDING;
	req->resp.retry_after_ms = -1;
	req->started_ms = 0;
	if (b->n_all == b->cap_all) {
		b->cap_all = b->cap_all == 0 ? 16 : b->cap_all * 2;
		b->all = xrealloc(b->all, b->cap_all * sizeof(*b->all));
	}
	b->all[b->n_all++] = req;
	if (b->aborted) {
		req->state = HTTP_ABORTED;
		(void)error_set(&req->err, ERR_CANCELLED, "not sent: aborted");
		return;
	}
	if (!headers_ok(req)) {
		/* the callers refuse such values first, with their own message; this is the last guard */
		req->state = HTTP_ABORTED;
		req->transport = TRANSPORT_OTHER;
		(void)error_set(&req->err, ERR_CONFIG, "not sent: a header value holds a control character");
		return;
	}
	queue_push(b, req);
}

static void
running_drop(struct http_batch *b, struct http_request *req)
{
	struct req_priv *p = req->priv;

	b->running--;
	if (!p->mux) {
		b->running_h1--;
	}
}

static void
abort_request(struct http_batch *b, struct http_request *req, const char *why)
{
	struct req_priv *p = req->priv;

	if (req->state == HTTP_RUNNING && p != NULL && p->easy != NULL) {
		(void)curl_multi_remove_handle(b->h->multi, p->easy);
		transfer_release(b->h, req);
		running_drop(b, req);
	}
	if (req->state != HTTP_DONE) {
		req->state = HTTP_ABORTED;
		if (req->started_ms != 0) {
			req->elapsed_ms = clock_ms() - req->started_ms;
		}
		(void)error_set(&req->err, ERR_CANCELLED, "%s", why);
	}
}

void
http_batch_abort(struct http_batch *b)
{
	b->aborted = true;
}

static void
do_abort_all(struct http_batch *b, const char *why)
{
	size_t i;

	for (i = 0; i < b->n_queue; i++) {
		abort_request(b, b->queue[i], why);
	}
	b->n_queue = 0;
	for (i = 0; i < b->n_all; i++) {
		if (b->all[i]->state == HTTP_RUNNING) {
			abort_request(b, b->all[i], why);
		}
	}
}

static enum transport_outcome
classify(CURLcode rc, const struct req_priv *p)
{
	switch ((int)rc) {
	case CURLE_OK:
		return TRANSPORT_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return TRANSPORT_DNS;
	case CURLE_COULDNT_CONNECT:
		return TRANSPORT_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return TRANSPORT_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return TRANSPORT_RESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return TRANSPORT_TLS;
	case CURLE_WRITE_ERROR:
		return p->too_big ? TRANSPORT_TOO_BIG : TRANSPORT_OTHER;
	case CURLE_OUT_OF_MEMORY:
		/* our allocations abort on failure: libcurl says this when one header line passes its 100 KiB cap */
		return TRANSPORT_TOO_BIG;
	default:
		return TRANSPORT_OTHER;
	}
}

/*
 * A TLS failure names the server and what failed, in words a user can act on; OpenSSL's verify
 * result (X509_V_ERR_*) says which, libcurl's message stays in brackets.
 */
static bool
tls_error(struct error *err, struct http *h, const struct http_request *req, long verify, const char *detail)
{
	struct http_url u;
	struct error perr = ERROR_INIT;
	const struct origin *o = NULL;
	const char *hint = NULL, *cause;
	char *where;
	bool unknown_issuer = false;

	if (http_url_parse(&u, req->url, &perr) == 0) {
		where = xasprintf("%s:%s", u.host, u.port);
	} else {
		where = xstrdup("the server");
	}
	if (req->tls != NULL) {
		hint = req->tls->ca_hint;
	} else {
		char *origin = http_url_origin(req->url);
		o = origin_find(h, origin);
		hint = o != NULL ? o->ca_hint : NULL;
		free(origin);
	}
	switch (verify) {
	case 2:  /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT */
	case 18: /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */
	case 19: /* X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN */
	case 20: /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
	case 21: /* X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE */
		cause = "is signed by an unknown issuer";
		unknown_issuer = true;
		break;
	case 10: /* X509_V_ERR_CERT_HAS_EXPIRED */
		cause = "has expired";
		break;
	case 9: /* X509_V_ERR_CERT_NOT_YET_VALID */
		cause = "is not valid yet";
		break;
	case 62: /* X509_V_ERR_HOSTNAME_MISMATCH */
		cause = "does not match the host name";
		break;
	default:
		/* libcurl checks the name itself, after OpenSSL's verification passed */
		if (strstr(detail, "subject name") != NULL || strstr(detail, "does not match") != NULL) {
			cause = "does not match the host name";
		} else if (verify != 0) {
			cause = "failed verification";
		} else {
			cause = NULL;
		}
		break;
	}
	if (cause != NULL) {
		(void)error_set(err, ERR_TLS, "TLS failure: the certificate of %s %s (%s)%s%s", where, cause, detail,
				unknown_issuer && hint != NULL ? "; " : "", unknown_issuer && hint != NULL ? hint : "");
	} else {
		(void)error_set(err, ERR_TLS, "TLS failure with %s: %s", where, detail);
	}
	free(where);
	http_url_dispose(&u);
	return cause != NULL;
}

/* a reply arrived: its status, content type, HTTP version and Retry-After */
static void
read_reply(struct http_request *req, struct req_priv *p, long status)
{
	const char *ct = NULL;
	long version = 0;

	req->resp.status = status;
	(void)curl_easy_getinfo(p->easy, CURLINFO_CONTENT_TYPE, &ct);
	free(req->resp.content_type);
	req->resp.content_type = ct != NULL ? xstrdup(ct) : NULL;
	(void)curl_easy_getinfo(p->easy, CURLINFO_HTTP_VERSION, &version);
	req->resp.http_version = version == CURL_HTTP_VERSION_2_0 ? 20 : 11;
	if (version == CURL_HTTP_VERSION_2_0 && p->origin != NULL) {
		/* through a proxy too: HTTP/2 is only spoken inside a CONNECT tunnel, end to end */
		origin_get(p->batch->h, p->origin)->h2 = true;
	}
	req->resp.retry_after_ms = -1;
	{
		const char *ra = http_response_header(&req->resp, "retry-after");
		if (ra != NULL) {
			req->resp.retry_after_ms = retry_after_parse(ra, wall_ms() / 1000);
		}
	}
	error_clear(&req->err);
}

/* no usable reply: one plain line in req->err saying why */
static void
describe_failure(struct http_request *req, struct req_priv *p, CURLcode rc)
{
	const char *detail = p->errbuf[0] != '\0' ? p->errbuf : curl_easy_strerror(rc);
	enum error_code code = ERR_NETWORK;

	req->resp.status = 0;
	if (req->transport == TRANSPORT_TIMEOUT) {
		char d[32];
		duration_format(d, sizeof(d), p->timeout_ms > 0 ? p->timeout_ms : 30000);
		(void)error_set(&req->err, ERR_TIMEOUT, "no complete reply within %s", d);
	} else if (req->transport == TRANSPORT_TOO_BIG && !p->too_big) {
		(void)error_set(&req->err, ERR_TOO_BIG, "a reply header is too large (libcurl: %s); transfer stopped",
				detail);
	} else if (req->transport == TRANSPORT_TOO_BIG && p->headers_too_big) {
		(void)error_set(&req->err, ERR_TOO_BIG, "reply headers larger than %d bytes; transfer stopped",
				MAX_HEADER_BYTES);
	} else if (req->transport == TRANSPORT_TOO_BIG) {
		size_t cap = req->max_body != 0 ? req->max_body : HTTP_DEFAULT_MAX_BODY;
		(void)error_set(&req->err, ERR_TOO_BIG, "reply larger than %zu bytes; transfer stopped", cap);
	} else if (p->consumer_stop) {
		(void)error_set(&req->err, ERR_GENERIC, "stopped by the reader");
	} else if (req->transport == TRANSPORT_TLS) {
		long verify = 0;
		(void)curl_easy_getinfo(p->easy, CURLINFO_SSL_VERIFYRESULT, &verify);
		req->certificate_rejected = tls_error(&req->err, p->batch->h, req, verify, detail);
	} else {
		(void)error_set(&req->err, code, "%s: %s", transport_outcome_name(req->transport), detail);
	}
}

/* the retry policy's verdict on this attempt; *delay_out the wait before the next one */
static enum retry_verdict
decide_retry(struct retry_policy *policy, const struct http_batch *b, const struct http_request *req,
	     const struct req_priv *p, int64_t *delay_out)
{
	struct retry_input in;

	*policy = b->opts.retry;
	memset(&in, 0, sizeof(in));
	in.retries_done = req->attempts - 1;
	in.transport = req->transport;
	in.status = req->resp.status;
	in.retry_after_ms = req->resp.retry_after_ms;
	in.idempotent = req->idempotent;
	in.jitter = random_u32();
	if (req->max_retries >= 0) {
		policy->max_retries = req->max_retries;
	}
	if (b->h->budget_deadline_ms > 0) {
		/* within a budget every request gets one attempt: a retry would eat another's time */
		policy->max_retries = 0;
	}
	if (p->consumer_stop) {
		return RETRY_NO;
	}
	return retry_decide(policy, &in, delay_out);
}

static void
finish_attempt(struct http_batch *b, struct http_request *req, CURLcode rc)
{
	struct req_priv *p = req->priv;
	struct retry_policy policy;
	enum retry_verdict verdict;
	int64_t delay = 0;
	long status = 0;
	char *logurl;

	(void)curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
	req->transport = classify(rc, p);
	req->certificate_rejected = false;
	if (req->transport == TRANSPORT_OK) {
		read_reply(req, p, status);
	} else {
		describe_failure(req, p, rc);
	}

	/* everything needed from the handle is read: hand it to the next request */
	transfer_release(b->h, req);

	verdict = decide_retry(&policy, b, req, p, &delay);
	logurl = url_for_log(req->url);
	log_debug("%s %s -> %ld (%s) in %lld ms, attempt %d", req->method != NULL ? req->method : "GET",
		  logurl, req->resp.status, transport_outcome_name(req->transport),
		  (long long)(clock_ms() - req->started_ms), req->attempts);
	if (verdict == RETRY_YES) {
		char d[32];
		duration_format(d, sizeof(d), delay);
		if (req->transport == TRANSPORT_OK) {
			log_info("  retrying %s %s in %s: HTTP %ld (attempt %d of %d)",
				 req->method != NULL ? req->method : "GET", logurl, d, req->resp.status,
				 req->attempts + 1, policy.max_retries + 1);
		} else {
			log_info("  retrying %s %s in %s: %s (attempt %d of %d)",
				 req->method != NULL ? req->method : "GET", logurl, d, req->err.msg,
				 req->attempts + 1, policy.max_retries + 1);
		}
		free(logurl);
		p->due_ms = clock_ms() + delay;
		req->state = HTTP_WAITING_RETRY;
		queue_push(b, req);
		return;
	}
	free(logurl);
	req->state = HTTP_DONE;
	req->elapsed_ms = clock_ms() - req->started_ms;
	if (b->opts.on_done != NULL) {
		b->opts.on_done(req, b->opts.user);
	}
}

/* starts queued requests that are due, FIFO, up to max_parallel; returns ms until the next due one */
static int64_t
start_due(struct http_batch *b, int64_t now)
{
	int64_t next = -1;
	size_t i = 0;

	while (i < b->n_queue) {
		struct http_request *req = b->queue[i];
		struct req_priv *p = req->priv;
		const struct origin *o = origin_find(b->h, p->origin);
		bool mux = o != NULL && o->h2;
		if ((int)b->running >= b->stream_cap) {
			break;
		}
		if (!mux && (int)b->running_h1 >= b->opts.max_parallel) {
			/* this one needs a connection; a later one to an HTTP/2 origin may still start */
			i++;
			continue;
		}
		if (req->state == HTTP_WAITING_RETRY && p->due_ms > now) {
			int64_t wait = p->due_ms - now;
			if (next < 0 || wait < next) {
				next = wait;
			}
			i++;
			continue;
		}
		memmove(&b->queue[i], &b->queue[i + 1], (b->n_queue - i - 1) * sizeof(*b->queue));
		b->n_queue--;
		buf_reset(&req->resp.body);
		req->resp.body_truncated = false;
		headers_clear(&req->resp);
		setup_easy(b, req);
		if (req->started_ms == 0) {
			req->started_ms = now;
		}
		req->attempts++;
		req->state = HTTP_RUNNING;
		if (curl_multi_add_handle(b->h->multi, p->easy) != CURLM_OK) {
			abort();
		}
		b->running++;
		p->mux = mux;
		if (!mux) {
			b->running_h1++;
		}
	}
	return next;
}

int
http_batch_run(struct http_batch *b, struct error *err)
{
	int rc = 0;

	/* nothing new leaves after a cancel, or once the budget is spent */
	if (!b->opts.ignore_cancel && cancel_requested()) {
		rc = error_set(err, ERR_CANCELLED, "not sent: cancelled by signal %d", cancel_signal());
		b->aborted = true;
	} else if (b->h->budget_deadline_ms > 0 && clock_ms() >= b->h->budget_deadline_ms) {
		rc = error_set(err, ERR_TIMEOUT, "not sent: the time allowed (%s) ran out", b->h->budget_what);
		b->aborted = true;
	}
	for (;;) {
		int64_t now = clock_ms();
		int64_t next_due;
		long curl_timeout = -1;
		int still = 0;
		int left;
		CURLMsg *msg;
		struct curl_waitfd wfd;
		int timeout;

		if (b->aborted) {
			break;
		}
		if (b->opts.deadline_ms > 0 && now >= b->opts.deadline_ms) {
			break;
		}
		next_due = start_due(b, now);
		if (b->running == 0 && b->n_queue == 0) {
			break;
		}
		(void)curl_multi_perform(b->h->multi, &still);
		while ((msg = curl_multi_info_read(b->h->multi, &left)) != NULL) {
			struct http_request *req = NULL;
			if (msg->msg != CURLMSG_DONE) {
				continue;
			}
			(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
			(void)curl_multi_remove_handle(b->h->multi, msg->easy_handle);
			running_drop(b, req);
			finish_attempt(b, req, msg->data.result);
		}
		if (b->aborted) {
			break;
		}
		if (b->running == 0 && b->n_queue == 0) {
			break;
		}
		next_due = start_due(b, clock_ms());
		if (b->running > 0) {
			(void)curl_multi_timeout(b->h->multi, &curl_timeout);
		}
		timeout = 1000;
		if (curl_timeout >= 0 && curl_timeout < timeout) {
			timeout = (int)curl_timeout;
		}
		if (next_due >= 0 && next_due < timeout) {
			timeout = (int)next_due;
		}
		if (b->opts.deadline_ms > 0) {
			int64_t left_ms = b->opts.deadline_ms - clock_ms();
			if (left_ms < timeout) {
				timeout = left_ms < 0 ? 0 : (int)left_ms;
			}
		}
		memset(&wfd, 0, sizeof(wfd));
		wfd.fd = cancel_fd();
		wfd.events = CURL_WAIT_POLLIN;
		(void)curl_multi_poll(b->h->multi, cancel_fd() >= 0 && !b->opts.ignore_cancel ? &wfd : NULL,
				      cancel_fd() >= 0 && !b->opts.ignore_cancel ? 1 : 0, timeout, NULL);
		if (!b->opts.ignore_cancel && cancel_requested()) {
			rc = error_set(err, ERR_CANCELLED, "cancelled by signal %d", cancel_signal());
			b->aborted = true;
			break;
		}
	}
	if (b->aborted || b->running > 0 || b->n_queue > 0) {
		/* abort whatever is left: remove running handles from the multi */
		const char *why = rc == ERR_CANCELLED  ? "abandoned: the job was cancelled"
				  : rc == ERR_TIMEOUT ? "not sent: the time allowed ran out"
						      : "not completed: aborted";
		do_abort_all(b, why);
	}
	return rc;
}

void
http_batch_free(struct http_batch *b)
{
	if (b == NULL) {
		return;
	}
	free(b->queue);
	free(b->all);
	free(b);
}

int
http_batch_run_one(struct http *h, struct http_request *req, const struct http_batch_opts *opts,
		   struct error *err)
{
	struct http_batch *b = http_batch_new(h, opts);
	int rc;

	http_batch_add(b, req);
	rc = http_batch_run(b, err);
	http_batch_free(b);
	return rc;
}

int
http_perform(struct http *h, struct http_request *req, const struct retry_policy *retry, struct error *err)
{
	struct http_batch_opts opts;
	int rc;

	memset(&opts, 0, sizeof(opts));
	opts.max_parallel = 1;
	if (retry != NULL) {
		opts.retry = *retry;
	}
	rc = http_batch_run_one(h, req, &opts, err);
	if (rc < 0) {
		return rc;
	}
	if (req->state != HTTP_DONE) {
		return error_set(err, ERR_CANCELLED, "%s", req->err.msg[0] != '\0' ? req->err.msg : "aborted");
	}
	if (req->transport != TRANSPORT_OK) {
		err->code = req->err.code;
		memcpy(err->msg, req->err.msg, sizeof(err->msg));
		return req->err.code != ERR_OK ? req->err.code : ERR_NETWORK;
	}
	return 0;
}
