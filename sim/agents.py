"""Partner firms and alliances as Mesa agents: the reference engine.

This module is the readable specification of the model. Each method is one
mechanism of the design brief, applied to one firm or one alliance, written
with plain Python numbers. The vectorized engine (:mod:`sim.vectorized`)
computes the same formulas for every alliance at once and is tested against
this one; change a mechanism here and there together.

Conventions that make the two engines agree to the last bit:

* every mechanism reads the random numbers of the week from
  :class:`sim.draws.WeekDraws` (never the generator), at its alliance's row;
* arithmetic is written in the same order in both engines, sums over partner
  slots run from slot 0 upward, and a clip is ``min(max(x, lo), hi)``;
* a phase reads the state as it was when the phase began: the model runs each
  phase for every alliance before starting the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa

from sim.events import ENDING_CODE_BASE
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
    Phase,
    ShockKind,
    Touchpoints,
    commitment,
    too_few_spokes,
)
from sim.params import LaunchMode

if TYPE_CHECKING:
    from sim.model import AllianceModel, WeekLists


def clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


class Firm(mesa.Agent):
    """A partner firm in the market.

    Its *strategy* (priorities over the objectives) and *culture* drift slowly;
    the incentives it brings to each alliance revert toward its strategy. Its
    *reputation* falls when it walks out of an alliance or one collapses, and
    its partners in other alliances hear of it. Its *capacity* is split among
    the alliances it holds, so a firm with many alliances commits less to each.
    Its *outside option* is what it could earn without an alliance.
    """

    def __init__(
        self,
        model: AllianceModel,
        index: int,
        strategy: list[float],
        culture: list[float],
        reputation: float,
        capacity: float,
        outside_option: float,
    ) -> None:
        super().__init__(model)
        self.index = index
        self.strategy = strategy
        self.culture = culture
        self.reputation = reputation
        self.capacity = capacity
        self.outside_option = outside_option
        self.memberships: list[Membership] = []
        self.exits_this_week = 0
        self.collapses_this_week = 0
        self.reputation_drop = 0.0  # last week's loss, which partners elsewhere notice

    def drift(self, week: WeekLists) -> None:
        """Strategy and culture follow slow random walks, faster in volatile environments."""
        d = self.model.config.dynamics
        volatility = self.model.config.scenario.volatility
        s_sigma = d.strategy_drift * volatility
        c_sigma = d.culture_drift * volatility
        noise = week.strategy_noise[self.index]
        self.strategy = [clip01(s + s_sigma * z) for s, z in zip(self.strategy, noise, strict=True)]
        noise = week.culture_noise[self.index]
        self.culture = [clip01(c + c_sigma * z) for c, z in zip(self.culture, noise, strict=True)]

    def alliance_load(self) -> int:
        """Alliances this firm is still active in."""
        return sum(1 for m in self.memberships if m.active and m.alliance.alive)

    def settle_reputation(self) -> None:
        """Walking out of an alliance, or being in one that collapses, costs reputation."""
        d = self.model.config.dynamics
        drop = (
            self.exits_this_week * d.reputation_exit_loss
            + self.collapses_this_week * d.reputation_collapse_loss
        )
        self.reputation = max(0.0, self.reputation - drop)
        self.reputation_drop = drop
        self.exits_this_week = 0
        self.collapses_this_week = 0


@dataclass
class Membership:
    """A firm's seat in one alliance: what it wants, expects and gets there."""

    alliance: Alliance
    slot: int
    firm: Firm
    incentives: list[float]
    expectation: float
    results_week: int
    commitment: float
    share: float
    perceived_value: float = 0.0
    value_received: float = 0.0
    shortfall_weeks: int = 0
    contact_gap: int = 0  # weeks until a new champion is effective (0: champion in place)
    active: bool = True

    def expects_results(self, week: int) -> bool:
        """Expectations are felt only once the partner expected to see results, and not while
        the alliance is still a pilot: a pilot is a deliberate, limited test whose results are
        due when it scales up."""
        return week >= self.results_week and not self.alliance.piloting

    def felt_gap(self, week: int) -> float:
        """Relative shortfall of experience against expectation, once results are due.

        At most 1: getting nothing (or paying in) is the whole expectation broken.
        """
        if not self.expects_results(week):
            return 0.0
        return min(1.0, max(0.0, self.expectation - self.perceived_value) / self.expectation)

    def value_ratio(self, week: int) -> float:
        """Experienced over expected value (1 before results are due)."""
        if not self.expects_results(week):
            return 1.0
        return self.perceived_value / self.expectation


@dataclass
class WeekLedger:
    """What happened in an alliance this week, read by later phases of the same week."""

    shock_size: float = 0.0
    proactive_effort: float = 0.0
    reactive_effort: float = 0.0
    friction_mix: list[float] = field(default_factory=lambda: [0.0] * N_FRICTION_DRIVERS)
    resolved: int = 0
    raised: int = 0
    departures: int = 0
    realigned: float = 0.0  # misalignment removed by this week's strategic review


class Alliance(mesa.Agent):
    """A strategic alliance: two partners, or a hub with spokes, under one charter.

    State: trust, open issues with their ages, integration progress, value
    potential, the five-part relationship health index, the damage ledger
    by cause, and the lifecycle phase.
    """

    def __init__(self, model: AllianceModel, alliance_id: int, firms: list[Firm]) -> None:
        super().__init__(model)
        start = model.start
        n = alliance_id
        self.alliance_id = alliance_id
        self.members = [
            Membership(
                alliance=self,
                slot=p,
                firm=firm,
                incentives=start.incentives[n, p].tolist(),
                expectation=float(start.expectation[n, p]),
                results_week=int(start.results_week[n, p]),
                commitment=float(start.commitment[n, p]),
                share=1.0 / len(firms),
            )
            for p, firm in enumerate(firms)
        ]
        for m in self.members:
            m.firm.memberships.append(m)
        self.measurement = float(start.measurement[n])
        self.experience = float(start.experience[n])
        self.trust = float(start.trust[n])
        self.integration = 0.0
        self.potential = 1.0
        self.institutionalisation = model.config.dynamics.initial_institutionalisation
        self.issue_age = [-1] * ISSUE_CAPACITY  # -1: empty slot
        self.issue_small = [False] * ISSUE_CAPACITY
        self.communication = INITIAL_COMMUNICATION
        self.decision_efficiency = INITIAL_DECISION_EFFICIENCY
        self.conflict_resolution = INITIAL_CONFLICT_RESOLUTION
        self.value_perception = INITIAL_VALUE_PERCEPTION
        self.health = self._health_index()
        self.phase = Phase.DISCOVERY
        self.piloting = False
        self.renegotiation_left = 0
        self.renegotiation_planned = False  # a trigger clause (proactive) rather than a crisis
        self.last_renegotiation = NO_RENEGOTIATION_YET
        self.renegotiations = 0
        self.failing_reviews = 0
        self.ledger = [0.0] * N_CAUSES
        self.cumulative_value = 0.0
        self.effort_proactive = 0.0
        self.effort_reactive = 0.0
        self.issues_raised = 0
        self.issues_dropped = 0
        self.resolved_count = 0
        self.resolution_weeks_total = 0.0
        self.escalations = 0
        self.alive = True
        self.outcome: Outcome | None = None
        self.end_week: int | None = None
        self.failure_cause: Cause | None = None
        self.failure_mode: FailureMode | None = None
        self.week = WeekLedger()

    # ------------------------------------------------------------------ helpers
    @property
    def cfg(self):
        return self.model.config

    def active_members(self) -> list[Membership]:
        return [m for m in self.members if m.active]

    def _hub_distance(self, values: list[list[float]]) -> float:
        """Mean over active spokes of the mean absolute difference from the hub (slot 0)."""
        hub = values[0]
        total = 0.0
        count = 0.0
        for m in self.members[1:]:
            if not m.active:
                continue
            other = values[m.slot]
            diff = abs(hub[0] - other[0])
            for k in range(1, len(hub)):
                diff = diff + abs(hub[k] - other[k])
            total = total + diff / len(hub)
            count = count + 1.0
        return total / max(count, 1.0)

    def misalignment(self) -> float:
        """How differently the partners weigh the objectives (0 aligned, 1 opposite)."""
        return self._hub_distance([m.incentives for m in self.members])

    def cultural_distance(self) -> float:
        """How differently the partners decide: speed, formality, risk appetite."""
        return self._hub_distance([m.firm.culture for m in self.members])

    def effective_cultural_distance(self) -> float:
        """Mixed teams and a fast track blunt cultural distance (cultural bridging)."""
        distance = self.cultural_distance()
        if self.cfg.governance.cultural_bridging:
            distance = distance * (1.0 - self.cfg.dynamics.bridging_effect)
        return distance

    def expectation_gap(self, t: int) -> float:
        """Mean felt shortfall of experience against expectation over active partners."""
        total = 0.0
        count = 0.0
        for m in self.members:
            if m.active:
                total = total + m.felt_gap(t)
                count = count + 1.0
        return total / count

    def n_active(self) -> float:
        return float(sum(1 for m in self.members if m.active))

    def projected_value(self, m: Membership) -> float:
        """Weekly net value a partner can realistically expect once the alliance is integrated."""
        d = self.cfg.dynamics
        joint = d.value_per_partner * self.n_active() * self.cfg.alliance.complementarity * self.potential
        planned = joint * (d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust)
        return m.share * planned - d.contribution_cost * m.commitment

    def realign(self, fraction: float) -> None:
        """Move every partner's incentives part of the way to the partners' common ground."""
        active = self.active_members()
        count = self.n_active()
        for k in range(len(active[0].incentives)):
            total = 0.0
            for m in active:
                total = total + m.incentives[k]
            mean = total / count
            for m in active:
                m.incentives[k] = m.incentives[k] + fraction * (mean - m.incentives[k])

    def reset_expectations(self, fraction: float) -> None:
        """Make expectations explicit: move them part of the way to what is realistic."""
        for m in self.active_members():
            realistic = self.projected_value(m)
            m.expectation = max(EXPECTATION_FLOOR, m.expectation + fraction * (realistic - m.expectation))

    def _health_index(self) -> float:
        return (
            self.communication
            + self.decision_efficiency
            + self.conflict_resolution
            + self.trust
            + self.value_perception
        ) / 5.0

    def record(self, kind: EventKind, a: int = 0, b: int = -1, x: float = 0.0) -> None:
        """Log an event of this alliance this week (payloads as in sim/events.py)."""
        self.model.events.add_one(self.model.week_index + 1, self.alliance_id, kind, a, b, x)

    # ----------------------------------------------------------------- phases
    def advance_lifecycle(self, t: int) -> None:
        """Discovery, alignment, operational design, then launch as a pilot or at full scale.

        A full launch goes straight to scaled operation. A pilot runs at
        reduced scale for ``pilot_weeks`` and scales up at the first week after
        that in which last week's health clears the gate; partners then give
        the scaled operation ``post_pilot_results_weeks`` before judging it.
        """
        d = self.cfg.dynamics
        self.week = WeekLedger()
        if t < d.discovery_weeks:
            self.phase = Phase.DISCOVERY
        elif t < d.discovery_weeks + d.alignment_weeks:
            self.phase = Phase.ALIGNMENT
        elif t < self.model.launch_week:
            self.phase = Phase.OPERATIONAL_DESIGN
        elif t == self.model.launch_week:
            self.piloting = self.cfg.launch.mode is LaunchMode.PILOT
            self.phase = Phase.LAUNCH if self.piloting else Phase.SCALED_OPERATION
        elif self.piloting:
            lc = self.cfg.launch
            if t >= self.model.launch_week + lc.pilot_weeks and self.health >= lc.pilot_gate_health:
                self.piloting = False
                self.phase = Phase.SCALED_OPERATION
                self.record(EventKind.SCALE_UP)
                due = t + d.post_pilot_results_weeks  # the scaled operation gets time to deliver
                for m in self.members:
                    m.results_week = max(m.results_week, due)

    def drift_incentives_and_expectations(self, t: int, week: WeekLists) -> None:
        """Incentives revert toward each firm's drifting strategy; expectations shift silently.

        A partner's incentives in the alliance are a mean-reverting random walk
        around its firm's strategy, so strategic drift pulls partners apart even
        after a realignment. Expectations creep toward experience and wander;
        nobody announces either change.
        """
        d = self.cfg.dynamics
        volatility = self.cfg.scenario.volatility
        x_sigma = d.incentive_drift * volatility
        e_sigma = d.expectation_drift * volatility
        n = self.alliance_id
        for m in self.active_members():
            strategy = m.firm.strategy
            noise = week.incentive_noise[n][m.slot]
            m.incentives = [
                clip01(x + d.incentive_reversion * (s - x) + x_sigma * z)
                for x, s, z in zip(m.incentives, strategy, noise, strict=True)
            ]
            shifted = m.expectation + d.expectation_adaptation * (m.perceived_value - m.expectation)
            m.expectation = max(EXPECTATION_FLOOR, shifted + e_sigma * week.expectation_noise[n][m.slot])

    def receive_shock(self, t: int, week: WeekLists) -> None:
        """An environmental shock may arrive: it pushes each partner's incentives its own way,
        and, by kind, destroys value potential (regulation or subsidy change), shifts the
        split of value (market share) or sets integration back (technology)."""
        n = self.alliance_id
        sc = self.cfg.scenario
        d = self.cfg.dynamics
        if not week.shock_u[n] < sc.shock_rate:
            return
        size = sc.shock_scale * week.shock_size[n]
        kind_u = week.shock_kind_u[n]
        if kind_u < sc.regulatory_share:
            kind = ShockKind.REGULATORY
        elif kind_u < sc.regulatory_share + sc.market_share_share:
            kind = ShockKind.MARKET_SHARE
        else:
            kind = ShockKind.TECHNOLOGY
        push = d.shock_incentive_push * size
        for m in self.active_members():
            direction = week.shock_direction[n][m.slot]
            m.incentives = [clip01(x + push * z) for x, z in zip(m.incentives, direction, strict=True)]
        if kind is ShockKind.REGULATORY:
            self.potential = max(POTENTIAL_FLOOR, self.potential * (1.0 - min(1.0, d.shock_value_hit * size)))
        elif kind is ShockKind.MARKET_SHARE:
            self._shift_shares(d.shock_share_shift * size, week.shock_direction[n][0][0] >= 0.0)
        else:
            self.integration = self.integration * (1.0 - min(1.0, d.shock_integration_setback * size))
        self.week.shock_size = size
        self.ledger[Cause.EXTERNAL_SHOCK] += d.shock_blame * size
        self.record(EventKind.SHOCK, a=int(kind), x=size)

    def _shift_shares(self, amount: float, toward_hub: bool) -> None:
        """Move value share between the hub (slot 0) and the others, who keep their proportions."""
        lo, hi = SHARE_BOUNDS
        hub = self.members[0]
        old_rest = 1.0 - hub.share
        signed = amount if toward_hub else -amount
        hub.share = min(max(hub.share + signed, lo), hi)
        scale = (1.0 - hub.share) / old_rest
        for m in self.members[1:]:
            if m.active:
                m.share = m.share * scale

    def apply_triggers(self, t: int) -> None:
        """Adaptation-trigger clauses open a renegotiation when a watched signal crosses its
        threshold; without them, partners renegotiate only in a crisis, and only if they
        still trust each other enough to talk."""
        tr = self.cfg.triggers
        d = self.cfg.dynamics
        if t < self.model.charter_week:
            return  # nothing agreed yet, nothing to renegotiate
        if self.renegotiation_left > 0 or t - self.last_renegotiation < tr.cooldown_weeks:
            return
        if self.model.triggers_on:
            shock = self.week.shock_size
            fired = (
                (shock > 0.0 and shock >= tr.shock_threshold)
                or self.health < tr.health_threshold
                or self.misalignment() > tr.misalignment_threshold
            )
            if fired:
                self.renegotiate(t, d.realign_fraction, crisis=False)
                return
        if self.health < d.crisis_health and self.trust >= d.crisis_min_trust:
            self.renegotiate(t, d.realign_fraction * d.crisis_efficacy, crisis=True)

    def renegotiate(self, t: int, fraction: float, crisis: bool) -> None:
        """Realign incentives, expectations and value shares part of the way, and re-scope the
        deal to recover part of the value shocks destroyed (less in a crisis), at the cost of
        weeks of reduced value and of effort."""
        self.realign(fraction)
        self.reset_expectations(fraction)
        count = self.n_active()
        for m in self.active_members():
            m.share = m.share + fraction * (1.0 / count - m.share)
        d = self.cfg.dynamics
        recovery = d.renegotiation_recovery * (d.crisis_efficacy if crisis else 1.0)
        self.potential = self.potential + recovery * (self.model.trend_level - self.potential)
        self.renegotiation_left = self.cfg.dynamics.renegotiation_weeks
        self.renegotiation_planned = not crisis
        self.last_renegotiation = t
        self.renegotiations += 1
        self.record(EventKind.RENEGOTIATION, a=int(crisis))

    def hold_touchpoints(self, t: int) -> None:
        """Governance touchpoints: meetings, working groups, steering committee, health checks.

        They cost effort every time; standing levers cost a little every week.
        Touchpoints are where expectations are made explicit and where strategic
        reviews realign incentives; restoring a shared purpose builds trust in proportion to
        the misalignment removed (see update_trust). Structure institutionalises the
        relationship.
        """
        g = self.cfg.governance
        d = self.cfg.dynamics
        tp: Touchpoints = self.model.touch
        if t < self.model.charter_week:
            return
        effort = 0.0
        if tp.meeting:
            effort = effort + d.meeting_effort
        if tp.working_group:
            effort = effort + d.working_group_effort
        if tp.steering:
            effort = effort + d.steering_effort
        if tp.health_check:
            effort = effort + d.health_check_effort
        effort = effort + d.lever_effort * self.model.standing_levers
        self.week.proactive_effort = effort * self.n_active()
        if g.explicit_expectations and tp.any:
            self.reset_expectations(d.explicit_expectation_rate)
        if g.strategic_alignment and tp.review:
            before = self.misalignment()
            self.realign(d.review_realign_fraction)
            self.week.realigned = before - self.misalignment()
        self.institutionalisation = min(
            1.0, self.institutionalisation + d.institutionalisation_rate * self.model.structure_levers
        )

    def friction_drivers(self, t: int) -> list[float]:
        """The seven sources of friction, each weighted into the issue rate.

        In order: incentive misalignment, cultural distance, expectation gaps,
        measurement misalignment (absent with shared KPIs), integration
        complexity (falls as integration progresses), IP exposure (cut by
        guardrails) and coordination load (partners beyond two; cut by an
        orchestrating hub).
        """
        g = self.cfg.governance
        d = self.cfg.dynamics
        a = self.cfg.alliance
        measurement = 0.0 if g.shared_kpis else self.measurement
        ip = a.ip_exposure * (1.0 - d.guardrail_effect) if g.ip_guardrails else a.ip_exposure
        coordination = a.coordination_load * max(0.0, self.n_active() - 2.0)
        if g.orchestrator:
            coordination = coordination * (1.0 - d.orchestration_effect)
        return [
            d.w_incentive * self.misalignment(),
            d.w_culture * self.effective_cultural_distance(),
            d.w_expectation * self.expectation_gap(t),
            d.w_measurement * measurement,
            d.w_integration * (a.integration_complexity * (1.0 - self.integration)),
            d.w_ip * ip,
            d.w_coordination * coordination,
        ]

    def issue_phase_factor(self, t: int) -> float:
        """Friction before launch is design work; going live at full scale with little
        integration floods the alliance with issues; a pilot keeps the flood small."""
        d = self.cfg.dynamics
        if t < self.model.launch_week:
            return d.prelaunch_issue_factor
        if self.piloting:
            return d.pilot_issue_factor
        return 1.0 + d.full_launch_surge * (1.0 - self.integration)

    def raise_issues(self, t: int, week: WeekLists) -> None:
        """Issues arrive at a rate that grows with every friction (binomial, at most three a week)."""
        d = self.cfg.dynamics
        n = self.alliance_id
        drivers = self.friction_drivers(t)
        total = 0.0
        for c in drivers:
            total = total + c
        if total > 0.0:
            self.week.friction_mix = [c / total for c in drivers]
        rate = d.base_issue_rate * self.issue_phase_factor(t) * (1.0 + total)
        p = min(rate / MAX_NEW_ISSUES, 1.0)
        q = 1.0 - p
        c0 = q * q * q
        c1 = c0 + 3.0 * p * q * q
        c2 = c1 + 3.0 * p * p * q
        u = week.issue_u[n]
        count = int(u >= c0) + int(u >= c1) + int(u >= c2)
        for j in range(count):
            slot = self._free_issue_slot()
            if slot is None:
                self.issues_dropped += 1
                continue
            self.issue_age[slot] = 0
            self.issue_small[slot] = week.severity_u[n][j] < d.small_issue_share
        self.issues_raised += count
        self.week.raised = count

    def _free_issue_slot(self) -> int | None:
        for q, age in enumerate(self.issue_age):
            if age < 0:
                return q
        return None

    def resolve_issues(self, t: int, week: WeekLists) -> None:
        """Open issues are settled through whatever channels the charter provides this week.

        Informal settlement is slowed by cultural distance and by a missing
        champion, sped up by decision rights and by partners' past experience
        together. Meetings, working groups, a steering committee for escalated
        issues, senior sponsors on an escalation path and a fast track for small
        issues each add a chance. Heavy structure slows every channel.
        Remaining issues age; those reaching the escalation age are escalated.
        """
        g = self.cfg.governance
        d = self.cfg.dynamics
        tp: Touchpoints = self.model.touch
        n = self.alliance_id
        count = self.n_active()
        without_champion = 0.0
        for m in self.members:
            if m.active and m.contact_gap > 0:
                without_champion = without_champion + 1.0
        contact_factor = 1.0 - d.contact_drag * (without_champion / count)
        culture_factor = max(0.0, 1.0 - d.culture_drag * self.effective_cultural_distance())
        experience_factor = 1.0 + d.experience_boost * (min(self.experience, 3.0) / 3.0)
        adhoc = d.adhoc_resolve * culture_factor * contact_factor * experience_factor
        if g.decision_rights:
            adhoc = adhoc * (1.0 + d.rights_boost)
        adhoc = min(adhoc, 1.0)
        drag = self.model.structure_slowdown
        meeting = d.rights_meeting_resolve if g.decision_rights else d.meeting_resolve
        resolved = 0
        for q in range(ISSUE_CAPACITY):
            age = self.issue_age[q]
            if age < 0:
                continue
            escalated = g.escalation_path and age >= g.escalation_age_weeks
            miss = 1.0 - adhoc * drag
            if tp.meeting:
                miss = miss * (1.0 - meeting * drag)
            if tp.working_group:
                miss = miss * (1.0 - d.working_group_resolve * drag)
            if escalated and tp.steering:
                miss = miss * (1.0 - d.steering_resolve * drag)
            if escalated:
                miss = miss * (1.0 - d.escalation_resolve * drag)
            if g.cultural_bridging and self.issue_small[q]:
                miss = miss * (1.0 - d.fast_track_resolve * drag)
            if week.resolve_u[n][q] < 1.0 - miss:
                self.issue_age[q] = -1
                resolved += 1
                self.resolution_weeks_total += age + 0.5
        open_count = 0
        escalations = 0
        for q in range(ISSUE_CAPACITY):
            if self.issue_age[q] >= 0:
                self.issue_age[q] += 1
                open_count += 1
                if g.escalation_path and self.issue_age[q] == g.escalation_age_weeks:
                    escalations += 1
        self.resolved_count += resolved
        self.week.resolved = resolved
        self.escalations += escalations
        if escalations:
            self.record(EventKind.ESCALATION, a=escalations)
        self.week.reactive_effort = d.firefight_effort * open_count + d.escalation_effort * escalations

    def create_value(self, t: int, week: WeekLists) -> None:
        """Joint value comes from complementarity, integration and trust, scaled by the launch,
        minus the cost of the week's governance and firefighting effort; each partner keeps
        its share net of what it commits, and perceives value as a moving average of that.
        Progress toward the objectives counts the joint value net of effort.

        Firms split their capacity over the alliances they hold, so commitment
        falls when a firm takes on more; unequal commitment feels inequitable.
        """
        d = self.cfg.dynamics
        n = self.alliance_id
        active = self.active_members()
        count = self.n_active()
        for m in active:
            m.commitment = commitment(m.firm.capacity, m.firm.alliance_load(), d.load_dilution)
        commit_total = 0.0
        for m in active:
            commit_total = commit_total + min(m.commitment, 1.0)
        commit_factor = commit_total / count
        if t >= self.model.launch_week:
            self.integration = (
                self.integration + d.integration_rate * (1.0 - self.integration) * commit_factor
            )
            scale = self.cfg.launch.pilot_scale if self.piloting else 1.0
        else:
            scale = 0.0
        # a pilot is a limited test: partners commit resources at its scale too
        resource_scale = self.cfg.launch.pilot_scale if self.piloting else 1.0
        if self.renegotiation_left > 0:
            renegotiating = 1.0 - d.renegotiation_value_loss
            self.renegotiation_left -= 1
            if self.renegotiation_planned:
                self.week.proactive_effort = self.week.proactive_effort + d.renegotiation_effort
            else:
                self.week.reactive_effort = self.week.reactive_effort + d.renegotiation_effort
        else:
            renegotiating = 1.0
        value = (
            d.value_per_partner
            * count
            * self.cfg.alliance.complementarity
            * self.potential
            * (d.integration_floor + (1.0 - d.integration_floor) * self.integration)
            * (d.trust_floor + (1.0 - d.trust_floor) * self.trust)
            * commit_factor
            * scale
            * renegotiating
            * (1.0 + d.value_noise * week.value_noise[n])
        )
        value = max(0.0, value)
        effort = self.week.proactive_effort + self.week.reactive_effort
        self.effort_proactive += self.week.proactive_effort
        self.effort_reactive += self.week.reactive_effort
        joint_net = value - d.effort_cost * effort
        for m in active:
            net = m.share * joint_net - d.contribution_cost * m.commitment * resource_scale
            m.perceived_value = m.perceived_value + d.perception_rate * (net - m.perceived_value)
            m.value_received += m.share * value
        self.cumulative_value += joint_net / len(self.members)
        self.potential = self.potential * (1.0 + self.cfg.scenario.value_trend)

    def inequity(self) -> float:
        """Relative spread of commitment: give and take out of balance."""
        active = self.active_members()
        count = self.n_active()
        total = 0.0
        for m in active:
            total = total + m.commitment
        mean = total / count
        spread = 0.0
        for m in active:
            spread = spread + abs(m.commitment - mean)
        return spread / count / mean

    def lose_key_contacts(self, t: int, week: WeekLists) -> None:
        """Champions leave at random; until a successor is effective the partner has none.

        A handover protocol shortens the gap to a couple of weeks.
        """
        d = self.cfg.dynamics
        n = self.alliance_id
        gap = d.handover_gap_weeks if self.cfg.governance.handover_protocol else d.contact_gap_weeks
        for m in self.active_members():
            if m.contact_gap > 0:
                m.contact_gap -= 1
            if week.contact_u[n][m.slot] < d.contact_hazard:
                m.contact_gap = gap
                self.week.departures += 1
                self.record(EventKind.KEY_CONTACT_DEPARTURE, a=m.slot)

    def update_trust(self, t: int, week: WeekLists) -> None:
        """Trust grows with settled issues, delivered value, regular contact and strategic
        realignment (a review that reconciles the partners' priorities restores shared purpose,
        in proportion to the misalignment it removes); it erodes with
        every new issue (friction costs goodwill even when settled fast), aging issues, opportunism (tempted by misalignment, exposed IP and, between
        competitors, overlapping capabilities), broken expectations, a lost champion,
        news of a partner's misconduct elsewhere and inequitable commitment.

        ``trust += gain * (1 - trust) - loss * trust`` keeps trust in [0, 1]
        and makes both gains and losses bite less near the bounds. Each loss is
        tallied by cause, which names the primary cause if the alliance fails.
        """
        g = self.cfg.governance
        d = self.cfg.dynamics
        n = self.alliance_id
        count = self.n_active()
        ratio_total = 0.0
        for m in self.members:
            if m.active:
                ratio_total = ratio_total + min(m.value_ratio(t), 2.0)
        surplus = min(1.0, max(0.0, ratio_total / count - 1.0))
        gain = (
            d.trust_per_resolution * self.week.resolved
            + d.trust_per_value * surplus
            + d.trust_per_touchpoint * float(self.model.touch.any and t >= self.model.charter_week)
            + d.trust_per_realignment * self.week.realigned
        )
        aged = 0.0
        for q in range(ISSUE_CAPACITY):
            age = self.issue_age[q]
            if age > d.aging_grace_weeks:
                aged = aged + (0.5 if self.issue_small[q] else 1.0)
        misalignment = self.misalignment()
        ip = self.cfg.alliance.ip_exposure
        if g.ip_guardrails:
            ip = ip * (1.0 - d.guardrail_effect)
        temptation = min(1.0, misalignment + ip + d.overlap_temptation * self.cfg.alliance.capability_overlap)
        acts = 0.0
        reputation_drop = 0.0
        for m in self.members:
            if not m.active:
                continue
            if week.opportunism_u[n][m.slot] < d.opportunism_rate * temptation:
                acts = acts + 1.0
            reputation_drop = reputation_drop + m.firm.reputation_drop
        contact = d.trust_per_contact_loss * (1.0 - self.institutionalisation)
        if g.handover_protocol:
            contact = contact * (1.0 - d.handover_effect)
        losses = [
            d.trust_per_aged_issue * aged,
            d.trust_per_opportunism * acts,
            d.trust_per_gap * self.expectation_gap(t),
            contact * self.week.departures,
            d.trust_per_reputation_drop * reputation_drop,
            d.trust_per_inequity * self.inequity(),
            d.trust_per_issue * self.week.raised,
        ]
        total = 0.0
        for x in losses:
            total = total + x
        loss = min(1.0, total)
        gain = min(1.0, gain)
        before = self.trust
        self.trust = before + gain * (1.0 - before) - loss * before
        mix = self.week.friction_mix
        aging_damage = losses[0] * before
        for c in range(N_FRICTION_DRIVERS):
            self.ledger[c] += aging_damage * mix[c]
        arrival_damage = losses[6] * before
        for c in range(N_FRICTION_DRIVERS):
            self.ledger[c] += arrival_damage * mix[c]
        self.ledger[Cause.OPPORTUNISM] += losses[1] * before
        self.ledger[Cause.EXPECTATION_GAP] += losses[2] * before
        self.ledger[Cause.KEY_CONTACT_LOSS] += losses[3] * before
        self.ledger[Cause.PARTNER_REPUTATION] += losses[4] * before
        self.ledger[Cause.INEQUITY] += losses[5] * before

    def update_health(self, t: int) -> None:
        """The relationship health index: the mean of communication, decision efficiency,
        conflict resolution, trust and value perception, each a moving average of this
        week's signal."""
        d = self.cfg.dynamics
        count = self.n_active()
        without_champion = 0.0
        for m in self.members:
            if m.active and m.contact_gap > 0:
                without_champion = without_champion + 1.0
        open_count = 0
        age_total = 0.0
        for age in self.issue_age:
            if age >= 0:
                open_count += 1
                age_total = age_total + age
        touch = float(self.model.touch.any and t >= self.model.charter_week)
        communication = clip01(
            d.communication_base
            + d.communication_touchpoint * touch
            - d.communication_contact * (without_champion / count)
            - d.communication_issue * open_count
        )
        mean_age = age_total / open_count if open_count else 0.0
        decision = 1.0 / (1.0 + mean_age / d.decision_age_scale)
        handled = self.week.resolved + open_count
        conflict = self.week.resolved / handled if handled else 1.0
        value = 1.0 - self.expectation_gap(t)
        r = d.health_rate
        self.communication = self.communication + r * (communication - self.communication)
        self.decision_efficiency = self.decision_efficiency + r * (decision - self.decision_efficiency)
        self.conflict_resolution = self.conflict_resolution + r * (conflict - self.conflict_resolution)
        self.value_perception = self.value_perception + r * (value - self.value_perception)
        self.health = self._health_index()

    def check_endings(self, t: int) -> None:
        """Trust collapse, a partner's exit after a sustained shortfall against its outside
        option, a deliberate ending after consecutive failing reviews or, at a strategic
        review, by agreement when a partner no longer fits, or a sunset."""
        d = self.cfg.dynamics
        if self.trust < d.collapse_trust:
            for m in self.active_members():
                m.firm.collapses_this_week += 1
            self.fail(t, FailureMode.TRUST_COLLAPSE)
            return
        outside_factor = self.model.outside_factor
        hub_left = False
        for m in self.active_members():
            if m.expects_results(t) and m.perceived_value < m.firm.outside_option * outside_factor:
                m.shortfall_weeks += 1
            else:
                m.shortfall_weeks = 0
            if m.shortfall_weeks >= d.exit_patience:
                m.active = False
                m.firm.exits_this_week += 1
                self.record(EventKind.PARTNER_EXIT, a=m.slot)
                hub_left = hub_left or m.slot == 0
        if hub_left or self._too_few_spokes():
            self.fail(t, FailureMode.PARTNER_EXIT)
            return
        if len(self.members) > 2:
            self._renormalise_shares()
        if self.model.touch.review and t >= self.model.charter_week:
            if self.termination_criteria_failing(t) >= d.termination_criteria:
                self.failing_reviews += 1
            else:
                self.failing_reviews = 0
            if self.failing_reviews >= d.termination_reviews:
                self.end(t, Outcome.TERMINATED)
                return
            if self.cfg.governance.strategic_alignment and self.agreed_wind_down():
                self.end(t, Outcome.TERMINATED)
                return
        if t + 1 == self.cfg.governance.sunset_week:
            self.end(t, Outcome.SUCCESS if self.objectives_met() else Outcome.TERMINATED)

    def objectives_met(self) -> bool:
        """The objectives are met once cumulative value per partner reaches the target."""
        return self.cumulative_value >= self.cfg.alliance.objective_value

    def close_at_horizon(self) -> None:
        """Still running at the horizon: a success if the objectives are met, else underperforming."""
        self.outcome = Outcome.SUCCESS if self.objectives_met() else Outcome.UNDERPERFORMING

    def termination_criteria_failing(self, t: int) -> int:
        """How many of the charter's termination criteria fail at a review: alignment,
        value, relationship health and opportunity cost (partners would do better alone)."""
        d = self.cfg.dynamics
        outside_factor = self.model.outside_factor
        surplus = 0.0
        for m in self.members:
            if m.active:
                surplus = surplus + (m.perceived_value - m.firm.outside_option * outside_factor)
        return (
            int(self.misalignment() > d.termination_misalignment)
            + int(self.value_perception < d.termination_value)
            + int(self.health < d.termination_health)
            + int(surplus < 0.0)
        )

    def agreed_wind_down(self) -> bool:
        """At a strategic review a partner whose shortfall against its outside option has used
        ``agreed_exit_fraction`` of its exit patience says it no longer fits; if its leaving
        would end the alliance (either partner of a dyad, the hub, or so many spokes that too
        few remain), the partners wind the alliance down by agreement instead of waiting for
        the walk-out."""
        d = self.cfg.dynamics
        threshold = d.agreed_exit_fraction * d.exit_patience
        if self.members[0].active and self.members[0].shortfall_weeks >= threshold:
            return True
        remaining = sum(1 for m in self.members[1:] if m.active and m.shortfall_weeks < threshold)
        return too_few_spokes(remaining, len(self.members) - 1)

    def _too_few_spokes(self) -> bool:
        """A dyad fails when either partner leaves; an ecosystem when fewer than half its
        spokes remain."""
        remaining = sum(1 for m in self.members[1:] if m.active)
        return too_few_spokes(remaining, len(self.members) - 1)

    def _renormalise_shares(self) -> None:
        total = 0.0
        for m in self.members:
            if m.active:
                total = total + m.share
        for m in self.members:
            if m.active:
                m.share = m.share / total

    def fail(self, t: int, mode: FailureMode) -> None:
        best = 0
        for c in range(1, N_CAUSES):
            if self.ledger[c] > self.ledger[best]:
                best = c
        self.failure_cause = Cause(best)
        self.failure_mode = mode
        self.end(t, Outcome.FAILED)

    def end(self, t: int, outcome: Outcome) -> None:
        self.alive = False
        self.outcome = outcome
        self.end_week = t + 1
        code = -1
        if self.failure_mode is not None and self.failure_cause is not None:
            code = list(FailureMode).index(self.failure_mode) * ENDING_CODE_BASE + int(self.failure_cause)
        self.record(EventKind.ENDING, a=OUTCOMES.index(outcome), b=code)

    def open_issues(self) -> int:
        return sum(1 for age in self.issue_age if age >= 0)
