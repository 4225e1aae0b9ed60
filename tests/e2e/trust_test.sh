#!/usr/bin/env bash
# e2e.trust: signed bundles and verified loads with a real moltd.
#  1. molt build --sign and molt sign; a root that trusts the key takes
#     them, and refuses unsigned ones at init, unpack and upgrade (the
#     node keeps running its release);
#  2. a module replaced in lib/ after the unpack: molt verify lists it,
#     molt install refuses it naming the file and both sums, and the
#     node stays on its release; put back, the install goes through;
#  3. the permanent release's module replaced: moltd refuses to boot;
#  4. a keys/ directory others can write: refused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init "$1" trust
B=$T/bundles
R=$T/node
M="$MOLTBIN --root $R"

build_bundles v1.0.0 v1.1.0:v1.0.0
mkdir -m 700 "$T/keys" "$T/signed"
$MOLTBIN -q keygen -o "$T/keys/rel" || fail "keygen"
[ "$(stat -c %a "$T/keys/rel")" = 600 ] || fail "the secret key is not 0600"
id=$(awk '$1 == "id" { print $2 }' "$T/keys/rel.pub")
[ ${#id} = 16 ] || fail "no key id in rel.pub"

# --- 1. sign, trust, refuse unsigned ---
$MOLTBIN build --repo "$T/shop" --tag v1.0.0 -o "$T/signed/" \
	--sign "$T/keys/rel" >"$T/build.out" 2>/dev/null || fail "build --sign"
read -r sum path <"$T/build.out"
[ "$sum" = "$(sha256sum "$path" | cut -c1-64)" ] ||
	fail "build --sign printed the sum of the unsigned bundle"
# a signed bundle reproduces: without its MANIFEST.sig, the same bytes
$MOLTBIN -q build --check "$path" --repo "$T/shop" ||
	fail "molt build --check of the signed bundle"
cp "$B/shop-1.1.0.tar.gz" "$T/signed/"
$MOLTBIN -q sign "$T/signed/shop-1.1.0.tar.gz" --key "$T/keys/rel" || fail "sign"
mkdir -m 700 "$R"
$M -q trust add "$T/keys/rel.pub" || fail "trust add"
[ "$($M trust list | cut -d' ' -f1)" = "$id" ] || fail "trust list"
rc=0
$M init "$B/shop-1.0.0.tar.gz" 2>"$T/err" || rc=$?
[ $rc = 1 ] && grep -q "bundle '$B/shop-1.0.0.tar.gz' is not signed" "$T/err" ||
	fail "init took an unsigned bundle: $(cat "$T/err")"
[ "$(ls -A "$R")" = keys ] || fail "a refused init left files"
$M init "$T/signed/shop-1.0.0.tar.gz" 2>"$T/err" >/dev/null || fail "signed init"
grep -q "signature by trusted key $id is valid" "$T/err" || fail "no signature line"
grep -q warning "$T/err" && fail "a warning for a signed bundle"
node_boot "$R" || fail "boot"
rc=0
$M upgrade "$B/shop-1.1.0.tar.gz" 2>"$T/err" >/dev/null || rc=$?
[ $rc = 1 ] && grep -q "is not signed (no MANIFEST.sig)" "$T/err" ||
	fail "upgrade took an unsigned bundle: $(cat "$T/err")"
[ "$(status_of "$R" 1.1.0)" = "" ] || fail "the refused upgrade unpacked 1.1.0"
$M status | grep -q 'shop 1.0.0' || fail "the node left 1.0.0"

# --- 2. a module replaced after the unpack: install refuses it ---
$M -q unpack "$T/signed/shop-1.1.0.tar.gz" || fail "signed unpack"
so=$R/lib/kvs-1.1.0/modules/kvs_server.so
cp "$so" "$T/kvs_server.so.good"
cp "$R/lib/kvs-1.0.0/modules/kvs_server.so" "$so"
rc=0
$M verify 1.1.0 >"$T/verify" || rc=$?
[ $rc = 1 ] && grep -q "^1.1.0: lib/kvs-1.1.0/modules/kvs_server.so: sha256 [0-9a-f]\{64\} does not match the manifest ([0-9a-f]\{64\})$" "$T/verify" ||
	fail "molt verify: $(cat "$T/verify")"
$M verify 1.0.0 >/dev/null || fail "molt verify 1.0.0 failed"
rc=0
$M install 1.1.0 2>"$T/err" >/dev/null || rc=$?
[ $rc = 1 ] && grep -q "$so: sha256 [0-9a-f]\{64\} does not match releases/1.1.0/MANIFEST.sha256 ([0-9a-f]\{64\})" "$T/err" ||
	fail "install took a replaced module: $(cat "$T/err")"
$M status | grep -q 'shop 1.0.0' || fail "the refused install changed the node"
[ "$(status_of "$R" 1.1.0)" = unpacked ] || fail "1.1.0 is not unpacked"
cp "$T/kvs_server.so.good" "$so"
$M -q install 1.1.0 >/dev/null || fail "install of the restored release"
$M status | grep -q 'shop 1.1.0' || fail "the node is not on 1.1.0"
node_stop

# --- 3. the permanent release's module replaced: no boot ---
so=$R/lib/kvs-1.0.0/modules/kvs_util.so
cp "$R/lib/kvs-1.1.0/modules/kvs_server.so" "$so"
rc=0
"$MOLTDBIN" --root "$R" 2>"$T/moltd.log" || rc=$?
[ $rc = 1 ] || fail "moltd booted a release that does not verify (exit $rc)"
grep -q "$so: sha256 [0-9a-f]\{64\} does not match releases/1.0.0/MANIFEST.sha256 ([0-9a-f]\{64\})" "$T/moltd.log" ||
	fail "moltd's refusal: $(cat "$T/moltd.log")"

# --- 4. keys others can write are no trust ---
chmod 0777 "$R/keys"
rc=0
$M trust list 2>"$T/err" || rc=$?
[ $rc = 1 ] && grep -q "keys': mode 0777 lets group or others write it" "$T/err" ||
	fail "trust list took a keys/ others can write: $(cat "$T/err")"
echo ok
