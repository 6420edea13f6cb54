/* SPDX-License-Identifier: MIT */
/*
 * Prometheus /api/v1/query replies (prom_response_parse). Input: two bytes of HTTP status, then
 * the body. A result has samples only on success; everything quoted from the reply stays one
 * bounded line.
 */
#include <math.h>

#include "clients/prom.h"
#include "fuzz.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prom_result res;
	struct error err = ERROR_INIT;
	long status;
	size_t i, worst;
	int rc;

	if (size < 2) {
		return 0;
	}
	log_init(false, false);
	/* mostly 200, sometimes anything from 100 to 599 */
	status = data[0] < 160 ? 200 : 100 + (long)((data[0] << 8 | data[1]) % 500);
	rc = prom_response_parse(&res, status, (const char *)data + 2, size - 2, &err);
	if (rc == 0) {
		FUZZ_ASSERT(res.type == PROM_VECTOR || res.type == PROM_SCALAR);
		FUZZ_ASSERT(res.type != PROM_SCALAR || res.n == 1);
		for (i = 0; i < res.n; i++) {
			FUZZ_ASSERT(res.samples[i].labels != NULL && res.samples[i].value_text != NULL);
			FUZZ_ASSERT(strchr(res.samples[i].labels, '\n') == NULL);
		}
		if (prom_result_worst(&worst, &res)) {
			FUZZ_ASSERT(worst < res.n && !isnan(res.samples[worst].value));
		}
	} else {
		FUZZ_ASSERT(res.n == 0 && err.msg[0] != '\0');
		FUZZ_ASSERT(strchr(err.msg, '\n') == NULL);
	}
	for (i = 0; res.warnings != NULL && res.warnings[i] != NULL; i++) {
		FUZZ_ASSERT(strchr(res.warnings[i], '\n') == NULL);
	}
	prom_result_dispose(&res);
	return 0;
}
