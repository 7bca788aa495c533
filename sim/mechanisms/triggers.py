"""Adaptation triggers and renegotiation.

Trigger clauses open a renegotiation when a watched signal crosses its
threshold: a large shock, a low health index, high incentive misalignment.
Without them, partners renegotiate only in a crisis, and only if they still
trust each other enough to talk. A renegotiation realigns incentives,
expectations and value shares part of the way and re-scopes the deal to recover
part of the value shocks destroyed (less in a crisis), at the cost of weeks of
reduced value and of effort.
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.log import RENEGOTIATION, record
from sim.mechanisms.partners import misalignment, n_active, realign, reset_expectations
from sim.state import AllianceDraws, AllianceState, Context, Params


@mechanism
def renegotiate(a: AllianceState, c: Context, p: Params, fraction: float, crisis: bool) -> None:
    """Realign incentives, expectations and shares by ``fraction``; recover lost potential."""
    d = p.dynamics
    realign(a, fraction)
    reset_expectations(a, fraction, p)
    count = n_active(a)
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            share = a.share[slot]
            a.share[slot] = share + fraction * (1.0 / count - share)
    recovery = d.renegotiation_recovery * (d.crisis_efficacy if crisis else 1.0)
    a.potential = a.potential + recovery * (c.trend_level - a.potential)
    a.renegotiation_left = d.renegotiation_weeks
    a.renegotiation_planned = not crisis
    a.last_renegotiation = c.t
    a.renegotiations += 1
    record(a, RENEGOTIATION, int(crisis), -1, 0.0)


@mechanism
def apply_triggers(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Open a renegotiation when a trigger fires, or in a crisis partners can still talk through."""
    tr = p.triggers
    d = p.dynamics
    t = c.t
    if t < c.charter_week:
        return  # nothing agreed yet, nothing to renegotiate
    if a.renegotiation_asked and a.renegotiation_left == 0:
        # the partners agreed to renegotiate (sim.mechanisms.choices): a planned one
        a.renegotiation_asked = False
        renegotiate(a, c, p, d.realign_fraction, False)
        return
    if a.renegotiation_left > 0 or t - a.last_renegotiation < tr.cooldown_weeks:
        return
    if c.triggers_on:
        shock = a.shock_size
        fired = (
            (shock > 0.0 and shock >= tr.shock_threshold)
            or a.health < tr.health_threshold
            or misalignment(a) > tr.misalignment_threshold
        )
        if fired:
            renegotiate(a, c, p, d.realign_fraction, False)
            return
    if a.health < d.crisis_health and a.trust >= d.crisis_min_trust:
        renegotiate(a, c, p, d.realign_fraction * d.crisis_efficacy, True)
