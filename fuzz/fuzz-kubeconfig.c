/* SPDX-License-Identifier: MIT */
/*
 * Kubeconfig documents (kubeconfig_parse, libyaml) and the base64 form of the input. Byte 0
 * picks the form; the rest is the text. Every credential read must already be registered with
 * log_mask() when the parser returns (kubeconfig.h promises "the moment it is read"), and a
 * context that names only what the document holds resolves without touching the disk.
 */
#include "fuzz.h"
#include "kubeconfig.h"
#include "log.h"
#include "util.h"

/*
 * true when printing s shows none of it: the scrubbed text is stars only. log_has_secret(s)
 * would say less: it is true as soon as any registered secret is a piece of s, so a token
 * that merely contains another user's password would pass unmasked.
 */
static int
masked(const char *s)
{
	char *clean = log_scrub(s);
	int ok = clean[strspn(clean, "*")] == '\0';

	free(clean);
	return ok;
}

static void
check_masked(const struct kubeconfig *kc)
{
	size_t i;

	for (i = 0; i < kc->n_users; i++) {
		const struct kubeconfig_user *u = &kc->users[i];
		FUZZ_ASSERT(u->token == NULL || u->token[0] == '\0' || masked(u->token));
		FUZZ_ASSERT(u->password == NULL || u->password[0] == '\0' || masked(u->password));
		if (u->key_data != NULL) {
			/* the key's lines, as kubeconfig.c masks a PEM (the shared BEGIN/END lines excepted) */
			const char *p = u->key_data, *end = u->key_data + u->key_len;
			while (p < end) {
				const char *nl = p;
				while (nl < end && *nl != '\n' && *nl != '\r') {
					nl++;
				}
				if (nl - p >= 8 && strncmp(p, "-----", 5) != 0 && memchr(p, '\0', (size_t)(nl - p)) == NULL) {
					char *line = xstrndup(p, (size_t)(nl - p));
					FUZZ_ASSERT(masked(line));
					free(line);
				}
				p = nl + 1;
			}
		}
	}
}

/* true when resolving cannot read a file: no path anywhere in the document */
static int
self_contained(const struct kubeconfig *kc)
{
	size_t i;

	for (i = 0; i < kc->n_clusters; i++) {
		if (kc->clusters[i].ca_path != NULL) {
			return 0;
		}
	}
	for (i = 0; i < kc->n_users; i++) {
		const struct kubeconfig_user *u = &kc->users[i];
		if (u->token_path != NULL || u->cert_path != NULL || u->key_path != NULL) {
			return 0;
		}
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig kc = KUBECONFIG_INIT;
	struct error err = ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (size < 1 || size > 256 * 1024) {
		return 0;
	}
	log_init(false, false);
	if (data[0] & 1) {
		/* the input as the action gets it: base64 when it looks like base64 */
		if (!kubeconfig_is_base64((const char *)data + 1, size - 1) ||
		    kubeconfig_base64_decode(&text, &len, (const char *)data + 1, size - 1) < 0) {
			return 0;
		}
		FUZZ_ASSERT(len <= (size - 1) / 4 * 3 + 3);
	} else {
		text = fuzz_strndup(data + 1, size - 1);
		len = size - 1;
	}
	rc = kubeconfig_parse(&kc, text, len, (data[0] & 2) ? "/nonexistent" : NULL, &err);
	if (rc < 0) {
		FUZZ_ASSERT(err.code == ERR_CONFIG && err.msg[0] != '\0');
	}
	check_masked(&kc);
	if (rc == 0 && self_contained(&kc)) {
		struct kube_target target;
		struct error rerr = ERROR_INIT;
		memset(&target, 0, sizeof(target));
		if (kubeconfig_resolve(&target, &kc, NULL, (data[0] & 4) ? "ns" : NULL, &rerr) == 0) {
			FUZZ_ASSERT(target.server != NULL && target.namespace != NULL);
			FUZZ_ASSERT(target.token == NULL || masked(target.token));
		} else {
			FUZZ_ASSERT(rerr.code == ERR_CONFIG);
		}
		kube_target_dispose(&target);
	}
	kubeconfig_dispose(&kc);
	secret_free(text);
	log_secrets_dispose();
	return 0;
}
