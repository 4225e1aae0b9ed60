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
python3 - "$out/base" "$out/new" <<'PY'
import statistics, sys

def medians(path):
    vals, units = {}, {}
    for line in open(path):
        f = line.split()
        if len(f) >= 2:
            vals.setdefault(f[0], []).append(float(f[1]))
            units[f[0]] = f[2] if len(f) > 2 else ""
    return {k: statistics.median(v) for k, v in vals.items()}, units

base, units = medians(sys.argv[1])
new, _ = medians(sys.argv[2])
print(f"{'figure':<36} {'base':>12} {'new':>12} unit    new/base")
for k in sorted(base):
    if k in new:
        ratio = new[k] / base[k] if base[k] else float("nan")
        print(f"{k:<36} {base[k]:>12.6g} {new[k]:>12.6g} {units[k]:<7} {ratio:.3f}")
PY
