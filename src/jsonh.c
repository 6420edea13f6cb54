/* SPDX-License-Identifier: MIT */
#include "jsonh.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int
jsonh_parse(struct json_object **out, const char *data, size_t len, struct error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t used, i;

	*out = NULL;
	if (len > (size_t)INT_MAX / 2) {
		return error_set(err, ERR_PARSE, "invalid JSON: document too large");
	}
	/*
	 * json-c 0.16's JSON_TOKENER_VALIDATE_UTF8 lets overlong forms through (C0 9B): such bytes
	 * would make the report, the issue and the Slack payload invalid, so check strictly first
	 */
	for (i = 0; i < len; i++) {
		size_t n;
		if ((unsigned char)data[i] < 0x80) {
			continue;
		}
		n = utf8_char_len((const unsigned char *)data + i, len - i);
		if (n == 0) {
			return error_set(err, ERR_PARSE, "invalid JSON: invalid UTF-8 at byte %zu", i);
		}
		i += n - 1;
	}
	tok = json_tokener_new_ex(JSONH_MAX_DEPTH);
	if (tok == NULL) {
		return error_set(err, ERR_PARSE, "invalid JSON: out of memory");
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, data, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* a bare number or literal ("3", "true") waits for a delimiter: a NUL ends it, as json_tokener_parse() does */
		obj = json_tokener_parse_ex(tok, "", 1);
		if (json_tokener_get_error(tok) == json_tokener_success) {
			jerr = json_tokener_success;
		}
		used = len;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(obj);
		return error_set(err, ERR_PARSE, "invalid JSON: unexpected end of document");
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return error_set(err, ERR_PARSE, "invalid JSON: %s", json_tokener_error_desc(jerr));
	}
	for (i = used; i < len; i++) {
		if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t') {
			json_object_put(obj);
			return error_set(err, ERR_PARSE, "invalid JSON: trailing data after the document");
		}
	}
	if (obj == NULL) {
		/* a bare "null" */
		return error_set(err, ERR_PARSE, "invalid JSON: null document");
	}
	*out = obj;
	return 0;
}

struct json_object *
jsonh_member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		return NULL;
	}
	if (!json_object_object_get_ex(obj, key, &v)) {
		return NULL;
	}
	return v;
}

struct json_object *
jsonh_path(struct json_object *obj, char *const *segments)
{
	size_t i;

	for (i = 0; obj != NULL && segments != NULL && segments[i] != NULL; i++) {
		const char *seg = segments[i];
		if (json_object_is_type(obj, json_type_array)) {
			char *end;
			long idx;
			errno = 0;
			idx = strtol(seg, &end, 10);
			if (errno != 0 || *end != '\0' || end == seg || idx < 0 ||
			    (size_t)idx >= json_object_array_length(obj)) {
				return NULL;
			}
			obj = json_object_array_get_idx(obj, (size_t)idx);
		} else {
			obj = jsonh_member(obj, seg);
		}
	}
	return obj;
}

const char *
jsonh_get_string_or(struct json_object *obj, const char *key, const char *dflt)
{
	struct json_object *v = jsonh_member(obj, key);
	if (v == NULL || !json_object_is_type(v, json_type_string)) {
		return dflt;
	}
	return json_object_get_string(v);
}

bool
jsonh_get_int(int64_t *out, struct json_object *obj, const char *key)
{
	struct json_object *v = jsonh_member(obj, key);
	if (v == NULL || !json_object_is_type(v, json_type_int)) {
		return false;
	}
	*out = json_object_get_int64(v);
	return true;
}

bool
jsonh_get_double(double *out, struct json_object *obj, const char *key)
{
	struct json_object *v = jsonh_member(obj, key);
	if (v == NULL || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))) {
		return false;
	}
	*out = json_object_get_double(v);
	return true;
}

static _Noreturn void
die_json(void)
{
	abort();
}

void
jsonh_add(struct json_object *obj, const char *key, struct json_object *value)
{
	if (json_object_object_add(obj, key, value) != 0) {
		die_json();
	}
}

void
jsonh_add_string(struct json_object *obj, const char *key, const char *value)
{
	if (value == NULL) {
		return;
	}
	jsonh_add(obj, key, json_object_new_string(value));
}

void
jsonh_add_int(struct json_object *obj, const char *key, int64_t value)
{
	jsonh_add(obj, key, json_object_new_int64(value));
}

void
jsonh_add_double(struct json_object *obj, const char *key, double value)
{
	jsonh_add(obj, key, json_object_new_double(value));
}

void
jsonh_add_bool(struct json_object *obj, const char *key, bool value)
{
	jsonh_add(obj, key, json_object_new_boolean(value ? 1 : 0));
}

void
jsonh_append(struct json_object *array, struct json_object *value)
{
	if (json_object_array_add(array, value) != 0) {
		die_json();
	}
}

const char *
jsonh_to_string(struct json_object *obj, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
							    : JSON_C_TO_STRING_PLAIN);
	const char *text = json_object_to_json_string_ext(obj, flags);

	/*
	 * json-c writes string bytes >= 0x80 as they are, valid or not; outside text (a proxy's HTML,
	 * a cut error message) must not make the report, the issue or the Slack payload invalid JSON.
	 * Those bytes only occur inside strings, so '?' in their place keeps the document well formed.
	 * The buffer is json-c's own print buffer, owned by obj.
	 */
	if (text != NULL) {
		utf8_sanitize((char *)text, strlen(text));
	}
	return text;
}
