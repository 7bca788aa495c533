"""What the weekly series report over the alliances still running."""

from __future__ import annotations

import numpy as np

from sim.mechanisms import mechanism
from sim.mechanisms.issues import open_issues
from sim.state import AllianceTable


@mechanism
def cohort_means(alliances: AllianceTable) -> tuple[float, float, float, float]:
    """Share of alliances still running, and their mean trust, health and open issues
    (nan when none runs); sums run in alliance order."""
    n = len(alliances)
    running = 0
    trust = 0.0
    health = 0.0
    issues = 0
    for i in range(n):
        a = alliances[i]
        if a.alive:
            running += 1
            trust = trust + a.trust
            health = health + a.health
            issues += open_issues(a)
    if running == 0:
        return running / n, np.nan, np.nan, np.nan
    return running / n, trust / running, health / running, issues / running
