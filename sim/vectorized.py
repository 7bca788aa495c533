"""The vectorized engine: every alliance of a cohort stepped at once with numpy arrays.

The longest chains of per-alliance arithmetic run as compiled loops over those
arrays (:mod:`sim.kernels`); the rest is numpy.

Same model as the reference engine (:mod:`sim.agents`), same phases in the same
order, same draws, same formulas written in the same arithmetic order, so the
per-alliance trajectories agree to the last bit; only the cohort-wide means of
the time series are summed in a different order (see ``tests/test_equivalence.py``).
Each method below names the reference method it mirrors.

Why no Mesa agents here: building a ``mesa.Agent`` per firm and per alliance
costs more than stepping a whole cohort for a week at large sizes, and nobody
looks at individual agents in a sweep. Firms stay Mesa agents where they are
looked at (the reference engine, the classroom app, small cohorts);
sweeps get arrays. Both engines start from the same
:class:`~sim.market.CohortStart` and write the same tables.

Shapes: ``F`` firms, ``N`` alliances, ``P`` partner slots (slot 0 is the hub),
``K`` objectives, ``Q`` issue slots. The alliance (or firm) axis is always the
last one, so that every operation runs over contiguous rows: slot state is
``(P, N)``, incentives ``(K, P, N)``, open issues ``(Q, N)``. A slot is *on*
while its partner is still in the alliance; an alliance is *running* while it
has not ended.

Speed: the rows of ended alliances are left to evolve with the rest rather than
masked out of every update (the masks cost more than the arithmetic). Nothing
read from an ended row reaches a running one: firm loads, exits, collapses,
events and endings are restricted to running alliances, and every output of an
alliance is copied aside in the week it ends (``_snapshot``).
"""

from __future__ import annotations

import numpy as np

from sim import kernels
from sim.draws import WeekDraws, cohort_stream, draw_week
from sim.events import ENDING_CODE_BASE, EventLog
from sim.market import CohortStart, build_cohort
from sim.mechanics import (
    EXPECTATION_FLOOR,
    INITIAL_COMMUNICATION,
    INITIAL_CONFLICT_RESOLUTION,
    INITIAL_DECISION_EFFICIENCY,
    INITIAL_VALUE_PERCEPTION,
    ISSUE_CAPACITY,
    MAX_NEW_ISSUES,
    N_CAUSES,
    N_FRICTION_DRIVERS,
    NO_RENEGOTIATION_YET,
    OUTCOMES,
    POTENTIAL_FLOOR,
    SHARE_BOUNDS,
    Cause,
    EventKind,
    FailureMode,
    Outcome,
    Touchpoints,
    charter_week,
    commitment,
    governance_intensity,
    launch_week,
    standing_levers,
    structure_levers,
    too_few_spokes,
    touchpoints,
)
from sim.params import LaunchMode, SimulationConfig
from sim.results import AllianceColumns, CohortResult, alliance_table, timeseries_table

SUCCESS = OUTCOMES.index(Outcome.SUCCESS)
UNDERPERFORMING = OUTCOMES.index(Outcome.UNDERPERFORMING)
FAILED = OUTCOMES.index(Outcome.FAILED)
TERMINATED = OUTCOMES.index(Outcome.TERMINATED)
MODES = list(FailureMode)
SNAPSHOT = (
    "trust",
    "health",
    "issues_raised",
    "resolved_count",
    "resolution_weeks_total",
    "escalations",
    "effort_proactive",
    "effort_reactive",
    "renegotiations",
    "cumulative_value",
    "received",
)
"""State that becomes an output column, copied aside when an alliance ends."""


def _clip01(a: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(a, 0.0), 1.0)


class VectorizedCohort:
    """State of a whole cohort as arrays, and the weekly phases over all alliances at once."""

    def __init__(self, config: SimulationConfig, start: CohortStart | None = None) -> None:
        self.config = config
        self.rng = cohort_stream(config.seed)
        self.start = start if start is not None else build_cohort(config, self.rng)
        s = self.start
        f, n, p = s.shape.n_firms, s.shape.n_alliances, s.shape.n_partners
        self.shape = s.shape
        d = config.dynamics
        self.charter_week = charter_week(config)
        self.launch_week = launch_week(config)
        self.standing_levers = standing_levers(config.governance, config.alliance.n_partners)
        self.structure_levers = structure_levers(config.governance, config.alliance.n_partners)
        self.structure_slowdown = 1.0 - d.structure_drag * governance_intensity(config.governance) ** 2
        self.triggers_on = config.triggers.active(config.governance)
        self.calendar = [touchpoints(t, config) for t in range(config.horizon_weeks)]  # fixed by the design
        self.outside_factor = 1.0
        self.trend_level = 1.0  # value potential the market trend alone would leave
        self.week_index = 0
        self.events = EventLog()
        self.ids = np.arange(n)
        # firms, firm axis last
        self.strategy = np.ascontiguousarray(s.strategy.T)
        self.culture = np.ascontiguousarray(s.culture.T)
        self.reputation = s.reputation.copy()
        self.capacity = s.capacity
        self.outside_option = s.outside_option
        self.reputation_drop = np.zeros(f)
        # per-firm counts in a week where nothing happened (shared, never written)
        self._no_firms = np.zeros(f, dtype=np.int64)
        self._draws: WeekDraws | None = None  # last week's draws, refilled in place
        self._no_alliances = np.zeros(0)  # an empty per-alliance array: nothing this week
        self._no_slots = np.zeros((p, 0))
        self._reputation_dropped = False  # whether any firm lost reputation last week
        # partner slots, alliance axis last
        self.firm_of = np.ascontiguousarray(s.firm_of.T)
        self.slot_capacity = self.capacity.take(self.firm_of)  # capacities never change
        self.slot_outside = self.outside_option.take(self.firm_of)  # nor do outside options
        self.on = np.ones((p, n), dtype=bool)
        self._count: np.ndarray | None = None
        self._drivers: np.ndarray | None = None  # friction drivers, rewritten in place every week
        self._summed_rows = np.zeros(0, dtype=np.int64)  # driver rows that can be non-zero
        self._joint: np.ndarray | None = None
        self._culture_distance: np.ndarray | None = None
        self._misalignment: np.ndarray | None = None  # valid until incentives change
        self._gap: np.ndarray | None = None  # valid until expectations or perceived value change
        self._loads_changed = True  # firms' alliance counts changed since commitments were set
        self._ended: list[np.ndarray] = []  # rows of the alliances that ended this week
        self._felt_now: np.ndarray | None = None  # who expects results this week, once the lifecycle moved
        self._felt_all = False
        self._realigned: np.ndarray | None = None  # misalignment removed by this week's review
        self._commit_factor: np.ndarray | None = None
        self._inequity: np.ndarray | None = None
        # In a dyad either exit ends the alliance, so every slot of a running alliance is on
        # and sums over slots need no mask (rows of ended alliances are never read).
        self.all_slots_on = p == 2
        self.incentives = np.ascontiguousarray(s.incentives.transpose(2, 1, 0))
        self.expectation = np.ascontiguousarray(s.expectation.T)
        self.results_week = np.ascontiguousarray(s.results_week.T)
        self.commitment = np.ascontiguousarray(s.commitment.T)
        self.share = np.full((p, n), 1.0 / p)
        self.perceived = np.zeros((p, n))
        self.received = np.zeros((p, n))
        self.shortfall = np.zeros((p, n), dtype=np.int64)
        self.contact_gap = np.zeros((p, n), dtype=np.int64)
        # alliances
        self.alive = np.ones(n, dtype=bool)
        self.measurement = s.measurement
        self.experience = s.experience
        self.experience_factor = 1.0 + d.experience_boost * (np.minimum(self.experience, 3.0) / 3.0)  # fixed
        self._contact_share: np.ndarray | None = None  # share of partners without a key contact
        self.trust = s.trust.copy()
        self.integration = np.zeros(n)
        self.potential = np.ones(n)
        self.institutionalisation = np.full(n, d.initial_institutionalisation)
        self.issue_age = np.full((ISSUE_CAPACITY, n), -1, dtype=np.int16)
        self.issue_small = np.zeros((ISSUE_CAPACITY, n), dtype=bool)
        # New issues take the lowest free slots, so open issues crowd the first rows; no
        # slot at or past this row is open in any alliance, and phases read only the rows
        # before it (a handful of the ISSUE_CAPACITY rows in practice).
        self.issue_rows = 0
        self.communication = np.full(n, INITIAL_COMMUNICATION)
        self.decision_efficiency = np.full(n, INITIAL_DECISION_EFFICIENCY)
        self.conflict_resolution = np.full(n, INITIAL_CONFLICT_RESOLUTION)
        self.value_perception = np.full(n, INITIAL_VALUE_PERCEPTION)
        self.health = self._health_index()
        self.piloting = np.zeros(n, dtype=bool)
        self.renegotiation_left = np.zeros(n, dtype=np.int64)
        self.renegotiation_planned = np.zeros(n, dtype=bool)
        self.last_renegotiation = np.full(n, NO_RENEGOTIATION_YET, dtype=np.int64)
        self.renegotiations = np.zeros(n, dtype=np.int64)
        self.failing_reviews = np.zeros(n, dtype=np.int64)
        self.ledger = np.zeros((N_CAUSES, n))
        self.cumulative_value = np.zeros(n)
        self.effort_proactive = np.zeros(n)
        self.effort_reactive = np.zeros(n)
        self.issues_raised = np.zeros(n, dtype=np.int64)
        self.issues_dropped = np.zeros(n, dtype=np.int64)
        self.resolved_count = np.zeros(n, dtype=np.int64)
        self.resolution_weeks_total = np.zeros(n)
        self.escalations = np.zeros(n, dtype=np.int64)
        self.outcome = np.full(n, -1, dtype=np.int64)
        self.end_week = np.full(n, -1, dtype=np.int64)
        self.failure_mode = np.full(n, -1, dtype=np.int64)
        self.failure_cause = np.full(n, -1, dtype=np.int64)
        self.final: dict[str, np.ndarray] = {}  # outputs copied aside as alliances end
        h = config.horizon_weeks
        self.series = {
            name: np.zeros(h) for name in ("share_active", "mean_trust", "mean_health", "open_issues")
        }

    # ----------------------------------------------------------------- helpers
    def _health_index(self) -> np.ndarray:
        """Mirrors Alliance._health_index: the mean of the five components."""
        return (
            self.communication
            + self.decision_efficiency
            + self.conflict_resolution
            + self.trust
            + self.value_perception
        ) / 5.0

    def _n_active(self) -> np.ndarray:
        """Partners still in each alliance (cached; it changes only when a partner exits)."""
        if self._count is None:
            self._count = np.add.reduce(self.on, axis=0, dtype=np.int64).astype(np.float64)
        return self._count

    def _joint_base(self) -> np.ndarray:
        """``value_per_partner * partners * complementarity``, the first factors of joint value
        (cached while no partner leaves)."""
        if self._joint is None:
            self._joint = (
                self.config.dynamics.value_per_partner
                * self._n_active()
                * self.config.alliance.complementarity
            )
        return self._joint

    def _on_slots(self, new: np.ndarray, old: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """``new`` on the slots still in their alliance (and in alliances of ``mask``), ``old`` elsewhere."""
        if mask is None:
            if self.all_slots_on:
                return new
            sel = self.on
        else:
            sel = mask if self.all_slots_on else mask & self.on
        return np.where(sel, new, old)

    def _slot_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum over active slots from slot 0 upward (the reference engine's order); ``values`` is (P, N)."""
        if self.all_slots_on:
            total = 0.0 + values[0]
            for slot in range(1, len(values)):
                total = total + values[slot]
            return total
        total = np.zeros(values.shape[1:])
        for slot in range(len(values)):
            total = np.where(self.on[slot], total + values[slot], total)
        return total

    @staticmethod
    def _count_rows(mask: np.ndarray) -> np.ndarray:
        """Number of True entries per alliance of a (Q, N) or (P, N) mask."""
        return np.add.reduce(mask, axis=0, dtype=np.int16)  # at most ISSUE_CAPACITY

    def _hub_distance(self, values: np.ndarray) -> np.ndarray:
        """Mirrors Alliance._hub_distance; ``values`` is (dims, P, N)."""
        out = np.empty(values.shape[2])
        kernels.hub_distance(values, self.on, out)
        return out

    def misalignment(self) -> np.ndarray:
        """Cached until incentives change (drift, shocks, realignment) or a partner leaves."""
        if self._misalignment is None:
            self._misalignment = self._hub_distance(self.incentives)
        return self._misalignment

    def effective_cultural_distance(self) -> np.ndarray:
        """Cached for the week: culture drifts only at its start and partners leave only at its end."""
        if self._culture_distance is not None:
            return self._culture_distance
        distance = self._hub_distance(self.culture.take(self.firm_of, axis=1))
        if self.config.governance.cultural_bridging:
            distance = distance * (1.0 - self.config.dynamics.bridging_effect)
        self._culture_distance = distance
        return distance

    def outside_now(self) -> np.ndarray:
        """Each slot's outside option this week (with no trend the factor stays 1.0, and x * 1.0 is x)."""
        return self.slot_outside if self.outside_factor == 1.0 else self.slot_outside * self.outside_factor

    def _felt(self, t: int) -> np.ndarray:
        """Mirrors Membership.expects_results (cached for the week: only the lifecycle phase,
        which runs before any reader, changes pilots and results weeks)."""
        if self._felt_now is None:
            self._felt_now = (t >= self.results_week) & ~self.piloting
            # once every partner expects results, the masks below select everything
            self._felt_all = bool(self._felt_now.all())
        return self._felt_now

    def expectation_gap(self, t: int) -> np.ndarray:
        """Mirrors Alliance.expectation_gap (cached until expectations or perceived value change)."""
        if self._gap is None:
            self._gap = np.empty(len(self.trust))
            kernels.expectation_gap(
                self.expectation, self.perceived, self._felt(t), self.on, self._n_active(), self._gap
            )
        return self._gap

    def projected_value(self) -> np.ndarray:
        """Mirrors Alliance.projected_value, for every slot."""
        d = self.config.dynamics
        joint = self._joint_base() * self.potential
        planned = joint * (d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust)
        return self.share * planned - d.contribution_cost * self.commitment

    def realign(self, mask: np.ndarray | None, fraction: float) -> None:
        """Mirrors Alliance.realign for the alliances in ``mask`` (all if None)."""
        count = self._n_active()
        x = self.incentives
        mean = self._slot_sum(x.transpose(1, 0, 2)) / count  # (K, N), every objective at once
        self.incentives = self._on_slots(x + fraction * (mean[:, None, :] - x), x, mask)
        self._misalignment = None

    def reset_expectations(self, mask: np.ndarray | None, fraction: float) -> None:
        """Mirrors Alliance.reset_expectations for the alliances in ``mask`` (all if None)."""
        realistic = self.projected_value()
        moved = np.maximum(EXPECTATION_FLOOR, self.expectation + fraction * (realistic - self.expectation))
        self.expectation = self._on_slots(moved, self.expectation, mask)
        self._gap = None

    def inequity(self) -> np.ndarray:
        """Mirrors Alliance.inequity (cached while commitments do not change)."""
        if self._inequity is None:
            count = self._n_active()
            mean = self._slot_sum(self.commitment) / count
            spread = self._slot_sum(np.abs(self.commitment - mean))
            self._inequity = spread / count / mean
        return self._inequity

    # ------------------------------------------------------------------ phases
    def step(self) -> None:
        """One week for the whole cohort; mirrors AllianceModel.step."""
        with np.errstate(divide="ignore", invalid="ignore"):
            self._week()

    def _week(self) -> None:
        """The body of :meth:`step`; rows of ended alliances may divide by zero, unread."""
        t = self.week_index
        draws = self._draws = draw_week(self.rng, self.shape, self._draws)
        tp = self.calendar[t]
        self._culture_distance = None
        self._misalignment = None
        self._gap = None
        self._felt_now = None
        self.drift_firms(draws)
        running = self.alive.copy()
        self.advance_lifecycle(t, running)
        self.drift_incentives_and_expectations(draws)
        shock = self.receive_shock(t, running, draws)
        self.apply_triggers(t, running, shock)
        proactive = self.hold_touchpoints(t, tp)
        mix, raised = self.raise_issues(t, draws)
        resolved, reactive = self.resolve_issues(t, running, tp, draws)
        self.create_value(t, running, draws, proactive, reactive)
        departures = self.lose_key_contacts(t, running, draws)
        self.update_trust(t, tp, draws, resolved, departures, mix, raised)
        self.update_health(t, tp, resolved)
        exits, collapses = self.check_endings(t, running, tp)
        if self._ended:  # outputs of this week's endings, copied aside once
            self._snapshot(np.concatenate(self._ended))
            self._ended = []
        self.settle_reputation(exits, collapses)
        self.outside_factor = self.outside_factor * (1.0 + self.config.scenario.outside_option_trend)
        self.trend_level = self.trend_level * (1.0 + self.config.scenario.value_trend)
        self.week_index += 1
        self.collect(t)
        if self.week_index >= self.config.horizon_weeks:
            self.close_at_horizon()

    def drift_firms(self, draws: WeekDraws) -> None:
        """Mirrors Firm.drift."""
        d = self.config.dynamics
        volatility = self.config.scenario.volatility
        s_sigma = d.strategy_drift * volatility
        c_sigma = d.culture_drift * volatility
        self.strategy = _clip01(self.strategy + s_sigma * draws.strategy_noise)
        self.culture = _clip01(self.culture + c_sigma * draws.culture_noise)

    def advance_lifecycle(self, t: int, running: np.ndarray) -> None:
        """Mirrors Alliance.advance_lifecycle (phase labels are not needed for the outputs)."""
        if t < self.launch_week:
            return
        if t == self.launch_week:
            self.piloting = running & (self.config.launch.mode is LaunchMode.PILOT)
            return
        lc = self.config.launch
        if t >= self.launch_week + lc.pilot_weeks and self.piloting.any():
            scale_up = running & self.piloting & (self.health >= lc.pilot_gate_health)
            self.piloting = self.piloting & ~scale_up
            due = t + self.config.dynamics.post_pilot_results_weeks
            self.results_week = np.where(scale_up, np.maximum(self.results_week, due), self.results_week)
            self.events.add(t + 1, self.ids[scale_up], EventKind.SCALE_UP)

    def drift_incentives_and_expectations(self, draws: WeekDraws) -> None:
        """Mirrors Alliance.drift_incentives_and_expectations."""
        d = self.config.dynamics
        volatility = self.config.scenario.volatility
        x_sigma = d.incentive_drift * volatility
        e_sigma = d.expectation_drift * volatility
        x = self.incentives
        # x + reversion * (s - x) + sigma * noise, clipped to [0, 1], in the buffer ``s``
        # (addition and multiplication commute exactly, so the operands' order is free)
        s = self.strategy.take(self.firm_of, axis=1)
        s -= x
        s *= d.incentive_reversion
        s += x
        s += x_sigma * draws.incentive_noise
        np.maximum(s, 0.0, out=s)
        np.minimum(s, 1.0, out=s)
        self.incentives = self._on_slots(s, x)
        e = self.expectation
        shifted = e + d.expectation_adaptation * (self.perceived - e)
        drifted = np.maximum(EXPECTATION_FLOOR, shifted + e_sigma * draws.expectation_noise)
        self.expectation = self._on_slots(drifted, e)

    def receive_shock(self, t: int, running: np.ndarray, draws: WeekDraws) -> np.ndarray:
        """Mirrors Alliance.receive_shock; returns this week's shock size (0 where none).

        Only the few alliances hit this week are touched: gathered, updated, written back.
        """
        sc = self.config.scenario
        d = self.config.dynamics
        n = len(running)
        shock = np.empty(n)
        kind = np.empty(n, dtype=np.int64)
        lo, hi = SHARE_BOUNDS
        hits = kernels.receive_shock(
            running,
            draws.shock_u,
            sc.shock_rate,
            draws.shock_size,
            sc.shock_scale,
            draws.shock_kind_u,
            sc.regulatory_share,
            sc.regulatory_share + sc.market_share_share,
            draws.shock_direction,
            d.shock_incentive_push,
            self.incentives,
            self.on,
            self.all_slots_on,
            self.potential,
            POTENTIAL_FLOOR,
            d.shock_value_hit,
            self.share,
            lo,
            hi,
            d.shock_share_shift,
            self.integration,
            d.shock_integration_setback,
            self.ledger[Cause.EXTERNAL_SHOCK],
            d.shock_blame,
            shock,
            kind,
        )
        if hits:
            self._misalignment = None
            idx = (kind >= 0).nonzero()[0]
            self.events.add(t + 1, idx, EventKind.SHOCK, a=kind[idx], x=shock[idx])
        return shock

    def apply_triggers(self, t: int, running: np.ndarray, shock: np.ndarray) -> None:
        """Mirrors Alliance.apply_triggers."""
        tr = self.config.triggers
        d = self.config.dynamics
        if t < self.charter_week:
            return
        eligible = (
            running & (self.renegotiation_left == 0) & (t - self.last_renegotiation >= tr.cooldown_weeks)
        )
        candidates = eligible
        if self.triggers_on:
            fired = eligible & (
                ((shock > 0.0) & (shock >= tr.shock_threshold))
                | (self.health < tr.health_threshold)
                | (self.misalignment() > tr.misalignment_threshold)
            )
            if fired.any():
                self.renegotiate(t, fired, d.realign_fraction, crisis=False)
            candidates = eligible & ~fired
        crisis = candidates & (self.health < d.crisis_health) & (self.trust >= d.crisis_min_trust)
        if crisis.any():
            self.renegotiate(t, crisis, d.realign_fraction * d.crisis_efficacy, crisis=True)

    def renegotiate(self, t: int, mask: np.ndarray, fraction: float, crisis: bool) -> None:
        """Mirrors Alliance.renegotiate, on the few alliances in ``mask`` only."""
        d = self.config.dynamics
        rows = mask.nonzero()[0]
        on = None if self.all_slots_on else self.on[:, rows]
        count = self._n_active()[rows]

        def slot_sum(values: np.ndarray) -> np.ndarray:
            if on is None:
                total = 0.0 + values[0]
                for slot in range(1, len(values)):
                    total = total + values[slot]
                return total
            total = np.zeros(values.shape[1:])
            for slot in range(len(values)):
                total = np.where(on[slot], total + values[slot], total)
            return total

        def keep_off(new: np.ndarray, old: np.ndarray) -> np.ndarray:
            return new if on is None else np.where(on, new, old)

        # realign (Alliance.realign)
        x = self.incentives[:, :, rows]
        mean = slot_sum(x.transpose(1, 0, 2)) / count  # (K, rows), every objective at once
        self.incentives[:, :, rows] = keep_off(x + fraction * (mean[:, None, :] - x), x)
        self._misalignment = None
        # reset expectations (Alliance.reset_expectations, Alliance.projected_value)
        joint = self._joint_base()[rows] * self.potential[rows]
        planned = joint * (d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust)
        share = self.share[:, rows]
        realistic = share * planned - d.contribution_cost * self.commitment[:, rows]
        e = self.expectation[:, rows]
        self.expectation[:, rows] = keep_off(np.maximum(EXPECTATION_FLOOR, e + fraction * (realistic - e)), e)
        self._gap = None
        # rebalance shares
        self.share[:, rows] = keep_off(share + fraction * (1.0 / count - share), share)
        recovery = d.renegotiation_recovery * (d.crisis_efficacy if crisis else 1.0)
        self.potential[rows] = self.potential[rows] + recovery * (self.trend_level - self.potential[rows])
        self.renegotiation_left[rows] = d.renegotiation_weeks
        self.renegotiation_planned[rows] = not crisis
        self.last_renegotiation[rows] = t
        self.renegotiations[rows] += 1
        self.events.add(t + 1, rows, EventKind.RENEGOTIATION, a=int(crisis))

    def hold_touchpoints(self, t: int, tp: Touchpoints) -> np.ndarray | float:
        """Mirrors Alliance.hold_touchpoints; returns this week's proactive effort."""
        g = self.config.governance
        d = self.config.dynamics
        if t < self.charter_week:
            return 0.0
        effort = 0.0
        if tp.meeting:
            effort = effort + d.meeting_effort
        if tp.working_group:
            effort = effort + d.working_group_effort
        if tp.steering:
            effort = effort + d.steering_effort
        if tp.health_check:
            effort = effort + d.health_check_effort
        effort = effort + d.lever_effort * self.standing_levers
        proactive = effort * self._n_active()
        if g.explicit_expectations and tp.any:
            self.reset_expectations(None, d.explicit_expectation_rate)
        self._realigned = None
        if g.strategic_alignment and tp.review:
            before = self.misalignment()
            self.realign(None, d.review_realign_fraction)
            self._realigned = before - self.misalignment()
        if self.structure_levers:
            grown = self.institutionalisation + d.institutionalisation_rate * self.structure_levers
            self.institutionalisation = np.minimum(1.0, grown)
        return proactive

    def friction_drivers(self, t: int) -> np.ndarray:
        """Mirrors Alliance.friction_drivers: (7, N) weighted drivers."""
        g = self.config.governance
        d = self.config.dynamics
        a = self.config.alliance
        drivers = self._drivers
        if drivers is None:  # rows 3 and 5 never change, nor does row 6 in a dyad
            drivers = self._drivers = np.empty((N_FRICTION_DRIVERS, len(self.measurement)))
            ip = a.ip_exposure * (1.0 - d.guardrail_effect) if g.ip_guardrails else a.ip_exposure
            drivers[3] = d.w_measurement * 0.0 if g.shared_kpis else d.w_measurement * self.measurement
            drivers[5] = d.w_ip * ip
            if self.shape.n_partners == 2:
                drivers[6] = d.w_coordination * (a.coordination_load * 0.0)
            # rows that are +0.0 everywhere add nothing to the total (which is never -0.0)
            self._summed_rows = np.array(
                [
                    c
                    for c in range(1, N_FRICTION_DRIVERS)
                    if c in (1, 2, 4)
                    or (c == 6 and self.shape.n_partners > 2)
                    or drivers[c].any()
                    or np.signbit(drivers[c]).any()
                ],
                dtype=np.int64,
            )
        np.multiply(d.w_incentive, self.misalignment(), out=drivers[0])
        np.multiply(d.w_culture, self.effective_cultural_distance(), out=drivers[1])
        np.multiply(d.w_expectation, self.expectation_gap(t), out=drivers[2])
        np.multiply(d.w_integration, a.integration_complexity * (1.0 - self.integration), out=drivers[4])
        if self.shape.n_partners > 2:
            coordination = a.coordination_load * np.maximum(0.0, self._n_active() - 2.0)
            if g.orchestrator:
                coordination = coordination * (1.0 - d.orchestration_effect)
            np.multiply(d.w_coordination, coordination, out=drivers[6])
        return drivers

    def issue_phase_factor(self, t: int) -> np.ndarray | float:
        """Mirrors Alliance.issue_phase_factor."""
        d = self.config.dynamics
        if t < self.launch_week:
            return d.prelaunch_issue_factor
        surge = 1.0 + d.full_launch_surge * (1.0 - self.integration)
        return np.where(self.piloting, d.pilot_issue_factor, surge) if self.piloting.any() else surge

    def raise_issues(self, t: int, draws: WeekDraws) -> tuple[np.ndarray, np.ndarray]:
        """Mirrors Alliance.raise_issues; returns the (7, N) friction mix used to attribute damage
        and the issues raised this week."""
        d = self.config.dynamics
        drivers = self.friction_drivers(t)
        n = drivers.shape[1]
        base_phase = d.base_issue_rate * self.issue_phase_factor(t)
        if not isinstance(base_phase, np.ndarray):
            base_phase = np.full(n, base_phase)
        mix = np.empty_like(drivers)  # a new array: the drivers' buffer is reused
        count = np.empty(n, dtype=np.int64)
        self.issue_rows = kernels.raise_issues(
            drivers,
            self._summed_rows,
            base_phase,
            MAX_NEW_ISSUES,
            draws.issue_u,
            draws.severity_u,
            d.small_issue_share,
            self.issue_age,
            self.issue_small,
            self.issue_rows,
            self.issues_raised,
            self.issues_dropped,
            mix,
            count,
        )
        return mix, count

    def resolve_issues(
        self, t: int, running: np.ndarray, tp: Touchpoints, draws: WeekDraws
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mirrors Alliance.resolve_issues; returns (issues settled, reactive effort) this week."""
        g = self.config.governance
        d = self.config.dynamics
        count = self._n_active()
        if (
            self._contact_share is None
        ):  # else as update_health left it last week: contacts and partners did not change since
            self._contact_share = self._slot_sum((self.contact_gap > 0).astype(np.float64)) / count
        contact_factor = 1.0 - d.contact_drag * self._contact_share
        culture_factor = np.maximum(0.0, 1.0 - d.culture_drag * self.effective_cultural_distance())
        adhoc = d.adhoc_resolve * culture_factor * contact_factor * self.experience_factor
        if g.decision_rights:
            adhoc = adhoc * (1.0 + d.rights_boost)
        adhoc = np.minimum(adhoc, 1.0)
        drag = self.structure_slowdown
        meeting = d.rights_meeting_resolve if g.decision_rights else d.meeting_resolve
        n = len(adhoc)
        resolved = np.empty(n, dtype=np.int64)
        open_count = np.empty(n, dtype=np.int64)
        escalations = np.empty(n, dtype=np.int64)
        self.issue_rows = kernels.resolve_issues(
            self.issue_age,
            self.issue_small,
            draws.resolve_u,
            self.issue_rows,
            adhoc,
            drag,
            1.0 - meeting * drag if tp.meeting else 1.0,
            1.0 - d.working_group_resolve * drag if tp.working_group else 1.0,
            g.escalation_age_weeks if g.escalation_path else -1,
            1.0 - d.steering_resolve * drag if tp.steering else 1.0,
            1.0 - d.escalation_resolve * drag,
            1.0 - d.fast_track_resolve * drag if g.cultural_bridging else 1.0,
            self.resolution_weeks_total,
            self.resolved_count,
            resolved,
            open_count,
            escalations,
        )
        self._open_count = open_count  # issues do not change again this week
        reactive = d.firefight_effort * open_count
        if g.escalation_path:
            self.escalations = self.escalations + escalations
            escalated_now = running & (escalations > 0)
            self.events.add(
                t + 1, self.ids[escalated_now], EventKind.ESCALATION, a=escalations[escalated_now]
            )
            reactive = reactive + d.escalation_effort * escalations
        else:
            reactive = reactive + d.escalation_effort * 0
        return resolved, reactive

    def create_value(
        self,
        t: int,
        running: np.ndarray,
        draws: WeekDraws,
        proactive: np.ndarray | float,
        reactive: np.ndarray,
    ) -> None:
        """Mirrors Alliance.create_value."""
        d = self.config.dynamics
        count = self._n_active()
        if self._loads_changed:
            # commitment depends only on capacity and how many alliances a firm holds,
            # which change only when an alliance ends or a partner leaves
            load = np.bincount(self.firm_of[running & self.on], minlength=self.shape.n_firms)
            fresh = commitment(
                self.slot_capacity, load.take(self.firm_of).astype(np.float64), d.load_dilution
            )
            self.commitment = self._on_slots(fresh, self.commitment)
            self._commit_factor = self._slot_sum(np.minimum(self.commitment, 1.0)) / count
            self._inequity = None
            self._loads_changed = False
        n = len(self.trust)
        if not isinstance(proactive, np.ndarray):
            proactive = np.full(n, proactive)
        # a pilot is a limited test: partners commit resources at its scale too
        kernels.create_value(
            t >= self.launch_week,
            self.integration,
            d.integration_rate,
            self._commit_factor,
            self.piloting,
            self.config.launch.pilot_scale,
            self.renegotiation_left,
            self.renegotiation_planned,
            d.renegotiation_value_loss,
            d.renegotiation_effort,
            proactive,
            reactive,
            self._joint_base(),
            self.potential,
            d.integration_floor,
            d.trust_floor,
            self.trust,
            d.value_noise,
            draws.value_noise,
            d.effort_cost,
            d.contribution_cost,
            self.commitment,
            self.share,
            self.on,
            self.all_slots_on,
            d.perception_rate,
            self.perceived,
            self.received,
            self.shape.n_partners,
            self.cumulative_value,
            self.effort_proactive,
            self.effort_reactive,
        )
        self._gap = None
        if self.config.scenario.value_trend != 0.0:
            self.potential = self.potential * (1.0 + self.config.scenario.value_trend)

    def lose_key_contacts(self, t: int, running: np.ndarray, draws: WeekDraws) -> np.ndarray:
        """Mirrors Alliance.lose_key_contacts; returns departures per alliance."""
        d = self.config.dynamics
        gap = d.handover_gap_weeks if self.config.governance.handover_protocol else d.contact_gap_weeks
        waiting = self.contact_gap > 0
        leaving = draws.contact_u < d.contact_hazard
        if not self.all_slots_on:
            waiting &= self.on
            leaving &= self.on
        self.contact_gap = np.where(leaving, gap, self.contact_gap - waiting)
        if leaving.any():
            slots, rows = (leaving & running).nonzero()
            self.events.add(t + 1, rows, EventKind.KEY_CONTACT_DEPARTURE, a=slots)
        return self._count_rows(leaving)

    def update_trust(
        self,
        t: int,
        tp: Touchpoints,
        draws: WeekDraws,
        resolved: np.ndarray,
        departures: np.ndarray,
        mix: np.ndarray,
        raised: np.ndarray,
    ) -> None:
        """Mirrors Alliance.update_trust."""
        g = self.config.governance
        d = self.config.dynamics
        ip = self.config.alliance.ip_exposure
        if g.ip_guardrails:
            ip = ip * (1.0 - d.guardrail_effect)
        slot_drop = self.reputation_drop.take(self.firm_of) if self._reputation_dropped else self._no_slots
        kernels.update_trust(
            self.trust,
            self.ledger,
            mix,
            self.on,
            self.all_slots_on,
            self._n_active(),
            self.perceived,
            self.expectation,
            self._felt(t),
            self._felt_all,
            resolved,
            d.trust_per_resolution,
            d.trust_per_value,
            d.trust_per_touchpoint * float(tp.any and t >= self.charter_week),
            self._realigned if self._realigned is not None else self._no_alliances,
            d.trust_per_realignment,
            self.issue_age,
            self.issue_small,
            self.issue_rows,
            d.aging_grace_weeks,
            self.misalignment(),
            ip,
            d.overlap_temptation * self.config.alliance.capability_overlap,
            draws.opportunism_u,
            d.opportunism_rate,
            slot_drop,
            self._reputation_dropped,
            departures,
            bool(departures.any()),
            self.institutionalisation,
            d.trust_per_contact_loss,
            1.0 - d.handover_effect if g.handover_protocol else 1.0,
            self.expectation_gap(t),
            self.inequity(),
            raised,
            d.trust_per_aged_issue,
            d.trust_per_opportunism,
            d.trust_per_gap,
            d.trust_per_reputation_drop,
            d.trust_per_inequity,
            d.trust_per_issue,
            int(Cause.OPPORTUNISM),
            int(Cause.EXPECTATION_GAP),
            int(Cause.KEY_CONTACT_LOSS),
            int(Cause.PARTNER_REPUTATION),
            int(Cause.INEQUITY),
        )

    def update_health(self, t: int, tp: Touchpoints, resolved: np.ndarray) -> None:
        """Mirrors Alliance.update_health."""
        d = self.config.dynamics
        touch = float(tp.any and t >= self.charter_week)
        if self._contact_share is None:
            self._contact_share = np.empty(len(self.trust))
        kernels.update_health(
            self.contact_gap,
            self.on,
            self.all_slots_on,
            self._n_active(),
            self.issue_age,
            self.issue_rows,
            self._open_count,  # as resolve_issues left them
            resolved,
            self.expectation_gap(t),
            d.communication_base + d.communication_touchpoint * touch,
            d.communication_contact,
            d.communication_issue,
            d.decision_age_scale,
            d.health_rate,
            self._contact_share,
            self.communication,
            self.decision_efficiency,
            self.conflict_resolution,
            self.value_perception,
            self.trust,
            self.health,
        )

    def check_endings(self, t: int, running: np.ndarray, tp: Touchpoints) -> tuple[np.ndarray, np.ndarray]:
        """Mirrors Alliance.check_endings; returns per-firm counts of exits and collapses."""
        d = self.config.dynamics
        n_firms = self.shape.n_firms
        collapse = running & (self.trust < d.collapse_trust)
        rows = collapse.nonzero()[0]
        if len(rows):
            partners = self.firm_of[:, rows]
            partners = partners.ravel() if self.all_slots_on else partners[self.on[:, rows]]
            collapses = np.bincount(partners, minlength=n_firms)
        else:
            collapses = self._no_firms
        self._fail(t, rows, FailureMode.TRUST_COLLAPSE)
        going = running & ~collapse
        sel = going & self.on
        felt = self._felt(t)
        short = self.perceived < self.outside_now()
        if not self._felt_all:
            short = felt & short
        self.shortfall = np.where(
            sel, (self.shortfall + 1) * short, self.shortfall
        )  # a run of short weeks, reset by a good one
        leaving = sel & (self.shortfall >= d.exit_patience)
        exits = np.bincount(self.firm_of[leaving], minlength=n_firms) if leaving.any() else self._no_firms
        if exits is not self._no_firms:
            self.on = self.on & ~leaving
            self._loads_changed = True
            self._count = None
            self._joint = None
            self._contact_share = None
            self._misalignment = None
            self._gap = None
            slots, rows = leaving.nonzero()
            self.events.add(t + 1, rows, EventKind.PARTNER_EXIT, a=slots)
            too_few = too_few_spokes(self._count_rows(self.on[1:]), self.shape.n_partners - 1)
            broken = going & (leaving[0] | too_few)
            self._fail(t, broken.nonzero()[0], FailureMode.PARTNER_EXIT)
            going = going & ~broken
        if self.shape.n_partners > 2:
            total = self._slot_sum(self.share)
            self.share = np.where(going & self.on, self.share / total, self.share)
        if tp.review and t >= self.charter_week:
            failing = self.termination_criteria_failing() >= d.termination_criteria
            self.failing_reviews = np.where(
                going, np.where(failing, self.failing_reviews + 1, 0), self.failing_reviews
            )
            ended = going & (self.failing_reviews >= d.termination_reviews)
            if self.config.governance.strategic_alignment:
                ended = ended | (going & self.agreed_wind_down())
            self._end(t, ended.nonzero()[0], TERMINATED)
            going = going & ~ended
        if t + 1 == self.config.governance.sunset_week:
            met = self.cumulative_value >= self.config.alliance.objective_value
            self._end(t, (going & met).nonzero()[0], SUCCESS)
            self._end(t, (going & ~met).nonzero()[0], TERMINATED)
        return exits, collapses

    def agreed_wind_down(self) -> np.ndarray:
        """Mirrors Alliance.agreed_wind_down."""
        d = self.config.dynamics
        threshold = d.agreed_exit_fraction * d.exit_patience
        fits = self.shortfall < threshold
        too_few = too_few_spokes(self._count_rows(self.on[1:] & fits[1:]), self.shape.n_partners - 1)
        return (self.on[0] & ~fits[0]) | too_few

    def termination_criteria_failing(self) -> np.ndarray:
        """Mirrors Alliance.termination_criteria_failing."""
        d = self.config.dynamics
        surplus = self._slot_sum(self.perceived - self.outside_now())
        return (
            (self.misalignment() > d.termination_misalignment).astype(np.int64)
            + (self.value_perception < d.termination_value)
            + (self.health < d.termination_health)
            + (surplus < 0.0)
        )

    def _fail(self, t: int, rows: np.ndarray, mode: FailureMode) -> None:
        """Mirrors Alliance.fail for the alliances ``rows`` (ascending): the primary cause is
        the largest entry of the damage ledger."""
        if len(rows) == 0:
            return
        self.failure_cause[rows] = self.ledger[:, rows].argmax(axis=0)
        self.failure_mode[rows] = MODES.index(mode)
        self._end(t, rows, FAILED)

    def _end(self, t: int, rows: np.ndarray, outcome: int) -> None:
        """Mirrors Alliance.end for the alliances ``rows`` (ascending)."""
        if len(rows) == 0:
            return
        self._loads_changed = True
        self._ended.append(rows)
        self.alive[rows] = False  # ``running`` is a copy taken at the start of the week
        self.outcome[rows] = outcome
        self.end_week[rows] = t + 1
        cause = self.failure_cause[rows]
        code = np.where(cause >= 0, self.failure_mode[rows] * ENDING_CODE_BASE + cause, -1)
        self.events.add(t + 1, rows, EventKind.ENDING, a=outcome, b=code)

    def _snapshot(self, rows: np.ndarray) -> None:
        """Copy aside the outputs of the alliances ``rows``, ending now; their rows keep evolving, unread."""
        for name in SNAPSHOT:
            current = getattr(self, name)
            if name not in self.final:
                self.final[name] = np.zeros_like(current)
            self.final[name][..., rows] = current[..., rows]

    def settle_reputation(self, exits: np.ndarray, collapses: np.ndarray) -> None:
        """Mirrors Firm.settle_reputation."""
        d = self.config.dynamics
        self._reputation_dropped = bool(exits.any() or collapses.any())
        if not self._reputation_dropped and not self.reputation_drop.any():
            return  # nothing happened this week nor last: reputations and drops stay as they are
        drop = exits * d.reputation_exit_loss + collapses * d.reputation_collapse_loss
        self.reputation = np.maximum(0.0, self.reputation - drop)
        self.reputation_drop = drop

    def close_at_horizon(self) -> None:
        """Mirrors Alliance.close_at_horizon."""
        met = self.cumulative_value >= self.config.alliance.objective_value
        self.outcome = np.where(self.alive, np.where(met, SUCCESS, UNDERPERFORMING), self.outcome)
        self._snapshot(self.alive.nonzero()[0])

    def collect(self, t: int) -> None:
        """Per-week aggregates over alliances still running (the reference DataCollector's)."""
        alive = self.alive
        n_alive = int(np.count_nonzero(alive))
        self.series["share_active"][t] = n_alive / len(alive)
        if n_alive:
            self.series["mean_trust"][t] = np.add.reduce(self.trust, where=alive) / n_alive
            self.series["mean_health"][t] = np.add.reduce(self.health, where=alive) / n_alive
            self.series["open_issues"][t] = (
                np.add.reduce(self._open_count, where=alive, dtype=np.int64) / n_alive
            )
        else:
            for name in ("mean_trust", "mean_health", "open_issues"):
                self.series[name][t] = np.nan

    def run(self, progress=None) -> VectorizedCohort:
        with np.errstate(divide="ignore", invalid="ignore"):
            while self.week_index < self.config.horizon_weeks:
                self._week()
                if progress is not None:
                    progress(self.week_index, self.config.horizon_weeks)
        return self

    def result(self) -> CohortResult:
        if self.week_index < self.config.horizon_weeks:
            raise RuntimeError("the cohort has not reached its horizon yet")
        f = self.final
        cols = AllianceColumns(
            outcome=self.outcome,
            end_week=self.end_week,
            failure_mode=self.failure_mode,
            failure_cause=self.failure_cause,
            final_trust=f["trust"],
            final_health=f["health"],
            issues_raised=f["issues_raised"],
            issues_resolved=f["resolved_count"],
            resolution_weeks_total=f["resolution_weeks_total"],
            escalations=f["escalations"],
            effort_proactive=f["effort_proactive"],
            effort_reactive=f["effort_reactive"],
            renegotiations=f["renegotiations"],
            cumulative_value=f["cumulative_value"],
            value_received=f["received"].T,
            firm_of=self.start.firm_of,
        )
        return CohortResult(
            config=self.config,
            alliances=alliance_table(cols, self.config),
            timeseries=timeseries_table(**self.series),
            events=self.events.to_frame(),
        )


def run_vectorized(config: SimulationConfig, progress=None) -> CohortResult:
    """Simulate a cohort with the vectorized engine."""
    return VectorizedCohort(config).run(progress).result()
