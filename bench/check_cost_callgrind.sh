#!/usr/bin/env bash
# The dispatch path's upgrade bookkeeping, counted in instructions: the
# 1,000-process ring (1,000,000 hops, 1 scheduler) under callgrind, with
# and without the check (molt_bench_nocheck). Instruction counts do not
# depend on what else the machine does, unlike the CPU-time figure.
#   bench/check_cost_callgrind.sh BUILD_DIR
# Prints `name value unit` lines; nothing (and a note on stderr) without
# valgrind.
set -euo pipefail
build=${1:-build}
if ! command -v valgrind >/dev/null; then
	echo "check_cost_callgrind: valgrind not installed; skipped" >&2
	exit 0
fi
count() {
	valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$1" ring --schedulers 1 --runs 1 2>&1 >/dev/null |
		awk '/Collected/ { n += $4 } END { print n }'
}
echo "check_cost_callgrind: 2 runs under callgrind (about 90 s)" >&2
count "$build/bench/molt_bench" >"$build/cg-check.n" &
count "$build/bench/molt_bench_nocheck" >"$build/cg-nocheck.n"
wait
c=$(cat "$build/cg-check.n")
n=$(cat "$build/cg-nocheck.n")
rm -f "$build/cg-check.n" "$build/cg-nocheck.n"
awk -v c="$c" -v n="$n" 'BEGIN {
	printf "ring_check_instructions %d instr\n", c
	printf "ring_nocheck_instructions %d instr\n", n
	printf "upgrade_check_cost_instr_per_hop %.2f instr\n", (c - n) / 1000000
	printf "upgrade_check_cost_instr_percent %.2f %%\n", 100 * (c - n) / n
}'
