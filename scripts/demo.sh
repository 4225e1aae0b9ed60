#!/usr/bin/env bash
# make demo: a service upgraded live from a git tag, under load, through
# the release handler, and rolled back.
#
#   1. a git repository with release `shop` tagged v1.0.0, v1.1.0 (the
#      kvs_server process changes its state layout) and v1.2.0 (a module
#      added to the application's tree, one removed); the demo adds a
#      broken v1.1.1 whose GET answers wrong;
#   2. `molt build` makes reproducible bundles from the tags, each with a
#      relup compiled from the appups;
#   3. `molt init` makes the node's root with 1.0.0 permanent; `molt run`
#      boots it from the release (and would restart it if it died);
#   4. clients write to the store without pause;
#   5. `molt upgrade --health ... --permanent` installs 1.1.0 live, watches
#      it, and makes it permanent: every key kept, in the new layout, no
#      write lost;
#   6. the broken 1.1.1 fails its health check: molt rolls it back by
#      itself;
#   7. 1.2.0 installs live (kvs_stats stops, kvs_expiry starts);
#   8. `molt rollback` takes the node back to the permanent 1.1.0.
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

step "a git repository with tagged versions of release 'shop'"
sh "$TOP/fixtures/make-repo.sh" "$WORK/shop" >/dev/null
run git -C "$WORK/shop" log --oneline --decorate v1.2.0
# A broken 1.1.1 on top of 1.1.0: GET answers "?" instead of the value.
git -C "$WORK/shop" checkout -q -b broken v1.1.0
sed -i 's/return molt_reply(ctx, from, p->val, strlen(p->val));/return molt_reply(ctx, from, "?", 1);/' \
	"$WORK/shop/apps/kvs/src/kvs_server.c"
sed -i 's/"vsn": "1.1.0"/"vsn": "1.1.1"/' "$WORK/shop/molt.json"
cat >"$WORK/shop/apps/kvs/kvs.appup" <<'APPUP'
{"1.1.1",
 [{"1.1.0", [{load_module, kvs_server}]}],
 [{"1.1.0", [{load_module, kvs_server}]}]}.
APPUP
git -C "$WORK/shop" -c user.name=demo -c user.email=demo@example.com \
	commit -qam "kvs 1.1.1: GET is broken"
git -C "$WORK/shop" tag v1.1.1
git -C "$WORK/shop" checkout -q main
run git -C "$WORK/shop" show --stat --format='%h %s' v1.1.1

step "build bundles from the tags (each relup compiled from the appups)"
mkdir -p "$WORK/bundles"
B="$WORK/bundles"
run "$MOLT" -q build --repo "$WORK/shop" --tag v1.0.0 -o "$B/"
run "$MOLT" -q build --repo "$WORK/shop" --tag v1.1.0 --relup-from v1.0.0 -o "$B/"
run "$MOLT" -q build --repo "$WORK/shop" --tag v1.1.1 --relup-from v1.1.0 -o "$B/"
run "$MOLT" -q build --repo "$WORK/shop" --tag v1.2.0 --relup-from v1.1.0 -o "$B/"
echo "same tag, same bytes:"
"$MOLT" -q build --repo "$WORK/shop" --tag v1.1.0 --relup-from v1.0.0 \
	-o "$WORK/again.tar.gz" >/dev/null
run cmp "$B/shop-1.1.0.tar.gz" "$WORK/again.tar.gz"
echo "identical"

step "make the node's root: release 1.0.0 is permanent"
mkdir -m 0700 "$NODE"
run "$MOLT" -q init "$B/shop-1.0.0.tar.gz"
run "$MOLT" releases

step "boot the node from its release (molt run restarts moltd if it dies)"
echo "\$ molt run --root $NODE &"
MOLT_MOLTD="$MOLTD" "$MOLT" run 2>"$WORK/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 200); do
	"$MOLT" status >/dev/null 2>&1 && break
	sleep 0.05
done
run "$MOLT" status
for k in alpha beta gamma; do kv SET "$k" "value-of-$k" >/dev/null; done
run "$MOLT" call kvs_server "GET beta"
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

HEALTH=(--health "kvs_server GET beta" --expect value-of-beta --watch 2)

step "upgrade the live node to 1.1.0: install, watch, make permanent"
run "$MOLT" upgrade "$B/shop-1.1.0.tar.gz" "${HEALTH[@]}" --permanent
sleep 0.5
touch "$WORK/stop-load"
wait "${LOAD_PIDS[@]}" 2>/dev/null || true
LOAD_PIDS=()
run "$MOLT" releases

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

step "a release that fails its health check is rolled back by itself"
run "$MOLT" upgrade "$B/shop-1.1.1.tar.gz" "${HEALTH[@]}" --permanent ||
	echo "(exit status $?: rolled back)"
run "$MOLT" releases
run "$MOLT" call kvs_server "GET beta"

step "install 1.2.0 live: the application's tree changes"
run "$MOLT" upgrade "$B/shop-1.2.0.tar.gz" "${HEALTH[@]}"
run "$MOLT" ps
run "$MOLT" releases

step "roll back to the permanent release (1.1.0) by the down script"
run "$MOLT" rollback
run "$MOLT" ps
run "$MOLT" call kvs_server "COUNT"
run "$MOLT" call kvs_server "GET beta"
run "$MOLT" releases

step "stop the node cleanly"
run "$MOLT" stop
wait "$MOLTD_PID" && echo "molt run exited with status 0"
MOLTD_PID=

step "moltd's log"
grep -v ' module ' "$WORK/moltd.log"
