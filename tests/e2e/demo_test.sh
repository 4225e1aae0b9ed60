#!/usr/bin/env bash
# e2e.demo: `make demo` (scripts/demo.sh) upgrades a live node from a git
# tag under load, loses nothing, refuses a broken script, undoes a failed
# one after the point of no return, and rolls back.
set -euo pipefail
BUILD=$1
out=$(bash scripts/demo.sh "$BUILD" 2>&1) || {
	echo "FAIL: demo exited non-zero"
	echo "$out"
	exit 1
}
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
grep -q '^identical$' <<<"$out" || fail "bundles are not reproducible"
grep -q 'failed or unanswered: 0$' <<<"$out" || fail "writes failed during the upgrade"
grep -Eq '^keys read back from the upgraded process: ([0-9]+) of \1$' <<<"$out" ||
	fail "keys were lost"
[ "$(grep -c '^committed in' <<<"$out")" = 2 ] || fail "up and down scripts did not both commit"
grep -q 'no_such_file: kvs_nothere.so' <<<"$out" || fail "the broken script was not refused"
grep -q '^kvs_server       1.1.0' <<<"$out" || fail "1.1.0 never became current"
[ "$(grep -A1 'HITS beta' <<<"$out" | sed -n 2p)" = 1 ] || fail "1.1.0 did not run on the migrated state"
grep -q "code_change failed for process" <<<"$out" || fail "counter 3.0.0 did not fail"
grep -q '^rolled back in' <<<"$out" || fail "the failed upgrade did not roll back"
grep -q '^counter          1.0.0           3' <<<"$out" || fail "counters not back on 1.0.0"
for c in "c1 get:41" "c2 get:666" "c3 get:7"; do
	[ "$(grep -A1 "call ${c%%:*}\$" <<<"$out" | sed -n 2p)" = "${c##*:}" ] ||
		fail "${c%% *} lost its count in the rollback"
done
grep -q 'moltd exited with status 0' <<<"$out" || fail "moltd did not stop cleanly"
echo "ok"
