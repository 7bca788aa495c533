"""Compiled inner loops of the vectorized engine, one pass per alliance.

At cohort sizes of a few thousand alliances a phase written as a chain of numpy
calls spends more time in the calls than in the arithmetic. The longest chains
(issue arrival and settlement, trust, health, value creation, shocks, hub
distances and the expectation gap) are written here as one loop per alliance,
compiled by numba; every other phase stays numpy in :mod:`sim.vectorized`.

Each kernel performs, for every alliance, the same floating-point operations in
the same order as the reference engine (``sim/agents.py``), so results stay bit
for bit equal to it: numba compiles without fast-math, so it neither reorders
sums nor fuses multiplications and additions, and ``error_model="numpy"`` makes a
division by zero give inf or nan, as numpy does, instead of raising. Scalar
factors that the reference computes once per alliance from the configuration
(``1 - meeting_resolve * drag`` and the like) are computed once in Python and
passed in, which gives the same doubles.

The kernels are compiled on first use and cached next to this file, so only the
first run after an install pays the compilation (a few seconds).
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@jit
def raise_issues(
    drivers: np.ndarray,
    summed: np.ndarray,
    base_phase: np.ndarray,
    max_new: int,
    issue_u: np.ndarray,
    severity_u: np.ndarray,
    small_share: float,
    issue_age: np.ndarray,
    issue_small: np.ndarray,
    issue_rows: int,
    issues_raised: np.ndarray,
    issues_dropped: np.ndarray,
    mix: np.ndarray,
    count: np.ndarray,
) -> int:
    """Alliance.raise_issues for every alliance; returns the new bound on used issue rows.

    ``drivers`` is (7, N); ``summed`` the driver rows after the first that can be
    non-zero (adding a +0.0 row changes nothing); ``base_phase`` is
    ``base_issue_rate * issue_phase_factor`` per alliance. Writes the friction
    ``mix`` (7, N) and the ``count`` of new issues, and fills the lowest free
    slots among the first ``issue_rows + max_new`` rows, as the reference does.
    """
    capacity = issue_age.shape[0]
    n_drivers = drivers.shape[0]
    searched = min(capacity, issue_rows + max_new)
    top = issue_rows
    for i in range(drivers.shape[1]):
        total = 0.0 + drivers[0, i]
        for c in summed:
            total = total + drivers[c, i]
        if total > 0.0:
            for c in range(n_drivers):
                mix[c, i] = drivers[c, i] / total
        else:
            for c in range(n_drivers):
                mix[c, i] = 0.0
        rate = base_phase[i] * (1.0 + total)
        p = rate / max_new
        if p > 1.0:  # min(p, 1.0), keeping a nan as numpy's minimum does
            p = 1.0
        q = 1.0 - p
        c0 = q * q * q
        c1 = c0 + 3.0 * p * q * q
        c2 = c1 + 3.0 * p * p * q
        u = issue_u[i]
        new = (u >= c0) + (u >= c1) + (u >= c2)
        count[i] = new
        issues_raised[i] += new
        if new == 0:
            continue
        rank = 0
        for j in range(searched):
            if issue_age[j, i] < 0:
                rank += 1
                if rank <= new:
                    issue_age[j, i] = 0
                    issue_small[j, i] = severity_u[rank - 1, i] < small_share
                    if j + 1 > top:
                        top = j + 1
                elif searched < capacity:
                    break  # every newcomer has its slot; nothing is dropped
        if searched == capacity and new > rank:
            issues_dropped[i] += new - rank
    return top


@jit
def resolve_issues(
    issue_age: np.ndarray,
    issue_small: np.ndarray,
    resolve_u: np.ndarray,
    used: int,
    adhoc: np.ndarray,
    drag: float,
    meeting_factor: float,
    working_group_factor: float,
    escalation_age: int,
    steering_factor: float,
    escalation_factor: float,
    fast_track_factor: float,
    resolution_weeks_total: np.ndarray,
    resolved_count: np.ndarray,
    resolved: np.ndarray,
    open_count: np.ndarray,
    escalations: np.ndarray,
) -> int:
    """Alliance.resolve_issues for every alliance; returns the new bound on used issue rows.

    A factor of exactly 1.0 stands for a channel that is absent this week (the
    reference does not multiply by it, and ``x * 1.0`` is ``x``); an
    ``escalation_age`` below 0 means no escalation path. Settles, ages and counts
    the issues in the first ``used`` rows; writes the issues ``resolved``, still
    open (``open_count``) and newly ``escalations`` of each alliance.
    """
    top = 0
    for i in range(adhoc.shape[0]):
        base = 1.0 - adhoc[i] * drag
        if meeting_factor != 1.0:
            base = base * meeting_factor
        if working_group_factor != 1.0:
            base = base * working_group_factor
        settled = 0
        ages = 0
        still = 0
        escalated = 0
        for j in range(used):
            age = issue_age[j, i]
            if age < 0:
                continue
            miss = base
            if escalation_age >= 0 and age >= escalation_age:
                if steering_factor != 1.0:
                    miss = miss * steering_factor
                miss = miss * escalation_factor
            if fast_track_factor != 1.0 and issue_small[j, i]:
                miss = miss * fast_track_factor
            if resolve_u[j, i] < 1.0 - miss:
                settled += 1
                ages += age
                issue_age[j, i] = -1
            else:
                issue_age[j, i] = age + 1
                still += 1
                if age + 1 == escalation_age:
                    escalated += 1
                if j + 1 > top:
                    top = j + 1
        resolved[i] = settled
        resolution_weeks_total[i] = resolution_weeks_total[i] + (ages + 0.5 * settled)
        resolved_count[i] += settled
        open_count[i] = still
        escalations[i] = escalated
    return top


@jit
def _slot_sum(values: np.ndarray, on: np.ndarray, all_on: bool, i: int) -> float:
    """Sum over the active slots of alliance ``i``, from slot 0 upward (the reference's order)."""
    total = 0.0
    for slot in range(values.shape[0]):
        if all_on or on[slot, i]:
            total = total + values[slot, i]
    return total


@jit
def update_trust(
    trust: np.ndarray,
    ledger: np.ndarray,
    mix: np.ndarray,
    on: np.ndarray,
    all_on: bool,
    count: np.ndarray,
    perceived: np.ndarray,
    expectation: np.ndarray,
    felt: np.ndarray,
    felt_all: bool,
    resolved: np.ndarray,
    gain_per_resolution: float,
    gain_per_value: float,
    gain_touch: float,
    realigned: np.ndarray,
    gain_per_realignment: float,
    issue_age: np.ndarray,
    issue_small: np.ndarray,
    used: int,
    grace: int,
    misalignment: np.ndarray,
    temptation_base: float,
    overlap: float,
    opportunism_u: np.ndarray,
    opportunism_rate: float,
    slot_reputation_drop: np.ndarray,
    any_reputation_drop: bool,
    departures: np.ndarray,
    any_departure: bool,
    institutionalisation: np.ndarray,
    loss_per_contact: float,
    handover_factor: float,
    gap: np.ndarray,
    inequity: np.ndarray,
    raised: np.ndarray,
    loss_per_aged: float,
    loss_per_opportunism: float,
    loss_per_gap: float,
    loss_per_reputation_drop: float,
    loss_per_inequity: float,
    loss_per_issue: float,
    cause_opportunism: int,
    cause_gap: int,
    cause_contact: int,
    cause_reputation: int,
    cause_inequity: int,
) -> None:
    """Alliance.update_trust for every alliance: gains, losses, the new trust and the damage ledger.

    ``realigned`` has length 0 in weeks without a strategic review (the reference adds
    0.0). The ``any_*`` flags say whether a loss is zero in every alliance this week;
    then it is not computed (adding or booking +0.0 changes nothing). The first
    N_FRICTION_DRIVERS rows of ``ledger`` take the aging and new-issue damage by ``mix``.
    """
    n_drivers = mix.shape[0]
    with_realignment = realigned.shape[0] > 0
    for i in range(trust.shape[0]):
        ratio_total = 0.0
        for slot in range(perceived.shape[0]):
            if all_on or on[slot, i]:
                ratio = perceived[slot, i] / expectation[slot, i] if felt_all or felt[slot, i] else 1.0
                ratio_total = ratio_total + min(ratio, 2.0)
        surplus = min(1.0, max(0.0, ratio_total / count[i] - 1.0))
        gain = gain_per_resolution * resolved[i] + gain_per_value * surplus + gain_touch
        if with_realignment:
            gain = gain + gain_per_realignment * realigned[i]
        aged = 0.0
        for j in range(used):
            if issue_age[j, i] > grace:
                aged = aged + (0.5 if issue_small[j, i] else 1.0)
        temptation = min(1.0, misalignment[i] + temptation_base + overlap)
        threshold = opportunism_rate * temptation
        acts = 0.0
        for slot in range(opportunism_u.shape[0]):
            if (all_on or on[slot, i]) and opportunism_u[slot, i] < threshold:
                acts = acts + 1.0
        contact_loss = 0.0
        if any_departure:
            contact = loss_per_contact * (1.0 - institutionalisation[i])
            if handover_factor != 1.0:
                contact = contact * handover_factor
            contact_loss = contact * departures[i]
        reputation_drop = 0.0
        if any_reputation_drop:
            reputation_drop = _slot_sum(slot_reputation_drop, on, all_on, i)
        loss_aged = loss_per_aged * aged
        loss_opportunism = loss_per_opportunism * acts
        loss_gap = loss_per_gap * gap[i]
        loss_reputation = loss_per_reputation_drop * reputation_drop
        loss_inequity = loss_per_inequity * inequity[i]
        loss_issues = loss_per_issue * raised[i]
        total = 0.0 + loss_aged
        total = total + loss_opportunism
        total = total + loss_gap
        total = total + contact_loss
        total = total + loss_reputation
        total = total + loss_inequity
        total = total + loss_issues
        loss = min(1.0, total)
        gain = min(1.0, gain)
        before = trust[i]
        trust[i] = before + gain * (1.0 - before) - loss * before
        aged_damage = loss_aged * before
        for c in range(n_drivers):
            ledger[c, i] += aged_damage * mix[c, i]
        issue_damage = loss_issues * before
        for c in range(n_drivers):
            ledger[c, i] += issue_damage * mix[c, i]
        ledger[cause_opportunism, i] += loss_opportunism * before
        ledger[cause_gap, i] += loss_gap * before
        if any_departure:
            ledger[cause_contact, i] += contact_loss * before
        if any_reputation_drop:
            ledger[cause_reputation, i] += loss_reputation * before
        ledger[cause_inequity, i] += loss_inequity * before


@jit
def update_health(
    contact_gap: np.ndarray,
    on: np.ndarray,
    all_on: bool,
    count: np.ndarray,
    issue_age: np.ndarray,
    used: int,
    open_count: np.ndarray,
    resolved: np.ndarray,
    gap: np.ndarray,
    communication_now: float,
    communication_contact: float,
    communication_issue: float,
    decision_age_scale: float,
    rate: float,
    contact_share: np.ndarray,
    communication: np.ndarray,
    decision_efficiency: np.ndarray,
    conflict_resolution: np.ndarray,
    value_perception: np.ndarray,
    trust: np.ndarray,
    health: np.ndarray,
) -> None:
    """Alliance.update_health for every alliance: the five components and their mean.

    ``communication_now`` is ``communication_base + communication_touchpoint * touch``.
    Also writes each alliance's share of partners without a key contact.
    """
    for i in range(count.shape[0]):
        without = 0.0
        for slot in range(contact_gap.shape[0]):
            if (all_on or on[slot, i]) and contact_gap[slot, i] > 0:
                without = without + 1.0
        share = without / count[i]
        contact_share[i] = share
        age_total = 0
        for j in range(used):
            if issue_age[j, i] > 0:
                age_total += issue_age[j, i]
        opened = open_count[i]
        signal = communication_now - communication_contact * share - communication_issue * opened
        signal = min(max(signal, 0.0), 1.0)
        mean_age = age_total / opened if opened else 0.0
        decision = 1.0 / (1.0 + mean_age / decision_age_scale)
        handled = resolved[i] + opened
        conflict = resolved[i] / handled if handled else 1.0
        value = 1.0 - gap[i]
        communication[i] = communication[i] + rate * (signal - communication[i])
        decision_efficiency[i] = decision_efficiency[i] + rate * (decision - decision_efficiency[i])
        conflict_resolution[i] = conflict_resolution[i] + rate * (conflict - conflict_resolution[i])
        value_perception[i] = value_perception[i] + rate * (value - value_perception[i])
        health[i] = (
            communication[i]
            + decision_efficiency[i]
            + conflict_resolution[i]
            + trust[i]
            + value_perception[i]
        ) / 5.0


@jit
def hub_distance(values: np.ndarray, on: np.ndarray, out: np.ndarray) -> None:
    """Alliance._hub_distance for every alliance: the mean over active spokes of the mean
    absolute difference from the hub (slot 0). ``values`` is (dims, P, N)."""
    dims = values.shape[0]
    for i in range(values.shape[2]):
        total = 0.0
        count = 0.0
        for slot in range(1, values.shape[1]):
            if not on[slot, i]:
                continue
            diff = abs(values[0, 0, i] - values[0, slot, i])
            for k in range(1, dims):
                diff = diff + abs(values[k, 0, i] - values[k, slot, i])
            total = total + diff / dims
            count = count + 1.0
        out[i] = total / max(count, 1.0)


@jit
def expectation_gap(
    expectation: np.ndarray,
    perceived: np.ndarray,
    felt: np.ndarray,
    on: np.ndarray,
    count: np.ndarray,
    out: np.ndarray,
) -> None:
    """Alliance.expectation_gap for every alliance: the mean felt shortfall over active partners."""
    for i in range(count.shape[0]):
        total = 0.0
        for slot in range(expectation.shape[0]):
            if not on[slot, i]:
                continue
            gap = 0.0
            if felt[slot, i]:
                e = expectation[slot, i]
                gap = min(1.0, max(0.0, e - perceived[slot, i]) / e)
            total = total + gap
        out[i] = total / count[i]


@jit
def create_value(
    launched: bool,
    integration: np.ndarray,
    integration_rate: float,
    commit_factor: np.ndarray,
    piloting: np.ndarray,
    pilot_scale: float,
    renegotiation_left: np.ndarray,
    renegotiation_planned: np.ndarray,
    renegotiation_value_loss: float,
    renegotiation_effort: float,
    proactive: np.ndarray,
    reactive: np.ndarray,
    joint_base: np.ndarray,
    potential: np.ndarray,
    integration_floor: float,
    trust_floor: float,
    trust: np.ndarray,
    value_noise: float,
    noise: np.ndarray,
    effort_cost: float,
    contribution_cost: float,
    commitment: np.ndarray,
    share: np.ndarray,
    on: np.ndarray,
    all_on: bool,
    perception_rate: float,
    perceived: np.ndarray,
    received: np.ndarray,
    n_partners: int,
    cumulative_value: np.ndarray,
    effort_proactive: np.ndarray,
    effort_reactive: np.ndarray,
) -> None:
    """Alliance.create_value for every alliance: integration, the week's joint value, effort,
    each partner's perceived and received value, and the cumulative value per partner.

    ``proactive`` and ``reactive`` are this week's effort so far; a renegotiation under way
    adds to one of them (planned ones are proactive). A factor of 1.0 (no pilot, no
    renegotiation) multiplies exactly, as the reference's skipped factor does.
    """
    for i in range(trust.shape[0]):
        scale = 0.0
        resource_scale = pilot_scale if piloting[i] else 1.0
        if launched:
            integration[i] = integration[i] + integration_rate * (1.0 - integration[i]) * commit_factor[i]
            scale = resource_scale
        renegotiating = 1.0
        pro = proactive[i]
        rea = reactive[i]
        if renegotiation_left[i] > 0:
            renegotiating = 1.0 - renegotiation_value_loss
            renegotiation_left[i] -= 1
            if renegotiation_planned[i]:
                pro = pro + renegotiation_effort
            else:
                rea = rea + renegotiation_effort
        value = (
            joint_base[i]
            * potential[i]
            * (integration_floor + (1.0 - integration_floor) * integration[i])
            * (trust_floor + (1.0 - trust_floor) * trust[i])
            * commit_factor[i]
        )
        value = value * scale
        value = value * renegotiating
        value = value * (1.0 + value_noise * noise[i])
        if value <= 0.0:  # max(0.0, value); -0.0 becomes 0.0 and a nan stays
            value = 0.0
        effort = pro + rea
        effort_proactive[i] = effort_proactive[i] + pro
        effort_reactive[i] = effort_reactive[i] + rea
        joint_net = value - effort_cost * effort
        for slot in range(share.shape[0]):
            if all_on or on[slot, i]:
                contribution = contribution_cost * commitment[slot, i] * resource_scale
                net = share[slot, i] * joint_net - contribution
                perceived[slot, i] = perceived[slot, i] + perception_rate * (net - perceived[slot, i])
                received[slot, i] = received[slot, i] + share[slot, i] * value
        cumulative_value[i] = cumulative_value[i] + joint_net / n_partners


@jit
def receive_shock(
    running: np.ndarray,
    shock_u: np.ndarray,
    shock_rate: float,
    shock_size: np.ndarray,
    shock_scale: float,
    kind_u: np.ndarray,
    regulatory_share: float,
    market_bound: float,
    shock_direction: np.ndarray,
    incentive_push: float,
    incentives: np.ndarray,
    on: np.ndarray,
    all_on: bool,
    potential: np.ndarray,
    potential_floor: float,
    value_hit: float,
    share: np.ndarray,
    share_low: float,
    share_high: float,
    share_shift: float,
    integration: np.ndarray,
    integration_setback: float,
    ledger_shock: np.ndarray,
    shock_blame: float,
    shock: np.ndarray,
    kind: np.ndarray,
) -> int:
    """Alliance.receive_shock for every running alliance; returns how many were hit.

    Writes each alliance's shock ``size`` (0 where none) and ``kind`` (-1 where none:
    0 regulatory, 1 market share, 2 technology).
    """
    hits = 0
    for i in range(running.shape[0]):
        shock[i] = 0.0
        kind[i] = -1
        if not (running[i] and shock_u[i] < shock_rate):
            continue
        hits += 1
        size = shock_scale * shock_size[i]
        u = kind_u[i]
        k = 0 if u < regulatory_share else (1 if u < market_bound else 2)
        push = incentive_push * size
        for slot in range(incentives.shape[1]):
            if all_on or on[slot, i]:
                for o in range(incentives.shape[0]):
                    x = incentives[o, slot, i] + push * shock_direction[o, slot, i]
                    incentives[o, slot, i] = min(max(x, 0.0), 1.0)
        if k == 0:
            potential[i] = max(potential_floor, potential[i] * (1.0 - min(1.0, value_hit * size)))
        elif k == 1:
            amount = share_shift * size
            hub = share[0, i]
            old_rest = 1.0 - hub
            signed = amount if shock_direction[0, 0, i] >= 0.0 else -amount
            new_hub = min(max(hub + signed, share_low), share_high)
            scale = (1.0 - new_hub) / old_rest
            for slot in range(1, share.shape[0]):
                if all_on or on[slot, i]:
                    share[slot, i] = share[slot, i] * scale
            share[0, i] = new_hub
        else:
            integration[i] = integration[i] * (1.0 - min(1.0, integration_setback * size))
        ledger_shock[i] += shock_blame * size
        shock[i] = size
        kind[i] = k
    return hits
