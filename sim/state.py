"""The state of a cohort, the week's context and the parameters, as the mechanisms read them.

Every mechanism (:mod:`sim.mechanisms`) is a function of one alliance ``i`` of a
:class:`CohortState`, the week's random numbers (:class:`AllianceDraws`, from :mod:`sim.draws`),
the week's :class:`Context` and the :data:`Params`. Both engines hold their state
in one ``CohortState``: the Mesa engine's agents are views of their row of it, and
the cohort engine loops over its rows in compiled code. So both engines run the
same functions on the same numbers.

Arrays put the alliance (or firm) axis first, so one alliance's values lie
together in memory. ``N`` alliances, ``P`` partner slots, ``F`` firms, ``K``
objectives, ``T`` cultural traits.

``Params`` mirrors :class:`sim.params.SimulationConfig` as nested named tuples of
numbers (the form compiled code can read); type checkers see the dataclasses
themselves, so a misspelt parameter name in a mechanism fails the type check.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from collections import namedtuple
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Protocol

import numpy as np

from sim.params import (
    AllianceParams,
    Dynamics,
    GovernanceParams,
    LaunchMode,
    LaunchParams,
    ScenarioParams,
    Section,
    SimulationConfig,
    TriggerParams,
)
from sim.vocabulary import (
    INITIAL_COMMUNICATION,
    INITIAL_CONFLICT_RESOLUTION,
    INITIAL_DECISION_EFFICIENCY,
    INITIAL_VALUE_PERCEPTION,
    ISSUE_CAPACITY,
    MAX_NEW_ISSUES,
    N_CAUSES,
    N_FRICTION_DRIVERS,
    N_OBJECTIVES,
    N_TRAITS,
    NO_RENEGOTIATION_YET,
    Touchpoints,
)

if TYPE_CHECKING:
    from sim.environment import WeekMarket
    from sim.market import CohortStart

    Params = SimulationConfig
    SECTIONS: dict[str, Any]
else:

    def _mirror(cls: type[Section], name: str) -> type:
        hints = typing.get_type_hints(cls)
        # names are labels, never read by a mechanism
        return namedtuple(name, [f.name for f in dataclasses.fields(cls) if hints[f.name] is not str])

    AllianceValues = _mirror(AllianceParams, "AllianceValues")
    GovernanceValues = _mirror(GovernanceParams, "GovernanceValues")
    TriggerValues = _mirror(TriggerParams, "TriggerValues")
    ScenarioValues = _mirror(ScenarioParams, "ScenarioValues")
    LaunchValues = _mirror(LaunchParams, "LaunchValues")
    DynamicsValues = _mirror(Dynamics, "DynamicsValues")
    SECTIONS = {
        "alliance": AllianceValues,
        "governance": GovernanceValues,
        "triggers": TriggerValues,
        "scenario": ScenarioValues,
        "launch": LaunchValues,
        "dynamics": DynamicsValues,
    }
    Params = namedtuple("Params", ["alliance", "governance", "triggers", "scenario", "launch", "dynamics"])


def _number(value: Any) -> Any:
    """A setting as compiled code reads it: an enumeration as its position, an optional switch
    as -1 (unset), 0 or 1, so a setting has one type whatever its value."""
    if isinstance(value, enum.Enum):
        return list(type(value)).index(value)
    if value is None:
        return -1
    return value


OPTIONAL_SWITCHES = {("triggers", "enabled")}


def params_of(config: SimulationConfig) -> Params:
    """The configuration as the mechanisms read it (enumerations as their position)."""
    if TYPE_CHECKING:
        return config
    values = {}
    for name, mirror in SECTIONS.items():
        section = getattr(config, name)
        values[name] = mirror(
            *(
                int(_number(getattr(section, f)))
                if (name, f) in OPTIONAL_SWITCHES
                else _number(getattr(section, f))
                for f in mirror._fields
            )
        )
    return Params(**values)


def as_read(table: np.ndarray) -> np.ndarray:
    """A table of records as the cohort engine hands it to the mechanisms: as it is, so that
    a record is a plain structured scalar, which compiled code takes without running any
    Python; with compilation switched off (``NUMBA_DISABLE_JIT``, the mechanisms then run as
    plain Python), as a ``np.recarray``, whose records read their fields as attributes."""
    import numba

    config: Any = numba.config  # its settings are set at import, unknown to type checkers
    return table.view(np.recarray) if config.DISABLE_JIT else table


def params_record_of(config: SimulationConfig) -> Params:
    """The same values as :func:`params_of`, each section a numpy record: compiled code
    passes a record as one pointer, where a named tuple of some 150 numbers would be
    passed number by number to every mechanism it calls."""
    if TYPE_CHECKING:
        return config
    plain = params_of(config)
    sections = {}
    for name in plain._fields:
        section = getattr(plain, name)
        kinds = ["?" if isinstance(v, bool) else ("i8" if isinstance(v, int) else "f8") for v in section]
        dtype = np.dtype(list(zip(section._fields, kinds, strict=True)), align=True)
        sections[name] = as_read(np.array([tuple(section)], dtype=dtype))[0]
    return Params(**sections)


class Context(NamedTuple):
    """What is the same for every alliance in one week of one run: the week, the charter's
    calendar and the design-only quantities (see :mod:`sim.levers`)."""

    t: int  # weeks elapsed before this one
    charter_week: int
    launch_week: int
    pilot: bool  # the charter launches through a pilot
    n_partners: int  # partner slots per alliance
    meeting: bool
    working_group: bool
    steering: bool
    health_check: bool
    any_touchpoint: bool
    review: bool  # a strategic review: steering committee or health check
    triggers_on: bool
    standing_levers: int
    structure_levers: int
    structure_slowdown: float  # multiplier of every resolution chance (heavy structure slows)
    objective: float  # value per partner that meets the objectives (sim.vocabulary.objective)
    setup_effort: float  # one-off person-weeks per partner to put the design in place
    # the environment of the week (sim.environment.WeekMarket)
    shock_rate: float
    shock_scale: float
    volatility: float
    next_volatility: float
    value_change: float
    outside_factor: float
    trend_level: float

    def for_week(self, t: int, touch: Touchpoints, market: WeekMarket) -> Context:
        """The context of week ``t`` of the same run: its touchpoints and its environment."""
        return self._replace(
            t=t,
            meeting=touch.meeting,
            working_group=touch.working_group,
            steering=touch.steering,
            health_check=touch.health_check,
            any_touchpoint=touch.any,
            review=touch.review,
            **market._asdict(),
        )


# The context as compiled code gets it: one numpy record (passed as one pointer, where a
# named tuple's fields would be passed one by one).
CONTEXT_DTYPE = np.dtype(
    [
        (name, {int: "i8", bool: "?", float: "f8"}[kind])
        for name, kind in typing.get_type_hints(Context).items()
    ],
    align=True,
)


def week_context(
    t: int,
    config: SimulationConfig,
    touch: Touchpoints,
    market: WeekMarket,
) -> Context:
    """The context of week ``t`` (see :mod:`sim.levers` for the design-only quantities)."""
    from sim import levers
    from sim.vocabulary import charter_week, launch_week, objective

    g = config.governance
    n_partners = config.alliance.n_partners
    return Context(
        t=t,
        charter_week=charter_week(config),
        launch_week=launch_week(config),
        pilot=config.launch.mode is LaunchMode.PILOT,
        n_partners=n_partners,
        meeting=touch.meeting,
        working_group=touch.working_group,
        steering=touch.steering,
        health_check=touch.health_check,
        any_touchpoint=touch.any,
        review=touch.review,
        triggers_on=config.triggers.active(g),
        standing_levers=levers.standing_levers(g, n_partners),
        structure_levers=levers.structure_levers(g, n_partners),
        structure_slowdown=1.0 - config.dynamics.structure_drag * levers.governance_intensity(g) ** 2,
        objective=objective(config),
        setup_effort=levers.setup_effort(g, n_partners),
        **market._asdict(),
    )


# Shapes of record fields, by letter: P partner slots, K objectives, T traits, Q issue slots,
# C causes, D friction drivers, E events of one alliance in one week, M new issues a week.


class AllianceState(Protocol):
    """One alliance's state: a record of the cohort's alliance table (``CohortState.alliances``).

    Each annotation gives the field's type and, for arrays, its numpy type and shape
    (letters as above); :func:`record_dtype` builds the table's dtype from them.
    """

    index: Annotated[int, "i8"]  # the alliance's id in its cohort
    trust: Annotated[float, "f8"]
    integration: Annotated[float, "f8"]
    potential: Annotated[float, "f8"]
    institutionalisation: Annotated[float, "f8"]
    routines: Annotated[float, "f8"]  # joint routines and relationship-specific investment, in [0, 1]
    measurement: Annotated[float, "f8"]
    experience: Annotated[float, "f8"]
    communication: Annotated[float, "f8"]
    decision_efficiency: Annotated[float, "f8"]
    conflict_resolution: Annotated[float, "f8"]
    value_perception: Annotated[float, "f8"]
    health: Annotated[float, "f8"]
    cumulative_value: Annotated[float, "f8"]
    effort_proactive: Annotated[float, "f8"]
    effort_reactive: Annotated[float, "f8"]
    effort_setup: Annotated[float, "f8"]  # one-off, in person-weeks (``alliance.team_scale``)
    setup_effort: Annotated[float, "f8"]  # this week's one-off effort (the charter's week)
    resolution_weeks_total: Annotated[float, "f8"]
    phase: Annotated[int, "i8"]
    piloting: Annotated[bool, "?"]
    renegotiation_left: Annotated[int, "i8"]
    renegotiation_planned: Annotated[bool, "?"]  # a trigger clause (proactive) rather than a crisis
    last_renegotiation: Annotated[int, "i8"]
    renegotiations: Annotated[int, "i8"]
    failing_reviews: Annotated[int, "i8"]
    issues_raised: Annotated[int, "i8"]
    issues_dropped: Annotated[int, "i8"]
    resolved_count: Annotated[int, "i8"]
    escalations: Annotated[int, "i8"]
    alive: Annotated[bool, "?"]
    outcome: Annotated[int, "i8"]  # index into OUTCOMES, -1 while running
    end_week: Annotated[int, "i8"]  # -1 while running or alive at the horizon
    failure_mode: Annotated[int, "i8"]  # index into FailureMode, -1 unless failed
    failure_cause: Annotated[int, "i8"]  # Cause, -1 unless failed
    ledger: Annotated[np.ndarray, "f8", "C"]  # damage to trust booked by cause
    issue_age: Annotated[np.ndarray, "i8", "Q"]  # weeks open, -1 for an empty slot
    issue_small: Annotated[np.ndarray, "u1", "Q"]  # small enough to fast-track
    # what happened this week, read by later phases of the same week
    shock_size: Annotated[float, "f8"]
    proactive_effort: Annotated[float, "f8"]
    reactive_effort: Annotated[float, "f8"]
    friction_mix: Annotated[np.ndarray, "f8", "D"]  # share of each driver in the issue rate
    resolved: Annotated[int, "i8"]
    raised: Annotated[int, "i8"]
    departures: Annotated[int, "i8"]
    realigned: Annotated[float, "f8"]  # misalignment removed by this week's strategic review
    exited: Annotated[np.ndarray, "u1", "P"]  # the partner walked out this week
    collapsed: Annotated[np.ndarray, "u1", "P"]  # the partner was in it when trust collapsed
    n_events: Annotated[int, "i8"]  # events recorded this week, in the rows below
    event_kind: Annotated[np.ndarray, "i8", "E"]
    event_first: Annotated[np.ndarray, "i8", "E"]
    event_second: Annotated[np.ndarray, "i8", "E"]
    event_amount: Annotated[np.ndarray, "f8", "E"]
    # partners, by slot
    firm: Annotated[np.ndarray, "i8", "P"]
    incentives: Annotated[np.ndarray, "f8", "PK"]
    expectation: Annotated[np.ndarray, "f8", "P"]
    results_week: Annotated[np.ndarray, "i8", "P"]
    commitment: Annotated[np.ndarray, "f8", "P"]
    share: Annotated[np.ndarray, "f8", "P"]
    perceived_value: Annotated[np.ndarray, "f8", "P"]
    value_received: Annotated[np.ndarray, "f8", "P"]
    shortfall_weeks: Annotated[np.ndarray, "i8", "P"]
    contact_gap: Annotated[np.ndarray, "i8", "P"]  # weeks until a new champion is effective
    active: Annotated[np.ndarray, "u1", "P"]
    # what each partner firm brings this week (gathered from the firms before the phases)
    partner_strategy: Annotated[np.ndarray, "f8", "PK"]
    partner_culture: Annotated[np.ndarray, "f8", "PT"]
    partner_capacity: Annotated[np.ndarray, "f8", "P"]
    partner_load: Annotated[np.ndarray, "i8", "P"]  # alliances the firm runs at the week's start
    partner_outside_option: Annotated[np.ndarray, "f8", "P"]
    partner_reputation_drop: Annotated[np.ndarray, "f8", "P"]  # its loss last week, news here
    # what the partners chose (sim.mechanisms.choices; a class's teams set them between rounds);
    # at their defaults every partner behaves as the model's own partner does
    effort_choice: Annotated[np.ndarray, "f8", "P"]  # resources committed, times what its capacity gives
    silent: Annotated[np.ndarray, "u1", "P"]  # sits on open issues instead of raising them
    protects: Annotated[np.ndarray, "u1", "P"]  # protects its information and IP instead of sharing
    declines_side_deals: Annotated[np.ndarray, "u1", "P"]  # turns down the private temptations it meets
    leaving: Annotated[np.ndarray, "u1", "P"]  # walks out this week by choice
    side_gains: Annotated[np.ndarray, "f8", "P"]  # private gains from side deals taken
    net_value: Annotated[np.ndarray, "f8", "P"]  # the partner's own net value, summed over weeks
    clause_meetings: Annotated[bool, "?"]  # clauses the partners added to the charter during the run
    clause_kpis: Annotated[bool, "?"]
    clause_escalation: Annotated[bool, "?"]
    clause_expectations: Annotated[bool, "?"]
    renegotiation_asked: Annotated[bool, "?"]  # a renegotiation the partners agreed on


class FirmState(Protocol):
    """One partner firm: a record of the cohort's firm table (``CohortState.firms``)."""

    strategy: Annotated[np.ndarray, "f8", "K"]
    core: Annotated[np.ndarray, "f8", "K"]  # the strategy its core business anchors it to (at signing)
    culture: Annotated[np.ndarray, "f8", "T"]
    reputation: Annotated[float, "f8"]
    capacity: Annotated[float, "f8"]
    outside_option: Annotated[float, "f8"]
    load: Annotated[int, "i8"]  # alliances it is still active in, counted at the week's start
    exits_this_week: Annotated[int, "i8"]
    collapses_this_week: Annotated[int, "i8"]
    reputation_drop: Annotated[float, "f8"]  # last week's loss, which partners elsewhere notice


class AllianceDraws(Protocol):
    """One alliance's random numbers of one week (a record of ``alliance_draws``; see
    :mod:`sim.draws`): whose they are, and the numbers drawn so far."""

    key0: Annotated[np.uint32, "u4"]  # the replication's key (sim.draws.stream_key)
    key1: Annotated[np.uint32, "u4"]
    alliance: Annotated[int, "i8"]
    week: Annotated[int, "i8"]
    drawn: Annotated[int, "i8"]  # which numbers drawn when needed are held (sim.draws.DRAWN_*)

    incentive_noise: Annotated[np.ndarray, "f8", "KP"]
    expectation_noise: Annotated[np.ndarray, "f8", "P"]
    value_noise: Annotated[float, "f8"]
    shock_direction: Annotated[np.ndarray, "f8", "KP"]
    shock_size: Annotated[float, "f8"]
    shock_u: Annotated[float, "f8"]
    shock_kind_u: Annotated[float, "f8"]
    issue_u: Annotated[float, "f8"]
    severity_u: Annotated[np.ndarray, "f8", "M"]
    resolve_u: Annotated[np.ndarray, "f8", "Q"]
    contact_u: Annotated[np.ndarray, "f8", "P"]
    opportunism_u: Annotated[np.ndarray, "f8", "P"]
    walkaway_u: Annotated[np.ndarray, "f8", "P"]


def events_per_week(n_partners: int) -> int:
    """Events one alliance can record in a week: a departure and an exit per partner, a
    scale-up, a shock, a renegotiation, an escalation and an ending."""
    return 2 * n_partners + 5


@functools.cache
def record_dtype(fields: type, n_partners: int) -> np.dtype:
    """The numpy record type of a table whose fields ``fields`` annotates (see ``AllianceState``);
    kept, as reading the annotations costs more than a small cohort's setup."""
    sizes = {
        "P": n_partners,
        "K": N_OBJECTIVES,
        "T": N_TRAITS,
        "Q": ISSUE_CAPACITY,
        "C": N_CAUSES,
        "D": N_FRICTION_DRIVERS,
        "E": events_per_week(n_partners),
        "M": MAX_NEW_ISSUES,
    }
    out = []
    for name, hint in typing.get_type_hints(fields, include_extras=True).items():
        kind, *shape = hint.__metadata__
        out.append((name, kind, tuple(sizes[letter] for letter in "".join(shape))))
    return np.dtype(out, align=True)


AllianceTable = Sequence[AllianceState] | np.ndarray
"""Alliances as the engines hold them: Mesa agents, or a table of records."""
FirmTable = Sequence[FirmState] | np.ndarray


class CohortState(NamedTuple):
    """Everything that changes during a run: one record per alliance and one per firm."""

    alliances: np.ndarray  # records of type record_dtype(AllianceState, P)
    firms: np.ndarray  # records of type record_dtype(FirmState, P)


def new_state(start: CohortStart, config: SimulationConfig) -> CohortState:
    """The state at signing, from the cohort drawn by :func:`sim.market.build_cohort`."""
    n, p = start.shape.n_alliances, start.shape.n_partners
    a = np.zeros(n, dtype=record_dtype(AllianceState, p)).view(np.recarray)
    a.index = np.arange(n)
    a.trust = start.trust
    a.potential = 1.0
    a.institutionalisation = config.dynamics.initial_institutionalisation
    a.measurement = start.measurement
    a.experience = start.experience
    a.communication = INITIAL_COMMUNICATION
    a.decision_efficiency = INITIAL_DECISION_EFFICIENCY
    a.conflict_resolution = INITIAL_CONFLICT_RESOLUTION
    a.value_perception = INITIAL_VALUE_PERCEPTION
    a.health = (
        a.communication + a.decision_efficiency + a.conflict_resolution + a.trust + a.value_perception
    ) / 5.0
    a.last_renegotiation = NO_RENEGOTIATION_YET
    a.alive = True
    a.outcome = -1
    a.end_week = -1
    a.failure_mode = -1
    a.failure_cause = -1
    a.issue_age = -1
    a.firm = start.firm_of
    a.incentives = start.incentives
    a.expectation = start.expectation
    a.results_week = start.results_week
    a.commitment = start.commitment
    a.share = 1.0 / p
    a.active = True
    a.effort_choice = 1.0
    f = np.zeros(start.shape.n_firms, dtype=record_dtype(FirmState, p)).view(np.recarray)
    f.strategy = start.strategy
    f.core = start.strategy
    f.culture = start.culture
    f.reputation = start.reputation
    f.capacity = start.capacity
    f.outside_option = start.outside_option
    return CohortState(alliances=a, firms=f)
