# Sourced by the benchmark scripts: builds what they need in release mode, installs
# missing load tools, and starts and stops background processes cleanly.

export PACT_DO_NOT_TRACK=true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/accord/target}"
ACCORD="$CARGO_TARGET_DIR/release/accord"
BENCH="$CARGO_TARGET_DIR/release/accord-bench"

build_release() {
    cargo build --release --quiet -p accord-cli -p accord-bench 2>/dev/null \
        || cargo build --release -p accord-cli -p accord-bench
}

# need_tool NAME: installs the Debian package of that name when the command is missing.
need_tool() {
    command -v "$1" >/dev/null && return 0
    echo "==> installing $1" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get install -y "$1" >/dev/null 2>&1 \
        || { $sudo apt-get update >/dev/null && $sudo apt-get install -y "$1" >/dev/null; }
    command -v "$1" >/dev/null || { echo "could not install $1" >&2; exit 2; }
}

BG_PIDS=()
stop_background() {
    for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    BG_PIDS=()
}

# start_provider LOG [ARGS...]: starts the bench provider on a free loopback port and
# sets PROVIDER_URL and PROVIDER_PORT.
start_provider() {
    local log="$1"; shift
    "$BENCH" provider --port 0 --max-seconds 1800 "$@" > "$log" 2>&1 &
    BG_PIDS+=("$!")
    for _ in $(seq 1 200); do grep -q 'listening on' "$log" && break; sleep 0.05; done
    PROVIDER_URL=$(sed -n 's/.*listening on //p' "$log")
    [ -n "$PROVIDER_URL" ] || { echo "the bench provider did not start:" >&2; cat "$log" >&2; exit 2; }
    PROVIDER_PORT="${PROVIDER_URL##*:}"
}

machine() {
    echo "machine: $(nproc) cores, Linux $(uname -r); $(uptime | sed 's/.*load average/load average/')"
}
