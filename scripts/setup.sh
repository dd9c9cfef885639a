#!/usr/bin/env bash
# Set the project up on a fresh machine: a virtual environment in .venv with the pinned
# packages. With --test, also the test tools and Debian's Chromium for the browser tests.
# Safe to run again: it only installs what is missing.
# PYTHON=/path/to/python3.12 picks the interpreter (default: python3); it must be 3.11 or newer.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
args="$*"
needs_python() {
  echo "error: $1" >&2
  echo "This project needs Python 3.11 or newer (pyproject.toml: requires-python = \">=3.11\")." >&2
  echo "Install one, e.g. 'sudo apt-get install python3.11 python3.11-venv' on Debian or Ubuntu," >&2
  echo "'brew install python@3.11' on macOS, or from https://www.python.org/downloads/, then run" >&2
  echo "  PYTHON=python3.11 bash scripts/setup.sh $args" >&2
  exit 1
}
version_ok='import sys; sys.exit(sys.version_info < (3, 11))'
if [[ ! -x .venv/bin/python ]]; then
  command -v "$python" >/dev/null 2>&1 || needs_python "no '$python' found."
  "$python" -c "$version_ok" ||
    needs_python "'$python' is Python $("$python" -c 'import platform; print(platform.python_version())')."
fi

requirements=requirements.txt
if [[ "${1:-}" == "--test" ]]; then
  requirements=requirements-test.txt
  if ! command -v chromium >/dev/null 2>&1; then
    sudo=""
    [[ "$(id -u)" == "0" ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  fi
fi

if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv || needs_python "'$python -m venv' failed (on Debian or Ubuntu: install python3-venv)."
fi
.venv/bin/python -c "$version_ok" ||
  needs_python ".venv holds Python $(.venv/bin/python -c 'import platform; print(platform.python_version())'): remove .venv and run again."
# --retries 1: an index that cannot be reached at all (PyTorch's CPU index, see requirements.txt)
# costs a warning per package instead of five retries with back-off.
.venv/bin/python -m pip install --quiet --disable-pip-version-check --retries 1 -r "$requirements"
