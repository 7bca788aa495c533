"""Between an alliance and its partner firms: what the firms bring to it each week, and what
they take away from it (exits and collapses that cost reputation).

A firm's strategy and culture drift, its capacity is split over the alliances it
holds, and its reputation falls when it walks out of an alliance or is in one
that collapses; its partners elsewhere hear of that the next week. An alliance
reads these values from its own record: they are gathered once the firms have
drifted, before any alliance acts, and the exits and collapses are reported back
after every alliance has acted. So no alliance reads another's changes of the
same week, whichever order the alliances are stepped in.
"""

from __future__ import annotations

import numpy as np

from sim.mechanisms import mechanism
from sim.state import AllianceState, AllianceTable, FirmState, FirmTable


@mechanism
def count_partners(a: AllianceState, loads: np.ndarray) -> None:
    """Add the alliance's active partners to their firms' counts of running alliances."""
    for slot in range(a.active.shape[0]):
        if a.active[slot]:
            loads[a.firm[slot]] += 1


@mechanism
def count_alliances(alliances: AllianceTable, firms: FirmTable, candidates: np.ndarray) -> None:
    """Each firm's alliances still running with it in them, at the start of the week.

    ``candidates`` lists, in ascending order, the alliances that may still run: every
    alliance, or (as the cohort engine keeps it) those still running after last week."""
    loads = np.zeros(len(firms), dtype=np.int64)
    for i in candidates:
        a = alliances[i]
        if a.alive:
            count_partners(a, loads)
    for f in range(len(firms)):
        firms[f].load = loads[f]


@mechanism
def bring_partner_values(a: AllianceState, firms: FirmTable) -> None:
    """Copy what each partner firm brings this week into the alliance's record."""
    for slot in range(a.firm.shape[0]):
        firm: FirmState = firms[a.firm[slot]]
        for k in range(firm.strategy.shape[0]):
            a.partner_strategy[slot, k] = firm.strategy[k]
        for k in range(firm.culture.shape[0]):
            a.partner_culture[slot, k] = firm.culture[k]
        a.partner_capacity[slot] = firm.capacity
        a.partner_load[slot] = firm.load
        a.partner_outside_option[slot] = firm.outside_option
        a.partner_reputation_drop[slot] = firm.reputation_drop


@mechanism
def report_to_firms(a: AllianceState, firms: FirmTable) -> None:
    """Tell each partner firm that it walked out, or was in the alliance when trust collapsed."""
    for slot in range(a.firm.shape[0]):
        if a.exited[slot]:
            firms[a.firm[slot]].exits_this_week += 1
        if a.collapsed[slot]:
            firms[a.firm[slot]].collapses_this_week += 1
