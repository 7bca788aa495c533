"""Maturity: what a relationship accumulates from working together.

Alliances and joint ventures fail most often in their first year or two and less
as they age (the "liability of adolescence": Fichman and Levinthal 1991; Park and
Russo 1996; Kogut 1989). Two things build up while partners work together and
explain it (Gulati 1995; Zollo, Reuer and Singh 2002; Dyer and Singh 1998):

* **routines**: joint ways of working, a shared vocabulary and relationship-specific
  investment. They grow every week of joint operation after launch, the faster the
  more the partners trust each other, toward a ceiling of 1. With them the
  relationship institutionalises beyond its champions (``institutionalisation``,
  which already catches looming issues and softens the loss of a key contact), and
  the partners read friction charitably: each week's trust damage is cut by
  ``routine_buffer * routines`` (the sunk investment and the record together make
  one bad week count for less).
* **selection** needs no mechanism: poorly matched alliances fail early, so those
  left are the sturdier ones.

The growth rate ``routine_rate`` sets the time scale of maturing (at trust 0.5 and a
rate of 0.01 a week, routines reach half their ceiling in about 140 weeks); it is
calibrated so that the yearly failure hazard of handshake alliances peaks in their
first or second year and halves by years six to ten (pattern P9).
"""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.state import AllianceDraws, AllianceState, Context, Params


@mechanism
def build_routines(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """A week of joint operation adds to the partners' routines and institutionalises the
    relationship by as much."""
    if c.t < c.launch_week:
        return
    d = p.dynamics
    growth = d.routine_rate * a.trust
    a.routines = a.routines + growth * (1.0 - a.routines)
    a.institutionalisation = a.institutionalisation + growth * (1.0 - a.institutionalisation)


@mechanism
def routine_cushion(a: AllianceState, p: Params) -> float:
    """The share of a week's trust damage that still bites once routines have formed."""
    return 1.0 - p.dynamics.routine_buffer * a.routines
