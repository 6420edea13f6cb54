/* SPDX-License-Identifier: MIT */
/*
 * Query templates (promql_template_check/expand). Input: one byte giving the length of a hostile
 * value, that value (used as environment and namespace, and in the ReplicaSet and Deployment
 * names), then the template. The invariant is the issue's: no value can break out of its quotes.
 * The template expanded with the hostile value and with a plain one must look the same once the
 * contents of every string are removed.
 */
#include "fuzz.h"
#include "log.h"
#include "promql.h"

/* the PromQL text outside strings and comments (the lexer's view of the query's structure) */
static char *
outside_strings(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *out = malloc(n + 1);
	char q = 0;

	if (out == NULL) {
		abort();
	}
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (q == 0) {
			if (c == '"' || c == '\'' || c == '`') {
				q = c;
			} else if (c == '#') {
				q = '#';
			}
			out[o++] = c;
		} else if (q == '#') {
			if (c == '\n') {
				q = 0;
			}
			out[o++] = c;
		} else if (c == '\\' && q != '`' && s[i + 1] != '\0') {
			i++;
		} else if (c == q) {
			q = 0;
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char plain_dep[] = "atom", plain_rs[] = "atom-5d6f7";
	char *plain_deps[] = { plain_dep, NULL }, *plain_rss[] = { plain_rs, NULL };
	char *hostile_deps[2] = { NULL, NULL }, *hostile_rss[2] = { NULL, NULL };
	struct promql_vars plain, hostile;
	struct error err = ERROR_INIT;
	char *value, *tmpl, *a = NULL, *b = NULL;
	size_t vlen;
	unsigned used = 0;
	int rc;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	vlen = data[0] < size - 1 ? data[0] : size - 1;
	value = fuzz_strndup(data + 1, vlen);
	tmpl = fuzz_strndup(data + 1 + vlen, size - 1 - vlen);
	hostile_deps[0] = value;
	hostile_rss[0] = value;
	memset(&plain, 0, sizeof(plain));
	plain.namespace = "shop";
	plain.environment = "staging";
	plain.deployments = plain_deps;
	plain.new_replicasets = plain_rss;
	plain.since_deploy_s = 183;
	hostile = plain;
	hostile.namespace = value;
	hostile.environment = value;
	hostile.deployments = hostile_deps;
	hostile.new_replicasets = hostile_rss;

	rc = promql_template_check(&used, tmpl, &err);
	if (rc < 0) {
		FUZZ_ASSERT(err.code == ERR_CONFIG && err.msg[0] != '\0');
	} else {
		FUZZ_ASSERT(used < (1u << 5));
		FUZZ_ASSERT(promql_template_expand(&a, tmpl, &plain, &err) == 0);
		FUZZ_ASSERT(promql_template_expand(&b, tmpl, &hostile, &err) == 0);
		{
			char *sa = outside_strings(a), *sb = outside_strings(b);
			FUZZ_ASSERT(strcmp(sa, sb) == 0);
			free(sa);
			free(sb);
		}
		free(a);
		free(b);
	}
	free(value);
	free(tmpl);
	return 0;
}
