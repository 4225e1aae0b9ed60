#!/usr/bin/env bash
# e2e.boot_release: `moltd --root DIR` without --boot boots the root's
# permanent release, made by `molt build` from the fixture repository's
# v1.0.0 and `molt init`: molt status shows the release and its
# applications, kvs_server answers and reads its application's env
# (molt_app_env); a .so changed after the unpack, and a root with no
# permanent release, keep moltd from booting with an error naming why; in
# a release of two applications the one another depends on starts first.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-bootrel-XXXXXX")
R=$T/node
MOLT="$BUILD/releasetool/molt --root $R"
MOLTD_PID=
cleanup() {
	[ -n "$MOLTD_PID" ] && kill "$MOLTD_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/moltd.log" ] && tail -5 "$T/moltd.log"; exit 1; }

sh fixtures/make-repo.sh "$T/shop" >/dev/null
$MOLT -q build --repo "$T/shop" --tag v1.0.0 -o "$T/bundles/" >/dev/null
mkdir -m 0700 "$R" # moltd refuses a root its group can write (umask 002)
$MOLT init "$T/bundles/shop-1.0.0.tar.gz" >/dev/null 2>&1 || fail "molt init"
cp -a "$R" "$T/pristine"

# --- boot the permanent release ---
"$BUILD/runtime/moltd" --root "$R" 2>"$T/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do $MOLT status >/dev/null 2>&1 && break; sleep 0.05; done
st=$($MOLT --json status) || fail "molt status"
grep -q '"release":{"name":"shop","vsn":"1.0.0"}' <<<"$st" ||
	fail "status has no release shop 1.0.0: $st"
grep -Eq '"applications":\[\{"name":"kvs","vsn":"1.0.0","supervisor":"<[0-9]+\.[0-9]+>"\}\]' <<<"$st" ||
	fail "status does not list kvs 1.0.0 with its supervisor: $st"
$MOLT status | grep -q '^release     shop 1.0.0$' || fail "molt status text"
# the application's tree runs: kvs_server answers, kvs_stats is there
[ "$($MOLT call kvs_server 'SET fruit apple')" = OK ] || fail "SET"
[ "$($MOLT call kvs_server 'GET fruit')" = apple ] || fail "GET"
$MOLT ps | grep -q kvs_stats || fail "kvs_stats is not running"
# env of app.json ("env": {"max_keys": 100000}) reaches the module
[ "$($MOLT call kvs_server 'ENV max_keys')" = 100000 ] || fail "molt_app_env max_keys"
[ "$($MOLT call kvs_server 'ENV no_such_key')" = undefined ] || fail "molt_app_env of an unset key"
kill -TERM "$MOLTD_PID"
rc=0
wait "$MOLTD_PID" || rc=$?
MOLTD_PID=
[ "$rc" = 0 ] || fail "moltd exited with $rc"
grep -q 'booted release shop 1.0.0' "$T/moltd.log" || fail "no boot line in the log"

# --- a module changed after the unpack: moltd refuses to boot ---
so=$R/lib/kvs-1.0.0/modules/kvs_stats.so
printf 'x' >>"$so"
rc=0
"$BUILD/runtime/moltd" --root "$R" 2>"$T/moltd.log" || rc=$?
[ "$rc" = 1 ] || fail "moltd booted a tampered release (exit $rc)"
grep -q "$so: sha256 .* does not match releases/1.0.0/MANIFEST.sha256" "$T/moltd.log" ||
	fail "the error does not name the tampered file"
[ -S "$R/run/moltd.sock" ] && fail "a control socket was left behind"

# --- a changed app.json is refused as well (it is in the manifest) ---
rm -rf "$R" && cp -a "$T/pristine" "$R"
sed -i 's/100000/1/' "$R/lib/kvs-1.0.0/app.json"
rc=0
"$BUILD/runtime/moltd" --root "$R" 2>"$T/moltd.log" || rc=$?
[ "$rc" = 1 ] && grep -q "lib/kvs-1.0.0/app.json: sha256" "$T/moltd.log" ||
	fail "moltd booted with a changed app.json"

# --- no permanent release: a clear error ---
rm -rf "$R" && cp -a "$T/pristine" "$R"
sed -i 's/"permanent"/"unpacked"/' "$R/releases/RELEASES.json"
rc=0
"$BUILD/runtime/moltd" --root "$R" 2>"$T/moltd.log" || rc=$?
[ "$rc" = 1 ] && grep -q "RELEASES.json: no release is permanent" "$T/moltd.log" ||
	fail "no error for a root without a permanent release"
# --- two applications: "front" (listed first) depends on "kvs" ---
W=$T/two
mkdir -p "$W/apps/front/src"
cp -R fixtures/apps/kvs/1.0.0/apps "$W/"
cp fixtures/modules/counter.c "$W/apps/front/src/"
cat >"$W/molt.json" <<'JSON'
{"format": 1, "release": "two",
 "applications": [
  {"name": "front", "vsn": "1.0.0", "dir": "apps/front", "deps": ["kvs"],
   "modules": [{"name": "counter", "sources": ["src/counter.c"]}],
   "env": {"greeting": "hi"},
   "supervisor": {"children": [{"id": "c", "module": "counter", "args": "5"}]}},
  {"name": "kvs", "vsn": "1.0.0", "dir": "apps/kvs",
   "modules": [{"name": "kvs_server", "sources": ["src/kvs_server.c"]},
               {"name": "kvs_stats", "sources": ["src/kvs_stats.c"]},
               {"name": "kvs_util", "sources": ["src/kvs_util.c"]}],
   "env": {"region": "eu"},
   "supervisor": {"children": [{"id": "kvs_server", "module": "kvs_server"}]}}]}
JSON
git -C "$W" init -q
git -C "$W" add -A
git -C "$W" -c user.name=t -c user.email=t@t commit -qm two
git -C "$W" tag v2.0.0
$MOLT -q build --repo "$W" --tag v2.0.0 -o "$T/bundles/" >/dev/null
R2=$T/node2
mkdir -m 0700 "$R2"
"$BUILD/releasetool/molt" --root "$R2" init "$T/bundles/two-2.0.0.tar.gz" >/dev/null 2>&1 ||
	fail "molt init of two"
"$BUILD/runtime/moltd" --root "$R2" 2>"$T/moltd.log" &
MOLTD_PID=$!
M2="$BUILD/releasetool/molt --root $R2"
for _ in $(seq 100); do $M2 status >/dev/null 2>&1 && break; sleep 0.05; done
st=$($M2 --json status) || fail "molt status of two"
grep -Eq '"applications":\[\{"name":"kvs",[^]]*\},\{"name":"front",' <<<"$st" ||
	fail "kvs does not start before front, which depends on it: $st"
$M2 ps | grep -q counter || fail "front's counter is not running"
# kvs_server sees kvs's env, not front's
[ "$($M2 call kvs_server 'ENV region')" = '"eu"' ] || fail "ENV region"
[ "$($M2 call kvs_server 'ENV greeting')" = undefined ] || fail "front's env leaked into kvs"
kill -TERM "$MOLTD_PID"
rc=0
wait "$MOLTD_PID" || rc=$?
MOLTD_PID=
[ "$rc" = 0 ] || fail "moltd of two exited with $rc"
echo "ok"
