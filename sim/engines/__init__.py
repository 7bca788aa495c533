"""The engines that run the mechanisms: the Mesa model (:mod:`sim.engines.mesa_model`), one agent at a
time, and the compiled cohort loop (:mod:`sim.engines.cohort`); the week's phase order,
which both follow, is declared once in :mod:`sim.engines.phases`."""

import os


def threads() -> int:
    """Cores a run may use: ``$ALLIANCE_SIM_THREADS``, else every core this process may run on
    (its CPU affinity, so ``taskset -c 0`` means one). Results do not depend on
    it (threads and processes share work out by whole alliances, or whole cells). A setting
    that is not a whole number from 1 up is refused (ConfigError naming it)."""
    from sim.params import ConfigError

    setting = os.environ.get("ALLIANCE_SIM_THREADS", "").strip()
    if not setting:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)
    try:
        value = int(setting)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            f"ALLIANCE_SIM_THREADS = {setting[:40]!r}: must be a whole number of cores, 1 or more"
        )
    return value
