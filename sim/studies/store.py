"""The cell store of the studies: finished cells kept by their configuration and model code.

A study's cells are kept in ``results/<study>/.cells/<key>/``, where the key is a hash of
the cell's validated configuration (and its ensemble's parameter sets) and of the model's
source (:func:`config_hash`); a cell computed by other model code is never reused, while an
edit to the command line, the analysis, the classroom or the stress test keeps every
finished cell (:data:`NOT_THE_MODEL`). A cell is written aside and moved in whole, with a
checksum of every file (``done.json``), so a killed study leaves no half-written cell and a
damaged one is computed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from sim.analysis.output import write_results
from sim.params import SimulationConfig
from sim.runner import run_cohort

PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The package's source: the model fingerprint reads it."""

NOT_THE_MODEL = (
    "cli/",
    "studies/",
    "validation.py",
    "config.py",
    "defaults.py",
    "analysis/",
    "classroom/",
    "stress/",
)
"""Paths in the package (a file, or a folder ending in /) that are not the model: the command
line, composition and checks of input (a cell is keyed by its validated configuration), the
analysis, the classroom and the stress test. Changing them never invalidates a finished cell."""


def is_model_source(relative: str) -> bool:
    """Whether the package file at ``relative`` (a POSIX path inside ``sim/``) is model code."""
    return not any(
        relative.startswith(entry) if entry.endswith("/") else relative == entry for entry in NOT_THE_MODEL
    )


def simulate(config: SimulationConfig, sets: list[dict[str, Any]] | None, progress: Any = None) -> Any:
    """One cohort, or the same cohort under every parameter set of an ensemble."""
    if sets is None:
        return run_cohort(config, progress=progress)
    from sim.analysis.ensemble import run_ensemble

    return run_ensemble(config, sets, progress=progress)


def model_fingerprint() -> str:
    """Hash of the model's source (every module of the package, sub-packages included, but those
    of ``NOT_THE_MODEL``): cells computed by other model code are never reused."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = path.relative_to(PACKAGE_DIR).as_posix()
        if is_model_source(name):
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def config_hash(config: SimulationConfig, sets: list[dict[str, Any]] | None = None) -> str:
    """Identity of a cell: its validated parameters (and the ensemble's, if any) and the model
    code that runs them."""
    content: dict[str, Any] = {"config": config.to_dict(), "model": model_fingerprint()}
    if sets is not None:
        content["ensemble"] = sets
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


DONE_FILE = "done.json"
"""Written last into a finished cell of the store: its config hash and a checksum of each file."""


def compute_cell(
    config: SimulationConfig, sets: list[dict[str, Any]] | None, store: Path, key: str, overrides: dict
) -> None:
    """Simulate a cell and put its results into the store (written aside, then moved in)."""
    result = simulate(config, sets)
    staging = store.with_name(f".{key}.{os.getpid()}.tmp")  # one cell at a time per process
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_results(result, staging, {"overrides": overrides})
        files = {p.name: file_digest(p) for p in sorted(staging.iterdir()) if p.is_file()}
        (staging / DONE_FILE).write_text(json.dumps({"config_hash": key, "files": files}) + "\n")
        install_cell(staging, store, key)
    except BaseException:  # a full disk, an interrupt: no half-written folder stays in the store
        shutil.rmtree(staging, ignore_errors=True)
        raise


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def cell_is_intact(store: Path, key: str) -> bool:
    """Whether a stored cell can be reused: its done.json names this cell, and every file it
    lists is there with the checksum recorded when the cell was written. A truncated, garbled,
    missing or swapped-in file makes the cell be computed again."""
    try:
        done = json.loads((store / DONE_FILE).read_text())
        files = done["files"]
        return (
            done["config_hash"] == key
            and isinstance(files, dict)
            and "alliances.parquet" in files
            and all(file_digest(store / name) == digest for name, digest in files.items())
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def install_cell(staging: Path, store: Path, key: str) -> None:
    """Move a freshly written cell into the store, replacing a damaged one (atomic per rename:
    a killed job leaves no half-written cell; a cell another worker finished first is kept)."""
    for _ in range(3):
        try:
            staging.rename(store)
            return
        except OSError:
            if cell_is_intact(store, key):
                shutil.rmtree(staging, ignore_errors=True)  # another worker finished it first
                return
            aside = store.with_name(f".{key}.{os.getpid()}.damaged")
            shutil.rmtree(aside, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                store.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
    raise OSError(f"cannot put the computed cell into {store}")
