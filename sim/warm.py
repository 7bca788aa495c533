"""Compile the model ahead of its first use: ``python -m sim.warm``.

The model's compiled code is kept in a cache folder (:mod:`sim.compiled`), one folder per
model source and record layout, and compiled at its first use. ``scripts/setup.sh`` runs
this module once per install, so that the first study, stress test or classroom session
after set-up starts from the cache instead of compiling for half a minute.

It steps, for a few weeks, a cohort of each alliance type in both engines: the cohort
engine at the size at which a second thread takes part (another set of compiled
functions) and the Mesa engine, and the Mesa engine on each layout a classroom preset uses
that the types' defaults do not (the hub with seven spokes). A layout it does not cover (a
charter's ecosystem with another number of spokes, say) still compiles at its first use.
"""

from __future__ import annotations

import sys
import time

from sim.params import AllianceType, Engine

WARM_WEEKS = 3
"""Weeks stepped per cohort: every compiled function runs at least once."""


def warm(out: bool = True) -> float:
    """Compile and cache the model's code for every alliance type in both engines; the seconds."""
    from sim import load_config, run_cohort
    from sim.engines.cohort import MIN_HELPED

    started = time.perf_counter()
    layouts: set[int] = set()  # partner slots per alliance compiled for
    for kind in AllianceType:
        for engine, n in ((Engine.COHORT, MIN_HELPED), (Engine.MESA, 20)):
            config = load_config(
                [
                    f"alliance={kind.value}",
                    f"engine={engine.value}",
                    f"n_alliances={n}",
                    f"horizon_weeks={WARM_WEEKS}",
                ]
            )
            run_cohort(config)
            layouts.add(config.alliance.n_partners)
            if out:
                print(f"compiled the model: {kind.value}, {engine.value} engine", file=sys.stderr, flush=True)
    from sim.classroom.presets import PRESETS

    for preset in PRESETS:
        config = load_config([*preset.market, "engine=mesa", "n_alliances=2", f"horizon_weeks={WARM_WEEKS}"])
        if config.alliance.n_partners not in layouts:
            run_cohort(config)
            layouts.add(config.alliance.n_partners)
            if out:
                print(f"compiled the model: {preset.title}, mesa engine", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def main() -> int:
    seconds = warm()
    print(f"compiled code cached in {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
