#!/usr/bin/env bash
# e2e.release_handler: molt install / permanent / rollback / remove on real
# moltd nodes booted from roots made of the fixture repository's tags.
#  1. 1.0.0 -> 1.1.0 live, under a client loop (SET n i; GET n) that
#     must see no failure: the keys survive, kvs_server answers in its
#     new layout (OPS), RELEASES says 1.1.0 current, 1.0.0 permanent;
#  2. 1.1.0 -> 1.2.0 (kvs_stats stops, kvs_expiry starts) and back down;
#  3. a 1.3.0 relup with entries from 1.0.0 and 1.2.0: each node takes
#     the entry of the release it runs;
#  4. permanent and the refusals (exit 1 with a message; usage exit 2);
#  5. rollback to the permanent release (state converted back);
#  6. remove refuses the permanent and the current release, removes old;
#  7. kill -9 after an install: the node boots the permanent release,
#     the leftover current one is unpacked again and installs again;
#  8. a relup that adds an application starts it; the down one stops it;
#  9. molt --json install has from, to, direction and pause.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init "$1" relh
B=$T/bundles
R=$T/node
M="$MOLTBIN --root $R"

build_bundles v1.0.0 v1.1.0:v1.0.0 v1.2.0:v1.1.0 v1.3.0:v1.0.0,v1.2.0
new_root "$R" "$B/shop-1.0.0.tar.gz" "$B/shop-1.1.0.tar.gz" \
	"$B/shop-1.2.0.tar.gz" "$B/shop-1.3.0.tar.gz"

# expect_status VSN STATUS: RELEASES.json of $R gives VSN that status
expect_status() {
	local s
	s=$(status_of "$R" "$1")
	[ "$s" = "$2" ] || fail "release $1 is '$s', expected '$2' ($3)"
}
call() { $M call kvs_server "$1"; }
expect_call() {
	local got
	got=$(call "$1") || fail "molt call '$1' failed ($3)"
	[ "$got" = "$2" ] || fail "'$1' answered '$got', expected '$2' ($3)"
}
expect_keys() {
	expect_call "GET fruit" apple "$1"
	expect_call "GET veg" leek "$1"
	expect_call COUNT 3 "$1" # fruit, veg and the client loop's n
}
# expect_procs RUNS GONE WHEN: molt ps lists process RUNS, not GONE
expect_procs() {
	local ps
	ps=$($M ps)
	grep -q " $1 " <<<"$ps" || fail "$1 does not run $3: $ps"
	grep -q " $2 " <<<"$ps" && fail "$2 still runs $3: $ps"
	return 0
}
# run_rc CMD...: run, keep stdout+stderr in $out and the exit status in $rc
run_rc() {
	rc=0
	out=$("$@" 2>&1) || rc=$?
}
# expect_rc RC TEXT WHAT CMD...: CMD exits RC and its output has TEXT
expect_rc() {
	local want=$1 text=$2 what=$3
	shift 3
	run_rc "$@"
	[ "$rc" = "$want" ] && grep -qF -- "$text" <<<"$out" ||
		fail "$what: exit $rc (expected $want and '$text'): $out"
}

# A client loop against kvs_server until $T/stop exists: SET n i, then
# GET n must answer i. Writes "calls failures" to $T/client.out.
client_loop() {
	local i=0 f=0 v
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		v=$(call "SET n $i" 2>&1) || true
		[ "$v" = OK ] || { f=$((f + 1)); echo "SET n $i: $v" >>"$T/client.err"; }
		v=$(call "GET n" 2>&1) || true
		[ "$v" = "$i" ] || { f=$((f + 1)); echo "GET n ($i): $v" >>"$T/client.err"; }
		echo "$i" >"$T/client.n"
	done
	echo "$i $f" >"$T/client.out"
}
client_calls() {
	local n
	n=$(cat "$T/client.n" 2>/dev/null) || true
	echo "${n:-0}" # empty while the loop rewrites it
}
# wait until the loop has made $1 more rounds than it had
client_wait() {
	local until=$(($(client_calls) + $1))
	for _ in $(seq 500); do
		[ "$(client_calls)" -ge "$until" ] && return 0
		sleep 0.01
	done
	fail "the client loop is stuck at $(client_calls) rounds"
}
client_start() {
	rm -f "$T/stop" "$T/client.out" "$T/client.n" "$T/client.err"
	client_loop &
	CLIENT_PID=$!
	client_wait 5
}
client_end() {
	client_wait 5
	touch "$T/stop"
	wait "$CLIENT_PID"
	read -r calls fails <"$T/client.out"
	[ "$fails" = 0 ] || fail "$fails of $calls client rounds failed during $1: $(head -3 "$T/client.err")"
	echo "client loop during $1: $calls rounds, 0 failures"
}

# --- 1 + 9: 1.0.0 -> 1.1.0 under load, --json ---
node_boot "$R" || fail "moltd did not boot $R"
expect_call "SET fruit apple" OK "1.0.0"
expect_call "SET veg leek" OK "1.0.0"
expect_call OPS "ERR unknown command" "kvs_server 1.0.0 has no OPS"
client_start
expect_rc 0 "" "install 1.1.0" $M --json install 1.1.0
client_end "install 1.1.0"
for k in '"ok":true' '"from":"1.0.0"' '"to":"1.1.0"' '"direction":"up"' \
	'"committed":true' '"pause":{"processes":1,"max_ms":' '"instruction":"code_change","modules":"kvs_server"'; do
	grep -qF "$k" <<<"$out" || fail "install --json has no $k: $out"
done
expect_keys "after install 1.1.0"
# layout 2 counts requests from the upgrade on: a number, not an error
[[ $(call OPS) =~ ^[0-9]+$ ]] || fail "kvs_server 1.1.0 does not answer OPS: $(call OPS)"
expect_call "HITS fruit" 1 "layout 2 counts reads from the upgrade on: expect_keys made one"
expect_status 1.1.0 current "after install"
expect_status 1.0.0 permanent "after install"
$M status | grep -q '^release     shop 1.1.0$' || fail "molt status does not show shop 1.1.0"
$M status | grep -Eq '^  app       kvs +1\.1\.0 ' || fail "molt status does not show kvs 1.1.0"

# --- 2: 1.1.0 -> 1.2.0: the supervisor's children change; and back ---
client_start
expect_rc 0 'release shop 1.1.0 -> 1.2.0 (up script of releases/1.2.0/relup.json)' \
	"install 1.2.0" $M install 1.2.0
client_wait 5
expect_procs kvs_expiry kvs_stats "on 1.2.0"
expect_keys "after install 1.2.0"
expect_status 1.2.0 current "after install 1.2.0"
expect_status 1.1.0 old "after install 1.2.0"
expect_rc 0 'release shop 1.2.0 -> 1.1.0 (down script of releases/1.2.0/relup.json)' \
	"install 1.1.0 (down)" $M install 1.1.0
client_end "install 1.2.0 and back to 1.1.0"
expect_procs kvs_stats kvs_expiry "back on 1.1.0"
expect_keys "after the down install to 1.1.0"
expect_status 1.1.0 current "after the down install"
expect_status 1.2.0 old "after the down install"

# --- 5: rollback to the permanent 1.0.0 ---
expect_rc 0 '"dry_run":true' "rollback --dry-run" $M --json rollback --dry-run
expect_status 1.1.0 current "after rollback --dry-run"
client_start
expect_rc 0 'release shop 1.1.0 -> 1.0.0 (down script of releases/1.1.0/relup.json)' \
	"rollback" $M rollback
client_end "rollback"
$M status | grep -q '^release     shop 1.0.0$' || fail "rollback: the node does not run 1.0.0"
expect_keys "after rollback"
expect_call OPS "ERR unknown command" "kvs_server is 1.0.0 (layout 1) again"
expect_status 1.0.0 permanent "after rollback"
expect_status 1.1.0 old "after rollback"
expect_rc 1 'release 1.0.0 already runs on this node' \
	"a rollback with nothing to roll back" $M rollback

# --- 4: refusals, then permanent ---
snapshot() { (cd "$R" && find releases lib -type f -print0 | sort -z | xargs -0 sha256sum); }
before=$(snapshot)
expect_rc 1 'release 1.3.0 is unpacked: only the release the node runs (1.0.0) can be made permanent (molt install it first)' \
	"permanent of an unpacked release" $M permanent 1.3.0
expect_rc 1 'release 1.1.0 is old' "permanent of an old release" $M permanent 1.1.0
expect_rc 1 'no release 9.9.9' "permanent of an unknown release" $M permanent 9.9.9
expect_rc 1 'release 1.0.0 already runs on this node' \
	"install of the running release" $M install 1.0.0
expect_rc 1 "no release 9.9.9 in $R (it has: 1.3.0 (unpacked), 1.2.0 (old), 1.1.0 (old), 1.0.0 (permanent))" \
	"install of an unknown release" $M install 9.9.9
for args in "install" "install 1.1.0 1.2.0" "install --bogus 1.1.0" "permanent" \
	"permanent 1.1.0 1.2.0" "permanent --x" "rollback 1.0.0" "rollback --bogus"; do
	expect_rc 2 usage "molt $args" $M $args
done
[ "$(snapshot)" = "$before" ] || fail "a refused command changed the root"
expect_rc 0 "" "install 1.1.0 from old" $M install 1.1.0
expect_rc 0 'release 1.1.0 is permanent: the node boots it from now on' \
	"permanent 1.1.0" $M permanent 1.1.0
expect_status 1.1.0 permanent "after permanent"
expect_status 1.0.0 old "after permanent"
expect_rc 0 "" "permanent of the permanent release is not a no-op" $M permanent 1.1.0
expect_status 1.1.0 permanent "after permanent again"

# --- 6: remove ---
expect_rc 0 "" "install 1.2.0" $M install 1.2.0
before=$(snapshot)
expect_rc 1 'release 1.1.0 is permanent' "remove of the permanent release" $M remove 1.1.0
expect_rc 1 'release 1.2.0 is current' "remove of the current release" $M remove 1.2.0
[ "$(snapshot)" = "$before" ] || fail "a refused remove changed the root"
expect_rc 0 "" "remove of the old 1.0.0" $M remove 1.0.0
[ -z "$(status_of "$R" 1.0.0)" ] && [ ! -e "$R/releases/1.0.0" ] && [ ! -e "$R/lib/kvs-1.0.0" ] ||
	fail "remove 1.0.0 left it: $($M releases) $(ls "$R/lib")"
expect_keys "after remove 1.0.0"
node_stop

# --- 3: the relup entry of the running release ---
R3=$T/node3
new_root "$R3" "$B/shop-1.0.0.tar.gz" "$B/shop-1.3.0.tar.gz"
node_boot "$R3" || fail "moltd did not boot $R3"
expect_rc 0 "" "install 1.3.0 from 1.0.0" $MOLTBIN --root "$R3" --json install 1.3.0
for k in '"from":"1.0.0"' '"to":"1.3.0"' '"direction":"up"' \
	'"instruction":"code_change","modules":"kvs_server"' \
	'"instruction":"remove","modules":"kvs_stats"'; do
	grep -qF "$k" <<<"$out" || fail "install 1.3.0 from 1.0.0 did not run the 1.0.0 entry ($k): $out"
done
node_stop
new_root "$R3" "$B/shop-1.2.0.tar.gz" "$B/shop-1.3.0.tar.gz"
node_boot "$R3" || fail "moltd did not boot $R3 on 1.2.0"
expect_rc 0 "" "install 1.3.0 from 1.2.0" $MOLTBIN --root "$R3" --json install 1.3.0
grep -qF '"from":"1.2.0"' <<<"$out" &&
	grep -qF '"steps":[{"index":0,"instruction":"load_object_code","modules":"kvs_info,kvs_util"' <<<"$out" ||
	fail "install 1.3.0 from 1.2.0 did not run the 1.2.0 entry: $out"
grep -qE '"code_change"|"kvs_server"|"kvs_stats"' <<<"$out" &&
	fail "install 1.3.0 from 1.2.0 touched kvs_server or kvs_stats: $out"
node_stop

# --- 7: kill -9 after an install that was not made permanent ---
new_root "$R3" "$B/shop-1.0.0.tar.gz" "$B/shop-1.1.0.tar.gz"
M3="$MOLTBIN --root $R3"
node_boot "$R3" || fail "moltd did not boot $R3"
$M3 install 1.1.0 >/dev/null || fail "install 1.1.0"
[ "$(status_of "$R3" 1.1.0)" = current ] || fail "1.1.0 is not current"
node_kill9
node_boot "$R3" || fail "moltd did not boot after kill -9"
$M3 status | grep -q '^release     shop 1.0.0$' || fail "after kill -9 the node does not boot the permanent 1.0.0"
[ "$(status_of "$R3" 1.1.0)" = unpacked ] || fail "after kill -9 1.1.0 is $(status_of "$R3" 1.1.0), not unpacked"
[ "$(status_of "$R3" 1.0.0)" = permanent ] || fail "after kill -9 1.0.0 is not permanent"
$M3 install 1.1.0 >/dev/null || fail "install 1.1.0 again after kill -9"
$M3 status | grep -q '^release     shop 1.1.0$' || fail "install again after kill -9 does not run 1.1.0"
node_stop

# --- 8: a relup that adds an application ---
W=$T/two
mkdir -p "$W"
cp -R fixtures/apps/kvs/1.0.0/apps "$W/"
kvs='{"name": "kvs", "vsn": "1.0.0", "dir": "apps/kvs",
   "modules": [{"name": "kvs_server", "sources": ["src/kvs_server.c"]},
               {"name": "kvs_stats", "sources": ["src/kvs_stats.c"]},
               {"name": "kvs_util", "sources": ["src/kvs_util.c"]}],
   "supervisor": {"children": [{"id": "kvs_server", "module": "kvs_server"}]}}'
front='{"name": "front", "vsn": "1.0.0", "dir": "apps/front", "deps": ["kvs"],
   "modules": [{"name": "counter", "sources": ["src/counter.c"]}],
   "supervisor": {"children": [{"id": "c", "module": "counter", "args": "5"}]}}'
commit_tag() {
	git -C "$W" add -A
	git -C "$W" -c user.name=t -c user.email=t@t commit -qm "$1"
	git -C "$W" tag "$1"
}
git -C "$W" init -q
echo "{\"format\": 1, \"release\": \"two\", \"applications\": [$kvs]}" >"$W/molt.json"
commit_tag v1.0.0
mkdir -p "$W/apps/front/src"
cp fixtures/modules/counter.c "$W/apps/front/src/"
echo "{\"format\": 1, \"release\": \"two\", \"applications\": [$front, $kvs]}" >"$W/molt.json"
commit_tag v2.0.0
$MOLTBIN -q build --repo "$W" --tag v1.0.0 -o "$T/two-b/" >/dev/null || fail "build two 1.0.0"
$MOLTBIN -q build --repo "$W" --tag v2.0.0 --relup-from v1.0.0 -o "$T/two-b/" >/dev/null ||
	fail "build two 2.0.0"
tar -xzOf "$T/two-b/two-2.0.0.tar.gz" releases/2.0.0/relup.json | tr -d ' \n' |
	grep -qF '["apply",["application","start",["front","permanent"]]]' ||
	fail "the relup does not start the added application front"
R8=$T/node8
M8="$MOLTBIN --root $R8"
new_root "$R8" "$T/two-b/two-1.0.0.tar.gz" "$T/two-b/two-2.0.0.tar.gz"
node_boot "$R8" || fail "moltd did not boot two 1.0.0"
$M8 call kvs_server "SET k v" >/dev/null || fail "SET on two 1.0.0"
expect_rc 0 "" "install two 2.0.0" $M8 install 2.0.0
st=$($M8 --json status)
grep -Eq '"applications":\[\{"name":"kvs",[^]]*\},\{"name":"front","vsn":"1.0.0","supervisor":"<[0-9]+\.[0-9]+>"\}\]' <<<"$st" ||
	fail "status does not list the added application front after kvs: $st"
pid=$($M8 ps | awk '$3 == "counter" { print $1 }')
[ -n "$pid" ] || fail "front's counter does not run: $($M8 ps)"
[ "$($M8 call "$pid" get)" = 5 ] || fail "front's counter does not answer get with 5"
[ "$($M8 call kvs_server "GET k")" = v ] || fail "kvs lost its state when front was added"
expect_rc 0 "" "install two 1.0.0 (down)" $M8 install 1.0.0
st=$($M8 --json status)
grep -q '"name":"front"' <<<"$st" && fail "front still runs after the down install: $st"
$M8 ps | grep ' counter ' >/dev/null && fail "front's counter still runs after the down install"
[ "$($M8 call kvs_server "GET k")" = v ] || fail "kvs lost its state when front was removed"
node_stop
echo "ok"
