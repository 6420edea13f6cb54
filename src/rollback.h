/* SPDX-License-Identifier: MIT */
#ifndef SRC_ROLLBACK_H
#define SRC_ROLLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "manager.h"

struct gate;
struct rollback_cluster; /* rollback.c's: the cluster, its client and the prepared plans */

enum rollback_outcome {
	ROLLBACK_NONE,    /* not needed or not attempted */
	ROLLBACK_DONE,    /* patched, rolled out and verified */
	ROLLBACK_DRY_RUN, /* validated by the server with dryRun=All, nothing changed */
	ROLLBACK_SKIPPED, /* nothing to do or not allowed (first deploy, paused, changed since) */
	ROLLBACK_FAILED,  /* rejected, timed out or not verified */
};

struct rollback_entry {
	const char *kind;     /* "deployment", "statefulset", "daemonset" (static) */
	char *deployment;     /* the workload's name (the report's field keeps its first name) */
	char *namespace;
	long revision_before; /* under test, at preflight */
	long revision_target; /* what undo restores (its number before renumbering) */
	long revision_after;  /* the Deployment's revision once rolled back */
	char *images_before;
	char *images_after;
	enum rollback_outcome outcome;
	char *detail;
	int64_t failure_to_patch_ms; /* from the first failed check to the PATCH leaving; -1 */
	int64_t rollout_ms;          /* from the PATCH to a complete rollout; -1 */
	struct manager_info manager; /* who else manages it (Argo CD, Flux, Helm), read at preflight */
	bool managed_skipped;        /* not patched: managed, and managed-rollback is skip */
	bool sent;                   /* the rollback PATCH was applied: the cluster was changed */
};

/*
 * What preflight learnt about the release under test, for query templates and the baseline
 * (issue 15); read even with rollback off when a template or the baseline needs it. Freed by
 * release_facts_dispose.
 */
struct release_facts {
	char *namespace;    /* the namespace the Deployments were read in (kubeconfig or input) */
	char **replicasets; /* the newest ReplicaSet of each Deployment read */
	size_t n_read;      /* Deployments whose newest ReplicaSet was read */
	int64_t created_s;  /* the most recent of their creation times (epoch s); 0: unknown */
};

void release_facts_dispose(struct release_facts *f);

/* everything the rollback holds: owned by rollback.c, freed by rollback_facts_dispose alone */
struct rollback_facts {
	bool enabled; /* rollback input and a usable cluster */
	bool armed;   /* preflight found a target: the gate stops at the first failure */
	enum rollback_outcome outcome;
	char *detail;
	struct rollback_entry *items;
	size_t n;
	struct rollback_cluster *cluster; /* private to rollback.c; NULL when rollback is off */
	bool managed_skip; /* skipped only because managed-rollback: skip left managed workloads alone */
};

/*
 * Before any check: reads each Deployment and its ReplicaSets, plans the undo exactly as `kubectl
 * rollout undo` would, and has the API validate the patch with dryRun=All. ERR_CONFIG for a
 * broken kubeconfig (nothing was sent), ERR_CANCELLED; anything else is a warning in g->rollback.
 */
int rollback_preflight(struct gate *g, struct error *err);
/*
 * After a failure: sends the prepared patches at once and follows the rollouts like `kubectl
 * rollout status`. When every rollout completed, *rolled_out is set and the caller checks the
 * service again and calls rollback_conclude; otherwise the outcome is already in g->rollback.
 * ERR_CANCELLED on SIGTERM (what was sent is reported); other failures are recorded, not returned.
 */
int rollback_execute(struct gate *g, bool *rolled_out, struct error *err);
/*
 * The outcome once the recovery checks ran: verify_rc is their return (ERR_CANCELLED: cut short),
 * verified whether they passed; err holds their error, which is logged and cleared.
 */
void rollback_conclude(struct gate *g, int verify_rc, bool verified, struct error *err);
/* an outcome in words for people: "rolled back", "validated only (dry run)", "skipped", ... */
const char *rollback_outcome_words(enum rollback_outcome o);
/* frees the entries, the detail and the cluster state; accepts a zeroed struct */
void rollback_facts_dispose(struct rollback_facts *r);

#endif
