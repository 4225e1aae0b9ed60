#!/usr/bin/env bash
# e2e.probe_ctor: nothing of a module runs in molt or in a live node
# before it is installed. kvs_server of release 1.1.5 has a constructor
# that appends "PID PPID" to a file when the .so is opened. molt build
# reads its descriptor, and moltd's dry run (molt install --dry-run)
# checks it: each must do so in a child process (molt-probe), so every
# line has a pid that is neither molt's nor moltd's, and the parent is
# the one that asked.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init "$1" ctor
R=$T/node
LOG=$T/ctor.log

sh fixtures/make-repo.sh "$T/shop" >/dev/null
(
	cd "$T/shop"
	git checkout -q v1.1.0
	cat >>apps/kvs/src/kvs_server.c <<C
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void ctor_log(void)
{
	FILE *f = fopen("$LOG", "a");

	if (f) {
		fprintf(f, "%ld %ld\n", (long)getpid(), (long)getppid());
		fclose(f);
	}
}
C
	git -c user.name=t -c user.email=t@t commit -qam "kvs_server: a constructor"
	git tag v1.1.5
)

# molt build: the constructor runs in a child of molt, never in molt
"$MOLTBIN" -q build --repo "$T/shop" --tag v1.0.0 -o "$T/bundles/" >/dev/null ||
	fail "build v1.0.0"
"$MOLTBIN" -q build --repo "$T/shop" --tag v1.1.5 --relup-from v1.0.0 \
	-o "$T/bundles/" >"$T/build.out" 2>&1 &
build_pid=$!
wait "$build_pid" || fail "build v1.1.5: $(cat "$T/build.out")"
[ -s "$LOG" ] || fail "the constructor never ran (molt build did not open the module)"
# one line: only v1.1.5 has the constructor
n=$(wc -l <"$LOG")
[ "$n" = 1 ] || fail "molt build: $n constructor runs, expected 1: $(cat "$LOG")"
read -r pid ppid <"$LOG"
[ "$pid" != "$build_pid" ] || fail "the constructor ran inside molt (pid $pid)"
[ "$ppid" = "$build_pid" ] || fail "the constructor ran in $pid, a child of $ppid, not of molt ($build_pid)"
: >"$LOG"

# moltd's dry run: the constructor runs in a child of moltd, never in it
new_root "$R" "$T/bundles/shop-1.0.0.tar.gz" "$T/bundles/shop-1.1.5.tar.gz"
node_boot "$R" || fail "moltd did not boot"
[ ! -s "$LOG" ] || fail "booting 1.0.0 opened 1.1.5's module: $(cat "$LOG")"
out=$("$MOLTBIN" --root "$R" install 1.1.5 --dry-run 2>&1) || fail "dry run: $out"
[ -s "$LOG" ] || fail "the dry run did not read kvs_server's descriptor: $out"
while read -r pid ppid; do
	[ "$pid" != "$NODE_PID" ] || fail "the constructor ran inside moltd (pid $pid)"
	[ "$ppid" = "$NODE_PID" ] || fail "the constructor ran in $pid, a child of $ppid, not of moltd ($NODE_PID)"
done <"$LOG"
[ "$(status_of "$R" 1.1.5)" = unpacked ] || fail "the dry run changed RELEASES"
# the install itself loads the module into the node: now it runs there
: >"$LOG"
"$MOLTBIN" --root "$R" install 1.1.5 >/dev/null 2>&1 || fail "install 1.1.5"
grep -q "^$NODE_PID " "$LOG" || fail "install did not load kvs_server into moltd: $(cat "$LOG")"
node_stop
echo "PASS: module constructors ran only in molt-probe children (build, dry run); in moltd only at install"
