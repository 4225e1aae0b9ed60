#!/usr/bin/env bash
# e2e.hermetic_build: molt build in a fixed environment.
#  1. the same tag built twice, from two copies of the repository in
#     different directories, with different umasks, TMPDIRs, PATH orders
#     and environment noise (CC, CFLAGS, CPATH, LANG, LC_ALL, TZ,
#     SOURCE_DATE_EPOCH, a junk cc first in PATH): the same bytes;
#  2. molt build --check says an honest bundle reproduces;
#  3. a compiler upgraded in place (--cc WRAPPER, gcc then clang):
#     --check names the differing files and the compiler version change;
#  4. a build command compiling with -g, by $MOLT_CC and by plain cc:
#     no temporary path in the .so, same bytes from another TMPDIR;
#     toolchain.env passes on only what molt.json names;
#  5. submodules, LFS pointers and a bad toolchain.env are refused;
#  6. --require-signed-tag (SSH signatures, an allowed-signers file):
#     lightweight, unsigned and untrusted tags refused; a good one's
#     signer in release.json, and --check of it reproduces.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init "$1" herm
M=$MOLTBIN
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
gitc() { git -c user.name=t -c user.email=t@t.invalid "$@"; }
# expect_fail TEXT CMD...: CMD exits 1 and says TEXT
expect_fail() {
	local text=$1 rc=0 out
	shift
	out=$("$@" 2>&1) || rc=$?
	[ "$rc" = 1 ] && grep -qF -- "$text" <<<"$out" ||
		fail "$*: exit $rc, expected 1 and '$text': $out"
}
member() { tar -xzOf "$1" "$2"; }

sh fixtures/make-repo.sh "$T/shop" >/dev/null
sh fixtures/make-repo.sh "$T/elsewhere/shop" >/dev/null
mkdir -p "$T/a" "$T/b" "$T/tmp1" "$T/tmp2" "$T/junk" "$T/c"

# 1. two builds, two worlds
printf '#!/bin/sh\necho junk cc >&2; exit 1\n' >"$T/junk/cc"
cp "$T/junk/cc" "$T/junk/gcc"
chmod +x "$T/junk/cc" "$T/junk/gcc"
# CPATH comes before the system's directories: a leak fails the compile
for h in stdio.h string.h stdlib.h; do
	echo '#error poisoned by CPATH' >"$T/junk/$h"
done
(umask 077; cd "$T/a" && TMPDIR=$T/tmp1 "$M" -q build --repo "$T/shop" \
	--tag v1.1.0 -o ./) || fail "build 1"
(umask 002; cd "$T/b" && env PATH="$T/junk:/bin:/usr/bin:/usr/local/bin:$PATH" \
	TMPDIR=$T/tmp2 CC=junk CFLAGS=-DJUNK=1 CPATH=$T/junk C_INCLUDE_PATH=$T/junk \
	LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8 TZ=Asia/Tokyo SOURCE_DATE_EPOCH=1 \
	GCC_COLORS=junk "$M" -q build --repo "$T/elsewhere/shop" --tag v1.1.0 \
	-o ./) || fail "build 2"
cmp "$T/a/shop-1.1.0.tar.gz" "$T/b/shop-1.1.0.tar.gz" ||
	fail "two builds of v1.1.0 differ"
rel=$(member "$T/a/shop-1.1.0.tar.gz" releases/1.1.0/release.json)
for f in '"cc":' '"cc_version":' '"libc":' '"SOURCE_DATE_EPOCH":	"1770031800"' \
	'"LC_ALL":	"C"' '"TZ":	"UTC"' '"umask":	"0022"'; do
	grep -qF "$f" <<<"$rel" || fail "release.json has no $f: $rel"
done

# 2. an honest bundle reproduces
out=$("$M" -q build --check "$T/a/shop-1.1.0.tar.gz" --repo "$T/shop") ||
	fail "--check of an honest bundle: $out"
grep -q "reproduces: rebuilt from v1.1.0, the same bytes" <<<"$out" || fail "--check: $out"

# 3. the compiler at the recorded path is upgraded: gcc, then clang
if command -v clang >/dev/null && command -v gcc >/dev/null; then
	mkdir -p "$T/tc"
	printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v gcc)" >"$T/tc/cc"
	chmod +x "$T/tc/cc"
	"$M" -q build --repo "$T/shop" --tag v1.1.0 --cc "$T/tc/cc" -o "$T/c/" ||
		fail "build with --cc"
	rel=$(member "$T/c/shop-1.1.0.tar.gz" releases/1.1.0/release.json)
	grep -qF "\"cc\":	\"$T/tc/cc\"" <<<"$rel" || fail "--cc not recorded"
	"$M" -q build --check "$T/c/shop-1.1.0.tar.gz" --repo "$T/shop" >/dev/null ||
		fail "--check before the upgrade"
	printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v clang)" >"$T/tc/cc"
	rc=0
	out=$("$M" -q build --check "$T/c/shop-1.1.0.tar.gz" --repo "$T/shop") || rc=$?
	[ "$rc" = 1 ] || fail "--check after the upgrade: exit $rc: $out"
	for f in "does not reproduce" "lib/kvs-1.1.0/modules/kvs_server.so: differs" \
		"releases/1.1.0/release.json: differs"; do
		grep -qF "$f" <<<"$out" || fail "--check does not say '$f': $out"
	done
	grep -q "toolchain: compiler version: '.*gcc.*' -> '.*clang.*'" <<<"$out" ||
		fail "--check does not name the compiler change: $out"
	out=$("$M" -q --json build --check "$T/c/shop-1.1.0.tar.gz" \
		--repo "$T/shop") || true
	grep -qF '"reproduces":false' <<<"$out" || fail "--check --json: $out"
else
	echo "note: gcc or clang missing, the compiler-change check is skipped"
fi

# 4. build commands: -g, by $MOLT_CC and by cc from PATH; toolchain.env
cd "$T/shop"
git checkout -q v1.1.0
cat >molt.json <<'JSON'
{"format": 1, "release": "shop",
 "toolchain": {"env": ["SHOP_PASSED"]},
 "applications": [{"name": "kvs", "dir": "apps/kvs",
  "build": "$MOLT_CC $MOLT_CFLAGS -g -o $MOLT_OUT_DIR/kvs_util.so src/kvs_util.c && cc $MOLT_CFLAGS -g -o $MOLT_OUT_DIR/kvs_server.so src/kvs_server.c && env | sort >$MOLT_OUT_DIR/../env.txt && mv $MOLT_OUT_DIR/../env.txt ../../env.txt",
  "modules": [{"name": "kvs_util", "sources": ["src/kvs_util.c"]},
              {"name": "kvs_server", "sources": ["src/kvs_server.c"]}]}]}
JSON
gitc commit -qam "a build command with -g"
gitc tag v2.0.0
cd - >/dev/null
SHOP_PASSED=yes SHOP_DROPPED=no TMPDIR=$T/tmp1 "$M" -q build \
	--repo "$T/shop" --tag v2.0.0 -o "$T/a/" || fail "build v2.0.0"
TMPDIR=$T/tmp2 SHOP_PASSED=yes "$M" -q build --repo "$T/shop" --tag v2.0.0 \
	-o "$T/b/" || fail "build v2.0.0 again"
cmp "$T/a/shop-2.0.0.tar.gz" "$T/b/shop-2.0.0.tar.gz" ||
	fail "v2.0.0 (-g) differs with another TMPDIR"
mkdir -p "$T/x" && tar -xzf "$T/a/shop-2.0.0.tar.gz" -C "$T/x"
for so in kvs_util kvs_server; do
	f=$T/x/lib/kvs-2.0.0/modules/$so.so
	sections=$(readelf -S "$f") # no pipe into grep -q: SIGPIPE + pipefail
	grep -q debug_info <<<"$sections" || fail "$so.so has no debug info"
	! grep -qa "molt-build-" "$f" || fail "$so.so holds the temporary build path"
done
rel=$(member "$T/a/shop-2.0.0.tar.gz" releases/2.0.0/release.json)
grep -qF '"SHOP_PASSED":	"yes"' <<<"$rel" || fail "toolchain.env not recorded"
grep -q SHOP_DROPPED <<<"$rel" && fail "an unnamed variable was recorded"

# 5. refusals
cd "$T/shop"
git checkout -q v1.1.0
gitc update-index --add --cacheinfo "160000,$(git rev-parse v1.0.0),vendor/lib"
gitc commit -qm "a submodule"
gitc tag v2.1.0
git checkout -q v1.1.0
printf 'version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 12\n' \
	"$(printf x | sha256sum | cut -c1-64)" >apps/kvs/big.bin
git add apps/kvs/big.bin
gitc commit -qm "an LFS pointer"
gitc tag v2.2.0
git checkout -q v1.1.0
sed -i 's/"release": "shop",/"release": "shop", "toolchain": {"env": ["PATH"]},/' molt.json
gitc commit -qam "toolchain.env names PATH"
gitc tag v2.3.0
cd - >/dev/null
expect_fail "'vendor/lib' in the tree at v2.1.0 is a submodule" \
	"$M" -q build --repo "$T/shop" --tag v2.1.0 -o "$T/c/"
expect_fail "'apps/kvs/big.bin' in the tree at v2.2.0 is a Git LFS pointer" \
	"$M" -q build --repo "$T/shop" --tag v2.2.0 -o "$T/c/"
expect_fail "field 'toolchain.env': expected variable names, not PATH" \
	"$M" -q build --repo "$T/shop" --tag v2.3.0 -o "$T/c/"

# 6. signed tags (SSH): alice is trusted, mallory is not
if command -v ssh-keygen >/dev/null; then
	ssh-keygen -q -t ed25519 -N '' -C alice -f "$T/alice"
	ssh-keygen -q -t ed25519 -N '' -C mallory -f "$T/mallory"
	echo "alice@example.com $(cat "$T/alice.pub")" >"$T/allowed_signers"
	cd "$T/shop"
	git config gpg.format ssh
	git config gpg.ssh.allowedSignersFile "$T/allowed_signers"
	gitc -c user.signingkey="$T/alice.pub" tag -s v3.0.0 -m "shop 3.0.0" v1.1.0
	gitc -c user.signingkey="$T/mallory.pub" tag -s v3.0.1 -m "shop 3.0.1" v1.1.0
	cd - >/dev/null
	expect_fail "tag 'v1.1.0' is not signed: a lightweight tag cannot carry a signature" \
		"$M" -q build --repo "$T/shop" --tag v1.1.0 --require-signed-tag -o "$T/c/"
	expect_fail "tag 'v1.0.0' is not signed by a trusted key (--require-signed-tag): git verify-tag: error: no signature found" \
		"$M" -q build --repo "$T/shop" --tag v1.0.0 --require-signed-tag -o "$T/c/"
	expect_fail "tag 'v3.0.1' is not signed by a trusted key (--require-signed-tag): git verify-tag: No principal matched." \
		"$M" -q build --repo "$T/shop" --tag v3.0.1 --require-signed-tag -o "$T/c/"
	[ -e "$T/c/shop-1.0.0.tar.gz" ] || [ -e "$T/c/shop-3.0.1.tar.gz" ] &&
		fail "a refused build left a bundle"
	"$M" -q build --repo "$T/shop" --tag v3.0.0 --require-signed-tag -o "$T/c/" ||
		fail "a tag signed by alice was refused"
	rel=$(member "$T/c/shop-3.0.0.tar.gz" releases/3.0.0/release.json)
	grep -qF '"signer":	"ssh: alice@example.com with ED25519 key SHA256:' <<<"$rel" ||
		fail "no signer in release.json: $rel"
	grep -qF '"require_signed_tag":	true' <<<"$rel" || fail "option not recorded"
	"$M" -q build --check "$T/c/shop-3.0.0.tar.gz" --repo "$T/shop" >/dev/null ||
		fail "--check of the signed build"
	# the signer's key is no longer trusted: --check's rebuild is refused
	: >"$T/allowed_signers"
	expect_fail "tag 'v3.0.0' is not signed by a trusted key" \
		"$M" -q build --check "$T/c/shop-3.0.0.tar.gz" --repo "$T/shop"
else
	echo "note: no ssh-keygen, the signed-tag checks are skipped"
fi
echo "PASS: hermetic builds reproduce; --check and --require-signed-tag say why not"
