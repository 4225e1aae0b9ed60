#!/usr/bin/env bash
# make demo: what molt can do so far. Grows with each issue.
#   a node booted from a boot spec with a supervised tree of counters,
#   calls through the molt CLI, a crash and its restart, a hot load of a
#   new module version (the docs/modules.md greeter: 1.0.0 -> 2.0.0 with
#   code_change), and a clean stop.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
MOLTD="$BUILD/runtime/moltd"
MOLT="$BUILD/releasetool/molt"
FIX="$BUILD/fixtures"
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/molt-demo-XXXXXX")
export MOLT_ROOT="$ROOT/node"
MOLTD_PID=

cleanup() {
	if [ -n "$MOLTD_PID" ] && kill -0 "$MOLTD_PID" 2>/dev/null; then
		kill -TERM "$MOLTD_PID"
		wait "$MOLTD_PID" || true
	fi
	rm -rf "$ROOT"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cat >"$ROOT/boot.json" <<JSON
{"format": 1,
 "modules": ["$FIX/counter-1.0.0/counter.so",
             "$FIX/crasher-1.0.0/crasher.so",
             "$FIX/greeter-1.0.0/greeter.so"],
 "root": {"strategy": "one_for_one", "intensity": 5, "period": 10,
          "name": "top",
          "children": [
            {"id": "counters", "supervisor": {
               "strategy": "one_for_one", "intensity": 5, "period": 10,
               "children": [
                 {"id": "a", "module": "counter", "name": "a"},
                 {"id": "b", "module": "counter", "name": "b", "args": "100"},
                 {"id": "boom", "module": "crasher", "name": "boom"}]}},
            {"id": "greeter", "module": "greeter", "name": "greeter"}]}}
JSON

step "boot a node: moltd --root $MOLT_ROOT --boot boot.json"
cat "$ROOT/boot.json"
"$MOLTD" --root "$MOLT_ROOT" --boot "$ROOT/boot.json" 2>"$ROOT/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do
	[ -S "$MOLT_ROOT/run/moltd.sock" ] && break
	sleep 0.05
done
run "$MOLT" status
run "$MOLT" ps

step "call the counters"
run "$MOLT" call a incr
run "$MOLT" call a incr
run "$MOLT" call b incr
run "$MOLT" cast a incr
run "$MOLT" call a get

step "crash one process: its supervisor restarts it, the others keep their state"
before=$("$MOLT" --json ps | grep -o '"pid":"[^"]*","name":"boom"')
run "$MOLT" cast boom crash
sleep 0.2
after=$("$MOLT" --json ps | grep -o '"pid":"[^"]*","name":"boom"')
echo "boom before: $before"
echo "boom after:  $after"
run "$MOLT" call a get
run "$MOLT" call boom ping

step "hot-load a new module version while the node runs"
run "$MOLT" call greeter ada
run "$MOLT" call greeter bob
run "$MOLT" load "$FIX/greeter-2.0.0/greeter.so"
run "$MOLT" modules
echo "(the greeter process still runs 1.0.0; its next message moves it to"
echo " 2.0.0 through code_change, keeping its count)"
run "$MOLT" call greeter cy
run "$MOLT" soft-purge greeter
run "$MOLT" modules

step "stop the node cleanly"
run "$MOLT" stop
wait "$MOLTD_PID"
echo "moltd exited with status $?"
MOLTD_PID=
step "moltd's log"
cat "$ROOT/moltd.log"
