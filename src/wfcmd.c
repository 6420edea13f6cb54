/* SPDX-License-Identifier: MIT */
#include "wfcmd.h"

#include <string.h>

#include "util.h"

static void
escape(struct buf *out, const char *s, bool property)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '%':
			buf_puts(out, "%25");
			break;
		case '\r':
			buf_puts(out, "%0D");
			break;
		case '\n':
			buf_puts(out, "%0A");
			break;
		case ':':
			buf_puts(out, property ? "%3A" : ":");
			break;
		case ',':
			buf_puts(out, property ? "%2C" : ",");
			break;
		default:
			buf_putc(out, *s);
			break;
		}
	}
}

void
wfcmd_escape_data(struct buf *out, const char *s)
{
	escape(out, s, false);
}

void
wfcmd_escape_property(struct buf *out, const char *s)
{
	escape(out, s, true);
}

void
wfcmd_format(struct buf *out, const char *name, const char *const *props, const char *data)
{
	size_t i;

	buf_puts(out, "::");
	buf_puts(out, name);
	for (i = 0; props != NULL && props[i] != NULL && props[i + 1] != NULL; i += 2) {
		buf_putc(out, i == 0 ? ' ' : ',');
		buf_puts(out, props[i]);
		buf_putc(out, '=');
		wfcmd_escape_property(out, props[i + 1]);
	}
	buf_puts(out, "::");
	wfcmd_escape_data(out, data != NULL ? data : "");
	buf_putc(out, '\n');
}

void
wfcmd_heredoc(struct buf *out, const char *name, const char *value, const char *delim_seed)
{
	char hex[33];
	char delim[64];

	for (;;) {
		if (delim_seed != NULL) {
			(void)snprintf(delim, sizeof(delim), "ghadelimiter_%s", delim_seed);
		} else {
			random_hex(hex, 16);
			(void)snprintf(delim, sizeof(delim), "ghadelimiter_%s", hex);
		}
		if (strstr(value, delim) == NULL) {
			break;
		}
		/* a seeded delimiter that occurs in the value: lengthen it until it does not */
		if (delim_seed != NULL) {
			delim_seed = NULL;
		}
	}
	buf_printf(out, "%s<<%s\n%s\n%s\n", name, delim, value, delim);
}
