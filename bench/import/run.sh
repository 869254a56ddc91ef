#!/usr/bin/env bash
# Times `accord import` copying a seeded broker's history into an empty Accord broker,
# then the run after it (nothing new: the resume path).
#
#   bench/import/run.sh
#   PACTICIPANTS=5 VERSIONS=2000 VERIFICATIONS=10000 bench/import/run.sh
#
# The source is an `accord broker` on SQLite seeded by `accord-bench seed` (5 pacticipants
# with 2,000 versions each: 10,000 versions, about 24,000 pact publications, branches,
# tags, results, deployments and releases); the target is an empty `accord broker` on
# SQLite with an admin token. Both run on this machine, release builds.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh

PACTICIPANTS="${PACTICIPANTS:-5}"
VERSIONS="${VERSIONS:-2000}"
VERIFICATIONS="${VERIFICATIONS:-10000}"
TOKEN="bench-import-admin-token"

build_release
WORK="$(mktemp -d)"
trap 'stop_background; rm -rf "$WORK"' EXIT

# start_broker NAME [ARGS...]: starts `accord broker` on a fresh port and sets BROKER_URL
# (not in a subshell, so that the broker is stopped with the other background processes).
start_broker() {
    local name="$1"; shift
    "$ACCORD" broker --bind 127.0.0.1:0 --database-url "sqlite://$WORK/$name.db" "$@" \
        > "$WORK/$name.log" 2>&1 &
    BG_PIDS+=("$!")
    for _ in $(seq 1 400); do grep -q 'listening on' "$WORK/$name.log" && break; sleep 0.05; done
    BROKER_URL=$(sed -n 's/.*listening on //p' "$WORK/$name.log" | head -1)
    [ -n "$BROKER_URL" ] || { echo "the $name broker did not start:" >&2; cat "$WORK/$name.log" >&2; exit 2; }
}

machine
"$BENCH" seed --database-url "sqlite://$WORK/source.db" \
    --pacticipants "$PACTICIPANTS" --versions "$VERSIONS" --verifications "$VERIFICATIONS"
sync
start_broker source
SOURCE=$BROKER_URL
start_broker target --token "$TOKEN"
TARGET=$BROKER_URL

run_import() {
    local started ended
    started=$EPOCHREALTIME
    "$ACCORD" import --from "$SOURCE" --broker-base-url "$TARGET" --broker-token "$TOKEN" \
        --output json > "$WORK/summary.json"
    ended=$EPOCHREALTIME
    awk -v a="$started" -v b="$ended" -v what="$1" 'BEGIN { printf "%s: %.1f s\n", what, b - a }'
    python3 - "$WORK/summary.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
kinds = summary["kinds"]
print("  " + ", ".join(f"{k}: {v['copied']} copied of {v['inSource']}" for k, v in kinds.items()))
check = summary.get("check") or {}
print(f"  check: {len(check.get('differences', []))} differences")
PY
}

run_import "import into an empty broker"
run_import "the same import again (nothing new)"
