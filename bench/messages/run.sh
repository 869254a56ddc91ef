#!/usr/bin/env bash
# Message contracts: times `accord verify` against the official `pact verifier`
# (pact-python-cli) on the same 200-message pact and the same producer, in the same run,
# with hyperfine (whole processes), then a consumer message test from the Rust builder to
# the pact written.
#
#   bench/messages/run.sh
#   RUNS=20 bench/messages/run.sh
#
# The producer is `accord-bench provider` on a free loopback port: POST /_pact/messages
# answers `an item.updated event N` with item N (about 1 KB of JSON, 15 matchers in the
# pact) and its metadata; every message has a provider state, set up through
# POST /_pact/provider-states by both verifiers.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/tools.sh
ensure_official_tools
source bench/lib.sh
need_tool hyperfine

RUNS="${RUNS:-10}"
build_release
WORK="$(mktemp -d)"
trap 'stop_background; rm -rf "$WORK"' EXIT

start_provider "$WORK/provider.log"
"$BENCH" pact --messages --interactions 200 --states > "$WORK/messages-200.json"

accord_verify="$ACCORD --log warn verify --provider bench-provider --provider-base-url $PROVIDER_URL --messages-path /_pact/messages --state-change-url $PROVIDER_URL/_pact/provider-states --pact-file $WORK/messages-200.json"
pact_verify="pact verifier --hostname 127.0.0.1 --port $PROVIDER_PORT --base-path /_pact/messages --provider-name bench-provider --state-change-url http://127.0.0.1:$PROVIDER_PORT/_pact/provider-states --file $WORK/messages-200.json"

# Both tools must pass on the pact before they are timed.
$accord_verify > "$WORK/check.log" 2>&1 || { echo "accord verify failed:" >&2; cat "$WORK/check.log" >&2; exit 2; }
grep -q "200 passed" "$WORK/check.log" || { echo "accord verify did not verify 200 messages:" >&2; cat "$WORK/check.log" >&2; exit 2; }
$pact_verify > "$WORK/check.log" 2>&1 || { echo "pact verifier failed:" >&2; cat "$WORK/check.log" >&2; exit 2; }

machine
echo
echo "== 1. a 200-message pact with provider states, whole process"
hyperfine --style basic --shell=none --warmup 2 --output=null --runs "$RUNS" \
    --export-markdown "$WORK/messages.md" \
    -n "accord verify" "$accord_verify" \
    -n "pact verifier" "$pact_verify"
cat "$WORK/messages.md"

echo
echo "== 2. a consumer message test, builder to pact written"
"$BENCH" message-test --runs 500
machine
