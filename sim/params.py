"""Typed, validated parameters of the alliance model.

Every knob of the model lives in one of the frozen dataclasses below. Each
field carries its allowed range in its metadata; construction checks every
field and raises :class:`ConfigError` naming the key, the value and what is
allowed, so a typo or an out-of-range value fails before any simulation runs.

The Hydra command line builds its structured-config schema from these same
classes (see :func:`sim.cli.hydra_support.mirror_schema`), so the two can never disagree.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
import numbers
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


class ConfigError(ValueError):
    """A parameter has a value the model cannot accept."""


def require_config(config: object, where: str) -> None:
    """A TypeError naming ``where`` unless ``config`` is a SimulationConfig (a dict, a design's
    name or None are the usual mistakes)."""
    if not isinstance(config, SimulationConfig):
        raise TypeError(
            f"{where}: config = {type(config).__name__} {str(config)[:60]!r}: must be a SimulationConfig; "
            "make one with sim.config.load_config(['governance=full', ...])"
        )


NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""What a name (of a design, a scenario, a study) may be: short, and safe in a folder name."""


class AllianceType(enum.StrEnum):
    """The three alliance archetypes of the practitioner literature."""

    COMPLEMENTARY = "complementary"
    COOPETITION = "coopetition"
    ECOSYSTEM = "ecosystem"


class MeetingCadence(enum.StrEnum):
    """How often the partners hold joint alignment meetings."""

    NONE = "none"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def period_weeks(self) -> int:
        """Weeks between meetings; 0 means no meetings at all."""
        return {"none": 0, "biweekly": 2, "monthly": 4, "quarterly": 13}[self.value]


class LaunchMode(enum.StrEnum):
    """Whether the alliance goes live at full scale or through a limited pilot."""

    FULL = "full"
    PILOT = "pilot"


class Engine(enum.StrEnum):
    """Which engine steps the cohort (both compute the same model, to the last bit): ``cohort``,
    the mechanisms compiled in one loop over the cohort's alliances (for sweeps), or ``mesa``,
    Mesa agents running the same mechanisms in plain Python (to step through). The names of
    earlier releases, ``vectorized`` and ``reference``, are read as aliases."""

    MESA = "mesa"
    COHORT = "cohort"

    @classmethod
    def _missing_(cls, value: object) -> Engine | None:
        return {"reference": cls.MESA, "vectorized": cls.COHORT}.get(str(value).lower())


def knob(default: Any, lo: float | None = None, hi: float | None = None, doc: str = "") -> Any:
    """A dataclass field with an allowed closed range ``[lo, hi]`` and a description."""
    return field(default=default, metadata={"lo": lo, "hi": hi, "doc": doc})


def _describe_range(lo: float | None, hi: float | None, kind: str = "a number") -> str:
    if lo is not None and hi is not None:
        return f"{kind} between {lo} and {hi}"
    if lo is not None:
        return f"{kind} >= {lo}"
    if hi is not None:
        return f"{kind} <= {hi}"
    return kind


def _check_value(key: str, value: Any, annotation: Any, meta: Mapping[str, Any]) -> Any:
    """Coerce ``value`` to the field's type and check its range, or raise ConfigError."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None:
            return None
        (annotation,) = args
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        allowed = ", ".join(m.value for m in annotation)
        try:
            return annotation(value)
        except ValueError:
            raise ConfigError(f"{key} = {value!r}: allowed values are {allowed}") from None
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} = {value!r}: must be true or false")
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} = {value!r}: must be a string")
        if not NAME.match(value):  # names label results and become parts of folder names
            shown = value if len(value) <= 60 else f"{value[:60]}... ({len(value)} characters)"
            raise ConfigError(
                f"{key} = {shown!r}: must be a name of 1 to 64 letters, digits, '_', '.' or '-'"
            )
        return value
    lo, hi = meta.get("lo"), meta.get("hi")
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{key} = {value!r}: must be {_describe_range(lo, hi, 'an integer')}")
        value = int(value)
    elif annotation is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{key} = {value!r}: must be {_describe_range(lo, hi)}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r}: must be finite, {_describe_range(lo, hi)}")
    else:  # pragma: no cover - a schema bug, not a user error
        raise TypeError(f"unsupported parameter type {annotation!r} for {key}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        kind = "an integer" if annotation is int else "a number"
        raise ConfigError(f"{key} = {value!r}: must be {_describe_range(lo, hi, kind)}")
    return value


def _resolve_hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


type_hints: Callable[[Any], dict[str, Any]] = functools.cache(_resolve_hints)
"""A parameter group's field types, resolved once per class (resolving them compiles each
annotation's string, which a config built thousands of times would repeat)."""


@dataclass(frozen=True)
class Section:
    """Base of every parameter group: validates all fields at construction."""

    SECTION: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if dataclasses.is_dataclass(hints[f.name]):
                if not isinstance(value, hints[f.name]):
                    raise ConfigError(
                        f"{self._key(f.name)} = {value!r}: expected a {hints[f.name].__name__} (build it with from_dict, or pass the settings as a mapping to from_dict)"
                    )
                continue
            checked = _check_value(self._key(f.name), value, hints[f.name], f.metadata)
            object.__setattr__(self, f.name, checked)
        self.validate()

    def _key(self, name: str) -> str:
        return f"{self.SECTION}.{name}" if self.SECTION else name

    def validate(self) -> None:
        """Cross-field checks; subclasses override."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, prefix: str | None = None) -> Self:
        """Build from a plain mapping, rejecting unknown keys with the list of known ones."""
        prefix = cls.SECTION if prefix is None else prefix
        data = dict(data or {})
        hints = type_hints(cls)
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            where = f"{prefix}." if prefix else ""
            raise ConfigError(f"unknown key {where}{unknown[0]}: allowed keys are {', '.join(sorted(known))}")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            sub = hints[name]
            if dataclasses.is_dataclass(sub) and isinstance(sub, type):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{name} = {value!r}: must be a group of settings")
                kwargs[name] = sub.from_dict(value, prefix=name)  # type: ignore[attr-defined]
            else:
                kwargs[name] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested mapping with enum values as strings (for YAML, JSON and tables)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Section):
                out[f.name] = value.to_dict()
            elif isinstance(value, enum.Enum):
                out[f.name] = value.value
            else:
                out[f.name] = value
        return out


@dataclass(frozen=True)
class AllianceParams(Section):
    """What kind of alliance is formed: its archetype and structural properties."""

    SECTION: ClassVar[str] = "alliance"

    type: AllianceType = AllianceType.COMPLEMENTARY
    spokes: int = knob(4, 2, 12, "spoke partners around the hub (ecosystems only)")
    complementarity: float = knob(0.8, 0.0, 1.0, "how much the partners' capabilities add up")
    capability_overlap: float = knob(0.1, 0.0, 1.0, "how far the partners also compete")
    integration_complexity: float = knob(0.7, 0.0, 1.0, "friction of joining processes early on")
    ip_exposure: float = knob(0.1, 0.0, 1.0, "intellectual property at risk in joint work")
    coordination_load: float = knob(0.0, 0.0, 1.0, "friction added by each partner beyond two")
    objective_value: float = knob(
        60.0,
        0.0,
        None,
        "value per partner that counts as success for a three-year alliance (scaled to the "
        "alliance's planned weeks of operation)",
    )
    team_scale: float = knob(
        1.0,
        0.01,
        100.0,
        "people the partners put on the alliance, relative to a typical partner's team (1: a "
        "senior leader part-time and one or two full-time people); converts effort to person-weeks",
    )
    objective_target: float = knob(
        0.0, 0.0, None, "the project's own target of value per partner (0: objective_value, scaled)"
    )

    @property
    def n_partners(self) -> int:
        """Slots per alliance: two for a dyad, the hub plus its spokes for an ecosystem."""
        return 1 + self.spokes if self.type is AllianceType.ECOSYSTEM else 2


@dataclass(frozen=True)
class GovernanceParams(Section):
    """The governance design: the levers compared across alliances."""

    SECTION: ClassVar[str] = "governance"

    name: str = "handshake"
    meeting_cadence: MeetingCadence = MeetingCadence.NONE
    decision_rights: bool = False
    steering_committee: bool = False
    escalation_path: bool = False
    escalation_age_weeks: int = knob(4, 1, 52, "age at which an open issue is escalated")
    shared_kpis: bool = False
    cultural_bridging: bool = False
    explicit_expectations: bool = False
    strategic_alignment: bool = False
    handover_protocol: bool = False
    health_check_weeks: int = knob(0, 0, 52, "weeks between health checks (0: none)")
    orchestrator: bool = False
    ip_guardrails: bool = False
    sunset_week: int = knob(0, 0, 10_000, "week at which a time-boxed alliance ends (0: none)")
    adaptation_triggers: bool = False


@dataclass(frozen=True)
class TriggerParams(Section):
    """Adaptation-trigger clauses: when a watched signal opens a renegotiation."""

    SECTION: ClassVar[str] = "triggers"

    enabled: bool | None = None
    shock_threshold: float = knob(0.15, 0.0, None, "shock size that opens a renegotiation")
    health_threshold: float = knob(0.45, 0.0, 1.0, "health index below which one is opened")
    misalignment_threshold: float = knob(0.3, 0.0, 1.0, "incentive misalignment above which")
    cooldown_weeks: int = knob(13, 0, 520, "minimum weeks between two renegotiations")

    def active(self, governance: GovernanceParams) -> bool:
        """Triggers are on when set explicitly, else when the design includes them."""
        return governance.adaptation_triggers if self.enabled is None else self.enabled


@dataclass(frozen=True)
class ScenarioParams(Section):
    """The environment: how often shocks arrive, how large, and how fast things drift."""

    SECTION: ClassVar[str] = "scenario"

    name: str = "calm"
    shock_rate: float = knob(0.01, 0.0, 1.0, "weekly probability of a shock per alliance")
    shock_scale: float = knob(0.08, 0.0, 2.0, "mean shock size (exponentially distributed)")
    regulatory_share: float = knob(0.4, 0.0, 1.0, "share of shocks that are regulatory")
    market_share_share: float = knob(0.3, 0.0, 1.0, "share of shocks that shift market share")
    volatility: float = knob(0.8, 0.0, 5.0, "multiplier on every drift")
    # an episode: a downturn, a regulatory crisis or a volatility spell (sim.environment)
    episode_start_week: int = knob(0, 0, 5200, "week the episode sets in")
    episode_weeks: int = knob(0, 0, 5200, "how long the episode lasts (0: no episode)")
    recovery_weeks: int = knob(0, 0, 5200, "weeks over which conditions ease back after it")
    episode_shock_rate: float = knob(0.0, 0.0, 1.0, "weekly probability of a shock during it")
    episode_shock_scale: float = knob(0.0, 0.0, 2.0, "mean shock size during it")
    episode_volatility: float = knob(0.0, 0.0, 5.0, "multiplier on every drift during it")
    value_trend: float = knob(0.0, -0.05, 0.05, "weekly relative change of value potential during it")
    outside_option_trend: float = knob(0.0, -0.05, 0.05, "weekly change of outside options during it")

    def validate(self) -> None:
        total = self.regulatory_share + self.market_share_share
        if total > 1.0:
            raise ConfigError(
                f"scenario.regulatory_share + scenario.market_share_share = {total}: must be at most 1 (the rest are technology shocks)"
            )
        if self.episode_weeks == 0:
            for key in ("value_trend", "outside_option_trend"):
                if getattr(self, key) != 0.0:
                    raise ConfigError(
                        f"scenario.{key} = {getattr(self, key)}: a trend acts only during an episode; "
                        "set scenario.episode_weeks (its length, at least 1) or the trend to 0"
                    )


@dataclass(frozen=True)
class LaunchParams(Section):
    """How the alliance goes live after operational design."""

    SECTION: ClassVar[str] = "launch"

    mode: LaunchMode = LaunchMode.FULL
    pilot_weeks: int = knob(26, 1, 520, "minimum length of a pilot")
    pilot_scale: float = knob(0.35, 0.0, 1.0, "share of full value a pilot produces")
    pilot_gate_health: float = knob(0.5, 0.0, 1.0, "health needed to scale a pilot up")
    pilot_gate_value: float = knob(
        0.7,
        0.0,
        2.0,
        "share of its outside option (at the pilot's scale) a partner must perceive from the "
        "pilot at its gate, or the partners conclude it by agreement",
    )


@dataclass(frozen=True)
class MarketParams(Section):
    """The market network the partner firms live in."""

    SECTION: ClassVar[str] = "market"

    alliances_per_firm: float = knob(1.5, 1.0, 10.0, "mean alliances a firm holds")
    degree: int = knob(6, 2, 100, "ring neighbours per firm before rewiring (even; small-world graph)")
    rewiring: float = knob(0.1, 0.0, 1.0, "small-world rewiring probability")
    prior_experience: float = knob(0.4, 0.0, 10.0, "mean past joint alliances per known pair")
    reputation_alpha: float = knob(6.0, 0.1, 100.0, "Beta prior of reputation, alpha")
    reputation_beta: float = knob(3.0, 0.1, 100.0, "Beta prior of reputation, beta")
    outside_option_mean: float = knob(0.15, 0.0, 5.0, "mean weekly value a firm earns alone")
    outside_option_sd: float = knob(0.06, 0.0, 5.0, "spread of outside options across firms")
    strategy_spread: float = knob(0.2, 0.0, 1.0, "spread of firms' strategic priorities")
    culture_spread: float = knob(0.2, 0.0, 1.0, "spread of firms' cultural traits")
    capacity_sd: float = knob(0.25, 0.0, 2.0, "spread of firms' commitment capacity")

    def validate(self) -> None:
        if self.degree % 2:
            raise ConfigError(
                f"market.degree = {self.degree}: must be even (each firm links to degree/2 neighbours on each side)"
            )


@dataclass(frozen=True)
class Dynamics(Section):
    """Coefficients of the mechanisms, each used where sim/engines/mesa_agents.py (or sim/market.py at signing)
    says; docs/ODD.md lists them by submodel."""

    SECTION: ClassVar[str] = "dynamics"

    # lifecycle
    discovery_weeks: int = knob(4, 1, 52, "discovery phase length")
    alignment_weeks: int = knob(4, 1, 52, "alignment (charter) phase length")
    design_weeks: int = knob(8, 1, 104, "operational design phase length")
    full_launch_surge: float = knob(0.8, 0.0, 10.0, "extra issue rate of a full launch")
    pilot_issue_factor: float = knob(0.6, 0.0, 5.0, "issue rate during a pilot")
    prelaunch_issue_factor: float = knob(0.5, 0.0, 5.0, "issue rate before launch")
    results_weeks: float = knob(26.0, 0.0, 520.0, "mean expected weeks from launch to results")
    pilot_learning: float = knob(0.3, 0.0, 1.0, "part of a settled issue's root cause fixed while piloting")
    walkaway_rate: float = knob(
        0.02, 0.0, 1.0, "weekly chance a partner walks away while testing the fit, at zero trust"
    )
    walkaway_trust: float = knob(0.35, 0.0, 1.0, "trust below which a partner testing the fit may walk")
    post_pilot_results_weeks: int = knob(
        13, 0, 520, "weeks partners give a scaled-up pilot before judging it"
    )
    # drift
    strategy_drift: float = knob(0.01, 0.0, 1.0, "weekly s.d. of firm strategy")
    strategy_anchoring: float = knob(
        0.02, 0.0, 1.0, "weekly pull of a firm's strategy back to its core business"
    )
    culture_drift: float = knob(0.005, 0.0, 1.0, "weekly s.d. of firm culture")
    incentive_drift: float = knob(0.02, 0.0, 1.0, "weekly s.d. of a partner's incentives")
    incentive_reversion: float = knob(0.05, 0.0, 1.0, "weekly pull of incentives to strategy")
    expectation_drift: float = knob(0.01, 0.0, 1.0, "weekly s.d. of expectations")
    expectation_adaptation: float = knob(0.01, 0.0, 1.0, "silent weekly shift toward experience")
    optimism: float = knob(0.3, -1.0, 5.0, "mean initial over-expectation")
    optimism_sd: float = knob(0.2, 0.0, 5.0, "spread of initial over-expectation")
    # shocks
    shock_incentive_push: float = knob(0.6, 0.0, 5.0, "incentive displacement per unit shock")
    shock_value_hit: float = knob(0.8, 0.0, 5.0, "value potential lost per unit regulatory shock")
    shock_share_shift: float = knob(0.5, 0.0, 5.0, "value-share shift per unit market shock")
    shock_integration_setback: float = knob(0.8, 0.0, 5.0, "integration lost per unit tech shock")
    # friction
    base_issue_rate: float = knob(0.08, 0.0, 3.0, "weekly issue rate with no frictions")
    w_incentive: float = knob(2.0, 0.0, 50.0, "issue-rate weight of incentive misalignment")
    w_culture: float = knob(1.5, 0.0, 50.0, "issue-rate weight of cultural distance")
    w_expectation: float = knob(1.0, 0.0, 50.0, "issue-rate weight of expectation gaps")
    w_measurement: float = knob(0.8, 0.0, 50.0, "issue-rate weight of measurement misalignment")
    w_integration: float = knob(1.5, 0.0, 50.0, "issue-rate weight of integration complexity")
    w_ip: float = knob(1.5, 0.0, 50.0, "issue-rate weight of IP exposure")
    w_coordination: float = knob(1.0, 0.0, 50.0, "issue-rate weight of coordination load")
    issue_prevention: float = knob(
        0.3, 0.0, 1.0, "cut of the issue rate by fully institutionalised joint routines"
    )
    small_issue_share: float = knob(0.6, 0.0, 1.0, "share of issues small enough to fast-track")
    measurement_spread: float = knob(0.8, 0.0, 1.0, "max measurement misalignment at start")
    # issue resolution
    adhoc_resolve: float = knob(0.07, 0.0, 1.0, "weekly chance an issue is settled informally")
    rights_boost: float = knob(0.5, 0.0, 10.0, "relative speed-up from clear decision rights")
    meeting_resolve: float = knob(0.55, 0.0, 1.0, "chance an issue is settled at a meeting")
    rights_meeting_resolve: float = knob(0.8, 0.0, 1.0, "same, with decision rights")
    working_group_resolve: float = knob(0.5, 0.0, 1.0, "chance at a working group")
    steering_resolve: float = knob(0.9, 0.0, 1.0, "chance an escalated issue is settled")
    escalation_resolve: float = knob(0.25, 0.0, 1.0, "weekly chance via senior sponsors")
    fast_track_resolve: float = knob(0.4, 0.0, 1.0, "weekly chance for small issues")
    culture_drag: float = knob(1.0, 0.0, 5.0, "slow-down of informal decisions by distance")
    contact_drag: float = knob(0.5, 0.0, 1.0, "slow-down without a champion")
    experience_boost: float = knob(0.5, 0.0, 5.0, "speed-up from past joint alliances")
    structure_drag: float = knob(0.35, 0.0, 1.0, "slow-down at maximum governance intensity")
    bridging_effect: float = knob(0.6, 0.0, 1.0, "cut of cultural distance by bridging")
    guardrail_effect: float = knob(0.7, 0.0, 1.0, "cut of IP exposure by guardrails")
    orchestration_effect: float = knob(0.7, 0.0, 1.0, "cut of coordination load by a hub role")
    # effort (person-weeks per week, summed over partners); a significant alliance takes 15 to 20%
    # of a senior leader's time and 1 to 2 full-time people for operational management
    meeting_effort: float = knob(0.4, 0.0, 10.0, "per partner per meeting")
    working_group_effort: float = knob(0.8, 0.0, 10.0, "per partner per working group")
    steering_effort: float = knob(1.0, 0.0, 10.0, "per partner per steering committee")
    health_check_effort: float = knob(0.6, 0.0, 10.0, "per partner per health check")
    lever_effort: float = knob(0.1, 0.0, 10.0, "weekly per partner for each standing lever")
    firefight_effort: float = knob(0.5, 0.0, 20.0, "weekly per open issue")
    aged_issue_effort: float = knob(1.0, 0.0, 20.0, "extra weekly per issue open past grace")
    escalation_effort: float = knob(1.0, 0.0, 20.0, "per escalation")
    crisis_effort: float = knob(1.0, 0.0, 20.0, "weekly per partner while health is at crisis level")
    renegotiation_effort: float = knob(1.0, 0.0, 20.0, "weekly during a renegotiation")
    effort_cost: float = knob(0.02, 0.0, 10.0, "value consumed per person-week of effort")
    # value
    value_per_partner: float = knob(1.0, 0.0, 100.0, "weekly joint value per partner at full")
    contribution_cost: float = knob(0.1, 0.0, 10.0, "weekly cost of a unit of commitment")
    integration_rate: float = knob(0.1, 0.0, 1.0, "weekly integration progress")
    integration_floor: float = knob(0.3, 0.0, 1.0, "value share produced before integration")
    trust_floor: float = knob(0.4, 0.0, 1.0, "value share produced at zero trust")
    load_dilution: float = knob(0.5, 0.0, 1.0, "how far each extra alliance dilutes commitment")
    planning_trust: float = knob(0.6, 0.0, 1.0, "trust partners plan on when projecting value")
    perception_rate: float = knob(0.1, 0.0, 1.0, "EMA rate of perceived value")
    exit_patience: int = knob(12, 1, 520, "weeks of shortfall before a partner exits")
    value_noise: float = knob(0.15, 0.0, 2.0, "week-to-week relative s.d. of realised value")
    # trust
    initial_trust: float = knob(0.45, 0.0, 1.0, "trust at signing: typical reputation, no shared history")
    reputation_trust: float = knob(0.3, 0.0, 1.0, "initial trust per unit reputation above typical")
    experience_trust: float = knob(0.1, 0.0, 1.0, "initial trust from past joint alliances")
    trust_per_resolution: float = knob(0.04, 0.0, 1.0, "trust gain per settled issue")
    trust_per_issue: float = knob(
        0.04, 0.0, 1.0, "trust lost when an issue arises, however fast it is settled"
    )
    trust_per_value: float = knob(0.02, 0.0, 1.0, "trust gain per unit of value above par")
    trust_per_touchpoint: float = knob(0.02, 0.0, 1.0, "trust gain in a week with a touchpoint")
    aging_grace_weeks: int = knob(3, 0, 52, "age after which an open issue erodes trust")
    trust_per_aged_issue: float = knob(0.006, 0.0, 1.0, "weekly trust loss per issue open past grace")
    opportunism_rate: float = knob(0.02, 0.0, 1.0, "weekly chance of opportunism at full pull")
    overlap_temptation: float = knob(0.3, 0.0, 5.0, "pull toward opportunism per unit capability overlap")
    trust_per_opportunism: float = knob(0.15, 0.0, 1.0, "trust loss per opportunistic act")
    trust_per_gap: float = knob(0.02, 0.0, 1.0, "weekly trust loss per unit expectation gap")
    trust_per_contact_loss: float = knob(0.25, 0.0, 1.0, "trust loss when a champion leaves")
    trust_per_reputation_drop: float = knob(0.5, 0.0, 10.0, "trust loss per unit partner rep loss")
    trust_per_inequity: float = knob(0.01, 0.0, 1.0, "weekly trust loss per unit inequity")
    collapse_trust: float = knob(0.12, 0.0, 1.0, "trust below which the alliance collapses")
    # key contacts and institutionalisation
    contact_hazard: float = knob(0.004, 0.0, 1.0, "weekly chance a champion leaves")
    handover_effect: float = knob(0.8, 0.0, 1.0, "cut of the loss by a handover protocol")
    contact_gap_weeks: int = knob(12, 0, 104, "weeks without a champion after a departure")
    handover_gap_weeks: int = knob(2, 0, 104, "same, with a handover protocol")
    institutionalisation_rate: float = knob(0.01, 0.0, 1.0, "weekly growth per structure lever")
    routine_rate: float = knob(
        0.008, 0.0, 1.0, "weekly growth of joint routines per unit of trust, after launch"
    )
    routine_buffer: float = knob(0.8, 0.0, 1.0, "share of trust damage that full routines absorb")
    initial_institutionalisation: float = knob(0.1, 0.0, 1.0, "at signing")
    # reputation
    reputation_exit_loss: float = knob(0.1, 0.0, 1.0, "reputation a firm loses by exiting")
    reputation_collapse_loss: float = knob(0.05, 0.0, 1.0, "lost by each partner on a collapse")
    shock_blame: float = knob(0.05, 0.0, 10.0, "failure attribution per unit shock size")
    # health index
    health_rate: float = knob(0.15, 0.0, 1.0, "EMA rate of the health components")
    decision_age_scale: float = knob(4.0, 0.1, 104.0, "open-issue age that halves efficiency")
    communication_base: float = knob(0.4, 0.0, 1.0, "communication with no touchpoint")
    communication_touchpoint: float = knob(0.4, 0.0, 1.0, "communication in a week with a touchpoint")
    communication_contact: float = knob(0.3, 0.0, 1.0, "communication lost without champions")
    communication_issue: float = knob(0.02, 0.0, 1.0, "communication lost per open issue")
    # renegotiation
    renegotiation_weeks: int = knob(4, 0, 52, "weeks of reduced value while renegotiating")
    renegotiation_value_loss: float = knob(0.3, 0.0, 1.0, "value lost during those weeks")
    realign_fraction: float = knob(0.6, 0.0, 1.0, "part of the gaps a renegotiation closes")
    renegotiation_recovery: float = knob(
        0.5, 0.0, 1.0, "part of the value lost to shocks a renegotiation recovers"
    )
    crisis_health: float = knob(0.3, 0.0, 1.0, "health that forces a crisis renegotiation")
    crisis_min_trust: float = knob(0.3, 0.0, 1.0, "trust needed to still renegotiate")
    crisis_efficacy: float = knob(0.4, 0.0, 1.0, "effect of a crisis renegotiation vs planned")
    review_realign_fraction: float = knob(0.3, 0.0, 1.0, "realignment at a strategic review")
    trust_per_realignment: float = knob(
        0.1, 0.0, 5.0, "trust gain per unit of misalignment a strategic review removes"
    )
    agreed_exit_fraction: float = knob(
        0.8,
        0.05,
        1.0,
        "share of its exit patience a partner's shortfall has used when a strategic review "
        "winds the alliance down by agreement (1: never)",
    )
    explicit_expectation_rate: float = knob(0.4, 0.0, 1.0, "gap closed at a touchpoint")
    # graceful termination
    termination_health: float = knob(0.4, 0.0, 1.0, "criterion: relationship health below this")
    termination_misalignment: float = knob(0.35, 0.0, 1.0, "criterion: misalignment above this")
    termination_value: float = knob(0.6, 0.0, 1.0, "criterion: value perception below this")
    termination_criteria: int = knob(
        2,
        1,
        5,
        "criteria failing at once for a review to count against (5, more than there are: no termination clause)",
    )
    termination_reviews: int = knob(2, 1, 52, "consecutive failing reviews to end deliberately")
    # partners' choices (sim.mechanisms.choices: a class's teams make them; the model's own
    # partners commit what their capacity gives, raise every issue, share, take what tempts them)
    silence_relief: float = knob(0.5, 0.0, 1.0, "cut of new issues' trust cost when all sit on them")
    silence_drag: float = knob(0.5, 0.0, 1.0, "cut of informal settlement when all sit on issues")
    protection_effect: float = knob(0.5, 0.0, 1.0, "cut of IP at risk when all protect their IP")
    protection_drag: float = knob(0.4, 0.0, 1.0, "cut of integration progress when all protect")
    side_deal_gain: float = knob(0.5, 0.0, 100.0, "private value a partner takes in one side deal")
    added_meeting_weeks: int = knob(4, 1, 52, "weeks between the meetings of an added meeting clause")


@dataclass(frozen=True)
class SimulationConfig(Section):
    """One cohort run: who, under which design, in which environment, for how long."""

    n_alliances: int = knob(1000, 1, 10_000_000, "alliances in the cohort")
    horizon_weeks: int = knob(156, 1, 5200, "weeks simulated (156 = three years)")
    seed: int = knob(0, 0, 2**63 - 1, "replication seed")
    engine: Engine = Engine.COHORT
    alliance: AllianceParams = field(default_factory=AllianceParams)
    governance: GovernanceParams = field(default_factory=GovernanceParams)
    triggers: TriggerParams = field(default_factory=TriggerParams)
    scenario: ScenarioParams = field(default_factory=ScenarioParams)
    launch: LaunchParams = field(default_factory=LaunchParams)
    market: MarketParams = field(default_factory=MarketParams)
    dynamics: Dynamics = field(default_factory=Dynamics)

    def validate(self) -> None:
        sunset = self.governance.sunset_week
        if sunset > self.horizon_weeks:
            raise ConfigError(
                f"governance.sunset_week = {sunset}: must be 0 (none) or at most horizon_weeks ({self.horizon_weeks})"
            )

    def replace(self, **changes: Any) -> SimulationConfig:
        """A copy with some fields changed (nested groups given as mappings are merged)."""
        data = self.to_dict()
        for key, value in changes.items():
            if isinstance(value, Mapping) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            elif isinstance(value, Section):
                data[key] = value.to_dict()
            else:
                data[key] = value
        return SimulationConfig.from_dict(data)
