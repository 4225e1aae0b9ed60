#!/usr/bin/env bash
# Turn bench/run.sh's output into a Markdown table (for docs/benchmarks.md):
#   bash bench/run.sh build > bench.txt; bash bench/table.sh < bench.txt
awk '
NF != 3 { next }
{
	n = $1; side = "molt"
	if (n ~ /^beam_/) { side = "beam"; sub(/^beam_/, "", n) }
	else if (n ~ /^ratio_/) { side = "ratio"; sub(/^ratio_/, "", n) }
	if (!(n in seen)) { seen[n] = 1; order[++k] = n }
	v[n, side] = $2; if (side != "ratio") u[n] = $3
}
END {
	print "| line | unit | molt | BEAM | molt/BEAM |"
	print "|---|---|---|---|---|"
	for (i = 1; i <= k; i++) {
		n = order[i]
		printf "| `%s` | %s | %s | %s | %s |\n", n, u[n], cell(n, "molt"), cell(n, "beam"), cell(n, "ratio")
	}
}
function cell(n, s) { return ((n, s) in v) ? v[n, s] : "–" }'
