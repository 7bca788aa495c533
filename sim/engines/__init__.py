"""The engines that run the mechanisms: the Mesa model (:mod:`sim.engines.mesa_model`), one agent at a
time, and the compiled cohort loop (:mod:`sim.engines.cohort`); the week's phase order,
which both follow, is declared once in :mod:`sim.engines.phases`."""

import os


def threads() -> int:
    """Cores a run may use: ``$ALLIANCE_SIM_THREADS``, else every core. Results do not depend on
    it (threads and processes share work out by whole alliances, or whole cells)."""
    setting = os.environ.get("ALLIANCE_SIM_THREADS")
    return max(1, int(setting)) if setting else max(1, os.cpu_count() or 1)
