#!/usr/bin/env bash
# Interleaved A/B of two `accord` binaries serving the same pact with `accord stub`: each
# round runs every binary once, in the order given, so drift of the machine over the run
# falls on all of them alike.
#
#   bench/mock/ab.sh OLD_BINARY NEW_BINARY [MORE_BINARIES...]
#   ROUNDS=3 DURATION=8s bench/mock/ab.sh /tmp/accord-old target/release/accord
#
# Build an older commit's binary with `git worktree add /tmp/old <commit>` and
# `cargo build --release -p accord-cli` there. Prints one line per binary and round.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$#" -ge 2 ] || { echo "usage: $0 BINARY BINARY [BINARY...]" >&2; exit 64; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-8s}"
WORK="$(mktemp -d)"
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
python3 bench/mock/make_pact.py > "$WORK/pact.json"
echo "wrk -t2 -c32 -d$DURATION --latency -s bench/mock/paths.lua, accord stub, $ROUNDS rounds"
for round in $(seq 1 "$ROUNDS"); do
    for binary in "$@"; do
        "$binary" --log warn stub "$WORK/pact.json" --port 0 > "$WORK/out" 2>/dev/null &
        PID=$!
        for _ in $(seq 1 200); do grep -q 'listening on' "$WORK/out" && break; sleep 0.05; done
        url=$(sed -n 's/.*listening on //p' "$WORK/out")
        [ -n "$url" ] || { echo "$binary did not start" >&2; exit 2; }
        wrk -t2 -c32 -d"$DURATION" --latency -s bench/mock/paths.lua "$url" > "$WORK/wrk"
        printf 'round %s  %-40s %10s req/s   p50 %8s   p99 %8s\n' "$round" "$binary" \
            "$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk")" \
            "$(awk '$1 == "50%" {print $2}' "$WORK/wrk")" \
            "$(awk '$1 == "99%" {print $2}' "$WORK/wrk")"
        kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    done
done
