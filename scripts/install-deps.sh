#!/bin/sh
# Install the Debian packages named in $MOLT_PACKAGES that are missing.
# As root: apt-get install -y. Otherwise: print the exact command and fail.
set -eu
missing=""
for p in $MOLT_PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "molt: missing Debian packages; as root, run:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "molt: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || apt-get update
apt-get install -y -qq $missing
