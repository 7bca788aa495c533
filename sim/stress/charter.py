"""The charter file: what a practitioner writes about the alliance they are about to sign.

A typed schema (pydantic) validates the YAML before anything runs. Where the
practitioner is unsure, a number may be a range (``[low, high]`` or
``{low: ..., high: ...}``): the stress test draws it afresh for each Monte Carlo
draw. An error names the field, its line in the file, the value and what is
allowed. :func:`json_schema` publishes the schema for editor completion
(``docs/charter.schema.json``).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from sim.defaults import limited_loader, load_limited_yaml
from sim.params import AllianceType, LaunchMode, MeetingCadence


class CharterError(ValueError):
    """A charter file the stress test cannot read: the message names the field and line."""


class Range(BaseModel):
    """A value the practitioner is unsure of: drawn uniformly between ``low`` and ``high``."""

    model_config = ConfigDict(extra="forbid")
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self


def _range_from_list(value: Any) -> Any:
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise ValueError(f"a range is two numbers [low, high], got {list(value)!r}")
        return {"low": value[0], "high": value[1]}
    return value


def _bounded(lo: float, hi: float) -> Any:
    def check(value: float | Range) -> float | Range:
        ends = (value.low, value.high) if isinstance(value, Range) else (value,)
        for end in ends:
            if not lo <= end <= hi:
                raise ValueError(f"{end} is out of range: must be a number between {lo} and {hi}")
        return value

    return check


def _uncertain_doc(lo: float, hi: float) -> Any:
    return Field(description=f"a number between {lo} and {hi}, or a range [low, high] within it")


Unit = Annotated[
    float | Range,
    BeforeValidator(_range_from_list),
    AfterValidator(_bounded(0.0, 1.0)),
    _uncertain_doc(0.0, 1.0),
]
"""A number in [0, 1], or a range of them."""
Size = Annotated[
    float | Range,
    BeforeValidator(_range_from_list),
    AfterValidator(_bounded(0.3, 3.0)),
    _uncertain_doc(0.3, 3.0),
]
Option = Annotated[
    float | Range,
    BeforeValidator(_range_from_list),
    AfterValidator(_bounded(0.0, 2.0)),
    _uncertain_doc(0.0, 2.0),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class Priorities(Strict):
    """How much the partner weighs each objective (0 not at all, 1 above all)."""

    speed: Unit = Field(0.5, description="speed to market")
    compliance: Unit = Field(0.5, description="compliance and risk")
    margin: Unit = Field(0.5, description="margin")
    learning: Unit = Field(0.5, description="learning and data access")


class Culture(Strict):
    """The partner's decision culture, each trait from 0 (low) to 1 (high)."""

    decision_speed: Unit = Field(0.5, description="how fast it decides")
    formality: Unit = Field(0.5, description="how formal its approvals are")
    risk_appetite: Unit = Field(0.5, description="how much risk it accepts")


class SuccessMeasure(enum.StrEnum):
    """What a partner counts as success."""

    REVENUE = "revenue"
    PROFIT = "profit"
    MARKET_SHARE = "market_share"
    COST_SAVINGS = "cost_savings"
    LEARNING = "learning"
    STRATEGIC_VALUE = "strategic_value"
    LEADS = "leads"
    CLIENTS_WON = "clients_won"
    CUSTOMER_SATISFACTION = "customer_satisfaction"
    TIME_TO_MARKET = "time_to_market"
    PROJECT_DELIVERED = "project_delivered"


class Partner(Strict):
    """One partner firm as the practitioner sees it."""

    name: str = Field(min_length=1)
    size: Size = Field(
        1.0, description="people, time and money it can commit, relative to a typical partner (1)"
    )
    priorities: Priorities = Field(default_factory=lambda: Priorities.model_validate({}))
    culture: Culture = Field(default_factory=lambda: Culture.model_validate({}))
    success_measure: SuccessMeasure = SuccessMeasure.REVENUE
    institutionalisation: Unit = Field(
        0.1,
        description="how far the relationship rests on processes and many contacts rather than one "
        "key contact (0: one person, 1: fully institutionalised)",
    )
    outside_option: Option = Field(
        0.15,
        description="what it earns a week without the alliance, in units of the alliance's weekly "
        "value per partner at full scale",
    )
    people: float | None = Field(
        None,
        gt=0,
        le=1_000_000,
        description="people in the partner's business concerned (1 for a one-person practice); "
        "sets the scale of every effort in person-weeks (default: a typical partner, "
        "20 people, on which the effort figures are calibrated)",
    )


class Scope(enum.StrEnum):
    PROJECT = "project"
    OPEN_ENDED = "open_ended"


Launch = LaunchMode
"""The charter's launch: a controlled pilot or a full launch (the model's own options)."""


class IPSharing(enum.StrEnum):
    """How far the partners share intellectual property (source: layered IP sharing)."""

    PROTECT = "protect"
    LAYERED = "layered"
    SHARE = "share"


class Environment(enum.StrEnum):
    CALM = "calm"
    VOLATILE = "volatile"
    REGULATORY_SHOCK = "regulatory_shock"
    DOWNTURN = "downturn"


class Alliance(Strict):
    """What kind of alliance, for how long, and how it goes live."""

    type: AllianceType
    scope: Scope = Scope.OPEN_ENDED
    sunset_weeks: int | None = Field(
        None, ge=1, le=520, description="week at which a project alliance ends by design (project scope)"
    )
    horizon_years: float = Field(3.0, ge=0.5, le=10.0, description="time horizon the partners judge it on")
    launch: Launch = Launch.FULL
    prelude_to_larger: bool = Field(False, description="a likely prelude to a larger arrangement")
    project_target: float | None = Field(
        None,
        gt=0,
        le=10_000,
        description="value each partner must get for the alliance to count as a success, in weeks "
        "of its full-scale weekly value per partner (the unit of outside_option); default: the "
        "type's three-year objective in proportion to the planned weeks of operation",
    )
    ip_sharing: IPSharing = IPSharing.LAYERED
    complementarity: Unit | None = Field(
        None, description="how much the capabilities add up (default: the type's calibrated value)"
    )
    capability_overlap: Unit | None = Field(
        None, description="how far the partners also compete (default: the type's)"
    )
    integration_complexity: Unit | None = Field(
        None, description="how hard joining processes is early on (default: the type's)"
    )

    @model_validator(mode="after")
    def _scope_and_sunset(self) -> Alliance:
        if self.scope is Scope.PROJECT and self.sunset_weeks is None:
            raise ValueError("a project alliance needs sunset_weeks (the week its project ends)")
        if self.scope is Scope.OPEN_ENDED and self.sunset_weeks is not None:
            raise ValueError("sunset_weeks is only for scope: project")
        if self.sunset_weeks is not None and self.sunset_weeks > round(52 * self.horizon_years):
            raise ValueError(
                f"sunset_weeks = {self.sunset_weeks} lies beyond the horizon "
                f"({round(52 * self.horizon_years)} weeks)"
            )
        return self


Cadence = MeetingCadence
"""The charter's meeting cadence (the model's own options)."""


class Escalation(Strict):
    path: bool = Field(False, description="aged issues go to senior sponsors or the steering committee")
    age_weeks: int = Field(4, ge=1, le=52, description="age at which an open issue is escalated")


class Governance(Strict):
    """The governance clauses."""

    cadence: Cadence = Field(Cadence.NONE, description="joint alignment meetings")
    decision_rights: bool = Field(False, description="who decides what is written down")
    steering_committee: bool = Field(False, description="a quarterly steering committee")
    working_groups: bool = Field(False, description="monthly operational working groups")
    escalation: Escalation = Field(default_factory=lambda: Escalation.model_validate({}))
    shared_kpis: bool = False
    cultural_bridging: bool = Field(False, description="mixed teams and a fast track for small decisions")
    explicit_expectations: bool = False
    strategic_realignment: bool = Field(False, description="strategy realigned at every review")
    handover_protocol: bool = Field(False, description="outgoing key contacts hand over properly")
    health_check_weeks: int = Field(0, ge=0, le=52, description="weeks between health checks (0: none)")
    orchestration_role: bool = Field(False, description="the hub coordinates the spokes (ecosystems)")
    ip_guardrails: bool = Field(False, description="areas that are shared and areas that are off-limits")


class Signal(enum.StrEnum):
    REGULATORY_CHANGE = "regulatory_change"
    SUBSIDY_CHANGE = "subsidy_change"
    MARKET_SHARE_SHIFT = "market_share_shift"
    TECHNOLOGY_SHIFT = "technology_shift"
    HEALTH = "health"
    MISALIGNMENT = "misalignment"


class Trigger(Strict):
    """An adaptation clause: the watched signal and the threshold that opens a renegotiation."""

    signal: Signal
    threshold: Unit


class Termination(Strict):
    """When the partners end the alliance deliberately (graceful termination); ``clause: false``
    (or ``termination: none``) for a charter without a termination clause."""

    clause: bool = Field(True, description="the charter has a termination clause (false: none)")
    criteria_below: int = Field(
        2, ge=1, le=4, description="how many of alignment, value, health, opportunity cost below threshold"
    )
    consecutive_reviews: int = Field(2, ge=1, le=52, description="for how many consecutive reviews")


def _termination_none(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("none", "no"):
        return {"clause": False}
    if value is False:
        return {"clause": False}
    return value


class Budget(Strict):
    """What the alliance's effort costs and how its money is shared (all optional but the rate)."""

    cost_per_person_week: float = Field(
        gt=0,
        le=1_000_000,
        description="what one person-week of alliance management costs (all partners alike)",
    )
    currency: str = Field(
        "EUR", min_length=1, max_length=8, pattern=r"^[A-Za-z$£€¥₹]+$", description="currency code or sign"
    )
    shared_budget: float | None = Field(
        None, ge=0, le=1e12, description="the alliance's joint budget over the horizon, in the currency"
    )
    cost_split: dict[str, float] | None = Field(
        None, description="each partner's share of the costs (shares of 1, by partner name)"
    )
    revenue_split: dict[str, float] | None = Field(
        None, description="each partner's share of the revenue (shares of 1, by partner name)"
    )

    @model_validator(mode="after")
    def _shares(self) -> Budget:
        for name in ("cost_split", "revenue_split"):
            split = getattr(self, name)
            if split is None:
                continue
            if any(not 0.0 <= v <= 1.0 for v in split.values()):
                raise ValueError(f"{name}: each share must lie between 0 and 1")
            if abs(sum(split.values()) - 1.0) > 0.01:
                raise ValueError(
                    f"{name}: the shares must add up to 1 (they add up to {sum(split.values()):.3g})"
                )
        return self


class DisputeResolution(enum.StrEnum):
    INFORMAL = "informal"
    ESCALATION = "escalation"
    ARBITRATION = "arbitration"


class Checklist(Strict):
    """The source's checklist questions not already answered by another field (see docs/charter.md)."""

    equitable: bool = Field(True, description="Is the arrangement equitable?")
    equal_partner: bool = Field(True, description="Are you dealing with an equal?")
    decision_makers: dict[str, list[str]] = Field(
        default_factory=dict, description="Who will be involved in decision-making on each side?"
    )
    dispute_resolution: DisputeResolution = Field(
        DisputeResolution.INFORMAL, description="How will disputes be resolved?"
    )


class Charter(Strict):
    """An alliance charter, as its partners are about to sign it."""

    name: str = Field(min_length=1)
    description: str = ""
    partners: list[Partner] = Field(min_length=2, max_length=13)
    alliance: Alliance
    environment: Environment = Field(Environment.CALM, description="the market the partners expect")
    governance: Governance = Field(default_factory=lambda: Governance.model_validate({}))
    triggers: list[Trigger] = Field(default_factory=list)
    termination: Annotated[Termination, BeforeValidator(_termination_none)] = Field(
        default_factory=lambda: Termination.model_validate({})
    )
    budget: Budget | None = Field(
        None, description="the cost of a person-week and the money split (optional)"
    )
    checklist: Checklist = Field(default_factory=lambda: Checklist.model_validate({}))

    @model_validator(mode="after")
    def _partners_fit_type(self) -> Charter:
        n = len(self.partners)
        if self.alliance.type is AllianceType.ECOSYSTEM and n < 3:
            raise ValueError(f"an ecosystem has a hub and at least two spokes: {n} partners given")
        if self.alliance.type is not AllianceType.ECOSYSTEM and n != 2:
            raise ValueError(
                f"a {self.alliance.type.value} alliance has exactly two partners: {n} given "
                "(use type: ecosystem for a hub with spokes)"
            )
        names = [p.name for p in self.partners]
        if len(set(names)) != len(names):
            raise ValueError(f"partner names must differ: {names}")
        unknown = sorted(set(self.checklist.decision_makers) - set(names))
        if unknown:
            raise ValueError(f"checklist.decision_makers names {unknown[0]!r}, not a partner ({names})")
        for split in ("cost_split", "revenue_split"):
            given = getattr(self.budget, split) if self.budget is not None else None
            if given is not None and set(given) != set(names):
                raise ValueError(f"budget.{split} must name every partner once: {names}")
        return self

    @property
    def horizon_weeks(self) -> int:
        return round(52 * self.alliance.horizon_years)


def json_schema() -> dict[str, Any]:
    """The charter's JSON Schema, for editors (docs/charter.schema.json)."""
    schema = Charter.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Alliance charter (alliance-stress)"
    return schema


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest parent that exists)."""
    line = None if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == str(part)]
            if not match:
                return line
            key, node = match[0]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("float", "Range", "function-after[_ordered(), Range]") or str(part).startswith(
            ("function-", "lax-", "list[")
        ):
            continue  # pydantic's names for the branches of a union, not fields
        else:
            path += f".{part}" if path else str(part)
    return path or "(the whole charter)"


def _describe(error: Any, node: yaml.Node | None, source: str) -> str:
    loc = tuple(error["loc"])
    clean = tuple(p for p in loc if isinstance(p, int) or ("[" not in str(p) and p not in ("float", "Range")))
    line = _line_of(node, clean)
    where = f"{source}, line {line}" if line is not None else source
    field = _field_path(loc)
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        parent = _parent_model(clean[:-1])
        allowed = ", ".join(parent.model_fields) if parent is not None else "see docs/charter.md"
        return f"{where}: unknown field {field!r} (misspelt?): allowed fields here are {allowed}"
    if kind == "missing":
        return f"{where}: field {field!r} is required"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "enum":
        return f"{where}: {field}{_shown(value)}: {message}"
    return f"{where}: {field}{_shown(value)}: {message}"


def _shown(value: Any) -> str:
    """A value as an error message shows it: a number or short text, never a whole mapping or list."""
    if isinstance(value, dict | list | tuple) or value is None:
        return ""
    text = repr(value)
    return f" = {text[:60]}..." if len(text) > 60 else f" = {text}"


def _parent_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema class that holds the fields at ``loc``."""
    model: Any = Charter
    for part in loc:
        if isinstance(part, int):
            continue
        field = (
            model.model_fields.get(str(part))
            if isinstance(model, type) and issubclass(model, BaseModel)
            else None
        )
        if field is None:
            return None
        model = _model_in(field.annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def parse_charter(text: str, source: str = "charter") -> Charter:
    """Validate a charter's YAML text, or raise :class:`CharterError` naming the field and line."""
    try:
        data = load_limited_yaml(text, yaml.SafeLoader)  # size, aliases, depth, duplicate keys
        node = yaml.compose(text, Loader=limited_loader(yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}, line {mark.line + 1}" if mark is not None else source
        problem = getattr(error, "problem", None) or str(error)
        raise CharterError(f"{where}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise CharterError(f"{source}: a charter is a YAML mapping of fields (name, partners, alliance, ...)")
    try:
        return Charter.model_validate(data)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        fields = [_field_path(tuple(e["loc"])) for e in errors]
        # a number-or-range field reports each branch: keep the range's error when it has one
        errors = [
            e
            for e, f in zip(errors, fields, strict=True)
            if not (e["type"].startswith("float_") and fields.count(f) > 1)
        ]
        messages = list(dict.fromkeys(_describe(e, node, source) for e in errors))
        raise CharterError("\n".join(messages)) from None


def load_charter(path: str | Path) -> Charter:
    """Read and validate a charter file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CharterError(f"{path}: cannot read the charter: {error}") from None
    return parse_charter(text, source=str(path))
