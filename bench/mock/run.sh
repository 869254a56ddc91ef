#!/usr/bin/env bash
# Load-tests `accord mock` and `accord stub` against the official `pact mock` and `pact stub`
# on the same pact: 20 interactions with matcher-rich JSON bodies of about 1 KB, hit with wrk
# (2 threads, 32 connections, 10 s by default) on loopback, in the same run.
#
#   bench/mock/run.sh                # needs wrk (apt-get install -y wrk) and Python 3
#   DURATION=30s bench/mock/run.sh
#
# Prints one line per server: requests/s, p50 and p99 latency, requests served, RSS after.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/tools.sh
ensure_official_tools
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }

DURATION="${DURATION:-10s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
# The same build cache as the other benchmarks and CI (bench/lib.sh).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/accord/target}"
cargo build --release --quiet -p accord-cli 2>/dev/null || cargo build --release -p accord-cli
ACCORD="$CARGO_TARGET_DIR/release/accord"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

python3 bench/mock/make_pact.py > "$WORK/pact.json"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 1 200); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done; echo "no answer from $1" >&2; exit 2; }

# Starts an accord command in the background, waits for its "listening on URL" line, and sets
# URL and PID.
start_accord() {
    local log="$WORK/$1.out"; shift
    "$@" > "$log" 2>"$log.err" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 1 200); do grep -q 'listening on' "$log" && break; sleep 0.05; done
    URL=$(sed -n 's/.*listening on //p' "$log")
    [ -n "$URL" ] || { echo "$1 did not start:" >&2; cat "$log.err" >&2; exit 2; }
}

bench() { # name url pid
    local name="$1" url="$2" pid="$3"
    # A sanity request: the server must answer the pact's response, not an error.
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json' "$url/resources/1")
    [ "$status" = 200 ] || { echo "$name answered $status on /resources/1" >&2; exit 2; }
    local out="$WORK/$name.wrk"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/mock/paths.lua "$url" > "$out"
    local rps p50 p99 total rss
    rps=$(awk '/Requests\/sec/ {print $2}' "$out")
    p50=$(awk '$1 == "50%" {print $2}' "$out")
    p99=$(awk '$1 == "99%" {print $2}' "$out")
    total=$(awk '/requests in/ {print $1}' "$out")
    rss=$(ps -o rss= -p "$pid" | awk '{printf "%.1f MB", $1/1024}')
    grep -q 'Non-2xx' "$out" && { echo "$name: some answers were not 2xx:" >&2; cat "$out" >&2; }
    printf '%-12s %10s req/s   p50 %8s   p99 %8s   %9s requests   RSS after %s\n' "$name" "$rps" "$p50" "$p99" "$total" "$rss"
}

echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency -s bench/mock/paths.lua; pact: 20 interactions, ~1 KB matcher-rich bodies"

# accord mock: interactions registered over the admin API.
start_accord accord-mock "$ACCORD" --log warn mock --port 0 --pact-dir "$WORK/pacts"
curl -sf -X POST "$URL/__accord/interactions" -H 'Content-Type: application/json' --data-binary @"$WORK/pact.json" > /dev/null
bench "accord mock" "$URL" "$PID"

# accord stub.
start_accord accord-stub "$ACCORD" --log warn stub "$WORK/pact.json" --port 0
bench "accord stub" "$URL" "$PID"

# The official mock server: a master server, then a mock server created from the pact.
master=$(free_port)
pact mock --port "$master" --host 127.0.0.1 start > "$WORK/pact-master.log" 2>&1 &
master_pid=$!
PIDS+=("$master_pid")
wait_for "http://127.0.0.1:$master/"
pact mock --port "$master" --host 127.0.0.1 create -f "$WORK/pact.json" > "$WORK/pact-create.log" 2>&1
created=$(grep -oE 'port [0-9]+' "$WORK/pact-create.log" | awk '{print $2}' | tail -1)
[ -n "$created" ] || { echo "pact mock create printed no port:" >&2; cat "$WORK/pact-create.log" >&2; exit 2; }
bench "pact mock" "http://127.0.0.1:$created" "$master_pid"

# The official stub server.
stub_port=$(free_port)
pact stub -f "$WORK/pact.json" -p "$stub_port" -l warn > "$WORK/pact-stub.log" 2>&1 &
stub_pid=$!
PIDS+=("$stub_pid")
wait_for "http://127.0.0.1:$stub_port/resources/1"
bench "pact stub" "http://127.0.0.1:$stub_port" "$stub_pid"
