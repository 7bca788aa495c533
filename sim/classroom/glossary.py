"""The classroom's glossary: every lever of a charter, every cause of failure and every way an
alliance ends, in the words a teacher would use. A test checks that every lever of the model
(``GovernanceParams``) and every cause (``Cause``) has its entry, so a new one cannot go
unexplained.
"""

from __future__ import annotations

LEVERS: dict[str, tuple[str, str]] = {
    "meeting_cadence": (
        "Joint meetings",
        "How often the partners meet (weekly, bi-weekly, monthly, quarterly). Meetings bring issues "
        "up while they are small and build trust; they also cost people's time every week.",
    ),
    "decision_rights": (
        "Decision rights",
        "Who decides what is written down, so a decision does not wait for everyone: issues are "
        "settled faster.",
    ),
    "steering_committee": (
        "Steering committee",
        "Senior people of both sides meet each quarter, with working groups each month: the "
        "alliance keeps a champion even when one person leaves, at the price of more structure.",
    ),
    "escalation_path": (
        "Escalation path",
        "An issue left open too long goes up to senior sponsors, who settle it instead of letting it fester.",
    ),
    "escalation_age_weeks": (
        "Escalation age",
        "How many weeks an issue may stay open before it is escalated.",
    ),
    "shared_kpis": (
        "Shared KPIs",
        "Both partners measure success the same way (say, profit rather than one counting revenue "
        "and the other profit), so they stop arguing about the scoreboard.",
    ),
    "cultural_bridging": (
        "Cultural bridging",
        "Mixed teams and a fast track for small decisions, so a fast firm and a slow one can work "
        "together without grinding.",
    ),
    "explicit_expectations": (
        "Explicit expectations",
        "What each partner expects to give and to get is written down at the start, so "
        "disappointment does not build up unseen.",
    ),
    "strategic_alignment": (
        "Strategic realignment",
        "Reviews put the partners' strategies on the agenda and pull them back together when they "
        "drift apart.",
    ),
    "handover_protocol": (
        "Handover protocol",
        "When a key contact leaves, a named successor takes over within weeks rather than months "
        "without a champion.",
    ),
    "health_check_weeks": (
        "Health checks",
        "Every few weeks the partners review how the relationship is doing (communication, "
        "decisions, conflicts, trust, value) and act on what they find.",
    ),
    "orchestrator": (
        "Orchestrator",
        "In an ecosystem, the hub takes on the role of coordinating its partners, which carries "
        "the load that each extra partner adds.",
    ),
    "ip_guardrails": (
        "IP guardrails",
        "Rules on what intellectual property is shared and how, so that a partner is less "
        "tempted to take more than its share.",
    ),
    "sunset_week": (
        "Sunset clause",
        "The alliance is planned to end at a given week: a project that delivers by then ends as "
        "planned, a success, rather than dragging on.",
    ),
    "adaptation_triggers": (
        "Trigger clauses",
        "Agreed signals (a large shock, poor health, strategies far apart) that reopen the deal "
        "for renegotiation before the partners drift into a crisis.",
    ),
}
"""Each governance lever (a field of ``GovernanceParams``): its name and what it does."""

CAUSES: dict[str, tuple[str, str]] = {
    "incentive_misalignment": (
        "Incentives apart",
        "The partners want different things from the alliance, and more so as their strategies drift.",
    ),
    "cultural_friction": (
        "Culture clash",
        "The partners decide and work differently (fast or slow, formal or not), and every joint "
        "decision grinds.",
    ),
    "expectation_gap": (
        "Expectations unmet",
        "A partner expected more than it gets, and the disappointment grows until it walks away.",
    ),
    "measurement_misalignment": (
        "Different scoreboards",
        "The partners count success differently (revenue against profit), so each thinks the "
        "other is not delivering.",
    ),
    "integration_complexity": (
        "Hard to integrate",
        "Joining the two firms' processes and systems is harder than planned, and the problems pile up.",
    ),
    "opportunism": (
        "Opportunism",
        "A partner takes more than its share: a side deal, or intellectual property used for itself.",
    ),
    "coordination_overload": (
        "Coordination overload",
        "Too many partners to keep in step: each extra partner adds meetings, messages and delays.",
    ),
    "key_contact_loss": (
        "Key contact lost",
        "The person who championed the alliance leaves, and nobody takes the relationship over in time.",
    ),
    "external_shock": (
        "Outside shock",
        "The world changes (a subsidy or regulation, a market-share shift, a new technology) and "
        "the deal no longer pays.",
    ),
    "inequity": (
        "Unfair split",
        "One partner feels it puts in more than it gets out, and stops investing in the alliance.",
    ),
    "partner_reputation": (
        "Partner's reputation",
        "A partner's standing in the market hurts the alliance's value or trust.",
    ),
}
"""Each cause of failure (a member of ``Cause``, by its label): its name and what it means."""

ENDINGS: dict[str, str] = {
    "running": "The alliance is still running.",
    "failed": "The relationship broke down: a partner walked out, or trust collapsed.",
    "terminated": "The partners ended it deliberately, under their termination criteria, before it failed.",
    "success": "The alliance met its objectives (a project: delivered by its sunset).",
    "underperforming": "It reached the end of its time (horizon or sunset) without meeting its objectives.",
}
"""Each way an alliance stands or ends, as the network's labels name it."""


def markdown() -> str:
    """The glossary as one Markdown text (the app's Debrief page and the teaching guide)."""
    lines = ["**Levers of a charter**", ""]
    lines += [f"- **{name}**: {text}" for name, text in LEVERS.values()]
    lines += ["", "**Why alliances fail (the primary cause the labels name)**", ""]
    lines += [f"- **{name}** (*{key.replace('_', ' ')}*): {text}" for key, (name, text) in CAUSES.items()]
    lines += ["", "**How an alliance ends**", ""]
    lines += [f"- **{key}**: {text}" for key, text in ENDINGS.items()]
    return "\n".join(lines)
