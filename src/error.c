/* SPDX-License-Identifier: MIT */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

/*
 * Messages quote outside text (a server's message, a file name): the whole message is scrubbed
 * of secrets before it is cut to fit, and cut between characters, never inside one, so a cut can
 * leave neither the start of a secret nor half a character behind
 */
static void
set_message(struct error *err, char *text)
{
	char *clean = log_scrub(text);
	size_t len = strlen(clean);

	if (len > sizeof(err->msg) - 1) {
		len = utf8_floor(clean, sizeof(err->msg) - 1);
	}
	memcpy(err->msg, clean, len);
	err->msg[len] = '\0';
	secret_free(clean);
	secret_free(text);
}

int
error_set(struct error *err, enum error_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL) {
		return code;
	}
	err->code = code;
	va_start(ap, fmt);
	set_message(err, xvasprintf(fmt, ap));
	va_end(ap);
	return code;
}

void
error_prefix(struct error *err, const char *fmt, ...)
{
	char *prefix;
	va_list ap;

	if (err == NULL) {
		return;
	}
	va_start(ap, fmt);
	prefix = xvasprintf(fmt, ap);
	va_end(ap);
	set_message(err, xasprintf("%s%s", prefix, err->msg));
	free(prefix);
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
