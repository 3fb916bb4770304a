#!/usr/bin/env bash
# Lint and format check (ruff) and type-check (mypy) as configured in pyproject.toml; both fast (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${WORLDGEN_VENV:-.venv}/bin/python
"$PY" -m ruff check --quiet .
"$PY" -m ruff format --check --quiet .
"$PY" -m mypy
