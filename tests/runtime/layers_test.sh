#!/usr/bin/env bash
# The runtime's layers call only downward (docs/architecture.md): each
# folder of runtime/src/ may include its own headers, the public ones
# (molt/...) and those of the folders below it, nothing else.
set -euo pipefail
src=${1:-runtime/src}
# folder: the folders it may include, lowest first
declare -A below=(
	[core]=""
	[code]="core"
	[sup]="core code"
	[upgrade]="core code sup"
	[rel]="core code sup upgrade"
	[ctl]=""
)
bad=0
for dir in core code sup upgrade rel ctl; do
	for f in "$src/$dir"/*.[ch]; do
		while IFS= read -r inc; do
			layer=${inc%%/*}
			case " $dir ${below[$dir]} molt " in
			*" $layer "*) ;;
			*)
				echo "$f includes \"$inc\": $dir may not include $layer/ (allowed: ${below[$dir]:-none})"
				bad=1
				;;
			esac
		done < <(sed -n 's/^#include "\([a-z_]*\/[^"]*\)".*/\1/p' "$f")
	done
done
if [[ $bad -ne 0 ]]; then
	echo "layers: FAILED"
	exit 1
fi
echo "layers: every folder includes only those below it"
