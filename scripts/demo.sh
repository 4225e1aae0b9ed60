#!/usr/bin/env bash
# make demo: a live upgrade of a running node, from a git tag, under load.
#
#   1. a git repository with release `shop` tagged v1.0.0 and v1.1.0
#      (kvs_server changes its state layout in 1.1.0);
#   2. `molt build` makes reproducible bundles from the tags, with the
#      relup compiled from the appup;
#   3. `molt init` / `molt unpack` lay out a node's root;
#   4. moltd boots release 1.0.0; clients write to the store;
#   5. the relup's up script runs on the live node while clients keep
#      writing: every process keeps its data in the new layout, no write
#      is lost;
#   6. a failing upgrade (a module missing from the script's application)
#      is refused and changes nothing;
#   7. new code whose code_change fails for one process, after the point of
#      no return: every process goes back to its old code and state;
#   8. the down script rolls the node back to 1.0.0, data intact.
#
# Installing through the release handler (`molt install`, RELEASES.json
# `current`/`permanent`) comes with a later issue; until then the scripts
# are run with `molt eval`, which is what install will do.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
MOLTD="$BUILD/runtime/moltd"
MOLT="$BUILD/releasetool/molt"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/molt-demo-XXXXXX")
NODE="$WORK/node"
export MOLT_ROOT="$NODE"
MOLTD_PID=
LOAD_PIDS=()

cleanup() {
	for p in "${LOAD_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$MOLTD_PID" ] && kill -0 "$MOLTD_PID" 2>/dev/null; then
		kill -TERM "$MOLTD_PID"
		wait "$MOLTD_PID" || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
kv() { "$MOLT" call kvs_server "$*"; }

step "a git repository with two tagged versions of release 'shop'"
sh "$TOP/fixtures/make-repo.sh" "$WORK/shop" >/dev/null
run git -C "$WORK/shop" log --oneline --decorate
run git -C "$WORK/shop" diff --stat v1.0.0 v1.1.0

step "build bundles from the tags (the relup is compiled from kvs.appup)"
mkdir -p "$WORK/bundles"
run "$MOLT" build --repo "$WORK/shop" --tag v1.0.0 -o "$WORK/bundles/"
run "$MOLT" build --repo "$WORK/shop" --tag v1.1.0 --relup-from v1.0.0 \
	-o "$WORK/bundles/"
echo "same tag, same bytes:"
"$MOLT" -q build --repo "$WORK/shop" --tag v1.1.0 --relup-from v1.0.0 \
	-o "$WORK/again.tar.gz" >/dev/null
run cmp "$WORK/bundles/shop-1.1.0.tar.gz" "$WORK/again.tar.gz"
echo "identical"

step "lay out a node: 1.0.0 permanent, 1.1.0 unpacked beside it"
run "$MOLT" init --root "$NODE" "$WORK/bundles/shop-1.0.0.tar.gz"
run "$MOLT" unpack --root "$NODE" "$WORK/bundles/shop-1.1.0.tar.gz"
run "$MOLT" releases

step "boot release 1.0.0"
LIB="$NODE/lib/kvs-1.0.0/modules"
FIX="$BUILD/fixtures"
# Beside the release, three test counters (fixtures/modules) for step 7.
cat >"$WORK/boot.json" <<JSON
{"format": 1,
 "modules": ["$LIB/kvs_util.so", "$LIB/kvs_stats.so", "$LIB/kvs_server.so",
             "$FIX/counter-1.0.0/counter.so"],
 "root": {"strategy": "one_for_one", "intensity": 3, "period": 5,
          "name": "kvs_sup",
          "children": [{"id": "kvs_stats", "module": "kvs_stats"},
                       {"id": "kvs_server", "module": "kvs_server"},
                       {"id": "c1", "module": "counter", "name": "c1", "args": "41"},
                       {"id": "c2", "module": "counter", "name": "c2", "args": "665"},
                       {"id": "c3", "module": "counter", "name": "c3", "args": "7"}]}}
JSON
"$MOLTD" --root "$NODE" --boot "$WORK/boot.json" 2>"$WORK/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do
	[ -S "$NODE/run/moltd.sock" ] && break
	sleep 0.05
done
run "$MOLT" modules
for k in alpha beta gamma; do kv SET "$k" "value-of-$k" >/dev/null; done
run "$MOLT" call kvs_server "GET beta"
run "$MOLT" call kvs_server "COUNT"
run "$MOLT" call kvs_server "OPS"
echo "(OPS is new in 1.1.0; 1.0.0 does not know it)"

# Writers: each sets its own keys one after the other and logs every
# reply, so a lost or failed write would show.
writer() {
	local i=0
	while [ ! -e "$WORK/stop-load" ]; do
		i=$((i + 1))
		r=$("$MOLT" call kvs_server "SET $1-$i $i" 2>&1 || true)
		echo "$1-$i $r" >>"$WORK/load-$1.log"
	done
}

step "start two clients writing keys without pause"
writer w1 &
LOAD_PIDS+=($!)
writer w2 &
LOAD_PIDS+=($!)
sleep 1
echo "writes so far: $(cat "$WORK"/load-*.log | wc -l)"

step "upgrade the live node to 1.1.0 with the relup's up script"
"$MOLT" relup script "$NODE/releases/1.1.0/relup.json" --up-from 1.0.0 \
	>"$WORK/up.json"
"$MOLT" relup script "$NODE/releases/1.1.0/relup.json" --down-to 1.0.0 \
	>"$WORK/down.json"
run cat "$WORK/up.json"
run "$MOLT" eval "$WORK/up.json"
sleep 1
touch "$WORK/stop-load"
wait "${LOAD_PIDS[@]}" 2>/dev/null || true
LOAD_PIDS=()
run "$MOLT" modules

step "state carried over, nothing lost"
writes=$(cat "$WORK"/load-*.log | wc -l)
bad=$(cat "$WORK"/load-*.log | grep -vc ' OK$' || true)
echo "writes during the test: $writes, failed or unanswered: $bad"
missing=0
while read -r key val; do
	[ "$(kv GET "$key")" = "${key##*-}" ] || missing=$((missing + 1))
done < <(cat "$WORK"/load-*.log)
echo "keys read back from the upgraded process: $((writes - missing)) of $writes"
run "$MOLT" call kvs_server "GET beta"
run "$MOLT" call kvs_server "HITS beta"
run "$MOLT" call kvs_server "OPS"
if [ "$bad" -ne 0 ] || [ "$missing" -ne 0 ]; then
	echo "demo: writes were lost" >&2
	exit 1
fi

step "a broken upgrade is refused before anything changes"
cat >"$WORK/broken.json" <<'JSON'
[["load_object_code", ["kvs", "1.1.0", ["kvs_server", "kvs_nothere"]]],
 "point_of_no_return",
 ["suspend", ["kvs_server"]],
 ["load", ["kvs_server", "brutal_purge", "brutal_purge"]],
 ["resume", ["kvs_server"]]]
JSON
run "$MOLT" eval "$WORK/broken.json" || echo "(exit status $?: refused)"
run "$MOLT" call kvs_server "COUNT"

step "new code that misbehaves after the point of no return: all rolled back"
echo "counter 3.0.0's code_change refuses a count of 666 (fixtures/modules);"
echo "c2 gets there now, and the upgrade of all three counters must undo itself"
run "$MOLT" call c2 incr
cat >"$WORK/counter3.json" <<'JSON'
[["load_object_code", ["counter", "3.0.0", ["counter"]]],
 "point_of_no_return",
 ["suspend", ["counter"]],
 ["load", ["counter", "brutal_purge", "brutal_purge"]],
 ["code_change", "up", [["counter", []]]],
 ["resume", ["counter"]]]
JSON
run "$MOLT" eval --path "$FIX" "$WORK/counter3.json" || echo "(exit status $?: rolled back)"
run "$MOLT" modules
for c in c1 c2 c3; do run "$MOLT" call "$c" get; done
echo "(every counter on 1.0.0 with its count; the VM never restarted)"

step "roll back to 1.0.0 with the down script"
run "$MOLT" eval "$WORK/down.json"
run "$MOLT" modules
run "$MOLT" call kvs_server "COUNT"
run "$MOLT" call kvs_server "GET beta"
run "$MOLT" call kvs_server "OPS"
echo "(1.0.0 again: OPS is unknown, the data is all there)"

step "stop the node cleanly"
run "$MOLT" stop
wait "$MOLTD_PID" && echo "moltd exited with status 0"
MOLTD_PID=

step "moltd's log"
cat "$WORK/moltd.log"
