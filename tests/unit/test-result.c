/* SPDX-License-Identifier: MIT */
/*
 * The result table (gate.c): the machine names are a public contract (the 'result' output and the
 * report), and gate_result_decide is the one place a result is chosen, from the checks, the cancel
 * flag and the rollback's outcome.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gate.h"
#include "tap.h"
#include "util.h"

static void
test_gate__names(void)
{
	static const char *const want[] = { "passed", "failed", "rolled-back", "rollback-failed",
					    "cancelled" };
	size_t i, j;

	is_int(GATE_RESULT_COUNT, sizeof(want) / sizeof(want[0]), "five results");
	for (i = 0; i < GATE_RESULT_COUNT; i++) {
		is_str(gate_result_name((enum gate_result)i), want[i], "name of result %zu", i);
		ok(gate_result_words((enum gate_result)i)[0] != '\0', "%s has words", want[i]);
		ok(gate_result_title((enum gate_result)i)[0] >= 'A' &&
			   gate_result_title((enum gate_result)i)[0] <= 'Z',
		   "%s has a capitalised title", want[i]);
		ok(gate_result_headline((enum gate_result)i)[0] != '\0', "%s has a headline",
		   want[i]);
		for (j = 0; j < i; j++) {
			ok(strcmp(gate_result_name((enum gate_result)i),
				  gate_result_name((enum gate_result)j)) != 0,
			   "%s and %s differ", want[i], want[j]);
		}
	}
	is_str(gate_result_words(GATE_ROLLED_BACK), "rolled back", "words: rolled back");
	is_str(gate_result_words(GATE_ROLLBACK_FAILED), "rollback failed",
	       "words: rollback failed");
	is_str(gate_result_title(GATE_ROLLED_BACK), "Rolled back", "title: Rolled back");
	ok(!gate_result_failed(GATE_PASSED), "passed is not a failure");
	ok(gate_result_failed(GATE_FAILED) && gate_result_failed(GATE_ROLLED_BACK) &&
		   gate_result_failed(GATE_ROLLBACK_FAILED) && gate_result_failed(GATE_CANCELLED),
	   "every other result is");
}

static void
test_gate__decide(void)
{
	struct config cfg;
	struct gate g;
	struct check_result *r;

	memset(&cfg, 0, sizeof(cfg));
	cfg.retries = 1;
	gate_init(&g, &cfg, NULL);
	is_str(gate_result_name(g.result), "passed", "a new gate starts as passed");
	r = check_list_add(&g.checks, "health", PHASE_READINESS);
	check_set(r, CHECK_PASS, NULL, NULL, "ok");
	is_int(gate_result_decide(&g), GATE_PASSED, "passing checks: passed");
	r = check_list_add(&g.checks, "recovery-health", PHASE_RECOVERY);
	check_set(r, CHECK_FAIL, NULL, NULL, "down");
	ok(!gate_check_failed(r), "a recovery check does not fail the release");
	is_int(gate_result_decide(&g), GATE_PASSED, "a failed recovery check alone: still passed");
	g.cancelled = true;
	is_int(gate_result_decide(&g), GATE_CANCELLED, "cancelled before any rollback: cancelled");
	g.cancelled = false;

	r = check_list_add(&g.checks, "login", PHASE_SMOKE);
	check_set(r, CHECK_FAIL, NULL, NULL, "401");
	ok(gate_check_failed(r), "a failed smoke check fails the release");
	is_int(gate_result_decide(&g), GATE_FAILED, "failed, rollback off: failed");
	g.rollback.outcome = ROLLBACK_DONE;
	is_int(gate_result_decide(&g), GATE_ROLLED_BACK, "rolled back and verified: rolled-back");
	g.rollback.outcome = ROLLBACK_SKIPPED;
	is_int(gate_result_decide(&g), GATE_ROLLBACK_FAILED,
	       "nothing could be rolled back: rollback-failed");
	g.rollback.outcome = ROLLBACK_FAILED;
	is_int(gate_result_decide(&g), GATE_ROLLBACK_FAILED, "rollback failed: rollback-failed");
	cfg.dry_run = true;
	g.rollback.outcome = ROLLBACK_DRY_RUN;
	is_int(gate_result_decide(&g), GATE_FAILED, "dry run: failed, never rolled-back");
	g.cancelled = true;
	is_int(gate_result_decide(&g), GATE_ROLLBACK_FAILED,
	       "cancelled during the rollback: rollback-failed");
	gate_dispose(&g);
}

/* the sentence the owners get after a cancel during the rollback: what reached the cluster */
static void
test_gate__cancel_line(void)
{
	struct config cfg;
	struct gate g;
	struct check_result *r;
	char *line;

	memset(&cfg, 0, sizeof(cfg));
	cfg.retries = 1;
	gate_init(&g, &cfg, NULL);
	r = check_list_add(&g.checks, "login", PHASE_SMOKE);
	check_set(r, CHECK_FAIL, NULL, NULL, "401");
	g.rollback.items = xcalloc(2, sizeof(*g.rollback.items));
	g.rollback.n = 2;
	g.rollback.items[0].kind = "deployment";
	g.rollback.items[0].deployment = xstrdup("web");
	g.rollback.items[0].revision_before = 7;
	g.rollback.items[0].revision_target = 5;
	g.rollback.items[1].kind = "statefulset";
	g.rollback.items[1].deployment = xstrdup("db");
	g.rollback.outcome = ROLLBACK_FAILED;
	g.result = gate_result_decide(&g);
	ok(gate_cancel_line(&g) == NULL, "no cancel: no cancel line");

	g.cancelled = true;
	g.result = gate_result_decide(&g);
	line = gate_cancel_line(&g);
	ok(line != NULL && strstr(line, "no rollback request reached the cluster") != NULL,
	   "cancelled, nothing sent: says nothing reached the cluster (%s)", line);
	free(line);

	g.rollback.items[0].sent = true;
	g.rollback.items[0].outcome = ROLLBACK_FAILED;
	line = gate_cancel_line(&g);
	ok(line != NULL && strstr(line, "during the rollback") != NULL &&
		   strstr(line, "deployment/web (revision 7, restoring revision 5) was sent to the cluster") != NULL &&
		   strstr(line, "statefulset/db") == NULL && strstr(line, "not verified") != NULL,
	   "one sent, rollout not followed: names it and says not verified (%s)", line);
	free(line);

	g.rollback.items[0].outcome = ROLLBACK_DONE;
	line = gate_cancel_line(&g);
	ok(line != NULL && strstr(line, "and rolled out, but the checks of the service's recovery were cut short") != NULL,
	   "rolled out, recovery cut short: says so (%s)", line);
	free(line);

	g.cancelled = true;
	g.rollback.outcome = ROLLBACK_NONE;
	g.result = gate_result_decide(&g);
	is_int(g.result, GATE_CANCELLED, "cancelled before the rollback started: cancelled");
	ok(gate_cancel_line(&g) == NULL, "cancelled before the verdict: no cancel line (nobody is told)");
	gate_dispose(&g);
}

/* the notify phase after a cancel: the first signal is set aside, a second one counts at once */
static void
test_cancel__grace(void)
{
	struct pollfd pfd;

	is_int(cancel_init(), 0, "cancel_init");
	pfd.fd = cancel_fd();
	pfd.events = POLLIN;
	ok(!cancel_requested(), "no signal yet");
	cancel_grace_begin();
	ok(!cancel_requested(), "grace without a cancel: a no-op");
	cancel_grace_end();
	(void)raise(SIGINT);
	ok(cancel_requested() && cancel_signal() == SIGINT, "SIGINT: cancelled");
	is_int(poll(&pfd, 1, 0), 1, "the self-pipe is readable");
	cancel_grace_begin();
	ok(!cancel_requested(), "in the grace phase the first signal no longer cancels");
	is_int(poll(&pfd, 1, 0), 0, "and the self-pipe was drained: waits do not wake");
	is_int(cancel_sleep_ms(1), 0, "a short wait completes");
	(void)raise(SIGTERM);
	ok(cancel_requested(), "a second signal cancels at once");
	is_int(poll(&pfd, 1, 0), 1, "and wakes the waits");
	is_int(cancel_sleep_ms(10000), -1, "a wait returns at once");
	is_int(cancel_signal(), SIGTERM, "cancel_signal: the latest");
	is_int(cancel_first_signal(), SIGINT, "cancel_first_signal: the one that cancelled the job");
	cancel_grace_end();
	ok(cancel_requested(), "after the phase: still cancelled");
}

int
main(void)
{
	test_gate__names();
	test_gate__decide();
	test_gate__cancel_line();
	test_cancel__grace();
	return tap_done();
}
