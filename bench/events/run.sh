#!/usr/bin/env bash
# Event drift checking throughput: `accord-bench event-check` on one thread, 20 event types
# (structured CloudEvents of about 1 KB, 17 matchers each, 1 event in 10 drifted), three
# runs of EVENTS events (default 500000), with the peak memory of each run.
#
#   bench/events/run.sh
#   EVENTS=1000000 bench/events/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
build_release
machine
for run in 1 2 3; do
    taskset -c 0 "$BENCH" event-check --events "${EVENTS:-500000}"
done
machine
