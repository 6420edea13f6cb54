#!/bin/bash
# Fuzz targets (fuzz/fuzz-*.c) under libFuzzer with ASan+UBSan: replay the committed seed corpus,
# then fuzz each target for a bounded time (ATOM_FUZZ_SECONDS in total, default 60, split evenly).
# New inputs go to a scratch copy of the corpus, never into the repository; a crash is saved as
# build-fuzz/findings/<target>/crash-* and fails the step with the input shown.
# Exit 0 ok, 77 skipped (no clang/libFuzzer), anything else a finding or a build failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${ATOM_FUZZ_BUILD:-build-fuzz}
TOTAL=${ATOM_FUZZ_SECONDS:-60}

if ! command -v clang >/dev/null; then
	echo "fuzz: SKIP: clang not installed (Debian: apt-get install clang libclang-rt-14-dev)"
	exit 77
fi
probe=$(mktemp -d)
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
	rm -rf "$probe"
	echo "fuzz: SKIP: clang cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev)"
	exit 77
fi
rm -rf "$probe"

if [ ! -f "$BUILD/build.ninja" ]; then
	CC=clang meson setup "$BUILD" -Dfuzzing=true -Dtests=false -Dbuildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fno-sanitize-recover=all \
		-Db_colorout="${ATOM_COLOR:-always}" >/dev/null || exit 1
fi
meson compile -C "$BUILD" >/dev/null || { meson compile -C "$BUILD"; exit 1; }

mapfile -t targets < <(cd fuzz && ls fuzz-*.c | sed 's/^fuzz-//; s/\.c$//')
n=${#targets[@]}
per=$((TOTAL / n))
[ "$per" -ge 3 ] || per=3
echo "fuzz: ${n} targets, ${per}s each after replaying the seed corpus"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
printf '%-14s %8s %10s %10s %8s\n' target seeds runs exec/s corpus
for t in "${targets[@]}"; do
	exe="$BUILD/fuzz/fuzz-$t"
	seeds="fuzz/corpus/$t"
	findings="$BUILD/findings/$t"
	mkdir -p "$findings" "$scratch/$t"
	if [ ! -x "$exe" ] || [ ! -d "$seeds" ]; then
		echo "fuzz-$t: no executable or no seed corpus ($seeds)"
		failed+=("$t")
		continue
	fi
	cp "$seeds"/* "$scratch/$t/"
	log="$findings/fuzz.log"
	# -runs=0 over the seeds first: a seed that crashes is reported as such, not as a new finding
	if ! "$exe" -runs=0 -artifact_prefix="$findings/" "$seeds" >"$findings/replay.log" 2>&1; then
		echo "fuzz-$t: a committed seed fails:"
		grep -E 'invariant failed|ERROR|SUMMARY|Test unit written' "$findings/replay.log" | head -5
		failed+=("$t")
		continue
	fi
	"$exe" -max_total_time="$per" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$findings/" "$scratch/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	printf '%-14s %8s %10s %10s %8s\n' "$t" "$(ls "$seeds" | wc -l)" "${runs:-?}" "${speed:-?}" \
		"$(ls "$scratch/$t" | wc -l)"
	if [ $rc -ne 0 ]; then
		failed+=("$t")
		echo "fuzz-$t: FINDING (exit $rc), log $log:"
		grep -E 'invariant failed|ERROR: |SUMMARY|runtime error' "$log" | head -5
		for crash in "$findings"/crash-* "$findings"/leak-* "$findings"/timeout-* "$findings"/oom-*; do
			[ -e "$crash" ] || continue
			echo "  reproduce: $exe $crash    (or $BUILD/../build/fuzz/fuzz-$t, the standalone driver)"
			head -c 256 "$crash" | od -c | head -6 | sed 's/^/    /'
		done
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: findings in: ${failed[*]}"
	exit 1
fi
echo "fuzz: no findings"
