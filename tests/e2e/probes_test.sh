#!/usr/bin/env bash
# e2e.probes: moltd's USDT probes (docs/observability.md) seen by bpftrace
# on a real node: every probe fires at least once while the node handles
# calls, a crash and restart, an upgrade and a failed one. Exit 77
# (skipped, with a message) where bpftrace is missing or cannot attach.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-probes-XXXXXX")
R=$T/node
MOLT="$BUILD/releasetool/molt --root $R"
LIB=$BUILD/runtime/libmolt_runtime.so
MOLTD_PID= BT_PID=
cleanup() {
	[ -n "$BT_PID" ] && kill "$BT_PID" 2>/dev/null || true
	[ -n "$MOLTD_PID" ] && kill "$MOLTD_PID" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$T/bt.out" 2>/dev/null; exit 1; }
skip() { echo "SKIP e2e.probes: $*"; exit 77; }

command -v bpftrace >/dev/null || skip "bpftrace is not installed"
readelf -n "$LIB" 2>/dev/null | grep -q stapsdt ||
	skip "the runtime was built without <sys/sdt.h> (systemtap-sdt-dev)"
timeout 20 bpftrace -e 'BEGIN { exit(); }' >/dev/null 2>&1 ||
	skip "bpftrace cannot run here (no BPF permission?)"

mkdir -m 0700 "$R"
for v in 1.0.0 2.0.0; do
	mkdir -p "$R/lib/counter-$v"
	cp "$BUILD/fixtures/counter-$v/counter.so" "$R/lib/counter-$v/"
done
cp "$BUILD/fixtures/crasher-1.0.0/crasher.so" "$R/lib/"
cat >"$R/boot.json" <<'JSON'
{"format": 1, "modules": ["lib/counter-1.0.0/counter.so", "lib/crasher.so"],
 "root": {"strategy": "one_for_one", "intensity": 5, "period": 5,
  "children": [{"id": "c", "module": "counter", "args": "1", "name": "c"},
               {"id": "x", "module": "crasher", "name": "x"}]}}
JSON
"$BUILD/runtime/moltd" --root "$R" --boot "$R/boot.json" 2>"$T/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do $MOLT status >/dev/null 2>&1 && break; sleep 0.05; done

probes="spawn exit send receive callback_entry callback_return suspend
code_change resume upgrade_begin upgrade_commit upgrade_rollback"
prog=
for p in $probes; do prog="$prog usdt:$LIB:molt:$p { @$p = count(); }"; done
timeout 60 bpftrace -p "$MOLTD_PID" -e "$prog usdt:$LIB:molt:upgrade_rollback { exit(); }" \
	>"$T/bt.out" 2>&1 &
BT_PID=$!
for _ in $(seq 200); do grep -q Attaching "$T/bt.out" && break; sleep 0.05; done
grep -q Attaching "$T/bt.out" || skip "bpftrace could not attach: $(head -3 "$T/bt.out")"
sleep 1 # attaching says so before the last probe is armed

$MOLT call c incr >/dev/null
$MOLT call x crash >/dev/null 2>&1 || true # exit, then the restart's spawn
cat >"$T/up.json" <<'JSON'
[["load_object_code", ["counter", "2.0.0", ["counter"]]], "point_of_no_return",
 ["suspend", ["counter"]], ["load", ["counter", "brutal_purge", "brutal_purge"]],
 ["code_change", "up", [["counter", []]]], ["resume", ["counter"]],
 ["purge", ["counter"]]]
JSON
cat >"$T/bad.json" <<'JSON'
[["load_object_code", ["counter", "1.0.0", ["counter"]]], "point_of_no_return",
 ["suspend", ["counter"]], ["apply", ["counter", "fail", []]],
 ["resume", ["counter"]]]
JSON
$MOLT -q eval "$T/up.json" --lib-dir "$R/lib" >/dev/null || fail "upgrade"
$MOLT -q eval "$T/bad.json" --lib-dir "$R/lib" >/dev/null 2>&1 && fail "bad eval committed"
wait "$BT_PID" || true
BT_PID=
for p in $probes; do
	grep -Eq "^@$p: [1-9]" "$T/bt.out" || fail "probe $p did not fire"
done
echo "ok: all 12 probes fired"
