/* SPDX-License-Identifier: MIT */
#ifndef SRC_BUF_H
#define SRC_BUF_H

#include <stddef.h>

#include "attr.h"

/* a growable, always NUL-terminated byte buffer; a zeroed struct is empty and valid */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_append(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* returns the content (never NULL) and empties the buffer; the caller frees */
char *buf_steal(struct buf *b);
const char *buf_str(const struct buf *b);
void buf_reset(struct buf *b);
void buf_dispose(struct buf *b);

#endif
