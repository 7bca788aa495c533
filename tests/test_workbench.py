"""The model as an EMA Workbench model (sim.analysis.workbench): perform_experiments runs it in the three
lines the docs give, and each experiment's outcomes are those of the model run directly with
the same values.

Run with: pytest tests/test_workbench.py
"""

from __future__ import annotations

import numpy as np
import pytest

ema_workbench = pytest.importorskip("ema_workbench")

from sim.analysis.calibration import apply_overrides  # noqa: E402
from sim.analysis.uncertainty import SET_INPUT, UNCERTAIN, read_ensemble  # noqa: E402
from sim.analysis.workbench import OUTCOMES, alliance_model  # noqa: E402
from sim.config import load_config  # noqa: E402
from sim.runner import run_cohort  # noqa: E402


def test_perform_experiments_runs_the_model_and_each_outcome_is_the_models_own():
    from ema_workbench import perform_experiments

    model = alliance_model(n_alliances=80, seed=3, horizon_weeks=52)
    experiments, outcomes = perform_experiments(model, scenarios=5, policies=2)

    assert len(experiments) == 10
    assert set(outcomes) == set(OUTCOMES)
    names = {u.name for u in model.uncertainties}
    assert names == {SET_INPUT, *(name.split(".", 1)[1] for name in UNCERTAIN)}
    assert set(experiments["governance"]) <= {"handshake", "meetings", "committee", "full"}
    for name in ("failure_rate", "success_rate"):
        assert ((outcomes[name] >= 0) & (outcomes[name] <= 1)).all(), name
    assert (outcomes["effort"] > 0).all()

    # experiment 0 again, straight through the model: the same failure rate, to the bit
    row = experiments.iloc[0]
    ensemble = read_ensemble()
    values = dict(ensemble.sets[int(row[SET_INPUT])])
    for name in UNCERTAIN:
        label = name.split(".", 1)[1]
        values[name] = float(row[label])
    config = load_config(
        [
            "alliance=complementary",
            "scenario=calm",
            "launch=full",
            "horizon_weeks=52",
            f"governance={row['governance']}",
            "n_alliances=80",
            "seed=3",
        ]
    )
    direct = run_cohort(apply_overrides(config, values)).alliances
    assert outcomes["failure_rate"][0] == float((direct["outcome"] == "failed").mean())
    assert outcomes["success_rate"][0] == float((direct["outcome"] == "success").mean())


def test_the_sampled_inputs_move_the_outcomes():
    """Two experiments that differ only in the shock rate, at the top and the bottom of its
    range, under the handshake: more shocks, at least as many failures (common random
    numbers: the extra shocks come on top of the same ones)."""
    model = alliance_model(n_alliances=300, seed=4, ensemble=None)
    run = model.function
    calm = run(governance="handshake", shock_rate=0.005)
    rough = run(governance="handshake", shock_rate=0.015)
    assert rough["failure_rate"] >= calm["failure_rate"]
    assert not np.isclose(rough["mean_trust"], calm["mean_trust"])


def test_an_unknown_input_or_design_is_named():
    run = alliance_model(n_alliances=10, seed=1, ensemble=None).function
    with pytest.raises(ValueError, match="shock_rte"):
        run(governance="handshake", shock_rte=0.01)
    with pytest.raises(ValueError, match="committe"):
        run(governance="committe")
