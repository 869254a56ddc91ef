#!/usr/bin/env bash
# Benchmarks publishing with webhooks: the same publish with 0 and with 10 webhooks
# whose receivers are slow (answer after 5 s) or down (closed port). Delivery is
# asynchronous, so both series should take the same time.
#
#   bench/webhooks/run.sh                          # SQLite and PostgreSQL
#   BACKENDS=sqlite REQUESTS=100 bench/webhooks/run.sh
#
# Each backend gets a fresh database (a temporary SQLite file, or a PostgreSQL
# database `accord_bench_webhooks` on PG_ADMIN_URL). The broker allows webhooks to
# 127.0.0.1 (--webhook-allow-host), where the driver's receivers listen.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh

BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REQUESTS="${REQUESTS:-300}"
MAX_SECONDS="${MAX_SECONDS:-120}"

build_release
WORK="$(mktemp -d)"
PG_DB=""
cleanup() {
    stop_background
    [ -n "$PG_DB" ] && "$BENCH" pg-drop --admin-url "$PG_ADMIN_URL" --name "$PG_DB" || true
    rm -rf "$WORK"
}
trap cleanup EXIT

machine
for backend in $BACKENDS; do
    case "$backend" in
        sqlite) url="sqlite://$WORK/webhooks.db" ;;
        postgres)
            PG_DB="accord_bench_webhooks"
            url=$("$BENCH" pg-create --admin-url "$PG_ADMIN_URL" --name "$PG_DB")
            ;;
        *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 64 ;;
    esac
    echo
    echo "== $backend"
    log="$WORK/broker-$backend.log"
    "$ACCORD" broker --bind 127.0.0.1:0 --database-url "$url" \
        --webhook-allow-host 127.0.0.1 > "$log" 2> "$WORK/broker-$backend.err" &
    BG_PIDS+=("$!")
    for _ in $(seq 1 200); do grep -q 'listening on' "$log" && break; sleep 0.05; done
    base=$(sed -n 's/.*listening on //p' "$log")
    [ -n "$base" ] || { echo "the broker did not start:" >&2; cat "$WORK/broker-$backend.err" >&2; exit 2; }
    python3 bench/webhooks/driver.py "$base" --requests "$REQUESTS" --max-seconds "$MAX_SECONDS"
    stop_background
    if [ "$backend" = postgres ]; then
        "$BENCH" pg-drop --admin-url "$PG_ADMIN_URL" --name "$PG_DB"
        PG_DB=""
    fi
done
