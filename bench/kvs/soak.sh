#!/usr/bin/env bash
# Soak: CYCLES upgrades of kvs to 1.1.0 and back (both shard and
# connection states converted each way) while redis-benchmark drives 50
# clients and HELD more clients stay connected. Prints `name value unit`
# lines: kvs_soak_cycles, kvs_soak_client_errors (must be 0),
# kvs_soak_dropped_connections (must be 0), kvs_soak_pause_max_ms.
#
#   bash bench/kvs/soak.sh BUILD [CYCLES]     (default 100)
set -euo pipefail
BUILD=$(cd "${1:?usage: soak.sh BUILD [CYCLES]}" && pwd)
CYCLES=${2:-100}
HELD=${HELD:-20}
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-soak-XXXXXX")
chmod 700 "$T"
MOLT="$BUILD/releasetool/molt --root $T"
F=$BUILD/fixtures
MOLTD_PID= LOAD=
cleanup() {
	[ -n "$LOAD" ] && kill "$LOAD" 2>/dev/null
	[ -n "$MOLTD_PID" ] && kill "$MOLTD_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
say() { echo "soak: $*" >&2; }

sed "s|@F@|$F|g" "$here/boot.json.in" >"$T/boot.json"
"$BUILD/runtime/moltd" --root "$T" --boot "$T/boot.json" 2>"$T/moltd.log" &
MOLTD_PID=$!
for _ in $(seq 100); do $MOLT status >/dev/null 2>&1 && break; sleep 0.05; done
P=$($MOLT call kvs_listener port)
cp "$here/up.json" "$here/down.json" "$T/"

# held connections: fds 10.. , each checked at the end
for i in $(seq "$HELD"); do
	eval "exec $((9 + i))<>/dev/tcp/127.0.0.1/$P"
done
redis-benchmark -p "$P" -t set,get -n 100000000 -c 50 -q >"$T/load.out" 2>&1 &
LOAD=$!
sleep 1
pause_max=0
for c in $(seq "$CYCLES"); do
	for dir in up down; do
		v=1.1.0
		[ "$dir" = down ] && v=1.0.0
		out=$($MOLT eval "$T/$dir.json" --path "$F/kvs_shard-$v" --path "$F/kvs_conn-$v" 2>&1) ||
			{ say "cycle $c $dir failed: $out"; exit 1; }
		p=$(grep -o 'paused: max [0-9.]*' <<<"$out" | awk '{print $3}')
		pause_max=$(awk -v a="$pause_max" -v b="${p:-0}" 'BEGIN { print (b > a) ? b : a }')
	done
	[ $((c % 10)) = 0 ] && say "$c cycles"
done
kill -0 "$LOAD" 2>/dev/null || { say "redis-benchmark ended early: $(tr '\r' '\n' <"$T/load.out" | tail -3)"; }
kill "$LOAD" 2>/dev/null || true
wait "$LOAD" 2>/dev/null || true
LOAD=
errors=$(tr '\r' '\n' <"$T/load.out" | grep -ci 'error' || true)
dropped=0
for i in $(seq "$HELD"); do
	fd=$((9 + i))
	printf 'PING\r\n' >&"$fd" 2>/dev/null || { dropped=$((dropped + 1)); continue; }
	if ! IFS= read -r -t 5 line <&"$fd" || [ "$line" != $'+PONG\r' ]; then
		dropped=$((dropped + 1))
	fi
done
echo "kvs_soak_cycles $CYCLES cycles"
echo "kvs_soak_client_errors $errors errors"
echo "kvs_soak_dropped_connections $dropped connections"
echo "kvs_soak_pause_max_ms $pause_max ms"
$MOLT stop >/dev/null
wait "$MOLTD_PID" 2>/dev/null || say "moltd exited with $?: $(tail -3 "$T/moltd.log")"
MOLTD_PID=
