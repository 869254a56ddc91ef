#!/usr/bin/env bash
# Times the drift monitor: schema derivation for a 500-interaction pact, and 100 probes
# with concurrency 16 against a local provider (in one process, and as a whole
# `accord monitor --once` process with hyperfine). There is no official tool to compare with.
#
#   bench/monitor/run.sh
#
# The provider is `accord-bench provider` on a free loopback port (GET /items/{id}, a
# 1 KB JSON body); the pacts describe exactly what it answers, so every check is clean.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh
need_tool hyperfine

RUNS="${RUNS:-20}"
build_release
WORK="$(mktemp -d)"
trap 'stop_background; rm -rf "$WORK"' EXIT

start_provider "$WORK/provider.log"
"$BENCH" pact --interactions 500 > "$WORK/pact-500.json"
"$BENCH" pact --interactions 100 > "$WORK/pact-100.json"
printf '[probe]\nconcurrency = 16\n' > "$WORK/monitor.toml"
MONITOR="$ACCORD --log warn monitor --base-url $PROVIDER_URL --config $WORK/monitor.toml --once"

machine
echo
echo "== schema derivation, in process"
"$BENCH" monitor-derive --pact "$WORK/pact-500.json" --runs "$RUNS"
echo
echo "== one check of 100 probes, concurrency 16, in process"
"$BENCH" monitor-probe --pact "$WORK/pact-100.json" --base-url "$PROVIDER_URL" --concurrency 16 --runs "$RUNS"
echo
echo "== whole process: accord monitor --once (exit 0 = clean)"
hyperfine --style basic --shell=none --warmup 2 --runs "$RUNS" --output=null --export-markdown "$WORK/monitor.md" \
    -n "100 interactions" "$MONITOR --pact-file $WORK/pact-100.json" \
    -n "500 interactions" "$MONITOR --pact-file $WORK/pact-500.json"
cat "$WORK/monitor.md"
machine
