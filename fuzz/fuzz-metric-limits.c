/* SPDX-License-Identifier: MIT */
/*
 * The other issue-15 input parsers. First byte: 0-2 an increase limit (error rate, latency,
 * metric) then judged against two doubles taken from the input; 3 prometheus-headers; 4
 * baseline-time; then the text.
 */
#include <math.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "metricdef.h"
#include "util.h"

static double
take_double(const uint8_t *data, size_t size, size_t at)
{
	double v = 0.0;

	if (at + sizeof(v) <= size) {
		memcpy(&v, data + at, sizeof(v));
	}
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	char *s;
	int rc;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	s = fuzz_strndup(data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
	case 1:
	case 2: {
		struct increase_limit l;
		bool defined;
		double inc;
		rc = metricdef_parse_increase(&l, s, (enum increase_subject)(data[0] % 5), &err);
		if (rc == 0) {
			FUZZ_ASSERT(l.kind == INCREASE_NONE ||
				    (isfinite(l.value) && l.value >= 0.0));
			FUZZ_ASSERT(l.kind != INCREASE_RATIO || l.value > 0.0);
			(void)metricdef_increase_exceeded(&l, take_double(data, size, 1),
							  take_double(data, size, 9), &defined,
							  &inc);
		} else {
			FUZZ_ASSERT(err.code == ERR_CONFIG && err.msg[0] != '\0');
		}
		break;
	}
	case 3: {
		char **h = NULL;
		size_t i;
		rc = config_parse_headers(&h, s, &err);
		if (rc == 0) {
			for (i = 0; h != NULL && h[i] != NULL; i++) {
				const char *c;
				/* a header line that could split the request or start another header */
				for (c = h[i]; *c != '\0'; c++) {
					FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
				}
				FUZZ_ASSERT(strstr(h[i], ": ") != NULL && h[i][0] != ':');
			}
			strv_free(h);
		} else {
			FUZZ_ASSERT(err.code == ERR_CONFIG && h == NULL);
		}
		break;
	}
	default: {
		int64_t t = 0;
		rc = config_parse_time(&t, s, &err);
		FUZZ_ASSERT(rc == 0 || err.code == ERR_CONFIG);
		break;
	}
	}
	log_secrets_dispose();
	free(s);
	return 0;
}
