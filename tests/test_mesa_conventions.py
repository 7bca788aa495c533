"""The model follows Mesa's conventions, so Mesa's own tools work on it.

* ``AllianceModel(rng=..., **overrides)`` is how ``mesa.batch_run`` builds it;
* firms are ``mesa.Agent`` instances registered with the model;
* the DataCollector records one row per simulated week.
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

from sim.engines.mesa_agents import Alliance, Firm
from sim.engines.mesa_model import AllianceModel, reference_result

REPORTERS = ["share_active", "mean_trust", "mean_health", "open_issues"]


@pytest.fixture(scope="module")
def batch():
    return mesa.batch_run(
        AllianceModel,
        parameters={"n_alliances": [20], "horizon_weeks": [10]},
        rng=[1, 2],
        max_steps=1000,
        display_progress=False,
    )


def test_batch_run_runs_one_model_per_seed_to_its_horizon(batch):
    """One row per alliance (the agent reporters), carrying its run's model reporters."""
    assert len(batch) == 2 * 20
    assert {row["AgentID"] for row in batch if row["rng"] == 1} == {
        a.unique_id for a in AllianceModel(n_alliances=20, horizon_weeks=10, rng=1).alliances
    }
    batch = list({row["RunId"]: row for row in batch}.values())
    assert len(batch) == 2
    for row in batch:
        assert row["n_alliances"] == 20
        assert row["horizon_weeks"] == 10
        assert row["Step"] == 10  # the model stops itself at the horizon, far before max_steps
        assert set(REPORTERS) <= set(row)
        assert 0.0 <= row["share_active"] <= 1.0
    assert {row["rng"] for row in batch} == {1, 2}
    assert batch[0]["mean_trust"] != batch[1]["mean_trust"]


def test_batch_run_matches_a_model_built_by_hand(batch):
    """batch_run passes rng= and the parameters as keyword overrides; the same call by hand
    reproduces its numbers."""
    row = next(r for r in batch if r["rng"] == 2)
    model = AllianceModel(n_alliances=20, horizon_weeks=10, rng=2).run()
    last = model.datacollector.get_model_vars_dataframe().iloc[-1]
    for name in REPORTERS:
        assert row[name] == last[name]


def test_keyword_overrides_reach_the_config():
    model = AllianceModel(n_alliances=7, horizon_weeks=5, governance={"meeting_cadence": "monthly"}, rng=3)
    assert model.config.n_alliances == 7
    assert model.config.horizon_weeks == 5
    assert model.config.governance.meeting_cadence.value == "monthly"
    assert len(model.alliances) == 7


def test_rng_defaults_to_the_config_seed():
    """Without rng= the config's seed drives the run, so a config alone reproduces it."""
    a = reference_result(AllianceModel(n_alliances=15, horizon_weeks=12, seed=5).run())
    b = reference_result(AllianceModel(n_alliances=15, horizon_weeks=12, rng=5).run())
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_series_equal(a.alliances["final_trust"], b.alliances["final_trust"])


def test_seed_given_as_rng_is_the_recorded_replication_seed():
    """A run seeded through rng= (as batch_run does) must record that seed in its results:
    the alliances table's seed column is the replication seed (docs/outputs.md)."""
    result = reference_result(AllianceModel(n_alliances=10, horizon_weeks=5, rng=7).run())
    assert set(result.alliances["seed"]) == {7}
    assert result.config.seed == 7


def test_numpy_integers_are_accepted_as_parameters():
    """Sweeps often take values from numpy ranges (np.arange, np.linspace); an np.int64 is an
    integer and must be accepted like a Python int."""
    model = AllianceModel(n_alliances=np.int64(12), horizon_weeks=np.int64(6), rng=1)
    assert model.config.n_alliances == 12
    assert len(model.alliances) == 12


def test_firms_and_alliances_are_mesa_agents_of_the_model():
    model = AllianceModel(n_alliances=12, horizon_weeks=4, rng=4)
    assert len(model.firms) == model.shape.n_firms
    assert all(isinstance(f, mesa.Agent) for f in model.firms)
    registered = set(model.agents)
    assert set(model.firms) <= registered
    assert set(model.alliances) <= registered
    assert len(model.agents_by_type[Firm]) == model.shape.n_firms
    assert len(model.agents_by_type[Alliance]) == 12
    assert len({f.unique_id for f in model.firms}) == len(model.firms)
    for alliance in model.alliances:
        for firm in alliance.firm:
            assert model.firms[firm] in registered


def test_datacollector_records_one_row_per_week():
    """share_active drops exactly when alliances end; means are over alliances still alive."""
    horizon = 40
    model = AllianceModel(n_alliances=30, horizon_weeks=horizon, rng=9, scenario={"shock_rate": 0.1}).run()
    series = model.datacollector.get_model_vars_dataframe()
    assert list(series.columns)[: len(REPORTERS)] == REPORTERS
    assert len(series) == horizon
    assert not model.running
    assert model.steps == horizon

    result = reference_result(model)
    endings = result.events[result.events["kind"] == "ending"]
    ended_by_week = endings.groupby("week").size().reindex(range(1, horizon + 1), fill_value=0).cumsum()
    expected_share = 1.0 - ended_by_week.to_numpy() / 30
    np.testing.assert_allclose(series["share_active"].to_numpy(), expected_share)
    assert series["mean_trust"].between(0, 1).all()
    alive = [a for a in model.alliances if a.alive]
    assert series["mean_trust"].iloc[-1] == pytest.approx(np.mean([a.trust for a in alive]))
    assert series["open_issues"].iloc[-1] == pytest.approx(np.mean([a.open_issues() for a in alive]))
