#!/bin/sh
# Unpack throughput of `molt unpack` against GNU `tar xzf` on the same
# bundle. Prints "name value unit" lines:
#   unpack_mb_per_sec.molt       <MB/s>   molt unpack (the default)
#   unpack_mb_per_sec.tar_xzf    <MB/s>   GNU tar xzf, same bundle
#   unpack_ratio.molt_vs_tar     <molt / tar>
#   unpack_signed_mb_per_sec.molt <MB/s>  molt unpack of the same bundle
#                                         signed, into a root trusting
#                                         its key (signature check added)
#   unpack_signed_overhead_pct   <%>      signed over unsigned time - 1
# molt unpack fsyncs every file before it records the release (tar
# does not), so both molt lines include that.
# MB are 10^6 bytes of file contents in the bundle; each number is the
# median of RUNS runs (default 7), each into a fresh directory.
#
#   usage: bench/unpack/unpack_bench.sh BUILD_DIR [SIZE_MB] [RUNS]
set -eu

build=${1:?usage: unpack_bench.sh BUILD_DIR [SIZE_MB] [RUNS]}
size_mb=${2:-48}
runs=${3:-7}
molt=$(cd "$build" && pwd)/releasetool/molt
[ -x "$molt" ] || { echo "unpack_bench.sh: no $molt (build first)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/molt-unpack-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$(cd "$(dirname "$0")/../.." && pwd)

# A release whose application carries SIZE_MB of private files: half
# text-like (base64, compresses ~4:3), half random (does not compress).
make_repo() {
	repo=$work/repo
	mkdir -p "$repo/apps/bulk/src" "$repo/apps/bulk/priv"
	cp "$src/fixtures/apps/kvs/1.0.0/apps/kvs/src/kvs_util.c" \
		"$repo/apps/bulk/src/bulk_util.c"
	sed -i 's/"kvs_util"/"bulk_util"/' "$repo/apps/bulk/src/bulk_util.c"
	cat >"$repo/molt.json" <<JSON
{"format": 1, "release": "bulk",
 "applications": [{"name": "bulk", "dir": "apps/bulk", "priv": "priv",
   "modules": [{"name": "bulk_util", "sources": ["src/bulk_util.c"]}]}]}
JSON
	n=$((size_mb * 2))
	i=0
	while [ $i -lt "$n" ]; do
		if [ $((i % 2)) -eq 0 ]; then
			head -c 393216 /dev/urandom | base64 | head -c 524288 \
				>"$repo/apps/bulk/priv/text-$i.txt"
		else
			head -c 524288 /dev/urandom >"$repo/apps/bulk/priv/blob-$i.bin"
		fi
		i=$((i + 1))
	done
	(cd "$repo" && git init -q && git add -A &&
		GIT_CONFIG_GLOBAL=/dev/null git -c user.name=b -c user.email=b@b \
			commit -qm bulk && git tag v1.0.0)
}

now_ns() { date +%s%N; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

make_repo
"$molt" -q build --repo "$work/repo" --tag v1.0.0 -o "$work/bulk.tar.gz"
bytes=$(tar -tvzf "$work/bulk.tar.gz" | awk '{s+=$3} END {print s}')

: >"$work/molt.ns"
: >"$work/tar.ns"
"$molt" -q keygen -o "$work/key"
cp "$work/bulk.tar.gz" "$work/signed.tar.gz"
"$molt" -q sign "$work/signed.tar.gz" --key "$work/key"

: >"$work/signed.ns"
r=0
while [ $r -lt "$runs" ]; do
	t0=$(now_ns)
	"$molt" -q init --root "$work/m$r" "$work/bulk.tar.gz" >/dev/null 2>&1
	t1=$(now_ns)
	mkdir "$work/t$r"
	t2=$(now_ns)
	tar xzf "$work/bulk.tar.gz" -C "$work/t$r"
	t3=$(now_ns)
	mkdir -m 0700 "$work/s$r"
	"$molt" -q --root "$work/s$r" trust add "$work/key.pub" >/dev/null
	t4=$(now_ns)
	"$molt" -q init --root "$work/s$r" "$work/signed.tar.gz" >/dev/null
	t5=$(now_ns)
	echo $((t1 - t0)) >>"$work/molt.ns"
	echo $((t3 - t2)) >>"$work/tar.ns"
	echo $((t5 - t4)) >>"$work/signed.ns"
	rm -rf "$work/m$r" "$work/t$r" "$work/s$r"
	r=$((r + 1))
done

molt_ns=$(median <"$work/molt.ns")
tar_ns=$(median <"$work/tar.ns")
signed_ns=$(median <"$work/signed.ns")
awk -v b="$bytes" -v m="$molt_ns" -v t="$tar_ns" -v s="$signed_ns" 'BEGIN {
	mm = b / 1e6 / (m / 1e9); tt = b / 1e6 / (t / 1e9);
	ss = b / 1e6 / (s / 1e9);
	printf "unpack_mb_per_sec.molt %.1f MB/s\n", mm;
	printf "unpack_mb_per_sec.tar_xzf %.1f MB/s\n", tt;
	printf "unpack_ratio.molt_vs_tar %.2f x\n", mm / tt;
	printf "unpack_signed_mb_per_sec.molt %.1f MB/s\n", ss;
	printf "unpack_signed_overhead_pct %.1f %%\n", (s / m - 1) * 100;
}'
