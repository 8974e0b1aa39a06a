#!/usr/bin/env bash
# Install everything the test suite needs, then run it.
#   bash scripts/test.sh            # the whole suite
#   bash scripts/test.sh -k csv     # extra arguments go to pytest
#
# Order: the linters and the type check (seconds), then the tests and the notebooks. A single
# test file needs none of this: python -m pytest tests/test_snapshot.py
#
# The suite runs in the project's own virtual environment (.venv, made on first use) so
# that it tests what a user gets from a fresh `pip install`: the newest releases our
# dependency ranges allow, not whatever this machine happens to have. Inside an active
# virtual environment (VIRTUAL_ENV set) that one is used instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian's Chromium drives the JupyterLab browser tests (never a downloaded browser).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-liberation >/dev/null
  else
    echo "chromium is not installed and cannot be installed here: browser tests will be skipped outside CI" >&2
  fi
fi

if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi

# torch first, from the pinned CPU build, so that no dependency range pulls another one.
python -m pip install -q --disable-pip-version-check "torch==2.13.0"
python -m pip install -q --disable-pip-version-check -e ".[all,test,dev]"

# 1. ruff (lint and format) and mypy on core
bash scripts/lint.sh

# 2. the sidebar's TypeScript (pip install -e ran jlpm install and built it): eslint and
#    prettier must be clean, then the unit tests of its model (vitest). A few seconds.
(cd labextension && jlpm lint:check && jlpm test)

# 3. the tests, and the notebooks under notebooks/ run under nbval against their stored outputs
python -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/nbval-sanitize.cfg "$@"
