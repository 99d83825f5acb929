#!/usr/bin/env bash
# Sets up Aiguillage (first time only) and starts it. With no argument: a chat in the terminal
# on the shipped knowledge base, no account or token needed. Any argument goes to `aiguillage`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
exec .venv/bin/aiguillage "$@"
