/* SPDX-License-Identifier: MIT */
/* the metrics input: a YAML list of named metrics (metricdef_parse_list, libyaml behind yamlh.h, in kubeconfig.c) */
#include <math.h>

#include "fuzz.h"
#include "log.h"
#include "metricdef.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	struct metric_def *list = NULL;
	size_t n = 0, i, j;
	char *s;

	log_init(false, false);
	s = fuzz_strndup(data, size);
	if (metricdef_parse_list(&list, &n, s, &err) == 0) {
		FUZZ_ASSERT(n <= METRICDEF_MAX_METRICS);
		FUZZ_ASSERT((n == 0) == (list == NULL));
		for (i = 0; i < n; i++) {
			const char *c;
			FUZZ_ASSERT(list[i].name != NULL && list[i].query != NULL);
			for (c = list[i].name; *c != '\0'; c++) {
				FUZZ_ASSERT((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
					    *c == '-');
			}
			FUZZ_ASSERT(list[i].has_max || list[i].has_min ||
				    list[i].increase.kind != INCREASE_NONE);
			FUZZ_ASSERT(!list[i].has_max || isfinite(list[i].max));
			FUZZ_ASSERT(!list[i].has_min || isfinite(list[i].min));
			FUZZ_ASSERT(list[i].on_no_data >= -1 && list[i].on_no_data <= 2);
			FUZZ_ASSERT(list[i].on_query_error >= -1 && list[i].on_query_error <= 2);
			for (j = 0; j < i; j++) {
				FUZZ_ASSERT(strcmp(list[i].name, list[j].name) != 0);
			}
		}
		metricdef_list_free(list, n);
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG && err.msg[0] != '\0' && list == NULL);
		FUZZ_ASSERT(strchr(err.msg, '\n') == NULL);
	}
	free(s);
	return 0;
}
