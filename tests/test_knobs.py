"""Knobs the configs expose must reach the model.

A parameter whose documentation says it changes the alliances' lives, but which
no mechanism reads, silently does nothing in a sweep. Each knob below is moved
far within its allowed range on a cohort where it should matter; the alliances
table must change. Knobs known to matter serve as positive controls for the
comparison itself.
"""

from __future__ import annotations

import pytest
from conftest import small_config

from sim.runner import run_cohort

# Co-opetition alliances (overlapping capabilities, exposed IP), launched at full scale,
# long enough for results to be due and partners to leave.
COOPETITION = {
    "n_alliances": 40,
    "horizon_weeks": 80,
    "seed": 5,
    "alliance": {"type": "coopetition"},
    "scenario": {"shock_rate": 0.03},
}
# The same with quarterly health checks, so that the charter's termination criteria are reviewed.
REVIEWED = {**COOPETITION, "governance": {"name": "reviewed", "health_check_weeks": 13}}

KNOBS = [
    # (base, section, key, low, high)
    pytest.param(
        COOPETITION, "alliance", "integration_complexity", 0.0, 1.0, id="control-integration_complexity"
    ),
    pytest.param(COOPETITION, "dynamics", "full_launch_surge", 0.0, 3.0, id="control-full_launch_surge"),
    pytest.param(COOPETITION, "alliance", "capability_overlap", 0.0, 0.9, id="capability_overlap"),
    pytest.param(COOPETITION, "dynamics", "overlap_temptation", 0.0, 3.0, id="overlap_temptation"),
    pytest.param(REVIEWED, "dynamics", "termination_health", 0.0, 0.9, id="termination_health"),
    pytest.param(REVIEWED, "dynamics", "termination_value", 0.0, 0.95, id="termination_value"),
    pytest.param(REVIEWED, "dynamics", "termination_criteria", 1, 4, id="termination_criteria"),
]


def outcomes(base: dict, section: str, key: str, value) -> tuple:
    config = small_config(**base).replace(**{section: {key: value}})
    table = run_cohort(config).alliances
    return tuple(table["outcome"].astype(str)), tuple(table["issues_raised"]), tuple(table["final_trust"])


@pytest.mark.parametrize(("base", "section", "key", "low", "high"), KNOBS)
def test_knob_changes_the_alliances(base, section, key, low, high):
    assert outcomes(base, section, key, low) != outcomes(base, section, key, high), (
        f"{section}.{key} has no effect on any alliance between {low} and {high}"
    )
