#!/usr/bin/env bash
# e2e.build_doc: the commands of docs/releases.md section 2 (build,
# reproducible bundles, --check, signed tags) run as written, in order,
# with /tmp/ moved to a private directory, and their output says what the
# page says.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-blddoc-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

command -v ssh-keygen >/dev/null || { echo "no ssh-keygen: skipped"; exit 77; }
sh fixtures/make-repo.sh "$T/shop" >/dev/null
# every sh block of section 2, in order; /tmp/ becomes $T/
script=$(awk '/^## 2\. /{f=1} /^## 3\. /{f=0} f&&/^```sh$/{s=1;next} s&&/^```$/{s=0} s' \
	docs/releases.md | sed "s|/tmp/|$T/|g")
[ -n "$script" ] || fail "no sh block in section 2 of docs/releases.md"
out=$(cd "$T" && PATH="$BUILD/releasetool:$PATH" bash -e -c "$script" 2>&1) ||
	fail "the page's commands failed: $out"
for want in '^same$' "shop-1.1.0.tar.gz: reproduces: rebuilt from v1.1.0, the same bytes" \
	'"signer":	"ssh: release@example.com with ED25519 key SHA256:' \
	"tag 'v1.1.0' is not signed: a lightweight tag cannot carry a signature" \
	'^refused$'; do
	grep -q "$want" <<<"$out" || fail "no '$want' in: $out"
done
echo "ok"
