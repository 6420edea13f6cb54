/* SPDX-License-Identifier: MIT */
/*
 * Outside text of issue 16's channels: PagerDuty's replies (pagerduty_reply_message), a
 * workload's labels and annotations (manager_detect and the command it suggests), and the event
 * built from hostile text (pagerduty_payload_new). Promises: one printable line of valid UTF-8;
 * the suggested command is one shell line; the event is valid JSON whatever the text.
 */
#include "clients/pagerduty.h"
#include "fuzz.h"
#include "jsonh.h"
#include "log.h"
#include "manager.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *doc = NULL, *check = NULL;
	struct manager_info m;
	struct pagerduty_event ev;
	char *msg, *text, *cmd, *who;
	size_t i;

	log_init(false, false);
	msg = pagerduty_reply_message((const char *)data, size);
	for (i = 0; msg[i] != '\0'; i++) {
		FUZZ_ASSERT((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f);
	}
	FUZZ_ASSERT(utf8_floor(msg, strlen(msg)) == strlen(msg));
	free(msg);

	if (jsonh_parse(&doc, (const char *)data, size, NULL) == 0) {
		manager_detect(&m, doc);
		cmd = manager_command(&m, "0123abc");
		who = manager_describe(&m);
		FUZZ_ASSERT(strchr(cmd, '\n') == NULL && strchr(cmd, '\r') == NULL);
		FUZZ_ASSERT(m.kind == MANAGER_NONE || manager_kind_name(m.kind) != NULL);
		free(cmd);
		free(who);
		manager_info_dispose(&m);
	}

	text = fuzz_strndup(data, size);
	memset(&ev, 0, sizeof(ev));
	ev.action = "trigger";
	ev.dedup_key = text;
	ev.summary = text;
	ev.source = text;
	ev.component = text;
	ev.custom_details = doc;
	ev.links[0].href = text;
	ev.links[0].text = text;
	msg = pagerduty_payload_new(&ev, "routingkey");
	FUZZ_ASSERT(jsonh_parse(&check, msg, strlen(msg), NULL) == 0);
	json_object_put(check);
	free(msg);
	free(text);
	json_object_put(doc);
	return 0;
}
