/* SPDX-License-Identifier: MIT */
#ifndef SRC_ERROR_H
#define SRC_ERROR_H

#include "attr.h"

enum error_code {
	ERR_OK = 0,
	ERR_GENERIC = -1,
	ERR_CONFIG = -2,
	ERR_NETWORK = -3,
	ERR_TIMEOUT = -4,
	ERR_HTTP = -5,
	ERR_AUTH = -6,
	ERR_NOT_FOUND = -7,
	ERR_CONFLICT = -8,
	ERR_PARSE = -9,
	ERR_TOO_BIG = -10,
	ERR_TLS = -11,
	ERR_CANCELLED = -12,
	ERR_IO = -13,
};

struct error {
	enum error_code code;
	long http_status;
	char msg[512];
};

#define ERROR_INIT { ERR_OK, 0, { 0 } }

/* sets the error and returns code, so callers can write `return error_set(...)` */
int error_set(struct error *err, enum error_code code, const char *fmt, ...) ATTR_PRINTF(3, 4);
/* prepends context to an existing message, keeping the code */
void error_prefix(struct error *err, const char *fmt, ...) ATTR_PRINTF(2, 3);
void error_clear(struct error *err);
const char *error_code_name(enum error_code code);

#endif
