"""End-to-end test of the Sobol study, ``python experiments/sobol.py``, with tiny settings in
pytest's ``tmp_path`` (nothing is written into the repository).

The ensemble given is two copies of one calibrated set: which set is "right" then cannot
matter, and under common random numbers every evaluation that differs only in the set gives
the same output to the bit, so its first- and total-order indices are exactly zero.

Run with: pytest tests/test_sobol.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "experiments" / "sobol.py"
PNG = b"\x89PNG\r\n\x1a\n"


def test_the_sobol_study_writes_its_indices_and_an_input_that_cannot_matter_gets_zero(tmp_path):
    ensemble = pd.read_csv(REPO / "results" / "calibration" / "ensemble.csv").head(1)
    twins = pd.concat([ensemble, ensemble], ignore_index=True)
    twins["parameter_set"] = [0, 1]
    twins.to_csv(tmp_path / "twins.csv", index=False)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    command = [
        sys.executable,
        str(SCRIPT),
        "--base",
        "16",
        "--n",
        "30",
        "--resamples",
        "50",
        "--ensemble",
        str(tmp_path / "twins.csv"),
        "--out",
        str(out),
        "--jobs",
        "1",
        "--no-progress",
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    indices = pd.read_csv(out / "sobol.csv")
    assert set(indices["output"]) == {"failure_rate", "committee_effect"}
    the_set = indices[indices["input"] == "parameter_set"]
    assert len(the_set) == 2
    assert (the_set["S1"] == 0).all() and (the_set["ST"] == 0).all(), the_set
    others = indices[indices["input"] != "parameter_set"]
    assert (others["ST"] > 0).any(), "no input moved the outputs"
    samples = pd.read_csv(out / "sobol_samples.csv")
    assert len(samples) == 16 * (len(indices) // 2 + 2)
    assert samples["failure_rate"].between(0, 1).all()
    convergence = pd.read_csv(out / "sobol_convergence.csv")
    assert sorted(convergence["base_samples"].unique()) == [8, 16]
    for name in ("sobol.png", "sobol_convergence.png"):
        assert (out / name).read_bytes().startswith(PNG), name
    summary = (out / "sobol.md").read_text()
    assert "python experiments/sobol.py" in summary and "parameter_set" in summary


def test_a_base_that_is_not_a_power_of_two_is_refused_before_any_run(tmp_path):
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--base", "100", "--out", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "--base 100: must be a power of 2" in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())
