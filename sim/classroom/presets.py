"""Ready-made classroom situations: the nine classic situations of the source material and the
three alliance models, each a market (shared by both charters), a charter A (how the alliance
is often run) and a charter B (the intervention the situation is about), with two lines to read
to the class.

The nine situations are those of the studies ``experiments/situation_*.yaml``, on a classroom
market of about twenty firms; the numbers are the studies' own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """A situation to show: its market, the charter it starts with, and the one to replay against."""

    key: str
    title: str
    explanation: str  # two lines for the class
    market: tuple[str, ...]
    charter_a: tuple[str, ...]
    charter_b: tuple[str, ...]
    n_alliances: int = 16
    seed: int = 7


PRESETS: tuple[Preset, ...] = (
    Preset(
        "integration",
        "1. Integration partnership",
        "Two firms with complementary strengths must join hard-to-integrate processes.\n"
        "Issues pile up for weeks without joint meetings; bi-weekly meetings with decision rights settle them in days.",
        ("alliance=complementary", "alliance.integration_complexity=0.9"),
        ("governance=handshake",),
        ("governance=meetings",),
    ),
    Preset(
        "startup_incumbent",
        "2. Startup and incumbent",
        "A fast startup and a compliance-first incumbent want different things and count success differently.\n"
        "Shared KPIs remove the measurement quarrels without asking either to give up its priorities.",
        ("alliance=complementary", "market.strategy_spread=0.45", "dynamics.measurement_spread=1.0"),
        ("governance=handshake",),
        ("governance=handshake", "governance.shared_kpis=true"),
    ),
    Preset(
        "culture_clash",
        "3. Clashing decision cultures",
        "A startup decides in a day, a corporation in a quarter: every joint decision grinds.\n"
        "Mixed teams and a fast track for small decisions (cultural bridging) take the friction out.",
        ("alliance=complementary", "market.culture_spread=0.5"),
        ("governance=handshake",),
        ("governance=handshake", "governance.cultural_bridging=true"),
    ),
    Preset(
        "subsidy_shock",
        "4. Subsidy changes hit a renewable-energy partnership",
        "Every shock is a subsidy or regulation change, most of them above 15%.\n"
        "An adaptive clause reopens the deal when a large shock lands, before the partners drift into crisis.",
        (
            "alliance=complementary",
            "scenario=regulatory_shock",
            "scenario.shock_scale=0.4",
            "scenario.regulatory_share=1.0",
            "scenario.market_share_share=0.0",
        ),
        ("governance=handshake", "triggers=off"),
        ("governance=handshake", "triggers=standard"),
    ),
    Preset(
        "strategy_drift",
        "5. Strategies drifting apart",
        "Both firms' strategies move three times as fast as usual; a monthly health check watches the alliance.\n"
        "Putting strategic realignment on the review's agenda pulls the partners back together.",
        ("alliance=complementary", "dynamics.strategy_drift=0.03"),
        ("governance=handshake", "governance.health_check_weeks=4"),
        ("governance=handshake", "governance.health_check_weeks=4", "governance.strategic_alignment=true"),
    ),
    Preset(
        "measurement",
        "6. Revenue against profit",
        "One partner counts revenue, the other profit: they argue about whether the alliance works at all.\n"
        "Shared KPIs end the argument about the scoreboard.",
        ("alliance=complementary", "dynamics.measurement_spread=1.0"),
        ("governance=handshake",),
        ("governance=handshake", "governance.shared_kpis=true"),
    ),
    Preset(
        "key_contact",
        "7. A key contact retires",
        "Champions leave five times as often as usual, and the relationship rests on them.\n"
        "A handover protocol and a steering committee make the alliance outlive its champions.",
        ("alliance=complementary", "dynamics.contact_hazard=0.02"),
        ("governance=handshake",),
        ("governance=handshake", "governance.handover_protocol=true", "governance.steering_committee=true"),
    ),
    Preset(
        "coopetition",
        "8. Competitors on one project",
        "Two competitors share a project with much intellectual property exposed and overlapping strengths.\n"
        "IP guardrails and a sunset clause (the project ends after two years) keep the temptation in check.",
        ("alliance=coopetition", "alliance.ip_exposure=0.9", "alliance.capability_overlap=0.9"),
        ("governance=handshake",),
        ("governance=handshake", "governance.ip_guardrails=true", "governance.sunset_week=104"),
    ),
    Preset(
        "ecosystem_hub",
        "9. A hub with seven partners",
        "A hub coordinates seven partners; every partner beyond two adds coordination load.\n"
        "An orchestration role at the hub carries the ties between spokes.",
        (
            "alliance=ecosystem",
            "alliance.spokes=7",
            "alliance.coordination_load=0.15",
            "market.alliances_per_firm=3.0",
        ),
        ("governance=handshake",),
        ("governance=handshake", "governance.orchestrator=true"),
        n_alliances=10,
    ),
    Preset(
        "model_complementary",
        "Alliance model: complementary capability",
        "Different but related strengths: the value is in combining them, the pain in integrating them.\n"
        "Compare a handshake with the full framework (alignment, integration, governance, triggers).",
        ("alliance=complementary",),
        ("governance=handshake",),
        ("governance=full",),
    ),
    Preset(
        "model_coopetition",
        "Alliance model: co-opetition",
        "Competitors collaborate on one project: less complementarity, intellectual property at stake.\n"
        "Compare a handshake with the full framework, IP guardrails included.",
        ("alliance=coopetition",),
        ("governance=handshake",),
        ("governance=full",),
    ),
    Preset(
        "model_ecosystem",
        "Alliance model: ecosystem",
        "A hub with four spokes: more partners, more value, and coordination overhead with every one.\n"
        "Compare a handshake with the full framework, an orchestrating hub included.",
        ("alliance=ecosystem", "market.alliances_per_firm=2.0"),
        ("governance=handshake",),
        ("governance=full",),
        n_alliances=12,
    ),
)

PRESET_BY_KEY = {p.key: p for p in PRESETS}
