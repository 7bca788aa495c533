"""Shared helpers: tiny Mesa models and hand-scripted weeks of random numbers.

Every mechanism reads the week's random numbers from its alliance's record of
``model.alliance_draws`` (drawn from its own stream, see ``sim.draws``) and
the week's calendar from ``model.context``, so a test can script exactly what
happens in a week: a "quiet" week has no noise, no shock, no new issue, no
settlement, no departure and no opportunism, and a test switches on only the
event it is about, by editing one entry of the records ``quiet_week`` returns.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from sim.draws import DRAWN_ALL, FirmDraws
from sim.engines.mesa_agents import Alliance
from sim.engines.mesa_model import AllianceModel
from sim.environment import market_at
from sim.events import KINDS
from sim.mechanisms.firms import count_alliances
from sim.mechanisms.lifecycle import start_week
from sim.params import Engine, SimulationConfig
from sim.state import Context
from sim.vocabulary import N_OBJECTIVES, N_TRAITS, Touchpoints, touchpoints

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"

NO_TOUCHPOINT = Touchpoints(meeting=False, working_group=False, steering=False, health_check=False)


def small_config(**changes: Any) -> SimulationConfig:
    """A three-alliance reference config; ``changes`` are merged as in ``SimulationConfig.replace``."""
    base = SimulationConfig(n_alliances=3, horizon_weeks=52, seed=11, engine=Engine.MESA)
    return base.replace(**changes) if changes else base


def tiny_model(**changes: Any) -> AllianceModel:
    """A Mesa model of three alliances, not yet stepped."""
    return AllianceModel(small_config(**changes))


def quiet_draws(model: AllianceModel) -> FirmDraws:
    """The firms' noise of a quiet week: none."""
    f = model.shape.n_firms
    return FirmDraws(strategy_noise=np.zeros((N_OBJECTIVES, f)), culture_noise=np.zeros((N_TRAITS, f)))


def quiet_records(table: np.recarray) -> None:
    """Make every alliance's numbers of the week quiet, and held (nothing is drawn when a
    mechanism needs it): uniforms are 1.0 (every event fires when ``u < p``, and p <= 1)
    except ``issue_u``, which is 0.0 (no issue arrives when ``u < P(0 issues)``); noise is 0."""
    for name in ("incentive_noise", "expectation_noise", "value_noise", "shock_direction", "shock_size"):
        table[name] = 0.0
    for name in ("shock_u", "severity_u", "resolve_u", "contact_u", "opportunism_u", "walkaway_u"):
        table[name] = 1.0
    table.shock_kind_u = 0.0
    table.issue_u = 0.0
    table.drawn = DRAWN_ALL


def quiet_week(model: AllianceModel, t: int | None = None, touch: Touchpoints | None = None) -> np.recarray:
    """Make week ``t`` (default: the model's current week) a quiet week, as ``AllianceModel.step``
    sets it up before the phases: ``model.draws`` (the firms' noise, see :func:`quiet_draws`),
    the alliances' numbers in ``model.alliance_draws`` (see :func:`quiet_records`), and
    ``model.context`` with the touchpoints ``touch`` (default: the charter's calendar for week ``t``).

    Returns the per-alliance draw records; a test scripts an event by editing one entry,
    e.g. ``quiet_week(model, t=10)[0].shock_u = 0.0`` (arrays are indexed as the mechanisms
    read them: ``incentive_noise[k, slot]``, ``contact_u[slot]``, ``resolve_u[issue slot]``).
    Firm noise (``strategy_noise[k, firm]``) is edited in ``model.draws``.
    """
    model.draws = quiet_draws(model)
    quiet_records(model.alliance_draws)
    at_week(model, t, touch)
    return model.alliance_draws


def at_week(model: AllianceModel, t: int | None = None, touch: Touchpoints | None = None) -> Context:
    """Set ``model.context`` to week ``t`` (default: the model's current week) with the touchpoints
    ``touch`` (default: the charter's calendar for week ``t``), leaving the draws as they are.
    Returns the context."""
    if t is None:
        t = model.week_index
    if touch is None:
        touch = touchpoints(t, model.config)
    model.context = model.context.for_week(t, touch, market_at(model.config.scenario, t))
    return model.context


@st.composite
def episodes(draw: st.DrawFn, horizon: int) -> dict[str, Any]:
    """A scenario's episode settings (sim.environment): none, or one that may start before,
    within or after the horizon, with or without a recovery, and a trend only when it has a
    length."""
    weeks = draw(st.sampled_from([0, 0, 1, 5, 30]))
    out: dict[str, Any] = {
        "episode_start_week": draw(st.integers(0, horizon + 5)),
        "episode_weeks": weeks,
        "recovery_weeks": draw(st.sampled_from([0, 1, 8])),
        "episode_shock_rate": draw(st.floats(0.0, 0.3)),
        "episode_shock_scale": draw(st.floats(0.0, 1.0)),
        "episode_volatility": draw(st.floats(0.0, 3.0)),
    }
    if weeks:
        out["value_trend"] = draw(st.floats(-0.05, 0.05))
        out["outside_option_trend"] = draw(st.floats(-0.05, 0.05))
    return out


def fresh(alliance: Alliance) -> Alliance:
    """Start a new week for ``alliance`` as the engine does: what it recorded so far moves to the
    model's event log, last week's scratch values are cleared (``start_week``, which
    ``advance_lifecycle`` runs at the top of every week), the firms' alliances are counted and
    the alliance gathers what its partner firms bring."""
    model = alliance.model
    model._log_events(alliance)
    start_week(alliance.state)
    count_alliances(model.alliances, model.firms, model.every_alliance)
    alliance.gather_partner_values()
    return alliance


def events_of(model: AllianceModel) -> pd.DataFrame:
    """The model's event table (week, alliance_id, kind, detail), with the events still in the
    alliances' buffers (recorded this week, not yet moved to ``model.events`` by ``step``)."""
    log = copy.deepcopy(model.events)
    for a in model.alliances:
        for e in range(a.n_events):
            log.add_one(
                model.week_index + 1,
                a.index,
                KINDS[int(a.event_kind[e])],
                int(a.event_first[e]),
                int(a.event_second[e]),
                float(a.event_amount[e]),
            )
    return log.to_frame()
