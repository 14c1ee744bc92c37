# Sourced by scripts/demo and scripts/test: make .venv and install Standoff with the extras
# given in $STANDOFF_EXTRAS. Installs Debian's python3-venv first if this Python lacks venv.
set -euo pipefail
PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "Standoff needs Python 3.11 or newer: apt-get install -y python3 python3-venv" >&2
  exit 1
fi
"$PYTHON" - <<'PY' || { echo "Standoff needs Python 3.11 or newer" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    echo "installing python3-venv (Debian) ..." >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
    "$PYTHON" -m venv .venv
  fi
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".${STANDOFF_EXTRAS:-}"
