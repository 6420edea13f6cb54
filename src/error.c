/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
error_set(struct error *err, enum error_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL) {
		return code;
	}
	err->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
error_prefix(struct error *err, const char *fmt, ...)
{
	char prefix[256];
	size_t plen, olen;
	va_list ap;

	if (err == NULL) {
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	olen = strnlen(err->msg, sizeof(err->msg) - 1);
	if (plen + olen > sizeof(err->msg) - 1) {
		olen = sizeof(err->msg) - 1 - plen;
	}
	memmove(err->msg + plen, err->msg, olen);
	memcpy(err->msg, prefix, plen);
	err->msg[plen + olen] = '\0';
}

void
error_clear(struct error *err)
{
	if (err != NULL) {
		memset(err, 0, sizeof(*err));
	}
}

const char *
error_code_name(enum error_code code)
{
	switch (code) {
	case ERR_OK:
		return "ok";
	case ERR_GENERIC:
		return "error";
	case ERR_CONFIG:
		return "config";
	case ERR_NETWORK:
		return "network";
	case ERR_TIMEOUT:
		return "timeout";
	case ERR_HTTP:
		return "http";
	case ERR_AUTH:
		return "auth";
	case ERR_NOT_FOUND:
		return "not-found";
	case ERR_CONFLICT:
		return "conflict";
	case ERR_PARSE:
		return "parse";
	case ERR_TOO_BIG:
		return "too-big";
	case ERR_TLS:
		return "tls";
	case ERR_CANCELLED:
		return "cancelled";
	case ERR_IO:
		return "io";
	default:
		return "error";
	}
}
