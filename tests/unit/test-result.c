/* SPDX-License-Identifier: MIT */
/*
 * The result table (gate.c): the machine names are a public contract (the 'result' output and the
 * report), and gate_result_decide is the one place a result is chosen, from the checks, the cancel
 * flag and the rollback's outcome.
 */
#include <string.h>

#include "config.h"
#include "gate.h"
#include "tap.h"

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

int
main(void)
{
	test_gate__names();
	test_gate__decide();
	return tap_done();
}
