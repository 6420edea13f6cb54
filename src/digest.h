/* SPDX-License-Identifier: MIT */
#ifndef SRC_DIGEST_H
#define SRC_DIGEST_H

#include <stddef.h>

/*
 * SHA-256 and HMAC-SHA256 from libcrypto (OpenSSL 3, already in the image through libcurl). The
 * only file including <openssl/...>. Inputs are byte ranges; outputs are raw or lower-case hex.
 */

#define DIGEST_SHA256_LEN 32
#define DIGEST_SHA256_HEX (2 * DIGEST_SHA256_LEN)

/* hashes n parts in order, as one message; out gets 32 bytes */
void digest_sha256_parts(unsigned char out[DIGEST_SHA256_LEN], const void *const *parts, const size_t *lens,
			 size_t n);
/* HMAC-SHA256 of data under key, as 64 lower-case hex digits and a NUL */
void digest_hmac_sha256_hex(char out[DIGEST_SHA256_HEX + 1], const void *key, size_t key_len, const void *data,
			    size_t data_len);
/* writes 2*n lower-case hex digits and a NUL */
void digest_hex(char *out, const unsigned char *bytes, size_t n);

#endif
