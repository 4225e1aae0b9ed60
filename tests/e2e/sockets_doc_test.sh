#!/usr/bin/env bash
# e2e.sockets_doc: docs/modules.md "Sockets": the echo server shown there
# is docs/examples/echo/echo.c byte for byte, and the commands that run
# it work as written (/tmp/ moved to a private directory).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-sockdoc-XXXXXX")
cleanup() {
	"$BUILD/releasetool/molt" --root "$T/echo-node" stop >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

code=$(awk '/^### An echo server/{f=1} f&&/^```c$/{s=1;next} s&&/^```$/{exit} s' docs/modules.md)
[ "$code" = "$(cat docs/examples/echo/echo.c)" ] ||
	fail "the echo server in docs/modules.md differs from docs/examples/echo/echo.c"
script=$(awk '/^### An echo server/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' \
	docs/modules.md | sed "s|/tmp/|$T/|g; s|\$PWD/build/|$BUILD/|g")
[ -n "$script" ] || fail "no sh block in the Sockets section"
out=$(PATH="$BUILD/releasetool:$BUILD/runtime:$PATH" bash -e -c "$script" 2>&1) ||
	fail "the commands failed: $out"
grep -qx 'hello, echo' <<<"$out" || fail "no echo: $out"
grep -Eq '^#[0-9]+\.[0-9]+ +<[0-9.]+> +listen +127\.0\.0\.1:[0-9]+ +- ' <<<"$out" ||
	fail "molt sockets shows no listener: $out"
grep -Eq '^#[0-9]+\.[0-9]+ +<[0-9.]+> +conn +127\.0\.0\.1:[0-9]+ +127\.0\.0\.1:[0-9]+ +1 +0 +12 +12$' <<<"$out" ||
	fail "molt sockets shows no connection that echoed 12 bytes: $out"
echo "ok"
