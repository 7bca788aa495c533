"""The Mesa engine and the compiled cohort engine are one model, to the last bit.

Both engines run the same mechanism functions (:mod:`sim.mechanisms`): the Mesa
engine in plain Python, one phase at a time over every alliance; the cohort
engine compiled by numba, every phase of one alliance at a time. These tests
keep them one model:

1. a property-based differential test: random valid configurations over the
   whole parameter space (alliance type and spokes, every governance lever,
   triggers, scenario, launch, market and a random subset of the dynamics
   coefficients), run by both engines, must give identical alliance, event and
   time-series tables and identical final records of every alliance and firm;
2. every mechanism, compiled and in plain Python, on random but valid states
   (a small cohort stepped a random number of weeks, then perturbed within the
   meaning of each field), must leave identical records;
3. the phase order is declared once (``sim.engines.phases``) and both engines
   follow it;
4. the comparisons can fail: a coefficient perturbed in both engines moves both
   together, perturbed in one engine's call path only it makes them disagree;
5. code compiled for one record layout never runs on another's records, whether
   the layouts are compiled in one process or loaded from a cache that separate
   processes filled.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import inspect
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import time
import typing
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import episodes
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import sim
import sim.engines.cohort
import sim.engines.mesa_model
from sim.compiled import cache_root, compiled_for
from sim.draws import alliance_draws_table, fill_week, firm_week, stream_key
from sim.engines.cohort import CohortRun
from sim.engines.mesa_model import AllianceModel, reference_result
from sim.engines.phases import ALLIANCE_PHASES
from sim.engines.tables import cohort_result
from sim.environment import MarketPath
from sim.levers import switches
from sim.mechanisms.drift import drift_firm, drift_incentives_and_expectations
from sim.mechanisms.endings import check_endings, settle_reputation
from sim.mechanisms.firms import bring_partner_values, count_alliances, report_to_firms
from sim.mechanisms.health import update_health
from sim.mechanisms.issues import raise_issues, resolve_issues
from sim.mechanisms.key_contacts import lose_key_contacts
from sim.mechanisms.lifecycle import advance_lifecycle
from sim.mechanisms.maturity import build_routines
from sim.mechanisms.observe import cohort_means
from sim.mechanisms.shocks import receive_shock
from sim.mechanisms.touchpoints import hold_touchpoints
from sim.mechanisms.triggers import apply_triggers
from sim.mechanisms.trust import update_trust
from sim.mechanisms.value import create_value
from sim.params import (
    AllianceType,
    Dynamics,
    LaunchMode,
    MeetingCadence,
    SimulationConfig,
)
from sim.results import CohortResult
from sim.state import Context, params_of, params_record_of, week_context
from sim.vocabulary import ISSUE_CAPACITY, NO_RENEGOTIATION_YET, touchpoints

REPO_ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# Running both engines and comparing what they give
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class EngineRun:
    """A finished run: its result tables and the final records of every alliance and firm."""

    result: CohortResult
    alliances: np.ndarray
    firms: np.ndarray


def run_reference(config: SimulationConfig) -> EngineRun:
    """The Mesa engine, as ``run_cohort`` runs it for ``engine=mesa``."""
    model = AllianceModel(config.replace(engine="mesa"))
    while model.running:
        model.step()
    return EngineRun(reference_result(model), model.alliance_table(), model.firm_table())


def run_vectorized(config: SimulationConfig) -> EngineRun:
    """The cohort engine, as ``run_cohort`` runs it for ``engine=cohort``."""
    config = config.replace(engine="cohort")
    run = CohortRun(config).run()
    result = cohort_result(config, run.state.alliances, run.series, run.log[: run.logged])
    return EngineRun(result, run.state.alliances, run.state.firms)


def run_both(config: SimulationConfig) -> tuple[EngineRun, EngineRun]:
    return run_reference(config), run_vectorized(config)


def same_values(x: Any, y: Any) -> bool:
    """Equal arrays (nan equal to nan in floating-point arrays)."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape:
        return False
    floating = x.dtype.kind in "fc" and y.dtype.kind in "fc"
    return bool(np.array_equal(x, y, equal_nan=floating))


def record_differences(x: np.ndarray, y: np.ndarray, table: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Fields in which two record tables differ, as ``table.field``."""
    if x.dtype != y.dtype or x.shape != y.shape:
        return [f"{table}.layout"]
    names = [name for name in x.dtype.names or () if name not in skip]
    return [f"{table}.{name}" for name in names if not same_values(x[name], y[name])]


ENGINE_BUFFERS = ("n_events",)
"""Record fields that are the engines' bookkeeping, not the model's state: the cohort engine
empties an alliance's event buffer once the week's events are in the log, the Mesa engine
when the next week starts (the events themselves are compared in the event tables)."""


def table_differences(ref: CohortResult, vec: CohortResult) -> list[str]:
    """Tables and columns in which two results differ; every value must be identical,
    the time series included (both engines sum over alliances in alliance order)."""
    out = []
    a, b = ref.alliances, vec.alliances
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return ["alliances.shape"]
    for column in a.columns:
        if a[column].dtype == object and isinstance(a[column].iloc[0], np.ndarray):
            same = all(same_values(x, y) for x, y in zip(a[column], b[column], strict=True))
        else:
            same = a[column].equals(b[column])
        if not same:
            out.append(f"alliances.{column}")
    if not ref.events.equals(vec.events):
        out.append("events")
    if not ref.timeseries.equals(vec.timeseries):
        out.append("timeseries")
    return out


def differences(ref: EngineRun, vec: EngineRun) -> list[str]:
    """Everything in which two runs differ: result tables, then final alliance and firm records."""
    return (
        table_differences(ref.result, vec.result)
        + record_differences(ref.alliances, vec.alliances, "alliance_records", skip=ENGINE_BUFFERS)
        + record_differences(ref.firms, vec.firms, "firm_records")
    )


# ---------------------------------------------------------------------------------------------
# Random valid configurations
# ---------------------------------------------------------------------------------------------

SPOKES = (3, 4, 6)
"""Spokes of random ecosystems: each number of partner slots compiles the cohort engine once."""

LEVERS = tuple(lever.name for lever in switches())
"""The on-off levers of the registry (sim.levers), each switched at random."""
ALLIANCE_PROPERTIES = (
    "complementarity",
    "capability_overlap",
    "integration_complexity",
    "ip_exposure",
    "coordination_load",
)
DYNAMICS_FIELDS = {f.name: f for f in dataclasses.fields(Dynamics)}
DYNAMICS_TYPES = typing.get_type_hints(Dynamics)


def sensible_range(name: str) -> tuple[float, float]:
    """A coefficient's declared range, its top cut to about three times its default (so a
    random value keeps the cohort's weeks eventful rather than ending every alliance at once)."""
    f = DYNAMICS_FIELDS[name]
    lo, hi, default = f.metadata["lo"], f.metadata["hi"], f.default
    top = max(3 * default, lo + (4 if DYNAMICS_TYPES[name] is int else 1.0))
    return lo, top if hi is None else min(hi, top)


def coefficient(name: str) -> st.SearchStrategy[Any]:
    lo, hi = sensible_range(name)
    if DYNAMICS_TYPES[name] is int:
        return st.integers(int(lo), int(hi))
    return st.floats(float(lo), float(hi))


@st.composite
def configs(draw: st.DrawFn, spokes: tuple[int, ...] = SPOKES) -> SimulationConfig:
    """A valid configuration of a small cohort anywhere in the parameter space."""
    horizon = draw(st.integers(10, 80))
    kind = draw(st.sampled_from(list(AllianceType)))
    alliance: dict[str, Any] = {name: draw(st.floats(0.0, 1.0)) for name in ALLIANCE_PROPERTIES}
    alliance["type"] = kind.value
    alliance["objective_value"] = draw(st.floats(0.0, 120.0))
    if kind is AllianceType.ECOSYSTEM:
        alliance["spokes"] = draw(st.sampled_from(spokes))
    governance: dict[str, Any] = {lever: draw(st.booleans()) for lever in LEVERS}
    governance["meeting_cadence"] = draw(st.sampled_from([c.value for c in MeetingCadence]))
    governance["escalation_age_weeks"] = draw(st.integers(1, 26))
    governance["health_check_weeks"] = draw(st.one_of(st.just(0), st.integers(1, 26)))
    governance["sunset_week"] = draw(st.one_of(st.just(0), st.integers(1, horizon)))
    triggers = {
        "enabled": draw(st.sampled_from([None, True, False])),
        "shock_threshold": draw(st.floats(0.0, 0.5)),
        "health_threshold": draw(st.floats(0.0, 1.0)),
        "misalignment_threshold": draw(st.floats(0.0, 1.0)),
        "cooldown_weeks": draw(st.integers(0, 52)),
    }
    regulatory = draw(st.floats(0.0, 1.0))
    market_share = draw(st.floats(0.0, 1.0)) * (1.0 - regulatory)
    if regulatory + market_share > 1.0:  # a rounding step over
        market_share = 0.0
    scenario = {
        "shock_rate": draw(st.floats(0.0, 0.3)),
        "shock_scale": draw(st.floats(0.0, 2.0)),
        "regulatory_share": regulatory,
        "market_share_share": market_share,
        "volatility": draw(st.floats(0.0, 5.0)),
        **draw(episodes(horizon)),
    }
    launch = {
        "mode": draw(st.sampled_from([m.value for m in LaunchMode])),
        "pilot_weeks": draw(st.integers(1, 40)),
        "pilot_scale": draw(st.floats(0.0, 1.0)),
        "pilot_gate_health": draw(st.floats(0.0, 1.0)),
    }
    market = {
        "alliances_per_firm": draw(st.floats(1.0, 4.0)),
        "prior_experience": draw(st.floats(0.0, 3.0)),
        "outside_option_mean": draw(st.floats(0.0, 0.5)),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(DYNAMICS_FIELDS)), max_size=12, unique=True))
    dynamics = {name: draw(coefficient(name)) for name in chosen}
    return SimulationConfig.from_dict(
        {
            "n_alliances": draw(st.integers(5, 25)),
            "horizon_weeks": horizon,
            "seed": draw(st.integers(0, 2**32 - 1)),
            "alliance": alliance,
            "governance": governance,
            "triggers": triggers,
            "scenario": scenario,
            "launch": launch,
            "market": market,
            "dynamics": dynamics,
        }
    )


PROPERTY_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    # no shrinking: a failure reports the first failing configuration at once instead of
    # re-running cohorts for minutes to minimise it
    "phases": (Phase.explicit, Phase.generate),
    "suppress_health_check": [HealthCheck.too_slow],
}


# ---------------------------------------------------------------------------------------------
# 1. Differential test over random configurations
# ---------------------------------------------------------------------------------------------


@settings(max_examples=8, **PROPERTY_SETTINGS)
@given(config=configs())
def test_engines_agree_on_random_configurations(config):
    ref, vec = run_both(config)
    assert len(ref.result.alliances) == config.n_alliances
    assert differences(ref, vec) == []


@pytest.mark.slow
@settings(max_examples=80, **PROPERTY_SETTINGS)
@given(config=configs())
def test_engines_agree_all_over_the_parameter_space(config):
    ref, vec = run_both(config)
    assert differences(ref, vec) == []


# ---------------------------------------------------------------------------------------------
# 2. Every mechanism, compiled and in plain Python, on random states
# ---------------------------------------------------------------------------------------------

FIRM_MECHANISMS = (drift_firm, settle_reputation, bring_partner_values, report_to_firms, count_alliances)
MECHANISMS = (*ALLIANCE_PHASES, *FIRM_MECHANISMS, cohort_means)


def apply_mechanism(k, alliances, firms, draws, week, c, p, out):
    """Mechanism ``MECHANISMS[k]`` on every running alliance (or every firm, or the cohort).

    The same function runs compiled (``compiled_mechanism``) and in plain Python, where
    every mechanism it calls is plain Python too.
    """
    if k < 13:
        for i in range(alliances.shape[0]):
            a = alliances[i]
            if not a.alive:
                continue
            w = draws[i]
            if k == 0:
                advance_lifecycle(a, w, c, p)
            elif k == 1:
                drift_incentives_and_expectations(a, w, c, p)
            elif k == 2:
                receive_shock(a, w, c, p)
            elif k == 3:
                apply_triggers(a, w, c, p)
            elif k == 4:
                hold_touchpoints(a, w, c, p)
            elif k == 5:
                raise_issues(a, w, c, p)
            elif k == 6:
                resolve_issues(a, w, c, p)
            elif k == 7:
                create_value(a, w, c, p)
            elif k == 8:
                build_routines(a, w, c, p)
            elif k == 9:
                lose_key_contacts(a, w, c, p)
            elif k == 10:
                update_trust(a, w, c, p)
            elif k == 11:
                update_health(a, w, c, p)
            else:
                check_endings(a, w, c, p)
    elif k == 13:
        for f in range(firms.shape[0]):
            drift_firm(firms[f], week.strategy_noise[:, f], week.culture_noise[:, f], c.volatility, p)
    elif k == 14:
        for f in range(firms.shape[0]):
            settle_reputation(firms[f], p)
    elif k == 15:
        for i in range(alliances.shape[0]):
            if alliances[i].alive:
                bring_partner_values(alliances[i], firms)
    elif k == 16:
        for i in range(alliances.shape[0]):
            report_to_firms(alliances[i], firms)
    elif k == 17:
        count_alliances(alliances, firms, np.arange(alliances.shape[0]))
    else:
        means = cohort_means(alliances, np.arange(alliances.shape[0]))
        for j in range(4):
            out[j] = means[j]


@pytest.mark.parametrize("horizon", [40, 156])
def test_stepping_week_by_week_gives_the_run_tables(horizon):
    """A small cohort's ``run`` steps several weeks per compiled call, drawing them at once;
    stepped one week at a time (as the stress test does, to record trajectories) it gives the
    same tables and firms, bit for bit, for a horizon that the weeks per call divide or not."""
    config = sim.load_config(["n_alliances=300", f"horizon_weeks={horizon}", "seed=9"])
    whole = run_vectorized(config)
    stepped = CohortRun(config)
    while stepped.running:
        stepped.step()
    assert whole.alliances.tobytes() == stepped.state.alliances.tobytes()
    assert whole.firms.tobytes() == stepped.state.firms.tobytes()
    result = cohort_result(config, stepped.state.alliances, stepped.series, stepped.log[: stepped.logged])
    for table in ("alliances", "events", "timeseries"):
        pd.testing.assert_frame_equal(getattr(whole.result, table), getattr(result, table), check_exact=True)


def test_apply_mechanism_calls_each_mechanism_at_its_index():
    """``apply_mechanism`` branches on ``k`` in the order of ``MECHANISMS``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(apply_mechanism)))
    calls = sorted(
        (node.lineno, node.func.id)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id != "range"
    )
    called = [name for _, name in calls]
    assert called == [m.__name__ for m in MECHANISMS]


@functools.cache
def sources_digest() -> str:
    """A digest of the model's sources (every file of ``sim``)."""
    digest = hashlib.sha256()
    root = Path(sim.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def compiled_mechanism(layout: np.dtype) -> Any:
    """``apply_mechanism`` compiled for one record layout.

    Numba checks cached code against the source file of the function compiled (this one),
    not against the mechanisms it calls from other files, so the cache folder is named for
    the model's sources: an edited mechanism is compiled afresh, never read stale.
    """
    root = cache_root() / "test-engines"
    folder = root / sources_digest()
    if not folder.exists():  # the sources changed: drop folders of sources unused for a week
        for old in root.glob("*"):
            if time.time() - old.stat().st_mtime > 7 * 24 * 3600:
                shutil.rmtree(old, ignore_errors=True)
    saved = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    try:
        return compiled_for(apply_mechanism, layout)
    finally:
        if saved is None:
            del os.environ["NUMBA_CACHE_DIR"]
        else:
            os.environ["NUMBA_CACHE_DIR"] = saved


@dataclasses.dataclass
class RandomWeek:
    """A random but valid state of a cohort at the start of some phase, with its week."""

    config: SimulationConfig
    alliances: np.ndarray
    firms: np.ndarray
    draws: np.ndarray  # per-alliance draw records
    week: Any  # WeekDraws, for the firms' drift
    context: Context


def perturb_firms(firms: np.ndarray, rng: np.random.Generator) -> None:
    n = firms.shape[0]
    firms.strategy = rng.uniform(0.0, 1.0, firms.strategy.shape)
    firms.culture = rng.uniform(0.0, 1.0, firms.culture.shape)
    firms.reputation = rng.uniform(0.0, 1.0, n)
    firms.capacity = rng.uniform(0.05, 2.0, n)
    firms.outside_option = rng.uniform(0.0, 0.5, n)
    firms.exits_this_week = rng.integers(0, 3, n)
    firms.collapses_this_week = rng.integers(0, 3, n)
    firms.reputation_drop = np.where(rng.random(n) < 0.5, rng.uniform(0.0, 0.2, n), 0.0)


def perturb_alliance(a: Any, rng: np.random.Generator, config: SimulationConfig, t: int) -> None:
    """Give one running alliance random values, each within its meaning."""
    d = config.dynamics
    slots = a.active.shape[0]
    # partners: the hub (and both partners of a dyad) still in, at least half the spokes
    if slots > 2:
        active = rng.random(slots) < 0.75
        active[0] = True
        while 2 * int(active[1:].sum()) < slots - 1:
            active[1 + rng.integers(0, slots - 1)] = True
    else:
        active = np.ones(slots, dtype=bool)
    a.active = active
    share = np.array(a.share)
    share[active] = rng.dirichlet(np.ones(int(active.sum())))
    a.share = share
    a.incentives = rng.uniform(0.0, 1.0, a.incentives.shape)
    a.expectation = rng.uniform(0.01, 2.0, slots)
    a.perceived_value = rng.uniform(-0.5, 2.0, slots)
    a.commitment = rng.uniform(0.0, 1.5, slots)
    a.value_received = rng.uniform(0.0, 30.0, slots)
    a.results_week = t + rng.integers(-30, 31, slots)
    a.shortfall_weeks = rng.integers(0, d.exit_patience + 1, slots)
    a.contact_gap = rng.integers(0, max(d.contact_gap_weeks, d.handover_gap_weeks) + 1, slots)
    # the relationship
    for name in ("trust", "integration", "institutionalisation", "communication", "health"):
        setattr(a, name, rng.uniform(0.0, 1.0))
    for name in ("decision_efficiency", "conflict_resolution", "value_perception"):
        setattr(a, name, rng.uniform(0.0, 1.0))
    a.potential = rng.uniform(0.2, 1.5)
    a.measurement = rng.uniform(0.0, 0.8)
    a.experience = rng.uniform(0.0, 5.0)
    a.cumulative_value = rng.uniform(-5.0, 100.0)
    a.ledger = rng.uniform(0.0, 0.3, a.ledger.shape)
    if config.launch.mode is LaunchMode.PILOT and t > config.dynamics.discovery_weeks:
        a.piloting = rng.random() < 0.5
    a.renegotiation_left = rng.integers(0, d.renegotiation_weeks + 1)
    a.renegotiation_planned = rng.random() < 0.5
    a.last_renegotiation = NO_RENEGOTIATION_YET if rng.random() < 0.5 else t - rng.integers(0, 30)
    a.failing_reviews = rng.integers(0, d.termination_reviews)
    # open issues: some empty slots, ages from new to old; sometimes the tracker is full
    full = rng.random() < 0.1
    ages = rng.integers(0, 30, ISSUE_CAPACITY)
    a.issue_age = ages if full else np.where(rng.random(ISSUE_CAPACITY) < rng.random(), ages, -1)
    a.issue_small = rng.random(ISSUE_CAPACITY) < 0.5
    # what earlier phases of the same week recorded
    a.shock_size = rng.exponential(0.2) if rng.random() < 0.3 else 0.0
    a.proactive_effort = rng.uniform(0.0, 0.5)
    a.reactive_effort = rng.uniform(0.0, 0.5)
    a.friction_mix = rng.dirichlet(np.ones(a.friction_mix.shape[0]))
    a.resolved = rng.integers(0, 5)
    a.raised = rng.integers(0, 4)
    a.departures = rng.integers(0, slots + 1)
    a.realigned = rng.uniform(0.0, 0.2) if rng.random() < 0.3 else 0.0
    a.exited = rng.random(slots) < 0.2
    a.collapsed = rng.random(slots) < 0.2
    n_events = rng.integers(0, 3)  # later phases add at most one event per partner and an ending
    a.n_events = n_events
    a.event_kind[:n_events] = rng.integers(0, 7, n_events)
    a.event_first[:n_events] = rng.integers(0, slots, n_events)
    a.event_second[:n_events] = -1
    a.event_amount[:n_events] = rng.uniform(0.0, 1.0, n_events)


def random_week(config: SimulationConfig, seed: int) -> RandomWeek:
    """A cohort of ``config`` stepped a random number of weeks by the cohort engine, then
    perturbed: firms, running alliances (some alliances ended), partner values gathered,
    the week's draws (made eventful) and a context with a random calendar."""
    rng = np.random.default_rng(seed)
    run = CohortRun(config)
    t = int(rng.integers(0, config.horizon_weeks))
    for _ in range(t):
        run.step()
    alliances, firms = run.state.alliances.copy(), run.state.firms.copy()
    perturb_firms(firms, rng)
    for i in range(alliances.shape[0]):
        a = alliances[i]
        if a.alive and rng.random() < 0.1:
            a.alive = False
            a.outcome = rng.integers(0, 4)
            a.end_week = t
        elif a.alive or rng.random() < 0.5:
            a.alive = True
            a.outcome = a.end_week = a.failure_mode = a.failure_cause = -1
            perturb_alliance(a, rng, config, t)
    # what the partners bring this week; then the firms move on, so that gathering changes it
    count_alliances(alliances, firms, np.arange(alliances.shape[0]))
    for i in range(alliances.shape[0]):
        if alliances[i].alive:
            bring_partner_values(alliances[i], firms)
    perturb_firms(firms, rng)
    firms.load = rng.integers(0, 4, firms.shape[0])
    # the week's numbers, with events made frequent (shocks, departures, opportunism); half
    # the alliances draw a shock's size and direction, new issues' severity and settlements
    # when a mechanism needs them (from their stream, in plain Python or compiled)
    key = stream_key(int(rng.integers(2**63)))
    week = firm_week(key, t, run.shape.n_firms)
    draws = alliance_draws_table(run.shape.n_alliances, run.shape.n_partners)
    fill_week(draws, key, t)
    for name in ("shock_u", "contact_u", "opportunism_u"):
        draws[name] = draws[name] * rng.choice([1.0, 0.2, 0.02])
    lazy = rng.random(run.shape.n_alliances) < 0.5
    for name in ("shock_direction", "shock_size", "severity_u", "resolve_u"):
        draws[name][lazy] = np.nan
    draws.drawn[lazy] = 0
    touch = touchpoints(t, config)
    market = (
        MarketPath(config.scenario)
        .week(t)
        ._replace(outside_factor=rng.uniform(0.5, 1.5), trend_level=rng.uniform(0.5, 1.5))
    )
    c = week_context(t, config, touch, market)
    if rng.random() < 0.5:  # a random calendar
        meeting, working_group, steering, health_check = (bool(x) for x in rng.random(4) < 0.5)
        c = c._replace(
            meeting=meeting,
            working_group=working_group,
            steering=steering,
            health_check=health_check,
            any_touchpoint=meeting or working_group or steering or health_check,
            review=steering or health_check,
        )
    return RandomWeek(config, alliances, firms, draws, week, c)


def mechanism_differences(
    k: int, state: RandomWeek, python_params: Any = None
) -> tuple[list[str], list[str]]:
    """Run mechanism ``k`` compiled and in plain Python on copies of ``state``; returns the
    fields in which the two results differ, and the fields the mechanism changed."""
    config = state.config
    compiled = compiled_mechanism(state.alliances.dtype)
    runs = []
    for run, params in (
        (compiled, params_record_of(config)),
        (apply_mechanism, params_of(config) if python_params is None else python_params),
    ):
        alliances, firms, draws = state.alliances.copy(), state.firms.copy(), state.draws.copy()
        out = np.zeros(4)
        run(k, alliances, firms, draws, state.week, state.context, params, out)
        runs.append((alliances, firms, out))
    (a1, f1, o1), (a2, f2, o2) = runs
    differ = record_differences(a1, a2, "alliances") + record_differences(f1, f2, "firms")
    if not same_values(o1, o2):
        differ.append("means")
    changed = record_differences(state.alliances, a2, "alliances") + record_differences(
        state.firms, f2, "firms"
    )
    if not same_values(o2, np.zeros(4)):
        changed.append("means")
    return differ, changed


MECHANISM_IDS = [m.__name__ for m in MECHANISMS]


@pytest.mark.parametrize("k", range(len(MECHANISMS)), ids=MECHANISM_IDS)
@settings(max_examples=12, **PROPERTY_SETTINGS)
@given(config=configs(spokes=(4,)), seed=st.integers(0, 2**32 - 1))
def test_mechanism_compiled_equals_plain_python(k, config, seed):
    differ, _ = mechanism_differences(k, random_week(config, seed + k))
    assert differ == []


EVENTFUL = [
    SimulationConfig.from_dict(
        {
            "n_alliances": 20,
            "horizon_weeks": 60,
            "seed": seed,
            "alliance": {"type": kind, "spokes": 4, "capability_overlap": 0.5, "coordination_load": 0.3},
            "governance": {
                "meeting_cadence": "biweekly",
                "steering_committee": True,
                "escalation_path": True,
                "escalation_age_weeks": 2,
                "decision_rights": True,
                "cultural_bridging": True,
                "explicit_expectations": True,
                "strategic_alignment": True,
                "handover_protocol": seed % 2 == 0,
                "health_check_weeks": 4,
                "sunset_week": 40,
            },
            "triggers": {"enabled": True},
            "scenario": {"shock_rate": 0.2, "shock_scale": 0.3},
            "launch": {"mode": launch},
        }
    )
    for seed, (kind, launch) in enumerate(
        [("complementary", "full"), ("ecosystem", "pilot"), ("coopetition", "pilot"), ("ecosystem", "full")]
    )
]


@pytest.mark.parametrize("k", range(len(MECHANISMS)), ids=MECHANISM_IDS)
def test_random_states_exercise_every_mechanism(k):
    """On eventful random states each mechanism changes the state (so the comparison above
    compares something), and compiled and plain Python still agree."""
    changed = set()
    for n, config in enumerate(EVENTFUL):
        for seed in range(3):
            differ, fields = mechanism_differences(k, random_week(config, 100 * n + seed))
            assert differ == [], (config.alliance.type, seed)
            changed.update(fields)
    assert changed, f"{MECHANISMS[k].__name__} changed nothing in any random state"


def test_mechanism_comparison_detects_a_perturbed_coefficient():
    """The per-mechanism comparison is not vacuous: a coefficient changed on one side only
    (plain Python) shows up in the fields the mechanism writes."""
    config = EVENTFUL[0]
    plain = params_of(config)
    perturbed = plain._replace(
        dynamics=plain.dynamics._replace(trust_per_issue=plain.dynamics.trust_per_issue * 1.001)
    )
    k = ALLIANCE_PHASES.index(update_trust)
    differ, _ = mechanism_differences(k, random_week(config, 7), python_params=perturbed)
    assert "alliances.trust" in differ
    differ, _ = mechanism_differences(k, random_week(config, 7))
    assert differ == []


# ---------------------------------------------------------------------------------------------
# 3. The phase order is declared once
# ---------------------------------------------------------------------------------------------


def test_alliance_week_calls_the_declared_phases_in_order():
    """The compiled week (``alliance_week``) is exactly ``ALLIANCE_PHASES``, in order."""
    tree = ast.parse(Path(sim.engines.cohort.__file__).read_text())
    (week,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "alliance_week"]
    parameters = [arg.arg for arg in week.args.args]
    body = week.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    called = []
    for statement in body:
        assert isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call), ast.unparse(
            statement
        )
        call = statement.value
        assert isinstance(call.func, ast.Name), ast.unparse(call)
        assert [ast.unparse(arg) for arg in call.args] == parameters, ast.unparse(call)
        assert not call.keywords, ast.unparse(call)
        called.append(call.func.id)
    assert called == [phase.__name__ for phase in ALLIANCE_PHASES]
    # the names are the very functions the phases declare
    assert [getattr(sim.engines.cohort, name) for name in called] == list(ALLIANCE_PHASES)


def test_mesa_step_iterates_the_declared_phases():
    """``AllianceModel.step`` runs ``ALLIANCE_PHASES`` in a loop and names no phase itself."""
    assert sim.engines.mesa_model.ALLIANCE_PHASES is ALLIANCE_PHASES
    tree = ast.parse(textwrap.dedent(inspect.getsource(AllianceModel.step)))
    loops = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Name) and node.iter.id == "ALLIANCE_PHASES"
    ]
    assert len(loops) == 1
    (loop,) = loops
    assert isinstance(loop.target, ast.Name)
    acts = [
        node
        for node in ast.walk(loop)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "act"
    ]
    assert [ast.unparse(node.args[0]) for node in acts] == [loop.target.id]
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert not names & {phase.__name__ for phase in ALLIANCE_PHASES}


# ---------------------------------------------------------------------------------------------
# 4. The comparisons can fail
# ---------------------------------------------------------------------------------------------

PERTURBED_CONFIG = SimulationConfig.from_dict(
    {"n_alliances": 30, "horizon_weeks": 80, "seed": 7, "governance": {"meeting_cadence": "monthly"}}
)


def with_trust_per_gap(config: SimulationConfig, factor: float) -> SimulationConfig:
    return config.replace(dynamics={"trust_per_gap": config.dynamics.trust_per_gap * factor})


def test_a_coefficient_perturbed_in_both_engines_moves_them_together():
    ref, vec = run_both(PERTURBED_CONFIG)
    ref_moved, vec_moved = run_both(with_trust_per_gap(PERTURBED_CONFIG, 1.001))
    assert "alliances.final_trust" in differences(ref, ref_moved)
    assert "alliances.final_trust" in differences(vec, vec_moved)
    assert differences(ref, vec) == []
    assert differences(ref_moved, vec_moved) == []


def test_a_coefficient_perturbed_in_the_cohort_engine_only_is_detected(monkeypatch):
    ref = run_reference(PERTURBED_CONFIG)
    params_record = sim.engines.cohort.params_record_of
    monkeypatch.setattr(
        sim.engines.cohort, "params_record_of", lambda c: params_record(with_trust_per_gap(c, 1.001))
    )
    vec = run_vectorized(PERTURBED_CONFIG)
    found = differences(ref, vec)
    assert "alliances.final_trust" in found
    assert "timeseries" in found


def test_a_coefficient_perturbed_in_the_mesa_engine_only_is_detected(monkeypatch):
    vec = run_vectorized(PERTURBED_CONFIG)
    params = sim.engines.mesa_model.params_of
    monkeypatch.setattr(sim.engines.mesa_model, "params_of", lambda c: params(with_trust_per_gap(c, 1.001)))
    ref = run_reference(PERTURBED_CONFIG)
    found = differences(ref, vec)
    assert "alliances.final_trust" in found
    assert "alliance_records.ledger" in found


# ---------------------------------------------------------------------------------------------
# 5. Code compiled for one record layout never runs on another's records
# ---------------------------------------------------------------------------------------------

RUN_SCRIPT = """
import json, pickle, sys
from sim.params import SimulationConfig
from sim.runner import run_cohort

out = []
for data in json.loads(sys.argv[2]):
    config = SimulationConfig.from_dict(data)
    for engine in ("mesa", "cohort"):
        r = run_cohort(config.replace(engine=engine))
        out.append((config.alliance.type.value, engine, r.alliances, r.events, r.timeseries))
with open(sys.argv[1], "wb") as f:
    pickle.dump(out, f)
"""


def run_in_fresh_process(configs: list[SimulationConfig], cache: Path, out: Path) -> list[tuple]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "ALLIANCE_SIM_THREADS": "1"}
    payload = json.dumps([c.to_dict() for c in configs])
    done = subprocess.run(
        [sys.executable, "-c", RUN_SCRIPT, str(out), payload],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    kinds = [c.alliance.type.value for c in configs]
    assert done.returncode == 0, (
        f"{kinds} with the cache {cache.name}: exit {done.returncode}\n{done.stderr[-3000:]}"
    )
    with out.open("rb") as f:
        return pickle.load(f)


def as_result(row: tuple) -> CohortResult:
    _, _, alliances, events, timeseries = row
    return CohortResult(config=SimulationConfig(), alliances=alliances, timeseries=timeseries, events=events)


def ecosystem_and_dyad_results(rows: list[tuple]) -> dict[tuple[str, str], CohortResult]:
    return {(row[0], row[1]): as_result(row) for row in rows}


@pytest.mark.slow
def test_each_record_layout_runs_its_own_compiled_code(tmp_path):
    """Code compiled for a dyad's records never runs on an ecosystem's, nor the reverse.

    The truth is the Mesa engine's tables: it runs the mechanisms uncompiled, so no cache can
    touch it. Into one fresh cache, a first process compiles the ecosystem's code alone; a
    second loads that code, runs the ecosystem and then compiles the dyad's (code loaded
    and code compiled in one process, the two layouts' code written by separate processes
    into one cache); two more processes load both layouts' code from it, in either order.
    Every process gives each cohort, with the cohort engine, the Mesa engine's tables, and
    the Mesa engine the same tables in every process. Each layout is compiled once.
    """
    base = {"n_alliances": 20, "horizon_weeks": 60, "seed": 4, "scenario": {"shock_rate": 0.1}}
    dyad = SimulationConfig.from_dict({**base, "alliance": {"type": "complementary"}})
    ecosystem = SimulationConfig.from_dict({**base, "alliance": {"type": "ecosystem", "spokes": 5}})
    cache = tmp_path / "cache"
    orders = {
        "ecosystem compiled alone": [ecosystem],
        "ecosystem loaded, then the dyad compiled": [ecosystem, dyad],
        "both loaded, dyad first": [dyad, ecosystem],
        "both loaded, ecosystem first": [ecosystem, dyad],
    }
    runs = {
        name: ecosystem_and_dyad_results(run_in_fresh_process(order, cache, tmp_path / f"run{n}.pkl"))
        for n, (name, order) in enumerate(orders.items())
    }
    truth = runs["both loaded, dyad first"]
    assert len(truth) == 4
    assert truth["ecosystem", "mesa"].alliances["n_partners"].eq(6).all()
    assert truth["complementary", "mesa"].alliances["n_partners"].eq(2).all()
    for name, results in runs.items():
        for kind in {kind for kind, _ in results}:
            assert table_differences(truth[kind, "mesa"], results[kind, "mesa"]) == [], (name, kind)
            assert table_differences(results[kind, "mesa"], results[kind, "cohort"]) == [], (name, kind)
