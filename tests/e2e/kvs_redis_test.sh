#!/usr/bin/env bash
# e2e.kvs_redis: the Redis-protocol key-value store (fixtures/redis, on
# fixtures/resp) on a real moltd, driven by the stock redis-cli and
# redis-benchmark: the commands and their replies, TTLs, a 10,000-command
# pipeline answered in order, hostile input (a bulk length of 2^31, a
# multibulk count past the limit, garbage) answered with an error and that
# connection alone closed, and a short redis-benchmark run with no error.
# Without redis-tools (make test installs it) the test is skipped (77).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
for t in redis-cli redis-benchmark; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found (apt-get install redis-tools)"; exit 77; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-kvsr-XXXXXX")
chmod 700 "$T"
MOLT="$BUILD/releasetool/molt --root $T"
MOLTD_PID=
cleanup() {
	[ -n "$MOLTD_PID" ] && kill "$MOLTD_PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; grep -v " module " "$T/moltd.log" | tail -12; exit 1; }

F=$BUILD/fixtures
sed "s|@F@|$F|g" bench/kvs/boot.json.in >"$T/boot.json"
"$BUILD/runtime/moltd" --root "$T" --boot "$T/boot.json" 2>"$T/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do $MOLT status >/dev/null 2>&1 && break; sleep 0.05; done
P=$($MOLT call kvs_listener port) || fail "no port"
r() { redis-cli -p "$P" "$@"; }
is() { local want=$1; shift; local got; got=$(r "$@"); [ "$got" = "$want" ] || fail "$* gave '$got', not '$want'"; }

# --- the commands ---
is PONG PING
is hi PING hi
is 'hello world' ECHO 'hello world'
is OK SET fruit apple
is apple GET fruit
is '' GET nothing
is '' SET fruit pear NX
is OK SET fruit pear XX
is pear GET fruit
is '' SET ghost x XX
is 1 INCR hits
is 2 INCR hits
is 'ERR value is not an integer or out of range' INCR fruit
is OK MSET a 1 b 2 c 3
[ "$(r MGET a b nothing c | tr '\n' ' ')" = "1 2  3 " ] || fail "MGET: $(r MGET a b nothing c)"
is 2 EXISTS a b zz
is 2 DEL a b zz
is 0 EXISTS a
is OK SET t v EX 100
ttl=$(r TTL t)
[ "$ttl" -ge 99 ] && [ "$ttl" -le 100 ] || fail "TTL $ttl"
is -1 TTL fruit
is -2 TTL nothing
is 1 EXPIRE fruit 1
sleep 1.2
is '' GET fruit
is 3 DBSIZE # hits, c and t
r INFO | grep -q '^molt_kvs_version:1.0.0' || fail "INFO has no molt_kvs_version"
r INFO | grep -q '^molt_release:none' || fail "INFO does not say the node runs no release"
r HELLO 3 | grep -q NOPROTO || fail "HELLO 3 was not refused"
r NOSUCH | grep -q "ERR unknown command 'NOSUCH'" || fail "unknown command"
r GET 2>&1 | grep -q "ERR wrong number of arguments for 'GET' command" || fail "arity"

# --- a 10,000-command pipeline in one write, answered in order ---
exec 3<>/dev/tcp/127.0.0.1/"$P"
{
	for i in $(seq 10000); do printf '*3\r\n$3\r\nSET\r\n$4\r\npipe\r\n$%d\r\n%d\r\n' "${#i}" "$i"; done
	printf '*2\r\n$3\r\nGET\r\n$4\r\npipe\r\n'
} >&3
n=0
while [ "$n" -lt 10000 ] && IFS= read -r -t 20 line <&3; do
	[ "$line" = $'+OK\r' ] || fail "pipelined reply $n: '$line'"
	n=$((n + 1))
done
[ "$n" = 10000 ] || fail "only $n of 10000 pipelined replies"
IFS= read -r -t 5 line <&3 && IFS= read -r -t 5 val <&3
[ "$val" = $'10000\r' ] || fail "the pipeline's last SET did not win: '$line' '$val'"
exec 3>&-

# --- hostile input: an error reply, that connection closed, the others
# and the node unharmed ---
hostile() { # $1: bytes to send; $2: the error expected
	local reply
	exec 4<>/dev/tcp/127.0.0.1/"$P"
	printf '%b' "$1" >&4
	IFS= read -r -t 5 reply <&4 || reply="(nothing)"
	[[ "$reply" == *"$2"* ]] || fail "'$1' got '$reply', not '$2'"
	# then the server closes it: EOF
	if IFS= read -r -t 5 more <&4; then fail "'$1': the connection stayed open ($more)"; fi
	exec 4>&-
}
hostile '*1\r\n$2147483648\r\n' 'ERR Protocol error: invalid bulk length'
hostile '*2000000\r\n' 'ERR Protocol error: invalid multibulk length'
hostile '*1\r\n!garbage\r\n' "ERR Protocol error: expected '\$'"
is PONG PING

# --- an upgrade to 1.1.0 and back under redis-benchmark load: the
# shards' and the connections' states converted both ways (code_change,
# a connection's parser bytes and queued replies included), every
# connection kept, no client error ---
for i in $(seq 100); do printf 'SET k%d v%d\n' "$i" "$i"; done | redis-cli -p "$P" >/dev/null
exec 5<>/dev/tcp/127.0.0.1/"$P" # a client that stays connected throughout
printf 'PING\r\n' >&5
IFS= read -r -t 5 line <&5 && [ "$line" = $'+PONG\r' ] || fail "held connection: '$line'"
redis-benchmark -p "$P" -t set,get -n 100000 -c 50 -q >"$T/load.out" 2>&1 &
LOAD=$!
# the relup-shaped scripts the soak uses too (bench/kvs/soak.sh)
cp bench/kvs/up.json bench/kvs/down.json "$T/"
sleep 0.5
$MOLT eval "$T/up.json" --path "$F/kvs_shard-1.1.0" --path "$F/kvs_conn-1.1.0" >"$T/up.out" 2>&1 ||
	fail "the upgrade failed: $(cat "$T/up.out")"
grep -q '^committed' "$T/up.out" || fail "the upgrade did not commit: $(cat "$T/up.out")"
is v50 GET k50
is v50 GET k50
is 2 HITS k50
$MOLT ps | grep " kvs_conn .*1\.1\.0" >/dev/null || fail "no connection runs 1.1.0: $($MOLT ps)"
printf 'HITS k50\r\n' >&5
IFS= read -r -t 5 line <&5 && [ "$line" = $':2\r' ] || fail "the held connection after the upgrade: '$line'"
$MOLT eval "$T/down.json" --path "$F/kvs_shard-1.0.0" --path "$F/kvs_conn-1.0.0" >"$T/down.out" 2>&1 ||
	fail "the downgrade failed: $(cat "$T/down.out")"
is v50 GET k50
r HITS k50 | grep -q "ERR unknown command 'HITS'" || fail "1.0.0 knows HITS after the downgrade"
printf 'GET k7\r\n' >&5
IFS= read -r -t 5 line <&5 && IFS= read -r -t 5 val <&5 && [ "$val" = $'v7\r' ] ||
	fail "the held connection after the downgrade: '$line' '$val'"
exec 5>&-
wait "$LOAD" || fail "redis-benchmark under the upgrades failed: $(cat "$T/load.out")"
tr '\r' '\n' <"$T/load.out" | grep -i error >/dev/null && fail "client errors during the upgrades: $(cat "$T/load.out")"
tr '\r' '\n' <"$T/load.out" | grep -q '^GET: .* requests per second' ||
	fail "the load did not finish: $(cat "$T/load.out")"
grep -E "paused" "$T/up.out" | sed "s/^/kvs upgrade under load: /"

# --- redis-benchmark, 50 clients: every request answered, no error ---
out=$(redis-benchmark -p "$P" -t set,get -n 20000 -c 50 -q 2>&1 | tr "\r" "\n") || fail "redis-benchmark: $out"
grep -qi error <<<"$out" && fail "redis-benchmark saw errors: $out"
grep -q '^SET: .* requests per second' <<<"$out" && grep -q '^GET: .* requests per second' <<<"$out" ||
	fail "redis-benchmark did not finish: $out"
out=$(redis-benchmark -p "$P" -t set,get -n 20000 -c 50 -P 16 -q 2>&1 | tr "\r" "\n") || fail "redis-benchmark -P 16: $out"
grep -q '^GET: .* requests per second' <<<"$out" || fail "pipelined redis-benchmark: $out"
is PONG PING
# every connection process is gone with its client
sleep 0.5
conns=$($MOLT ps | grep -c ' kvs_conn ' || true)
[ "$conns" -le 1 ] || fail "$conns connection processes outlived their clients"

# --- docs/kvs.md "Run it" works as written ---
script=$(awk '/^## Run it/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' docs/kvs.md |
	sed "s|/tmp/|$T/doc-|g; s|\$PWD/build/|$BUILD/|g")
[ -n "$script" ] || fail "no sh block in docs/kvs.md"
out=$(PATH="$BUILD/releasetool:$BUILD/runtime:$PATH" bash -e -c "$script" 2>&1 | tr '\r' '\n') ||
	fail "docs/kvs.md's commands failed: $out"
grep -qx apple <<<"$out" && grep -q '^GET: .* requests per second' <<<"$out" ||
	fail "docs/kvs.md's commands did not work: $out"
echo "ok"
