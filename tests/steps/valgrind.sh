#!/bin/bash
# The integration scenarios once more, each gate run under valgrind memcheck with leak checking
# (harness.py puts ATOM_SAFETY_TEST_WRAPPER in front of the binary). Any memcheck error or
# definite/indirect leak fails the step, whatever the test itself concluded: every run writes its
# own log and a non-empty log is a finding. Exit 0 clean, 77 skipped (no valgrind), 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${ATOM_VALGRIND_BUILD:-build-ci}

# Debian's /usr/bin/valgrind is a #!/bin/sh wrapper: dash drops INPUT_HEALTH-PATH and every other
# hyphenated variable (dash keeps only names that are shell identifiers; bash passes the others
# on), so the gate would run with defaults. The real
# binary beside it keeps the environment whole.
VG=$(command -v valgrind.bin || command -v valgrind || true)
if [ -z "$VG" ]; then
	echo "valgrind: SKIP: valgrind not installed (Debian: apt-get install valgrind)"
	exit 77
fi
if head -c 2 "$VG" | grep -q '#!'; then
	echo "valgrind: note: $VG is a script; hyphenated INPUT_* variables may not reach the gate"
fi

if [ ! -f "$BUILD/build.ninja" ]; then
	meson setup "$BUILD" -Dwerror=true -Dbuildtype=debugoptimized -Db_colorout="${ATOM_COLOR:-always}" >/dev/null || exit 1
fi
meson compile -C "$BUILD" >/dev/null || { meson compile -C "$BUILD"; exit 1; }

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
opts=(-q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
	--error-exitcode=99 --track-origins=no --num-callers=30 "--log-file=$logs/vg.%p.log")
if [ -s tests/valgrind.supp ]; then
	opts+=("--suppressions=$ROOT/tests/valgrind.supp")
fi
export ATOM_SAFETY_TEST_WRAPPER="$VG ${opts[*]}"
echo "valgrind: $("$VG" --version), wrapper: $ATOM_SAFETY_TEST_WRAPPER"

# memcheck is ~20x slower: tests relax their timing bounds when a wrapper is set
meson test -C "$BUILD" --suite integration --num-processes "$(nproc)" --timeout-multiplier 4 \
	--print-errorlogs
test_rc=$?

runs=$(ls "$logs" | wc -l)
bad=$(find "$logs" -name 'vg.*.log' -size +0)
if [ -n "$bad" ]; then
	echo "valgrind: findings in $(echo "$bad" | wc -l) of $runs gate runs:"
	for f in $bad; do
		echo "--- $f"
		head -60 "$f"
	done
	exit 1
fi
if [ "$runs" -lt 50 ]; then
	echo "valgrind: only $runs gate runs were wrapped: the wrapper did not take effect"
	exit 1
fi
echo "valgrind: $runs gate runs, no memcheck error, no leak"
[ $test_rc -eq 0 ] || { echo "valgrind: tests failed under valgrind (above)"; exit 1; }
