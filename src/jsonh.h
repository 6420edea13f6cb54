/* SPDX-License-Identifier: MIT */
#ifndef SRC_JSONH_H
#define SRC_JSONH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

#define JSONH_MAX_DEPTH 64

/*
 * Parses len bytes (strict, UTF-8 validated, depth-limited, trailing whitespace allowed).
 * On success *out is a new reference the caller puts; returns 0 or ERR_PARSE.
 */
int jsonh_parse(struct json_object **out, const char *data, size_t len, struct error *err);

/* follows a dotted path given as segments (numeric segments index arrays); borrowed or NULL */
struct json_object *jsonh_path(struct json_object *obj, char *const *segments);
/* borrowed member of an object, NULL when obj is not an object or the key is absent */
struct json_object *jsonh_member(struct json_object *obj, const char *key);
/* borrowed string member when it is a JSON string, else dflt */
const char *jsonh_get_string_or(struct json_object *obj, const char *key, const char *dflt);
/* integer member (JSON int, or a string of digits when allow_string); false if absent or wrong type */
bool jsonh_get_int(int64_t *out, struct json_object *obj, const char *key);
/* number member (int or double) */
bool jsonh_get_double(double *out, struct json_object *obj, const char *key);

/* adds key = a new string (skips NULL values); aborts on failure like xmalloc */
void jsonh_add_string(struct json_object *obj, const char *key, const char *value);
void jsonh_add_int(struct json_object *obj, const char *key, int64_t value);
void jsonh_add_double(struct json_object *obj, const char *key, double value);
void jsonh_add_bool(struct json_object *obj, const char *key, bool value);
/* takes ownership of value */
void jsonh_add(struct json_object *obj, const char *key, struct json_object *value);
void jsonh_append(struct json_object *array, struct json_object *value);
/* serialises plainly; the string belongs to obj */
const char *jsonh_to_string(struct json_object *obj, bool pretty);

#endif
