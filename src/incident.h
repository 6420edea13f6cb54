/* SPDX-License-Identifier: MIT */
#ifndef SRC_INCIDENT_H
#define SRC_INCIDENT_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct gate;

/*
 * An incident is what a failed gate opens: a GitHub issue, a PagerDuty alert. Its scope is the
 * repository, the environment and the set of workloads, whatever the commit, so that a later
 * passing run finds and closes it. Pure: built from struct gate only, no I/O.
 *
 * Issue markers: a new issue body starts with two hidden lines,
 *   <!-- atom-safety:fingerprint=<32 hex> -->             (version 1: environment, first
 *                                                         deployment, commit; finds re-runs)
 *   <!-- atom-safety:incident=2 scope=<32 hex> -->        (version 2: the scope; finds it on recovery)
 * Issues opened before version 2 carry only the first line: re-runs still find them.
 */

#define INCIDENT_SCOPE_HEX 32
#define INCIDENT_MARKER_PREFIX "<!-- atom-safety:incident=2 scope="

/* the workloads as sorted "kind/name" references (lower-case kind): caller frees with strv_free */
char **incident_workloads(const struct config *cfg);
/* hex SHA-256 prefix of (repository, environment, sorted workloads) */
void incident_scope(char out[INCIDENT_SCOPE_HEX + 1], const char *repository, const char *environment,
		    char *const *workloads);
/* the scope of this run */
void incident_scope_of(char out[INCIDENT_SCOPE_HEX + 1], const struct gate *g);
/* "<!-- atom-safety:incident=2 scope=<hex> -->"; caller frees */
char *incident_marker(const struct gate *g);
/* PagerDuty's dedup_key: "atom-safety-<scope hex>", stable per repository, environment, workloads */
char *incident_dedup_key(const struct gate *g);

/* "3 d 4 h", "2 h 5 min", "12 min", "40 s" */
void incident_duration_words(char *out, size_t size, int64_t ms);

/* the comment on an issue closed because this run passed; opened_ms < 0 when unknown; caller frees */
char *incident_recovery_comment(const struct gate *g, int64_t opened_ms);
/* "production / deployment/atom, statefulset/db" for titles and headers; caller frees */
char *incident_scope_words(const struct gate *g);

#endif
