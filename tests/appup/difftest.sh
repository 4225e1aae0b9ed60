#!/bin/sh
# Randomized differential test: molt's appup translation against Debian's
# OTP (systools_rc) on the same random inputs.
#   tests/appup/difftest.sh [N] [SEED] [BUILD_DIR]      (default 10000 1 build)
# Exit 0 when no case differs, 1 otherwise; 77 (skip) without erlang.
set -eu
N=${1:-10000}
SEED=${2:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${3:-$HERE/../../build}
if ! command -v escript >/dev/null 2>&1 || ! erl -noshell -eval \
	'case code:which(systools_rc) of non_existing -> halt(1); _ -> halt(0) end' \
	>/dev/null 2>&1; then
	echo "SKIP: difftest needs Erlang/OTP with sasl (apt-get install erlang-base)"
	exit 77
fi
DRIVER=$BUILD/tests/appup/molt_appup_difftest
[ -x "$DRIVER" ] || { echo "difftest: $DRIVER not built" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
escript "$HERE/difftest.escript" gen "$N" "$SEED" "$TMP/cases.terms"
"$DRIVER" "$TMP/cases.terms" "$TMP/molt.terms"
escript "$HERE/difftest.escript" check "$TMP/cases.terms" "$TMP/molt.terms"
