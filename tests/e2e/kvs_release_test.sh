#!/usr/bin/env bash
# e2e.kvs_release: kvs as a release (fixtures/make-kvs-repo.sh): bundles
# built from its tags, a node booted from 1.0.0, and, while redis-benchmark
# drives 50 clients and one more client stays connected, `molt upgrade
# --health` to 1.1.0 (the relup compiled from the hand-written appup:
# both state layouts converted), then to 1.2.0 (its appup generated:
# kvs_keys added with KEYS, kvs_sweeper removed, the shards sweeping on
# their own) and `molt rollback` to 1.0.0 (1.2.0's relup down to it):
# keys and TTLs kept, expired keys swept in every version, INFO shows the
# running release, no client error, the held connection answers
# throughout. Skipped (77) without redis-tools.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
for t in redis-cli redis-benchmark; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found (apt-get install redis-tools)"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-kvsrel-XXXXXX")
R=$T/node
export MOLT_ROOT=$R
MOLT=$BUILD/releasetool/molt
PIDS=()
cleanup() {
	touch "$T/stop-load"
	"$MOLT" stop >/dev/null 2>&1 || true
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; grep -v ' module ' "$T/moltd.log" 2>/dev/null | tail -8; exit 1; }

sh fixtures/make-kvs-repo.sh "$T/repo"
"$MOLT" -q build --repo "$T/repo" --tag v1.0.0 -o "$T/b/" >/dev/null
"$MOLT" -q build --repo "$T/repo" --tag v1.1.0 --relup-from v1.0.0 -o "$T/b/" >/dev/null
"$MOLT" -q build --repo "$T/repo" --tag v1.2.0 --relup-from v1.1.0 --relup-from v1.0.0 \
	-o "$T/b/" >/dev/null
mkdir -m 0700 "$R"
"$MOLT" -q init "$T/b/kvs-1.0.0.tar.gz" >/dev/null 2>&1 || fail "molt init"
MOLT_MOLTD="$BUILD/runtime/moltd" "$MOLT" run 2>"$T/moltd.log" &
PIDS+=($!)
for _ in $(seq 200); do "$MOLT" status >/dev/null 2>&1 && break; sleep 0.05; done
P=$("$MOLT" call kvs_listener port) || fail "no port"
r() { redis-cli -p "$P" "$@"; }
# A key set to expire in 300 ms and never read is gone within 2.5 s:
# some process sweeps (kvs_sweeper up to 1.1.0, each shard from 1.2.0).
swept() {
	local before
	r SET "never-read-$1" x PX 300 >/dev/null
	before=$(r DBSIZE)
	sleep 2.5
	[ "$(r DBSIZE)" -lt "$before" ] || fail "$1: an expired key nobody read was not swept"
}

r INFO | grep -q '^molt_release:1.0.0' || fail "INFO does not show release 1.0.0"
for i in $(seq 200); do printf 'SET k%d v%d\n' "$i" "$i"; done | r >/dev/null
r SET session token EX 600 >/dev/null
exec 5<>/dev/tcp/127.0.0.1/"$P"
# rounds of redis-benchmark until the rollback is done (each round's
# output kept: an error or a failed round shows)
(
	while [ ! -e "$T/stop-load" ]; do
		redis-benchmark -p "$P" -t set,get -n 20000 -c 50 -q 2>&1 ||
			echo "redis-benchmark exited with $?"
	done >"$T/load.out"
) &
LOAD=$!
PIDS+=("$LOAD")
sleep 0.5

out=$("$MOLT" upgrade "$T/b/kvs-1.1.0.tar.gz" --health 'kvs_listener port' --watch 2 2>&1) ||
	fail "molt upgrade to 1.1.0: $out"
r INFO | grep -q '^molt_release:1.1.0' || fail "INFO does not show release 1.1.0"
[ "$(r GET k100)" = v100 ] || fail "k100 lost in the upgrade"
r GET k100 >/dev/null
[ "$(r HITS k100)" = 2 ] || fail "1.1.0's HITS: $(r HITS k100)"
ttl=$(r TTL session)
[ "$ttl" -gt 500 ] || fail "the TTL did not survive the upgrade: $ttl"
printf 'PING\r\n' >&5
IFS= read -r -t 5 line <&5 && [ "$line" = $'+PONG\r' ] || fail "the held connection after the upgrade: '$line'"


out=$("$MOLT" upgrade "$T/b/kvs-1.2.0.tar.gz" --health 'kvs_listener port' --watch 1 2>&1) ||
	fail "molt upgrade to 1.2.0: $out"
r INFO | grep -q '^molt_release:1.2.0' || fail "INFO does not show release 1.2.0"
"$MOLT" ps | grep kvs_sweeper >/dev/null && fail "kvs_sweeper still runs in 1.2.0: $("$MOLT" ps)"
[ "$(r KEYS 'k19?' | sort | tr '\n' ' ')" = "k190 k191 k192 k193 k194 k195 k196 k197 k198 k199 " ] ||
	fail "1.2.0's KEYS k19?: $(r KEYS 'k19?' | tr '\n' ' ')"
[ "$(r HITS k100)" = 2 ] || fail "the hit count did not survive 1.2.0: $(r HITS k100)"
[ "$(r TTL session)" -gt 500 ] || fail "the TTL did not survive 1.2.0"
swept 1.2.0
printf 'PING\r\n' >&5
IFS= read -r -t 5 line <&5 && [ "$line" = $'+PONG\r' ] || fail "the held connection after 1.2.0: '$line'"

out=$("$MOLT" rollback 2>&1) || fail "molt rollback: $out"
r INFO | grep -q '^molt_release:1.0.0' || fail "INFO does not show release 1.0.0 after the rollback"
[ "$(r GET k200)" = v200 ] || fail "k200 lost in the rollback"
r HITS k1 | grep -q "unknown command" || fail "1.0.0 answers HITS after the rollback"
r KEYS '*' | grep -q "unknown command" || fail "1.0.0 answers KEYS after the rollback"
"$MOLT" ps | grep kvs_sweeper >/dev/null || fail "kvs_sweeper is not back after the rollback"
swept 1.0.0
printf 'GET k7\r\n' >&5
IFS= read -r -t 5 line <&5 && IFS= read -r -t 5 val <&5 && [ "$val" = $'v7\r' ] ||
	fail "the held connection after the rollback: '$line' '$val'"
exec 5>&-

touch "$T/stop-load"
wait "$LOAD"
tr '\r' '\n' <"$T/load.out" | grep -i 'error\|exited' >/dev/null &&
	fail "client errors: $(tr '\r' '\n' <"$T/load.out" | grep -i 'error\|exited' | head -3)"
tr '\r' '\n' <"$T/load.out" | grep '^GET: .* requests per second' >/dev/null ||
	fail "the load did not finish: $(tr '\r' '\n' <"$T/load.out" | tail -3)"
"$MOLT" releases | grep -q '^kvs  *1.2.0  *old' || fail "1.2.0 is not old after the rollback: $("$MOLT" releases)"
"$MOLT" stop >/dev/null

# --- docs/kvs.md "As a release" works as written ---
script=$(awk '/^## As a release/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' docs/kvs.md |
	sed "s|/tmp/|$T/doc-|g")
[ -n "$script" ] || fail "no sh block in docs/kvs.md's 'As a release'"
out=$(PATH="$BUILD/releasetool:$BUILD/runtime:$PATH" bash -e -c "$script" 2>&1) ||
	fail "docs/kvs.md's commands failed: $out"
for want in '^OK$' '^apple$' '^1$' '^fruit$' '^molt_release:1.0.0' 'moltd is stopping'; do
	grep -q "$want" <<<"$out" || fail "docs/kvs.md: no '$want' in: $out"
done
echo "ok"
