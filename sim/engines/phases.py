"""The order of a simulated week, declared once; both engines and the model description follow it.

A week: the firms drift; each firm's alliances are counted and each alliance
gathers what its partners bring this week; every running alliance goes through :data:`ALLIANCE_PHASES` in this order; the firms settle
their reputations. A phase of one alliance reads other alliances only through
firm values no phase of the week changes, so the Mesa engine (phase by phase,
over every alliance) and the cohort engine (alliance by alliance, every phase)
give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.mechanisms.drift import drift_incentives_and_expectations
from sim.mechanisms.endings import check_endings
from sim.mechanisms.health import update_health
from sim.mechanisms.issues import raise_issues, resolve_issues
from sim.mechanisms.key_contacts import lose_key_contacts
from sim.mechanisms.lifecycle import advance_lifecycle
from sim.mechanisms.maturity import build_routines
from sim.mechanisms.shocks import receive_shock
from sim.mechanisms.touchpoints import hold_touchpoints
from sim.mechanisms.triggers import apply_triggers
from sim.mechanisms.trust import update_trust
from sim.mechanisms.value import create_value
from sim.state import AllianceDraws, AllianceState, Context, Params

AlliancePhase = Callable[[AllianceState, AllianceDraws, Context, Params], None]
"""A phase acts on one alliance's record, with its draws of the week (a lifecycle phase of an
alliance is something else: ``sim.vocabulary.Phase``)."""

ALLIANCE_PHASES: tuple[AlliancePhase, ...] = (
    advance_lifecycle,
    drift_incentives_and_expectations,
    receive_shock,
    apply_triggers,
    hold_touchpoints,
    raise_issues,
    resolve_issues,
    create_value,
    build_routines,
    lose_key_contacts,
    update_trust,
    update_health,
    check_endings,
)
