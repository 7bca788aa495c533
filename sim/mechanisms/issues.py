"""Friction: issues arise, are settled through the charter's channels, or age and escalate.

Issues arrive at a rate that grows with seven sources of friction (incentive
misalignment, cultural distance, expectation gaps, measurement misalignment,
integration complexity, IP exposure and coordination load), at most
``MAX_NEW_ISSUES`` a week (binomial arrivals by inverse CDF). Open issues are
settled informally or at the touchpoints the charter provides; those left open
age and, on an escalation path, are escalated.
"""

from __future__ import annotations

from sim.draws import draw_resolve, draw_severity
from sim.mechanisms import mechanism
from sim.mechanisms.choices import escalation_path, meets, protection, shared_kpis, silence
from sim.mechanisms.log import ESCALATION, record
from sim.mechanisms.partners import (
    effective_cultural_distance,
    expectation_gap,
    misalignment,
    n_active,
    realign,
    without_champion,
)
from sim.state import AllianceDraws, AllianceState, Context, Params
from sim.vocabulary import MAX_NEW_ISSUES


@mechanism
def friction_drivers(a: AllianceState, c: Context, p: Params) -> tuple[float, ...]:
    """The seven sources of friction, each weighted into the issue rate.

    In order: incentive misalignment, cultural distance, expectation gaps,
    measurement misalignment (absent with shared KPIs), integration complexity
    (falls as integration progresses), IP exposure (cut by guardrails) and
    coordination load (partners beyond two; cut by an orchestrating hub).
    """
    g = p.governance
    d = p.dynamics
    kind = p.alliance
    measurement = 0.0 if shared_kpis(a, p) else a.measurement
    ip = kind.ip_exposure * (1.0 - d.guardrail_effect) if g.ip_guardrails else kind.ip_exposure
    ip = ip * (1.0 - d.protection_effect * protection(a))
    coordination = kind.coordination_load * max(0.0, n_active(a) - 2.0)
    if g.orchestrator:
        coordination = coordination * (1.0 - d.orchestration_effect)
    return (
        d.w_incentive * misalignment(a),
        d.w_culture * effective_cultural_distance(a, p),
        d.w_expectation * expectation_gap(a, c.t),
        d.w_measurement * measurement,
        d.w_integration * (kind.integration_complexity * (1.0 - a.integration)),
        d.w_ip * ip,
        d.w_coordination * coordination,
    )


@mechanism
def issue_phase_factor(a: AllianceState, c: Context, p: Params) -> float:
    """Friction before launch is design work; going live at full scale with little
    integration floods the alliance with issues; a pilot keeps the flood small."""
    d = p.dynamics
    if c.t < c.launch_week:
        return d.prelaunch_issue_factor
    if a.piloting:
        return d.pilot_issue_factor
    return 1.0 + d.full_launch_surge * (1.0 - a.integration)


@mechanism
def new_issue_count(rate: float, u: float) -> int:
    """Issues arising this week: binomial with ``MAX_NEW_ISSUES`` trials, by inverse CDF of ``u``."""
    q_p = min(rate / MAX_NEW_ISSUES, 1.0)
    q = 1.0 - q_p
    c0 = q * q * q
    c1 = c0 + 3.0 * q_p * q * q
    c2 = c1 + 3.0 * q_p * q_p * q
    return int(u >= c0) + int(u >= c1) + int(u >= c2)


@mechanism
def raise_issues(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """New issues take the lowest free slots; beyond the tracker's capacity they are dropped."""
    d = p.dynamics
    drivers = friction_drivers(a, c, p)
    total = 0.0
    for driver in drivers:
        total = total + driver
    if total > 0.0:
        for k in range(len(drivers)):
            a.friction_mix[k] = drivers[k] / total
    # routines the partners have institutionalised catch looming issues before they arise
    prevention = 1.0 - d.issue_prevention * a.institutionalisation
    rate = d.base_issue_rate * issue_phase_factor(a, c, p) * (1.0 + total) * prevention
    count = new_issue_count(rate, w.issue_u)
    for j in range(count):
        slot = -1
        for q in range(a.issue_age.shape[0]):
            if a.issue_age[q] < 0:
                slot = q
                break
        if slot < 0:
            a.issues_dropped += 1
            continue
        a.issue_age[slot] = 0
        draw_severity(w)
        a.issue_small[slot] = w.severity_u[j] < d.small_issue_share
    a.issues_raised += count
    a.raised = count


@mechanism
def resolve_issues(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Open issues are settled through whatever channels the charter provides this week.

    Informal settlement is slowed by cultural distance and by a missing
    champion, sped up by decision rights and by partners' past experience
    together. Meetings, working groups, a steering committee for escalated
    issues, senior sponsors on an escalation path and a fast track for small
    issues each add a chance. Heavy structure slows every channel. Remaining
    issues age; those reaching the escalation age are escalated.
    """
    g = p.governance
    d = p.dynamics
    count = n_active(a)
    contact_factor = 1.0 - d.contact_drag * (without_champion(a) / count)
    culture_factor = max(0.0, 1.0 - d.culture_drag * effective_cultural_distance(a, p))
    experience_factor = 1.0 + d.experience_boost * (min(a.experience, 3.0) / 3.0)
    adhoc = d.adhoc_resolve * culture_factor * contact_factor * experience_factor
    if g.decision_rights:
        adhoc = adhoc * (1.0 + d.rights_boost)
    adhoc = min(adhoc, 1.0) * (1.0 - d.silence_drag * silence(a))
    escalating = escalation_path(a, p)
    meeting_week = meets(a, c, p)
    drag = c.structure_slowdown
    meeting = d.rights_meeting_resolve if g.decision_rights else d.meeting_resolve
    resolved = 0
    for q in range(a.issue_age.shape[0]):
        age = a.issue_age[q]
        if age < 0:
            continue
        escalated = escalating and age >= g.escalation_age_weeks
        miss = 1.0 - adhoc * drag
        if meeting_week:
            miss = miss * (1.0 - meeting * drag)
        if c.working_group:
            miss = miss * (1.0 - d.working_group_resolve * drag)
        if escalated and c.steering:
            miss = miss * (1.0 - d.steering_resolve * drag)
        if escalated:
            miss = miss * (1.0 - d.escalation_resolve * drag)
        if g.cultural_bridging and a.issue_small[q]:
            miss = miss * (1.0 - d.fast_track_resolve * drag)
        draw_resolve(w, q)
        if w.resolve_u[q] < 1.0 - miss:
            a.issue_age[q] = -1
            resolved += 1
            a.resolution_weeks_total += age + 0.5
    if a.piloting:
        for _ in range(resolved):
            fix_root_cause(a, d.pilot_learning)
    open_count = 0
    aged = 0
    escalations = 0
    for q in range(a.issue_age.shape[0]):
        if a.issue_age[q] >= 0:
            a.issue_age[q] += 1
            open_count += 1
            if a.issue_age[q] > d.aging_grace_weeks:
                aged += 1
            if escalating and a.issue_age[q] == g.escalation_age_weeks:
                escalations += 1
    a.resolved_count += resolved
    a.resolved = resolved
    a.escalations += escalations
    if escalations:
        record(a, ESCALATION, escalations, -1, 0.0)
    a.reactive_effort = firefighting(a, open_count, aged, escalations, p)


@mechanism
def firefighting(a: AllianceState, open_count: int, aged: int, escalations: int, p: Params) -> float:
    """Reactive effort of the week: it grows with what is left unattended. Every open issue
    takes work, one left open past the grace period takes more (positions harden, more people
    are pulled in), an escalation takes senior time, and an alliance in crisis (last week's
    health below the crisis level) takes every partner's people off their work."""
    d = p.dynamics
    effort = d.firefight_effort * open_count + d.aged_issue_effort * aged + d.escalation_effort * escalations
    if a.health < d.crisis_health:
        effort = effort + d.crisis_effort * n_active(a)
    return effort


@mechanism
def fix_root_cause(a: AllianceState, fraction: float) -> None:
    """A pilot is a test: an issue settled while piloting shows what in the set-up caused it,
    and the partners fix that part of it before scaling up. The fix goes to the frictions in
    proportion to their share of this week's issue rate: incentives move toward common ground,
    the partners agree how to count success, processes are joined."""
    realign(a, fraction * a.friction_mix[0])
    a.measurement = a.measurement * (1.0 - fraction * a.friction_mix[3])
    a.integration = a.integration + fraction * a.friction_mix[4] * (1.0 - a.integration)


@mechanism
def open_issues(a: AllianceState) -> int:
    """Issues open in alliance ``i``."""
    count = 0
    for q in range(a.issue_age.shape[0]):
        if a.issue_age[q] >= 0:
            count += 1
    return count
