# Sourced by the other scripts: make ./.venv with Python >= 3.11 and install darkroom into it
# (with the extras named in $DARKROOM_EXTRAS), reinstalling only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "darkroom needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.darkroom-installed${DARKROOM_EXTRAS:+-$DARKROOM_EXTRAS}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${DARKROOM_EXTRAS:+[$DARKROOM_EXTRAS]}"
    touch "$stamp"
fi
