/* SPDX-License-Identifier: MIT */
/* URL parsing, joining and origin comparison (http.h, libcurl's URL API) and the status mapping */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "tap.h"

static void
test_url__parse(void)
{
	struct http_url u;
	struct error err = ERROR_INIT;

	is_int(http_url_parse(&u, "HTTPS://Example.COM/a/b?x=1", &err), 0, "parses");
	is_str(u.scheme, "https", "scheme lower-case");
	is_str(u.host, "example.com", "host lower-case");
	is_str(u.port, "443", "default port filled in");
	is_str(u.path, "/a/b", "path");
	is_str(u.query, "x=1", "query");
	ok(u.userinfo == NULL && !u.has_fragment, "no user-info, no fragment");
	http_url_dispose(&u);

	is_int(http_url_parse(&u, "http://[::1]:8080", &err), 0, "IPv6 literal");
	is_str(u.host, "[::1]", "IPv6 host in brackets");
	is_str(u.port, "8080", "explicit port");
	is_str(u.path, "/", "empty path is /");
	http_url_dispose(&u);

	is_int(http_url_parse(&u, "https://admin:pw@example.com/", &err), 0, "user-info parses");
	is_str(u.userinfo, "admin:pw", "user-info reported");
	http_url_dispose(&u);

	is_int(http_url_parse(&u, "http://example.com/#top", &err), 0, "fragment parses");
	ok(u.has_fragment, "fragment reported");
	http_url_dispose(&u);

	is_int(http_url_parse(&u, "ftp://example.com", &err), ERR_CONFIG, "ftp refused");
	ok(strstr(err.msg, "http:// or https://") != NULL, "message names the schemes: %s", err.msg);
	http_url_dispose(&u);
	is_int(http_url_parse(&u, "http://", &err), ERR_CONFIG, "no host refused");
	ok(strstr(err.msg, "with a host") != NULL, "message says host: %s", err.msg);
	http_url_dispose(&u);
	is_int(http_url_parse(&u, "prom:9090", &err), ERR_CONFIG, "no scheme refused");
	http_url_dispose(&u);
	is_int(http_url_parse(&u, "https://a.example:99999/", &err), ERR_CONFIG, "port out of range refused");
	http_url_dispose(&u);
	is_int(http_url_parse(&u, "", &err), ERR_CONFIG, "empty refused");
	http_url_dispose(&u);
}

static void
test_url__origin(void)
{
	char *o = http_url_origin("https://API.github.com/repos/o/r");

	is_str(o, "https://api.github.com:443", "origin with default port");
	free(o);
	ok(http_url_origin("not a url") == NULL, "no origin for junk");

	ok(http_url_same_origin("https://api.github.com/x?page=2", "https://api.github.com:443/repos/o/r"),
	   "explicit default port is the same origin");
	ok(http_url_same_origin("HTTPS://API.GITHUB.COM/x", "https://api.github.com/"), "case-insensitive");
	ok(!http_url_same_origin("https://api.github.com.evil.example/x", "https://api.github.com/"),
	   "a longer host is another origin (a prefix test would pass it)");
	ok(!http_url_same_origin("https://api.github.com@evil.example/x", "https://api.github.com/"),
	   "user-info that looks like the host is another origin");
	ok(!http_url_same_origin("http://api.github.com/x", "https://api.github.com/"), "scheme matters");
	ok(!http_url_same_origin("https://api.github.com:8443/x", "https://api.github.com/"), "port matters");
	ok(!http_url_same_origin("//api.github.com/x", "https://api.github.com/"), "relative refused");
	ok(!http_url_same_origin("https://api.github.com/x", "garbage"), "unparsable base refused");
}

static void
test_url__join(void)
{
	char *u;

	u = http_url_join("http://127.0.0.1:8080", "/health");
	is_str(u, "http://127.0.0.1:8080/health", "host only");
	free(u);
	u = http_url_join("https://h.example/base/", "/api/items?x=1&y=2");
	is_str(u, "https://h.example/base/api/items?x=1&y=2", "base path kept, query from the path");
	free(u);
	u = http_url_join("https://h/p?tenant=a", "/api/v1/query?query=up");
	is_str(u, "https://h/p/api/v1/query?query=up&tenant=a", "base query after ours");
	free(u);
	u = http_url_join("https://h/p?", "/api/v1/query?query=up");
	is_str(u, "https://h/p/api/v1/query?query=up", "empty base query dropped");
	free(u);
	u = http_url_join("https://[::1]:6443/k8s", "/apis/apps/v1");
	is_str(u, "https://[::1]:6443/k8s/apis/apps/v1", "IPv6 host");
	free(u);
	ok(http_url_join("ftp://h", "/x") == NULL, "non-http base refused");
}

static void
test_url__status(void)
{
	is_int(http_status_error_code(200), ERR_OK, "200");
	is_int(http_status_error_code(204), ERR_OK, "204");
	is_int(http_status_error_code(401), ERR_AUTH, "401");
	is_int(http_status_error_code(403), ERR_AUTH, "403");
	is_int(http_status_error_code(404), ERR_NOT_FOUND, "404");
	is_int(http_status_error_code(409), ERR_CONFLICT, "409");
	is_int(http_status_error_code(422), ERR_CONFLICT, "422");
	is_int(http_status_error_code(410), ERR_HTTP, "410");
	is_int(http_status_error_code(500), ERR_HTTP, "500");
	is_int(http_status_error_code(302), ERR_HTTP, "302");
	{
		struct http_request req;
		memset(&req, 0, sizeof(req));
		req.state = HTTP_DONE;
		req.transport = TRANSPORT_TIMEOUT;
		is_int(http_request_error_code(&req), ERR_TIMEOUT, "transport timeout");
		req.transport = TRANSPORT_OK;
		req.resp.status = 403;
		is_int(http_request_error_code(&req), ERR_AUTH, "status through the request");
	}
}

int
main(void)
{
	test_url__parse();
	test_url__origin();
	test_url__join();
	test_url__status();
	return tap_done();
}
