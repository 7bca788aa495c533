"""Property-based invariants of the Mesa engine over random small configurations.

Hypothesis draws a seed, a governance design, an alliance type, an environment,
a launch mode, an optional sunset and the partners' participation costs; the model is stepped week by week and
checked after every week:

* trust and every health component stay in [0, 1];
* efforts are never negative (cumulative effort never decreases);
* an alliance ends at most once, and an ended alliance never changes again;
* outcomes partition the cohort; ``end_week`` is null exactly for alliances
  alive at the horizon; ``failure_cause`` is set exactly for failed ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from conftest import CONFIG_DIR, episodes
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from sim.analysis.summaries import summarize
from sim.engines.mesa_agents import Alliance
from sim.engines.mesa_model import AllianceModel, reference_result
from sim.levers import switches
from sim.params import AllianceType, Engine, LaunchMode, MeetingCadence, SimulationConfig
from sim.results import CohortResult
from sim.vocabulary import OUTCOMES, Outcome

PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    # no shrinking: a failure reports the first failing config at once instead of
    # spending tens of seconds re-running cohorts to minimise it
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow],
)
HEALTH_PARTS = ("communication", "decision_efficiency", "conflict_resolution", "value_perception", "health")
LEVERS = tuple(lever.name for lever in switches())
"""The on-off levers of the registry (sim.levers), each switched at random."""


@st.composite
def configs(draw) -> SimulationConfig:
    """A small cohort under a random design, type, environment and launch."""
    horizon = draw(st.integers(10, 100))
    governance = {lever: draw(st.booleans()) for lever in LEVERS}
    governance["meeting_cadence"] = draw(st.sampled_from([c.value for c in MeetingCadence]))
    governance["health_check_weeks"] = draw(st.sampled_from([0, 4, 13]))
    governance["escalation_age_weeks"] = draw(st.integers(1, 8))
    time_boxed = draw(st.sampled_from([False, False, False, True]))
    governance["sunset_week"] = draw(st.integers(1, horizon)) if time_boxed else 0
    regulatory = draw(st.floats(0.0, 1.0))
    scenario = {
        "shock_rate": draw(st.floats(0.0, 0.3)),
        "shock_scale": draw(st.floats(0.0, 1.0)),
        "regulatory_share": regulatory,
        "market_share_share": draw(st.floats(0.0, 1.0 - regulatory)),
        "volatility": draw(st.floats(0.0, 3.0)),
        **draw(episodes(horizon)),
    }
    alliance_type = draw(st.sampled_from([t.value for t in AllianceType]))
    alliance = {
        "type": alliance_type,
        "spokes": draw(st.integers(2, 5)),
        "objective_value": draw(st.floats(1.0, 60.0)),
    }
    launch = {
        "mode": draw(st.sampled_from([m.value for m in LaunchMode])),
        "pilot_weeks": draw(st.integers(1, 20)),
    }
    # what partners pay to take part: high costs drive perceived value below zero
    dynamics = {"contribution_cost": draw(st.floats(0.0, 1.0)), "effort_cost": draw(st.floats(0.0, 3.0))}
    return SimulationConfig(
        n_alliances=draw(st.integers(5, 20)),
        horizon_weeks=horizon,
        seed=draw(st.integers(0, 2**32 - 1)),
        engine=Engine.MESA,
    ).replace(governance=governance, scenario=scenario, alliance=alliance, launch=launch, dynamics=dynamics)


def snapshot(a: Alliance) -> tuple:
    """Everything an ended alliance must keep unchanged."""
    partners = tuple(
        (
            bool(a.active[slot]),
            a.share[slot],
            a.perceived_value[slot],
            a.value_received[slot],
            a.expectation[slot],
            tuple(a.incentives[slot].tolist()),
        )
        for slot in range(a.firm.shape[0])
    )
    return (
        a.alive,
        a.outcome,
        a.end_week,
        a.failure_cause,
        a.failure_mode,
        a.trust,
        a.health,
        a.communication,
        a.decision_efficiency,
        a.conflict_resolution,
        a.value_perception,
        a.cumulative_value,
        a.effort_proactive,
        a.effort_reactive,
        a.renegotiations,
        a.issues_raised,
        a.resolved_count,
        a.integration,
        a.potential,
        tuple(a.issue_age.tolist()),
        tuple(a.ledger.tolist()),
        partners,
    )


@dataclass
class Trace:
    """What a checked run saw, week by week."""

    model: AllianceModel
    result: CohortResult
    out_of_range: list[str] = field(default_factory=list)
    health_out_of_range: list[str] = field(default_factory=list)
    negative_effort: list[str] = field(default_factory=list)
    changed_after_end: list[str] = field(default_factory=list)


def run_checked(config: SimulationConfig) -> Trace:
    model = AllianceModel(config)
    trace_lists: dict[str, list[str]] = {
        "out_of_range": [],
        "health_out_of_range": [],
        "negative_effort": [],
        "changed_after_end": [],
    }
    frozen: dict[int, tuple] = {}
    efforts = {a.index: (0.0, 0.0) for a in model.alliances}
    while model.running:
        model.step()
        week = model.week_index
        for a in model.alliances:
            n = a.index
            if n in frozen:
                if snapshot(a) != frozen[n]:
                    trace_lists["changed_after_end"].append(f"alliance {n} week {week}")
                continue
            if not 0.0 <= a.trust <= 1.0:
                trace_lists["out_of_range"].append(f"alliance {n} week {week}: trust={a.trust}")
            for part in HEALTH_PARTS:
                value = getattr(a, part)
                if not 0.0 <= value <= 1.0:
                    trace_lists["health_out_of_range"].append(f"alliance {n} week {week}: {part}={value}")
            before = efforts[n]
            now = (a.effort_proactive, a.effort_reactive)
            if now[0] < before[0] or now[1] < before[1]:
                trace_lists["negative_effort"].append(f"alliance {n} week {week}: {before} -> {now}")
            efforts[n] = now
            if not a.alive:
                frozen[n] = snapshot(a)
    return Trace(model=model, result=reference_result(model), **trace_lists)


@given(configs())
@PROPERTY_SETTINGS
def test_trust_stays_in_unit_interval_and_effort_is_never_negative(config):
    """Trust is a probability-like state in [0, 1]; effort spent in a week is never negative."""
    trace = run_checked(config)
    assert trace.out_of_range == []
    assert trace.negative_effort == []
    table = trace.result.alliances
    assert (table["effort_proactive"] >= 0).all()
    assert (table["effort_reactive"] >= 0).all()
    assert table["final_trust"].between(0.0, 1.0).all()


@given(configs())
@PROPERTY_SETTINGS
def test_health_components_stay_in_unit_interval(config):
    """Communication, decision efficiency, conflict resolution, value perception and the
    health index (their mean with trust) are each in [0, 1] in every week."""
    trace = run_checked(config)
    assert trace.health_out_of_range[:5] == []


@given(configs())
@PROPERTY_SETTINGS
def test_endings_and_outcomes_are_consistent(config):
    """An alliance ends at most once and is frozen afterwards; outcomes partition the cohort;
    end_week is null exactly for alliances alive at the horizon; failure cause and mode are
    set exactly for failed alliances."""
    trace = run_checked(config)
    assert trace.changed_after_end == []
    table = trace.result.alliances
    events = trace.result.events
    n = config.n_alliances
    alive = pd.Series([a.alive for a in trace.model.alliances])

    assert len(table) == n
    assert table["outcome"].notna().all()
    assert set(table["outcome"].astype(str)) <= {o.value for o in OUTCOMES}
    counts = table["outcome"].value_counts()
    assert int(counts.sum()) == n
    summary = summarize(trace.result.alliances)
    assert sum(s["count"] for s in summary["outcomes"].values()) == n

    endings = events[events["kind"] == "ending"]
    assert not endings["alliance_id"].duplicated().any()
    ended = table[table["end_week"].notna()]
    assert sorted(endings["alliance_id"]) == sorted(ended["alliance_id"])
    by_id = endings.set_index("alliance_id")["week"]
    for row in ended.itertuples():
        assert by_id[row.alliance_id] == row.end_week
        assert 1 <= row.end_week <= config.horizon_weeks

    assert (table["end_week"].isna() == alive).all()
    still_running = table.loc[alive.to_numpy(), "outcome"].astype(str)
    assert set(still_running) <= {Outcome.SUCCESS.value, Outcome.UNDERPERFORMING.value}
    if config.governance.sunset_week > 0:
        assert not alive.any(), "a time-boxed alliance must be over by its sunset week"

    failed = (table["outcome"] == Outcome.FAILED.value).to_numpy()
    assert (table["failure_cause"].notna().to_numpy() == failed).all()
    assert (table["failure_mode"].notna().to_numpy() == failed).all()

    # no events at all for an alliance after its ending week
    last = table.set_index("alliance_id")["end_week"]
    for row in events.itertuples():
        end = last[row.alliance_id]
        if not pd.isna(end):
            assert row.week <= end


def test_shipped_regulatory_shock_scenario_keeps_health_in_unit_interval():
    """Regression on the shipped configs: co-opetition alliances under the full framework in
    the regulatory-shock scenario (explicit expectations pull expectations down to what is
    realistic, then shocks and costs push perceived value below zero) must keep every health
    component in [0, 1]."""
    from sim.config import load_config

    overrides = ["scenario=regulatory_shock", "governance=full", "alliance=coopetition"]
    for override in overrides:
        group, option = override.split("=")
        assert (CONFIG_DIR / group / f"{option}.yaml").exists()
    config = load_config([*overrides, "n_alliances=200", "seed=1", "engine=mesa"])
    trace = run_checked(config)
    assert trace.health_out_of_range[:5] == []
