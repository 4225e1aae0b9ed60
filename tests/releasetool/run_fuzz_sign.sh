#!/bin/sh
# Run the key and signature parser fuzzer for a fixed number of inputs,
# seeded with a real key pair and the MANIFEST.sig of a signed bundle
# (ctest entry releasetool.fuzz_sign). Each seed is the file with the
# parser's selector byte in front (0 public key, 1 secret key, 2 sig).
#   usage: run_fuzz_sign.sh MOLT FUZZER FIXTURES_DIR [RUNS]
set -eu
molt=$1 fuzzer=$2 fixtures=$3 runs=${4:-3000}
work=$(mktemp -d "${TMPDIR:-/tmp}/molt-fuzzsign-XXXXXX")
trap 'rm -rf "$work"' EXIT
sh "$fixtures/make-repo.sh" "$work/repo" >/dev/null
mkdir "$work/corpus"
"$molt" -q keygen -o "$work/key"
"$molt" -q build --repo "$work/repo" --tag v1.0.0 -o "$work/b.tar.gz" \
	--sign "$work/key"
tar -xzOf "$work/b.tar.gz" MANIFEST.sig >"$work/sig"
{ printf '\000'; cat "$work/key.pub"; } >"$work/corpus/pub"
{ printf '\001'; cat "$work/key"; } >"$work/corpus/sec"
{ printf '\002'; cat "$work/sig"; } >"$work/corpus/sig"
"$fuzzer" -runs="$runs" -seed=1 -max_len=4096 -timeout=10 \
	-artifact_prefix="$work/" "$work/corpus" 2>"$work/log" || {
	tail -40 "$work/log" >&2
	exit 1
}
tail -3 "$work/log"
