"""Vocabulary shared by both engines: outcomes, causes, phases and the governance calendar.

Nothing here is a mechanism that changes state; these are the names and the
governance calendar (which touchpoints happen in a given week) that both engines
read. The levers' roles are declared in :mod:`sim.levers`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sim.params import SimulationConfig

N_OBJECTIVES = 4
"""Incentive objectives: speed to market, compliance and risk, margin, learning and data."""
OBJECTIVES = ("speed", "compliance", "margin", "learning")

N_TRAITS = 3
"""Cultural traits: decision speed, formality, risk appetite."""
TRAITS = ("decision_speed", "formality", "risk_appetite")

ISSUE_CAPACITY = 20
"""Open issues an alliance can track at once; more are counted as dropped (an overload).
The most seen in 9,000 simulated alliances across designs and scenarios was 18."""

MAX_NEW_ISSUES = 3
"""At most this many issues arise in one alliance in one week (binomial arrivals)."""

EXPECTATION_FLOOR = 0.01
"""Expectations never fall below this, so relative gaps stay defined."""

POTENTIAL_FLOOR = 0.2
"""A shock never destroys more than 80% of an alliance's value potential."""

COMMITMENT_CAP = 1.5
"""A firm never commits more than 1.5 units of resources to one alliance."""

SHARE_BOUNDS = (0.05, 0.95)
"""A market-share shock never leaves the hub with less than 5% or more than 95% of value."""

WORKING_GROUP_PERIOD = 4
STEERING_PERIOD = 13

INITIAL_COMMUNICATION = 0.5
INITIAL_DECISION_EFFICIENCY = 1.0
INITIAL_CONFLICT_RESOLUTION = 1.0
INITIAL_VALUE_PERCEPTION = 1.0

NO_RENEGOTIATION_YET = -1_000_000


class Outcome(enum.StrEnum):
    """How an alliance's story ends (or stands at the horizon)."""

    SUCCESS = "success"
    UNDERPERFORMING = "underperforming"
    FAILED = "failed"
    TERMINATED = "terminated"


OUTCOMES = tuple(Outcome)


class FailureMode(enum.StrEnum):
    """What form a failure took."""

    PARTNER_EXIT = "partner_exit"
    TRUST_COLLAPSE = "trust_collapse"


class Cause(enum.IntEnum):
    """Sources of damage, tallied over the alliance's life; the largest is the primary cause.

    The first seven are the friction drivers of issue arrival (in this order),
    so the damage done by aging issues is split among them by their share of
    the week's issue rate. The sixth driver, exposure of intellectual property,
    is booked as ``OPPORTUNISM``: both are about a partner taking what is not
    its share.
    """

    INCENTIVE_MISALIGNMENT = 0
    CULTURAL_FRICTION = 1
    EXPECTATION_GAP = 2
    MEASUREMENT_MISALIGNMENT = 3
    INTEGRATION_COMPLEXITY = 4
    OPPORTUNISM = 5
    COORDINATION_OVERLOAD = 6
    KEY_CONTACT_LOSS = 7
    EXTERNAL_SHOCK = 8
    INEQUITY = 9
    PARTNER_REPUTATION = 10

    @property
    def label(self) -> str:
        return self.name.lower()


N_CAUSES = len(Cause)
N_FRICTION_DRIVERS = 7


class ShockKind(enum.IntEnum):
    """Kinds of environmental shock."""

    REGULATORY = 0  # subsidy or regulation change: destroys value potential
    MARKET_SHARE = 1  # market-share shift: moves the split of value between partners
    TECHNOLOGY = 2  # technology shift: sets integration back

    @property
    def label(self) -> str:
        return self.name.lower()


class Phase(enum.IntEnum):
    """Lifecycle phases of an alliance."""

    DISCOVERY = 0
    ALIGNMENT = 1
    OPERATIONAL_DESIGN = 2
    LAUNCH = 3
    SCALED_OPERATION = 4


class EventKind(enum.StrEnum):
    SHOCK = "shock"
    RENEGOTIATION = "renegotiation"
    ESCALATION = "escalation"
    KEY_CONTACT_DEPARTURE = "key_contact_departure"
    PARTNER_EXIT = "partner_exit"
    SCALE_UP = "scale_up"
    ENDING = "ending"


@dataclass(frozen=True)
class Touchpoints:
    """Which governance touchpoints happen in one week (the same for every alliance of a design)."""

    meeting: bool
    working_group: bool
    steering: bool
    health_check: bool

    @property
    def any(self) -> bool:
        return self.meeting or self.working_group or self.steering or self.health_check

    @property
    def review(self) -> bool:
        """A strategic review: where the charter's termination criteria and alignment are checked."""
        return self.steering or self.health_check


def charter_week(config: SimulationConfig) -> int:
    """Week the charter is agreed and governance starts (end of discovery)."""
    return config.dynamics.discovery_weeks


def launch_week(config: SimulationConfig) -> int:
    """Week the alliance goes live (after discovery, alignment and operational design)."""
    d = config.dynamics
    return d.discovery_weeks + d.alignment_weeks + d.design_weeks


OBJECTIVE_REFERENCE_WEEKS = 156
"""The planned length ``alliance.objective_value`` is stated for: three years, the horizon the
practitioner figures (P1 to P8) speak of."""


def planned_weeks(config: SimulationConfig) -> int:
    """How long the alliance is planned to run: to its sunset, else to the horizon."""
    sunset = config.governance.sunset_week
    return sunset if sunset > 0 else config.horizon_weeks


def objective(config: SimulationConfig) -> float:
    """Value per partner that meets the alliance's objectives by the end of its planned length.

    The project's own target where the charter sets one (``alliance.objective_target``);
    else ``alliance.objective_value``, stated for a three-year alliance, in proportion to
    the planned weeks of operation (value flows only after launch): a 26-week project is
    asked for what it can deliver in its ten weeks of operation, a ten-year alliance for
    ten years' worth.
    """
    a = config.alliance
    if a.objective_target > 0.0:
        return a.objective_target
    launch = launch_week(config)
    reference = OBJECTIVE_REFERENCE_WEEKS - launch
    if reference <= 0:
        return a.objective_value * planned_weeks(config) / OBJECTIVE_REFERENCE_WEEKS
    return a.objective_value * max(planned_weeks(config) - launch, 0) / reference


def touchpoints(week: int, config: SimulationConfig) -> Touchpoints:
    """The governance calendar: meetings, working groups, steering and health checks this week."""
    g = config.governance
    since = week - charter_week(config)
    if since < 0:
        return Touchpoints(False, False, False, False)
    period = g.meeting_cadence.period_weeks
    return Touchpoints(
        meeting=period > 0 and since % period == 0,
        working_group=g.steering_committee and since % WORKING_GROUP_PERIOD == 0,
        steering=g.steering_committee and since % STEERING_PERIOD == 0,
        health_check=g.health_check_weeks > 0 and since > 0 and since % g.health_check_weeks == 0,
    )


def too_few_spokes(remaining, spokes: int):
    """Whether an alliance with ``remaining`` of its ``spokes`` still in has broken up: a dyad
    when its one partner has left, an ecosystem when fewer than half its spokes remain.
    ``remaining`` is a count or an array of counts."""
    return remaining * 2 < spokes if spokes > 1 else remaining < spokes
