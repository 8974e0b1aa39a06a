#!/usr/bin/env bash
# The linters and the type check of core: seconds, so scripts/test.sh (and CI) runs them before
# the tests and stops at the first problem. Run it alone after `pip install -e ".[dev]"`;
# pre-commit runs ruff on each commit (.pre-commit-config.yaml).
#   bash scripts/lint.sh
# Fix what the first two report with: ruff check --fix . && ruff format .
set -euo pipefail
cd "$(dirname "$0")/.."

python -m ruff check .
python -m ruff format --check .
# the files and the rules are in pyproject.toml ([tool.mypy])
python -m mypy
