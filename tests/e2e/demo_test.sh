#!/usr/bin/env bash
# e2e.demo: `make demo` (scripts/demo.sh) boots a node from its release,
# upgrades it live with `molt upgrade --health` under load and loses
# nothing, rolls a release that fails its health check back by itself,
# changes the application's tree with 1.2.0, and rolls back with `molt
# rollback`.
set -euo pipefail
BUILD=$1
out=$(bash scripts/demo.sh "$BUILD" 2>&1) || {
	echo "FAIL: demo exited non-zero"
	echo "$out"
	exit 1
}
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
grep -q '^identical$' <<<"$out" || fail "bundles are not reproducible"
grep -q 'booted release shop 1.0.0' <<<"$out" || fail "the node did not boot its release"
grep -q '^release 1.1.0 runs and is permanent$' <<<"$out" || fail "1.1.0 was not made permanent"
grep -q 'failed or unanswered: 0$' <<<"$out" || fail "writes failed during the upgrade"
grep -Eq '^keys read back from the upgraded process: ([0-9]+) of \1$' <<<"$out" ||
	fail "keys were lost"
[ "$(grep -A1 'HITS beta' <<<"$out" | sed -n 2p)" = 5 ] || fail "1.1.0 did not run on the migrated state"
grep -q "release 1.1.1 failed: molt call kvs_server GET beta: replied '?'" <<<"$out" ||
	fail "the broken release did not fail its health check"
grep -q '^upgrade: rolled back to 1.1.0' <<<"$out" || fail "the broken release was not rolled back"
grep -q '^<[0-9.]*> *kvs_expiry *kvs_expiry *1.2.0' <<<"$out" || fail "1.2.0 did not start kvs_expiry"
grep -q '^1.1.0 is the permanent release: the node runs it again$' <<<"$out" ||
	fail "molt rollback did not go back to 1.1.0"
grep -q '^<[0-9.]*> *kvs_stats *kvs_stats' <<<"$out" || fail "the rollback did not restart kvs_stats"
[ "$(grep -A1 'call kvs_server GET beta$' <<<"$out" | tail -1)" = value-of-beta ] ||
	fail "data lost in the rollback"
grep -q 'molt run exited with status 0' <<<"$out" || fail "the node did not stop cleanly"
echo "ok"
