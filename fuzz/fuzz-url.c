/* SPDX-License-Identifier: MIT */
/*
 * URL handling through libcurl's URL API (http_url_parse, _origin, _same_origin, _join,
 * _append_query: pagination links from GitHub and URLs from inputs are outside text)
 * and the GitHub OIDC token service's answer (oidc_token_parse). The first line is a URL, the
 * rest a token-service reply.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clients/oidc.h"
#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "util.h"

static void
check_url(const char *url)
{
	struct http_url u;
	struct error err = ERROR_INIT;
	char *joined, *origin, *appended;
	bool ok = http_url_parse(&u, url, &err) == 0;

	if (ok) {
		FUZZ_ASSERT(strcmp(u.scheme, "http") == 0 || strcmp(u.scheme, "https") == 0);
		FUZZ_ASSERT(u.host != NULL && u.host[0] != '\0' && u.port != NULL && u.path != NULL);
	}
	http_url_dispose(&u);
	origin = http_url_origin(url);
	FUZZ_ASSERT((origin != NULL) == ok);
	/* an origin is its own origin, and a URL always shares its own */
	FUZZ_ASSERT(!ok || http_url_same_origin(url, origin));
	FUZZ_ASSERT(http_url_same_origin(url, url) == ok);
	joined = http_url_join(url, "/api/v1/query?query=up");
	FUZZ_ASSERT(joined == NULL || http_url_same_origin(joined, url));
	appended = http_url_append_query(url, "audience=x");
	FUZZ_ASSERT(appended == NULL || http_url_same_origin(appended, url));
	free(appended);
	free(joined);
	free(origin);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t first = nl != NULL ? (size_t)(nl - data) : size;
	char *url, *token = NULL;
	struct error err = ERROR_INIT;

	log_init(false, false);
	url = fuzz_strndup(data, first);
	check_url(url);
	free(url);
	if (nl != NULL) {
		const char *body = (const char *)nl + 1;
		size_t len = size - first - 1;
		if (oidc_token_parse(&token, body, len, &err) == 0) {
			FUZZ_ASSERT(token != NULL && token[0] != '\0');
			for (const char *p = token; *p != '\0'; p++) {
				/* it becomes an Authorization header: nothing that could end or split it */
				FUZZ_ASSERT((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f);
			}
		} else {
			FUZZ_ASSERT(token == NULL);
		}
		free(token);
	}
	return 0;
}
