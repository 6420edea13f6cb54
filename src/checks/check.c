/* SPDX-License-Identifier: MIT */
#include "checks/check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "outside.h"
#include "util.h"

struct check_result *
check_list_add(struct check_list *list, const char *name, enum check_phase phase)
{
	struct check_result *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(name);
	r->phase = phase;
	r->status = CHECK_SKIP;
	list->items = xrealloc(list->items, (list->n + 1) * sizeof(*list->items));
	list->items[list->n++] = r;
	return r;
}

struct check_result *
check_list_find(const struct check_list *list, const char *name)
{
	size_t i;
	for (i = 0; i < list->n; i++) {
		if (strcmp(list->items[i]->name, name) == 0) {
			return list->items[i];
		}
	}
	return NULL;
}

size_t
check_list_count(const struct check_list *list, enum check_status status)
{
	size_t i, n = 0;
	for (i = 0; i < list->n; i++) {
		if (list->items[i]->status == status) {
			n++;
		}
	}
	return n;
}

void
check_list_dispose(struct check_list *list)
{
	size_t i;
	for (i = 0; i < list->n; i++) {
		struct check_result *r = list->items[i];
		free(r->name);
		free(r->value);
		free(r->limit);
		free(r->detail);
		json_object_put(r->data);
		free(r);
	}
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

static char *
one_line(const char *s)
{
	if (s == NULL) {
		return NULL;
	}
	return outside_line(s, strlen(s), CHECK_TEXT_MAX);
}

void
check_set(struct check_result *r, enum check_status status, const char *value, const char *limit,
	  const char *fmt, ...)
{
	va_list ap;
	char *detail, *new_value, *new_limit;

	/* value, limit and the arguments may point into r itself: copy before freeing */
	new_value = one_line(value);
	new_limit = limit != NULL ? one_line(limit) : NULL;
	va_start(ap, fmt);
	detail = xvasprintf(fmt, ap);
	va_end(ap);
	r->status = status;
	free(r->value);
	r->value = new_value;
	if (new_limit != NULL) {
		free(r->limit);
		r->limit = new_limit;
	}
	free(r->detail);
	r->detail = one_line(detail);
	free(detail);
}

const char *
check_status_name(enum check_status s)
{
	switch (s) {
	case CHECK_PASS:
		return "pass";
	case CHECK_FAIL:
		return "fail";
	case CHECK_WARN:
		return "warn";
	case CHECK_SKIP:
	default:
		return "skip";
	}
}

const char *
check_phase_name(enum check_phase p)
{
	switch (p) {
	case PHASE_READINESS:
		return "readiness";
	case PHASE_SMOKE:
		return "smoke";
	case PHASE_METRICS:
		return "metrics";
	case PHASE_RECOVERY:
	default:
		return "recovery";
	}
}
