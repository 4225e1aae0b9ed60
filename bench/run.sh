#!/usr/bin/env bash
# make bench: molt against Erlang/OTP, side by side in one run.
#
#   bash bench/run.sh BUILD_DIR          (what `make bench` runs)
#   QUICK=1 bash bench/run.sh BUILD_DIR  (shorter: fewer runs, no 100k upgrade)
#
# stdout carries only `name value unit` lines: for every benchmark the molt
# line, the BEAM line (beam_ prefix) and the ratio molt/BEAM (ratio_ prefix,
# unit x). Progress goes to stderr. Every figure is the median of RUNS runs
# (default 5, QUICK 3; upgrades and the release install: UPGRADE_RUNS fresh
# runtimes, default 3, QUICK 1; the install runs over INSTALL_N counters,
# default 100000, QUICK 10000). SKIP_MOLT=1 or SKIP_BEAM=1 leave one side out.
# ONLY=issue9 runs only issue 9, the release install (molt install against
# release_handler:install_release), on both sides:
#
#   ONLY=issue9 bash bench/run.sh BUILD_DIR
#
# Issue 10, the Redis-protocol store on molt against Debian's redis-server
# (bench/kvs/run.sh: kvs_, redis_ and ratio_ = kvs/redis lines, medians of
# KVS_RUNS runs, default 3), runs after the BEAM side; ONLY=issue10 runs
# only that (SKIP_MOLT leaves it out):
#
#   ONLY=issue10 bash bench/run.sh BUILD_DIR
#
# See docs/benchmarks.md for what each line measures.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

build=${1:?usage: bash bench/run.sh BUILD_DIR}
case ${ONLY:-} in
'' | issue9 | issue10) ;;
*) say "bench: ONLY=$ONLY: only ONLY=issue9 and ONLY=issue10 are known"; exit 2 ;;
esac
if [[ -n ${QUICK:-} ]]; then
	: "${RUNS:=3}" "${UPGRADE_RUNS:=1}" "${UPGRADE_SIZES:=1000 10000}" "${INSTALL_N:=10000}"
fi
: "${RUNS:=5}" "${UPGRADE_RUNS:=3}" "${UPGRADE_SIZES:=1000 10000 100000}" "${INSTALL_N:=100000}"
export RUNS UPGRADE_RUNS UPGRADE_SIZES INSTALL_N

# The benchmark binaries: configure and build them if needed (quietly).
if [[ ! -f $build/CMakeCache.txt ]]; then
	say "bench: configuring $build"
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
say "bench: building the benchmark binaries in $build"
cmake --build "$build" -j 2 >&2 || say "bench: build failed; molt lines will be missing"
build=$(cd "$build" && pwd)
work=$build/bench/work
mkdir -p "$work"
molt_out=$work/molt.txt
beam_out=$work/beam.txt
: >"$molt_out"
: >"$beam_out"

# The dispatch path's upgrade bookkeeping (the per-message "is my version
# old?" check): the ring with 1 scheduler, molt_bench against
# molt_bench_nocheck (the same runtime built with that check compiled out,
# see bench/CMakeLists.txt), in alternating runs. Wall-clock rates on this
# shared machine vary by 2x between runs, so this compares CPU time per hop
# (the whole process's CPU time; with 1 scheduler that is the scheduler
# thread's work). Prints both and the cost in percent.
bookkeeping() {
	local nocheck=$build/bench/molt_bench_nocheck r runs=$((4 * RUNS + 1))
	if [[ ! -x $nocheck ]]; then
		say "molt: $nocheck missing; bookkeeping cost not measured"
		return 0
	fi
	say "molt: dispatch upgrade bookkeeping, ring CPU/hop, 1 scheduler ($runs alternating runs each)"
	for ((r = 0; r < runs; r++)); do
		"$bin" ring --cpu --schedulers 1 --runs 1 | sed 's/^ring_cpu_/ring_check_cpu_/'
		"$nocheck" ring --cpu --schedulers 1 --runs 1 | sed 's/^ring_cpu_/ring_nocheck_cpu_/'
	done | median_lines | awk '
		{ print; v[$1] = $2 }
		END {
			c = v["ring_check_cpu_ns_per_hop_s1"]; n = v["ring_nocheck_cpu_ns_per_hop_s1"]
			if (c > 0 && n > 0) printf "upgrade_check_cost_percent %.2f %%\n", 100 * (c - n) / n
		}' >>"$molt_out" || say "molt: bookkeeping not measured"
}

# --- molt side ---
bin=$build/bench/molt_bench
molt() { "$bin" "$@" | median_lines >>"$molt_out"; }
if [[ -n ${SKIP_MOLT:-} ]]; then
	say "molt: skipped (SKIP_MOLT)"
elif [[ ${ONLY:-} == issue10 ]]; then
	: # only bench/kvs/run.sh, below
elif [[ ${ONLY:-} == issue9 ]]; then
	bash "$here/install/molt.sh" "$build" "$INSTALL_N" "$UPGRADE_RUNS" >>"$molt_out" ||
		say "molt: install not measured"
elif [[ -x $bin ]]; then
	say "molt: spawn 1M + process bytes ($RUNS runs)"
	molt spawn --runs "$RUNS" || say "molt: spawn failed"
	for s in 1 2; do
		say "molt: ring, $s scheduler(s) ($RUNS runs)"
		molt ring --schedulers "$s" --runs "$RUNS" || say "molt: ring failed"
	done
	say "molt: cast ($RUNS runs)"
	molt cast --runs "$RUNS" || say "molt: cast failed"
	say "molt: call round trip ($RUNS runs)"
	molt call --runs "$RUNS" || say "molt: call failed"
	say "molt: idle CPU (3 runs of 5 s)"
	molt idle --runs 3 || say "molt: idle failed"
	bookkeeping
	for n in $UPGRADE_SIZES; do
		down=
		[[ $n == 10000 ]] && down=--down
		say "molt: upgrade $n counters ($UPGRADE_RUNS runs)"
		molt upgrade --n "$n" $down --runs "$UPGRADE_RUNS" ||
			say "molt: upgrade $n not measured"
	done
	# issue 9: `molt install` of a release over INSTALL_N counters under
	# client load (bench/install/molt.sh; BEAM: release_bench.erl)
	bash "$here/install/molt.sh" "$build" "$INSTALL_N" "$UPGRADE_RUNS" >>"$molt_out" ||
		say "molt: install not measured"
else
	say "molt: $bin missing; molt lines are not printed"
fi

# --- BEAM side ---
if [[ -n ${SKIP_BEAM:-} ]]; then
	say "beam: skipped (SKIP_BEAM)"
elif [[ ${ONLY:-} == issue10 ]]; then
	say "beam: ONLY=issue10: kvs is measured against redis-server, not the BEAM"
elif command -v erl >/dev/null; then
	bash "$here/erlang/run.sh" "$work/erlang" "${ONLY:-all}" >"$beam_out" ||
		say "beam: the Erlang side failed"
else
	say "beam: erl not found (apt-get install erlang-base); beam lines are not printed"
fi

# --- issue 10: kvs on molt against redis-server (bench/kvs/run.sh) ---
kvs_out=$work/kvs.txt
: >"$kvs_out"
if [[ -n ${SKIP_MOLT:-} || ${ONLY:-} == issue9 ]]; then
	:
else
	say "bench: bench/kvs/run.sh (kvs against redis-server)"
	bash "$here/kvs/run.sh" "$build" "${KVS_RUNS:-3}" >"$kvs_out" ||
		say "bench: bench/kvs/run.sh failed"
	# 100 upgrade/rollback cycles under load (QUICK: 10)
	cycles=${SOAK_CYCLES:-$([[ -n ${QUICK:-} ]] && echo 10 || echo 100)}
	say "bench: bench/kvs/soak.sh ($cycles cycles)"
	bash "$here/kvs/soak.sh" "$build" "$cycles" >>"$kvs_out" ||
		say "bench: bench/kvs/soak.sh failed"
fi

# --- release unpacking (molt only, no BEAM counterpart), if present ---
extra_out=$work/extra.txt
: >"$extra_out"
[[ -n ${ONLY:-} ]] && say "bench: ONLY=$ONLY: unpack, queues and callgrind skipped"
for s in "$here"/unpack/*.sh; do
	[[ -f $s && -z ${ONLY:-} ]] || continue
	say "bench: $s"
	# QUICK: a smaller bundle and fewer runs (unpack_bench.sh BUILD [MB] [RUNS])
	if [[ -n ${QUICK:-} ]]; then
		bash "$s" "$build" 16 3 >>"$extra_out" || say "bench: $s failed"
	else
		bash "$s" "$build" >>"$extra_out" || say "bench: $s failed"
	fi
done

# --- queues: molt's mailbox against urcu/ck, if built (bench/queues/run.sh) ---
if [[ -x $build/bench/queues_bench && -z ${SKIP_MOLT:-} && -z ${ONLY:-} ]]; then
	say "bench: bench/queues/run.sh"
	if [[ -n ${QUICK:-} ]]; then
		bash "$here/queues/run.sh" "$build" 2000000 3 >>"$extra_out" ||
			say "bench: bench/queues/run.sh failed"
	else
		bash "$here/queues/run.sh" "$build" >>"$extra_out" ||
			say "bench: bench/queues/run.sh failed"
	fi
fi

# --- the dispatch check in instructions (deterministic; skipped by QUICK) ---
if [[ -z ${QUICK:-} && -z ${SKIP_MOLT:-} && -z ${ONLY:-} ]]; then
	bash "$here/check_cost_callgrind.sh" "$build" >>"$extra_out" ||
		say "bench: check_cost_callgrind.sh failed"
fi

# --- report: molt, beam_, ratio_ for every name either side printed ---
awk '
NF != 3 { next }
FILENAME == ARGV[1] { if (!($1 in m) && !($1 in b)) order[++k] = $1; m[$1] = $2; u[$1] = $3 }
FILENAME == ARGV[2] { if (!($1 in m) && !($1 in b)) order[++k] = $1; b[$1] = $2; u[$1] = $3 }
END {
	for (i = 1; i <= k; i++) {
		n = order[i]
		if (n in m) printf "%s %s %s\n", n, m[n], u[n]
		if (n in b) printf "beam_%s %s %s\n", n, b[n], u[n]
		if ((n in m) && (n in b)) {
			if (b[n] + 0 != 0) printf "ratio_%s %.3g x\n", n, m[n] / b[n]
			else if (m[n] + 0 == 0) printf "ratio_%s 1 x\n", n
			else printf "ratio_%s inf x\n", n
		}
	}
}' "$molt_out" "$beam_out"
grep -E '^[A-Za-z0-9_.]+ [^ ]+ [^ ]+$' "$kvs_out" || true
grep -E '^[A-Za-z0-9_.]+ [^ ]+ [^ ]+$' "$extra_out" || true
