"""A study on the command line: validate every cell before any runs, then run and report.

:class:`StudyCallback` (named by ``configs/config.yaml``) checks a study's block and composes
every cell before Hydra launches any, starts the worker that computes cells ahead
(:mod:`sim.studies.scheduler`) when the cells run in this process, and aggregates the study
when the last cell is done; :func:`run_cell` is one cell.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from sim.analysis.output import provenance
from sim.analysis.studies import CELL_FILE, FAILURE_FILE, STUDY_FILE, StudyError, cell_store
from sim.analysis.study_report import build_report
from sim.cli.hydra_support import ReusedCompositions, runs_cells_here
from sim.folders import write_whole
from sim.params import ConfigError
from sim.studies.files import check_study
from sim.studies.scheduler import Cell, CellsAhead, leave_with_the_parent
from sim.studies.store import cell_is_intact, compute_cell, config_hash, model_fingerprint
from sim.validation import available_memory, check_resources, memory_needed


def _cli() -> Any:
    """The command line's helpers (imported when a study runs: the command line imports this)."""
    import sim.cli

    return sim.cli


CLI_KEYS = ("progress", "study", "ensemble")
"""Top-level keys that steer the command line, not the model."""


def _task_overrides(task: Any = None) -> dict[str, str]:
    """A job's overrides (this job's, unless ``task`` lists them) as key -> value, without the
    experiment selector."""
    out = {}
    for item in HydraConfig.get().overrides.task if task is None else task:
        key, _, value = item.partition("=")
        key = key.lstrip("+~")
        if key not in ("experiment", *CLI_KEYS):
            out[key] = value
    return out


def _sweep_size(run_dir: Path) -> int | None:
    """Cells in the whole sweep, as counted before it started (study.json)."""
    try:
        return int(json.loads((run_dir / STUDY_FILE).read_text())["cells"])
    except (OSError, ValueError, KeyError):  # progress is a courtesy, never a reason to fail
        return None


def run_cell(cfg: DictConfig) -> dict:
    """One cell of a study: simulate it (or reuse it if an identical cell finished before).

    Never raises: a cell that fails leaves ``failure.json`` with its error, so
    the rest of the study completes and is aggregated.
    """
    started = time.perf_counter()
    leave_with_the_parent()
    hc = HydraConfig.get()
    cell_dir = Path(hc.runtime.output_dir)
    run_dir = Path(hc.sweep.dir)
    overrides = _task_overrides()
    total = _sweep_size(run_dir)
    label = " ".join(f"{k}={v}" for k, v in overrides.items()) or "(defaults)"
    position = f"[{hc.job.num + 1}/{total}]" if total else f"[{hc.job.num + 1}]"
    try:
        sets = _cli().ensemble_sets(cfg)
        config = _cli().ensemble_cohort(cfg, _cli().to_simulation_config(cfg))
        key = config_hash(config, sets)
        store = cell_store(run_dir, OmegaConf.select(cfg, "study.name")) / key
        status = "cached"
        ahead = CellsAhead.running
        done_there = ahead.wait_for(key) if ahead is not None else None
        if done_there is not None:  # by the worker, on the other core
            status, seconds = done_there
        elif not cell_is_intact(store, key):  # never finished, or damaged since: compute it afresh
            status = "computed"
            compute_cell(config, sets, store, key, overrides)
        record = {
            "overrides": overrides,
            "config_hash": key,
            "status": status,
            "seconds": round(seconds if done_there is not None else time.perf_counter() - started, 3),
            "by": "worker" if done_there is not None else "launcher",
            "results": os.path.relpath(store, run_dir),
            "seed": config.seed,
            "n_alliances": config.n_alliances,
        }
        (cell_dir / FAILURE_FILE).unlink(missing_ok=True)  # an earlier attempt's failure is over
        write_whole(cell_dir / CELL_FILE, json.dumps(record, indent=2) + "\n")
        print(f"{position} {label}: {status} in {record['seconds']:.1f} s", flush=True)
        return record
    except Exception as error:  # recorded, the study goes on
        failure: dict[str, Any] = {
            "cell": cell_dir.name,
            "overrides": overrides,
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
        }
        try:
            (cell_dir / CELL_FILE).unlink(missing_ok=True)
            write_whole(cell_dir / FAILURE_FILE, json.dumps(failure, indent=2) + "\n")
        except OSError as unwritable:  # the study's end counts it as missing, and fails
            failure["error"] += f" (and its failure record could not be written: {unwritable})"
        print(f"{position} {label}: FAILED ({failure['error']})", flush=True)
        return failure


def _sweep_axes(config: DictConfig) -> dict[str, str]:
    """What a study sweeps: its file's sweep, with the values the command line adds to it
    (a study block may name values of either)."""
    axes = {str(k): str(v) for k, v in dict(config.hydra.sweeper.params or {}).items()}
    for item in config.hydra.overrides.task:
        key, _, value = item.partition("=")
        if "," in value and key in axes:
            axes[key] = f"{axes[key]},{value}"
        elif "," in value or key not in axes:
            axes.setdefault(key, value)
    return axes


def _sweep_cells(config: DictConfig) -> list[list[str]]:
    """Every cell of the sweep as its list of overrides, in launch order."""
    params = dict(config.hydra.sweeper.params or {})
    for item in config.hydra.overrides.task:
        key, _, value = item.partition("=")
        params[key] = value
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    axes = []
    for o in parsed:
        name = o.get_key_element()
        values = list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]
        axes.append([f"{name}={v}" for v in values])
    return [list(combo) for combo in itertools.product(*axes)]


LOCK_FILE = ".study.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def claim_folder(run_dir: Path, study: dict[str, Any]) -> Path:
    """Make ``run_dir`` this study's alone, or stop naming it: a folder another running study
    holds (its lock names a live process), or one that holds the results of another study
    (a different command), is refused. The same command again resumes in its own folder.
    The lock (returned) is released when the study ends, or at the latest with this process."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / LOCK_FILE
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                holder = 0
            if holder and holder != os.getpid() and _alive(holder):
                _cli().fail(
                    f"hydra.sweep.dir = {run_dir}: another study is running there (process {holder}); "
                    "wait for it, or give this study another folder"
                )
            lock.unlink(missing_ok=True)  # left by a study that is gone
            continue
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")
        break
    atexit.register(_release, lock, os.getpid())
    earlier = run_dir / STUDY_FILE
    if earlier.exists():
        try:
            before = json.loads(earlier.read_text())
        except (OSError, ValueError):
            before = None
        same = isinstance(before, dict) and all(
            before.get(k) == study.get(k) for k in ("name", "cells", "dims", "seeds", "command_overrides")
        )
        if not same:
            _release(lock, os.getpid())
            _cli().fail(
                f"hydra.sweep.dir = {run_dir}: the folder holds the results of another study "
                f"(its {STUDY_FILE} differs); give this study another folder"
            )
    return lock


def _release(lock: Path, owner: int) -> None:
    try:
        if int(lock.read_text().strip() or 0) == owner:
            lock.unlink()
    except (OSError, ValueError):
        pass


class StudyCallback(Callback):
    """Validates every cell of a study before any runs; aggregates and reports when all are done."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Hydra only warns when a callback raises, and would run every cell unchecked: any
        error here stops the study before it starts."""
        try:
            self._start(config)
        except (SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:
            _cli().fail(f"the study could not start: {type(error).__name__}: {error}")

    def _start(self, config: DictConfig) -> None:
        from hydra.core.global_hydra import GlobalHydra
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        run_dir = Path(config.hydra.sweep.dir)
        _cli().check_writable(run_dir)
        _cli().check_writable(cell_store(run_dir, OmegaConf.select(config, "study.name")))
        block = config.get("study")
        study = dict(OmegaConf.to_container(block, resolve=True)) if block is not None else {}  # type: ignore[arg-type]
        try:
            check_study(study, _sweep_axes(config), "study")
        except ConfigError as error:
            _cli().fail(str(error))
        cells = _sweep_cells(config)
        loader = GlobalHydra.instance().config_loader()
        composed: dict[tuple[str, ...], DictConfig] = {}
        seeds = set()
        notes = set()
        ahead: list[Cell] = []
        for overrides in cells:
            try:
                job_cfg = loader.load_sweep_config(config, overrides)
                cell_config = _cli().to_simulation_config(job_cfg)
                notes.add(check_resources(cell_config))
                seeds.add(cell_config.seed)
                sets = _cli().ensemble_sets(job_cfg)
                cohort = _cli().ensemble_cohort(job_cfg, cell_config)
                key = config_hash(cohort, sets)
                store = cell_store(run_dir, OmegaConf.select(config, "study.name")) / key
                ahead.append(Cell(key, cohort, sets, store, _task_overrides(job_cfg.hydra.overrides.task)))
            except (ConfigError, HydraException, OmegaConfBaseException) as error:
                _cli().fail(f"cell {' '.join(overrides)}: {error}")
            composed[tuple(overrides)] = job_cfg
        available = available_memory()
        if not ahead:
            CellsAhead.dismiss()
        elif not runs_cells_here(config):
            CellsAhead.dismiss()  # the launcher runs the cells elsewhere
        elif available is not None and 2 * max(memory_needed(c.config) for c in ahead) > available:
            CellsAhead.dismiss()  # two cells at once would not fit in memory: one at a time
        else:
            CellsAhead.start(ahead)  # cells run in this process: a worker takes some of them
        for note in sorted(n for n in notes if n):
            print(f"each cell: {note}", flush=True)
        ReusedCompositions.install(loader, config, composed)
        swept = [
            o.get_key_element()
            for o in OverridesParser.create().parse_overrides(
                [f"{k}={v}" for k, v in dict(config.hydra.sweeper.params or {}).items()]
                + [o for o in config.hydra.overrides.task if "," in o.partition("=")[2]]
            )
            if o.is_sweep_override()
        ]
        study.setdefault("name", run_dir.parent.name)
        study["dims"] = list(dict.fromkeys(k.lstrip("+~") for k in swept if k.lstrip("+~") != "seed"))
        study["cells"] = len(cells)
        study["seeds"] = sorted(seeds)
        study["horizon_weeks"] = int(config.horizon_weeks)
        study["n_alliances"] = int(config.n_alliances)
        study["command_overrides"] = list(config.hydra.overrides.task)
        self.lock = claim_folder(run_dir, study)
        write_whole(run_dir / STUDY_FILE, json.dumps(study, indent=2) + "\n")
        print(
            f"study {study['name']}: {len(cells)} cells, seeds {study['seeds']}, results in {run_dir}",
            flush=True,
        )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from hydra.core.global_hydra import GlobalHydra

        if GlobalHydra.instance().is_initialized():
            ReusedCompositions.remove(GlobalHydra.instance().config_loader())
        run_dir = Path(config.hydra.sweep.dir)
        try:
            self._report(config, run_dir)
        except StudyError as error:
            _cli().fail(str(error), code=1)
        except Exception:  # Hydra would only warn and exit 0; the finished cells stay in place
            traceback.print_exc()
            print(
                f"alliance-sim: error: the study's report failed (its cells are kept in {run_dir}); "
                f"after a fix, rebuild it with: alliance-sim-report {run_dir}",
                file=sys.stderr,
            )
            sys.exit(1)
        finally:  # the study is done with its folder: another run may use it from here on
            lock = getattr(self, "lock", None)
            if lock is not None:
                _release(lock, os.getpid())
        cells = len(_sweep_cells(config))
        finished = len(list(run_dir.glob(f"cells/*/{CELL_FILE}")))
        if finished < cells:  # failed, or could not even record their failure
            _cli().fail(
                f"{cells - finished} of {cells} cells did not finish (see failures.csv and the cells' "
                f"failure.json in {run_dir}); running the same command again computes only those",
                code=1,
            )

    def _report(self, config: DictConfig, run_dir: Path) -> None:
        try:
            text = build_report(run_dir, CellsAhead.figures_elsewhere)
        finally:
            CellsAhead.stop()
        base = _cli().to_simulation_config(config)  # the settings every cell shares, before its overrides
        extra = {
            "study": str(json.loads((run_dir / STUDY_FILE).read_text()).get("name", run_dir.parent.name)),
            "model": model_fingerprint(),
            "cells": len(_sweep_cells(config)),
        }
        (run_dir / "provenance.json").write_text(json.dumps(provenance(base, extra), indent=2) + "\n")
        print(text, flush=True)
