#!/usr/bin/env bash
# Benchmarks `accord broker` on seeded data, on SQLite and on PostgreSQL, at two sizes.
#
#   bench/broker/run.sh                       # 1x and 10x, SQLite and PostgreSQL
#   SCALES="1 3" BACKENDS=sqlite bench/broker/run.sh
#   BENCH_SCENARIOS=publish,for-verification bench/broker/run.sh   # only these scenarios
#
# 1x is 200 pacticipants with 1,000 versions each (each pacticipant consumes two others
# and a hub, svc-0000), 100,000 verification results, branches, tags, pacts shared by 20
# consumer versions each, deployments and releases. N x multiplies the versions per
# pacticipant and the verification results by N. For each backend and size it seeds a
# fresh database (a temporary SQLite file, or a PostgreSQL database `accord_bench_Nx`
# created and dropped on PG_ADMIN_URL), settles it as a live one would be (analysed,
# checkpointed, written to disk), then `accord-bench broker` times cold starts,
# reads the idle RSS, and sends can-i-deploy, pacts-for-verification and publish requests
# one at a time (REQUESTS per scenario, MAX_SECONDS at most each); last, it times tag
# writes while a retention run deletes 2,000 old versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib.sh

SCALES="${SCALES:-1 10}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN_URL="${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
REQUESTS="${REQUESTS:-300}"
MAX_SECONDS="${MAX_SECONDS:-60}"
COLD_STARTS="${COLD_STARTS:-10}"

build_release
WORK="$(mktemp -d)"
PG_DBS=()
cleanup() {
    for name in "${PG_DBS[@]}"; do
        "$BENCH" pg-drop --admin-url "$PG_ADMIN_URL" --name "$name" || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

machine
for scale in $SCALES; do
    versions=$((1000 * scale))
    verifications=$((100000 * scale))
    for backend in $BACKENDS; do
        case "$backend" in
            sqlite) url="sqlite://$WORK/broker-${scale}x.db" ;;
            postgres)
                name="accord_bench_${scale}x"
                PG_DBS+=("$name")
                url=$("$BENCH" pg-create --admin-url "$PG_ADMIN_URL" --name "$name")
                ;;
            *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 64 ;;
        esac
        echo
        echo "== $backend, ${scale}x ($versions versions per pacticipant, $verifications verification results)"
        "$BENCH" seed --database-url "$url" --versions "$versions" --verifications "$verifications"
        # The seed's writes reach the disk before the broker is measured (a broker in
        # service is not serving while the kernel writes back a fresh bulk load).
        sync
        [ "$backend" = sqlite ] && du -sh "$WORK/broker-${scale}x.db"* | sed 's/^/database: /'
        machine
        "$BENCH" broker --accord "$ACCORD" --database-url "$url" \
            --versions "$versions" --verifications "$verifications" \
            --requests "$REQUESTS" --max-seconds "$MAX_SECONDS" --cold-starts "$COLD_STARTS"
        machine
        case "$backend" in
            sqlite) rm -f "$WORK/broker-${scale}x.db"* ;;
            postgres) "$BENCH" pg-drop --admin-url "$PG_ADMIN_URL" --name "$name" ;;
        esac
    done
done
