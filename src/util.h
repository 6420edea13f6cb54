/* SPDX-License-Identifier: MIT */
#ifndef SRC_UTIL_H
#define SRC_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attr.h"

/* allocation never fails: out of memory is fatal (as bubblewrap's die_oom) */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* the va_list form of xasprintf (ap is consumed) */
char *xvasprintf(const char *fmt, va_list ap) ATTR_PRINTF(1, 0);
/* wipes and frees a secret string; accepts NULL */
void secret_free(char *s);
void secret_wipe(void *p, size_t n);

/* monotonic milliseconds */
int64_t clock_ms(void);
/* wall clock, milliseconds since the epoch */
int64_t wall_ms(void);
/* formats an epoch-ms time as RFC 3339 UTC into out (>= 32 bytes) */
void time_format_utc(char *out, size_t size, int64_t epoch_ms);
/* formats a duration for people: 250ms, 10s, 2m30s */
void duration_format(char *out, size_t size, int64_t ms);

/* fills buf with random bytes (getrandom, falling back to /dev/urandom) */
void random_fill(void *buf, size_t n);
uint32_t random_u32(void);
/* writes 2*n hex digits and a NUL into out */
void random_hex(char *out, size_t n);

/*
 * Length of the multi-byte UTF-8 character at p (p[0] >= 0x80, at most left bytes), or 0 when
 * it is not one: overlong forms, surrogates and values past U+10FFFF are not UTF-8.
 */
size_t utf8_char_len(const unsigned char *p, size_t left);
/* the largest length <= max (max <= strlen(s)) that does not split a UTF-8 sequence of s */
size_t utf8_floor(const char *s, size_t max);
/* replaces every byte that is not part of valid UTF-8 with '?', in place (length unchanged) */
void utf8_sanitize(char *s, size_t len);
/* standard base64 with padding (RFC 4648 section 4); caller frees */
char *base64_encode(const void *data, size_t len);
/*
 * true when s can be sent as (part of) an HTTP header value: no control character (CR, LF, NUL's
 * neighbours, DEL), which would end the header and let the value add headers of its own
 */
bool header_value_ok(const char *s);
/*
 * A URL as logs and reports show it: "https://host/path", without a query or fragment (a query
 * may carry a key, as a Prometheus tenant's does); caller frees.
 */
char *url_for_log(const char *url);
bool str_has_prefix(const char *s, const char *prefix);
bool str_ieq(const char *a, const char *b);
/* returns a trimmed copy */
char *str_trim_dup(const char *s);
/* NULL-terminated string vectors */
size_t strv_len(char *const *v);
void strv_push(char ***v, char *s);
void strv_free(char **v);
bool strv_contains(char *const *v, const char *s);

/* cancellation: a self-pipe written by the SIGTERM/SIGINT handler */
int cancel_init(void);
int cancel_fd(void);
bool cancel_requested(void);
/* the latest signal's number (SIGTERM, SIGINT); 0 when none came */
int cancel_signal(void);
/* the signal that cancelled the job, even after a second one */
int cancel_first_signal(void);
/*
 * A grace phase after a cancel: cancel_requested() and the self-pipe stay quiet until another
 * signal arrives, so that work the owners must hear of can still be sent; a second signal stops
 * it at once. cancel_grace_end() makes the first signal count again. No-op without a cancel.
 */
void cancel_grace_begin(void);
void cancel_grace_end(void);
/* sleeps up to ms, returns -1 at once when cancelled, 0 otherwise */
int cancel_sleep_ms(int64_t ms);

/* reads a whole file; NULL on error (errno set) */
char *file_read(const char *path, size_t max, size_t *len_out);

#endif
