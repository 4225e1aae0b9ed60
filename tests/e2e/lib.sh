# Shared setup of the release e2e tests (sourced, bash): a temp dir, the
# fixture bundles, roots, and moltd nodes that are always killed at exit.
#
#   . tests/e2e/lib.sh; e2e_init BUILD_DIR NAME
#
# Sets BUILD, T (removed at exit), MOLTBIN, MOLTDBIN. Nodes started with
# node_boot are killed by the EXIT trap, whatever the test did.

e2e_init() {
	BUILD=$(cd "$1" && pwd)
	T=$(mktemp -d "${TMPDIR:-/tmp}/molt-$2-XXXXXX")
	MOLTBIN=$BUILD/releasetool/molt
	MOLTDBIN=$BUILD/runtime/moltd
	NODE_PID=
	trap e2e_cleanup EXIT
}

e2e_cleanup() {
	node_kill9
	rm -rf "$T"
}

fail() {
	echo "FAIL: $*"
	[ -f "$T/moltd.log" ] && tail -5 "$T/moltd.log"
	exit 1
}

# Make the fixture repository in $T/shop and build the bundles named by
# "TAG[:FROM,FROM...]" words into $T/bundles, in parallel.
build_bundles() {
	local spec tag from f pids=() args
	[ -d "$T/shop" ] || sh fixtures/make-repo.sh "$T/shop" >/dev/null
	for spec in "$@"; do
		tag=${spec%%:*}
		args=()
		if [ "$spec" != "$tag" ]; then
			from=${spec#*:}
			for f in ${from//,/ }; do args+=(--relup-from "$f"); done
		fi
		"$MOLTBIN" -q build --repo "$T/shop" --tag "$tag" "${args[@]}" \
			-o "$T/bundles/" >"$T/build-$tag.log" 2>&1 &
		pids+=($!)
	done
	for f in "${pids[@]}"; do wait "$f" || fail "molt build (see build logs)"; done
}

# new_root DIR FIRST_BUNDLE [MORE_BUNDLES...]: init, then unpack the rest.
new_root() {
	local r=$1 b
	shift
	rm -rf "$r"
	mkdir -m 0700 "$r" # moltd refuses a root its group can write
	"$MOLTBIN" -q --root "$r" init "$1" >/dev/null || fail "molt init $1"
	shift
	for b in "$@"; do
		"$MOLTBIN" -q --root "$r" unpack "$b" >/dev/null || fail "molt unpack $b"
	done
}

# node_boot ROOT: moltd on ROOT in the background (NODE_PID), and wait,
# bounded, until molt status answers (its text in NODE_STATUS). Returns 1
# if it never does.
node_boot() {
	"$MOLTDBIN" --root "$1" 2>>"$T/moltd.log" &
	NODE_PID=$!
	node_wait "$1"
}

node_wait() {
	local i
	for i in $(seq 500); do
		NODE_STATUS=$("$MOLTBIN" --root "$1" status 2>/dev/null) && return 0
		alive "$NODE_PID" || return 1
		sleep 0.01
	done
	return 1
}

# alive PID: PID runs (kill -0 also succeeds on a zombie not yet reaped)
alive() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	return 0
}

# Stop the node cleanly (molt stop) and wait for it.
node_stop() {
	[ -n "$NODE_PID" ] || return 0
	kill -TERM "$NODE_PID" 2>/dev/null || true
	wait "$NODE_PID" 2>/dev/null || true
	NODE_PID=
}

node_kill9() {
	[ -n "${NODE_PID:-}" ] || return 0
	kill -9 "$NODE_PID" 2>/dev/null || true
	wait "$NODE_PID" 2>/dev/null || true
	NODE_PID=
}

# status_of ROOT VSN: the status RELEASES.json gives VSN ("" if none).
status_of() {
	"$MOLTBIN" --root "$1" releases | awk -v v="$2" '$2 == v { print $3 }'
}
