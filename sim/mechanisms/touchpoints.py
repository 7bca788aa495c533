"""Governance touchpoints: meetings, working groups, the steering committee, health checks.

They cost effort every time; standing levers cost a little every week; putting the
levers in place costs a one-off effort in the week the charter is agreed.
Touchpoints are where expectations are made explicit and where strategic reviews
realign incentives; restoring a shared purpose builds trust in proportion to the
misalignment removed (see :mod:`sim.mechanisms.trust`). Structure
institutionalises the relationship beyond its key contacts. The calendar and the
levers' roles are declared in :mod:`sim.levers`.
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.choices import added_levers, explicit_expectations, meets, touches
from sim.mechanisms.partners import misalignment, n_active, realign, reset_expectations
from sim.state import AllianceDraws, AllianceState, Context, Params


@mechanism
def hold_touchpoints(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """This week's touchpoints: their effort, explicit expectations, strategic review, structure."""
    g = p.governance
    d = p.dynamics
    if c.t < c.charter_week:
        return
    effort = 0.0
    if meets(a, c, p):
        effort = effort + d.meeting_effort
    if c.working_group:
        effort = effort + d.working_group_effort
    if c.steering:
        effort = effort + d.steering_effort
    if c.health_check:
        effort = effort + d.health_check_effort
    effort = effort + d.lever_effort * (c.standing_levers + added_levers(a, p))
    a.proactive_effort = effort * n_active(a)
    if c.t == c.charter_week:
        a.setup_effort = c.setup_effort * n_active(a)
    if explicit_expectations(a, p) and touches(a, c, p):
        reset_expectations(a, d.explicit_expectation_rate, p)
    if g.strategic_alignment and c.review:
        before = misalignment(a)
        realign(a, d.review_realign_fraction)
        a.realigned = before - misalignment(a)
    a.institutionalisation = min(
        1.0, a.institutionalisation + d.institutionalisation_rate * c.structure_levers
    )
