#!/usr/bin/env bash
# The queue and purge-rule microbenchmark (bench/queues/queues_bench.c).
#
#   bash bench/queues/run.sh BUILD_DIR [MESSAGES] [RUNS]
#
# Prints `name value unit` lines (medians of RUNS runs, default 5, of
# MESSAGES messages, default 10000000). Prints nothing, and says why on
# stderr, when BUILD_DIR/bench/queues_bench was not built (it needs
# liburcu-dev and libck-dev: see bench/CMakeLists.txt).
set -euo pipefail
build=${1:?usage: bash bench/queues/run.sh BUILD_DIR [MESSAGES] [RUNS]}
bin=$build/bench/queues_bench
if [[ ! -x $bin ]]; then
	echo "queues: $bin missing (apt-get install liburcu-dev libck-dev, then rebuild)" >&2
	exit 0
fi
exec "$bin" --messages "${2:-10000000}" --runs "${3:-5}"
