"""Shared helpers: tiny reference models and hand-scripted weeks of random numbers.

Every mechanism reads the week's random numbers from a :class:`sim.model.WeekLists`
(never the generator), so a test can script exactly what happens in a week: a
"quiet" week has no noise, no shock, no new issue, no settlement, no departure
and no opportunism, and a test switches on only the event it is about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.agents import Alliance, WeekLedger
from sim.draws import WeekDraws
from sim.mechanics import ISSUE_CAPACITY, MAX_NEW_ISSUES, N_OBJECTIVES, N_TRAITS, Touchpoints
from sim.model import AllianceModel, WeekLists
from sim.params import Engine, SimulationConfig

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"

NO_TOUCHPOINT = Touchpoints(meeting=False, working_group=False, steering=False, health_check=False)


def small_config(**changes: Any) -> SimulationConfig:
    """A three-alliance reference config; ``changes`` are merged as in ``SimulationConfig.replace``."""
    base = SimulationConfig(n_alliances=3, horizon_weeks=52, seed=11, engine=Engine.REFERENCE)
    return base.replace(**changes) if changes else base


def tiny_model(**changes: Any) -> AllianceModel:
    """A reference model of three alliances, not yet stepped."""
    return AllianceModel(small_config(**changes))


def quiet_arrays(model: AllianceModel) -> dict[str, np.ndarray]:
    """A week in which nothing random happens; tests edit single entries to script an event.

    Uniforms are set to 1.0 (every event fires when ``u < p``, and p <= 1) except
    ``issue_u`` which is 0.0 (no issue arrives when ``u < P(0 issues)``).
    """
    f, n, p = model.shape.n_firms, model.shape.n_alliances, model.shape.n_partners
    return {
        "strategy_noise": np.zeros((f, N_OBJECTIVES)),
        "culture_noise": np.zeros((f, N_TRAITS)),
        "incentive_noise": np.zeros((n, p, N_OBJECTIVES)),
        "expectation_noise": np.zeros((n, p)),
        "shock_u": np.ones(n),
        "shock_size": np.zeros(n),
        "shock_kind_u": np.zeros(n),
        "shock_direction": np.zeros((n, p, N_OBJECTIVES)),
        "issue_u": np.zeros(n),
        "severity_u": np.ones((n, MAX_NEW_ISSUES)),
        "resolve_u": np.ones((n, ISSUE_CAPACITY)),
        "contact_u": np.ones((n, p)),
        "opportunism_u": np.ones((n, p)),
        "value_noise": np.zeros(n),
    }


def to_week(arrays: dict[str, np.ndarray]) -> WeekLists:
    """Pack scripted arrays into a :class:`WeekDraws` and convert it as the model does.

    ``arrays`` are indexed the way agents read them (firm or alliance first:
    ``incentive_noise[n, slot, k]``). ``WeekDraws`` may store an axis-reversed
    layout for the vectorized engine; each array is packed in whichever layout
    makes ``WeekLists.from_draws`` hand the agents exactly the scripted numbers.
    """

    def unpack(packed: dict[str, np.ndarray]) -> WeekLists:
        return WeekLists.from_draws(WeekDraws(**packed))

    def reads_as_scripted(week: WeekLists, name: str) -> bool:
        got = np.asarray(getattr(week, name))
        return got.shape == arrays[name].shape and np.array_equal(got, arrays[name])

    packed = dict(arrays)
    week = unpack(packed)
    for name, array in arrays.items():
        if not reads_as_scripted(week, name):
            packed[name] = array.T
    week = unpack(packed)
    for name in arrays:
        assert reads_as_scripted(week, name), f"cannot script {name}: unknown WeekDraws layout"
    return week


def quiet_week(model: AllianceModel) -> WeekLists:
    return to_week(quiet_arrays(model))


def fresh(alliance: Alliance) -> Alliance:
    """Start a new week's ledger, as ``advance_lifecycle`` does at the top of every week."""
    alliance.week = WeekLedger()
    return alliance


def events_of(model: AllianceModel) -> pd.DataFrame:
    """The model's event table (week, alliance_id, kind, detail)."""
    return model.events.to_frame()
