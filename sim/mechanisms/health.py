"""The relationship health index: the mean of communication, decision efficiency, conflict
resolution, trust and value perception, each a moving average of this week's signal."""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.mechanisms.choices import touches
from sim.mechanisms.partners import clip01, expectation_gap, n_active, without_champion
from sim.state import AllianceDraws, AllianceState, Context, Params


@mechanism
def health_index(a: AllianceState) -> float:
    return (
        a.communication + a.decision_efficiency + a.conflict_resolution + a.trust + a.value_perception
    ) / 5.0


@mechanism
def update_health(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """Move each component toward this week's signal and recompute the index."""
    d = p.dynamics
    count = n_active(a)
    open_count = 0
    age_total = 0.0
    for q in range(a.issue_age.shape[0]):
        age = a.issue_age[q]
        if age >= 0:
            open_count += 1
            age_total = age_total + age
    touch = 1.0 if touches(a, c, p) and c.t >= c.charter_week else 0.0
    communication = clip01(
        d.communication_base
        + d.communication_touchpoint * touch
        - d.communication_contact * (without_champion(a) / count)
        - d.communication_issue * open_count
    )
    mean_age = age_total / open_count if open_count else 0.0
    decision = 1.0 / (1.0 + mean_age / d.decision_age_scale)
    resolved = a.resolved
    handled = resolved + open_count
    conflict = resolved / handled if handled else 1.0
    value = 1.0 - expectation_gap(a, c.t)
    r = d.health_rate
    a.communication = a.communication + r * (communication - a.communication)
    a.decision_efficiency = a.decision_efficiency + r * (decision - a.decision_efficiency)
    a.conflict_resolution = a.conflict_resolution + r * (conflict - a.conflict_resolution)
    a.value_perception = a.value_perception + r * (value - a.value_perception)
    a.health = health_index(a)
