#!/bin/sh
# molt relup of fixtures/appup vs OTP's systools:make_relup on the same
# releases, once with the fixture's kvs.appup and once with the same appup
# in ~w form (fixtures/appup/kvs.w.appup: strings as lists of character
# codes). Usage: tests/appup/relup_vs_otp.sh [BUILD_DIR]. 77 = skipped.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../../build}
FIX=$HERE/../../fixtures/appup
if ! command -v escript >/dev/null 2>&1; then
	echo "SKIP: relup_vs_otp needs Erlang/OTP (apt-get install erlang-base)"
	exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/releasetool/molt" --quiet relup --from "$FIX/rel-1.0.0" \
	--to "$FIX/rel-1.1.0" --terms -o "$TMP/relup.terms"
escript "$HERE/relup_vs_otp.escript" "$FIX" "$TMP/relup.terms"
# the same releases, kvs 1.1.0's appup written with ~w
cp -r "$FIX/rel-1.0.0" "$FIX/rel-1.1.0" "$TMP/"
cp "$FIX/kvs.w.appup" "$TMP/rel-1.1.0/lib/kvs-1.1.0/kvs.appup"
"$BUILD/releasetool/molt" --quiet relup --from "$TMP/rel-1.0.0" \
	--to "$TMP/rel-1.1.0" --terms -o "$TMP/relup.w.terms"
escript "$HERE/relup_vs_otp.escript" "$FIX" "$TMP/relup.w.terms" \
	"$FIX/kvs.w.appup"
