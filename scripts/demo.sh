#!/usr/bin/env bash
# make demo: what molt can do so far. Grows with each issue.
set -euo pipefail
BUILD=${1:-build}
echo "molt demo: nothing to show yet beyond the CLI"
"$BUILD/releasetool/molt" help
