# Shared by scripts/run, scripts/test and scripts/check: create .venv and install mimamori into it.
# Usage: MIMAMORI_EXTRAS=dev . scripts/_venv.sh   (sourced, so the caller's "$@" stays untouched)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "mimamori needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "creating virtual environment in .venv ..."
  "$PYTHON" -m venv .venv || {
    echo "could not create a virtual environment; on Debian/Ubuntu: sudo apt-get install python3-venv" >&2
    exit 1
  }
fi
EXTRAS="${MIMAMORI_EXTRAS:-}"
SPEC="."
[ -n "$EXTRAS" ] && SPEC=".[$EXTRAS]"
STAMP=".venv/.installed-$(cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)-${EXTRAS:-base}"
if [ ! -f "$STAMP" ]; then
  echo "installing mimamori${EXTRAS:+ with $EXTRAS extras} into .venv ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -c constraints.txt -e "$SPEC"
  touch "$STAMP"
fi
