#!/usr/bin/env bash
# Issue 10's live-service benchmark: the Redis-protocol key-value store
# (fixtures/redis: kvs_listener, kvs_conn, 4 kvs_shard) on a moltd booted
# from a boot spec, against Debian's real redis-server, side by side in one
# run. Prints `name value unit` lines on stdout (kvs_*, redis_*, and
# ratio_* = kvs / redis, unit x); progress on stderr.
#
#   bash bench/kvs/run.sh BUILD_DIR [RUNS]        (default 3 runs)
#   QUICK=1 bash bench/kvs/run.sh BUILD_DIR       (fewer requests)
#
# Both servers listen on 127.0.0.1, on free ports, and are stopped at the
# end (redis-server with --save "" --appendonly no: no disk I/O).
#
# 1. Memory per idle connection, on the fresh servers: IDLE_CONNS (default
#    10000) connections opened by BUILD/bench/idle_conns, nothing sent;
#    once the server counts them all (moltd: `processes` in `molt --json
#    status`; redis: connected_clients), VmRSS from /proc/PID/status after
#    1 s, minus VmRSS before, over IDLE_CONNS: *_idle_conn_bytes. Then one
#    PING on each must be answered, or the figure is not printed.
# 2. redis-benchmark, 50 clients, default payload (3 bytes), -t set,get,
#    REQUESTS requests per test (default 100000, QUICK 20000), and the same
#    with -P 16 (P16_REQUESTS, default 300000, QUICK 100000): *_{set,get}_
#    {rps,p50_ms,p99_ms,max_ms} and *_{set,get}_p16_* from --csv. Each run
#    does both servers in turn, for both settings (odd runs kvs first, even
#    runs redis first); the figure is the median of RUNS runs. A run whose
#    redis-benchmark fails, times out or writes to stderr prints nothing
#    for that server and says so (with its output).
#
# Both servers share the 2 cores with redis-benchmark itself (one thread),
# so the figures are CPU-bound on all three; see docs/benchmarks.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../lib.sh"

build=$(cd "${1:?usage: bash bench/kvs/run.sh BUILD_DIR [RUNS]}" && pwd)
runs=${2:-3}
if [[ -n ${QUICK:-} ]]; then
	: "${REQUESTS:=20000}" "${P16_REQUESTS:=100000}"
fi
: "${REQUESTS:=100000}" "${P16_REQUESTS:=300000}" "${IDLE_CONNS:=10000}"
molt=$build/releasetool/molt
moltd=$build/runtime/moltd
idle=$build/bench/idle_conns
fx=$build/fixtures

for t in redis-server redis-benchmark redis-cli; do
	command -v "$t" >/dev/null || {
		say "kvs: $t not found (apt-get install redis-server redis-tools); not measured"
		exit 0
	}
done
for f in "$molt" "$moltd" "$idle" "$fx"/kvs_{shard,conn,listener}-1.0.0/*.so; do
	[[ -e $f ]] || { say "kvs: $f missing; not measured"; exit 0; }
done

work=$build/bench/work/kvs
rm -rf "$work"
mkdir -p "$work"
out=$work/lines.txt
: >"$out"
moltd_pid=
redis_pid=
cleanup() {
	[[ -n $moltd_pid ]] && kill "$moltd_pid" 2>/dev/null || true
	[[ -n $redis_pid ]] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT

# Both servers (and idle_conns) need IDLE_CONNS descriptors and more.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $(ulimit -n) != unlimited && $(ulimit -n) -lt $((IDLE_CONNS + 200)) ]]; then
	say "kvs: RLIMIT_NOFILE $(ulimit -n) < $((IDLE_CONNS + 200)); IDLE_CONNS=$(($(ulimit -n) - 200))"
	IDLE_CONNS=$(($(ulimit -n) - 200))
fi

# --- kvs on molt: the boot spec tests/e2e/kvs_redis_test.sh uses too ---
sed "s|@F@|$fx|g" "$here/boot.json.in" >"$work/boot.json"
m() { "$molt" --root "$work/root" "$@"; }
mkdir -p "$work/root"
"$moltd" --root "$work/root" --boot "$work/boot.json" 2>"$work/moltd.log" &
moltd_pid=$!
for _ in $(seq 100); do m status >/dev/null 2>&1 && break; sleep 0.05; done
kvs_port=$(m call kvs_listener port) || {
	say "kvs: moltd did not boot the kvs (log: $work/moltd.log)"
	tail -5 "$work/moltd.log" >&2
	exit 1
}
json_field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
[[ $(m --json status | json_field pid) == "$moltd_pid" ]] ||
	{ say "kvs: molt status names another pid than $moltd_pid"; exit 1; }
kvs_count() { m --json status | json_field processes; }

# --- redis-server on a free loopback port (probed, then retried) ---
start_redis() {
	local try port
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 12000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		redis-server --port "$port" --bind 127.0.0.1 --save "" \
			--appendonly no --maxclients $((IDLE_CONNS + 100)) \
			--logfile "$work/redis.log" &
		redis_pid=$!
		for _ in $(seq 100); do
			[[ $(redis-cli -p "$port" ping 2>/dev/null) == PONG ]] &&
				{ redis_port=$port; return 0; }
			kill -0 "$redis_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
		redis_pid=
	done
	return 1
}
redis_port=
start_redis || { say "kvs: redis-server did not start (log: $work/redis.log)"; exit 1; }
redis_count() {
	redis-cli -p "$redis_port" info clients | tr -d '\r' |
		sed -n 's/^connected_clients://p'
}
say "kvs: kvs on moltd (pid $moltd_pid) port $kvs_port; redis-server $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/') (pid $redis_pid) port $redis_port"

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }

# idle NAME PORT PID COUNTFN: IDLE_CONNS idle connections held by
# idle_conns (its stdin and stdout on FIFOs); prints NAME_idle_conn_bytes,
# or says why not.
idle() {
	local name=$1 port=$2 pid=$3 count=$4 base rss0 rss1 line= ans= up= i w r cpid
	rm -f "$work/ic.in" "$work/ic.out"
	mkfifo "$work/ic.in" "$work/ic.out"
	base=$($count)
	rss0=$(rss_kb "$pid")
	"$idle" "$port" "$IDLE_CONNS" <"$work/ic.in" >"$work/ic.out" &
	cpid=$!
	exec {w}>"$work/ic.in" {r}<"$work/ic.out"
	read -r -t 60 line <&"$r" || true
	[[ $line == "connected $IDLE_CONNS failed 0" ]] && up=1
	for i in $(seq 300); do
		[[ $($count) -ge $((base + IDLE_CONNS)) ]] && break
		sleep 0.1
	done
	sleep 1
	rss1=$(rss_kb "$pid")
	say "kvs: $name: idle_conns: '$line'; the server counts $(($($count) - base)); VmRSS $rss0 -> $rss1 kB"
	echo ping >&"$w" || true
	read -r -t 60 ans <&"$r" || true
	exec {w}>&- {r}<&-
	wait "$cpid" || true
	say "kvs: $name: one PING on each: '$ans'"
	if [[ -n $up && $ans == "answered $IDLE_CONNS" ]]; then
		echo "${name}_idle_conn_bytes $(((rss1 - rss0) * 1024 / IDLE_CONNS)) B" >>"$out"
	else
		say "kvs: $name: not every idle connection was held and answered; ${name}_idle_conn_bytes not printed"
	fi
	for i in $(seq 100); do
		[[ $($count) -le $base ]] && return 0
		sleep 0.1
	done
	say "kvs: $name: $(($($count) - base)) connections still counted 10 s after the client closed them"
}

say "kvs: $IDLE_CONNS idle connections to each"
idle kvs "$kvs_port" "$moltd_pid" kvs_count
idle redis "$redis_port" "$redis_pid" redis_count

# bench NAME PORT TAG N [ARGS]: one redis-benchmark run, its --csv rows
# as NAME_{set,get}TAG_* lines; says why if it fails.
bench() {
	local name=$1 port=$2 tag=$3 n=$4 log=$work/rb.txt err=$work/rb.err
	shift 4
	if ! timeout 300 redis-benchmark -p "$port" -c 50 -t set,get -n "$n" \
		"$@" --csv >"$log" 2>"$err" || [[ -s $err ]]; then
		say "kvs: $name: redis-benchmark -p $port -c 50 -t set,get -n $n $* --csv failed (exit or stderr):"
		head -20 "$err" "$log" >&2
		return 0
	fi
	awk -F, -v p="$name" -v t="$tag" '
		{ gsub(/"/, "") }
		$1 == "SET" || $1 == "GET" {
			k = p "_" tolower($1) t
			printf "%s_rps %s req/s\n", k, $2
			printf "%s_p50_ms %s ms\n%s_p99_ms %s ms\n", k, $5, k, $7
			printf "%s_max_ms %s ms\n", k, $8
		}' "$log" >>"$out"
}

# both servers, in turn (which goes first alternates between runs)
both() { # TAG N [ARGS]
	if ((r % 2)); then
		bench kvs "$kvs_port" "$@"
		bench redis "$redis_port" "$@"
	else
		bench redis "$redis_port" "$@"
		bench kvs "$kvs_port" "$@"
	fi
}
for ((r = 1; r <= runs; r++)); do
	say "kvs: run $r/$runs: redis-benchmark -c 50 -t set,get -n $REQUESTS, then -P 16 -n $P16_REQUESTS"
	both "" "$REQUESTS"
	both _p16 "$P16_REQUESTS" -P 16
done

# the same load during live upgrades and rollbacks: 50 clients of GET
# while the relup-shaped scripts of bench/kvs (1.0.0 -> 1.1.0 -> 1.0.0,
# shard and connection states converted each way) run UPGRADE_CYCLES
# times; every request must be answered without error
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${UPGRADE_CYCLES:=5}"
say "kvs: redis-benchmark -c 50 -t get during $UPGRADE_CYCLES upgrade/rollback cycles"
timeout 300 redis-benchmark -p "$kvs_port" -c 50 -t get -n "$REQUESTS" --csv \
	>"$work/up-rb.txt" 2>"$work/up-rb.err" &
rb=$!
sleep 0.3
pause=0
for ((c = 1; c <= UPGRADE_CYCLES; c++)); do
	for d in up down; do
		v=1.1.0
		[[ $d == down ]] && v=1.0.0
		if ! e=$(m eval "$here/$d.json" --path "$fx/kvs_shard-$v" \
			--path "$fx/kvs_conn-$v" 2>&1); then
			say "kvs: the $d script failed: $e"
			break 2
		fi
		p=$(grep -o 'paused: max [0-9.]*' <<<"$e" | awk '{print $3}')
		pause=$(awk -v a="$pause" -v b="${p:-0}" 'BEGIN { print (b > a) ? b : a }')
	done
done
wait "$rb" || say "kvs: redis-benchmark during the upgrades failed"
errors=$(cat "$work/up-rb.txt" "$work/up-rb.err" | grep -ci error || true)
echo "kvs_upgrade_errors $errors errors"
awk -F, '{ gsub(/"/, "") } $1 == "GET" {
	printf "kvs_upgrade_rps %s req/s\nkvs_upgrade_p99_ms %s ms\nkvs_upgrade_max_ms %s ms\n", $2, $7, $8
}' "$work/up-rb.txt"
echo "kvs_upgrade_pause_max_ms $pause ms"

# moltd still up and answering, and what its watchdog saw
[[ $(redis-cli -p "$kvs_port" ping 2>&1) == PONG ]] ||
	say "kvs: moltd does not answer PING after the benchmark (log: $work/moltd.log)"
say "kvs: moltd: $(m --json status | json_field long_callbacks) long callbacks (>100 ms) over the run"

# medians, then per metric: kvs_, redis_, ratio_ (kvs / redis); the
# upgrade lines above are one run each
median_lines <"$out" | awk '
{ n[++k] = $1; v[$1] = $2; u[$1] = $3 }
END {
	for (i = 1; i <= k; i++) {
		if (n[i] !~ /^kvs_/) continue
		b = substr(n[i], 5); r = "redis_" b
		printf "%s %s %s\n", n[i], v[n[i]], u[n[i]]
		if (!(r in v)) continue
		printf "%s %s %s\n", r, v[r], u[r]
		if (v[r] + 0 != 0) printf "ratio_%s %.3g x\n", b, v[n[i]] / v[r]
	}
	for (i = 1; i <= k; i++)
		if (n[i] ~ /^redis_/ && !(("kvs_" substr(n[i], 7)) in v))
			printf "%s %s %s\n", n[i], v[n[i]], u[n[i]]
}'
