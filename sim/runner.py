"""Run one cohort with the engine its config names.

This is the model's front door for scripts, notebooks, the command line and
sweeps alike: ``run_cohort(config)`` returns a :class:`~sim.results.CohortResult`.
Writing it to disk, with its summary and provenance, is :mod:`sim.analysis.output`'s.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.params import Engine, SimulationConfig, require_config
from sim.results import CohortResult

ProgressHook = Callable[[int, int], None]
"""Called after each simulated week with (weeks done, horizon)."""


def run_cohort(config: SimulationConfig, progress: ProgressHook | None = None) -> CohortResult:
    """Simulate ``config.n_alliances`` alliances for ``config.horizon_weeks`` weeks."""
    require_config(config, "run_cohort")
    if config.engine is Engine.MESA:
        from sim.engines.mesa_model import AllianceModel, reference_result

        model = AllianceModel(config)
        while model.running:
            model.step()
            if progress is not None:
                progress(model.week_index, config.horizon_weeks)
        return reference_result(model)
    from sim.engines.cohort import run_compiled

    return run_compiled(config, progress=progress)
