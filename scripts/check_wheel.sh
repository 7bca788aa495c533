#!/usr/bin/env bash
# Build the wheel, install it in a fresh virtual environment and run the command line
# from an empty folder: a single cohort and the headline study at 100 alliances a cell.
# It checks that the installed package carries its configs and studies (it must not
# need this checkout).
#
#   scripts/check_wheel.sh                 # a fresh venv, removed afterwards
#   scripts/check_wheel.sh --keep DIR      # build the venv in DIR and keep it
#
# PYTHON chooses the interpreter of the new venv (default: the one behind .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

keep=""
if [ "${1:-}" = "--keep" ]; then
  keep=${2:?usage: scripts/check_wheel.sh [--keep DIR]}
fi

builder=.venv/bin/python
[ -x "$builder" ] || { echo "error: no .venv; run scripts/setup.sh first" >&2; exit 1; }
python=${PYTHON:-$("$builder" -c 'import sys; print(sys._base_executable)')}

work=$(mktemp -d "${TMPDIR:-/tmp}/alliance-sim-wheel.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
venv=${keep:-$work/venv}
run_dir=$work/empty
mkdir -p "$run_dir"

step() { echo "== $*" >&2; }

step "building the wheel"
"$builder" -m pip wheel "$repo" --no-deps --quiet -w "$work/dist"
wheel=$(ls "$work"/dist/alliance_sim-*.whl)
"$builder" - "$wheel" <<'EOF'
import sys
import zipfile

names = set(zipfile.ZipFile(sys.argv[1]).namelist())
for required in ("sim/_data/configs/config.yaml", "sim/_data/experiments/governance_vs_failure.yaml"):
    if required not in names:
        sys.exit(f"error: the wheel has no {required}")
EOF

step "installing $(basename "$wheel") into $venv"
if [ -e "$venv" ]; then
  [ -f "$venv/pyvenv.cfg" ] || { echo "error: $venv exists and is not a virtual environment" >&2; exit 1; }
  rm -rf "$venv"
fi
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --no-compile "$wheel"

# Nothing of the checkout may leak in: no PYTHONPATH, an empty working folder.
unset PYTHONPATH
cd "$run_dir"
export MPLBACKEND=Agg

location=$("$venv/bin/python" -c 'import sim.cli; print(sim.cli.CONFIG_DIR)')
case "$location" in
  "$venv"/*) ;;
  *) echo "error: the installed command line reads its configs from $location" >&2; exit 1 ;;
esac

step "alliance-sim n_alliances=50 (in an empty folder)"
"$venv/bin/alliance-sim" n_alliances=50 progress=false
ls outputs/*/*/alliances.parquet > /dev/null

step "alliance-sim -m +experiment=governance_vs_failure n_alliances=100"
"$venv/bin/alliance-sim" -m +experiment=governance_vs_failure n_alliances=100
"$venv/bin/python" - <<'EOF'
import json
from pathlib import Path

import pandas as pd

(run,) = Path("results/governance_vs_failure").glob("[0-9]*")
study = json.loads((run / "study.json").read_text())
runs = pd.read_parquet(run / "runs.parquet")
assert study["cells"] == 12 and study["n_alliances"] == 100, study
assert len(runs) == 12 * 100 and runs.groupby("cell").size().eq(100).all(), len(runs)
assert (run / "summary.md").is_file() and list((run / "figures").glob("*.png"))
print(f"study: {study['cells']} cells x {study['n_alliances']} alliances in {run}")
EOF
step "the installed wheel works from an empty folder"
