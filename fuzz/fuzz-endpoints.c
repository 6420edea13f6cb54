/* SPDX-License-Identifier: MIT */
/* the endpoints input: one "[METHOD] PATH [EXPECTED]" per line (config_parse_endpoints) */
#include <ctype.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	struct endpoint *list = NULL;
	size_t n = 0, i;
	char *s;

	log_init(false, false);
	s = fuzz_strndup(data, size);
	if (config_parse_endpoints(&list, &n, s, &err) == 0) {
		FUZZ_ASSERT(n <= 1000);
		for (i = 0; i < n; i++) {
			const char *c;
			/* a path that could change the host or carry a fragment would be a bug */
			FUZZ_ASSERT(list[i].path[0] == '/' && list[i].path[1] != '/');
			for (c = list[i].path; *c != '\0'; c++) {
				FUZZ_ASSERT((unsigned char)*c > 0x20 && *c != 0x7f && *c != '#');
			}
			for (c = list[i].method; *c != '\0'; c++) {
				FUZZ_ASSERT(isupper((unsigned char)*c));
			}
			FUZZ_ASSERT(list[i].name != NULL && strchr(list[i].name, '\n') == NULL);
			FUZZ_ASSERT(list[i].expected.n <= 16);
		}
		endpoints_free(list, n);
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG && err.msg[0] != '\0' && strchr(err.msg, '\n') == NULL);
	}
	free(s);
	return 0;
}
