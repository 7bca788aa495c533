"""The alliance model on Mesa: the Mesa engine (``engine=mesa``).

:class:`AllianceModel` simulates a cohort of alliances, all under one design,
in a market of :class:`~sim.engines.mesa_agents.Firm` agents. ``step`` is one week: it
orchestrates the phases of :mod:`sim.engines.phases` (each a mechanism the
agents run on themselves, uncompiled) and collects data.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from sim.draws import FirmDraws, alliance_draws_table, cohort_stream, fill_week, firm_week, stream_key
from sim.engines.mesa_agents import Alliance, Firm, fields_table
from sim.engines.phases import ALLIANCE_PHASES
from sim.environment import MarketPath
from sim.events import KINDS, EventLog
from sim.market import build_cohort
from sim.mechanisms.firms import count_alliances
from sim.mechanisms.observe import cohort_means
from sim.params import Engine, SimulationConfig
from sim.state import AllianceState, FirmState, new_state, params_of, record_dtype, week_context
from sim.vocabulary import OUTCOMES, Outcome, touchpoints

if TYPE_CHECKING:
    from sim.results import CohortResult


class AllianceModel(mesa.Model):
    """A cohort of strategic alliances living in a market of partner firms.

    Parameters
    ----------
    config:
        The full, validated parameter set (:class:`sim.params.SimulationConfig`).
        Without it, the calibrated default run of ``configs/`` (the one
        ``alliance-sim`` runs bare, see :mod:`sim.defaults`). Keyword overrides
        are how ``mesa.batch_run`` varies parameters: a named option of a
        config group (``governance="full"``, ``alliance="ecosystem"``), one
        setting by its dotted key (``**{"governance.shared_kpis": True}``), a
        mapping of a group's settings (``governance={"decision_rights": True}``)
        or a top-level setting (``n_alliances=300``, ``seed=4``).
    rng:
        Seed or generator of the replication's random stream. If omitted, the
        ``seed`` given (as a keyword or in ``config``) is used, so a config
        alone reproduces a run; with neither, Mesa draws a fresh seed, which
        is recorded in ``self.config.seed``.
    """

    def __init__(
        self,
        config: SimulationConfig | None = None,
        *,
        rng: Any = None,
        **overrides: Any,
    ) -> None:
        from sim.defaults import compose
        from sim.params import ConfigError, require_config

        if config is not None:
            require_config(config, "AllianceModel")
        seed_given = config is not None or "seed" in overrides
        if "seed" in overrides and rng is not None:
            same = (
                isinstance(rng, numbers.Integral)
                and not isinstance(rng, bool)
                and int(rng) == overrides["seed"]
            )
            if not same:
                raise ConfigError(
                    f"seed = {overrides['seed']!r} and rng = {str(rng)[:40]}: two seeds for one run; give one "
                    "(mesa.batch_run passes rng=: list the seeds there, batch_run(..., rng=[5, 6]))"
                )
        config = compose(overrides, base=config) if overrides or config is None else config
        if rng is None and seed_given:
            rng = config.seed
        # Without a config, a seed or an rng (as in each of batch_run's iterations), the replication
        # gets a fresh stream from Mesa, as Mesa documents; its seed is recorded in self.config.
        super().__init__(rng=rng)
        if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
            seed = int(rng)
        else:  # a generator or other seed material: derive a replication seed from Mesa's stream
            seed = int(self.rng.integers(2**63 - 1))
        # The cohort's market and its weekly numbers (sim.draws) come from the recorded seed,
        # so a run is reproduced from its config alone, by either engine.
        self.config = config.replace(seed=seed, engine=Engine.MESA.value)
        self.stream = cohort_stream(seed)
        self.start = build_cohort(self.config, self.stream)
        self.key = stream_key(seed)  # of the weekly streams of every alliance and firm (sim.draws)
        self.shape = self.start.shape
        self.market = self.start.market
        self.params = params_of(self.config)
        self.week_index = 0
        self.environment = MarketPath(self.config.scenario)
        self.context = week_context(
            0, self.config, touchpoints(0, self.config), MarketPath(self.config.scenario).week(0)
        )
        self.events = EventLog()
        self.draws: FirmDraws | None = None  # the firms' noise of the week
        self.alliance_draws = alliance_draws_table(self.shape.n_alliances, self.shape.n_partners)
        self.every_alliance = np.arange(self.shape.n_alliances)

        initial = new_state(self.start, self.config)
        self.firms = [Firm(self, f, initial.firms[f]) for f in range(self.shape.n_firms)]
        self.alliances = [Alliance(self, n, initial.alliances[n]) for n in range(self.shape.n_alliances)]
        self.firm_set = self.agents_by_type[Firm]
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "share_active": lambda m: m.means[0],
                "mean_trust": lambda m: m.means[1],
                "mean_health": lambda m: m.means[2],
                "open_issues": lambda m: m.means[3],
                **{f"share_{outcome.value}": _share_of(outcome) for outcome in Outcome},
                "effort_proactive": lambda m: sum(a.effort_proactive for a in m.alliances),
                "effort_reactive": lambda m: sum(a.effort_reactive for a in m.alliances),
            },
            agenttype_reporters={
                Alliance: {
                    "trust": "trust",
                    "health": "health",
                    "outcome": lambda a: None if a.ending() is None else a.ending().value,
                }
            },
        )
        self.means = (1.0, float("nan"), float("nan"), float("nan"))

    @property
    def running_alliances(self) -> list[Alliance]:
        return [a for a in self.alliances if a.alive]

    def step(self) -> None:
        """One week: draw the week's numbers, then run each phase for every running alliance."""
        t = self.week_index
        self.draws = firm_week(self.key, t, self.shape.n_firms)
        fill_week(self.alliance_draws, self.key, t)
        self.before_phases(t)
        touch = touchpoints(t, self.config)
        self.context = self.context.for_week(t, touch, self.environment.week(t))
        self.firm_set.do(Firm.drift)
        count_alliances(self.alliances, self.firms, self.every_alliance)
        running = self.running_alliances
        for alliance in running:
            alliance.gather_partner_values()
        for phase in ALLIANCE_PHASES:
            for alliance in running:
                alliance.act(phase)
        for alliance in running:
            alliance.report_to_firms()
            self._log_events(alliance)
        self.firm_set.do(Firm.settle_reputation)
        self.week_index += 1
        self.means = cohort_means(self.alliances, self.every_alliance)
        if self.week_index >= self.config.horizon_weeks:
            for alliance in self.running_alliances:
                alliance.close_at_horizon()
            self.running = False
        self.datacollector.collect(self)  # after the horizon's closings: the last row has every outcome

    def before_phases(self, week: int) -> None:
        """Called every week once its draws are known, before any phase runs.

        Nothing happens here in a plain run. A subclass may script events of the week by
        editing the week's draws (the classroom's injected shocks and departures), so that
        the mechanisms themselves carry them out.
        """

    def _log_events(self, alliance: Alliance) -> None:
        a = alliance.state
        for e in range(a.n_events):
            self.events.add_one(
                self.week_index + 1,
                alliance.index,
                KINDS[int(a.event_kind[e])],
                int(a.event_first[e]),
                int(a.event_second[e]),
                float(a.event_amount[e]),
            )

    def run(self) -> AllianceModel:
        """Simulate to the horizon."""
        while self.running:
            self.step()
        return self

    def alliance_table(self) -> np.ndarray:
        """Every alliance's state as one record table (as the cohort engine holds it)."""
        return fields_table(self.alliances, record_dtype(AllianceState, self.shape.n_partners))

    def firm_table(self) -> np.ndarray:
        return fields_table(self.firms, record_dtype(FirmState, self.shape.n_partners))


def _share_of(outcome: Outcome) -> Any:
    """Model reporter: the share of the cohort that has ended (so far) with ``outcome``."""

    def share(model: AllianceModel) -> float:
        code = OUTCOMES.index(outcome)
        return sum(a.outcome == code for a in model.alliances) / len(model.alliances)

    return share


def model_array(model: AllianceModel, attribute: str) -> np.ndarray:
    """One attribute of every alliance, as an array in alliance order."""
    return np.array([getattr(a, attribute) for a in model.alliances])


def reference_result(model: AllianceModel) -> CohortResult:
    """Tables of a finished Mesa run (the same tables the cohort engine makes)."""
    from sim.engines.tables import cohort_result

    series = model.datacollector.get_model_vars_dataframe()
    columns = ["share_active", "mean_trust", "mean_health", "open_issues"]
    return cohort_result(
        model.config, model.alliance_table(), series[columns].to_numpy(float), events=model.events.to_frame()
    )
