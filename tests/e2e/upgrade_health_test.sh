#!/usr/bin/env bash
# e2e.upgrade_health: what the release handler does when a release goes
# wrong, on a real node under molt run, with releases built from branches
# of the fixture repository:
#   - 1.1.1: a callback that runs for seconds (a SLOW cast) is seen as
#     hung by `molt upgrade --hung-ms`, which rolls back;
#   - 1.1.2: env changes and a code_change that fails: the install rolls
#     back and the env is as it was (OTP would keep the new env);
#   - 1.1.3: env changes and the install commits: the new env is read;
#     rolling back restores the old one;
#   - 1.1.4: an appup that asks for restart_new_emulator: moltd restarts
#     itself into the release (same pid, fresh processes), which is
#     current, then permanent;
#   - a node that crashes during the watch: molt run restarts it on the
#     permanent release and molt upgrade reports it, exit 1;
#   - a relup.json changed after the unpack: the install is refused.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-health-XXXXXX")
R=$T/node
export MOLT_ROOT=$R
MOLT="$BUILD/releasetool/molt"
RUN_PID=
cleanup() {
	"$MOLT" stop >/dev/null 2>&1 || true
	[ -n "$RUN_PID" ] && { wait "$RUN_PID" 2>/dev/null || true; }
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	[ -f "$T/run.log" ] && tail -15 "$T/run.log"
	exit 1
}
kv() { "$MOLT" call kvs_server "$*"; }
up() { for _ in $(seq 200); do "$MOLT" status >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

# --- the releases: 1.0.0 and 1.1.0 from the fixture, the rest from
# branches of v1.1.0, each a new kvs version with its own appup ---
sh fixtures/make-repo.sh "$T/shop" >/dev/null
G=(git -C "$T/shop" -c user.name=t -c user.email=t@example.com)
SRC=$T/shop/apps/kvs/src/kvs_server.c
# variant VSN 'APPUP UP-INSTRUCTIONS' [ENV]: a branch of v1.1.0 tagged vVSN
variant() {
	"${G[@]}" checkout -q -B "b$1" v1.1.0
	sed -i "s/\"vsn\": \"1.1.0\"/\"vsn\": \"$1\"/" "$T/shop/molt.json"
	[ -z "${3:-}" ] || sed -i "s/\"max_keys\": 100000/\"max_keys\": $3/" "$T/shop/molt.json"
	printf '{"%s",\n [{"1.1.0", [%s]}],\n [{"1.1.0", [%s]}]}.\n' "$1" "$2" "$2" \
		>"$T/shop/apps/kvs/kvs.appup"
}
commit() { "${G[@]}" commit -qam "kvs $1"; "${G[@]}" tag "v$1"; }

variant 1.1.1 '{load_module, kvs_server}'
# a SLOW cast keeps the callback busy for 2 s
sed -i 's|	if (msg->len == 5 \&\& memcmp(msg->data, "FLUSH", 5) == 0) {|	if (msg->len == 4 \&\& memcmp(msg->data, "SLOW", 4) == 0)\n\t\tsleep(2);\n&|' "$SRC"
sed -i 's|#include <string.h>|#include <string.h>\n#include <unistd.h>|' "$SRC"
grep -q 'sleep(2)' "$SRC" || fail "could not make the slow variant"
commit 1.1.1
variant 1.1.2 '{update, kvs_server, {advanced, []}}' 7 # 1.1.0's code_change refuses 1.1.0
commit 1.1.2
variant 1.1.3 '{load_module, kvs_server}' 9
commit 1.1.3
variant 1.1.4 'restart_new_emulator'
commit 1.1.4
"${G[@]}" checkout -q main

B=$T/b
for t in v1.0.0 "v1.1.0 --relup-from v1.0.0" "v1.1.1 --relup-from v1.1.0" \
	"v1.1.2 --relup-from v1.1.0" "v1.1.3 --relup-from v1.1.0" "v1.1.4 --relup-from v1.1.0"; do
	# shellcheck disable=SC2086
	"$MOLT" -q build --repo "$T/shop" --tag $t -o "$B/" >/dev/null || fail "build $t"
done

mkdir -m 0700 "$R"
"$MOLT" -q init "$B/shop-1.0.0.tar.gz" >/dev/null 2>&1 || fail "molt init"
MOLT_RUN_BACKOFF_MS=50 "$MOLT" run 2>"$T/run.log" &
RUN_PID=$!
up || fail "the node did not come up"
kv SET fruit apple >/dev/null
"$MOLT" -q upgrade "$B/shop-1.1.0.tar.gz" --permanent >/dev/null || fail "upgrade to 1.1.0"
[ "$(kv GET fruit)" = apple ] || fail "1.1.0 lost the data"

status() { "$MOLT" releases | awk -v v="$1" '$2 == v {print $3}'; }

# --- 1.1.1: a callback that hangs is caught by the watch ---
(sleep 1; "$MOLT" cast kvs_server SLOW) &
rc=0
out=$("$MOLT" upgrade "$B/shop-1.1.1.tar.gz" --watch 4 --interval 100 --hung-ms 700 2>&1) || rc=$?
wait $! 2>/dev/null || true
[ "$rc" = 1 ] || fail "a hung callback did not fail the upgrade (exit $rc): $out"
grep -q 'a callback hangs: handle_cast of <[0-9.]*> kvs_server' <<<"$out" || fail "no hang reported: $out"
grep -q 'rolled back to 1.1.0' <<<"$out" || fail "not rolled back: $out"
[ "$(status 1.1.1)" = old ] && [ "$(status 1.1.0)" = permanent ] || fail "statuses after the hang: $("$MOLT" releases)"
[ "$(kv GET fruit)" = apple ] || fail "data lost in the rollback"

# --- 1.1.2: env changes, code_change fails: env untouched ---
[ "$(kv ENV max_keys)" = 100000 ] || fail "env before"
rc=0
out=$("$MOLT" upgrade "$B/shop-1.1.2.tar.gz" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a failing code_change installed (exit $rc): $out"
grep -q 'code_change' <<<"$out" || fail "the failure does not name code_change: $out"
[ "$(kv ENV max_keys)" = 100000 ] || fail "a failed install changed the env"
[ "$(status 1.1.2)" = unpacked ] || fail "1.1.2 is not unpacked after its failed install"
"$MOLT" status | grep -q '^release     shop 1.1.0$' || fail "the node left 1.1.0"

# --- 1.1.3: env changes with the install, and back with the rollback ---
"$MOLT" -q upgrade "$B/shop-1.1.3.tar.gz" >/dev/null || fail "upgrade to 1.1.3"
[ "$(kv ENV max_keys)" = 9 ] || fail "1.1.3's env not in effect: $(kv ENV max_keys)"
"$MOLT" status | grep -q '^  app       kvs              1.1.3' || fail "status does not show kvs 1.1.3"
"$MOLT" rollback >/dev/null || fail "rollback from 1.1.3"
[ "$(kv ENV max_keys)" = 100000 ] || fail "the rollback did not restore the env"

# --- a crash during the watch: molt run restarts the node on the
# permanent release, molt upgrade says so ---
rc=0
out=$(PATH="$BUILD/releasetool:$PATH" "$MOLT" upgrade "$B/shop-1.1.3.tar.gz" --health-cmd \
	"kill -9 \$(molt --json status | grep -o '\"pid\":[0-9]*' | cut -d: -f2)" \
	--watch 3 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a crash during the watch did not fail the upgrade (exit $rc): $out"
grep -q 'the node restarted' <<<"$out" || fail "the restart is not reported: $out"
up || fail "molt run did not bring the node back"
"$MOLT" status | grep -q '^release     shop 1.1.0$' || fail "the node did not come back on 1.1.0"
[ "$(status 1.1.3)" = unpacked ] || fail "1.1.3 is not unpacked after the crash: $("$MOLT" releases)"

# --- a relup.json changed after the unpack is refused (manifest) ---
cp "$R/releases/1.1.3/relup.json" "$T/relup.keep"
printf ' ' >>"$R/releases/1.1.3/relup.json"
rc=0
out=$("$MOLT" install 1.1.3 2>&1) || rc=$?
[ "$rc" = 1 ] && grep -q 'releases/1.1.3/relup.json: sha256' <<<"$out" ||
	fail "a changed relup.json was not refused (exit $rc): $out"
cp "$T/relup.keep" "$R/releases/1.1.3/relup.json"
"$MOLT" status | grep -q '^release     shop 1.1.0$' || fail "the refused install changed the node"

# --- 1.1.4: restart_new_emulator: a restart into the release ---
pid=$("$MOLT" --json status | grep -o '"pid":[0-9]*' | cut -d: -f2)
out=$("$MOLT" install 1.1.4 2>&1) || {
	"$MOLT" -q unpack "$B/shop-1.1.4.tar.gz" >/dev/null 2>&1 || fail "unpack 1.1.4"
	out=$("$MOLT" install 1.1.4 2>&1) || fail "install 1.1.4: $out"
}
grep -q 'restarts the node into 1.1.4' <<<"$out" || fail "no restart announced: $out"
sleep 0.3
up || fail "the node did not come back after the restart"
"$MOLT" status | grep -q '^release     shop 1.1.4$' || fail "the node is not on 1.1.4: $("$MOLT" status)"
[ "$("$MOLT" --json status | grep -o '"pid":[0-9]*' | cut -d: -f2)" = "$pid" ] ||
	fail "the restart was not an exec of the same moltd"
[ "$(kv GET fruit)" = nil ] || fail "state was carried across the restart"
[ "$(status 1.1.4)" = current ] || fail "1.1.4 is not current after the restart"
"$MOLT" permanent 1.1.4 >/dev/null || fail "permanent 1.1.4"
[ "$(status 1.1.4)" = permanent ] || fail "1.1.4 not permanent"

echo "ok"
