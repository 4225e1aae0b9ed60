#!/usr/bin/env bash
# e2e.readme: the README's "Using molt" commands work as written (paths
# under /tmp/ moved to a temporary directory; `make build` is the build
# this test runs in). Skipped (77) without redis-tools.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
command -v redis-cli >/dev/null || { echo "SKIP: redis-cli not found (apt-get install redis-tools)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-readme-XXXXXX")
cleanup() {
	"$BUILD/releasetool/molt" --root "$T/node" stop >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

script=$(awk '/^## Using molt/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' README.md |
	grep -v '^make build' | sed "s|/tmp/|$T/|g")
[ -n "$script" ] || fail "no sh block under README.md's 'Using molt'"
out=$(PATH="$BUILD/releasetool:$BUILD/runtime:$PATH" bash -e -c "$script" 2>&1) ||
	fail "README.md's commands failed: $out"
grep -A1 '^release 1.1.0 runs and is permanent$' <<<"$out" | grep -x apple >/dev/null || fail "no 'apple' after the upgrade: $out"
grep -E '^kvs +1\.1\.0 +permanent' <<<"$out" >/dev/null || fail "1.1.0 is not permanent: $out"
grep 'moltd is stopping' <<<"$out" >/dev/null || fail "the node did not stop: $out"
echo "ok"
