/* SPDX-License-Identifier: MIT */
#ifndef SRC_WFCMD_H
#define SRC_WFCMD_H

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"

/*
 * GitHub workflow commands and file commands; the only place that knows their escaping.
 * Data: % \r \n; properties additionally : and , (runner ActionCommand.cs).
 */
void wfcmd_escape_data(struct buf *out, const char *s);
void wfcmd_escape_property(struct buf *out, const char *s);
/* "::name k=v,k=v::data\n"; props is a NULL-terminated key/value list, may be NULL */
void wfcmd_format(struct buf *out, const char *name, const char *const *props, const char *data);

/*
 * Appends `name<<DELIM\nvalue\nDELIM\n` for GITHUB_OUTPUT with a random delimiter that does not
 * occur in the value. delim_seed, when not NULL, replaces the random part (tests).
 */
void wfcmd_heredoc(struct buf *out, const char *name, const char *value, const char *delim_seed);

#endif
