#!/usr/bin/env bash
# e2e.demo: scripts/demo.sh runs and shows what it claims.
set -euo pipefail
BUILD=$1
out=$(bash scripts/demo.sh "$BUILD" 2>&1)
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
grep -q '^hello cy #3, 2 letters$' <<<"$out" || fail "greeter did not keep its count across the upgrade"
grep -q 'moltd exited with status 0' <<<"$out" || fail "moltd did not stop cleanly"
grep -q "child 'boom' exited (requested crash), restarting" <<<"$out" || fail "no restart logged"
before=$(grep 'boom before:' <<<"$out" | sed 's/.*pid":"\([^"]*\)".*/\1/')
after=$(grep 'boom after:' <<<"$out" | sed 's/.*pid":"\([^"]*\)".*/\1/')
[ -n "$after" ] && [ "$before" != "$after" ] || fail "boom was not restarted ($before -> $after)"
[ "$(grep -A1 'call a get' <<<"$out" | sed -n 2p)" = 3 ] || fail "counter a lost its state"
echo "ok"
