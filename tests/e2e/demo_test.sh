#!/usr/bin/env bash
# e2e.demo: `make demo` (scripts/demo.sh) upgrades a live node from a git
# tag under load, loses nothing, refuses a broken script and rolls back.
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
grep -q 'moltd exited with status 0' <<<"$out" || fail "moltd did not stop cleanly"
echo "ok"
