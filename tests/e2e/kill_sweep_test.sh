#!/usr/bin/env bash
# e2e.kill_sweep: kill -9 of molt or moltd at any point of unpack,
# install, permanent, rollback, remove (and of a boot that cleans up after
# a crash) leaves a root that boots into a consistent release.
#
# How kill points are chosen:
#  - every step: killshim.c, preloaded, SIGKILLs the process right before
#    its Nth call that changes the file system (open for writing, write,
#    fsync, rename, unlink, mkdir, rmdir, flock...). For each operation N
#    runs 1, 2, 3, ... until the operation gets to its end unkilled, so
#    every boundary between two such calls is one kill point, and the
#    run that completes is checked too. molt is killed for unpack and
#    remove (the client does the work); moltd for install, permanent and
#    rollback (the node does the work under the root lock; the shim is
#    armed by a file created just before the command, so the boot's own
#    calls are not counted), and for its boot over a leftover `current`
#    release (which it marks unpacked).
#  - random points: moltd or the molt client killed after a random delay
#    (0-30 ms, seeded; the seed is printed) while `molt install` runs,
#    and molt killed after a random delay during unpack.
#
# After each kill the root must be consistent: `molt releases --json`
# parses RELEASES.json, exactly one release is permanent, the files of
# every listed release match its releases/VSN/MANIFEST.sha256
# (sha256sum -c), and a fresh moltd boots and `molt status` shows the
# permanent release. The last line says "N/N kill points booted into a
# consistent release".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init "$1" kill
SHIM=$2
# bash reports every job killed by a signal: here that is the point
exec 2> >(grep -v '^.*: line [0-9]*: *[0-9]* Killed ' >&2)
# sanitizer builds: the shim comes before the ASan runtime
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
B=$T/bundles
R=$T/node
SEED=${MOLT_KILL_SEED:-$$}
RANDOM=$SEED
POINTS=0
GOOD=0
BAD=()

build_bundles v1.0.0 v1.1.0:v1.0.0
new_root "$T/p-init" "$B/shop-1.0.0.tar.gz"
new_root "$T/p-unpacked" "$B/shop-1.0.0.tar.gz" "$B/shop-1.1.0.tar.gz"

reset_root() {
	rm -rf "$R"
	cp -a "$1" "$R"
	: >"$T/steps.log"
}

# check_root WHAT: the root is consistent and boots its permanent release
check_root() {
	local rels perm v why=
	if ! rels=$("$MOLTBIN" --root "$R" --json releases 2>&1); then
		why="RELEASES.json does not read: $rels"
	elif [ "$(grep -o '"status":"permanent"' <<<"$rels" | wc -l)" != 1 ]; then
		why="not exactly one permanent release: $rels"
	else
		perm=$(grep -o '"vsn":"[^"]*","status":"permanent"' <<<"$rels" | cut -d'"' -f4)
		for v in $(grep -o '"name":"shop","vsn":"[^"]*"' <<<"$rels" | cut -d'"' -f8); do
			(cd "$R" && sha256sum --quiet -c "releases/$v/MANIFEST.sha256" >/dev/null 2>&1) ||
				why="release $v does not match its manifest"
		done
	fi
	if [ -z "$why" ]; then
		if ! node_boot "$R"; then
			why="moltd does not boot: $(tail -1 "$T/moltd.log")"
		elif ! grep -q "^release     shop $perm\$" <<<"$NODE_STATUS"; then
			why="the node does not run the permanent $perm"
		fi
		node_kill9
	fi
	if [ -z "$1" ]; then # the run that completed: not a kill point
		[ -z "$why" ] || fail "after a completed run: $why"
		return 0
	fi
	POINTS=$((POINTS + 1))
	if [ -z "$why" ]; then
		GOOD=$((GOOD + 1))
	else # the last step the killed process made, for the report
		BAD+=("$1 [after: $(tail -1 "$T/steps.log")]: $why")
	fi
}

# sweep_molt OP PRISTINE ARGS...: molt ARGS killed before each step
sweep_molt() {
	local op=$1 pristine=$2 n rc
	shift 2
	for n in $(seq 400); do
		reset_root "$pristine"
		rc=0
		env LD_PRELOAD="$SHIM" MOLT_KILL_AT="$n" MOLT_KILL_LOG="$T/steps.log" \
			"$MOLTBIN" -q --root "$R" "$@" >/dev/null 2>&1 || rc=$?
		if [ "$rc" != 137 ]; then
			[ "$rc" = 0 ] || fail "molt $* exited $rc unkilled"
			check_root ""
			echo "$op: $((n - 1)) kill points (molt killed before each step; ${SECONDS}s)"
			return 0
		fi
		check_root "$op: molt killed before step $n"
	done
	fail "molt $* has more than 400 steps"
}

# dying PID: PID is gone or a zombie within 2 s (its client sees the
# socket close before the shell reaps it)
dying() {
	for _ in $(seq 100); do
		alive "$1" || return 0
		sleep 0.02
	done
	return 1
}

# moltd on $R with the shim, armed by $T/arm; PREP (a molt command line,
# may be empty) runs before the arming
boot_armed() {
	rm -f "$T/arm"
	env LD_PRELOAD="$SHIM" MOLT_KILL_AT="$1" MOLT_KILL_ARM="$T/arm" \
		MOLT_KILL_LOG="$T/steps.log" "$MOLTDBIN" --root "$R" 2>>"$T/moltd.log" &
	NODE_PID=$!
	node_wait "$R" || fail "moltd did not boot under the shim"
	[ -z "$2" ] || "$MOLTBIN" -q --root "$R" $2 >/dev/null || fail "molt $2"
	touch "$T/arm"
}

# sweep_node OP PRISTINE PREP ARGS...: moltd killed before each step of
# what molt ARGS asks it to do
sweep_node() {
	local op=$1 pristine=$2 prep=$3 n rc
	shift 3
	for n in $(seq 200); do
		reset_root "$pristine"
		boot_armed "$n" "$prep"
		rc=0
		"$MOLTBIN" -q --root "$R" "$@" >/dev/null 2>&1 || rc=$?
		if [ "$rc" = 0 ]; then # moltd replied: it made every step
			node_kill9 # after the commit: the last point, not counted
			check_root ""
			echo "$op: $((n - 1)) kill points (moltd killed before each step; ${SECONDS}s)"
			return 0
		fi
		dying "$NODE_PID" || fail "molt $* exited $rc, moltd was not killed"
		node_kill9 # reaps it
		check_root "$op: moltd killed before step $n"
	done
	fail "moltd's part of molt $* has more than 200 steps"
}

# A root whose RELEASES.json says 1.1.0 current: a node killed after an
# install that was not made permanent.
reset_root "$T/p-unpacked"
node_boot "$R" || fail "moltd did not boot"
"$MOLTBIN" -q --root "$R" install 1.1.0 >/dev/null || fail "install 1.1.0"
node_kill9
[ "$(status_of "$R" 1.1.0)" = current ] || fail "1.1.0 is not current after install"
cp -a "$R" "$T/p-current"

# --- every step ---
sweep_molt unpack "$T/p-init" unpack "$B/shop-1.1.0.tar.gz"
sweep_molt remove "$T/p-unpacked" remove 1.1.0
sweep_node install "$T/p-unpacked" "" install 1.1.0
sweep_node permanent "$T/p-unpacked" "install 1.1.0" permanent 1.1.0
sweep_node rollback "$T/p-unpacked" "install 1.1.0" rollback
for n in $(seq 50); do # the boot that marks a leftover current unpacked
	reset_root "$T/p-current"
	env LD_PRELOAD="$SHIM" MOLT_KILL_AT="$n" MOLT_KILL_LOG="$T/steps.log" \
		"$MOLTDBIN" --root "$R" 2>>"$T/moltd.log" &
	NODE_PID=$!
	if node_wait "$R"; then
		node_kill9
		[ "$(status_of "$R" 1.1.0)" = unpacked ] || fail "the boot did not mark 1.1.0 unpacked"
		check_root ""
		echo "boot over a current release: $((n - 1)) kill points"
		break
	fi
	wait "$NODE_PID" || true
	NODE_PID=
	check_root "boot over a current 1.1.0: moltd killed before step $n"
done

# --- random points (seed $SEED) ---
delay() { printf '0.%03d' $((RANDOM % 30)); }
for i in $(seq 6); do
	d=$(delay)
	reset_root "$T/p-unpacked"
	node_boot "$R" || fail "moltd did not boot"
	"$MOLTBIN" -q --root "$R" install 1.1.0 >/dev/null 2>&1 &
	sleep "$d"
	node_kill9
	wait $! || true
	check_root "install: moltd killed after ${d}s"

	reset_root "$T/p-unpacked"
	node_boot "$R" || fail "moltd did not boot"
	"$MOLTBIN" -q --root "$R" install 1.1.0 >/dev/null 2>&1 &
	sleep "$d"
	kill -9 $! 2>/dev/null || true
	wait $! || true
	node_wait "$R" || fail "moltd died with its client"
	node_kill9
	check_root "install: molt killed after ${d}s"

	reset_root "$T/p-init"
	"$MOLTBIN" -q --root "$R" unpack "$B/shop-1.1.0.tar.gz" >/dev/null 2>&1 &
	sleep "$d"
	kill -9 $! 2>/dev/null || true
	wait $! || true
	check_root "unpack: molt killed after ${d}s"
done
echo "random points: seed $SEED (MOLT_KILL_SEED=$SEED replays them)"

for b in "${BAD[@]}"; do echo "INCONSISTENT: $b"; done
echo "$GOOD/$POINTS kill points booted into a consistent release"
[ "$GOOD" = "$POINTS" ] || fail "$((POINTS - GOOD)) kill points left an inconsistent root"
