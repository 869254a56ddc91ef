#!/usr/bin/env bash
# Times `accord verify` against the official `pact verifier` (pact-python-cli) on the
# same pacts and the same provider, in the same run, with hyperfine (whole processes).
#
#   bench/verifier/run.sh
#   RUNS=20 bench/verifier/run.sh
#
# The provider is `accord-bench provider` on a free loopback port: it answers
# GET /items/{id} with a 1 KB JSON body and accepts every state change. Three cases:
#   1. a 200-interaction pact, every interaction with a provider state;
#   2. a 3-interaction pact with provider states;
#   3. four 50-interaction pacts verified with `accord verify --parallel N` (N = 1, 2, 4),
#      against the same provider and against one that takes 5 ms per answer, with the
#      official verifier (which verifies pacts one after another) on the same four pacts.
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
FAST_URL="$PROVIDER_URL" FAST_PORT="$PROVIDER_PORT"
start_provider "$WORK/slow-provider.log" --delay-ms 5
SLOW_URL="$PROVIDER_URL" SLOW_PORT="$PROVIDER_PORT"

"$BENCH" pact --interactions 200 --states > "$WORK/pact-200.json"
"$BENCH" pact --interactions 3 --states > "$WORK/pact-3.json"
mkdir "$WORK/four"
for c in 1 2 3 4; do
    "$BENCH" pact --consumer "consumer-$c" --interactions 50 --states > "$WORK/four/consumer-$c.json"
done

# accord_verify URL ARGS... / pact_verify PORT ARGS...: the two command lines, verifying
# the same pacts with the same provider states.
accord_verify() {
    local url="$1"; shift
    echo "$ACCORD --log warn verify --provider bench-provider --provider-base-url $url --state-change-url $url/_pact/provider-states $*"
}
pact_verify() {
    local port="$1"; shift
    echo "pact verifier --hostname 127.0.0.1 --port $port --provider-name bench-provider --state-change-url http://127.0.0.1:$port/_pact/provider-states $*"
}

# Both tools must pass on these pacts before they are timed.
for args in "--pact-file $WORK/pact-200.json" "--pact-file $WORK/pact-3.json" "--pact-dir $WORK/four"; do
    $(accord_verify "$FAST_URL" "$args") > "$WORK/check.log" 2>&1 \
        || { echo "accord verify failed ($args):" >&2; cat "$WORK/check.log" >&2; exit 2; }
done
for args in "--file $WORK/pact-200.json" "--file $WORK/pact-3.json" "--dir $WORK/four"; do
    $(pact_verify "$FAST_PORT" "$args") > "$WORK/check.log" 2>&1 \
        || { echo "pact verifier failed ($args):" >&2; cat "$WORK/check.log" >&2; exit 2; }
done

machine
HF=(hyperfine --style basic --shell=none --warmup 2 --output=null)

echo
echo "== 1. a 200-interaction pact with provider states"
"${HF[@]}" --runs "$RUNS" --export-markdown "$WORK/200.md" \
    -n "accord verify" "$(accord_verify "$FAST_URL" --pact-file "$WORK/pact-200.json")" \
    -n "pact verifier" "$(pact_verify "$FAST_PORT" --file "$WORK/pact-200.json")"
cat "$WORK/200.md"

echo
echo "== 2. a 3-interaction pact with provider states"
"${HF[@]}" --runs $((RUNS * 3)) --export-markdown "$WORK/3.md" \
    -n "accord verify" "$(accord_verify "$FAST_URL" --pact-file "$WORK/pact-3.json")" \
    -n "pact verifier" "$(pact_verify "$FAST_PORT" --file "$WORK/pact-3.json")"
cat "$WORK/3.md"

for speed in fast slow; do
    if [ "$speed" = fast ]; then url="$FAST_URL" port="$FAST_PORT" what="instant provider"
    else url="$SLOW_URL" port="$SLOW_PORT" what="provider taking 5 ms per answer"; fi
    echo
    echo "== 3. four 50-interaction pacts, $what"
    "${HF[@]}" --runs "$RUNS" --export-markdown "$WORK/parallel-$speed.md" \
        -n "accord verify --parallel 1" "$(accord_verify "$url" --pact-dir "$WORK/four" --parallel 1)" \
        -n "accord verify --parallel 2" "$(accord_verify "$url" --pact-dir "$WORK/four" --parallel 2)" \
        -n "accord verify --parallel 4" "$(accord_verify "$url" --pact-dir "$WORK/four" --parallel 4)" \
        -n "pact verifier" "$(pact_verify "$port" --dir "$WORK/four")"
    cat "$WORK/parallel-$speed.md"
done
machine
