"""Key contacts: champions leave at random, and until a successor is effective the partner
has none. A handover protocol shortens the gap to a couple of weeks; the trust it costs
is in :mod:`sim.mechanisms.trust`."""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.log import KEY_CONTACT_DEPARTURE, record
from sim.state import AllianceDraws, AllianceState, Context, Params


@mechanism
def lose_key_contacts(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Each active partner's champion may leave this week; successors settle in week by week."""
    d = p.dynamics
    gap = d.handover_gap_weeks if p.governance.handover_protocol else d.contact_gap_weeks
    for slot in range(a.active.shape[0]):
        if not a.active[slot]:
            continue
        if a.contact_gap[slot] > 0:
            a.contact_gap[slot] -= 1
        if w.contact_u[slot] < d.contact_hazard:
            a.contact_gap[slot] = gap
            a.departures += 1
            record(a, KEY_CONTACT_DEPARTURE, slot, -1, 0.0)
