#!/usr/bin/env bash
# e2e.demo: `make demo` (scripts/demo.sh): kvs built from git tags, a node
# booted from release 1.0.0, upgraded live to 1.1.0 then 1.2.0 under
# redis-benchmark load with three redis-cli connections held open, a
# broken 1.2.1 rolled back by its failed health check, and `molt
# rollback` to 1.0.0: the data, the connections and the client error
# count checked at each step. Skipped (77) without redis-tools.
set -euo pipefail
BUILD=$1
for t in redis-cli redis-benchmark; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not found (apt-get install redis-tools)"; exit 77; }
done
out=$(bash scripts/demo.sh "$BUILD" 2>&1) || {
	echo "FAIL: demo exited non-zero"
	echo "$out"
	exit 1
}
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
has() { grep -E -- "$1" <<<"$out" >/dev/null; }
has '^   kvs listens on 127\.0\.0\.1:[0-9]+; molt_release:1\.0\.0$' || fail "the node did not boot release 1.0.0"
has 'DBSIZE 5002, GET user:1234 name-1234, visits 3, TTL session:42 3600$' || fail "the keys were not written"
has 'installed 1\.0\.0 -> 1\.1\.0 in [0-9.]+ ms; [0-9]+ processes paused, longest [0-9.]+ ms' ||
	fail "no pause figures for 1.1.0"
has '^   molt_release:1\.1\.0, HITS user:7 [0-9]+ \(new in 1\.1\.0\)$' || fail "1.1.0 does not run"
has 'installed 1\.1\.0 -> 1\.2\.0 in' || fail "1.2.0 was not installed"
has "^   KEYS 'user:12\?' -> user:120 user:121 .* user:129 $" || fail "1.2.0's KEYS"
has '^   kvs_sweeper processes: 0$' || fail "kvs_sweeper still runs in 1.2.0"
has 'DBSIZE 5004, GET user:1234 name-1234, visits 4 after one more INCR, TTL session:42 35[0-9][0-9], HITS user:7' ||
	fail "data lost in the upgrades"
has '^   upgrade: rolled back to 1\.2\.0 in' || fail "the broken 1.2.1 was not rolled back"
has '^   GET user:7 -> name-7 on molt_release:1\.2\.0$' || fail "1.2.0 does not answer after the failed 1.2.1"
has '^   1\.0\.0 is the permanent release: the node runs it again$' || fail "molt rollback did not go back to 1.0.0"
has '^   molt_release:1\.0\.0, DBSIZE 5004, GET user:1234 name-1234, visits 4, TTL session:42 35[0-9][0-9]$' ||
	fail "data lost in the rollback"
[ "$(grep -c '^   held connection [123]: GET user:2 -> name-2 $' <<<"$out")" = 3 ] ||
	fail "the held connections do not answer after the rollback"
has '^   client errors: 0$' || fail "clients saw errors"
has '^   dropped connections: 0 of 3 held$' || fail "connections were dropped"
has '^   molt run exited with status 0$' || fail "the node did not stop cleanly"
echo "ok"
