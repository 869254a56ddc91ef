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
