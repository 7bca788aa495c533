"""The alliance model on Mesa: the reference engine.

:class:`AllianceModel` simulates a cohort of alliances, all under one design,
in a market of :class:`~sim.agents.Firm` agents. ``step`` is one week; it only
orchestrates the phases (each a method of the agents) and collects data.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.agents import Alliance, Firm
from sim.draws import WeekDraws, cohort_stream, draw_week
from sim.events import EventLog
from sim.market import build_cohort
from sim.mechanics import (
    FailureMode,
    charter_week,
    governance_intensity,
    launch_week,
    standing_levers,
    structure_levers,
    touchpoints,
)
from sim.params import Engine, SimulationConfig

if TYPE_CHECKING:
    from sim.results import CohortResult


@dataclass(frozen=True)
class WeekLists:
    """A week's draws as nested Python lists indexed firm- or alliance-first
    (``incentive_noise[n][slot][k]``), which agents index cheaply and exactly."""

    strategy_noise: list
    culture_noise: list
    incentive_noise: list
    expectation_noise: list
    shock_u: list
    shock_size: list
    shock_kind_u: list
    shock_direction: list
    issue_u: list
    severity_u: list
    resolve_u: list
    contact_u: list
    opportunism_u: list
    value_noise: list

    @classmethod
    def from_draws(cls, draws: WeekDraws) -> WeekLists:
        # WeekDraws put the firm or alliance axis last; reverse the axes for per-agent reading.
        return cls(**{name: getattr(draws, name).T.tolist() for name in cls.__dataclass_fields__})


def _mean_over_active(model: AllianceModel, attribute: str) -> float:
    alive = [a for a in model.alliances if a.alive]
    if not alive:
        return float("nan")
    total = 0.0
    for a in alive:
        total = total + getattr(a, attribute)
    return total / len(alive)


class AllianceModel(mesa.Model):
    """A cohort of strategic alliances living in a market of partner firms.

    Parameters
    ----------
    config:
        The full, validated parameter set (:class:`sim.params.SimulationConfig`).
        Keyword overrides given as ``section={...}`` or ``n_alliances=...`` are
        merged into it, which is how ``mesa.batch_run`` varies parameters.
    rng:
        Seed or generator of the replication's random stream. If omitted, the
        config's ``seed`` is used, so a config alone reproduces a run.
    """

    def __init__(
        self,
        config: SimulationConfig | None = None,
        *,
        rng: Any = None,
        **overrides: Any,
    ) -> None:
        config = config or SimulationConfig()
        if overrides:
            config = config.replace(**overrides)
        if rng is None:
            rng = config.seed
        super().__init__(rng=rng)
        if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
            seed = int(rng)
        else:  # a generator or other seed material: derive a replication seed from Mesa's stream
            seed = int(self.rng.integers(2**63 - 1))
        # The cohort's own stream (market, firms, weekly draws) comes from the recorded seed,
        # so a run is reproduced from its config alone, by either engine.
        self.config = config.replace(seed=seed, engine=Engine.REFERENCE.value)
        self.stream = cohort_stream(seed)
        self.start = build_cohort(self.config, self.stream)
        self.shape = self.start.shape
        self.market = self.start.market
        self.charter_week = charter_week(self.config)
        self.launch_week = launch_week(self.config)
        self.standing_levers = standing_levers(self.config.governance, self.config.alliance.n_partners)
        self.structure_levers = structure_levers(self.config.governance, self.config.alliance.n_partners)
        self.structure_slowdown = (
            1.0 - self.config.dynamics.structure_drag * governance_intensity(self.config.governance) ** 2
        )
        self.triggers_on = self.config.triggers.active(self.config.governance)
        self.outside_factor = 1.0
        self.trend_level = 1.0  # value potential the market trend alone would leave
        self.week_index = 0
        self.touch = touchpoints(0, self.config)
        self.events = EventLog()

        s = self.start
        self.firms = [
            Firm(
                self,
                index=f,
                strategy=s.strategy[f].tolist(),
                culture=s.culture[f].tolist(),
                reputation=float(s.reputation[f]),
                capacity=float(s.capacity[f]),
                outside_option=float(s.outside_option[f]),
            )
            for f in range(self.shape.n_firms)
        ]
        self.alliances = [
            Alliance(self, n, [self.firms[f] for f in s.firm_of[n].tolist()])
            for n in range(self.shape.n_alliances)
        ]
        self.firm_set = self.agents_by_type[Firm]
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "share_active": lambda m: sum(a.alive for a in m.alliances) / len(m.alliances),
                "mean_trust": lambda m: _mean_over_active(m, "trust"),
                "mean_health": lambda m: _mean_over_active(m, "health"),
                "open_issues": lambda m: _mean_over_active_issues(m),
            }
        )

    @property
    def running_alliances(self) -> list[Alliance]:
        return [a for a in self.alliances if a.alive]

    def step(self) -> None:
        """One week: draw the week's numbers, then run each phase for every alliance in turn."""
        t = self.week_index
        week = WeekLists.from_draws(draw_week(self.stream, self.shape))
        self.touch = touchpoints(t, self.config)
        self.firm_set.do("drift", week)
        phases: list[tuple[str, tuple[Any, ...]]] = [
            ("advance_lifecycle", (t,)),
            ("drift_incentives_and_expectations", (t, week)),
            ("receive_shock", (t, week)),
            ("apply_triggers", (t,)),
            ("hold_touchpoints", (t,)),
            ("raise_issues", (t, week)),
            ("resolve_issues", (t, week)),
            ("create_value", (t, week)),
            ("lose_key_contacts", (t, week)),
            ("update_trust", (t, week)),
            ("update_health", (t,)),
            ("check_endings", (t,)),
        ]
        running = self.running_alliances
        for phase, args in phases:
            for alliance in running:
                getattr(alliance, phase)(*args)
        self.firm_set.do("settle_reputation")
        self.outside_factor = self.outside_factor * (1.0 + self.config.scenario.outside_option_trend)
        self.trend_level = self.trend_level * (1.0 + self.config.scenario.value_trend)
        self.week_index += 1
        self.datacollector.collect(self)
        if self.week_index >= self.config.horizon_weeks:
            for alliance in self.running_alliances:
                alliance.close_at_horizon()
            self.running = False

    def run(self) -> AllianceModel:
        """Simulate to the horizon."""
        while self.running:
            self.step()
        return self


def _mean_over_active_issues(model: AllianceModel) -> float:
    alive = [a for a in model.alliances if a.alive]
    if not alive:
        return float("nan")
    return sum(a.open_issues() for a in alive) / len(alive)


def model_array(model: AllianceModel, attribute: str) -> np.ndarray:
    """One attribute of every alliance, as an array in alliance order."""
    return np.array([getattr(a, attribute) for a in model.alliances])


def reference_result(model: AllianceModel) -> CohortResult:
    """Tables of a finished reference run."""
    from sim.mechanics import OUTCOMES
    from sim.results import AllianceColumns, CohortResult, alliance_table, timeseries_table

    outcome_index = {o: i for i, o in enumerate(OUTCOMES)}
    mode_index = {m: i for i, m in enumerate(FailureMode)}
    alliances = model.alliances
    cols = AllianceColumns(
        outcome=np.array([outcome_index[a.outcome] for a in alliances], dtype=np.int64),
        end_week=np.array([-1 if a.end_week is None else a.end_week for a in alliances], dtype=np.int64),
        failure_mode=np.array(
            [-1 if a.failure_mode is None else mode_index[a.failure_mode] for a in alliances]
        ),
        failure_cause=np.array([-1 if a.failure_cause is None else int(a.failure_cause) for a in alliances]),
        final_trust=model_array(model, "trust"),
        final_health=model_array(model, "health"),
        issues_raised=model_array(model, "issues_raised"),
        issues_resolved=model_array(model, "resolved_count"),
        resolution_weeks_total=model_array(model, "resolution_weeks_total").astype(float),
        escalations=model_array(model, "escalations"),
        effort_proactive=model_array(model, "effort_proactive"),
        effort_reactive=model_array(model, "effort_reactive"),
        renegotiations=model_array(model, "renegotiations"),
        cumulative_value=model_array(model, "cumulative_value"),
        value_received=np.array([[m.value_received for m in a.members] for a in alliances]),
        firm_of=model.start.firm_of,
    )
    series = model.datacollector.get_model_vars_dataframe()
    return CohortResult(
        config=model.config,
        alliances=alliance_table(cols, model.config),
        timeseries=timeseries_table(
            series["share_active"].to_numpy(float),
            series["mean_trust"].to_numpy(float),
            series["mean_health"].to_numpy(float),
            series["open_issues"].to_numpy(float),
        ),
        events=model.events.to_frame(),
    )
