# Sourced by the other scripts: installs the official Pact tools that the tests and
# benchmarks compare Accord against, into a private virtualenv, and puts them on PATH.
#
#   ACCORD_TOOLS_DIR   where the virtualenv lives (default ~/.cache/accord/tools)

export PACT_DO_NOT_TRACK=true
ACCORD_TOOLS_DIR="${ACCORD_TOOLS_DIR:-$HOME/.cache/accord/tools}"
export ACCORD_TOOLS_DIR

ensure_official_tools() {
    local venv="$ACCORD_TOOLS_DIR/venv"
    if [ ! -x "$venv/bin/pact" ] || ! "$venv/bin/python" -c 'import pact' 2>/dev/null; then
        echo "==> installing the official Pact tools (pact-python-cli, pact-python) into $venv" >&2
        mkdir -p "$ACCORD_TOOLS_DIR"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check pact-python-cli pact-python
    fi
    export PATH="$venv/bin:$PATH"
    export ACCORD_PACT_BIN="$venv/bin/pact"
    export ACCORD_PYTHON="$venv/bin/python"
}

# Headless Chromium for the web UI's browser tests, from Debian's packages. Without
# root or apt-get those tests report themselves as skipped.
ensure_browser() {
    if [ -x /usr/bin/chromium ]; then
        return 0
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "==> installing chromium (Debian package) for the web UI's browser tests" >&2
        apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "==> chromium is not installed and cannot be installed here: the browser tests will be skipped" >&2
    fi
}

# The event drift tests: Python clients that produce events the way applications do
# (pika for RabbitMQ, kafka-python for Kafka; not the monitor's own clients), and tansu, a
# Kafka-protocol broker in Rust (no Kafka runs on the test machines), installed once into
# the tool cache (about 8 minutes on 2 cores the first time).
ensure_event_tools() {
    local venv="$ACCORD_TOOLS_DIR/venv"
    if ! "$venv/bin/python" -c 'import pika, kafka' 2>/dev/null; then
        echo "==> installing the event producers' clients (pika, kafka-python) into $venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check 'pika==1.3.2' 'kafka-python==2.2.15'
    fi
    local tansu_root="$ACCORD_TOOLS_DIR/tansu"
    if [ ! -x "$tansu_root/bin/tansu" ]; then
        echo "==> installing tansu (a Kafka-protocol broker) into $tansu_root; this takes several minutes once" >&2
        # Its own temporary build folder, not the project's target cache.
        env -u CARGO_TARGET_DIR cargo install tansu --locked --features dynostore,libsql --root "$tansu_root" --quiet
    fi
    export ACCORD_TANSU_BIN="$tansu_root/bin/tansu"
}
