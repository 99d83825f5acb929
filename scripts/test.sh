#!/usr/bin/env bash
# Sets up everything the tests need (the project with its dev and e2e extras, a local Synapse in
# its own virtualenv) and runs the checks: ruff, mypy, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev,e2e
scripts/synapse.sh install
scripts/browser.sh  # Debian chromium + chromedriver for tests/test_dashboard_browser.py
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest -q "$@"
