/* SPDX-License-Identifier: MIT */
/*
 * Input values: the pure parsers behind every action input (config.h). The first byte picks the
 * parser, the rest is the value as the runner would pass it. Each accepted value must satisfy
 * what the rest of the gate relies on. Every value is also taken as a URL input (http_url_secrets).
 */
#include <math.h>

#include "config.h"
#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "util.h"

static void
fuzz_duration(const char *s)
{
	struct error err = ERROR_INIT;
	int64_t ms = -1;
	char text[64];

	if (config_parse_duration(&ms, s, &err) == 0) {
		FUZZ_ASSERT(ms >= 0 && ms <= 86400000);
		duration_format(text, sizeof(text), ms);
		FUZZ_ASSERT(text[0] != '\0');
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG && err.msg[0] != '\0');
	}
}

static void
fuzz_bool(const char *s)
{
	struct error err = ERROR_INIT;
	bool b;

	if (config_parse_bool(&b, s, &err) == 0) {
		FUZZ_ASSERT(str_ieq(s, b ? "true" : "false"));
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG);
	}
}

static void
fuzz_fraction(const char *s)
{
	struct error err = ERROR_INIT;
	double v = -1.0;

	if (config_parse_fraction(&v, s, &err) == 0) {
		FUZZ_ASSERT(isfinite(v) && v >= 0.0 && v <= 1.0);
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG);
	}
}

static void
fuzz_status_set(const char *s)
{
	struct error err = ERROR_INIT;
	struct status_set set;
	size_t i;

	if (config_parse_status_set(&set, s, &err) == 0) {
		FUZZ_ASSERT(set.n <= sizeof(set.codes) / sizeof(set.codes[0]));
		for (i = 0; i < set.n; i++) {
			FUZZ_ASSERT((set.codes[i] >= 1 && set.codes[i] <= 5) ||
				    (set.codes[i] >= 100 && set.codes[i] <= 599));
		}
		(void)status_set_matches(&set, 200);
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG);
	}
}

static void
fuzz_token_path(const char *s)
{
	struct error err = ERROR_INIT;
	char **segments = NULL;
	size_t i;

	if (config_parse_token_path(&segments, s, &err) == 0) {
		FUZZ_ASSERT(segments != NULL && segments[0] != NULL);
		for (i = 0; segments[i] != NULL; i++) {
			FUZZ_ASSERT(segments[i][0] != '\0' && strchr(segments[i], '.') == NULL);
		}
		strv_free(segments);
	} else {
		FUZZ_ASSERT(err.code == ERR_CONFIG && segments == NULL);
	}
}

static void
fuzz_list(const char *s)
{
	struct error err = ERROR_INIT;
	char **items = NULL;
	size_t i;

	FUZZ_ASSERT(config_parse_list(&items, s, &err) == 0);
	for (i = 0; items != NULL && items[i] != NULL; i++) {
		FUZZ_ASSERT(items[i][0] != '\0' && strpbrk(items[i], ",\n") == NULL);
	}
	strv_free(items);
}

/* the credential parts of a URL input (masked at start): whatever the value, no crash, no empty part */
static void
fuzz_url_secrets(const char *s)
{
	char **parts = http_url_secrets(s, true, 6);
	size_t i;

	for (i = 0; parts != NULL && parts[i] != NULL; i++) {
		FUZZ_ASSERT(parts[i][0] != '\0');
	}
	strv_free(parts);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	s = fuzz_strndup(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		fuzz_duration(s);
		break;
	case 1:
		fuzz_bool(s);
		break;
	case 2:
		fuzz_fraction(s);
		break;
	case 3:
		fuzz_status_set(s);
		break;
	case 4:
		fuzz_token_path(s);
		break;
	default:
		fuzz_list(s);
		break;
	}
	fuzz_url_secrets(s);
	free(s);
	return 0;
}
