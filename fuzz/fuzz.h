/* SPDX-License-Identifier: MIT */
/* helpers shared by the fuzz targets: each target is one fuzz-<parser>.c with LLVMFuzzerTestOneInput */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant the code under test promises; a violation is a finding like a crash, so it
 * aborts (libFuzzer then saves the input as crash-<sha1>).
 */
#define FUZZ_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			(void)fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
				      #cond);                                                      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* a NUL-terminated copy of size bytes (an embedded NUL ends the string early); caller frees */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL) {
		abort();
	}
	if (size > 0) {
		memcpy(s, data, size);
	}
	s[size] = '\0';
	return s;
}

/* splits the input at its first newline: *head gets a copy of the first line, the rest is returned */
static inline const uint8_t *
fuzz_split_line(char **head, const uint8_t *data, size_t size, size_t *rest_size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl != NULL ? (size_t)(nl - data) : size;

	*head = fuzz_strndup(data, n);
	if (nl == NULL) {
		*rest_size = 0;
		return data + size;
	}
	*rest_size = size - n - 1;
	return nl + 1;
}

/* true when s is valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF) */
static inline int
fuzz_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		unsigned c = *p;
		size_t n, i;
		unsigned cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				return 0;
			}
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return 0;
		}
		p += n + 1;
	}
	return 1;
}

#endif
