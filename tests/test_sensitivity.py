"""End-to-end test of the Morris screening, ``python experiments/sensitivity.py``.

The script runs as a subprocess started in pytest's ``tmp_path`` with tiny
settings (2 trajectories, 150 alliances per cohort, 4 parameters), writing
into ``tmp_path``: nothing is written into the repository. It runs twice, once
in worker processes and once in-process, and both runs must give the same
``morris.csv``.

``alliance.objective_value`` is the parameter that cannot matter: it only
decides, at the horizon (or a sunset), whether a surviving alliance counts as a
success or as underperforming, never whether a partner exits or trust
collapses. Under common random numbers its elementary effects on the failure
rate are exactly zero, whatever the calibrated defaults are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "experiments" / "sensitivity.py"
PNG = b"\x89PNG\r\n\x1a\n"
PARAMETERS = [
    "alliance.objective_value",  # cannot change the failure rate
    "market.outside_option_mean",  # what partners compare the alliance with: decides exits
    "dynamics.base_issue_rate",
    "scenario.shock_scale",
]
TRAJECTORIES = 2


def run_script(tmp_path: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.update(PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    command = [
        sys.executable,
        str(SCRIPT),
        "--trajectories",
        str(TRAJECTORIES),
        "--n",
        "150",
        "--seed",
        "5",
        "--resamples",
        "200",
        "--parameters",
        ",".join(PARAMETERS),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"sensitivity.py failed:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp_path = tmp_path_factory.mktemp("sensitivity")
    first, second = tmp_path / "first", tmp_path / "second"
    run_script(tmp_path, first, "--jobs", "2")
    run_script(tmp_path, second, "--jobs", "1")
    return first, second


def test_writes_every_output(runs: tuple[Path, Path]) -> None:
    out, _ = runs
    for name in ("morris.csv", "samples.csv", "morris.png", "summary.md"):
        assert (out / name).is_file(), f"{name} missing"
        assert (out / name).stat().st_size > 0, f"{name} empty"
    assert (out / "morris.png").read_bytes()[:8] == PNG


def test_morris_table_is_well_formed(runs: tuple[Path, Path]) -> None:
    table = pd.read_csv(runs[0] / "morris.csv")
    assert list(table.columns) == ["parameter", "mu", "mu_star", "mu_star_conf", "sigma", "rank"]
    assert sorted(table["parameter"]) == sorted(PARAMETERS)
    numbers = table[["mu", "mu_star", "mu_star_conf", "sigma"]]
    assert numbers.notna().all().all()
    assert (table[["mu_star", "mu_star_conf", "sigma"]] >= 0).all().all()
    assert (table["mu_star"] >= table["mu"].abs() - 1e-12).all()
    # an elementary effect is at most a change of the failure rate from 0 to 1, per step
    assert (table["mu_star"] <= 1.5 + 1e-9).all()
    # ranked by mu*, rank 1 the largest, rows in rank order
    assert table["rank"].min() == 1
    assert table["mu_star"].is_monotonic_decreasing
    assert table["rank"].is_monotonic_increasing


def test_samples_hold_every_evaluation(runs: tuple[Path, Path]) -> None:
    samples = pd.read_csv(runs[0] / "samples.csv")
    assert len(samples) == TRAJECTORIES * (len(PARAMETERS) + 1)
    for column in [*PARAMETERS, "failure_rate", "not_successful"]:
        assert column in samples.columns
        assert samples[column].notna().all()
    for design in ("handshake", "meetings", "committee", "full"):
        assert samples[f"failed_{design}"].between(0, 1).all()
    assert samples["failure_rate"].between(0, 1).all()
    # the headline is the mean failure rate of the four designs
    per_design = samples[[f"failed_{d}" for d in ("handshake", "meetings", "committee", "full")]].mean(axis=1)
    assert (per_design - samples["failure_rate"]).abs().max() < 1e-8
    # within a trajectory, each step moves exactly one parameter
    for _, trajectory in samples.groupby("trajectory"):
        moved = (trajectory[PARAMETERS].diff().iloc[1:] != 0).sum(axis=1)
        assert (moved == 1).all()


def test_summary_names_command_settings_and_table(runs: tuple[Path, Path]) -> None:
    text = (runs[0] / "summary.md").read_text()
    assert "python experiments/sensitivity.py" in text
    assert "--trajectories 2" in text
    assert "| rank | parameter |" in text
    for name in PARAMETERS:
        assert f"`{name}`" in text
    assert "most sensitive to" in text


def test_a_parameter_that_cannot_matter_ranks_last(runs: tuple[Path, Path]) -> None:
    table = pd.read_csv(runs[0] / "morris.csv").set_index("parameter")
    inert = table.loc["alliance.objective_value"]
    assert inert["mu_star"] == 0.0
    assert inert["sigma"] == 0.0
    assert inert["rank"] == table["rank"].max()
    assert table.loc["market.outside_option_mean", "mu_star"] > 0.01
    assert table.loc["market.outside_option_mean", "rank"] < inert["rank"]


def test_two_runs_give_identical_morris_csv(runs: tuple[Path, Path]) -> None:
    first, second = runs
    assert (first / "morris.csv").read_bytes() == (second / "morris.csv").read_bytes()
    # and the evaluations themselves, whether run in worker processes or in-process
    assert (first / "samples.csv").read_bytes() == (second / "samples.csv").read_bytes()


def test_rejects_an_unknown_parameter(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--parameters", "base_issue_rate,no_such_knob", "--out", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    assert "no_such_knob" in done.stderr
    assert not (tmp_path / "morris.csv").exists()
