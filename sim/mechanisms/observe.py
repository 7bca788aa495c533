"""What the weekly series report over the alliances still running."""

from __future__ import annotations

import numpy as np

from sim.mechanisms import mechanism
from sim.mechanisms.issues import open_issues
from sim.state import AllianceState, AllianceTable


@mechanism
def add_to_means(a: AllianceState, sums: np.ndarray) -> None:
    """Add a running alliance to the week's sums: alliances, trust, health, open issues."""
    sums[0] += 1.0
    sums[1] = sums[1] + a.trust
    sums[2] = sums[2] + a.health
    sums[3] += open_issues(a)


@mechanism
def means_of(sums: np.ndarray, n: int) -> tuple[float, float, float, float]:
    """Share of the ``n`` alliances still running, and their mean trust, health and open
    issues (nan when none runs), from the sums of :func:`add_to_means`."""
    running = sums[0]
    if running == 0.0:
        return running / n, np.nan, np.nan, np.nan
    return running / n, sums[1] / running, sums[2] / running, sums[3] / running


@mechanism
def cohort_means(alliances: AllianceTable, candidates: np.ndarray) -> tuple[float, float, float, float]:
    """The week's means over the alliances still running; sums run in alliance order.
    ``candidates`` lists, in ascending order, every alliance that may still run (see
    ``count_alliances``)."""
    sums = np.zeros(4)
    for i in candidates:
        a = alliances[i]
        if a.alive:
            add_to_means(a, sums)
    return means_of(sums, len(alliances))
