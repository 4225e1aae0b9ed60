#!/usr/bin/env bash
# e2e.trust_doc: the commands of docs/releases.md section 6 (Signing and
# trust) run as written, in order, with /tmp/ moved to a private
# directory: from molt keygen to a root that refuses unsigned bundles.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-trustdoc-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

sh fixtures/make-repo.sh "$T/shop" >/dev/null
# every sh block of section 6, in order; /tmp/ becomes $T/
script=$(awk '/^## 6\. Signing and trust/{f=1} /^## Design notes/{f=0} f&&/^```sh$/{s=1;next} s&&/^```$/{s=0} s' \
	docs/releases.md | sed "s|/tmp/|$T/|g")
[ -n "$script" ] || fail "no sh block in section 6 of docs/releases.md"
out=$(cd "$T" && PATH="$BUILD/releasetool:$BUILD/runtime:$PATH" bash -c "$script" 2>&1) ||
	fail "the page's commands failed: $out"
id=$(awk '$1 == "id" { print $2 }' "$T/keys/release.pub")
[ ${#id} = 16 ] || fail "no key id: $out"
for want in "^key $id: secret key in $T/keys/release (keep it private)" \
	'^molt-public-key 1$' "signed by key $id$" '^MANIFEST.sig$' \
	"^trusted key $id$" "^$id  $T/trusted/keys/$id.pub$" \
	"molt init: bundle '$T/unsigned-1.0.0.tar.gz' is not signed (no MANIFEST.sig) and this root trusts only signed bundles (keys $id); sign it with 'molt sign'" \
	"init: signature by trusted key $id is valid" \
	"^shop 1.0.0 permanent in $T/trusted " '^1.1.0: ok$' '^1.0.0: ok$' \
	'^1.1.0: lib/kvs-1.1.0/modules/kvs_server.so: sha256 [0-9a-f]* does not match the manifest ([0-9a-f]*)$' \
	'^exit 1$'; do
	grep -q "$want" <<<"$out" || fail "no '$want' in: $out"
done
[ "$(grep -c '^exit 1$' <<<"$out")" = 2 ] || fail "expected two refusals: $out"
[ "$(stat -c %a "$T/keys/release")" = 600 ] || fail "secret key mode"
echo "ok"
