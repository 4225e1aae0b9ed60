#!/usr/bin/env bash
# e2e.run: `molt run --root DIR` supervises moltd like OTP's heart. It
# finds moltd in the build tree and boots the permanent release (molt
# status answers, the log says "ready" from moltd's READY=1); after kill -9
# of moltd it starts it again on the same release; `molt stop` ends molt
# run with 0, and so does SIGTERM to molt run (the node stops with it);
# SIGKILL of molt run takes moltd down (PR_SET_PDEATHSIG); a moltd that
# keeps failing (/bin/false, a tampered release) makes it give up with 1
# after --max-restarts restarts, naming the last exit status; a moltd that
# refuses its command line is not restarted (exit 2); the commands of
# docs/releases.md "Without systemd: molt run" work as written.
# MOLT_RUN_BACKOFF_MS=20 keeps the restarts fast.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-run-XXXXXX")
R=$T/node
MOLT="$BUILD/releasetool/molt --root $R"
RUN_PID=
cleanup() {
	[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null || true
	pkill_moltd
	rm -rf "$T"
}
# the moltd of this test's root, if one still answers
moltd_pid() { $MOLT --json status 2>/dev/null | grep -o '"pid":[0-9]*' | cut -d: -f2; }
pkill_moltd() { local p; p=$(moltd_pid) && [ -n "$p" ] && kill "$p" 2>/dev/null || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/run.log" ] && tail -8 "$T/run.log"; exit 1; }
export MOLT_RUN_BACKOFF_MS=20

sh fixtures/make-repo.sh "$T/shop" >/dev/null
$MOLT -q build --repo "$T/shop" --tag v1.0.0 -o "$T/bundles/" >/dev/null
mkdir -m 0700 "$R"
$MOLT init "$T/bundles/shop-1.0.0.tar.gz" >/dev/null 2>&1 || fail "molt init"
cp -a "$R" "$T/pristine"

start_run() {
	$MOLT run "$@" 2>"$T/run.log" &
	RUN_PID=$!
}
# wait until the node answers with a pid other than $1
wait_up() {
	for _ in $(seq 200); do
		p=$(moltd_pid) && [ -n "$p" ] && [ "$p" != "${1:-}" ] && return 0
		sleep 0.05
	done
	fail "the node did not come up"
}
# wait for molt run to exit; its status in rc
wait_run() {
	rc=0
	wait "$RUN_PID" || rc=$?
	RUN_PID=
}

# --- molt run boots the node; moltd found in the build tree ---
start_run
wait_up
head -1 "$T/run.log" | grep -q "moltd $BUILD/runtime/moltd (build tree of molt)" ||
	fail "the first line does not say which moltd: $(head -1 "$T/run.log")"
$MOLT status | grep -q '^release     shop 1.0.0$' || fail "molt status"
for _ in $(seq 100); do grep -q 'is ready: running release shop 1.0.0' "$T/run.log" && break; sleep 0.05; done
grep -q 'is ready: running release shop 1.0.0' "$T/run.log" || fail "no ready line (READY=1)"

# --- kill -9 of moltd: restarted on the permanent release ---
first=$(moltd_pid)
kill -9 "$first"
wait_up "$first"
$MOLT status | grep -q '^release     shop 1.0.0$' || fail "status after the restart"
grep -q "moltd pid $first killed by signal 9" "$T/run.log" || fail "no exit line for the kill"
grep -q 'restarting in 20 ms' "$T/run.log" || fail "no restart line"
[ "$(grep -c 'started moltd pid' "$T/run.log")" = 2 ] || fail "not started twice"

# --- molt stop: moltd exits 0, so does molt run ---
$MOLT stop >/dev/null || fail "molt stop"
wait_run
[ "$rc" = 0 ] || fail "molt run exited $rc after molt stop"
grep -q 'exited with status 0' "$T/run.log" || fail "no clean exit line"

# --- SIGTERM to molt run: the node stops, molt run exits 0 ---
start_run
wait_up
kill -TERM "$RUN_PID"
wait_run
[ "$rc" = 0 ] || fail "molt run exited $rc after SIGTERM"
grep -q 'SIGTERM: sending SIGTERM to moltd pid' "$T/run.log" || fail "SIGTERM not forwarded"
moltd_pid >/dev/null && fail "the node still answers after SIGTERM"
[ -S "$R/run/moltd.sock" ] && fail "moltd left its socket: not a clean stop"

# --- SIGKILL of molt run: moltd gets SIGTERM (PR_SET_PDEATHSIG) ---
start_run
wait_up
p=$(moltd_pid)
kill -9 "$RUN_PID"
wait_run
for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
kill -0 "$p" 2>/dev/null && fail "moltd $p outlived molt run"

# --- a moltd that keeps failing: give up after N restarts, exit 1 ---
start_run --moltd /bin/false --max-restarts 2 --within 60
wait_run
[ "$rc" = 1 ] || fail "molt run --moltd /bin/false exited $rc"
[ "$(grep -c 'started moltd pid' "$T/run.log")" = 3 ] || fail "not 1 start + 2 restarts"
grep -q 'died 3 times within 60 s, last exited with status 1: giving up' "$T/run.log" ||
	fail "no give-up line naming the status"

# --- a release that fails to verify: the same ---
printf 'x' >>"$R/lib/kvs-1.0.0/modules/kvs_stats.so"
start_run --max-restarts 1 --within 60
wait_run
[ "$rc" = 1 ] || fail "molt run on a tampered release exited $rc"
grep -q 'kvs_stats.so: sha256' "$T/run.log" || fail "moltd's reason is not in the log"
grep -q 'giving up' "$T/run.log" || fail "no give-up line for the tampered release"
rm -rf "$R" && cp -a "$T/pristine" "$R"

# --- a bad moltd command line is not restarted; usage errors exit 2 ---
start_run -- --no-such-option
wait_run
[ "$rc" = 2 ] && grep -q 'refused its command line' "$T/run.log" ||
	fail "a bad moltd argument: exit $rc"
rc=0
$MOLT run --max-restarts x 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "molt run --max-restarts x exited $rc"

# --- docs/releases.md "Without systemd: molt run" works as written ---
script=$(awk '/^### Without systemd: molt run/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' \
	docs/releases.md | sed "s|/tmp/node|$R|g")
[ -n "$script" ] || fail "no sh block in docs/releases.md"
out=$(PATH="$BUILD/releasetool:$PATH" bash -e -c "$script" 2>&1) ||
	fail "the doc's commands failed: $out"
grep -q '^release     shop 1.0.0$' <<<"$out" || fail "the doc's node is not on shop 1.0.0: $out"
grep -q 'killed by signal 9' <<<"$out" && grep -q 'exited with status 0' <<<"$out" ||
	fail "the doc's log lacks the kill or the clean exit: $out"
echo "ok"
