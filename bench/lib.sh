# Helpers shared by bench/run.sh and bench/erlang/run.sh (sourced).

# Progress to stderr; stdout carries only `name value unit` lines.
say() { printf '%s\n' "$*" >&2; }

# Read `name value unit` lines (several per name, one per run) and print one
# line per name, in first-seen order, with the median value (for an even
# count, the mean of the two middle values).
median_lines() {
	awk '
	NF == 3 {
		if (!($1 in n)) { order[++k] = $1; unit[$1] = $3 }
		v[$1, ++n[$1]] = $2
	}
	END {
		for (i = 1; i <= k; i++) {
			name = order[i]; c = n[name]
			for (a = 1; a <= c; a++) s[a] = v[name, a]
			for (a = 2; a <= c; a++) {
				x = s[a]
				for (b = a - 1; b >= 1 && s[b] + 0 > x + 0; b--) s[b + 1] = s[b]
				s[b + 1] = x
			}
			m = (c % 2) ? s[(c + 1) / 2] : (s[c / 2] + s[c / 2 + 1]) / 2
			printf "%s %s %s\n", name, fmtnum(m), unit[name]
		}
	}
	function fmtnum(x) {
		if (x == int(x)) return sprintf("%d", x)
		if (x >= 100 || x <= -100) return sprintf("%d", x + (x > 0 ? 0.5 : -0.5))
		return sprintf("%.4g", x)
	}'
}
