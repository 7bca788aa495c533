"""Environmental shocks: subsidy or regulation changes, market-share shifts, technology shifts.

A shock arrives with the week's probability and an exponentially distributed size
of the week's mean (the scenario's standing conditions, or its episode:
:mod:`sim.environment`). It pushes each partner's incentives its own way and, by kind,
destroys value potential (regulatory), shifts the split of value between the hub
and the others (market share) or sets integration back (technology).
"""

from __future__ import annotations

from sim.draws import draw_shock
from sim.mechanisms import mechanism
from sim.mechanisms.log import SHOCK, record
from sim.mechanisms.partners import clip01
from sim.state import AllianceDraws, AllianceState, Context, Params
from sim.vocabulary import POTENTIAL_FLOOR, SHARE_BOUNDS, Cause, ShockKind

REGULATORY = int(ShockKind.REGULATORY)
MARKET_SHARE = int(ShockKind.MARKET_SHARE)
TECHNOLOGY = int(ShockKind.TECHNOLOGY)
EXTERNAL_SHOCK = int(Cause.EXTERNAL_SHOCK)
SHARE_LOW, SHARE_HIGH = SHARE_BOUNDS


@mechanism
def shift_shares(a: AllianceState, amount: float, toward_hub: bool) -> None:
    """Move value share between the hub (slot 0) and the others, who keep their proportions."""
    hub = a.share[0]
    old_rest = 1.0 - hub
    signed = amount if toward_hub else -amount
    new_hub = min(max(hub + signed, SHARE_LOW), SHARE_HIGH)
    a.share[0] = new_hub
    scale = (1.0 - new_hub) / old_rest
    for slot in range(1, a.share.shape[0]):
        if a.active[slot]:
            a.share[slot] = a.share[slot] * scale


@mechanism
def receive_shock(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """A shock may arrive this week; it is booked against the alliance as external damage."""
    sc = p.scenario
    d = p.dynamics
    if not w.shock_u < c.shock_rate:
        return
    draw_shock(w)
    size = c.shock_scale * w.shock_size
    kind_u = w.shock_kind_u
    if kind_u < sc.regulatory_share:
        kind = REGULATORY
    elif kind_u < sc.regulatory_share + sc.market_share_share:
        kind = MARKET_SHARE
    else:
        kind = TECHNOLOGY
    push = d.shock_incentive_push * size
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            for k in range(a.incentives.shape[1]):
                x = a.incentives[slot, k]
                a.incentives[slot, k] = clip01(x + push * w.shock_direction[k, slot])
    if kind == REGULATORY:
        a.potential = max(POTENTIAL_FLOOR, a.potential * (1.0 - min(1.0, d.shock_value_hit * size)))
    elif kind == MARKET_SHARE:
        shift_shares(a, d.shock_share_shift * size, w.shock_direction[0, 0] >= 0.0)
    else:
        a.integration = a.integration * (1.0 - min(1.0, d.shock_integration_setback * size))
    a.shock_size = size
    a.ledger[EXTERNAL_SHOCK] += d.shock_blame * size
    record(a, SHOCK, kind, -1, size)
