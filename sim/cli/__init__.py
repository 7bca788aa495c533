"""The ``alliance-sim`` command line: the project's Hydra code lives in this package alone.

``alliance-sim [overrides]`` composes ``configs/`` with Hydra, validates it into a
:class:`~sim.params.SimulationConfig`, simulates one cohort, prints a summary and writes the
result tables into the Hydra run directory; ``alliance-sim -m +experiment=<study>`` runs a
study (:mod:`sim.cli.study`). Hydra's structured-config schema is generated from the frozen
dataclasses in :mod:`sim.params` and the studies are a config group
(:mod:`sim.cli.hydra_support`, where every adaptation of Hydra is), so a misspelt key or a
value of the wrong type is rejected while composing, before anything runs.

``configs/`` and the studies in ``experiments/`` are read from the installed package (a
built wheel carries copies of both, see ``setup.py``) or, when the package runs from a
checkout, from the checkout's own folders.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import typing
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from sim import folders
from sim.analysis.output import write_results
from sim.analysis.summaries import format_summary
from sim.cli.hydra_support import EXPERIMENT_GROUP, mirror_schema
from sim.defaults import CHECKOUT, data_dir
from sim.engines import threads
from sim.params import ConfigError, SimulationConfig
from sim.pipes import say
from sim.studies.files import check_study_file
from sim.studies.scheduler import CellsAhead
from sim.studies.store import simulate
from sim.validation import check_resources

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT = CHECKOUT
"""The checkout, when the package runs from one (the scripts in experiments/ write results/ there)."""

CONFIG_DIR = data_dir("configs")
EXPERIMENT_DIR = data_dir("experiments")
"""The studies (``+experiment=<name>``); Hydra's search path reads it when it composes."""
CLI_KEYS = ("progress", "study", "ensemble")
"""Top-level keys that steer the command line, not the model."""

__all__ = ["CONFIG_DIR", "EXPERIMENT_DIR", "ROOT", "console_main", "hydra_compose", "main", "mirror_schema"]


def study_names() -> list[str]:
    """The studies that ``+experiment=<name>`` selects (file names only; nothing is parsed)."""
    return sorted(p.stem for p in EXPERIMENT_DIR.glob("*.yaml"))


def to_simulation_config(cfg: DictConfig) -> SimulationConfig:
    """Validate a composed Hydra config into the model's typed parameters."""
    skip = {*CLI_KEYS, "hydra", EXPERIMENT_GROUP}
    data: dict[str, Any] = {
        str(key): OmegaConf.to_container(cfg[key], resolve=True)
        if OmegaConf.is_config(cfg[key])
        else cfg[key]
        for key in cfg
        if key not in skip
    }
    return SimulationConfig.from_dict(data)


def hydra_compose(overrides: list[str] | None = None) -> SimulationConfig:
    """Compose ``configs/`` with overrides through Hydra, as the command line does, and validate
    it. It enters Hydra's process-wide state: one composition at a time, for the command line
    and for the tests that check :func:`sim.config.load_config` gives the same configuration.
    Everything else calls :func:`sim.config.load_config`."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from sim.cli.hydra_support import check_overrides

    check_overrides(list(overrides or []), studies=study_names())
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides or [])
    except (HydraException, OmegaConfBaseException) as error:  # what the checks above did not foresee
        raise ConfigError(f"overrides {' '.join(overrides or [])}: {error}") from None
    return to_simulation_config(cfg)


def ensemble_sets(cfg: DictConfig) -> list[dict[str, Any]] | None:
    """The parameter sets ``ensemble=calibrated`` names (None for ``ensemble=none``)."""
    node = cfg.get("ensemble")
    if node is None or node.get("name", "none") == "none":
        return None
    from sim.analysis.ensemble import load_ensemble, parameter_sets

    if not node.get("file"):
        raise ConfigError(f"ensemble.file = {node.get('file')!r}: must name an ensemble CSV file")
    path = Path(str(node.get("file")))
    return parameter_sets(load_ensemble(path if path.is_absolute() else ROOT / path))


def ensemble_cohort(cfg: DictConfig, config: SimulationConfig) -> SimulationConfig:
    """Under an ensemble, the cohort each parameter set simulates: at most
    ``ensemble.alliances_per_set`` alliances (the sets' spread, not the cohort's size, is then
    most of what is uncertain; see the summary's variance shares)."""
    node = cfg.get("ensemble")
    limit = None if node is None or node.get("name", "none") == "none" else node.get("alliances_per_set")
    if limit is None:
        return config
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"ensemble.alliances_per_set = {limit!r}: must be an integer >= 1 (or null: all)")
    return config.replace(n_alliances=min(config.n_alliances, limit))


def discard_run_dir(out_dir: Path) -> None:
    """Remove the run folder Hydra made for a run that stopped before it ran (it holds only
    Hydra's record of the configuration), and the dated folders above it left empty."""
    import shutil

    if not out_dir.is_dir() or any(p.name not in (".hydra", "main.log") for p in out_dir.iterdir()):
        return
    shutil.rmtree(out_dir, ignore_errors=True)
    if out_dir.parent.parent.name != "outputs":  # a folder the user named: its parents are theirs
        return
    for parent in list(out_dir.parents)[:2]:  # outputs/<date>/ and outputs/, when empty
        try:
            parent.rmdir()
        except OSError:
            break


def check_jobs(value: str) -> None:
    """``hydra.launcher.n_jobs``: -1 (every core) or a number of processes the machine has
    cores for."""
    from sim.validation import usable_cores

    cores = usable_cores()
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs != -1 and not 1 <= jobs <= cores:
        raise ConfigError(
            f"hydra.launcher.n_jobs = {value[:20]!r}: must be -1 (every core) or from 1 to {cores} "
            f"(the cores of this machine)"
        )


def check_ray_cluster(address: str, timeout: float = 3.0) -> None:
    """Stop, naming what to set, unless a Ray cluster answers at ``address`` (``host:port``, or
    ``auto``: the cluster this machine last started), before the study composes anything."""
    import socket

    how = "start one with `ray start --head` and set RAY_ADDRESS=<head>:6379 (configs/hydra/launcher/ray_cluster.yaml)"
    if address in ("", "auto"):
        current = Path(os.environ.get("RAY_TMPDIR", "/tmp"), "ray", "ray_current_cluster")
        if not current.exists():
            raise ConfigError(
                f"hydra/launcher=ray_cluster: RAY_ADDRESS is not set and no Ray cluster runs here; {how}"
            )
        address = current.read_text().strip()
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"RAY_ADDRESS = {address!r}: must be host:port of the cluster's head; {how}")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ConfigError(
            f"hydra/launcher=ray_cluster: no Ray cluster answers at {address} ({error.strerror or error}); {how}"
        ) from None


def fail(message: str, code: int = 2) -> typing.NoReturn:
    print(f"alliance-sim: error: {message}", file=sys.stderr)
    sys.exit(code)


def fail_interrupted(message: str) -> typing.NoReturn:
    """Stop after Ctrl-C with exit status 130 and one line.

    Under ``python -m``, CPython ends the process by SIGINT instead of the exit status asked for
    whenever a KeyboardInterrupt once ended code compiled from a string (``dataclasses`` and
    ``collections.namedtuple`` build their methods that way, so a Ctrl-C during an import can
    land there), even if the interrupt was caught. A string evaluation that ends normally clears
    that record, so the status given here is the one the shell sees.
    """
    exec("pass", {})  # clears the interpreter's record of an uncaught interrupt
    fail(message, code=130)


def check_writable(folder: Path | str, option: str = "the output folder") -> None:
    """Stop, naming the folder, unless results can be written into it (before any work)."""
    try:
        folders.check_writable(folder, option)
    except folders.FolderError as error:
        fail(str(error))


def save_results(result: Any, out_dir: Path, extra: dict[str, Any]) -> dict:
    """Write a run's results; if that fails (a full disk, a folder made read-only meanwhile),
    keep the computed cohort in a temporary folder and stop, naming both."""
    try:
        return folders.write_or_rescue(
            lambda d: write_results(result, d, extra), out_dir, "alliance-sim-results-"
        )
    except folders.FolderError as error:
        fail(str(error), code=1)


class WeekProgress:
    """A progress bar over simulated weeks (quiet when disabled or not on a terminal)."""

    def __init__(self, enabled: bool, horizon: int, label: str, unit: str = "wk") -> None:
        from tqdm import tqdm

        on_terminal = sys.stderr.isatty()  # a log file or a pipe gets no bar redrawn in it
        self.bar = tqdm(
            total=horizon,
            desc=label,
            unit=unit,
            disable=not (enabled and on_terminal),
            leave=False,
            file=sys.stderr,
        )

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict:
    """Simulate one cohort under one design and write its results (one cell of a study in a multirun)."""
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    if HydraConfig.get().mode is RunMode.MULTIRUN:
        from sim.cli.study import run_cell

        return run_cell(cfg)
    study = cfg.get("study")
    if study:  # a study file selected without -m would run one cell of it and stop
        name = study.get("name") or "the study"
        discard_run_dir(Path(HydraConfig.get().runtime.output_dir))
        fail(
            f"+experiment selects a study ({name}), which sweeps many cells: add -m to run it, "
            f"e.g. alliance-sim -m {' '.join(HydraConfig.get().overrides.task)}"
        )
    try:
        config = to_simulation_config(cfg)
        sets = ensemble_sets(cfg)
        config = ensemble_cohort(cfg, config)
        note = check_resources(config)
    except ConfigError as error:
        discard_run_dir(Path(HydraConfig.get().runtime.output_dir))
        fail(str(error))
    if note:
        say(note)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    check_writable(out_dir)
    label = f"{config.governance.name}/{config.alliance.type.value}"
    steps = config.horizon_weeks if sets is None else len(sets)
    bar = WeekProgress(bool(cfg.get("progress", True)), steps, label, unit="wk" if sets is None else "set")
    try:
        result = simulate(config, sets, progress=bar)
    finally:
        bar.close()
    overrides = list(HydraConfig.get().overrides.task)
    summary = save_results(result, out_dir, {"overrides": overrides})
    title = (
        f"{config.n_alliances} {config.alliance.type.value} alliances, governance={config.governance.name}, "
        f"scenario={config.scenario.name}, launch={config.launch.mode.value}, seed={config.seed}, "
        f"{config.horizon_weeks} weeks"
        + ("" if sets is None else f", under each of {len(sets)} calibrated parameter sets")
    )
    say(format_summary(summary, title), f"results: {out_dir}")
    return summary


def console_main() -> None:
    """The ``alliance-sim`` command: :func:`main`, then a quick exit.

    The process ends right after the run, so whatever is still alive is
    frozen out of the garbage collector first: the interpreter's exit then
    skips a final scan of every object of the run (most of a second after a
    study). Exit handlers (logging, launchers) run as usual.
    """
    from sim.cli.hydra_support import check_overrides, command_line_arguments, parse_overrides
    from sim.pipes import reader_gone

    try:
        args = command_line_arguments()
        if not (args.help or args.hydra_help or args.info or args.shell_completion):
            threads()  # a bad ALLIANCE_SIM_THREADS stops here, before any run
            check_overrides(args.overrides, studies=study_names())
            for override in parse_overrides(args.overrides):
                if override.get_key_element().lstrip("+~") == "experiment":
                    if override.is_sweep_override():
                        fail(
                            f"{override.input_line}: one study at a time (each writes its own folder); "
                            "run each study with its own command"
                        )
                    check_study_file(EXPERIMENT_DIR / f"{override.value()}.yaml")
            for override in args.overrides:
                key, _, value = override.partition("=")
                if key in ("hydra.run.dir", "hydra.sweep.dir"):
                    check_writable(value, key)
            for override in args.overrides:
                key, _, value = override.partition("=")
                if key == "hydra.launcher.n_jobs":
                    check_jobs(value)
            if "hydra/launcher=ray_cluster" in args.overrides:
                check_ray_cluster(os.environ.get("RAY_ADDRESS", "auto"))
            if args.multirun and not any(o.startswith("hydra/launcher=") for o in args.overrides):
                CellsAhead.spawn()  # loads while Hydra composes the study
        main()
        sys.stdout.flush()
    except ConfigError as error:
        fail(str(error))
    except BrokenPipeError:  # the reader of the output went away (| head): the run is written
        reader_gone()
    except ConnectionError as error:  # a launcher that could not reach its cluster
        fail(f"cannot reach the cluster the launcher runs the cells on: {error}")
    except KeyboardInterrupt:
        # A study's finished cells stay in its cell store; rerunning the command resumes it.
        fail_interrupted("interrupted; finished cells are kept, and running the same command again resumes")
    finally:
        gc.freeze()
