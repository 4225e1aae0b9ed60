#!/usr/bin/env bash
# e2e.upgrade: a real moltd in the release layout ROOT/lib/APP-VSN/MOD.so,
# upgraded and downgraded by `molt eval`, with a dry run and a rollback.
set -euo pipefail
BUILD=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-upg-XXXXXX")
R=$T/node
MOLT="$BUILD/releasetool/molt --root $R"
MOLTD_PID=
cleanup() {
	[ -n "$MOLTD_PID" ] && kill "$MOLTD_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$T/moltd.log" ] && tail -5 "$T/moltd.log"; exit 1; }

mkdir -m 0700 "$R" # moltd refuses a root its group can write (umask 002)
for v in 1.0.0 2.0.0 3.0.0; do
	mkdir -p "$R/lib/counter-$v"
	cp "$BUILD/fixtures/counter-$v/counter.so" "$R/lib/counter-$v/"
done
cat > "$R/boot.json" <<'JSON'
{"format": 1, "modules": ["lib/counter-1.0.0/counter.so"],
 "root": {"strategy": "one_for_one", "intensity": 3, "period": 5,
  "children": [{"id": "c1", "module": "counter", "args": "10", "name": "c1"},
               {"id": "c2", "module": "counter", "args": "20", "name": "c2"},
               {"id": "c3", "module": "counter", "args": "30", "name": "c3"},
               {"id": "c4", "module": "counter", "args": "666", "name": "c4"}]}}
JSON
"$BUILD/runtime/moltd" --root "$R" --boot "$R/boot.json" 2>"$T/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do $MOLT status >/dev/null 2>&1 && break; sleep 0.05; done
$MOLT call c1 incr >/dev/null

cat > "$T/up.json" <<'JSON'
[["load_object_code", ["counter", "2.0.0", ["counter"]]],
 "point_of_no_return",
 ["suspend", ["counter"]],
 ["load", ["counter", "brutal_purge", "brutal_purge"]],
 ["code_change", "up", [["counter", []]]],
 ["resume", ["counter"]],
 ["purge", ["counter"]]]
JSON
cat > "$T/down.json" <<'JSON'
[["load_object_code", ["counter", "1.0.0", ["counter"]]],
 "point_of_no_return",
 ["suspend", ["counter"]],
 ["code_change", "down", [["counter", []]]],
 ["load", ["counter", "brutal_purge", "brutal_purge"]],
 ["resume", ["counter"]],
 ["purge", ["counter"]]]
JSON
cat > "$T/bad.json" <<'JSON'
[["load_object_code", ["counter", "2.0.0", ["counter"]]],
 "point_of_no_return",
 ["suspend", ["counter"]],
 ["load", ["counter", "brutal_purge", "brutal_purge"]],
 ["code_change", "up", [["counter", []]]],
 ["apply", ["counter", "fail", []]],
 ["resume", ["counter"]]]
JSON
cat > "$T/v3.json" <<'JSON'
[["load_object_code", ["counter", "3.0.0", ["counter"]]],
 "point_of_no_return",
 ["suspend", ["counter"]],
 ["load", ["counter", "brutal_purge", "brutal_purge"]],
 ["code_change", "up", [["counter", []]]],
 ["resume", ["counter"]]]
JSON

out=$($MOLT eval "$T/up.json" --dry-run) || fail "dry run: $out"
grep -q "suspend would touch 4 processes" <<<"$out" || fail "dry run plan: $out"
[ "$($MOLT call c1 vsn)" = "error: unknown request" ] || fail "dry run changed code"

out=$($MOLT eval "$T/bad.json" 2>&1) && fail "bad script passed"
grep -q "instruction 5 (apply)" <<<"$out" || fail "rollback message: $out"
[ "$($MOLT call c1 get)" = "11" ] || fail "rollback lost state"
[ "$($MOLT call c1 vsn)" = "error: unknown request" ] || fail "rollback left new code"
grep -q "failed at instruction 5 (apply), module counter" <<<"$out" || fail "report: $out"
grep -q "rolled back in" <<<"$out" || fail "rollback report: $out"

# counter 3.0.0 refuses c4's count 666: the report names the process
c4=$($MOLT ps | awk '$2 == "c4" {print $1}')
out=$($MOLT eval "$T/v3.json" 2>&1) && fail "v3 passed"
grep -q "failed at instruction 4 (code_change), module counter, process $c4" \
	<<<"$out" || fail "v3 report (c4 is $c4): $out"
out=$($MOLT --json eval "$T/v3.json") && fail "v3 passed"
grep -q '"report":{.*"rolled_back":true' <<<"$out" || fail "v3 json: $out"
[ "$($MOLT call c4 get)" = "666" ] || fail "v3 rollback lost c4"

out=$($MOLT eval "$T/up.json") || fail "up: $out"
grep -q "4 processes paused" <<<"$out" || fail "up report: $out"
[ "$($MOLT call c1 vsn)" = "2.0.0" ] || fail "up: c1 not on 2.0.0"
[ "$($MOLT call c1 incr)" = "12" ] || fail "up: count lost"
[ "$($MOLT call c1 ring)" = "12" ] || fail "up: no ring"
[ "$($MOLT call c3 get)" = "30" ] || fail "up: c3 count lost"
$MOLT --json eval "$T/down.json" | grep -q '"committed":true' || fail "down"
[ "$($MOLT call c1 get)" = "12" ] || fail "down: count lost"
[ "$($MOLT call c1 vsn)" = "error: unknown request" ] || fail "down: not on 1.0.0"
$MOLT modules | grep -Eq '^counter +1\.0\.0 +4 +- +0' || fail "modules: $($MOLT modules)"
$MOLT stop >/dev/null
wait "$MOLTD_PID" || true
MOLTD_PID=
echo "ok"
