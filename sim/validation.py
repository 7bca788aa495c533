"""Checks of what a person types or writes, before any long work starts.

Every function here raises :class:`~sim.params.ConfigError` with a message
naming the key or file, the value and what is allowed; the command line turns
it into one line on stderr and a non-zero exit. Covered:

* overrides (:func:`check_parsed`, fed by :mod:`sim.config`'s parser or, on the command
  line, by Hydra's): unknown keys with the closest valid ones, unknown options and
  studies, values of the wrong type (``governance.shared_kpis=1`` is not a truth value);
* study files: see :mod:`sim.studies.files`;
* resources (:func:`check_resources`): the memory a cohort needs against what
  the machine has, and a time estimate for long runs.

Nothing here imports Hydra (the command line parses its overrides with Hydra and checks
them here: :func:`sim.cli.hydra_support.check_overrides`).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.defaults import GROUPS, data_dir, options
from sim.params import ConfigError, Engine, SimulationConfig, _check_value

EXPERIMENT_DIR = data_dir("experiments")
CLI_SETTINGS: dict[str, Any] = {"progress": bool, "ensemble.file": str, "ensemble.alliances_per_set": int}
"""Keys that steer the command line, not the model, with their types."""
CLI_GROUPS = ("ensemble",)
"""Config groups that steer the command line, not the model (``ensemble=calibrated``)."""
SHOWN = 60
"""Characters of a user's key or value repeated in a message (a 5,000-character key is cut)."""


def show(text: Any) -> str:
    """A user's key or value as a message repeats it: cut after ``SHOWN`` characters."""
    text = str(text)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text)} characters)"


_show = show


def settings() -> dict[str, tuple[Any, Mapping[str, Any]]]:
    """Every setting as its dotted key -> (type, range metadata)."""
    out: dict[str, tuple[Any, Mapping[str, Any]]] = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            annotation = hints[f.name]
            if dataclasses.is_dataclass(annotation):
                walk(annotation, f"{f.name}.")  # type: ignore[arg-type]
            else:
                out[f"{prefix}{f.name}"] = (annotation, f.metadata)

    walk(SimulationConfig, "")
    return out


def study_names() -> list[str]:
    return sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml"))


def closest(key: str, candidates: list[str]) -> list[str]:
    """The valid keys a misspelt one most likely meant (best first)."""
    return difflib.get_close_matches(key, candidates, n=3, cutoff=0.6)


def unknown_key(key: str) -> ConfigError:
    """An error for a key that is no setting: the closest valid keys, then every allowed one."""
    known = [*settings(), *GROUPS, *CLI_GROUPS, *CLI_SETTINGS, "experiment", "study.name"]
    group, _, _ = key.partition(".")
    if group in GROUPS:
        allowed = [k for k in settings() if k.startswith(f"{group}.")]
    elif group in CLI_GROUPS:
        allowed = [k for k in CLI_SETTINGS if k.startswith(f"{group}.")]
    else:
        top = [k for k in CLI_SETTINGS if "." not in k]
        allowed = [*(k for k in settings() if "." not in k), *GROUPS, *CLI_GROUPS, *top, "+experiment"]
        allowed += [f"{g}.<setting>" for g in GROUPS]
    guess = closest(key, known)
    hint = f"did you mean {' or '.join(guess)}? " if guess else ""
    return ConfigError(f"unknown key {_show(key)}: {hint}allowed keys are {', '.join(allowed)}")


def check_value(key: str, value: Any) -> None:
    """One value of a setting, as the model's typed parameters would check it."""
    if key in CLI_SETTINGS:
        kind = CLI_SETTINGS[key]
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{key} = {_show(repr(value))}: must be true or false")
        if (
            kind is int
            and value is not None
            and (isinstance(value, bool) or not isinstance(value, int) or value < 1)
        ):
            raise ConfigError(
                f"{key} = {_show(repr(value))}: must be an integer >= 1 (or null: every alliance)"
            )
        if kind is str and not isinstance(value, str):
            raise ConfigError(f"{key} = {_show(repr(value))}: must be a file name")
        return
    if key in GROUPS or key in CLI_GROUPS:
        if not isinstance(value, str) or value not in options(key):
            raise ConfigError(f"{key} = {_show(value)}: allowed options are {', '.join(options(key))}")
        return
    annotation, meta = settings()[key]
    if annotation is str and isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # Hydra reads name=2026 as a number; the schema keeps it as text
    _check_value(key, value, annotation, meta)


def check_parsed(
    overrides: Sequence[tuple[str, str, str, Sequence[Any]]], studies: list[str] | None = None
) -> None:
    """Check parsed overrides, each ``(text, prefix, key, values)``: the command line's (parsed
    by Hydra, sweeps included) and :func:`sim.config.load_config`'s give the same errors."""
    known = settings()
    studies = study_names() if studies is None else studies
    in_a_study = any(key == "experiment" for _, _, key, _ in overrides)
    for _text, prefix, key, values in overrides:
        if key.startswith("hydra.") or key.startswith("hydra/") or key == "hydra":
            continue  # Hydra's own settings (launcher, run dir, ...), checked by Hydra
        if prefix == "~":
            raise ConfigError(f"~{_show(key)}: settings cannot be deleted, only changed (key=value)")
        if key.startswith("study."):
            if not in_a_study:
                raise ConfigError(
                    f"{_show(key)}: the study block exists only in a study (-m +experiment=<study> {key}=...)"
                )
            continue  # checked with the whole study block (sim.studies.files.check_study)
        if key == "experiment":
            for value in values:
                if str(value) not in studies:
                    raise ConfigError(f"+experiment = {_show(value)}: studies are {', '.join(studies)}")
            continue
        if key not in known and key not in GROUPS and key not in CLI_GROUPS and key not in CLI_SETTINGS:
            raise unknown_key(key)
        for value in values:
            check_value(key, value)


def check_resources(config: SimulationConfig, available: int | None = None) -> str | None:
    """Refuse a cohort that cannot fit in memory; return a note when it will take long.

    The estimate scales the measured footprint of the cohort engine (about
    four copies of an alliance's state record, plus the event log) with the
    cohort's size; it errs on the high side.
    """
    n, weeks = config.n_alliances, config.horizon_weeks
    partners = config.alliance.n_partners
    needed = memory_needed(config)
    available = available_memory() if available is None else available
    if available is not None and needed > available:
        raise ConfigError(
            f"n_alliances = {n} over horizon_weeks = {weeks}: needs about {needed / 2**30:.1f} GiB of memory, "
            f"the machine has {available / 2**30:.1f} GiB available; run fewer alliances per cell "
            "(a study can split them over seeds)"
        )
    seconds = n * weeks * partners / 2 * 1.5e-6 / max(1, min(os.cpu_count() or 1, 8)) * 2
    if config.engine is Engine.MESA:
        seconds *= 150
    if seconds > 60:
        return (
            f"estimated run time: up to about {math.ceil(seconds / 60)} min ({n} alliances x {weeks} weeks)"
        )
    return None


def memory_needed(config: SimulationConfig) -> int:
    """Bytes a process simulating the cohort needs, on the high side (see check_resources)."""
    from sim.state import AllianceState, record_dtype

    itemsize = record_dtype(AllianceState, config.alliance.n_partners).itemsize
    return config.n_alliances * (4 * itemsize + 2 * config.horizon_weeks) + 300 * 2**20


def available_memory() -> int | None:
    """Memory the machine can give a new job (bytes), or None when it cannot be told."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_workers(workers: int, config: SimulationConfig, option: str = "--workers") -> None:
    """Refuse more worker processes than the machine has cores, or memory for (each simulates
    a cohort like ``config``), naming the option, the value and the limit."""
    cores = usable_cores()
    available = available_memory()
    by_memory = cores if available is None else max(1, available // memory_needed(config))
    limit = min(cores, by_memory)
    if workers > limit:
        memory = "" if available is None else f", {available / 2**30:.1f} GB of memory available"
        raise ConfigError(
            f"{option} = {workers}: at most {limit} on this machine ({cores} cores{memory}; "
            f"each worker needs about {memory_needed(config) / 2**20:.0f} MB)"
        )


# ------------------------------------------------------------------ study files


__all__ = [
    "check_parsed",
    "check_resources",
    "check_value",
    "settings",
]
