"""Trust between the partners, and the damage done to it, booked by cause.

Trust grows with settled issues, delivered value, regular contact and strategic
realignment (a review that reconciles the partners' priorities restores shared
purpose, in proportion to the misalignment it removes). It erodes with every new
issue (friction costs goodwill even when settled fast), aging issues,
opportunism (tempted by misalignment, exposed IP and, between competitors,
overlapping capabilities), broken expectations, a lost champion, news of a
partner's misconduct elsewhere and inequitable commitment.

``trust += gain * (1 - trust) - loss * trust`` keeps trust in [0, 1] and makes
both gains and losses bite less near the bounds. Each loss is tallied by cause,
which names the primary cause if the alliance fails.
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.choices import protection, silence, touches
from sim.mechanisms.maturity import routine_cushion
from sim.mechanisms.partners import expectation_gap, inequity, misalignment, n_active, value_ratio
from sim.state import AllianceDraws, AllianceState, Context, Params
from sim.vocabulary import N_FRICTION_DRIVERS, Cause

OPPORTUNISM = int(Cause.OPPORTUNISM)
EXPECTATION_GAP = int(Cause.EXPECTATION_GAP)
KEY_CONTACT_LOSS = int(Cause.KEY_CONTACT_LOSS)
PARTNER_REPUTATION = int(Cause.PARTNER_REPUTATION)
INEQUITY = int(Cause.INEQUITY)


@mechanism
def ip_at_risk(a: AllianceState, p: Params) -> float:
    """Intellectual property exposed in joint work, cut by guardrails and by partners who
    protect theirs."""
    ip = p.alliance.ip_exposure
    if p.governance.ip_guardrails:
        ip = ip * (1.0 - p.dynamics.guardrail_effect)
    return ip * (1.0 - p.dynamics.protection_effect * protection(a))


@mechanism
def trust_gain(a: AllianceState, c: Context, p: Params) -> float:
    """This week's gain: settled issues, value above expectation, a touchpoint, realignment."""
    d = p.dynamics
    count = n_active(a)
    ratio_total = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            ratio_total = ratio_total + min(value_ratio(a, slot, c.t), 2.0)
    surplus = min(1.0, max(0.0, ratio_total / count - 1.0))
    return (
        d.trust_per_resolution * a.resolved
        + d.trust_per_value * surplus
        + d.trust_per_touchpoint * (1.0 if touches(a, c, p) and c.t >= c.charter_week else 0.0)
        + d.trust_per_realignment * a.realigned
    )


@mechanism
def trust_losses(a: AllianceState, c: Context, p: Params, acts: float) -> tuple[float, ...]:
    """This week's losses by source: aging issues, opportunism (``acts``, the side deals taken:
    :func:`take_side_deals`), expectation gap, a lost champion, a partner's reputation loss
    elsewhere, inequity, new issues."""
    d = p.dynamics
    aged = 0.0
    for q in range(a.issue_age.shape[0]):
        if a.issue_age[q] > d.aging_grace_weeks:
            aged = aged + (0.5 if a.issue_small[q] else 1.0)
    reputation_drop = 0.0
    for slot in range(a.active.shape[0]):
        if not a.active[slot]:
            continue
        reputation_drop = reputation_drop + a.partner_reputation_drop[slot]
    # a pilot limits scope and exposure: its issues and temptations put less at stake
    exposure = p.launch.pilot_scale if a.piloting else 1.0
    contact = d.trust_per_contact_loss * (1.0 - a.institutionalisation)
    if p.governance.handover_protocol:
        contact = contact * (1.0 - d.handover_effect)
    return (
        d.trust_per_aged_issue * aged * exposure,
        d.trust_per_opportunism * acts * exposure,
        d.trust_per_gap * expectation_gap(a, c.t),
        contact * a.departures,
        d.trust_per_reputation_drop * reputation_drop,
        d.trust_per_inequity * inequity(a),
        d.trust_per_issue * a.raised * exposure * (1.0 - d.silence_relief * silence(a)),
    )


@mechanism
def temptation(a: AllianceState, p: Params) -> float:
    """How much a side deal tempts: misalignment, IP at risk and, between competitors,
    overlapping capabilities."""
    d = p.dynamics
    return min(1.0, misalignment(a) + ip_at_risk(a, p) + d.overlap_temptation * p.alliance.capability_overlap)


@mechanism
def take_side_deals(a: AllianceState, w: AllianceDraws, p: Params) -> float:
    """The side deals active partners take this week: the week's draw offers one and the partner
    does not turn it down; each taken is the partner's private gain (at a pilot's scale while
    piloting). Returns how many were taken (acts of opportunism)."""
    rate = p.dynamics.opportunism_rate * temptation(a, p)
    gain = p.dynamics.side_deal_gain * (p.launch.pilot_scale if a.piloting else 1.0)
    acts = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot] and w.opportunism_u[slot] < rate and not a.declines_side_deals[slot]:
            acts = acts + 1.0
            a.side_gains[slot] += gain
    return acts


@mechanism
def update_trust(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Apply the week's gain and losses to trust and book each loss against its cause."""
    gain = trust_gain(a, c, p)
    losses = trust_losses(a, c, p, take_side_deals(a, w, p))
    total = 0.0
    for x in losses:
        total = total + x
    # routines absorb part of the damage; the ledger books what still bites
    cushion = routine_cushion(a, p)
    loss = min(1.0, total * cushion)
    gain = min(1.0, gain)
    bite = a.trust * cushion  # the weight of each loss booked in the ledger
    a.trust = a.trust + gain * (1.0 - a.trust) - loss * a.trust
    # aging and new issues are booked against the frictions that raised them, by their mix
    aging_damage = losses[0] * bite
    for k in range(N_FRICTION_DRIVERS):
        a.ledger[k] += aging_damage * a.friction_mix[k]
    arrival_damage = losses[6] * bite
    for k in range(N_FRICTION_DRIVERS):
        a.ledger[k] += arrival_damage * a.friction_mix[k]
    a.ledger[OPPORTUNISM] += losses[1] * bite
    a.ledger[EXPECTATION_GAP] += losses[2] * bite
    a.ledger[KEY_CONTACT_LOSS] += losses[3] * bite
    a.ledger[PARTNER_REPUTATION] += losses[4] * bite
    a.ledger[INEQUITY] += losses[5] * bite
