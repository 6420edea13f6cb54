/* SPDX-License-Identifier: MIT */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* a digest that cannot be computed is a broken installation, like running out of memory */
static _Noreturn void
die_crypto(const char *what)
{
	(void)fprintf(stderr, "atom-safety: libcrypto %s failed\n", what);
	abort();
}

void
digest_sha256_parts(unsigned char out[DIGEST_SHA256_LEN], const void *const *parts, const size_t *lens, size_t n)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	size_t i;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		die_crypto("SHA-256 init");
	}
	for (i = 0; i < n; i++) {
		if (EVP_DigestUpdate(ctx, parts[i], lens[i]) != 1) {
			die_crypto("SHA-256 update");
		}
	}
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != DIGEST_SHA256_LEN) {
		die_crypto("SHA-256 final");
	}
	EVP_MD_CTX_free(ctx);
}

void
digest_hmac_sha256_hex(char out[DIGEST_SHA256_HEX + 1], const void *key, size_t key_len, const void *data,
		       size_t data_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const unsigned char empty[1] = { 0 };

	/* HMAC() takes an int key length; a webhook secret is far shorter */
	if (key_len > 65536 ||
	    HMAC(EVP_sha256(), key_len > 0 ? key : empty, (int)key_len, data_len > 0 ? data : empty, data_len, mac,
		 &len) == NULL ||
	    len != DIGEST_SHA256_LEN) {
		die_crypto("HMAC-SHA256");
	}
	digest_hex(out, mac, DIGEST_SHA256_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
}

void
digest_hex(char *out, const unsigned char *bytes, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[bytes[i] >> 4];
		out[2 * i + 1] = hex[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}
