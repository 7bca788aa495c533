"""A second process that computes cells of a study for ``alliance-sim -m`` (see
:class:`sim.studies.scheduler.CellsAhead`).

Hydra's serial launcher runs a study's cells one after the other in one
process. ``alliance-sim`` starts this worker beside it, before the study is
composed, so that its imports and compiled code load on the other core while
the study starts. Once every cell has been validated, the study hands the
worker cells from its last one backwards, one at a time, on standard input
(one JSON object per line); the worker computes each into the cell store and
answers on standard output. The launcher, working forwards, waits for a cell
the worker has taken, and the two meet in the middle. Then the worker draws the
study's figures while the study writes its tables.

A cell is the same whoever computes it: the worker rebuilds the configuration
from its validated parameters and checks that it hashes to the cell's key
before anything runs. A cell that fails here is reported back and computed
again by the launcher, which records any failure as usual. The worker ends when
its input closes (the study is over, or its process is gone).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def compute(request: dict[str, Any]) -> dict[str, Any]:
    from sim.params import SimulationConfig
    from sim.studies.store import cell_is_intact, compute_cell, config_hash

    key = request["key"]
    started = time.perf_counter()
    config = SimulationConfig.from_dict(request["config"])
    sets = request["sets"]
    if config_hash(config, sets) != key:
        return {"key": key, "error": "the configuration rebuilt here is not the cell's"}
    store = Path(request["store"])
    status = "cached"
    if not cell_is_intact(store, key):
        status = "computed"
        compute_cell(config, sets, store, key, request["overrides"])
    return {"key": key, "status": status, "seconds": time.perf_counter() - started}


def main() -> None:
    # what the cells and the figures need, loaded while the study starts
    import matplotlib

    matplotlib.use("Agg")
    import lifelines  # noqa: F401
    import matplotlib.pyplot
    import pyarrow.parquet  # noqa: F401 - written by pandas, imported on first use

    import sim.analysis.study_figures
    import sim.engines.cohort
    import sim.studies.store  # noqa: F401

    answer({"ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        if "figures" in request:
            answer(figures(Path(request["figures"])))
        else:
            try:
                answer(compute(request))
            except Exception as error:  # the launcher computes the cell itself and records why
                answer({"key": request.get("key"), "error": f"{type(error).__name__}: {error}"})


def figures(folder: Path) -> dict[str, Any]:
    """Draw the study's figures (the report's tables are written meanwhile by the study)."""
    from sim.analysis.study_figures import draw_figures

    try:
        return {"figures": [str(path) for path in draw_figures(folder)]}
    except Exception as error:  # the study draws them itself
        return {"figures": None, "error": f"{type(error).__name__}: {error}"}


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):  # the study was interrupted or is gone
        sys.exit(1)
