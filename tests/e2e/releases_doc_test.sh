#!/usr/bin/env bash
# e2e.releases_doc: the commands of docs/releases.md section 5 (deploy,
# install, permanent, rollback, a failing check) run as written, in
# order, with /tmp/ moved to a private directory, and their output says
# what the page says.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/molt-reldoc-XXXXXX")
cleanup() {
	MOLT_ROOT=$T/deploy "$BUILD/releasetool/molt" stop >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

sh fixtures/make-repo.sh "$T/shop" >/dev/null
# every sh block of section 5, in order; /tmp/ becomes $T/
script=$(awk '/^## 5\. /{f=1} /^## Design notes/{f=0} f&&/^```sh$/{s=1;next} s&&/^```$/{s=0} s' \
	docs/releases.md | sed "s|/tmp/|$T/|g")
[ -n "$script" ] || fail "no sh block in section 5 of docs/releases.md"
out=$(cd "$T" && PATH="$BUILD/releasetool:$BUILD/runtime:$PATH" bash -c "$script" 2>&1) ||
	fail "the page's commands failed: $out"
for want in 'release 1.1.0 runs and is permanent' \
	'1.2.0 is current; .molt permanent 1.2.0. makes the node boot it' \
	'1.1.0 is the permanent release: the node runs it again' \
	"molt upgrade: release 1.2.0 failed: health command 'exit 3' exited with 3; rolled back" \
	'^exit 1$' '^apple$' 'moltd is stopping'; do
	grep -q "$want" <<<"$out" || fail "no '$want' in: $out"
done
[ "$(grep -c '^shop         1.1.0        permanent  kvs-1.1.0$' <<<"$out")" = 4 ] ||
	fail "1.1.0 is not permanent in every listing: $out"
echo "ok"
