#!/bin/sh
# Run the unpack fuzzer for a fixed number of inputs, seeded with a real
# bundle of the sample release (ctest entry releasetool.fuzz_unpack).
#   usage: run_fuzz.sh MOLT FUZZER FIXTURES_DIR [RUNS]
set -eu
molt=$1 fuzzer=$2 fixtures=$3 runs=${4:-3000}
work=$(mktemp -d "${TMPDIR:-/tmp}/molt-fuzzrun-XXXXXX")
trap 'rm -rf "$work"' EXIT
sh "$fixtures/make-repo.sh" "$work/repo" >/dev/null
mkdir "$work/corpus"
"$molt" -q build --repo "$work/repo" --tag v1.0.0 -o "$work/corpus/seed.tar.gz"
"$fuzzer" -runs="$runs" -seed=1 -max_len=65536 -timeout=10 \
	-artifact_prefix="$work/" "$work/corpus" 2>"$work/log" || {
	tail -40 "$work/log" >&2
	exit 1
}
tail -3 "$work/log"
