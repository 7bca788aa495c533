"""The directions of the design brief, each shown by its study with a paired 95% interval.

- a controlled pilot lowers failure against a full launch (pilot_vs_full);
- adaptation triggers help more as shocks grow (triggers_vs_shocks);
- governance helps more as volatility grows (governance_vs_volatility);
- past some intensity, extra structure costs more than it saves (governance_intensity).

Each study declares its checks (``study.checks`` in its yaml); the study's own
report evaluates them, so the one command that runs a study also shows its
direction. Here every study runs with 1,500 alliances per cell (seed 2026, the
studies' own), and every check's 95% interval must exclude zero on the
documented side.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.analysis.directions import evaluate_check
from sim.analysis.studies import load_study

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ["pilot_vs_full", "triggers_vs_shocks", "governance_vs_volatility", "governance_intensity"]
N = 1500


GAPS: dict[str, str] = {}
"""Directions the model does not reproduce as calibrated, with their measurement: kept as
expected failures (not strict), so pytest reports XPASS once one holds again. None at
present: the triggers' growing help with shock size holds since the study runs a standing
regulatory market (+3.3 pts, 95% CI +0.9 to +5.6, at 1,500 alliances a cell)."""


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=GAPS[n], strict=False)) if n in GAPS else n
        for n in STUDIES
    ],
)
def test_direction_holds(name, tmp_path):
    run_dir = tmp_path / "results" / name / "run"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "-m",
            f"+experiment={name}",
            f"n_alliances={N}",
            f"hydra.sweep.dir={run_dir}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "all checks hold" in done.stdout, done.stdout[-3000:]
    checks = yaml.safe_load((ROOT / "experiments" / f"{name}.yaml").read_text())["study"]["checks"]
    runs = load_study(run_dir).runs
    for check in checks:
        effect, held = evaluate_check(runs, check)
        assert held, f"{name}: {effect}"
