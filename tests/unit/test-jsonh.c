/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "buf.h"
#include "config.h"
#include "jsonh.h"
#include "tap.h"
#include "util.h"

static void
test_jsonh__parse(void)
{
	struct json_object *o = NULL;
	struct error err = ERROR_INIT;
	struct buf deep = BUF_INIT;
	int i;

	ok(jsonh_parse(&o, "{\"a\":1}\n", 8, &err) == 0 && o != NULL, "object with trailing newline");
	json_object_put(o);
	ok(jsonh_parse(&o, "{\"a\":1} x", 9, &err) < 0, "trailing garbage refused");
	ok(jsonh_parse(&o, "{\"a\":", 5, &err) < 0, "truncated refused");
	ok(jsonh_parse(&o, "[1,]", 4, &err) < 0, "trailing comma refused (strict)");
	ok(jsonh_parse(&o, "{\"a\":\"\xff\"}", 9, &err) < 0, "invalid UTF-8 refused");
	ok(jsonh_parse(&o, "null", 4, &err) < 0, "null document refused");
	for (i = 0; i < 100000; i++) {
		buf_putc(&deep, '[');
	}
	ok(jsonh_parse(&o, deep.data, deep.len, &err) < 0, "deep nesting refused without crashing: %s", err.msg);
	buf_dispose(&deep);
}

static void
test_jsonh__path(void)
{
	struct json_object *o = NULL;
	struct error err = ERROR_INIT;
	char **p = NULL;
	const char *doc = "{\"data\":{\"token\":\"t1\",\"list\":[{\"v\":\"x\"}]},\"n\":5}";

	ok(jsonh_parse(&o, doc, strlen(doc), &err) == 0, "parse");
	(void)config_parse_token_path(&p, "data.token", &err);
	is_str(json_object_get_string(jsonh_path(o, p)), "t1", "dotted path");
	strv_free(p);
	(void)config_parse_token_path(&p, "data.list.0.v", &err);
	is_str(json_object_get_string(jsonh_path(o, p)), "x", "array index segment");
	strv_free(p);
	(void)config_parse_token_path(&p, "data.list.7.v", &err);
	ok(jsonh_path(o, p) == NULL, "index out of range");
	strv_free(p);
	(void)config_parse_token_path(&p, "n.x", &err);
	ok(jsonh_path(o, p) == NULL, "through a number");
	strv_free(p);
	ok(jsonh_get_string_or(o, "n", NULL) == NULL, "a number is not a string");
	json_object_put(o);
}

static void
test_jsonh__serialise_invalid_utf8(void)
{
	struct json_object *o = json_object_new_object();
	struct json_object *back = NULL;
	struct error err = ERROR_INIT;
	const char *text;

	/* a proxy's Latin-1 page cut mid-character, as a Kubernetes error detail might carry it */
	jsonh_add_string(o, "detail", "caf\xe9 \xe2\x82 ok \xc3\xa9");
	text = jsonh_to_string(o, false);
	is_str(text, "{\"detail\":\"caf? ?? ok \xc3\xa9\"}", "invalid bytes become '?', valid UTF-8 stays");
	ok(jsonh_parse(&back, text, strlen(text), &err) == 0, "the document parses under strict UTF-8 rules");
	json_object_put(back);
	json_object_put(o);
}

int
main(void)
{
	test_jsonh__serialise_invalid_utf8();
	test_jsonh__parse();
	test_jsonh__path();
	return tap_done();
}
