"""Value: what the alliance creates and what each partner makes of it.

Joint value comes from complementarity, integration and trust, scaled by the
launch, minus the cost of the week's governance and firefighting effort; each
partner keeps its share net of what it commits, and perceives value as a moving
average of that. Progress toward the objectives counts the joint value net of
effort. Firms split their capacity over the alliances they hold, so commitment
falls when a firm takes on more; unequal commitment feels inequitable.
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.choices import protection
from sim.mechanisms.partners import n_active
from sim.state import AllianceDraws, AllianceState, Context, Params
from sim.vocabulary import COMMITMENT_CAP


@mechanism
def commitment(capacity: float, load: float, dilution: float) -> float:
    """Resources a firm commits to each of its ``load`` alliances.

    A firm's first alliance gets its whole capacity; each further one dilutes
    the commitment to all of them by ``dilution``. Capped at ``COMMITMENT_CAP``.
    """
    return min(COMMITMENT_CAP, capacity / (1.0 + dilution * (load - 1.0)))


@mechanism
def create_value(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Integration progresses after launch; the week's joint value is created and shared."""
    d = p.dynamics
    count = n_active(a)
    slots = a.active.shape[0]
    for slot in range(slots):
        if a.active[slot]:
            a.commitment[slot] = (
                commitment(a.partner_capacity[slot], a.partner_load[slot], d.load_dilution)
                * a.effort_choice[slot]
            )
    commit_total = 0.0
    for slot in range(slots):
        if a.active[slot]:
            commit_total = commit_total + min(a.commitment[slot], 1.0)
    commit_factor = commit_total / count
    if c.t >= c.launch_week:
        rate = d.integration_rate * (1.0 - d.protection_drag * protection(a))
        a.integration = a.integration + rate * (1.0 - a.integration) * commit_factor
        scale = p.launch.pilot_scale if a.piloting else 1.0
    else:
        scale = 0.0
    # a pilot is a limited test: partners commit resources at its scale too
    resource_scale = p.launch.pilot_scale if a.piloting else 1.0
    if a.renegotiation_left > 0:
        renegotiating = 1.0 - d.renegotiation_value_loss
        a.renegotiation_left -= 1
        if a.renegotiation_planned:
            a.proactive_effort = a.proactive_effort + d.renegotiation_effort
        else:
            a.reactive_effort = a.reactive_effort + d.renegotiation_effort
    else:
        renegotiating = 1.0
    value = (
        d.value_per_partner
        * count
        * p.alliance.complementarity
        * a.potential
        * (d.integration_floor + (1.0 - d.integration_floor) * a.integration)
        * (d.trust_floor + (1.0 - d.trust_floor) * a.trust)
        * commit_factor
        * scale
        * renegotiating
        * (1.0 + d.value_noise * w.value_noise)
    )
    value = max(0.0, value)
    effort = a.setup_effort + a.proactive_effort + a.reactive_effort
    # the model's effort is in units of a typical partner's team; the records in person-weeks
    team = p.alliance.team_scale
    a.effort_setup += a.setup_effort * team
    a.effort_proactive += a.proactive_effort * team
    a.effort_reactive += a.reactive_effort * team
    joint_net = value - d.effort_cost * effort
    for slot in range(slots):
        if a.active[slot]:
            share = a.share[slot]
            net = share * joint_net - d.contribution_cost * a.commitment[slot] * resource_scale
            a.perceived_value[slot] = a.perceived_value[slot] + d.perception_rate * (
                net - a.perceived_value[slot]
            )
            a.value_received[slot] += share * value
            a.net_value[slot] += net
    a.cumulative_value += joint_net / slots
    a.potential = a.potential * c.value_change
