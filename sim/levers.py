"""The governance levers, each declared once with its roles.

A governance design is a point in the space of these levers (the fields of
:class:`sim.params.GovernanceParams`). Each lever has up to three roles beyond
the mechanisms that read it:

* **set-up effort**: one-off person-weeks per partner to put the lever in place when
  the charter is agreed (``setup``: agreeing shared KPIs or a decision-rights matrix,
  writing down expectations or a handover protocol, chartering a committee). These
  are orders of magnitude read from practice (a few days to two weeks of a small
  team per document or body), stated as assumptions;
* **standing effort**: a lever in place costs ``lever_effort`` person-weeks per
  partner every week (the upkeep of shared KPIs, an escalation path, mixed teams...);
  a lever that is a document agreed once (decision rights, explicit expectations, a
  handover protocol) has none beyond the touchpoints where it is used;
* **structure**: structures that institutionalise the relationship beyond its
  key contacts (``institutionalisation_rate`` per point per week);
* **intensity**: its part in how much structure the design imposes, from 0
  (handshake) to 1 (every lever at its most); heavy structure slows every
  resolution channel by ``1 - structure_drag * intensity**2``.

An orchestrating hub has these roles only in an ecosystem, where there are
spokes to orchestrate. ``read_by`` names the mechanisms that read the lever and
``moves`` the alliance-table columns that switching it on must change (checked
for every lever, in both engines, by ``tests/test_levers.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.params import GovernanceParams


@dataclass(frozen=True)
class Lever:
    """One governance lever: the field it is, and its roles."""

    name: str  # field of GovernanceParams
    on: object  # a value that switches it on (for the lever tests and the classroom)
    standing: bool = False  # costs lever_effort every week it is in place
    setup: float = 0.0  # one-off person-weeks per partner to put it in place, at the charter
    structure: int = 0  # points of structure while in place
    intensity: Callable[[GovernanceParams], float] = lambda g: 0.0  # its part of the intensity
    intensity_max: float = 0.0  # that part at the lever's most
    ecosystem_only: bool = False  # roles only where there are spokes
    read_by: tuple[str, ...] = ()  # mechanisms (module.function) that read it
    moves: tuple[str, ...] = ()  # alliance-table columns that switching it on changes
    charter: str = ""  # the charter's governance field that sets it as given (sim/stress), if any
    adding: str = ""  # the stress report's words for adding it to a charter, if it is a clause...
    removing: str = ""  # ... and for removing it

    def in_place(self, g: GovernanceParams) -> bool:
        value = getattr(g, self.name)
        return bool(value.period_weeks > 0) if self.name == "meeting_cadence" else bool(value)


def _cadence(g: GovernanceParams) -> float:
    period = g.meeting_cadence.period_weeks
    return 2.0 / period if period else 0.0


def _health_checks(g: GovernanceParams) -> float:
    weeks = g.health_check_weeks
    return 4.0 / weeks if weeks >= 4 else float(weeks > 0)


LEVERS: tuple[Lever, ...] = (
    Lever(
        "meeting_cadence",
        on="biweekly",
        setup=0.25,
        structure=1,
        intensity=_cadence,
        intensity_max=1.0,
        read_by=(
            "touchpoints.hold_touchpoints",
            "issues.resolve_issues",
            "trust.trust_gain",
            "health.update_health",
        ),
        moves=("effort_proactive", "issues_resolved"),
    ),
    Lever(
        "steering_committee",
        on=True,
        setup=1.0,
        structure=2,
        intensity=lambda g: float(g.steering_committee),
        intensity_max=1.0,
        read_by=("touchpoints.hold_touchpoints", "issues.resolve_issues", "endings.check_endings"),
        moves=("effort_proactive", "issues_resolved"),
        adding="add a steering committee with working groups",
        removing="remove the steering committee and working groups",
    ),
    Lever(
        "escalation_path",
        on=True,
        setup=0.5,
        standing=True,
        intensity=lambda g: 0.5 * g.escalation_path,
        intensity_max=0.5,
        read_by=("issues.resolve_issues",),
        moves=("escalations", "effort_proactive"),
        adding="add an escalation path",
        removing="remove the escalation path",
    ),
    Lever(
        "decision_rights",
        on=True,
        setup=1.0,
        intensity=lambda g: 0.25 * g.decision_rights,
        intensity_max=0.25,
        read_by=("issues.resolve_issues",),
        moves=("issues_resolved", "effort_setup"),
        charter="decision_rights",
        adding="add clear decision rights",
        removing="remove the decision rights",
    ),
    Lever(
        "shared_kpis",
        on=True,
        setup=2.0,
        standing=True,
        intensity=lambda g: 0.5 * g.shared_kpis,
        intensity_max=0.5,
        read_by=("issues.friction_drivers",),
        moves=("issues_raised", "effort_proactive"),
        charter="shared_kpis",
        adding="add shared KPIs",
        removing="remove the shared KPIs",
    ),
    Lever(
        "cultural_bridging",
        on=True,
        setup=1.0,
        standing=True,
        intensity=lambda g: 0.5 * g.cultural_bridging,
        intensity_max=0.5,
        read_by=("partners.effective_cultural_distance", "issues.resolve_issues"),
        moves=("issues_raised", "effort_proactive"),
        charter="cultural_bridging",
        adding="add cultural bridging",
        removing="remove cultural bridging",
    ),
    Lever(
        "explicit_expectations",
        on=True,
        setup=1.0,
        intensity=lambda g: 0.25 * g.explicit_expectations,
        intensity_max=0.25,
        read_by=("touchpoints.hold_touchpoints",),
        moves=("final_trust", "effort_setup"),
        charter="explicit_expectations",
        adding="add explicit expectations",
        removing="remove explicit expectations",
    ),
    Lever(
        "strategic_alignment",
        on=True,
        setup=0.5,
        standing=True,
        intensity=lambda g: 0.5 * g.strategic_alignment,
        intensity_max=0.5,
        read_by=("touchpoints.hold_touchpoints", "endings.check_endings"),
        moves=("final_trust", "effort_proactive"),
        charter="strategic_realignment",
        adding="add strategic realignment at reviews",
        removing="remove strategic realignment",
    ),
    Lever(
        "handover_protocol",
        on=True,
        setup=0.5,
        intensity=lambda g: 0.25 * g.handover_protocol,
        intensity_max=0.25,
        read_by=("key_contacts.lose_key_contacts", "trust.trust_losses"),
        moves=("final_trust", "effort_setup"),
        charter="handover_protocol",
        adding="add a handover protocol for key contacts",
        removing="remove the handover protocol",
    ),
    Lever(
        "health_check_weeks",
        on=8,
        setup=0.5,
        structure=1,
        intensity=_health_checks,
        intensity_max=1.0,
        read_by=("touchpoints.hold_touchpoints", "endings.check_endings"),
        moves=("final_trust", "effort_proactive"),
    ),
    Lever(
        "orchestrator",
        on=True,
        setup=2.0,
        standing=True,
        structure=1,
        intensity=lambda g: 0.5 * g.orchestrator,
        intensity_max=0.5,
        ecosystem_only=True,
        read_by=("issues.friction_drivers",),
        moves=("issues_raised", "effort_proactive"),
        charter="orchestration_role",
    ),
    Lever(
        "ip_guardrails",
        on=True,
        setup=2.0,
        standing=True,
        intensity=lambda g: 0.5 * g.ip_guardrails,
        intensity_max=0.5,
        read_by=("issues.friction_drivers", "trust.ip_at_risk"),
        moves=("issues_raised", "effort_proactive"),
        charter="ip_guardrails",
        adding="add IP guardrails",
        removing="remove the IP guardrails",
    ),
    Lever(
        "sunset_week",
        on=100,
        read_by=("endings.check_endings",),
        moves=("end_week",),
    ),
    Lever(
        "adaptation_triggers",
        on=True,
        read_by=("triggers.apply_triggers",),
        moves=("renegotiations",),
    ),
)
"""Every governance lever, in the order their parts of the intensity are summed."""


def switches() -> tuple[Lever, ...]:
    """The levers a design switches on or off (``on`` is True), in the order declared."""
    return tuple(lever for lever in LEVERS if lever.on is True)


def _applies(lever: Lever, n_partners: int) -> bool:
    return not lever.ecosystem_only or n_partners > 2


def standing_levers(g: GovernanceParams, n_partners: int) -> int:
    """Levers in place that cost a little effort every week."""
    return sum(1 for lever in LEVERS if lever.standing and lever.in_place(g) and _applies(lever, n_partners))


def structure_levers(g: GovernanceParams, n_partners: int) -> int:
    """Points of structure that institutionalise the relationship beyond its key contacts."""
    return sum(
        lever.structure
        for lever in LEVERS
        if lever.structure and lever.in_place(g) and _applies(lever, n_partners)
    )


def setup_effort(g: GovernanceParams, n_partners: int) -> float:
    """One-off person-weeks per partner to put the design's levers in place."""
    return sum(lever.setup for lever in LEVERS if lever.in_place(g) and _applies(lever, n_partners))


def governance_intensity(g: GovernanceParams) -> float:
    """How much structure a design imposes, from 0 (handshake) to 1 (every lever at its most)."""
    parts = [(lever.intensity(g), lever.intensity_max) for lever in LEVERS if lever.intensity_max]
    return sum(p for p, _ in parts) / sum(m for _, m in parts)
