#!/usr/bin/env bash
# Two builds side by side, alternating, on the same machine: the molt
# benchmarks an issue's targets name (spawn, ring, cast, call, upgrade of
# 100,000 processes). Prints, per figure, the median of ROUNDS runs of
# each build and their ratio (new / base).
#
#   git worktree add /tmp/base <commit> &&
#     cmake -S /tmp/base -B /tmp/base/build && cmake --build /tmp/base/build --target molt_bench
#   bash bench/compare.sh /tmp/base/build build [ROUNDS]   (default 5)
set -euo pipefail
base=$1/bench/molt_bench
new=$2/bench/molt_bench
rounds=${3:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run() {
	local bin=$1
	"$bin" spawn --runs 1
	"$bin" ring --schedulers 1 --runs 1
	"$bin" ring --schedulers 2 --runs 1
	"$bin" cast --runs 1
	"$bin" call --runs 1
	"$bin" upgrade --n 100000 --runs 1
}

for ((r = 0; r < rounds; r++)); do
	run "$base" 2>/dev/null >>"$out/base"
	run "$new" 2>/dev/null >>"$out/new"
done
# figure -> median of its values, "name median unit" lines
medians() {
	sort -k1,1 -k2,2g "$1" | awk '
		function flush() { if (n) print k, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), u }
		NF >= 2 { if ($1 != k) { flush(); k = $1; n = 0 } v[++n] = $2; u = $3 }
		END { flush() }'
}
medians "$out/base" >"$out/base.med"
medians "$out/new" >"$out/new.med"
printf '%-36s %12s %12s %-7s %s\n' figure base new unit new/base
join "$out/base.med" "$out/new.med" | awk '{
	r = $2 != 0 ? sprintf("%.3f", $4 / $2) : "-"
	printf "%-36s %12.6g %12.6g %-7s %s\n", $1, $2, $4, $3, r }'
