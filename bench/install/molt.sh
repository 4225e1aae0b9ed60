#!/usr/bin/env bash
# The molt side of the issue 9 benchmark: `molt install` of release
# counterrel 2 over 1 on a moltd running N counters under client load (the
# twin of bench/erlang/release_bench.erl). Prints install_<N>_* lines, the
# median of RUNS runs, on stdout; progress on stderr.
#
#   bash bench/install/molt.sh BUILD_DIR [N] [RUNS]     (default 100000 3)
#
# Made in BUILD/bench/work/install/: a git repository with two
# applications, counter (bench/counter/counter_v1.c at tag v1, counter_v2.c
# and an appup at v2; its top supervisor is the simple_one_for_one
# counter_sup, as OTP's counterapp) and counter_load
# (bench/counter/counter_load.c, which starts the counters with
# start_child calls to counter_sup and runs the 8 clients inside moltd),
# the bundles of v1 and v2 (`molt build`, 2 with --relup-from v1), and per
# run a fresh root: `molt init` from 1, `molt unpack` 2, moltd booted from
# it, then `molt --json install 2` timed while the clients call.
# _seconds is the reply's total_ms, the install as timed inside moltd (as
# the BEAM side times install_release inside the node; the wall time
# around the molt command, which adds the CLI's start on 2 busy cores,
# goes to stderr), _pause_max_ms the reply's pause.max_ms (from a
# counter's suspension to its resume, as the BEAM side traces), and
# _failed_calls the client calls that timed out (5 s) over the whole run.
# A run counts only if afterwards every counter runs counter 2 (none left
# on 1, code_change over all N), release 2 is current and the counters'
# sum equals the clients' calls; otherwise it says why on stderr. Until
# molt has an `install` command it says so on stderr and prints nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib.sh"

build=$(cd "${1:?usage: molt.sh BUILD_DIR [N] [RUNS]}" && pwd)
n=${2:-100000}
runs=${3:-3}
molt=$build/releasetool/molt
moltd=$build/runtime/moltd
work=$build/bench/work/install
root=$work/root
counter=$here/../counter
src=$(cd "$here/../.." && pwd)
# The modules include molt/banned.h as every project source does (STYLE.md
# §10): molt build's default flags name only the runtime's headers.
export MOLT_MODULE_CFLAGS="-I$src/runtime/include -I$src/common/include"

for b in "$molt" "$moltd"; do
	[[ -x $b ]] || { say "molt install: $b missing; not measured"; exit 0; }
done
probe=$("$molt" install 2>&1 || true)
if grep -q "unknown command 'install'" <<<"$probe"; then
	say "molt install: this molt has no 'install' command yet; not measured"
	exit 0
fi

# molt.json of the bench release at version $1 (the appup from 2 on): the
# counter application (its top supervisor the simple_one_for_one
# counter_sup, as OTP's counterapp) and counter_load (the pool and the
# clients, the work release_bench.erl does from outside the node), at
# version 1 in both releases.
molt_json() {
	local appup=
	[[ $1 == 2 ]] && appup='"appup": "counter.appup",'
	cat <<EOF
{
	"format": 1,
	"release": "counterrel",
	"applications": [
		{
			"name": "counter",
			"description": "counters for the install benchmark",
			"dir": "apps/counter",
			$appup
			"modules": [
				{"name": "counter", "sources": ["src/counter.c"]}
			],
			"deps": [],
			"supervisor": {
				"strategy": "simple_one_for_one",
				"name": "counter_sup",
				"intensity": 10,
				"period": 1,
				"children": [
					{"id": "counter", "module": "counter", "restart": "permanent"}
				]
			}
		},
		{
			"name": "counter_load",
			"vsn": "1",
			"description": "the install benchmark's counters and clients",
			"dir": "apps/counter_load",
			"modules": [
				{"name": "counter_load", "sources": ["src/counter_load.c"]}
			],
			"deps": ["counter"],
			"env": {"counters": $n, "clients": 8},
			"supervisor": {
				"strategy": "one_for_one",
				"intensity": 0,
				"period": 1,
				"children": [
					{"id": "load", "module": "counter_load", "args": "", "restart": "temporary"}
				]
			}
		}
	]
}
EOF
}

# The repository: v1 and v2 of the counter application (as
# fixtures/make-repo.sh, nothing from the caller's git configuration).
make_repo() {
	local repo=$work/repo app=$work/repo/apps/counter
	rm -rf "$repo"
	mkdir -p "$app/src" "$repo/apps/counter_load/src"
	(
		export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME=/nonexistent
		export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@molt.invalid
		export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@molt.invalid
		export GIT_AUTHOR_DATE="2026-01-01T00:00:00 +0000"
		export GIT_COMMITTER_DATE="$GIT_AUTHOR_DATE"
		cd "$repo"
		git init -q
		git symbolic-ref HEAD refs/heads/main
		cp "$counter/counter_load.c" apps/counter_load/src/counter_load.c
		cp "$counter/counter_v1.c" "$app/src/counter.c"
		molt_json 1 >molt.json
		git add -A
		git commit -qm "counter 1"
		git tag v1
		cp "$counter/counter_v2.c" "$app/src/counter.c"
		cat >"$app/counter.appup" <<'EOF'
{"2",
 [{"1", [{update, counter, {advanced, []}}]}],
 [{"1", [{update, counter, {advanced, []}}]}]}.
EOF
		molt_json 2 >molt.json
		git add -A
		git commit -qm "counter 2: state with a ring, code_change"
		git tag v2
	)
}

# A number from the install reply (one JSON line): the first "total_ms",
# and "max_ms" inside "pause".
total_ms() { grep -o '"total_ms":[0-9.eE+-]*' | head -n 1 | cut -d: -f2; }
pause_max_ms() {
	grep -o '"pause":{[^}]*}' | head -n 1 | grep -o '"max_ms":[0-9.eE+-]*' | cut -d: -f2
}

# moltd on a fresh root from bundle 1 with 2 unpacked, its counters and
# clients running; its pid in $pid.
boot() {
	rm -rf "$root"
	"$molt" init --root "$root" "$work/counterrel-1.tar.gz" >&2
	"$molt" unpack --root "$root" "$work/counterrel-2.tar.gz" >&2
	"$moltd" --root "$root" --log-level warn 2>"$work/moltd.log" &
	pid=$!
	for _ in $(seq 100); do
		"$molt" --root "$root" status >/dev/null 2>&1 && break
		sleep 0.1
	done
	"$molt" --root "$root" call counter_load ready --timeout 300000 >&2
}

# After the install: every counter under counter_sup runs counter 2 (the
# code_change step converted them all, none is left on 1) and release 2
# is current. Says what is wrong and fails otherwise.
check_upgraded() {
	local mods kids rels
	mods=$("$molt" --root "$root" --json modules | grep -o '{"name":"counter",[^}]*}')
	kids=$("$molt" --root "$root" call counter_sup count)
	rels=$("$molt" --root "$root" --json releases)
	grep -q "\"current\":\"2\",.*\"current_procs\":$n,\"old_procs\":0," <<<"$mods" &&
		[[ $kids == "$n" ]] &&
		grep -q '"vsn":"2","status":"current"' <<<"$rels" &&
		grep -q "\"instruction\":\"code_change\",\"modules\":\"counter\",\"ms\":[0-9.eE+-]*,\"processes\":$n}" <<<"$out" ||
		{ say "molt install: not all $n counters on 2: counter_sup has $kids, $mods, $rels"; return 1; }
}

# The clients' totals ("calls T failed F max_ms M sum S"); T must equal S.
check_sums() {
	awk -v s="$stats" 'BEGIN { split(s, f, " "); if (f[2] != f[8] || f[2] == 0) {
		printf "molt install: counters sum to %s, clients made %s calls\n", f[8], f[2] > "/dev/stderr"; exit 1 } }'
}

# One run: boot, install 2 while the clients call, check, stop the
# clients and the node, print the run's lines.
one_run() {
	local pid out stats t0 t1 ms ok=1
	boot
	sleep 0.5
	t0=$(date +%s%N)
	out=$("$molt" --root "$root" --json install 2) || ok=0
	t1=$(date +%s%N)
	[[ $ok == 1 ]] && { check_upgraded || ok=0; }
	sleep 0.3
	stats=$("$molt" --root "$root" call counter_load stop --timeout 60000) || ok=0
	"$molt" --root "$root" stop >/dev/null || kill "$pid"
	wait "$pid" || true
	say "  [molt] install: $out"
	say "  [molt] clients: $stats"
	[[ $ok == 1 ]] && check_sums || { say "molt install: run failed"; return 1; }
	ms=$(total_ms <<<"$out")
	say "  [molt] install: total_ms $ms in moltd, $(((t1 - t0) / 1000000)) ms by the clock around molt; all $n counters on 2"
	echo "install_${n}_seconds $(awk -v m="$ms" 'BEGIN { printf "%.4f", m / 1000 }') s"
	echo "install_${n}_pause_max_ms $(pause_max_ms <<<"$out") ms"
	echo "install_${n}_failed_calls $(awk '{ print $4 }' <<<"$stats") calls"
}

mkdir -p "$work"
say "molt install: release repository and bundles counterrel 1 and 2 in $work"
make_repo
"$molt" build --repo "$work/repo" --tag v1 -o "$work/" >&2
"$molt" build --repo "$work/repo" --tag v2 --relup-from v1 -o "$work/" >&2
say "molt install: install 2 with $n counters ($runs runs)"
for ((r = 0; r < runs; r++)); do
	one_run || true
done | median_lines
