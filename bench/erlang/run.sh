#!/usr/bin/env bash
# The Erlang/OTP side of `make bench`: compiles the Erlang sources into
# WORKDIR and prints one `name value unit` line per benchmark (the median of
# several runs) on stdout, progress on stderr. Names carry no beam_ prefix;
# bench/run.sh adds it.
#
#   bash bench/erlang/run.sh WORKDIR [issue2|issue3|issue9|all]
#
# Environment: RUNS (issue 2 repetitions inside one VM, default 5),
# UPGRADE_RUNS (fresh VMs per upgrade size and per install, default 3),
# UPGRADE_SIZES (default "1000 10000 100000"), INSTALL_N (counters for
# issue 9's install_release, default 100000), QUICK=1 (RUNS=3,
# UPGRADE_RUNS=1, sizes 1000 10000, INSTALL_N=10000).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib.sh"

work=${1:?usage: run.sh WORKDIR [issue2|issue3|issue9|all]}
what=${2:-all}
if [[ -n ${QUICK:-} ]]; then
	: "${RUNS:=3}" "${UPGRADE_RUNS:=1}" "${UPGRADE_SIZES:=1000 10000}" "${INSTALL_N:=10000}"
fi
: "${RUNS:=5}" "${UPGRADE_RUNS:=3}" "${UPGRADE_SIZES:=1000 10000 100000}" "${INSTALL_N:=100000}"

command -v erl >/dev/null || { say "bench/erlang: erl not found (apt-get install erlang-base)"; exit 1; }

mkdir -p "$work"
work=$(cd "$work" && pwd)
ebin=$work/ebin
lib=$work/lib
rm -rf "$ebin" "$lib"
mkdir -p "$ebin" "$lib/counterapp-1/ebin" "$lib/counterapp-2/ebin"
erlc -o "$ebin" "$here/beam_bench.erl" "$here/bench_sink.erl" "$here/upgrade_bench.erl" \
	"$here/release_bench.erl" >&2
# Two versions of one application, laid out as release_handler expects.
for v in 1 2; do
	erlc -o "$lib/counterapp-$v/ebin" "$here/counterapp-1/counterapp.erl" \
		"$here/counterapp-1/counter_sup.erl" "$here/counterapp-$v/counter.erl" >&2
	cp "$here/counterapp-$v/counterapp.app" "$lib/counterapp-$v/ebin/"
done
cp "$here/counterapp-2/counterapp.appup" "$lib/counterapp-2/ebin/"

# erl VM flags: no shell, room for 1M processes. A failing benchmark is
# reported on stderr and the others still run.
beam() { erl -noshell +P 2000000 "$@" || say "beam: failed: erl $*"; }

issue2() {
	say "beam: spawn 1M + process bytes ($RUNS runs)"
	beam -pa "$ebin" -eval "beam_bench:main(spawn, $RUNS)"
	for s in 1 2; do
		say "beam: ring, +S $s ($RUNS runs)"
		beam +S "$s" -pa "$ebin" -eval "beam_bench:main(ring, $RUNS)"
	done
	say "beam: cast ($RUNS runs)"
	beam -pa "$ebin" -eval "beam_bench:main(cast, $RUNS)"
	say "beam: call round trip ($RUNS runs)"
	beam -pa "$ebin" -eval "beam_bench:main(call, $RUNS)"
	say "beam: idle CPU (3 runs of 5 s)"
	beam -pa "$ebin" -eval "beam_bench:main(idle, 3)"
}

issue3() {
	local n r down mode lines suffix
	for n in $UPGRADE_SIZES; do
		down=false
		[[ $n == 10000 ]] && down=true
		say "beam: upgrade $n counters ($UPGRADE_RUNS x 2 fresh VMs: timing, pauses)"
		lines=$(for ((r = 0; r < UPGRADE_RUNS; r++)); do
			for mode in timing pauses; do
				beam -pa "$lib/counterapp-1/ebin" -pa "$ebin" \
					-eval "upgrade_bench:main($n, \"$lib\", $down, $mode)"
			done
		done | median_lines)
		for suffix in seconds pause_max_ms pause_p99_ms failed_calls call_max_ms call_p99_ms; do
			grep -E "^upgrade_${n}_$suffix " <<<"$lines" || true
		done
		for suffix in seconds pause_max_ms pause_p99_ms failed_calls call_max_ms call_p99_ms; do
			grep -E "^downgrade_${n}_$suffix " <<<"$lines" || true
		done
	done
}

# Issue 9: release_handler:install_release of counterrel 2 over 1 with
# INSTALL_N counters and 8 clients (release_bench.erl). One build VM makes
# the releases with systools and a target root; then every run copies that
# root and starts a node of it (its bin/erl, -boot releases/1/start), which
# unpacks 2 and times install_release("2"): a timing and a pauses VM per run.
issue9() {
	local n=$INSTALL_N rel=$work/release t r mode lines suffix
	say "beam: releases counterrel 1 and 2 (systools), target root"
	if ! erl -noshell -pa "$ebin" -eval "release_bench:build(\"$rel\", \"$lib\")"; then
		say "beam: release build failed; install lines not printed"
		return 0
	fi
	# RELEASES names the target's lib dirs by absolute path: every run
	# restores the root in place from a pristine copy.
	t=$rel/target
	rm -rf "$t.orig"
	cp -a "$t" "$t.orig"
	say "beam: install_release of 2 with $n counters ($UPGRADE_RUNS x 2 fresh nodes: timing, pauses)"
	lines=$(for ((r = 0; r < UPGRADE_RUNS; r++)); do
		for mode in timing pauses; do
			rm -rf "$t"
			cp -a "$t.orig" "$t"
			"$t/bin/erl" -noshell +P 2000000 -boot "$t/releases/1/start" \
				-config "$t/releases/1/sys" -pa "$ebin" \
				-eval "release_bench:main($n, $mode)" ||
				say "beam: install run failed ($mode)"
		done
	done | median_lines)
	for suffix in seconds pause_max_ms pause_p99_ms failed_calls call_max_ms call_p99_ms; do
		grep -E "^install_${n}_$suffix " <<<"$lines" || true
	done
}

case $what in
issue2) issue2 ;;
issue3) issue3 ;;
issue9) issue9 ;;
all) issue2; issue3; issue9 ;;
*) say "usage: run.sh WORKDIR [issue2|issue3|issue9|all]"; exit 2 ;;
esac
