#!/usr/bin/env bash
# Benchmarks the web UI's pages on a broker with many pacticipants, on SQLite and on
# PostgreSQL: the home page (first page, a middle page, the largest page size) and the
# network page.
#
#   bench/ui/run.sh                                  # 1,000 pacticipants, both backends
#   PACTICIPANTS=5000 BACKENDS=sqlite bench/ui/run.sh
#
# The data comes from `accord-bench seed`: PACTICIPANTS pacticipants with VERSIONS
# versions each; each consumes the next two and a hub, svc-0000, which so has a
# consumer per pacticipant (its row lists them all, on the first page). A browser
# request (HTML Accept header) is sent REQUESTS times per page, one at a time, with
# curl. The server-side time of a request is from the request having been sent to the
# first byte of the answer (`time_starttransfer - time_pretransfer`): the broker
# renders a page whole before it sends the first byte, so this is the time the
# broker spent on it, without connecting or transferring the page.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh

PACTICIPANTS="${PACTICIPANTS:-1000}"
VERSIONS="${VERSIONS:-5}"
VERIFICATIONS="${VERIFICATIONS:-$((PACTICIPANTS * VERSIONS))}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REQUESTS="${REQUESTS:-200}"

need_tool curl
build_release
WORK="$(mktemp -d)"
PG_DB=""
cleanup() {
    stop_background
    [ -n "$PG_DB" ] && { "$BENCH" pg-drop --admin-url "$PG_ADMIN_URL" --name "$PG_DB" || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_broker URL LOG: starts `accord broker` on a free loopback port; sets BROKER_URL.
start_broker() {
    local url="$1" log="$2"
    "$ACCORD" --log warn broker --bind 127.0.0.1:0 --database-url "$url" > "$log" 2>&1 &
    BG_PIDS+=("$!")
    for _ in $(seq 1 600); do grep -q 'listening on' "$log" && break; sleep 0.05; done
    BROKER_URL=$(sed -n 's/.*listening on //p' "$log")
    [ -n "$BROKER_URL" ] || { echo "the broker did not start:" >&2; cat "$log" >&2; exit 2; }
}

# time_page NAME PATH: REQUESTS browser requests, then p50, p95 and max server time.
time_page() {
    local name="$1" path="$2" out="$WORK/times"
    : > "$out"
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$BROKER_URL$path")
    [ "$status" = 200 ] || { echo "GET $path answered $status" >&2; exit 2; }
    for _ in $(seq 1 "$REQUESTS"); do
        curl -s -o /dev/null -H 'Accept: text/html' \
            -w '%{time_starttransfer} %{time_pretransfer} %{size_download}\n' \
            "$BROKER_URL$path" >> "$out"
    done
    awk '{ printf "%.3f %d\n", ($1 - $2) * 1000, $3 }' "$out" | sort -n > "$out.sorted"
    awk -v name="$name" -v n="$REQUESTS" '
        { ms[NR] = $1; bytes = $2 }
        END {
            p50 = ms[int(n * 0.50 + 0.5)]; p95 = ms[int(n * 0.95 + 0.5)]
            printf "%-34s p50 %7.1f ms   p95 %7.1f ms   max %7.1f ms   (%d requests, %d KB)\n",
                name, p50, p95, ms[n], n, bytes / 1024
        }' "$out.sorted"
}

machine
for backend in $BACKENDS; do
    case "$backend" in
        sqlite) url="sqlite://$WORK/ui.db" ;;
        postgres)
            PG_DB="accord_bench_ui"
            url=$("$BENCH" pg-create --admin-url "$PG_ADMIN_URL" --name "$PG_DB")
            ;;
        *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 64 ;;
    esac
    echo
    echo "== $backend: $PACTICIPANTS pacticipants x $VERSIONS versions, $VERIFICATIONS verification results"
    "$BENCH" seed --database-url "$url" --pacticipants "$PACTICIPANTS" \
        --versions "$VERSIONS" --verifications "$VERIFICATIONS"
    start_broker "$url" "$WORK/broker.log"
    middle=$(( (PACTICIPANTS / 50 + 1) / 2 ))
    time_page "home, page 1 (50, with the hub)" "/"
    time_page "home, page $middle (50 a page)" "/ui?page=$middle"
    time_page "home, 500 a page" "/ui?size=500"
    time_page "network (table only)" "/ui/network"
    time_page "network of svc-0001" "/ui/network?pacticipant=svc-0001"
    stop_background
    case "$backend" in
        sqlite) rm -f "$WORK"/ui.db* ;;
        postgres) "$BENCH" pg-drop --admin-url "$PG_ADMIN_URL" --name "$PG_DB"; PG_DB="" ;;
    esac
done
machine
