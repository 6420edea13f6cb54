/* SPDX-License-Identifier: MIT */
/*
 * What a Kubernetes API server streams and answers on failure: the watch stream (one JSON event
 * per line, split across arbitrary chunks; watch_on_data/watch_event) and Status bodies
 * (status_message). Both are static in k8s.c, so this target compiles k8s.c into itself; the
 * library's copy is then never linked. Input: byte 0 seeds the chunk sizes, the rest is the
 * stream (also read once as a Status body).
 */
#include "clients/k8s.c"

#include "fuzz.h"

static int
on_object(struct json_object *deployment, void *user)
{
	size_t *calls = user;

	(*calls)++;
	/* stop like rollout_fn does, once the object says the rollout is over */
	return jsonh_member(deployment, "status") != NULL && *calls % 3 == 0;
}

static void
check_status(const char *body, size_t len)
{
	const char *reason = NULL;
	char *msg = status_message(body, len, &reason);
	const char *c;

	FUZZ_ASSERT(msg != NULL && strlen(msg) <= 310);
	for (c = msg; *c != '\0'; c++) {
		FUZZ_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	FUZZ_ASSERT(reason == NULL || (reason[0] >= 'A' && reason[0] <= 'Z'));
	free(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct watch_state s;
	struct http_request req;
	size_t calls = 0, off = 1;
	unsigned seed;
	int stopped = 0;

	if (size < 1) {
		return 0;
	}
	log_init(false, false);
	check_status((const char *)data + 1, size - 1);

	memset(&s, 0, sizeof(s));
	memset(&req, 0, sizeof(req));
	s.name = "atom";
	s.fn = on_object;
	s.user = &calls;
	req.user = &s;
	seed = data[0];
	while (off < size && !stopped) {
		/* chunk sizes 1..64 from a small LCG: events split anywhere, even inside UTF-8 */
		size_t n;
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 16) % 64;
		if (n > size - off) {
			n = size - off;
		}
		stopped = watch_on_data(&req, (const char *)data + off, n);
		off += n;
	}
	if (s.failed) {
		FUZZ_ASSERT(stopped && s.ev_err.msg[0] != '\0' && strchr(s.ev_err.msg, '\n') == NULL);
	}
	FUZZ_ASSERT(s.rv == NULL || s.rv[0] != '\0');
	FUZZ_ASSERT(s.raw.len <= K8S_RAW_KEEP);
	FUZZ_ASSERT(calls <= s.events);
	free(s.rv);
	buf_dispose(&s.line);
	buf_dispose(&s.raw);
	return 0;
}
