"""Unit tests of each mechanism of the Mesa engine against scripted partners.

Each test builds a three-alliance model, sets the state of one alliance (or
firm) by hand, scripts the week's random numbers and context (``quiet_week``),
runs one mechanism (an agent's verb method, or a function of
``sim.mechanisms`` the verbs call) and compares the result with the value
computed by hand from the mechanism's docstring and formula, and with its
meaning in the domain.
"""

from __future__ import annotations

import pytest
from conftest import NO_TOUCHPOINT, at_week, events_of, fresh, quiet_week, tiny_model

from sim.engines.mesa_agents import Alliance, Firm
from sim.levers import governance_intensity
from sim.mechanisms.endings import termination_criteria_failing
from sim.mechanisms.issues import friction_drivers, issue_phase_factor
from sim.mechanisms.partners import cultural_distance, effective_cultural_distance, expectation_gap
from sim.mechanisms.triggers import renegotiate
from sim.params import GovernanceParams, MeetingCadence
from sim.vocabulary import (
    EXPECTATION_FLOOR,
    POTENTIAL_FLOOR,
    SHARE_BOUNDS,
    Cause,
    FailureMode,
    Outcome,
    Phase,
    Touchpoints,
)

ALL_TOUCHPOINTS = Touchpoints(meeting=True, working_group=True, steering=True, health_check=True)
MEETING_ONLY = Touchpoints(meeting=True, working_group=False, steering=False, health_check=False)
REVIEW_ONLY = Touchpoints(meeting=False, working_group=False, steering=False, health_check=True)


def firm_of(alliance: Alliance, slot: int) -> Firm:
    """The partner firm in ``slot`` of ``alliance``."""
    return alliance.model.firms[alliance.firm[slot]]


def slots(alliance: Alliance) -> range:
    return range(alliance.firm.shape[0])


def set_incentives(alliance: Alliance, *vectors: list[float]) -> None:
    for slot, vector in zip(slots(alliance), vectors, strict=True):
        alliance.incentives[slot] = vector


def set_cultures(alliance: Alliance, *vectors: list[float]) -> None:
    """Set the partner firms' cultures; the alliance gathers them as at the start of a week."""
    for slot, vector in zip(slots(alliance), vectors, strict=True):
        firm_of(alliance, slot).culture[:] = vector
    alliance.gather_partner_values()


def friction_at(alliance: Alliance, t: int) -> tuple[float, ...]:
    """The weighted friction drivers of ``alliance`` in week ``t``."""
    model = alliance.model
    return friction_drivers(alliance, at_week(model, t), model.params)


def planned_value(model, alliance: Alliance) -> float:
    """What the partners plan on jointly, by hand: value per partner x partners x
    complementarity x potential x the value share produced at planning trust."""
    d = model.config.dynamics
    n_active = sum(bool(active) for active in alliance.active)
    trust_factor = d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust
    return (
        d.value_per_partner
        * n_active
        * model.config.alliance.complementarity
        * alliance.potential
        * trust_factor
    )


# --------------------------------------------------------------------------- firms
class TestFirmDrift:
    def test_strategy_and_culture_take_one_scaled_random_step(self):
        """Strategy moves by strategy_drift x volatility x noise, culture by culture_drift x
        volatility x noise, each clipped to [0, 1]; firms with no noise stay put."""
        model = tiny_model(scenario={"volatility": 2.0})
        d = model.config.dynamics
        firm, other = model.firms[1], model.firms[0]
        firm.strategy[:] = [0.5, 0.2, 0.999, 0.0]
        firm.core[:] = firm.strategy  # at its core: no pull back this week
        firm.culture[:] = [0.5, 0.5, 0.5]
        other_strategy, other_culture = other.strategy.tolist(), other.culture.tolist()
        quiet_week(model)
        model.draws.strategy_noise[:, 1] = [1.0, -2.0, 1.0, -1.0]
        model.draws.culture_noise[:, 1] = [0.5, 0.0, -1.0]

        firm.drift()
        other.drift()

        s = d.strategy_drift * 2.0
        c = d.culture_drift * 2.0
        assert firm.strategy == pytest.approx([0.5 + s, 0.2 - 2 * s, 1.0, 0.0])
        assert firm.culture == pytest.approx([0.5 + 0.5 * c, 0.5, 0.5 - c])
        assert other.strategy.tolist() == other_strategy
        assert other.culture.tolist() == other_culture

    def test_strategy_is_pulled_back_toward_the_firms_core(self):
        """Away from its core, a firm's strategy reverts by strategy_anchoring of the gap a week."""
        model = tiny_model(scenario={"volatility": 0.0})
        d = model.config.dynamics
        firm = model.firms[1]
        firm.core[:] = [0.5, 0.5, 0.5, 0.5]
        firm.strategy[:] = [0.9, 0.1, 0.5, 0.7]
        quiet_week(model)
        firm.drift()
        k = d.strategy_anchoring
        assert firm.strategy == pytest.approx([0.9 - 0.4 * k, 0.1 + 0.4 * k, 0.5, 0.7 - 0.2 * k])

    def test_a_firm_starts_at_its_core(self):
        model = tiny_model()
        start = model.firms[0].core.copy()
        assert model.firms[0].strategy == pytest.approx(start)

    def test_calm_environment_without_volatility_freezes_strategy(self):
        """Volatility multiplies every drift: at zero volatility firms do not drift at all."""
        model = tiny_model(scenario={"volatility": 0.0})
        firm = model.firms[0]
        before = firm.strategy.tolist()
        quiet_week(model)
        model.draws.strategy_noise[:, 0] = [3.0, -3.0, 3.0, -3.0]
        firm.drift()
        assert firm.strategy.tolist() == before


class TestSettleReputation:
    def test_exits_and_collapses_cost_reputation_once(self):
        """Reputation falls by exits x reputation_exit_loss + collapses x reputation_collapse_loss;
        the drop is remembered for one week (partners elsewhere notice it) and counters reset."""
        model = tiny_model()
        d = model.config.dynamics
        firm = model.firms[0]
        firm.reputation = 0.6
        firm.exits_this_week = 1
        firm.collapses_this_week = 2
        firm.settle_reputation()
        drop = d.reputation_exit_loss + 2 * d.reputation_collapse_loss
        assert firm.reputation == pytest.approx(0.6 - drop)
        assert firm.reputation_drop == pytest.approx(drop)
        assert (firm.exits_this_week, firm.collapses_this_week) == (0, 0)
        firm.settle_reputation()  # a quiet week: nothing new to notice
        assert firm.reputation == pytest.approx(0.6 - drop)
        assert firm.reputation_drop == 0.0

    def test_reputation_never_falls_below_zero(self):
        model = tiny_model()
        firm = model.firms[0]
        firm.reputation = 0.05
        firm.exits_this_week = 3
        firm.settle_reputation()
        assert firm.reputation == 0.0


# ---------------------------------------------------------------------- lifecycle
class TestLifecycle:
    def test_phases_follow_the_calendar_of_a_full_launch(self):
        """Discovery, alignment and operational design take their configured weeks; a full
        launch goes straight to scaled operation at the launch week."""
        model = tiny_model()
        d = model.config.dynamics
        a = model.alliances[0]
        launch = d.discovery_weeks + d.alignment_weeks + d.design_weeks
        assert model.context.launch_week == launch
        expected = {
            0: Phase.DISCOVERY,
            d.discovery_weeks - 1: Phase.DISCOVERY,
            d.discovery_weeks: Phase.ALIGNMENT,
            d.discovery_weeks + d.alignment_weeks: Phase.OPERATIONAL_DESIGN,
            launch - 1: Phase.OPERATIONAL_DESIGN,
            launch: Phase.SCALED_OPERATION,
            launch + 30: Phase.SCALED_OPERATION,
        }
        for t, phase in sorted(expected.items()):
            quiet_week(model, t=t)
            a.advance_lifecycle()
            assert a.lifecycle_phase() == phase, t
        assert not a.piloting

    def test_pilot_scales_up_only_after_pilot_weeks_and_when_health_clears_the_gate(self):
        """A pilot runs at least pilot_weeks; it scales up at the first later week in which
        last week's health is at least pilot_gate_health, and logs a scale-up."""
        model = tiny_model(launch={"mode": "pilot", "pilot_weeks": 10, "pilot_gate_health": 0.5})
        a = model.alliances[0]
        launch = model.context.launch_week
        quiet_week(model, t=launch)
        a.advance_lifecycle()
        assert a.piloting and a.lifecycle_phase() == Phase.LAUNCH

        a.health = 0.9  # healthy, but the pilot is not over yet
        quiet_week(model, t=launch + 9)
        a.advance_lifecycle()
        assert a.piloting

        a.health = 0.49  # pilot over, but health misses the gate
        quiet_week(model, t=launch + 10)
        a.advance_lifecycle()
        assert a.piloting
        assert len(events_of(model)) == 0

        a.health = 0.5
        quiet_week(model, t=launch + 11)
        a.advance_lifecycle()
        assert not a.piloting
        assert a.lifecycle_phase() == Phase.SCALED_OPERATION
        events = events_of(model)
        assert list(events["kind"]) == ["scale_up"]
        assert list(events["alliance_id"]) == [0]

    def test_lifecycle_starts_the_week_afresh(self):
        """What the previous week recorded for later phases of its own week is cleared."""
        model = tiny_model()
        a = model.alliances[0]
        a.resolved = 5
        a.shock_size = 0.3
        quiet_week(model, t=20)
        a.advance_lifecycle()
        assert a.resolved == 0
        assert a.shock_size == 0.0


# ------------------------------------------------------------------------- drift
class TestIncentiveAndExpectationDrift:
    def test_incentives_revert_to_strategy_and_expectations_shift_silently(self):
        """x' = clip(x + incentive_reversion (s - x) + incentive_drift volatility z) and
        e' = max(floor, e + expectation_adaptation (perceived - e) + expectation_drift volatility z)."""
        model = tiny_model(scenario={"volatility": 1.5})
        d = model.config.dynamics
        a = model.alliances[0]
        firm_of(a, 0).strategy[:] = [0.8, 0.2, 0.5, 0.5]
        a.gather_partner_values()
        a.incentives[0] = [0.2, 0.8, 0.5, 0.5]
        a.expectation[0], a.perceived_value[0] = 0.5, 0.1
        draws = quiet_week(model, t=30)
        draws[0].incentive_noise[:, 0] = [1.0, 0.0, 0.0, -1.0]
        draws[0].expectation_noise[0] = 2.0

        a.drift_incentives_and_expectations()

        r, sx, se = d.incentive_reversion, d.incentive_drift * 1.5, d.expectation_drift * 1.5
        assert a.incentives[0] == pytest.approx([0.2 + r * 0.6 + sx, 0.8 - r * 0.6, 0.5, 0.5 - sx])
        assert a.expectation[0] == pytest.approx(0.5 + d.expectation_adaptation * (0.1 - 0.5) + se * 2.0)

    def test_without_noise_incentives_close_part_of_the_gap_to_strategy(self):
        """Mean reversion: the distance to the firm's strategy shrinks by exactly (1 - reversion)."""
        model = tiny_model()
        d = model.config.dynamics
        a = model.alliances[0]
        firm = firm_of(a, 1)
        firm.strategy[:] = [0.9, 0.1, 0.6, 0.3]
        a.gather_partner_values()
        a.incentives[1] = [0.1, 0.9, 0.6, 0.7]
        quiet_week(model, t=30)
        a.drift_incentives_and_expectations()
        gaps = [s - x for s, x in zip(firm.strategy, a.incentives[1], strict=True)]
        assert gaps == pytest.approx([(1 - d.incentive_reversion) * g for g in (0.8, -0.8, 0.0, -0.4)])

    def test_expectations_never_fall_below_the_floor(self):
        model = tiny_model()
        a = model.alliances[0]
        a.expectation[0], a.perceived_value[0] = 0.011, -50.0
        quiet_week(model, t=30)
        a.drift_incentives_and_expectations()
        assert a.expectation[0] == EXPECTATION_FLOOR

    def test_a_partner_who_left_no_longer_drifts(self):
        model = tiny_model(alliance={"type": "ecosystem", "spokes": 3})
        a = model.alliances[0]
        a.active[2] = False
        before = (a.incentives[2].tolist(), a.expectation[2])
        draws = quiet_week(model, t=30)
        draws[0].incentive_noise[:, 2] = 1.0
        draws[0].expectation_noise[2] = 1.0
        a.drift_incentives_and_expectations()
        assert (a.incentives[2].tolist(), a.expectation[2]) == before


# ------------------------------------------------------------------------ shocks
SHOCK_SCENARIO = {
    "shock_rate": 0.5,
    "shock_scale": 0.2,
    "regulatory_share": 0.4,
    "market_share_share": 0.3,
}


def shocked(kind_u: float, size_draw: float = 1.5, shock_u: float = 0.1, direction=(1.0, -1.0)):
    """Model and its alliance 0 with incentives all 0.5, in the scripted shock week 10."""
    model = tiny_model(scenario=SHOCK_SCENARIO)
    a = fresh(model.alliances[0])
    set_incentives(a, [0.5] * 4, [0.5] * 4)
    a.integration = 0.5
    w = quiet_week(model, t=10)[0]
    w.shock_u = shock_u
    w.shock_size = size_draw
    w.shock_kind_u = kind_u
    w.shock_direction[:, 0] = [direction[0], 0.0, 0.0, 0.0]
    w.shock_direction[:, 1] = [0.0, direction[1], 0.0, 0.0]
    return model, a


class TestShocks:
    def test_no_shock_unless_the_uniform_is_below_the_rate(self):
        model, a = shocked(kind_u=0.1, shock_u=0.5)  # 0.5 is not < shock_rate 0.5
        a.receive_shock()
        assert a.potential == 1.0
        assert a.shock_size == 0.0
        assert a.ledger[Cause.EXTERNAL_SHOCK] == 0.0
        assert len(events_of(model)) == 0

    def test_regulatory_shock_destroys_potential_and_pushes_incentives_apart(self):
        """size = shock_scale x exponential draw; incentives move by shock_incentive_push x size
        x direction; potential falls by shock_value_hit x size; the shock is blamed and logged."""
        model, a = shocked(kind_u=0.1)
        d = model.config.dynamics
        a.receive_shock()
        size = 0.2 * 1.5
        push = d.shock_incentive_push * size
        assert a.shock_size == pytest.approx(size)
        assert a.incentives[0] == pytest.approx([0.5 + push, 0.5, 0.5, 0.5])
        assert a.incentives[1] == pytest.approx([0.5, 0.5 - push, 0.5, 0.5])
        assert a.potential == pytest.approx(1.0 - d.shock_value_hit * size)
        assert a.integration == 0.5
        assert a.ledger[Cause.EXTERNAL_SHOCK] == pytest.approx(d.shock_blame * size)
        assert a.misalignment() > 0.0
        events = events_of(model)
        assert list(events["kind"]) == ["shock"]
        assert events["detail"].iloc[0] == f"regulatory size={size:.3f}"

    @pytest.mark.parametrize(("hub_direction", "hub_share"), [(1.0, 0.5 + 0.15), (-1.0, 0.5 - 0.15)])
    def test_market_share_shock_moves_value_between_hub_and_partner(self, hub_direction, hub_share):
        """A market-share shock shifts shock_share_shift x size of the value split toward the
        hub (or away from it, by the sign of its direction); shares still sum to one."""
        model, a = shocked(kind_u=0.5, direction=(hub_direction, 1.0))
        d = model.config.dynamics
        a.receive_shock()
        assert d.shock_share_shift * 0.3 == pytest.approx(0.15)
        assert a.share[0] == pytest.approx(hub_share)
        assert a.share[1] == pytest.approx(1.0 - hub_share)
        assert a.potential == 1.0
        assert events_of(model)["detail"].iloc[0].startswith("market_share")

    def test_technology_shock_sets_integration_back(self):
        model, a = shocked(kind_u=0.9)
        d = model.config.dynamics
        a.receive_shock()
        assert a.integration == pytest.approx(0.5 * (1.0 - d.shock_integration_setback * 0.3))
        assert a.potential == 1.0
        assert events_of(model)["detail"].iloc[0].startswith("technology")

    def test_huge_shocks_are_bounded(self):
        """Potential never falls below POTENTIAL_FLOOR; shares stay within SHARE_BOUNDS."""
        _, a = shocked(kind_u=0.1, size_draw=100.0)
        a.receive_shock()
        assert a.potential == POTENTIAL_FLOOR
        _, a = shocked(kind_u=0.5, size_draw=100.0)
        a.receive_shock()
        assert a.share[0] == SHARE_BOUNDS[1]
        assert a.share[1] == pytest.approx(1.0 - SHARE_BOUNDS[1])


# ------------------------------------------------------------ triggers, renegotiation
def calm_alliance(model) -> Alliance:
    """Alliance 0, healthy, aligned and trusting, with no renegotiation pending."""
    a = fresh(model.alliances[0])
    set_incentives(a, [0.5] * 4, [0.5] * 4)
    a.health = 0.8
    a.trust = 0.6
    return a


def apply_triggers(a: Alliance, t: int) -> None:
    """Run the trigger phase of week ``t`` (quiet) on ``a``."""
    quiet_week(a.model, t=t)
    a.apply_triggers()


class TestTriggersAndRenegotiation:
    def test_shock_above_threshold_triggers_a_renegotiation_and_below_does_not(self):
        """A trigger clause opens a renegotiation after a shock at least shock_threshold."""
        model = tiny_model(governance={"adaptation_triggers": True})
        tr = model.config.triggers
        below = calm_alliance(model)
        below.shock_size = tr.shock_threshold * 0.9
        apply_triggers(below, 40)
        assert below.renegotiations == 0
        assert below.renegotiation_left == 0

        above = calm_alliance(model)
        above.shock_size = tr.shock_threshold * 1.1
        apply_triggers(above, 40)
        assert above.renegotiations == 1
        assert above.renegotiation_left == model.config.dynamics.renegotiation_weeks
        assert above.last_renegotiation == 40
        events = events_of(model)
        assert list(events["kind"]) == ["renegotiation"]
        assert list(events["detail"]) == ["trigger"]

    def test_nothing_to_renegotiate_before_the_charter(self):
        model = tiny_model(governance={"adaptation_triggers": True})
        a = calm_alliance(model)
        a.shock_size = 1.0
        a.health = 0.0
        apply_triggers(a, model.context.charter_week - 1)
        assert a.renegotiations == 0
        apply_triggers(a, model.context.charter_week)
        assert a.renegotiations == 1

    def test_without_trigger_clauses_a_shock_changes_nothing(self):
        model = tiny_model(governance={"adaptation_triggers": False})
        a = calm_alliance(model)
        a.shock_size = 1.0
        apply_triggers(a, 40)
        assert a.renegotiations == 0

    def test_triggers_off_overrides_a_design_that_includes_them(self):
        """triggers.enabled = false switches the clauses off whatever the design says."""
        model = tiny_model(governance={"adaptation_triggers": True}, triggers={"enabled": False})
        a = calm_alliance(model)
        a.shock_size = 1.0
        apply_triggers(a, 40)
        assert a.renegotiations == 0

    def test_health_and_misalignment_triggers(self):
        """Health below health_threshold, or misalignment above misalignment_threshold, also fires."""
        model = tiny_model(governance={"adaptation_triggers": True})
        tr = model.config.triggers
        sick = calm_alliance(model)
        sick.health = tr.health_threshold - 0.01
        apply_triggers(sick, 40)
        assert sick.renegotiations == 1

        model = tiny_model(governance={"adaptation_triggers": True})
        apart = calm_alliance(model)
        set_incentives(apart, [0.9, 0.1, 0.9, 0.1], [0.1, 0.9, 0.1, 0.9])
        assert apart.misalignment() == pytest.approx(0.8)
        apply_triggers(apart, 40)
        assert apart.renegotiations == 1

    def test_cooldown_and_ongoing_renegotiation_block_a_new_one(self):
        model = tiny_model(governance={"adaptation_triggers": True})
        tr = model.config.triggers
        recent = calm_alliance(model)
        recent.shock_size = 1.0
        recent.last_renegotiation = 40 - tr.cooldown_weeks + 1
        apply_triggers(recent, 40)
        assert recent.renegotiations == 0
        recent.last_renegotiation = 40 - tr.cooldown_weeks
        apply_triggers(recent, 40)
        assert recent.renegotiations == 1

        busy = calm_alliance(tiny_model(governance={"adaptation_triggers": True}))
        busy.shock_size = 1.0
        busy.renegotiation_left = 1
        apply_triggers(busy, 40)
        assert busy.renegotiations == 0

    def test_without_triggers_crisis_renegotiation_needs_enough_trust(self):
        """Health below crisis_health opens a (less effective) crisis renegotiation, but only
        if trust is at least crisis_min_trust; a merely weak alliance is left alone."""
        model = tiny_model()
        d = model.config.dynamics
        weak = calm_alliance(model)
        weak.health = d.crisis_health + 0.05
        apply_triggers(weak, 40)
        assert weak.renegotiations == 0

        distrustful = calm_alliance(model)
        distrustful.health = d.crisis_health - 0.05
        distrustful.trust = d.crisis_min_trust - 0.01
        apply_triggers(distrustful, 40)
        assert distrustful.renegotiations == 0

        crisis = calm_alliance(model)
        crisis.health = d.crisis_health - 0.05
        crisis.trust = d.crisis_min_trust
        set_incentives(crisis, [1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5])
        apply_triggers(crisis, 40)
        assert crisis.renegotiations == 1
        f = d.realign_fraction * d.crisis_efficacy
        assert crisis.incentives[0] == pytest.approx([1.0 - 0.5 * f, 0.5 * f, 0.5, 0.5])
        assert list(events_of(model)["detail"]) == ["crisis"]

    def test_renegotiation_realigns_incentives_expectations_and_shares(self):
        """Renegotiating with fraction f moves incentives f of the way to the partners' mean,
        expectations f of the way to the realistic projected value, and shares f of the way
        to an equal split; it then costs renegotiation_weeks of reduced value."""
        model = tiny_model(governance={"adaptation_triggers": True}, dynamics={"realign_fraction": 0.5})
        d = model.config.dynamics
        a = calm_alliance(model)
        set_incentives(a, [1.0, 0.0, 0.5, 0.2], [0.0, 1.0, 0.5, 0.6])
        a.share[:] = [0.7, 0.3]
        a.expectation[:] = [2.0, 0.02]
        a.potential = 0.9
        planned = planned_value(model, a)
        realistic = [a.share[slot] * planned - d.contribution_cost * a.commitment[slot] for slot in slots(a)]

        a.shock_size = 1.0
        apply_triggers(a, 40)

        assert a.incentives[0] == pytest.approx([0.75, 0.25, 0.5, 0.3])
        assert a.incentives[1] == pytest.approx([0.25, 0.75, 0.5, 0.5])
        assert a.expectation[0] == pytest.approx(max(EXPECTATION_FLOOR, 2.0 + 0.5 * (realistic[0] - 2.0)))
        assert a.expectation[1] == pytest.approx(max(EXPECTATION_FLOOR, 0.02 + 0.5 * (realistic[1] - 0.02)))
        assert (a.share[0], a.share[1]) == pytest.approx((0.6, 0.4))
        assert a.renegotiation_left == d.renegotiation_weeks

    def test_crisis_renegotiation_is_logged_as_firefighting(self):
        """Called directly: a crisis renegotiation is logged as such, and its weeks of effort
        count as reactive (not planned) work."""
        model = tiny_model()
        a = calm_alliance(model)
        a.share[:] = [0.8, 0.2]
        renegotiate(a, at_week(model, 40), model.params, 0.25, True)
        assert (a.share[0], a.share[1]) == pytest.approx((0.725, 0.275))
        assert a.renegotiations == 1
        assert not a.renegotiation_planned
        assert list(events_of(model)["detail"]) == ["crisis"]


# ------------------------------------------------------------------- touchpoints
RICH_GOVERNANCE = {
    "meeting_cadence": "biweekly",
    "steering_committee": True,
    "health_check_weeks": 13,
    "decision_rights": True,
    "explicit_expectations": True,
    "strategic_alignment": True,
}


def hold_touchpoints(a: Alliance, t: int, touch: Touchpoints) -> None:
    """Run the touchpoint phase of week ``t`` (quiet, with touchpoints ``touch``) on ``a``."""
    quiet_week(a.model, t=t, touch=touch)
    a.hold_touchpoints()


class TestTouchpoints:
    def test_touchpoints_cost_effort_realign_and_institutionalise(self):
        """Effort per partner = meeting + working group + steering + health check efforts +
        lever_effort x standing levers; expectations move explicit_expectation_rate toward the
        realistic value; a review realigns by review_realign_fraction; institutionalisation
        grows by institutionalisation_rate x structure levers (meetings 1, steering 2, checks 1)."""
        model = tiny_model(governance=RICH_GOVERNANCE)
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        set_incentives(a, [1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5])
        a.expectation[0] = 1.5
        a.institutionalisation = 0.2
        realistic = 0.5 * planned_value(model, a) - d.contribution_cost * a.commitment[0]

        hold_touchpoints(a, 20, ALL_TOUCHPOINTS)

        standing = 1  # strategic alignment (decision rights and explicit expectations are set up once)
        per_partner = (
            d.meeting_effort
            + d.working_group_effort
            + d.steering_effort
            + d.health_check_effort
            + d.lever_effort * standing
        )
        assert a.proactive_effort == pytest.approx(2 * per_partner)
        rate = d.explicit_expectation_rate
        assert a.expectation[0] == pytest.approx(1.5 + rate * (realistic - 1.5))
        f = d.review_realign_fraction
        assert a.incentives[0] == pytest.approx([1.0 - 0.5 * f, 0.5 * f, 0.5, 0.5])
        assert a.institutionalisation == pytest.approx(0.2 + d.institutionalisation_rate * 4)

    def test_a_realignment_records_the_misalignment_it_removes(self):
        """In a dyad realigning by f leaves (1 - f) of the gap: f x misalignment is removed."""
        model = tiny_model(governance={"strategic_alignment": True, "health_check_weeks": 4})
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        set_incentives(a, [1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5])  # misalignment 0.5
        hold_touchpoints(a, 20, REVIEW_ONLY)
        assert a.realigned == pytest.approx(d.review_realign_fraction * 0.5)
        b = fresh(tiny_model(governance={"health_check_weeks": 4}).alliances[0])
        set_incentives(b, [1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5])
        hold_touchpoints(b, 20, REVIEW_ONLY)
        assert b.realigned == 0.0  # a review without strategic alignment realigns nothing

    def test_a_week_without_touchpoints_costs_only_the_standing_levers(self):
        model = tiny_model(governance=RICH_GOVERNANCE)
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        set_incentives(a, [1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5])
        expectation = a.expectation[0]
        hold_touchpoints(a, 21, NO_TOUCHPOINT)
        assert a.proactive_effort == pytest.approx(2 * d.lever_effort * 1)
        assert a.expectation[0] == expectation
        assert a.incentives[0].tolist() == [1.0, 0.0, 0.5, 0.5]

    def test_an_orchestrating_hub_costs_effort_only_in_an_ecosystem(self):
        """There is nothing to orchestrate in a dyad, so the lever costs nothing there."""
        dyad = tiny_model(governance={"orchestrator": True})
        hub = tiny_model(governance={"orchestrator": True}, alliance={"type": "ecosystem", "spokes": 3})
        d = dyad.config.dynamics
        for model in (dyad, hub):
            hold_touchpoints(fresh(model.alliances[0]), 21, NO_TOUCHPOINT)
        assert dyad.alliances[0].proactive_effort == 0.0
        assert hub.alliances[0].proactive_effort == pytest.approx(4 * d.lever_effort)

    def test_an_orchestrating_hub_institutionalises_only_an_ecosystem(self):
        """The hub's team holds the ties between spokes, so key-contact losses hurt less there;
        in a dyad it institutionalises nothing."""
        dyad = tiny_model(governance={"orchestrator": True})
        hub = tiny_model(governance={"orchestrator": True}, alliance={"type": "ecosystem", "spokes": 3})
        bare = tiny_model(alliance={"type": "ecosystem", "spokes": 3})
        d = hub.config.dynamics
        grown = {}
        for name, model in (("dyad", dyad), ("hub", hub), ("bare", bare)):
            a = fresh(model.alliances[0])
            before = a.institutionalisation
            hold_touchpoints(a, 21, NO_TOUCHPOINT)
            grown[name] = a.institutionalisation - before
        levers = (dyad.context.structure_levers, hub.context.structure_levers, bare.context.structure_levers)
        assert levers == (0, 1, 0)
        assert grown["dyad"] == grown["bare"] == 0.0
        assert grown["hub"] == pytest.approx(d.institutionalisation_rate)

    def test_a_meeting_is_not_a_strategic_review(self):
        """Strategic alignment realigns at reviews (steering, health check), not at meetings."""
        model = tiny_model(governance=RICH_GOVERNANCE)
        a = fresh(model.alliances[0])
        set_incentives(a, [1.0, 0.0, 0.5, 0.5], [0.0, 1.0, 0.5, 0.5])
        hold_touchpoints(a, 20, MEETING_ONLY)
        assert a.incentives[0].tolist() == [1.0, 0.0, 0.5, 0.5]

    def test_no_governance_before_the_charter(self):
        model = tiny_model(governance=RICH_GOVERNANCE)
        a = fresh(model.alliances[0])
        inst = a.institutionalisation
        hold_touchpoints(a, model.context.charter_week - 1, ALL_TOUCHPOINTS)
        assert a.proactive_effort == 0.0
        assert a.institutionalisation == inst

    def test_handshake_spends_nothing_and_institutionalisation_is_capped(self):
        model = tiny_model()
        a = fresh(model.alliances[0])
        # even if a calendar said so, a handshake has no levers
        hold_touchpoints(a, 20, ALL_TOUCHPOINTS)
        model_full = tiny_model(governance=RICH_GOVERNANCE)
        b = fresh(model_full.alliances[0])
        b.institutionalisation = 0.999
        hold_touchpoints(b, 20, ALL_TOUCHPOINTS)
        assert b.institutionalisation == 1.0
        assert model.context.standing_levers == 0
        assert model.context.structure_levers == 0


# ------------------------------------------------------------------------ friction
def frictional(model) -> Alliance:
    """Alliance 0 with every friction driver set to a known value."""
    a = fresh(model.alliances[0])
    set_incentives(a, [0.6, 0.4, 0.5, 0.5], [0.4, 0.6, 0.5, 0.5])  # misalignment 0.1
    set_cultures(a, [0.5, 0.5, 0.5], [0.8, 0.5, 0.2])  # distance 0.2
    a.results_week[:] = 0
    a.expectation[:] = 1.0
    a.perceived_value[:] = 0.8  # gap 0.2
    a.measurement = 0.5
    a.integration = 0.5
    return a


class TestFriction:
    def test_friction_drivers_by_hand(self):
        """incentive, culture, expectation, measurement, integration, IP and coordination, each
        times its weight; a dyad has no coordination load."""
        model = tiny_model()
        d, al = model.config.dynamics, model.config.alliance
        a = frictional(model)
        drivers = friction_at(a, 30)
        assert drivers == pytest.approx(
            [
                d.w_incentive * 0.1,
                d.w_culture * 0.2,
                d.w_expectation * 0.2,
                d.w_measurement * 0.5,
                d.w_integration * al.integration_complexity * 0.5,
                d.w_ip * al.ip_exposure,
                0.0,
            ]
        )

    def test_shared_kpis_remove_measurement_misalignment(self):
        """Partners counting success the same way have no measurement friction; nothing else changes."""
        plain = friction_at(frictional(tiny_model()), 30)
        shared = friction_at(frictional(tiny_model(governance={"shared_kpis": True})), 30)
        assert plain[3] > 0.0
        assert shared[3] == 0.0
        assert shared[:3] + shared[4:] == pytest.approx(plain[:3] + plain[4:])

    def test_cultural_bridging_lowers_effective_cultural_distance(self):
        """Mixed teams and a fast track cut the cultural distance felt by bridging_effect."""
        model = tiny_model(governance={"cultural_bridging": True})
        d = model.config.dynamics
        a = frictional(model)
        assert cultural_distance(a) == pytest.approx(0.2)
        assert effective_cultural_distance(a, model.params) == pytest.approx(0.2 * (1.0 - d.bridging_effect))
        plain = frictional(tiny_model())
        assert friction_at(a, 30)[1] < friction_at(plain, 30)[1]

    def test_ip_guardrails_and_orchestration_cut_their_drivers(self):
        base = {"type": "ecosystem", "spokes": 4, "ip_exposure": 0.6, "coordination_load": 0.2}
        plain = tiny_model(alliance=base)
        d = plain.config.dynamics
        guarded = tiny_model(alliance=base, governance={"ip_guardrails": True, "orchestrator": True})
        p = friction_at(fresh(plain.alliances[0]), 30)
        g = friction_at(fresh(guarded.alliances[0]), 30)
        assert p[5] == pytest.approx(d.w_ip * 0.6)
        assert g[5] == pytest.approx(d.w_ip * 0.6 * (1.0 - d.guardrail_effect))
        assert p[6] == pytest.approx(d.w_coordination * 0.2 * 3)  # five partners: three beyond two
        assert g[6] == pytest.approx(p[6] * (1.0 - d.orchestration_effect))

    def test_expectation_gaps_are_felt_only_once_results_are_due(self):
        model = tiny_model()
        a = frictional(model)
        a.results_week[:] = 31
        assert expectation_gap(a, 30) == 0.0
        assert expectation_gap(a, 31) == pytest.approx(0.2)

    def test_issue_phase_factor(self):
        """Before launch friction is design work; a pilot keeps the flood small; a full launch
        floods the alliance in proportion to missing integration."""
        model = tiny_model()
        d = model.config.dynamics
        a = frictional(model)
        launch = model.context.launch_week
        p = model.params
        assert issue_phase_factor(a, at_week(model, launch - 1), p) == d.prelaunch_issue_factor
        assert issue_phase_factor(a, at_week(model, launch), p) == pytest.approx(
            1.0 + d.full_launch_surge * 0.5
        )
        a.piloting = True
        assert issue_phase_factor(a, at_week(model, launch), p) == d.pilot_issue_factor


def arrival_thresholds(rate: float) -> tuple[float, float, float]:
    """Cumulative binomial(3, rate / 3) probabilities of 0, <=1 and <=2 new issues."""
    p = min(rate / 3.0, 1.0)
    q = 1.0 - p
    return q**3, q**3 + 3 * p * q**2, q**3 + 3 * p * q**2 + 3 * p**2 * q


def prevention(a, d) -> float:
    """Routines the partners have institutionalised catch looming issues before they arise."""
    return 1.0 - d.issue_prevention * a.institutionalisation


class TestRaiseIssues:
    def test_institutionalised_routines_prevent_issues(self):
        """The same uniform raises an issue in a loosely institutionalised alliance and none
        in a fully institutionalised one."""
        model = tiny_model()
        d = model.config.dynamics
        t = model.context.launch_week + 5
        a = frictional(model)
        rate = d.base_issue_rate * (1.0 + d.full_launch_surge * 0.5) * (1.0 + sum(friction_at(a, t)))
        loose, full = rate * (1.0 - d.issue_prevention * 0.1), rate * (1.0 - d.issue_prevention)
        u = (arrival_thresholds(loose)[0] + arrival_thresholds(full)[0]) / 2
        raised = []
        for level in (0.1, 1.0):
            a.institutionalisation = level
            a.issues_raised = 0
            a.issue_age[:] = -1
            quiet_week(model, t=t)[0].issue_u = u
            a.raise_issues()
            raised.append(a.issues_raised)
        assert raised == [1, 0]

    @pytest.mark.parametrize(("where", "count"), [(-1, 0), (0, 1), (1, 2), (2, 3)])
    def test_issue_count_is_the_binomial_inverse_cdf(self, where, count):
        """rate = base_issue_rate x phase factor x (1 + sum of drivers) x prevention by
        institutionalised routines; arrivals are binomial with three trials; the week's
        uniform is mapped through the inverse CDF."""
        model = tiny_model()
        d = model.config.dynamics
        t = model.context.launch_week + 5
        a = frictional(model)
        total = sum(friction_at(a, t))
        rate = d.base_issue_rate * (1.0 + d.full_launch_surge * 0.5) * (1.0 + total) * prevention(a, d)
        cuts = arrival_thresholds(rate)
        u = 1e-9 if where < 0 else cuts[where] + 1e-9
        if where < 0:
            assert cuts[0] > 2e-9
        w = quiet_week(model, t=t)[0]
        w.issue_u = u
        w.severity_u[:] = [0.1, 0.9, 0.5]
        a.issue_age[0] = 5  # slot 0 is taken: new issues go to the next free slots
        a.raise_issues()
        assert a.issues_raised == count
        assert a.issue_age[1 : 1 + count].tolist() == [0] * count
        assert a.issue_age[1 + count :].tolist() == [-1] * (len(a.issue_age) - 1 - count)
        small = [True, False, True][:count]  # severity below small_issue_share (0.6)
        assert [bool(s) for s in a.issue_small[1 : 1 + count]] == small
        assert a.friction_mix == pytest.approx([c / total for c in friction_at(a, t)])

    def test_just_below_a_threshold_gives_one_issue_fewer(self):
        model = tiny_model()
        d = model.config.dynamics
        t = model.context.launch_week + 5
        a = frictional(model)
        rate = d.base_issue_rate * (1.0 + d.full_launch_surge * 0.5) * (1.0 + sum(friction_at(a, t)))
        rate *= prevention(a, d)
        quiet_week(model, t=t)[0].issue_u = arrival_thresholds(rate)[1] - 1e-9
        a.raise_issues()
        assert a.issues_raised == 1

    def test_shared_kpis_lower_the_issue_rate(self):
        """With the measurement driver gone, a uniform that raises an issue without shared
        KPIs raises none with them."""
        t = 30
        results = {}
        for kpis in (False, True):
            model = tiny_model(governance={"shared_kpis": kpis})
            d = model.config.dynamics
            a = frictional(model)
            factor = 1.0 + d.full_launch_surge * 0.5
            rate = d.base_issue_rate * factor * (1.0 + sum(friction_at(a, t))) * prevention(a, d)
            results[kpis] = (model, a, rate)
        assert results[True][2] < results[False][2]
        u = (arrival_thresholds(results[True][2])[0] + arrival_thresholds(results[False][2])[0]) / 2
        for kpis, (model, a, _) in results.items():
            quiet_week(model, t=t)[0].issue_u = u
            a.raise_issues()
            assert a.issues_raised == (0 if kpis else 1)

    def test_issues_beyond_capacity_are_dropped(self):
        model = tiny_model()
        a = frictional(model)
        a.issue_age[:] = 1
        quiet_week(model, t=30)[0].issue_u = 0.999999
        a.raise_issues()
        assert a.issues_raised == 3
        assert a.issues_dropped == 3
        assert a.issue_age.tolist() == [1] * len(a.issue_age)


# ---------------------------------------------------------------------- resolution
def with_open_issue(model, age: int = 2, small: bool = False) -> Alliance:
    a = fresh(model.alliances[0])
    set_cultures(a, [0.5, 0.5, 0.5], [0.7, 0.5, 0.3])  # distance 0.4 / 3
    a.experience = 1.5
    a.contact_gap[:] = 0
    a.issue_age[0] = age
    a.issue_small[0] = small
    return a


def adhoc_chance(model, rights: bool, distance: float = 0.4 / 3, experience: float = 1.5, without=0.0):
    """Weekly chance of informal settlement, by hand from the resolve_issues docstring."""
    d = model.config.dynamics
    chance = (
        d.adhoc_resolve
        * max(0.0, 1.0 - d.culture_drag * distance)
        * (1.0 - d.contact_drag * without)
        * (1.0 + d.experience_boost * min(experience, 3.0) / 3.0)
    )
    if rights:
        chance *= 1.0 + d.rights_boost
    return min(chance, 1.0)


def resolve_with(model, a: Alliance, u: float, t: int = 30, touch: Touchpoints = NO_TOUCHPOINT) -> None:
    """Run the resolution phase of week ``t`` with touchpoints ``touch``, the uniform of issue
    slot 0 set to ``u``."""
    quiet_week(model, t=t, touch=touch)[a.index].resolve_u[0] = u
    a.resolve_issues()


class TestResolveIssues:
    def test_informal_settlement_probability(self):
        """Without governance an issue is settled with the ad hoc chance, slowed by cultural
        distance, sped up by past joint experience; settled issues count age + 0.5 weeks."""
        model = tiny_model()
        chance = adhoc_chance(model, rights=False)
        assert model.context.structure_slowdown == 1.0
        settled = with_open_issue(model)
        resolve_with(model, settled, chance - 1e-9)
        assert settled.issue_age[0] == -1
        assert settled.resolved_count == 1
        assert settled.resolved == 1
        assert settled.resolution_weeks_total == pytest.approx(2.5)

        model = tiny_model()
        unsettled = with_open_issue(model)
        resolve_with(model, unsettled, chance + 1e-9)
        assert unsettled.issue_age[0] == 3  # it ages one week
        assert unsettled.resolved_count == 0
        assert unsettled.reactive_effort == pytest.approx(model.config.dynamics.firefight_effort)

    def test_missing_champion_slows_informal_settlement(self):
        model = tiny_model()
        a = with_open_issue(model)
        a.contact_gap[1] = 3
        chance = adhoc_chance(model, rights=False, without=0.5)
        assert chance < adhoc_chance(model, rights=False)
        resolve_with(model, a, chance + 1e-9)
        assert a.resolved_count == 0

    def test_biweekly_meetings_with_decision_rights_raise_the_resolution_probability(self):
        """At a meeting with decision rights an issue is settled unless both the (boosted)
        informal channel and the meeting miss: 1 - (1 - adhoc x drag)(1 - rights_meeting x drag)."""
        design = {"meeting_cadence": "biweekly", "decision_rights": True}
        model = tiny_model(governance=design)
        d = model.config.dynamics
        intensity = (1.0 + 0.25) / 6.75  # meetings every 2 weeks (1 of 1), decision rights (0.25 of 0.25)
        drag = 1.0 - d.structure_drag * intensity**2
        assert model.context.structure_slowdown == pytest.approx(drag)
        chance = 1.0 - (1.0 - adhoc_chance(model, rights=True) * drag) * (
            1.0 - d.rights_meeting_resolve * drag
        )
        assert chance > 0.8 > adhoc_chance(model, rights=False)

        a = with_open_issue(model)
        resolve_with(model, a, chance - 1e-9, touch=MEETING_ONLY)
        assert a.resolved_count == 1

        model = tiny_model(governance=design)
        a = with_open_issue(model)
        resolve_with(model, a, chance + 1e-9, touch=MEETING_ONLY)
        assert a.resolved_count == 0

        handshake = tiny_model()
        h = with_open_issue(handshake)
        resolve_with(handshake, h, 0.5)
        assert h.resolved_count == 0

    def test_decision_rights_make_meetings_more_decisive(self):
        """Between the two meeting chances, only the meeting with decision rights settles."""
        no_rights = tiny_model(governance={"meeting_cadence": "biweekly"})
        rights = tiny_model(governance={"meeting_cadence": "biweekly", "decision_rights": True})
        chances = []
        for model, has_rights in ((no_rights, False), (rights, True)):
            d = model.config.dynamics
            drag = model.context.structure_slowdown
            meeting = d.rights_meeting_resolve if has_rights else d.meeting_resolve
            chances.append(1.0 - (1.0 - adhoc_chance(model, has_rights) * drag) * (1.0 - meeting * drag))
        assert chances[1] > chances[0]
        u = sum(chances) / 2
        for model in (no_rights, rights):
            a = with_open_issue(model)
            resolve_with(model, a, u, touch=MEETING_ONLY)
        assert (no_rights.alliances[0].resolved_count, rights.alliances[0].resolved_count) == (0, 1)

    def test_firefighting_grows_with_what_is_left_unattended(self):
        """Reactive effort: each open issue, more for one past the grace period, and every
        partner's people in a crisis (health below the crisis level)."""
        model = tiny_model()
        d = model.config.dynamics
        efforts = []
        for age, health in ((1, 0.9), (5, 0.9), (5, d.crisis_health / 2)):
            a = with_open_issue(model, age=age)
            a.health = health
            resolve_with(model, a, 0.999)
            efforts.append(a.reactive_effort)
        assert efforts == pytest.approx(
            [
                d.firefight_effort,
                d.firefight_effort + d.aged_issue_effort,
                d.firefight_effort + d.aged_issue_effort + 2 * d.crisis_effort,
            ]
        )

    def test_a_pilot_fixes_the_root_cause_of_a_settled_issue(self):
        """An issue settled while piloting fixes its causes before scaling up, in proportion
        to their share of the week's issue rate; at full scale nothing is fixed."""
        for piloting in (True, False):
            model = tiny_model()
            d = model.config.dynamics
            a = with_open_issue(model)
            a.piloting = piloting
            a.measurement, a.integration = 0.5, 0.2
            a.friction_mix[:] = [0.0, 0.0, 0.0, 0.6, 0.4, 0.0, 0.0]
            resolve_with(model, a, 0.0)
            assert a.resolved == 1
            if piloting:
                assert a.measurement == pytest.approx(0.5 * (1 - d.pilot_learning * 0.6))
                assert a.integration == pytest.approx(0.2 + d.pilot_learning * 0.4 * 0.8)
            else:
                assert (a.measurement, a.integration) == (0.5, 0.2)

    def test_aged_issues_are_escalated_once_and_settled_by_sponsors(self):
        """An issue reaching escalation_age_weeks is escalated (logged, costs escalation effort);
        an escalated issue gets the sponsors' and, at a steering meeting, the committee's chance."""
        design = {"steering_committee": True, "escalation_path": True, "escalation_age_weeks": 4}
        model = tiny_model(governance=design)
        d = model.config.dynamics
        a = with_open_issue(model, age=3)
        resolve_with(model, a, 0.999)
        assert a.issue_age[0] == 4
        assert a.escalations == 1
        # open, past the grace period (age 4 > 3) and escalated: each takes its firefighting
        assert a.issue_age[0] > d.aging_grace_weeks
        assert a.reactive_effort == pytest.approx(
            d.firefight_effort + d.aged_issue_effort + d.escalation_effort
        )
        events = events_of(model)
        assert list(events["kind"]) == ["escalation"]
        assert list(events["detail"]) == ["issues=1"]

        drag = model.context.structure_slowdown
        steering = Touchpoints(meeting=False, working_group=False, steering=True, health_check=False)
        chance = 1.0 - (
            (1.0 - adhoc_chance(model, rights=False) * drag)
            * (1.0 - d.steering_resolve * drag)
            * (1.0 - d.escalation_resolve * drag)
        )
        fresh(a)
        resolve_with(model, a, chance - 1e-9, t=31, touch=steering)
        assert a.resolved_count == 1
        assert a.escalations == 1  # not escalated a second time

    def test_fast_track_settles_small_issues_only(self):
        model = tiny_model(governance={"cultural_bridging": True})
        d = model.config.dynamics
        drag = model.context.structure_slowdown
        distance = (0.4 / 3) * (1.0 - d.bridging_effect)
        adhoc = adhoc_chance(model, rights=False, distance=distance)
        chance_small = 1.0 - (1.0 - adhoc * drag) * (1.0 - d.fast_track_resolve * drag)
        u = (chance_small + adhoc * drag) / 2
        small = with_open_issue(model, small=True)
        resolve_with(model, small, u)
        assert small.resolved_count == 1
        model = tiny_model(governance={"cultural_bridging": True})
        big = with_open_issue(model, small=False)
        resolve_with(model, big, u)
        assert big.resolved_count == 0

    def test_governance_intensity_of_the_extremes(self):
        """A handshake imposes no structure; every lever at its most is intensity 1."""
        assert governance_intensity(GovernanceParams()) == 0.0
        everything = GovernanceParams(
            meeting_cadence=MeetingCadence.BIWEEKLY,
            decision_rights=True,
            steering_committee=True,
            escalation_path=True,
            shared_kpis=True,
            cultural_bridging=True,
            explicit_expectations=True,
            strategic_alignment=True,
            handover_protocol=True,
            health_check_weeks=4,
            orchestrator=True,
            ip_guardrails=True,
        )
        assert governance_intensity(everything) == pytest.approx(1.0)


# --------------------------------------------------------------------------- value
def producing(model) -> Alliance:
    a = fresh(model.alliances[0])
    a.integration = 0.5
    a.trust = 0.5
    a.potential = 0.9
    firm_of(a, 0).capacity = 0.8
    firm_of(a, 1).capacity = 1.2
    a.gather_partner_values()
    a.perceived_value[:] = 0.2
    a.proactive_effort = 0.2
    a.reactive_effort = 0.1
    return a


def hand_commitment(model, alliance: Alliance, slot: int) -> float:
    """What the partner in ``slot`` commits, by hand: its firm's capacity diluted over the
    alliances the firm is in."""
    d = model.config.dynamics
    firm = firm_of(alliance, slot)
    load = sum(
        1
        for other in model.alliances
        if other.alive
        for s in slots(other)
        if other.active[s] and firm_of(other, s) is firm
    )
    return min(1.5, firm.capacity / (1.0 + d.load_dilution * (load - 1.0)))


def value_received(a: Alliance) -> float:
    return sum(a.value_received)


class TestCreateValue:
    def test_value_by_hand(self):
        """value = value_per_partner x partners x complementarity x potential x integration
        share x trust share x commitment x scale x renegotiation x (1 + noise); each partner
        receives its share of it and perceives an EMA of its share of value net of effort cost
        and contribution cost; progress toward the objectives counts joint value net of effort."""
        model = tiny_model(scenario={"value_trend": -0.01, "episode_weeks": 500})
        d = model.config.dynamics
        t = model.context.launch_week + 5
        a = producing(model)
        commitments = [hand_commitment(model, a, slot) for slot in slots(a)]
        commit_factor = sum(min(c, 1.0) for c in commitments) / 2
        quiet_week(model, t=t)[0].value_noise = 0.5

        a.create_value()

        integration = 0.5 + d.integration_rate * 0.5 * commit_factor
        value = (
            d.value_per_partner
            * 2
            * model.config.alliance.complementarity
            * 0.9
            * (d.integration_floor + (1 - d.integration_floor) * integration)
            * (d.trust_floor + (1 - d.trust_floor) * 0.5)
            * commit_factor
            * (1 + d.value_noise * 0.5)
        )
        joint_net = value - d.effort_cost * 0.3
        assert a.commitment == pytest.approx(commitments)
        assert a.integration == pytest.approx(integration)
        assert a.cumulative_value == pytest.approx(joint_net / 2)
        for slot, c in zip(slots(a), commitments, strict=True):
            net = 0.5 * joint_net - d.contribution_cost * c
            assert a.perceived_value[slot] == pytest.approx(0.2 + d.perception_rate * (net - 0.2))
            assert a.value_received[slot] == pytest.approx(0.5 * value)
        assert a.effort_proactive == pytest.approx(0.2)
        assert a.effort_reactive == pytest.approx(0.1)
        assert a.potential == pytest.approx(0.9 * 0.99)

    def test_no_value_before_launch(self):
        model = tiny_model()
        a = producing(model)
        quiet_week(model, t=model.context.launch_week - 1)
        a.create_value()
        assert all(v == 0.0 for v in a.value_received)
        assert a.cumulative_value == pytest.approx(-model.config.dynamics.effort_cost * 0.3 / 2)
        assert a.integration == 0.5
        assert all(v < 0.2 for v in a.perceived_value)  # costs are felt before value

    def test_pilot_and_renegotiation_reduce_value(self):
        """A pilot produces pilot_scale of full value; a renegotiation week loses
        renegotiation_value_loss of it and costs renegotiation_effort: firefighting after a
        crisis, proactive governance when a trigger clause opened it."""
        t = 30

        full_model = tiny_model()
        full = producing(full_model)
        quiet_week(full_model, t=t)
        full.create_value()

        pilot_model = tiny_model(launch={"mode": "pilot", "pilot_scale": 0.35})
        pilot = producing(pilot_model)
        pilot.piloting = True
        quiet_week(pilot_model, t=t)
        pilot.create_value()
        assert value_received(pilot) == pytest.approx(0.35 * value_received(full))

        for planned in (False, True):
            reneg_model = tiny_model()
            d = reneg_model.config.dynamics
            reneg = producing(reneg_model)
            reneg.renegotiation_left = 2
            reneg.renegotiation_planned = planned
            quiet_week(reneg_model, t=t)
            reneg.create_value()
            assert value_received(reneg) == pytest.approx(
                (1 - d.renegotiation_value_loss) * value_received(full)
            )
            assert reneg.renegotiation_left == 1
            if planned:
                assert reneg.effort_proactive == pytest.approx(0.2 + d.renegotiation_effort)
                assert reneg.effort_reactive == pytest.approx(0.1)
            else:
                assert reneg.effort_proactive == pytest.approx(0.2)
                assert reneg.effort_reactive == pytest.approx(0.1 + d.renegotiation_effort)

    def test_more_trust_creates_more_value(self):
        t = 30
        values = []
        for trust in (0.2, 0.8):
            model = tiny_model()
            a = producing(model)
            a.trust = trust
            quiet_week(model, t=t)
            a.create_value()
            values.append(value_received(a))
        assert values[1] > values[0] > 0.0


# ------------------------------------------------------------------ key contacts
class TestKeyContacts:
    @pytest.mark.parametrize("handover", [False, True])
    def test_a_departing_champion_leaves_a_gap(self, handover):
        """A champion leaves when the uniform is below contact_hazard; the partner is without one
        for contact_gap_weeks, or handover_gap_weeks with a handover protocol."""
        model = tiny_model(governance={"handover_protocol": handover})
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        a.contact_gap[0] = 3
        quiet_week(model, t=30)[0].contact_u[1] = d.contact_hazard / 2
        a.lose_key_contacts()
        assert a.contact_gap[0] == 2  # an earlier gap closes by a week
        assert a.contact_gap[1] == (d.handover_gap_weeks if handover else d.contact_gap_weeks)
        assert a.departures == 1
        events = events_of(model)
        assert list(events["kind"]) == ["key_contact_departure"]
        assert list(events["detail"]) == ["partner=1"]

    def test_no_departure_at_the_hazard(self):
        model = tiny_model()
        a = fresh(model.alliances[0])
        quiet_week(model, t=30)[0].contact_u[:] = model.config.dynamics.contact_hazard
        a.lose_key_contacts()
        assert a.departures == 0


# ------------------------------------------------------------------------- trust
def trust_scene(model) -> Alliance:
    """Alliance 0 in a week with settled issues, aged issues, an opportunistic act, a gap,
    a departure, a partner's reputation loss elsewhere and unequal commitment."""
    a = fresh(model.alliances[0])
    a.trust = 0.5
    a.institutionalisation = 0.3
    set_incentives(a, [0.6, 0.4, 0.5, 0.5], [0.4, 0.6, 0.5, 0.5])  # misalignment 0.1
    a.results_week[:] = 0
    a.expectation[:] = 1.0
    a.perceived_value[:] = [1.5, 0.8]  # ratios 1.5 and 0.8
    a.commitment[:] = [0.8, 1.2]  # inequity 0.2
    firm_of(a, 0).reputation_drop = 0.1
    firm_of(a, 1).reputation_drop = 0.0
    a.gather_partner_values()
    a.issue_age[:4] = [5, 4, 2, 9]
    a.issue_small[:4] = [False, True, False, True]
    a.resolved = 2
    a.departures = 1
    a.friction_mix[:] = [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0]
    return a


def temptation_of(model, misalignment: float = 0.1) -> float:
    """Pull toward opportunism: misalignment + IP exposure + overlap_temptation x overlap."""
    d, al = model.config.dynamics, model.config.alliance
    return min(1.0, misalignment + al.ip_exposure + d.overlap_temptation * al.capability_overlap)


def trust_week(model, touch: Touchpoints, act: bool = True) -> None:
    """Week 40 with touchpoints ``touch``, the hub acting opportunistically if ``act``."""
    d = model.config.dynamics
    temptation = temptation_of(model)
    draws = quiet_week(model, t=40, touch=touch)
    draws[0].opportunism_u[0] = d.opportunism_rate * temptation * (0.5 if act else 1.5)


class TestUpdateTrust:
    def test_trust_by_hand(self):
        """trust += gain (1 - trust) - loss trust, with gain from settled issues, surplus value
        and a touchpoint, and loss from aged issues, opportunism, gaps, a departure, a partner's
        reputation loss and inequity; each loss is tallied by cause."""
        model = tiny_model()
        d = model.config.dynamics
        a = trust_scene(model)
        trust_week(model, MEETING_ONLY)
        a.update_trust()

        surplus = (1.5 + 0.8) / 2 - 1.0
        gain = d.trust_per_resolution * 2 + d.trust_per_value * surplus + d.trust_per_touchpoint
        aged = 1.0 + 0.5 + 0.5  # ages 5 (big), 4 (small), 9 (small) are past the 3-week grace
        losses = {
            "aged": d.trust_per_aged_issue * aged,
            "opportunism": d.trust_per_opportunism * 1,
            "gap": d.trust_per_gap * (0.0 + 0.2) / 2,
            "contact": d.trust_per_contact_loss * (1 - 0.3),
            "reputation": d.trust_per_reputation_drop * 0.1,
            "inequity": d.trust_per_inequity * 0.2,
        }
        loss = sum(losses.values())
        assert a.trust == pytest.approx(0.5 + gain * 0.5 - loss * 0.5)
        assert a.ledger[Cause.OPPORTUNISM] == pytest.approx(losses["opportunism"] * 0.5)
        assert a.ledger[Cause.KEY_CONTACT_LOSS] == pytest.approx(losses["contact"] * 0.5)
        assert a.ledger[Cause.INEQUITY] == pytest.approx(losses["inequity"] * 0.5)
        assert a.ledger[Cause.PARTNER_REPUTATION] == pytest.approx(losses["reputation"] * 0.5)
        # aging damage is split among friction drivers by the week's mix
        assert a.ledger[Cause.INCENTIVE_MISALIGNMENT] == pytest.approx(losses["aged"] * 0.5 * 0.5)
        assert a.ledger[Cause.CULTURAL_FRICTION] == pytest.approx(losses["aged"] * 0.5 * 0.5)
        assert a.ledger[Cause.EXPECTATION_GAP] == pytest.approx(losses["gap"] * 0.5)

    def test_realignment_builds_trust_in_proportion_to_the_misalignment_removed(self):
        """A review that reconciles the partners' priorities restores shared purpose:
        gain += trust_per_realignment x misalignment removed; nothing else differs."""
        trusts = []
        for realigned in (0.0, 0.2):
            model = tiny_model()
            a = trust_scene(model)
            a.realigned = realigned
            trust_week(model, NO_TOUCHPOINT, act=False)
            a.update_trust()
            trusts.append(a.trust)
        d = tiny_model().config.dynamics
        assert trusts[1] - trusts[0] == pytest.approx(d.trust_per_realignment * 0.2 * 0.5)

    def test_handover_protocol_reduces_the_trust_lost_with_a_champion(self):
        """The loss from a departure is cut by handover_effect; nothing else differs."""
        trusts = {}
        for handover in (False, True):
            for departures in (0, 1):
                model = tiny_model(governance={"handover_protocol": handover})
                a = trust_scene(model)
                a.departures = departures
                trust_week(model, NO_TOUCHPOINT, act=False)
                a.update_trust()
                trusts[handover, departures] = a.trust
        d = tiny_model().config.dynamics
        plain_loss = trusts[False, 0] - trusts[False, 1]
        handover_loss = trusts[True, 0] - trusts[True, 1]
        assert trusts[False, 0] == pytest.approx(trusts[True, 0])
        assert plain_loss == pytest.approx(d.trust_per_contact_loss * (1 - 0.3) * 0.5)
        assert handover_loss == pytest.approx(plain_loss * (1 - d.handover_effect))

    def test_opportunism_needs_temptation(self):
        """The chance of an opportunistic act is opportunism_rate x temptation."""
        model = tiny_model()
        tempted = trust_scene(model)
        trust_week(model, NO_TOUCHPOINT, act=True)
        tempted.update_trust()
        model2 = tiny_model()
        resisted = trust_scene(model2)
        trust_week(model2, NO_TOUCHPOINT, act=False)
        resisted.update_trust()
        d = model.config.dynamics
        assert resisted.trust - tempted.trust == pytest.approx(d.trust_per_opportunism * 0.5)

    def test_competitors_with_overlapping_capabilities_are_more_tempted(self):
        """Between competitors (co-opetition), overlapping capabilities pull toward opportunism:
        a uniform that is no temptation without overlap is one with it."""
        low = tiny_model(alliance={"capability_overlap": 0.0})
        high = tiny_model(alliance={"capability_overlap": 0.9})
        d = low.config.dynamics
        assert temptation_of(high) > temptation_of(low)
        u = d.opportunism_rate * (temptation_of(low) + temptation_of(high)) / 2
        trusts = []
        for model in (low, high):
            a = trust_scene(model)
            quiet_week(model, t=40, touch=NO_TOUCHPOINT)[0].opportunism_u[0] = u
            a.update_trust()
            trusts.append(a.trust)
        assert trusts[0] - trusts[1] == pytest.approx(d.trust_per_opportunism * 0.5)

    @pytest.mark.parametrize("start", [0.0, 0.01, 0.5, 0.99, 1.0])
    def test_trust_stays_in_the_unit_interval_under_extreme_weeks(self, start):
        model = tiny_model()
        boom = trust_scene(model)
        boom.trust = start
        boom.resolved = 200
        boom.departures = 0
        trust_week(model, MEETING_ONLY, act=False)
        boom.update_trust()
        assert 0.0 <= boom.trust <= 1.0
        bust = trust_scene(model)
        bust.trust = start
        bust.resolved = 0
        bust.departures = 10
        firm_of(bust, 0).reputation_drop = 5.0
        bust.gather_partner_values()
        trust_week(model, MEETING_ONLY)
        bust.update_trust()
        assert 0.0 <= bust.trust <= 1.0


# ------------------------------------------------------------------------- health
class TestUpdateHealth:
    def test_health_components_by_hand(self):
        """Each component moves health_rate of the way toward this week's signal; the index is
        the mean of communication, decision efficiency, conflict resolution, trust and value."""
        model = tiny_model()
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        a.contact_gap[:] = [2, 0]
        a.results_week[:] = 0
        a.expectation[:] = 1.0
        a.perceived_value[:] = [1.0, 0.8]  # gap 0.1
        a.issue_age[:2] = [2, 4]
        a.resolved = 2
        a.communication, a.decision_efficiency, a.conflict_resolution, a.value_perception = 0.5, 1.0, 1.0, 1.0
        a.trust = 0.6

        quiet_week(model, t=40, touch=MEETING_ONLY)
        a.update_health()

        r = d.health_rate
        comm = d.communication_base + d.communication_touchpoint - d.communication_contact * 0.5
        comm -= d.communication_issue * 2
        decision = 1.0 / (1.0 + 3.0 / d.decision_age_scale)
        assert a.communication == pytest.approx(0.5 + r * (comm - 0.5))
        assert a.decision_efficiency == pytest.approx(1.0 + r * (decision - 1.0))
        assert a.conflict_resolution == pytest.approx(1.0 + r * (0.5 - 1.0))
        assert a.value_perception == pytest.approx(1.0 + r * (0.9 - 1.0))
        parts = [a.communication, a.decision_efficiency, a.conflict_resolution, 0.6, a.value_perception]
        assert a.health == pytest.approx(sum(parts) / 5)

    def test_health_components_stay_in_the_unit_interval_when_value_turns_negative(self):
        """The value-perception component is one minus the felt expectation gap, a relative
        shortfall; when a partner's perceived value is negative (costs exceed its share) the
        component must still stay in [0, 1], and so must the health index."""
        model = tiny_model()
        a = fresh(model.alliances[0])
        a.results_week[:] = 0
        a.expectation[:] = 0.05
        a.perceived_value[:] = -0.2
        a.value_perception = 0.2
        quiet_week(model, t=40, touch=NO_TOUCHPOINT)
        a.update_health()
        assert 0.0 <= a.value_perception <= 1.0
        assert 0.0 <= a.health <= 1.0


# ------------------------------------------------------------------------ endings
def check_endings(a: Alliance, t: int, touch: Touchpoints = NO_TOUCHPOINT) -> None:
    """Run the endings phase of week ``t`` (quiet, with touchpoints ``touch``) on ``a``."""
    quiet_week(a.model, t=t, touch=touch)
    a.check_endings()


def exits_and_collapses(a: Alliance) -> list[tuple[int, int]]:
    """The exits and collapses the partner firms have heard of this week, by slot (the alliance
    reports them, as at the end of a week)."""
    a.report_to_firms()
    return [(firm_of(a, slot).exits_this_week, firm_of(a, slot).collapses_this_week) for slot in slots(a)]


class TestEndings:
    def test_trust_collapse_fails_the_alliance_with_its_primary_cause(self):
        model = tiny_model()
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        a.ledger[Cause.OPPORTUNISM] = 0.5
        a.ledger[Cause.KEY_CONTACT_LOSS] = 0.3
        a.trust = d.collapse_trust
        check_endings(a, 40)
        assert a.alive  # at the threshold, not below it

        a.trust = d.collapse_trust - 0.001
        check_endings(a, 41)
        assert not a.alive
        assert a.ending() is Outcome.FAILED
        assert a.failure() is FailureMode.TRUST_COLLAPSE
        assert a.primary_cause() is Cause.OPPORTUNISM
        assert a.end_week == 42
        assert all(collapses == 1 for _, collapses in exits_and_collapses(a))
        events = events_of(model)
        assert list(events["kind"]) == ["ending"]
        assert list(events["detail"]) == ["failed trust_collapse opportunism"]

    def test_a_partner_below_its_outside_option_for_exit_patience_weeks_exits(self):
        """Shortfall weeks count only once the partner expects results; after exit_patience
        consecutive weeks below its outside option it walks out, and a dyad fails."""
        model = tiny_model(dynamics={"exit_patience": 3})
        a = fresh(model.alliances[0])
        a.trust = 0.6
        a.perceived_value[0] = firm_of(a, 0).outside_option + 1.0
        a.perceived_value[1] = firm_of(a, 1).outside_option - 0.01
        a.results_week[1] = 40

        check_endings(a, 39)  # results not due yet: no shortfall counted
        assert a.shortfall_weeks[1] == 0
        check_endings(a, 40)
        check_endings(a, 41)
        assert a.alive and a.shortfall_weeks[1] == 2
        check_endings(a, 42)
        assert not a.active[1]
        assert exits_and_collapses(a)[1][0] == 1
        assert not a.alive
        assert a.ending() is Outcome.FAILED
        assert a.failure() is FailureMode.PARTNER_EXIT
        assert a.end_week == 43
        assert list(events_of(model)["kind"]) == ["partner_exit", "ending"]

    @pytest.mark.parametrize(
        ("results_due", "below", "walks"), [(False, True, True), (False, False, False), (True, True, False)]
    )
    def test_a_partner_testing_the_fit_walks_away_when_trust_has_fallen(self, results_due, below, walks):
        """Before its results are due a partner walks away with weekly chance walkaway_rate x
        (1 - trust / walkaway_trust); once results are due it leaves only after a shortfall."""
        model = tiny_model()
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        a.trust = d.walkaway_trust / 2
        a.perceived_value[:] = [firm_of(a, slot).outside_option + 1.0 for slot in slots(a)]
        a.results_week[:] = 0 if results_due else 100
        chance = d.walkaway_rate * 0.5
        quiet_week(model, t=10)[a.index].walkaway_u[1] = chance * (0.5 if below else 1.5)
        a.check_endings()
        assert a.alive is not walks
        if walks:
            assert not a.active[1]
            assert a.failure() is FailureMode.PARTNER_EXIT
            assert a.end_week == 11

    def test_no_walking_away_while_trust_holds(self):
        model = tiny_model()
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        a.trust = d.walkaway_trust
        a.results_week[:] = 100
        quiet_week(model, t=10)[a.index].walkaway_u[:] = 0.0
        a.check_endings()
        assert a.alive

    @pytest.mark.parametrize("gain", [True, False])
    def test_a_pilot_that_shows_no_gain_is_concluded_at_its_gate(self, gain):
        """At the pilot's gate, a partner perceiving less than pilot_gate_value of its outside
        option at the pilot's scale ends the pilot by agreement (terminated, not failed)."""
        model = tiny_model(launch={"mode": "pilot"})
        launch = model.config.launch
        a = fresh(model.alliances[0])
        a.trust = 0.6
        a.piloting = True
        a.results_week[:] = 1000
        bar = [launch.pilot_gate_value * launch.pilot_scale * firm_of(a, s).outside_option for s in slots(a)]
        a.perceived_value[:] = [b + 0.01 for b in bar]
        if not gain:
            a.perceived_value[1] = bar[1] - 0.01
        gate = model.context.launch_week + launch.pilot_weeks
        check_endings(a, gate - 2)  # before the gate: nothing decided
        assert a.alive
        check_endings(a, gate - 1)
        assert a.alive is gain
        if not gain:
            assert a.ending() is Outcome.TERMINATED

    def test_recovered_value_resets_the_patience_count(self):
        model = tiny_model(dynamics={"exit_patience": 3})
        a = fresh(model.alliances[0])
        a.trust = 0.6
        a.results_week[1] = 0
        a.perceived_value[0] = firm_of(a, 0).outside_option + 1.0  # the hub stays content
        outside = firm_of(a, 1).outside_option
        low, high = outside - 0.01, outside + 0.01
        for t, value in enumerate([low, low, high, low, low]):
            a.perceived_value[1] = value
            check_endings(a, 40 + t)
        assert a.alive and a.shortfall_weeks[1] == 2

    def _ecosystem_with_leavers(self, leavers: list[int]):
        model = tiny_model(alliance={"type": "ecosystem", "spokes": 4}, dynamics={"exit_patience": 1})
        a = fresh(model.alliances[0])
        a.trust = 0.6
        for slot in slots(a):
            a.results_week[slot] = 0
            leaving = slot in leavers
            a.perceived_value[slot] = firm_of(a, slot).outside_option + (-0.01 if leaving else 1.0)
        check_endings(a, 40)
        return a

    def test_ecosystem_survives_a_single_spoke_exit(self):
        """The remaining partners share the value: shares are renormalised to sum to one."""
        a = self._ecosystem_with_leavers([2])
        assert a.alive
        assert not a.active[2]
        active = [a.share[slot] for slot in slots(a) if a.active[slot]]
        assert active == pytest.approx([0.25] * 4)

    def test_ecosystem_fails_when_the_hub_exits(self):
        a = self._ecosystem_with_leavers([0])
        assert not a.alive
        assert a.failure() is FailureMode.PARTNER_EXIT

    def test_ecosystem_fails_when_most_spokes_exit(self):
        a = self._ecosystem_with_leavers([1, 2, 3])
        assert not a.alive
        assert a.failure() is FailureMode.PARTNER_EXIT

    @staticmethod
    def _reviewed(model, criteria: set[str]) -> Alliance:
        """Alliance 0 with exactly the named termination criteria failing: alignment,
        value (perception), health, opportunity (partners would do better alone)."""
        d = model.config.dynamics
        a = fresh(model.alliances[0])
        a.trust = 0.6
        if "alignment" in criteria:
            set_incentives(a, [0.9, 0.1, 0.9, 0.1], [0.1, 0.9, 0.1, 0.9])  # misalignment 0.8
        else:
            set_incentives(a, [0.5] * 4, [0.5] * 4)
        a.value_perception = d.termination_value - 0.05 if "value" in criteria else d.termination_value + 0.05
        a.health = d.termination_health - 0.05 if "health" in criteria else d.termination_health + 0.05
        for slot in slots(a):
            a.results_week[slot] = 1000  # no exit clock: only the charter's criteria are in play
            below = "opportunity" in criteria
            a.perceived_value[slot] = firm_of(a, slot).outside_option + (-0.05 if below else 0.05)
        return a

    @pytest.mark.parametrize(
        "criteria",
        [
            set(),
            {"alignment"},
            {"value"},
            {"health"},
            {"opportunity"},
            {"alignment", "opportunity"},
            {"value", "health"},
        ],
    )
    def test_termination_criteria_are_counted_by_hand(self, criteria):
        model = tiny_model(governance={"health_check_weeks": 13})
        a = self._reviewed(model, criteria)
        assert termination_criteria_failing(a, at_week(model, 30), model.params) == len(criteria)

    def test_graceful_termination_after_consecutive_failing_reviews(self):
        """At a review, a charter whose termination criteria fail (at least
        termination_criteria of them) counts against the alliance; after termination_reviews
        consecutive such reviews the partners end it deliberately: terminated, with no
        failure cause. A passing review resets the count; weeks without a review do not count."""
        model = tiny_model(governance={"health_check_weeks": 13})
        d = model.config.dynamics
        assert (d.termination_criteria, d.termination_reviews) == (2, 2)
        failing, passing = {"health", "value"}, {"health"}
        schedule = [(17, failing, True), (18, failing, False), (30, passing, True), (43, failing, True)]
        for t, criteria, review in schedule:
            a = self._reviewed(model, criteria)
            check_endings(a, t, REVIEW_ONLY if review else NO_TOUCHPOINT)
            assert a.alive, t
        assert a.failing_reviews == 1
        a = self._reviewed(model, failing)
        check_endings(a, 56, REVIEW_ONLY)
        assert not a.alive
        assert a.ending() is Outcome.TERMINATED
        assert a.primary_cause() is None and a.failure() is None
        assert a.end_week == 57
        assert list(events_of(model)["detail"]) == ["terminated"]

    @staticmethod
    def _short(model, weeks: list[int]) -> Alliance:
        """Alliance 0 passing every charter criterion, its partners short of their outside
        options for the given numbers of weeks (0: content)."""
        a = TestEndings._reviewed(model, set())
        for slot, w in zip(slots(a), weeks, strict=True):
            a.results_week[slot] = 0
            a.shortfall_weeks[slot] = w - 1  # this week's check adds one
            a.perceived_value[slot] = firm_of(a, slot).outside_option + (-0.05 if w else 0.05)
        return a

    @pytest.mark.parametrize(
        ("alignment", "touch", "weeks", "wound_down"),
        [
            (True, "review", 12, True),  # 0.8 x 15 weeks of patience used up: winds down
            (True, "review", 11, False),  # not yet
            (True, "none", 12, False),  # only at a review
            (False, "review", 12, False),  # only where the review realigns strategy
        ],
    )
    def test_a_partner_that_no_longer_fits_winds_the_alliance_down_at_a_strategic_review(
        self, alignment, touch, weeks, wound_down
    ):
        """At a strategic review a partner whose shortfall has used agreed_exit_fraction of its
        exit patience says so and the partners end the alliance by agreement: terminated, no
        exit, no reputation lost."""
        model = tiny_model(
            governance={"strategic_alignment": alignment, "health_check_weeks": 4},
            dynamics={"exit_patience": 15, "agreed_exit_fraction": 0.8},
        )
        a = self._short(model, [0, weeks])
        check_endings(a, 40, REVIEW_ONLY if touch == "review" else NO_TOUCHPOINT)
        assert a.alive is not wound_down
        if wound_down:
            assert a.ending() is Outcome.TERMINATED
            assert a.failure() is None
            assert all(a.active)
            assert all(exits == 0 for exits, _ in exits_and_collapses(a))
            assert list(events_of(model)["detail"]) == ["terminated"]

    @pytest.mark.parametrize(("short_spokes", "wound_down"), [([2], False), ([1, 2, 3], True)])
    def test_an_ecosystem_winds_down_only_if_the_leavers_would_end_it(self, short_spokes, wound_down):
        """One spoke that no longer fits leaves an ecosystem alive (it exits in its own time);
        enough of them to leave fewer than half the spokes wind it down."""
        model = tiny_model(
            alliance={"type": "ecosystem", "spokes": 4},
            governance={"strategic_alignment": True, "health_check_weeks": 4},
            dynamics={"exit_patience": 15, "agreed_exit_fraction": 0.8},
        )
        a = fresh(model.alliances[0])
        a.trust = 0.6
        a.value_perception = 0.9
        a.health = 0.9
        set_incentives(a, *([[0.5] * 4] * 5))
        for slot in slots(a):
            a.results_week[slot] = 0
            short = slot in short_spokes
            a.shortfall_weeks[slot] = 11 if short else 0
            a.perceived_value[slot] = firm_of(a, slot).outside_option + (-0.05 if short else 1.0)
        check_endings(a, 40, REVIEW_ONLY)
        assert a.alive is not wound_down
        assert all(a.active)

    @pytest.mark.parametrize(("value", "outcome"), [(70.0, Outcome.SUCCESS), (1.0, Outcome.UNDERPERFORMING)])
    def test_sunset_clause_ends_a_time_boxed_alliance(self, value, outcome):
        """At the sunset week the project is complete as planned: a success if its objectives
        (scaled to its 14 weeks of operation) are met, else underperforming; never terminated."""
        model = tiny_model(governance={"sunset_week": 30})
        a = fresh(model.alliances[0])
        a.trust = 0.6
        a.results_week[:] = 1000
        a.cumulative_value = value
        check_endings(a, 28)
        assert a.alive
        check_endings(a, 29)
        assert not a.alive
        assert a.ending() is outcome
        assert a.end_week == 30
