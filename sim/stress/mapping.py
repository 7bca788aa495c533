"""From a charter to the model's parameters: one table, applied by :func:`model_overrides`.

The model draws its partner firms from a market (``sim.market.build_cohort``):
priorities, cultures and sizes are spreads around a typical firm, not named
firms. So the charter's partners set those spreads: the further apart the
partners the charter describes, the wider the spread the cohort's alliances are
drawn with. ``MAPPING`` lists every charter field with the model parameter it
sets and the rule; ``docs/charter.md`` prints it (a test keeps the two equal).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.levers import LEVERS
from sim.stress.charter import (
    AllianceType,
    Charter,
    IPSharing,
    Partner,
    Range,
    Signal,
)

NORMAL_MEAN_ABS_DIFF = 2.0 / math.sqrt(math.pi)
"""E|X - Y| for X, Y independent N(0, 1): the model's expected distance per unit of spread."""

SAME_MEASURE_SPREAD = 0.2
"""Measurement misalignment left when partners name the same success measure (counted differently)."""
OTHER_MEASURE_SPREAD = 1.0
"""When they name different ones: as in the revenue-against-profit situation (situation_measurement)."""

TYPICAL_PEOPLE = 20.0
"""People in a typical partner's business concerned: the effort figures (P8) are calibrated on it."""

IP_EXPOSURE_FACTOR = {IPSharing.PROTECT: 0.5, IPSharing.LAYERED: 1.0, IPSharing.SHARE: 1.5}
"""Exposure of intellectual property relative to the alliance type's calibrated value."""

SHOCK_SIGNALS = (
    Signal.REGULATORY_CHANGE,
    Signal.SUBSIDY_CHANGE,
    Signal.MARKET_SHARE_SHIFT,
    Signal.TECHNOLOGY_SHIFT,
)
NO_TERMINATION = 5
"""More failing criteria than a review checks (four): a charter without a termination clause."""
NEVER_SHOCK = 100.0
"""A shock threshold no shock reaches: the charter watches no shock."""


@dataclass(frozen=True)
class Rule:
    """One row of the mapping table."""

    field: str
    parameter: str
    rule: str


MAPPING: tuple[Rule, ...] = (
    Rule("partners[].priorities.*", "market.strategy_spread",
         "mean absolute difference of the hub's (first partner's) priorities and each other partner's, "
         "averaged over partners, divided by 2/sqrt(pi) (the distance the model expects per unit of spread)"),
    Rule("partners[].culture.*", "market.culture_spread", "same rule over decision speed, formality, risk appetite"),
    Rule("partners[].size", "market.capacity_sd", "standard deviation of the partners' sizes (0 for equals)"),
    Rule("partners[].success_measure", "dynamics.measurement_spread",
         f"{SAME_MEASURE_SPREAD} + ({OTHER_MEASURE_SPREAD} - {SAME_MEASURE_SPREAD}) x share of partners "
         "whose measure differs from the hub's"),
    Rule("partners[].institutionalisation", "dynamics.initial_institutionalisation", "mean over partners"),
    Rule("partners[].outside_option", "market.outside_option_mean", "mean over partners"),
    Rule("partners[].people", "alliance.team_scale",
         f"mean over partners of people / {TYPICAL_PEOPLE:g} (a partner that does not say counts as "
         f"{TYPICAL_PEOPLE:g}); scales every effort in person-weeks"),
    Rule("partners (count)", "alliance.spokes", "partners minus the hub (ecosystems)"),
    Rule("alliance.type", "alliance (config group)", "the type's calibrated group: complementary, coopetition, ecosystem"),
    Rule("alliance.scope, alliance.sunset_weeks", "governance.sunset_week", "sunset_weeks for a project, 0 when open-ended"),
    Rule("alliance.horizon_years", "horizon_weeks", "52 x years"),
    Rule("alliance.launch", "launch (config group)", "pilot or full"),
    Rule("alliance.ip_sharing", "alliance.ip_exposure",
         "the type's value x " + ", ".join(f"{k.value} {v}" for k, v in IP_EXPOSURE_FACTOR.items())),
    Rule("alliance.complementarity", "alliance.complementarity", "as given (default: the type's)"),
    Rule("alliance.capability_overlap", "alliance.capability_overlap", "as given (default: the type's)"),
    Rule("alliance.integration_complexity", "alliance.integration_complexity", "as given (default: the type's)"),
    Rule("alliance.project_target", "alliance.objective_target",
         "as given; when absent, the type's objective_value x planned weeks of operation / its three-year weeks"),
    Rule("alliance.prelude_to_larger", "(none)", "recorded in the report; the model does not value later options"),
    Rule("environment", "scenario (config group)", "calm, volatile, regulatory_shock or downturn"),
    Rule("governance.cadence", "governance.meeting_cadence", "as given"),
    Rule("governance.steering_committee, governance.working_groups", "governance.steering_committee",
         "either one: the model runs monthly working groups under the quarterly committee"),
    Rule("governance.escalation.path", "governance.escalation_path", "as given"),
    Rule("governance.escalation.age_weeks", "governance.escalation_age_weeks", "as given"),
    Rule("governance.health_check_weeks", "governance.health_check_weeks", "as given"),
    *(
        Rule(f"governance.{lever.charter}", f"governance.{lever.name}",
             "as given (ecosystems)" if lever.ecosystem_only else "as given")
        for lever in LEVERS if lever.charter
    ),
    Rule("triggers (any)", "governance.adaptation_triggers, triggers.enabled", "true when the charter lists a trigger"),
    Rule("triggers[].threshold (shock signals)", "triggers.shock_threshold",
         f"the smallest threshold of regulatory_change, subsidy_change, market_share_shift, technology_shift "
         f"(the model watches the size of any shock); {NEVER_SHOCK:g} (never) when none is watched"),
    Rule("triggers[].threshold (health)", "triggers.health_threshold", "as given; 0 (never) when not watched"),
    Rule("triggers[].threshold (misalignment)", "triggers.misalignment_threshold",
         "as given; 1 (never) when not watched"),
    Rule("termination.criteria_below, termination.clause", "dynamics.termination_criteria",
         "as given; 5 (more criteria than there are: never) without a termination clause"),
    Rule("termination.consecutive_reviews", "dynamics.termination_reviews", "as given"),
    Rule("budget.cost_per_person_week, budget.currency", "(report)",
         "every effort figure of the report is also given in money; the model is unchanged"),
    Rule("budget.shared_budget, budget.cost_split, budget.revenue_split", "(none)",
         "recorded in the report; the model shares value equally at signing and judges equity from "
         "commitment, so a split does not change the simulation"),
    Rule("checklist.equitable, checklist.equal_partner", "(none)",
         "recorded in the report; the model derives equity from sizes (capacity) and value shares"),
    Rule("checklist.decision_makers", "(none)", "recorded in the report; decision_rights is the model's lever"),
    Rule("checklist.dispute_resolution", "(none)",
         "recorded in the report; governance.escalation is the model's lever for disputes"),
)  # fmt: skip

CHECKLIST: tuple[tuple[str, str], ...] = (
    ("Is the arrangement equitable?", "checklist.equitable (and partners[].size)"),
    ("Are you dealing with an equal?", "checklist.equal_partner (and partners[].size)"),
    ("Is your time horizon long-term or short-term?", "alliance.horizon_years"),
    ("Is it for a specific project or is it open-ended?", "alliance.scope (and alliance.sunset_weeks)"),
    ("Is it a likely prelude to a larger or different arrangement?", "alliance.prelude_to_larger"),
    (
        "How fully, formally, and frequently do you expect to consult with the other side?",
        "governance.cadence, governance.steering_committee, governance.working_groups",
    ),
    ("How extensively will you and your partner share or protect intellectual property?",
     "alliance.ip_sharing, governance.ip_guardrails"),
    ("Who will be involved in decision-making on each side?", "checklist.decision_makers, governance.decision_rights"),
    ("How will disputes be resolved?", "checklist.dispute_resolution, governance.escalation"),
)  # fmt: skip


def checklist_effects(charter: Charter) -> list[tuple[str, str, str]]:
    """Each checklist question with the charter's answer and what the answer did in the model."""
    a, g, c = charter.alliance, charter.governance, charter.checklist
    sizes = [p.size for p in charter.partners]
    consult = [f"{g.cadence.value} meetings" if g.cadence.value != "none" else "no regular meetings"]
    consult += [
        name
        for on, name in ((g.steering_committee, "a steering committee"), (g.working_groups, "working groups"))
        if on
    ]
    deciders = "; ".join(f"{k}: {', '.join(v)}" for k, v in c.decision_makers.items()) or "not named"
    ip = f"{a.ip_sharing.value} sharing" + (", with guardrails" if g.ip_guardrails else "")
    return [
        ("Is the arrangement equitable?", "yes" if c.equitable else "no",
         "recorded only: the model judges equity from the partners' sizes (the spread of partners[].size sets "
         "market.capacity_sd) and from their commitment"),
        ("Are you dealing with an equal?", "yes" if c.equal_partner else "no",
         "recorded only: partners[].size sets the spread of capacities ("
         + ", ".join(f"{p.name} {_text(s)}" for p, s in zip(charter.partners, sizes, strict=True)) + ")"),
        ("Is your time horizon long-term or short-term?", f"{a.horizon_years:g} years",
         f"sets the horizon: {charter.horizon_weeks} weeks simulated"),
        ("Is it for a specific project or is it open-ended?",
         f"a project ending in week {a.sunset_weeks}" if a.sunset_weeks else "open-ended",
         f"sets governance.sunset_week = {a.sunset_weeks or 0}"),
        ("Is it a likely prelude to a larger or different arrangement?", "yes" if a.prelude_to_larger else "no",
         "recorded only: the model does not value later options"),
        ("How fully, formally, and frequently do you expect to consult with the other side?", ", ".join(consult),
         "sets governance.meeting_cadence and governance.steering_committee"),
        ("How extensively will you and your partner share or protect intellectual property?", ip,
         "sets alliance.ip_exposure and governance.ip_guardrails"),
        ("Who will be involved in decision-making on each side?", deciders,
         "the names are recorded only; governance.decision_rights "
         + ("is on (who decides what is written down)" if g.decision_rights else "is off")),
        ("How will disputes be resolved?", c.dispute_resolution.value,
         "recorded only; the model's lever for disputes is the escalation path, which is "
         + ("on" if g.escalation.path else "off")),
    ]  # fmt: skip


def _text(value: Any) -> str:
    return f"{value.low:g} to {value.high:g}" if isinstance(value, Range) else f"{float(value):g}"


def _ranges(value: Any, path: str) -> Iterator[tuple[str, Range]]:
    """Every uncertain value in a charter, in a fixed order, with its field path."""
    if isinstance(value, Range):
        yield path, value
    elif hasattr(value, "__class__") and hasattr(value.__class__, "model_fields"):
        for name in value.__class__.model_fields:
            yield from _ranges(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _ranges(item, f"{path}[{i}]")


def uncertain_fields(charter: Charter) -> list[tuple[str, Range]]:
    """The charter's ranges: what the Monte Carlo draws."""
    return list(_ranges(charter, ""))


def draw_charter(charter: Charter, rng: np.random.Generator) -> tuple[Charter, dict[str, float]]:
    """A charter with every range replaced by a uniform draw, and the drawn values by field."""
    drawn: dict[str, float] = {}
    data = charter.model_dump(mode="python")
    for path, span in uncertain_fields(charter):
        value = float(span.low + (span.high - span.low) * rng.random())
        drawn[path] = value
        _set_path(data, path, value)
    return Charter.model_validate(data), drawn


def charter_with(charter: Charter, values: dict[str, float]) -> Charter:
    """The charter with the ranges at ``values`` (field path -> value) replaced by those values."""
    data = charter.model_dump(mode="python")
    for path, value in values.items():
        _set_path(data, path, value)
    return Charter.model_validate(data)


def central_charter(charter: Charter) -> Charter:
    """The charter with every range replaced by its midpoint: the one case to replay live."""
    data = charter.model_dump(mode="python")
    for path, span in uncertain_fields(charter):
        _set_path(data, path, (span.low + span.high) / 2.0)
    return Charter.model_validate(data)


def _set_path(data: Any, path: str, value: float) -> None:
    parts: list[Any] = []
    for token in path.replace("[", ".[").split("."):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    target = data
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value


def _number(value: Any) -> float:
    if isinstance(value, Range):
        raise TypeError("draw the charter (draw_charter) before mapping it")
    return float(value)


def _spread(vectors: list[list[float]]) -> float:
    """The model's spread that gives the partners' mean distance from the hub."""
    hub = np.array(vectors[0])
    distances = [float(np.mean(np.abs(hub - np.array(v)))) for v in vectors[1:]]
    return min(1.0, float(np.mean(distances)) / NORMAL_MEAN_ABS_DIFF)


def config_groups(charter: Charter) -> list[str]:
    """The config groups a charter selects (composed once by the command line)."""
    return [
        f"alliance={charter.alliance.type.value}",
        f"scenario={charter.environment.value}",
        f"launch={charter.alliance.launch.value}",
        "governance=handshake",
        "triggers=off",
    ]


def team_scale(partners: list[Partner]) -> float:
    """The partners' people against a typical partner's (``alliance.team_scale``)."""
    people = [TYPICAL_PEOPLE if p.people is None else p.people for p in partners]
    return float(np.clip(np.mean(people) / TYPICAL_PEOPLE, 0.01, 100.0))


def model_overrides(charter: Charter, alliance_defaults: dict[str, Any]) -> dict[str, Any]:
    """Dotted model parameters a drawn charter sets (``alliance_defaults``: the type's group)."""
    partners = charter.partners
    a, g = charter.alliance, charter.governance
    hub_measure = partners[0].success_measure
    other = sum(p.success_measure != hub_measure for p in partners[1:]) / (len(partners) - 1)
    sizes = [_number(p.size) for p in partners]
    out: dict[str, Any] = {
        "horizon_weeks": charter.horizon_weeks,
        "market.strategy_spread": _spread(
            [[_number(v) for v in p.priorities.model_dump().values()] for p in partners]
        ),
        "market.culture_spread": _spread(
            [[_number(v) for v in p.culture.model_dump().values()] for p in partners]
        ),
        "market.capacity_sd": min(2.0, float(np.std(sizes))),
        "dynamics.measurement_spread": SAME_MEASURE_SPREAD
        + (OTHER_MEASURE_SPREAD - SAME_MEASURE_SPREAD) * other,
        "dynamics.initial_institutionalisation": float(
            np.mean([_number(p.institutionalisation) for p in partners])
        ),
        "market.outside_option_mean": float(np.mean([_number(p.outside_option) for p in partners])),
        "alliance.team_scale": team_scale(partners),
        "alliance.ip_exposure": min(1.0, alliance_defaults["ip_exposure"] * IP_EXPOSURE_FACTOR[a.ip_sharing]),
        "governance.name": "charter",
        "governance.sunset_week": a.sunset_weeks or 0,
        "governance.meeting_cadence": g.cadence.value,
        "governance.steering_committee": g.steering_committee or g.working_groups,
        "governance.escalation_path": g.escalation.path,
        "governance.escalation_age_weeks": g.escalation.age_weeks,
        "governance.health_check_weeks": g.health_check_weeks,
        "dynamics.termination_criteria": charter.termination.criteria_below
        if charter.termination.clause
        else NO_TERMINATION,
        "dynamics.termination_reviews": charter.termination.consecutive_reviews,
    }
    for lever in LEVERS:  # the on-off clauses the charter names as the model does
        if lever.charter:
            out[f"governance.{lever.name}"] = getattr(g, lever.charter)
    if a.project_target is not None:
        out["alliance.objective_target"] = float(a.project_target)
    if a.type is AllianceType.ECOSYSTEM:
        out["alliance.spokes"] = len(partners) - 1
    for name in ("complementarity", "capability_overlap", "integration_complexity"):
        value = getattr(a, name)
        if value is not None:
            out[f"alliance.{name}"] = _number(value)
    out.update(trigger_overrides(charter))
    return out


def trigger_overrides(charter: Charter) -> dict[str, Any]:
    """The adaptation clauses as the model's trigger settings."""
    watched = charter.triggers
    shocks = [_number(t.threshold) for t in watched if t.signal in SHOCK_SIGNALS]
    health = [_number(t.threshold) for t in watched if t.signal is Signal.HEALTH]
    misalignment = [_number(t.threshold) for t in watched if t.signal is Signal.MISALIGNMENT]
    return {
        "governance.adaptation_triggers": bool(watched),
        "triggers.enabled": bool(watched),
        "triggers.shock_threshold": min(shocks) if shocks else NEVER_SHOCK,
        "triggers.health_threshold": max(health) if health else 0.0,
        "triggers.misalignment_threshold": min(misalignment) if misalignment else 1.0,
    }


def nest(dotted: dict[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1}`` -> ``{"a": {"b": 1}}``, for ``SimulationConfig.replace``."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        head, _, rest = key.partition(".")
        if rest:
            out.setdefault(head, {})
            out[head] = {**out[head], **nest({rest: value})}
        else:
            out[head] = value
    return out


def mapping_table() -> str:
    """The Markdown table of ``MAPPING`` (docs/charter.md)."""
    rows = ["| charter field | model parameter | rule |", "| --- | --- | --- |"]
    rows += [f"| `{r.field}` | `{r.parameter}` | {r.rule} |" for r in MAPPING]
    return "\n".join(rows)


def checklist_table() -> str:
    rows = ["| checklist question | answered by |", "| --- | --- |"]
    rows += [f"| {q} | `{f}` |" for q, f in CHECKLIST]
    return "\n".join(rows)
