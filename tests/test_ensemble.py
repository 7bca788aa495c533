"""The calibrated ensemble: its file, runs under every set on the same alliances, and
intervals that split what is uncertain between Monte Carlo noise and the parameter sets."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.calibration import TARGETS
from sim.analysis.ensemble import (
    SET_COLUMN,
    combined_interval,
    load_ensemble,
    parameter_columns,
    parameter_sets,
    run_ensemble,
)
from sim.params import ConfigError, Engine, SimulationConfig
from sim.runner import run_cohort

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "results" / "calibration" / "ensemble.csv"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ensemble.csv"
    path.write_text(text)
    return path


class TestFile:
    def test_the_committed_ensemble_keeps_its_format_and_its_promise(self):
        """At least 30 sets numbered 0..n-1, model parameters by dotted key, pattern values
        prefixed ``pattern.``, every set within tolerance of every pattern."""
        frame = load_ensemble(COMMITTED)
        assert len(frame) >= 30
        assert frame.columns[0] == SET_COLUMN
        assert all(c.count(".") in (1, 2) for c in parameter_columns(frame))
        for target in TARGETS:
            values = frame[f"pattern.{target.pattern}"]
            assert (abs(values - target.target) <= target.tolerance).all(), target.pattern

    def test_the_sets_spread_over_the_region(self):
        """Not one point repeated: every searched parameter takes distinct values."""
        frame = load_ensemble(COMMITTED)
        for column in parameter_columns(frame):
            if column != "dynamics.exit_patience":  # an integer may repeat
                assert frame[column].nunique() == len(frame), column

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("dynamics.base_issue_rate\n0.1\n", "no parameter_set column"),
            ("parameter_set,dynamics.base_issue_rate\n1,0.1\n", "must number the rows 0 to 0"),
            (
                "parameter_set,dynamics.base_issue_rat\n0,0.1\n",
                "dynamics.base_issue_rat is not a model parameter",
            ),
            ("parameter_set,dynamics.base_issue_rate\n0,lots\n", "row 0: dynamics.base_issue_rate = 'lots'"),
            ("parameter_set\n", "no parameter set"),
        ],
    )
    def test_a_malformed_file_is_named_with_its_fault(self, tmp_path, text, message):
        with pytest.raises(ConfigError, match=message):
            load_ensemble(write(tmp_path, text))

    def test_integers_stay_integers(self, tmp_path):
        path = write(
            tmp_path,
            "parameter_set,dynamics.exit_patience,dynamics.base_issue_rate,pattern.P1\n0,12.0,0.05,0.7\n",
        )
        (values,) = parameter_sets(load_ensemble(path))
        assert values == {"dynamics.exit_patience": 12, "dynamics.base_issue_rate": 0.05}
        assert isinstance(values["dynamics.exit_patience"], int)


class TestRun:
    def test_every_set_runs_the_same_alliances_and_the_default_set_is_the_plain_run(self):
        """Common random numbers: a set equal to the defaults reproduces run_cohort exactly, and
        only the parameters differ between sets."""
        config = SimulationConfig(n_alliances=60, horizon_weeks=80, seed=5, engine=Engine.COHORT)
        sets = [{}, {"dynamics.base_issue_rate": config.dynamics.base_issue_rate * 3}]
        result = run_ensemble(config, sets)
        table = result.alliances
        assert table[SET_COLUMN].tolist() == [0] * 60 + [1] * 60
        plain = run_cohort(config).alliances
        first = table.loc[table[SET_COLUMN] == 0].drop(columns=SET_COLUMN).reset_index(drop=True)
        pd.testing.assert_frame_equal(first, plain)
        second = table.loc[table[SET_COLUMN] == 1]
        assert (second["firms"].map(tuple).tolist()) == plain["firms"].map(tuple).tolist()
        assert second["issues_raised"].sum() > plain["issues_raised"].sum()
        assert set(result.timeseries[SET_COLUMN]) == {0, 1}


class TestCombinedInterval:
    def test_identical_sets_leave_only_monte_carlo_noise(self):
        values = pd.Series([0, 1, 0, 1] * 50, dtype=float)
        groups = pd.Series(np.repeat([0, 1], 100))
        e = combined_interval(values, groups)
        assert e.between_share == 0.0 and e.mc_share == 1.0
        assert e.mean == 0.5
        within = 0.5 * 0.5 * 100 / 99 / 100  # mean variance of a set's mean
        assert e.high - e.mean == pytest.approx(1.959964 * math.sqrt(within), rel=1e-6)

    def test_the_law_of_total_variance_by_hand(self):
        """Sets with rates 0.2 and 0.6 on 100 alliances each: between = var(0.2, 0.6) = 0.08;
        within = mean of p(1-p)/(n-1)."""
        values = pd.Series([1.0] * 20 + [0.0] * 80 + [1.0] * 60 + [0.0] * 40)
        groups = pd.Series(np.repeat([0, 1], 100))
        e = combined_interval(values, groups)
        between = 0.08
        within = (0.2 * 0.8 * 100 / 99 + 0.6 * 0.4 * 100 / 99) / 2 / 100
        assert e.mean == pytest.approx(0.4)
        assert e.between_share == pytest.approx(between / (between + within))
        assert e.between_share + e.mc_share == pytest.approx(1.0)
        assert e.low == pytest.approx(max(0.0, 0.4 - 1.959964 * math.sqrt(between + within)), rel=1e-6)
        # the Monte Carlo interval of the pooled mean is far narrower
        assert e.mc_high - e.mc_low < (e.high - e.low) / 5


def alliance_sim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


class TestCommandLine:
    def test_ensemble_run_prints_both_intervals_and_tags_rows(self, tmp_path):
        path = write(
            tmp_path,
            "parameter_set,dynamics.base_issue_rate,pattern.P1\n0,0.03,0.7\n1,0.06,0.7\n2,0.12,0.7\n",
        )
        done = alliance_sim(
            "ensemble=calibrated",
            f"ensemble.file={path}",
            "n_alliances=100",
            "horizon_weeks=60",
            "progress=false",
            f"hydra.run.dir={tmp_path / 'run'}",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert "under each of 3 calibrated parameter sets" in done.stdout
        assert "combined" in done.stdout and "between sets" in done.stdout
        table = pd.read_parquet(tmp_path / "run" / "alliances.parquet")
        assert sorted(table[SET_COLUMN].unique()) == [0, 1, 2]
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        failed = summary["ensemble"]["failed"]
        assert failed["low"] <= failed["mc_low"] <= failed["mean"] <= failed["mc_high"] <= failed["high"]

    def test_a_missing_ensemble_file_is_a_clear_error(self, tmp_path):
        done = alliance_sim(
            "ensemble=calibrated", f"ensemble.file={tmp_path / 'none.csv'}", "n_alliances=10", cwd=tmp_path
        )
        assert done.returncode == 2
        assert "none.csv does not exist" in done.stderr
        assert "Traceback" not in done.stderr
