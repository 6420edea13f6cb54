/* SPDX-License-Identifier: MIT */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700
#include "retry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool
transient(const struct retry_input *in)
{
	switch (in->transport) {
	case TRANSPORT_DNS:
	case TRANSPORT_CONNECT:
		return true;
	case TRANSPORT_TIMEOUT:
	case TRANSPORT_RESET:
		return in->idempotent;
	case TRANSPORT_OK:
		switch (in->status) {
		case 429:
		case 503:
			return in->idempotent || in->retry_after_ms >= 0;
		case 502:
		case 504:
			return in->idempotent;
		default:
			return false;
		}
	case TRANSPORT_TLS:
	case TRANSPORT_TOO_BIG:
	case TRANSPORT_OTHER:
	default:
		return false;
	}
}

enum retry_verdict
retry_decide(const struct retry_policy *p, const struct retry_input *in, int64_t *delay_ms_out)
{
	int64_t delay;
	int i;

	*delay_ms_out = 0;
	if (!transient(in)) {
		return RETRY_NO;
	}
	if (in->retries_done >= p->max_retries) {
		return RETRY_EXHAUSTED;
	}
	delay = p->base_delay_ms;
	for (i = 0; i < in->retries_done && delay < p->max_delay_ms; i++) {
		delay *= 2;
	}
	if (delay > p->max_delay_ms) {
		delay = p->max_delay_ms;
	}
	/* jitter: a value in [delay/2, delay] so that parallel clients spread out */
	delay = delay / 2 + (int64_t)(in->jitter % (uint32_t)(delay / 2 + 1));
	if (in->retry_after_ms >= 0) {
		if (in->retry_after_ms > p->max_retry_after_ms) {
			/* the server asks for longer than we may wait: do not pretend to honour it */
			return RETRY_EXHAUSTED;
		}
		if (in->retry_after_ms > delay) {
			delay = in->retry_after_ms;
		}
	}
	*delay_ms_out = delay;
	return RETRY_YES;
}

int64_t
retry_after_parse(const char *value, int64_t now_epoch_s)
{
	const char *p = value;
	struct tm tm;
	char *end;

	if (value == NULL) {
		return -1;
	}
	while (*p == ' ') {
		p++;
	}
	if (isdigit((unsigned char)*p)) {
		long long s = strtoll(p, &end, 10);
		while (*end == ' ' || *end == '\r' || *end == '\n') {
			end++;
		}
		if (*end != '\0' || s < 0 || s > 86400) {
			return -1;
		}
		return (int64_t)s * 1000;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(p, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL) {
		return -1;
	}
	{
		time_t when = timegm(&tm);
		int64_t delta = (int64_t)when - now_epoch_s;
		return delta < 0 ? 0 : delta * 1000;
	}
}
