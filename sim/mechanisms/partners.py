"""What partners bring to an alliance and how far apart they stand.

Alignment is measured from the hub (slot 0: the focal firm of a dyad, the hub of
an ecosystem) to each active spoke: the mean absolute difference over the
objectives or traits, averaged over spokes. Expectations are felt only once a
partner expected results and not while the alliance is a pilot.
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.state import AllianceState, Params
from sim.vocabulary import EXPECTATION_FLOOR


@mechanism
def clip01(x: float) -> float:
    return min(max(x, 0.0), 1.0)


@mechanism
def n_active(a: AllianceState) -> float:
    """Partners still in the alliance."""
    count = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            count = count + 1.0
    return count


@mechanism
def misalignment(a: AllianceState) -> float:
    """How differently the partners weigh the objectives (0 aligned, 1 opposite)."""
    values = a.incentives
    dims = values.shape[1]
    total = 0.0
    count = 0.0
    for slot in range(1, values.shape[0]):
        if not a.active[slot]:
            continue
        diff = abs(values[0, 0] - values[slot, 0])
        for k in range(1, dims):
            diff = diff + abs(values[0, k] - values[slot, k])
        total = total + diff / dims
        count = count + 1.0
    return total / max(count, 1.0)


@mechanism
def cultural_distance(a: AllianceState) -> float:
    """How differently the partners decide: speed, formality, risk appetite."""
    hub = a.partner_culture[0]
    dims = hub.shape[0]
    total = 0.0
    count = 0.0
    for slot in range(1, a.firm.shape[0]):
        if not a.active[slot]:
            continue
        other = a.partner_culture[slot]
        diff = abs(hub[0] - other[0])
        for k in range(1, dims):
            diff = diff + abs(hub[k] - other[k])
        total = total + diff / dims
        count = count + 1.0
    return total / max(count, 1.0)


@mechanism
def effective_cultural_distance(a: AllianceState, p: Params) -> float:
    """Mixed teams and a fast track blunt cultural distance (cultural bridging)."""
    distance = cultural_distance(a)
    if p.governance.cultural_bridging:
        distance = distance * (1.0 - p.dynamics.bridging_effect)
    return distance


@mechanism
def expects_results(a: AllianceState, slot: int, t: int) -> bool:
    """Expectations are felt once the partner expected to see results, and not while the
    alliance is still a pilot: a pilot is a deliberate, limited test whose results are due
    when it scales up."""
    return t >= a.results_week[slot] and not a.piloting


@mechanism
def felt_gap(a: AllianceState, slot: int, t: int) -> float:
    """Relative shortfall of experience against expectation, once results are due.

    At most 1: getting nothing (or paying in) is the whole expectation broken.
    """
    if not expects_results(a, slot, t):
        return 0.0
    e = a.expectation[slot]
    return min(1.0, max(0.0, e - a.perceived_value[slot]) / e)


@mechanism
def value_ratio(a: AllianceState, slot: int, t: int) -> float:
    """Experienced over expected value (1 before results are due)."""
    if not expects_results(a, slot, t):
        return 1.0
    return a.perceived_value[slot] / a.expectation[slot]


@mechanism
def expectation_gap(a: AllianceState, t: int) -> float:
    """Mean felt shortfall of experience against expectation over active partners."""
    total = 0.0
    count = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            total = total + felt_gap(a, slot, t)
            count = count + 1.0
    return total / count


@mechanism
def projected_value(a: AllianceState, slot: int, p: Params) -> float:
    """Weekly net value a partner can realistically expect once the alliance is integrated."""
    d = p.dynamics
    joint = d.value_per_partner * n_active(a) * p.alliance.complementarity * a.potential
    planned = joint * (d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust)
    return a.share[slot] * planned - d.contribution_cost * a.commitment[slot]


@mechanism
def realign(a: AllianceState, fraction: float) -> None:
    """Move every partner's incentives part of the way to the partners' common ground."""
    count = n_active(a)
    for k in range(a.incentives.shape[1]):
        total = 0.0
        for slot in range(a.active.shape[0]):
            if a.active[slot]:
                total = total + a.incentives[slot, k]
        mean = total / count
        for slot in range(a.active.shape[0]):
            if a.active[slot]:
                x = a.incentives[slot, k]
                a.incentives[slot, k] = x + fraction * (mean - x)


@mechanism
def reset_expectations(a: AllianceState, fraction: float, p: Params) -> None:
    """Make expectations explicit: move them part of the way to what is realistic."""
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            realistic = projected_value(a, slot, p)
            e = a.expectation[slot]
            a.expectation[slot] = max(EXPECTATION_FLOOR, e + fraction * (realistic - e))


@mechanism
def inequity(a: AllianceState) -> float:
    """Relative spread of commitment: give and take out of balance."""
    count = n_active(a)
    total = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            total = total + a.commitment[slot]
    mean = total / count
    spread = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            spread = spread + abs(a.commitment[slot] - mean)
    return spread / count / mean


@mechanism
def without_champion(a: AllianceState) -> float:
    """Active partners whose key contact has left and whose successor is not yet effective."""
    count = 0.0
    for slot in range(a.active.shape[0]):
        if a.active[slot] and a.contact_gap[slot] > 0:
            count = count + 1.0
    return count
