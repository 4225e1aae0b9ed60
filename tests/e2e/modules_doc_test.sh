#!/usr/bin/env bash
# e2e.modules_doc: the commands of docs/modules.md work as written.
# The install step uses this build instead of rebuilding molt, and /tmp
# paths are moved into a private directory; everything else runs as is.
set -euo pipefail
BUILD=$1
SRC=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-doc-XXXXXX")
cleanup() {
	if [ -S "$T/greeter-node/run/moltd.sock" ]; then
		pid=$("$T/molt-prefix/bin/molt" --root "$T/greeter-node" --json status 2>/dev/null |
			grep -o '"pid":[0-9]*' | cut -d: -f2 || true)
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT
# the ```sh block of the "Build it outside" section
script=$(awk '/^## Build it outside/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' \
	"$SRC/docs/modules.md")
[ -n "$script" ] || { echo "FAIL: no sh block in docs/modules.md"; exit 1; }
# /tmp/ first: the build's own path may be under /tmp too
script=$(sed -e "s|/tmp/|$T/|g" \
	-e 's|^cmake -S \. -B build && cmake --build build -j2$|: built already|' \
	-e "s|^cmake --install build |cmake --install '$BUILD' |" <<<"$script")
out=$(cd "$SRC" && bash -e -c "$script" 2>&1) || { echo "FAIL: the commands failed"; echo "$out"; exit 1; }
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
grep -qx 'hello ada #1' <<<"$out" || fail "first call"
grep -qx 'hello bob #2' <<<"$out" || fail "second call"
grep -qx 'hello cy #3, 2 letters' <<<"$out" || fail "upgraded call"
grep -q '^purged greeter' <<<"$out" || fail "soft-purge"
grep -q '^moltd is stopping' <<<"$out" || fail "stop"
echo "ok"
