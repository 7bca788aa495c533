"""The lifecycle: discovery, alignment (the charter is agreed), operational design, then
launch as a limited pilot or at full scale, and scaled operation."""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.log import SCALE_UP, record
from sim.state import AllianceDraws, AllianceState, Context, Params
from sim.vocabulary import Phase

DISCOVERY = int(Phase.DISCOVERY)
ALIGNMENT = int(Phase.ALIGNMENT)
OPERATIONAL_DESIGN = int(Phase.OPERATIONAL_DESIGN)
LAUNCH = int(Phase.LAUNCH)
SCALED_OPERATION = int(Phase.SCALED_OPERATION)


@mechanism
def start_week(a: AllianceState) -> None:
    """Clear what the previous week recorded for later phases of its own week."""
    a.shock_size = 0.0
    a.proactive_effort = 0.0
    a.setup_effort = 0.0
    a.reactive_effort = 0.0
    for c in range(a.friction_mix.shape[0]):
        a.friction_mix[c] = 0.0
    a.resolved = 0
    a.raised = 0
    a.departures = 0
    a.realigned = 0.0
    a.n_events = 0
    for slot in range(a.exited.shape[0]):
        a.exited[slot] = False
        a.collapsed[slot] = False


@mechanism
def advance_lifecycle(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Discovery, alignment, operational design, then launch as a pilot or at full scale.

    A full launch goes straight to scaled operation. A pilot runs at reduced
    scale for ``pilot_weeks`` and scales up at the first week after that in
    which last week's health clears the gate; partners then give the scaled
    operation ``post_pilot_results_weeks`` before judging it.
    """
    d = p.dynamics
    t = c.t
    start_week(a)
    if t < d.discovery_weeks:
        a.phase = DISCOVERY
    elif t < d.discovery_weeks + d.alignment_weeks:
        a.phase = ALIGNMENT
    elif t < c.launch_week:
        a.phase = OPERATIONAL_DESIGN
    elif t == c.launch_week:
        a.piloting = c.pilot
        a.phase = LAUNCH if c.pilot else SCALED_OPERATION
    elif a.piloting and t >= c.launch_week + p.launch.pilot_weeks and a.health >= p.launch.pilot_gate_health:
        a.piloting = False
        a.phase = SCALED_OPERATION
        record(a, SCALE_UP, 0, -1, 0.0)
        due = t + d.post_pilot_results_weeks  # the scaled operation gets time to deliver
        for slot in range(a.results_week.shape[0]):
            a.results_week[slot] = max(a.results_week[slot], due)
