"""Recording events (shocks, renegotiations, escalations, departures, exits, scale-ups,
endings); payloads as in :mod:`sim.events`. An alliance keeps the week's events in its own
record; the engines collect them into the cohort's log at the end of the week."""

from __future__ import annotations

from sim.mechanisms import mechanism
from sim.state import AllianceState
from sim.vocabulary import EventKind

_KINDS = list(EventKind)
SHOCK = _KINDS.index(EventKind.SHOCK)
RENEGOTIATION = _KINDS.index(EventKind.RENEGOTIATION)
ESCALATION = _KINDS.index(EventKind.ESCALATION)
KEY_CONTACT_DEPARTURE = _KINDS.index(EventKind.KEY_CONTACT_DEPARTURE)
PARTNER_EXIT = _KINDS.index(EventKind.PARTNER_EXIT)
SCALE_UP = _KINDS.index(EventKind.SCALE_UP)
ENDING = _KINDS.index(EventKind.ENDING)


@mechanism
def record(a: AllianceState, kind: int, first: int, second: int, amount: float) -> None:
    """Log an event of this alliance this week."""
    row = a.n_events
    a.event_kind[row] = kind
    a.event_first[row] = first
    a.event_second[row] = second
    a.event_amount[row] = amount
    a.n_events = row + 1
