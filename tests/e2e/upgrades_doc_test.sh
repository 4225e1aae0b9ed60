#!/usr/bin/env bash
# e2e.upgrades_doc: the walk-through of docs/upgrades.md works as written.
# The build step uses this build, build/ paths point at it and /tmp paths
# go to a private directory; everything else runs as is.
set -euo pipefail
BUILD=$1
SRC=$(pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-updoc-XXXXXX")
cleanup() {
	if [ -S "$T/molt-upg-doc/run/moltd.sock" ]; then
		"$BUILD/releasetool/molt" --root "$T/molt-upg-doc" stop >/dev/null 2>&1 || true
		sleep 0.2
	fi
	rm -rf "$T"
}
trap cleanup EXIT
script=$(awk '/^A walk-through/{f=1} f&&/^```sh$/{s=1;next} s&&/^```$/{exit} s' \
	"$SRC/docs/upgrades.md")
[ -n "$script" ] || { echo "FAIL: no sh block in docs/upgrades.md"; exit 1; }
# /tmp/ first: the build's own path may be under /tmp too
script=$(sed -e "s|/tmp/|$T/|g" \
	-e 's|^cmake -S \. -B build && cmake --build build -j2$|: built already|' \
	-e "s|build/|$BUILD/|g" <<<"$script")
out=$(cd "$SRC" && bash -e -c "$script" 2>&1) || { echo "FAIL: the commands failed"; echo "$out"; exit 1; }
fail() { echo "FAIL: $*"; echo "$out"; exit 1; }
grep -qx '11' <<<"$out" || fail "first call"
grep -q '^dry run: checks passed, nothing changed; suspend would touch 2 processes$' <<<"$out" || fail "dry run"
grep -q '^committed in .* 2 processes paused' <<<"$out" || fail "eval"
[ "$(grep -cx '12' <<<"$out")" = 2 ] || fail "count and ring after the upgrade"
grep -qx '2.0.0' <<<"$out" || fail "vsn"
grep -Eq '^counter +2\.0\.0 +2 ' <<<"$out" || fail "modules"
echo "ok"
