/* SPDX-License-Identifier: MIT */
/*
 * jsonh_parse, the one JSON entry point for every reply: strict, UTF-8 validated and depth
 * limited. An accepted document must serialise and parse again (the report and the issue are
 * built from such values), and jsonh_path must follow any dotted path without reading out of
 * bounds.
 */
#include "config.h"
#include "fuzz.h"
#include "jsonh.h"
#include "log.h"
#include "util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = ERROR_INIT;
	struct json_object *doc = NULL, *again = NULL;
	char **segments = NULL;
	char *path;
	const uint8_t *body;
	size_t body_len;
	const char *text;

	log_init(false, false);
	/* first line: a token-path style selector; the rest: the document */
	body = fuzz_split_line(&path, data, size, &body_len);
	if (jsonh_parse(&doc, (const char *)body, body_len, &err) < 0) {
		FUZZ_ASSERT(doc == NULL && err.code == ERR_PARSE);
		goto out;
	}
	FUZZ_ASSERT(doc != NULL);
	text = jsonh_to_string(doc, false);
	FUZZ_ASSERT(text != NULL && fuzz_utf8_valid(text));
	FUZZ_ASSERT(jsonh_parse(&again, text, strlen(text), &err) == 0);
	if (config_parse_token_path(&segments, path, &err) == 0) {
		struct json_object *v = jsonh_path(doc, segments);
		int64_t i;
		double d;
		(void)jsonh_get_string_or(v, "status", NULL);
		(void)jsonh_get_int(&i, v, "code");
		(void)jsonh_get_double(&d, v, "value");
		strv_free(segments);
	}
out:
	json_object_put(again);
	json_object_put(doc);
	free(path);
	return 0;
}
