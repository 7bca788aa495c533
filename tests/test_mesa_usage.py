"""A Mesa user's path: the defaults, named designs and levers in batch_run, replications, reporters.

``AllianceModel()`` must start from the calibrated configuration the command
line composes, take designs by name and single levers by their dotted keys
(as ``mesa.batch_run`` passes them), give each of batch_run's iterations its
own stream, and report the outcome shares and effort totals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.config import load_config
from sim.defaults import GROUPS, compose, default_config, options
from sim.engines.mesa_agents import Alliance
from sim.engines.mesa_model import AllianceModel, reference_result
from sim.params import ConfigError
from sim.runner import run_cohort

OUTCOMES = ("success", "underperforming", "failed", "terminated")


def test_the_model_starts_from_the_command_lines_calibrated_defaults():
    """Handshake alliances built from Python and from the command line are the same alliances:
    the uncalibrated coefficients of sim/params.py made them all fail."""
    model = AllianceModel(n_alliances=5, horizon_weeks=3, seed=0)
    assert model.config.replace(engine="cohort") == load_config(["n_alliances=5", "horizon_weeks=3"])
    assert default_config() == load_config([])


@pytest.mark.parametrize("group", GROUPS)
def test_every_named_option_composes_as_hydra_does(group):
    """One source of defaults: choosing an option by name from Python gives the config Hydra
    composes for the same choice on the command line."""
    for name in options(group):
        assert compose({group: name}) == load_config([f"{group}={name}"]), f"{group}={name}"


def test_a_design_given_as_a_mapping_with_its_name_is_that_design():
    """{"name": "full"} used to relabel the default design and change nothing else."""
    assert compose({"governance": {"name": "full"}}) == compose({"governance": "full"})
    changed = compose({"governance": {"name": "full", "shared_kpis": False}})
    assert changed.governance.steering_committee and not changed.governance.shared_kpis


def test_unknown_names_and_keys_say_what_is_allowed():
    with pytest.raises(ConfigError, match=r"governance = 'ful': allowed options are committee, full"):
        AllianceModel(governance="ful", n_alliances=2)
    with pytest.raises(ConfigError, match=r"unknown key governance.meeting_cadense: allowed keys are"):
        AllianceModel(**{"governance.meeting_cadense": "monthly"}, n_alliances=2)
    with pytest.raises(ConfigError, match=r"governance = 3: give an option name"):
        AllianceModel(governance=3, n_alliances=2)


def _run_rows(rows: list[dict]) -> pd.DataFrame:
    """batch_run gives one row per alliance (agent reporters); one row per run is enough here."""
    return pd.DataFrame(rows).drop_duplicates("RunId").reset_index(drop=True)


@pytest.fixture(scope="module")
def design_batch():
    return _run_rows(
        mesa.batch_run(
            AllianceModel,
            parameters={
                "governance": ["handshake", "full"],
                "alliance": ["complementary", "ecosystem"],
                "n_alliances": 40,
                "governance.shared_kpis": [False, True],
            },
            rng=[11],
            display_progress=False,
        )
    )


def _overrides(row: pd.Series) -> list[str]:
    kpis = str(bool(row["governance.shared_kpis"])).lower()
    return [
        f"governance={row['governance']}",
        f"alliance={row['alliance']}",
        "n_alliances=40",
        f"governance.shared_kpis={kpis}",
        "seed=11",
    ]


def _shares(alliances: pd.DataFrame) -> dict[str, float]:
    return {o: float((alliances["outcome"] == o).sum() / len(alliances)) for o in OUTCOMES}


@pytest.mark.slow
def test_batch_run_over_named_designs_gives_the_command_lines_outcome_shares(design_batch):
    """Each cell of the batch equals the command line's composition of the same choices, run
    by the cohort engine; the designs and levers really differ."""
    assert len(design_batch) == 8
    for _, row in design_batch.iterrows():
        expected = _shares(run_cohort(load_config(_overrides(row))).alliances)
        got = {o: row[f"share_{o}"] for o in OUTCOMES}
        assert got == expected, _overrides(row)
    by_design = design_batch.groupby("governance")["share_failed"].mean()
    assert by_design["full"] < by_design["handshake"]
    per_kpis = design_batch.groupby(["governance", "alliance"])["effort_proactive"].nunique()
    assert (per_kpis == 2).all()  # the lever changes the run in every design


@pytest.mark.slow
def test_batch_run_matches_the_installed_command_line(design_batch, tmp_path):
    """The same cell through ``alliance-sim`` itself: its summary.json reports the same shares."""
    row = design_batch.loc[
        (design_batch["governance"] == "full") & (design_batch["alliance"] == "ecosystem")
    ].iloc[0]
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", *_overrides(row), "progress=false", f"hydra.run.dir={out}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    for o in OUTCOMES:
        assert summary["outcomes"][o]["share"] == pytest.approx(row[f"share_{o}"], abs=0, rel=0)


def test_each_iteration_of_batch_run_is_its_own_replication():
    """Mesa documents iterations=k as k replications with fresh seeds (rng=[None] * k); each
    run records its seed, which reproduces it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa prefers rng=[None] * 2
        rows = _run_rows(
            mesa.batch_run(
                AllianceModel,
                parameters={"n_alliances": 25, "horizon_weeks": 20},
                iterations=2,
                display_progress=False,
            )
        )
    assert len(rows) == 2
    assert rows.loc[0, "mean_trust"] != rows.loc[1, "mean_trust"]
    model = AllianceModel(n_alliances=25, horizon_weeks=20)
    again = AllianceModel(n_alliances=25, horizon_weeks=20, seed=model.config.seed)
    model.run()
    again.run()
    assert model.datacollector.get_model_vars_dataframe().equals(
        again.datacollector.get_model_vars_dataframe()
    )


def test_reporters_give_outcome_shares_effort_totals_and_each_alliances_trust():
    model = AllianceModel(n_alliances=30, horizon_weeks=40, rng=3, scenario={"shock_rate": 0.1}).run()
    series = model.datacollector.get_model_vars_dataframe()
    result = reference_result(model)
    last = series.iloc[-1]
    for outcome, share in _shares(result.alliances).items():
        assert last[f"share_{outcome}"] == pytest.approx(share)
    assert sum(last[f"share_{o}"] for o in OUTCOMES) == pytest.approx(1.0)
    assert (series["share_failed"].diff().dropna() >= 0).all()  # shares so far only grow
    assert last["effort_proactive"] == pytest.approx(result.alliances["effort_proactive"].sum())
    assert last["effort_reactive"] == pytest.approx(result.alliances["effort_reactive"].sum())
    agents = model.datacollector.get_agenttype_vars_dataframe(Alliance)
    final = agents.xs(model.steps, level="Step")
    assert len(final) == 30
    np.testing.assert_allclose(final["trust"].to_numpy(), [a.trust for a in model.alliances])
    np.testing.assert_allclose(final["health"].to_numpy(), [a.health for a in model.alliances])
    assert set(final["outcome"]) <= set(OUTCOMES)
