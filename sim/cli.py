"""The ``alliance-sim`` command line: the project's only Hydra code.

``alliance-sim [overrides]`` composes ``configs/``, validates it into a
:class:`~sim.params.SimulationConfig`, simulates one cohort, prints a summary
and writes the result tables into the Hydra run directory.

The structured-config schema registered here is generated from the frozen
dataclasses in :mod:`sim.params`, so a misspelt key or a value of the wrong
type is rejected by Hydra while composing, before anything runs; ranges and
enumerations are then checked by the dataclasses themselves.

``configs/`` and the studies in ``experiments/`` are read from the installed
package (a built wheel carries copies of both, see ``setup.py``) or, when the
package runs from a checkout, from the checkout's own folders.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import dataclasses
import enum
import gc
import hashlib
import itertools
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.object_type import ObjectType
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.experimental.callback import Callback
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from sim.analysis.studies import CELL_FILE, FAILURE_FILE, STUDY_FILE, build_report, cell_store
from sim.analysis.summaries import format_summary
from sim.defaults import CHECKOUT, data_dir
from sim.engines import threads
from sim.params import ConfigError, Section, SimulationConfig
from sim.runner import provenance, run_cohort, write_results
from sim.validation import available_memory, check_resources, check_study, memory_needed

PACKAGE_DIR = Path(__file__).resolve().parent
ROOT = CHECKOUT
"""The checkout, when the package runs from one (the scripts in experiments/ write results/ there)."""

CONFIG_DIR = data_dir("configs")
EXPERIMENT_DIR = data_dir("experiments")
EXPERIMENT_GROUP = "experiment"
CLI_KEYS = ("progress", "study", "ensemble")
"""Top-level keys that steer the command line, not the model."""
NOT_THE_MODEL = (
    "cli.py",
    "cell_worker.py",
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


def _schema_type(annotation: Any) -> Any:
    """OmegaConf-friendly type: enums become strings (validated later, with their allowed values)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is not None and len(args) == 1:
        return _schema_type(args[0]) | None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str
    return annotation


def mirror_schema(cls: type[Section], extra: list[tuple[str, Any, Any]] | None = None) -> type:
    """A mutable dataclass with the same fields and defaults as ``cls``, for OmegaConf."""
    hints = typing.get_type_hints(cls)
    instance = cls()
    fields: list[tuple[str, Any, Any]] = []
    for f in dataclasses.fields(cls):
        annotation = hints[f.name]
        default = getattr(instance, f.name)
        if dataclasses.is_dataclass(annotation):
            sub = mirror_schema(annotation)  # type: ignore[arg-type]
            fields.append((f.name, sub, dataclasses.field(default_factory=sub)))
        else:
            value = default.value if isinstance(default, enum.Enum) else default
            fields.append((f.name, _schema_type(annotation), dataclasses.field(default=value)))
    for name, typ, default in extra or []:
        fields.append((name, typ, dataclasses.field(default=default)))
    return dataclasses.make_dataclass(f"{cls.__name__}Schema", fields)


ConfigStore.instance().store(
    name="config_schema",
    node=mirror_schema(
        SimulationConfig,
        extra=[
            ("progress", bool, True),
            ("study", dict[str, Any] | None, None),
            ("ensemble", dict[str, Any] | None, None),
        ],
    ),
)


class StudyConfigSource(ConfigSource):
    """Hydra's view of ``experiments/``: ``<name>.yaml`` there is the option ``+experiment=<name>``.

    Studies live beside their code in ``experiments/`` rather than in a
    ``configs/experiment/`` group folder; this source presents them to Hydra
    as that group. A study file is read only when its study is selected, so a
    broken file breaks only the runs that use it. Each file lists only what it
    changes, at the top level: the package is ``_global_`` unless the file's
    header says otherwise.
    """

    @staticmethod
    def scheme() -> str:
        return "alliance-studies"

    def _file(self, config_path: str) -> Path | None:
        group, _, name = config_path.strip("/").partition("/")
        if group != EXPERIMENT_GROUP or not name or "/" in name:
            return None
        return Path(self.path) / self._normalize_file_name(name)

    def load_config(self, config_path: str) -> ConfigResult:
        path = self._file(config_path)
        if path is None or not path.is_file():
            raise ConfigLoadError(f"Study not found: {config_path} (in {self.path})")
        with path.open(encoding="utf-8") as f:
            header = self._get_header_dict(f.read(512))
            f.seek(0)
            config = OmegaConf.load(f)
        header["package"] = header.get("package") or "_global_"
        return ConfigResult(config=config, path=self.full_path(), provider=self.provider, header=header)

    def available(self) -> bool:
        return Path(self.path).is_dir()

    def is_group(self, config_path: str) -> bool:
        return config_path.strip("/") in ("", EXPERIMENT_GROUP) and self.available()

    def is_config(self, config_path: str) -> bool:
        path = self._file(config_path)
        return path is not None and path.is_file()

    def list(self, config_path: str, results_filter: ObjectType | None) -> list[str]:
        config_path = config_path.strip("/")
        if not self.available():
            return []
        if config_path == "":
            return [EXPERIMENT_GROUP] if results_filter in (None, ObjectType.GROUP) else []
        if config_path != EXPERIMENT_GROUP or results_filter not in (None, ObjectType.CONFIG):
            return []
        return sorted(p.stem for p in Path(self.path).glob("*.yaml"))


class StudySearchPath(SearchPathPlugin):
    """Adds the studies to every Hydra config search path (the command line and :func:`load_config`)."""

    def manipulate_search_path(self, search_path: Any) -> None:
        search_path.append(provider="alliance-sim", path=f"{StudyConfigSource.scheme()}://{EXPERIMENT_DIR}")


def cell_dir_name(overrides: str, limit: int = 200) -> str:
    """A cell's folder name: its overrides, or, when they would make a name too long for the
    file system (255 bytes), their beginning and a hash of the whole."""
    if len(overrides.encode()) <= limit:
        return overrides
    digest = hashlib.sha256(overrides.encode()).hexdigest()[:16]
    return f"{overrides.encode()[: limit - 20].decode(errors='ignore')}...{digest}"


if not OmegaConf.has_resolver("cell_dir"):
    OmegaConf.register_new_resolver("cell_dir", cell_dir_name)


def _register_with_hydra() -> None:
    """Register the studies' config source and search path, once per process (under
    ``python -m sim.cli`` this module runs twice: as ``__main__`` and as ``sim.cli``)."""
    plugins = Plugins.instance()
    if all(cls.__name__ != StudySearchPath.__name__ for cls in plugins.discover(SearchPathPlugin)):
        plugins.register(StudyConfigSource)
        plugins.register(StudySearchPath)


_register_with_hydra()


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

    from sim.validation import check_overrides

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


def simulate(config: SimulationConfig, sets: list[dict[str, Any]] | None, progress: Any = None) -> Any:
    """One cohort, or the same cohort under every parameter set of an ensemble."""
    if sets is None:
        return run_cohort(config, progress=progress)
    from sim.analysis.ensemble import run_ensemble

    return run_ensemble(config, sets, progress=progress)


def fail(message: str, code: int = 2) -> typing.NoReturn:
    print(f"alliance-sim: error: {message}", file=sys.stderr)
    sys.exit(code)


def check_writable(folder: Path) -> None:
    """Stop, naming the folder, unless results can be written into it (before any work).

    A folder that does not exist yet is checked at its nearest existing parent,
    and not created: nothing is left behind by a command that stops."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        fail(f"cannot write results into {folder}: {existing} is a file, not a folder")
    probe = existing / f".write-test.{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        fail(f"cannot write results into {folder}: {error.strerror or error} ({existing})")


def save_results(result: Any, out_dir: Path, extra: dict[str, Any]) -> dict:
    """Write a run's results; if that fails (a full disk, a folder made read-only meanwhile),
    keep the computed cohort in a temporary folder and stop, naming both."""
    import tempfile

    try:
        return write_results(result, out_dir, extra)
    except OSError as error:
        where = error.filename or out_dir
        try:
            rescue = Path(tempfile.mkdtemp(prefix="alliance-sim-results-"))
            write_results(result, rescue, extra)
            kept = f"the computed results are kept in {rescue}"
        except OSError:
            kept = "no other folder could take the computed results either"
        fail(f"cannot write {where}: {error.strerror or error}; {kept}", code=1)


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
        return run_cell(cfg)
    study = cfg.get("study")
    if study:  # a study file selected without -m would run one cell of it and stop
        name = study.get("name") or "the study"
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
        fail(str(error))
    if note:
        print(note, flush=True)
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
    print(format_summary(summary, title))
    print(f"results: {out_dir}")
    return summary


# ------------------------------------------------------------------ studies
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


_WATCHED = False


def leave_with_the_parent() -> None:
    """In a worker process of a launcher (joblib), end as soon as the process that started it
    is gone: a killed study must not leave workers computing for minutes. The main process
    (the serial launcher) is never watched."""
    global _WATCHED
    import multiprocessing
    import threading

    if _WATCHED or multiprocessing.parent_process() is None:
        return
    _WATCHED = True
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:  # re-parented: the study's process died
                os._exit(1)

    threading.Thread(target=watch, name="leave-with-the-parent", daemon=True).start()


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
        sets = ensemble_sets(cfg)
        config = ensemble_cohort(cfg, to_simulation_config(cfg))
        key = config_hash(config, sets)
        store = cell_store(run_dir.parent) / key
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
        (cell_dir / CELL_FILE).write_text(json.dumps(record, indent=2) + "\n")
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
            (cell_dir / FAILURE_FILE).write_text(json.dumps(failure, indent=2) + "\n")
        except OSError as unwritable:  # the study's end counts it as missing, and fails
            failure["error"] += f" (and its failure record could not be written: {unwritable})"
        print(f"{position} {label}: FAILED ({failure['error']})", flush=True)
        return failure


DONE_FILE = "done.json"
"""Written last into a finished cell of the store: its config hash and a checksum of each file."""


def compute_cell(
    config: SimulationConfig, sets: list[dict[str, Any]] | None, store: Path, key: str, overrides: dict
) -> None:
    """Simulate a cell and put its results into the store (written aside, then moved in)."""
    result = simulate(config, sets)
    staging = store.with_name(f".{key}.{os.getpid()}.tmp")  # one cell at a time per process
    shutil.rmtree(staging, ignore_errors=True)
    write_results(result, staging, {"overrides": overrides})
    files = {p.name: file_digest(p) for p in sorted(staging.iterdir()) if p.is_file()}
    (staging / DONE_FILE).write_text(json.dumps({"config_hash": key, "files": files}) + "\n")
    install_cell(staging, store, key)


@dataclasses.dataclass
class Cell:
    """What computing one cell of a study needs, known once the study has been composed."""

    key: str
    config: SimulationConfig
    sets: list[dict[str, Any]] | None
    store: Path
    overrides: dict[str, str]


class CellsAhead:
    """Cells of a study computed in a second process (:mod:`sim.cell_worker`), from the last
    one backwards, while Hydra's serial launcher runs them from the first: a study uses both
    cores of a laptop. The two meet in the middle; a cell the launcher reaches that the worker
    has taken is waited for, then reported as computed.

    ``alliance-sim -m`` starts the worker before Hydra composes the study (:meth:`spawn`), so
    that it loads while the study starts; it gets cells only once every cell has been
    validated (:meth:`start`). A thread of this process feeds it one cell at a time and waits
    for its answer (without holding the interpreter lock). Results are those of the serial
    launcher, bit for bit: each cell is computed whole, from its own configuration, into the
    same cell store. A cell the worker fails is computed again by the launcher, which records
    the failure as usual. ``ALLIANCE_SIM_THREADS=1`` (one core) starts no worker; nor does a
    launcher that runs cells elsewhere, or a study run in-process (``sim.cli.main``).
    """

    worker: typing.ClassVar[subprocess.Popen | None] = None
    running: typing.ClassVar[CellsAhead | None] = None

    def __init__(self, cells: list[Cell], worker: subprocess.Popen) -> None:
        self.cells = cells
        self.process = worker
        self.lock = threading.Lock()
        self.taken: dict[str, threading.Event] = {}  # by the worker
        self.done: dict[str, tuple[str, float] | None] = {}  # status, seconds; None: failed there
        self.launched: set[str] = set()  # by the launcher
        self.thread = threading.Thread(target=self.feed, name="cells-ahead", daemon=True)
        self.ready = threading.Event()  # loaded: a small study may finish before

    @classmethod
    def spawn(cls) -> None:
        """Start the worker (it loads, then waits for cells)."""
        if cls.worker is None and threads() > 1:
            cls.worker = subprocess.Popen(
                [sys.executable, "-m", "sim.cell_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            atexit.register(cls.dismiss)

    @classmethod
    def start(cls, cells: list[Cell]) -> None:
        """Hand the worker the study's cells (once all are valid)."""
        if cls.worker is None:
            return
        ahead = cls(cells, cls.worker)
        cls.running = ahead
        ahead.thread.start()

    def feed(self) -> None:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            if not json.loads(stdout.readline() or "{}").get("ready"):
                return
            self.ready.set()
            for cell in reversed(self.cells):
                with self.lock:
                    if cell.key in self.launched or cell.key in self.taken:
                        break  # met the launcher (or a repeated cell)
                    done = self.taken[cell.key] = threading.Event()
                try:
                    request = {
                        "key": cell.key,
                        "config": cell.config.to_dict(),
                        "sets": cell.sets,
                        "store": str(cell.store),
                        "overrides": cell.overrides,
                    }
                    stdin.write(json.dumps(request) + "\n")
                    stdin.flush()
                    reply = json.loads(stdout.readline() or "{}")
                    if reply.get("key") == cell.key and "status" in reply:
                        self.done[cell.key] = (reply["status"], reply["seconds"])
                finally:
                    done.set()
                if self.done.get(cell.key) is None:
                    break  # the worker failed: the launcher does the rest
        except (OSError, ValueError):  # the worker is gone: the launcher does the rest
            self.dismiss()

    @classmethod
    def figures_elsewhere(cls, folder: Path) -> Callable[[], list[Path] | None]:
        """Ask the worker for the study's figures (see ``build_report``); what this returns
        waits for them, and gives None if the worker could not draw them."""
        ahead, worker = cls.running, cls.worker
        if ahead is None or worker is None or worker.stdin is None or worker.stdout is None:
            return lambda: None
        if not ahead.ready.is_set():  # a small study, done before the worker had loaded
            cls.dismiss()
            return lambda: None
        ahead.thread.join()  # it has nothing left to say to the worker
        stdin, stdout = worker.stdin, worker.stdout
        try:
            stdin.write(json.dumps({"figures": str(folder)}) + "\n")
            stdin.flush()
        except (OSError, ValueError):
            return lambda: None

        def wait() -> list[Path] | None:
            try:
                made = json.loads(stdout.readline() or "{}").get("figures")
            except (OSError, ValueError):
                return None
            return [Path(p) for p in made] if made is not None else None

        return wait

    def wait_for(self, key: str) -> tuple[str, float] | None:
        """The cell's status (computed, or cached) and the worker's seconds on it, once it has
        finished it; None if it did not (not taken, or failed there): the launcher then
        computes the cell itself."""
        with self.lock:
            done = self.taken.get(key)
            if done is None:
                self.launched.add(key)
                return None
        done.wait()
        return self.done.get(key)

    @classmethod
    def dismiss(cls) -> None:
        """Stop the worker. At the end of a study it is idle (the launcher waited for every cell
        it took, and for the figures); a worker still loading is not needed any more."""
        worker, cls.worker = cls.worker, None
        if worker is None:
            return
        with contextlib.suppress(OSError, ValueError):
            if worker.stdin is not None:
                worker.stdin.close()
        worker.terminate()
        worker.wait()

    @classmethod
    def stop(cls) -> None:
        """After the study (every cell was launched or taken): the worker is not needed."""
        cls.running = None
        cls.dismiss()


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


class ReusedCompositions:
    """Hands Hydra's sweeper and launcher the cells that :class:`StudyCallback` composed already.

    Hydra composes every cell of a sweep three times in the launching process:
    in the callback (to validate the model's parameters before anything runs),
    in the sweeper (to check the composition) and in the launcher (to run the
    cell). Composition is deterministic, so the second and third receive
    copies of the first. Anything else (another master config, a cell not
    composed here, a job pickled off to another process) is composed by Hydra
    as usual.
    """

    def __init__(self, loader: Any, master: DictConfig, composed: dict[tuple[str, ...], DictConfig]) -> None:
        self.loader = loader
        self.master: DictConfig | None = master
        self.composed = composed

    def __call__(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        cached = self.composed.get(tuple(sweep_overrides)) if master_config is self.master else None
        if cached is None:
            return type(self.loader).load_sweep_config(self.loader, master_config, sweep_overrides)
        return copy.deepcopy(cached)  # the launcher and the job edit theirs

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "master": None, "composed": {}}

    @classmethod
    def install(cls, loader: Any, master: DictConfig, composed: dict[tuple[str, ...], DictConfig]) -> None:
        loader.load_sweep_config = cls(loader, master, composed)

    @staticmethod
    def remove(loader: Any) -> None:
        vars(loader).pop("load_sweep_config", None)


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
            fail(f"the study could not start: {type(error).__name__}: {error}")

    def _start(self, config: DictConfig) -> None:
        from hydra.core.global_hydra import GlobalHydra
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        run_dir = Path(config.hydra.sweep.dir)
        check_writable(run_dir)
        check_writable(cell_store(run_dir.parent))
        block = config.get("study")
        study = dict(OmegaConf.to_container(block, resolve=True)) if block is not None else {}  # type: ignore[arg-type]
        try:
            check_study(study, _sweep_axes(config), "study")
        except ConfigError as error:
            fail(str(error))
        cells = _sweep_cells(config)
        loader = GlobalHydra.instance().config_loader()
        composed: dict[tuple[str, ...], DictConfig] = {}
        seeds = set()
        notes = set()
        ahead: list[Cell] = []
        for overrides in cells:
            try:
                job_cfg = loader.load_sweep_config(config, overrides)
                cell_config = to_simulation_config(job_cfg)
                notes.add(check_resources(cell_config))
                seeds.add(cell_config.seed)
                sets = ensemble_sets(job_cfg)
                cohort = ensemble_cohort(job_cfg, cell_config)
                key = config_hash(cohort, sets)
                store = cell_store(run_dir.parent) / key
                ahead.append(Cell(key, cohort, sets, store, _task_overrides(job_cfg.hydra.overrides.task)))
            except (ConfigError, HydraException, OmegaConfBaseException) as error:
                fail(f"cell {' '.join(overrides)}: {error}")
            composed[tuple(overrides)] = job_cfg
        available = available_memory()
        if not ahead:
            CellsAhead.dismiss()
        elif "BasicLauncher" not in str(config.hydra.launcher.get("_target_", "")):
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
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / STUDY_FILE).write_text(json.dumps(study, indent=2) + "\n")
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
        except Exception:  # Hydra would only warn and exit 0; the finished cells stay in place
            traceback.print_exc()
            print(
                f"alliance-sim: error: the study's report failed (its cells are kept in {run_dir}); "
                f"after a fix, rebuild it with: alliance-sim-report {run_dir}",
                file=sys.stderr,
            )
            sys.exit(1)
        cells = len(_sweep_cells(config))
        finished = len(list(run_dir.glob(f"cells/*/{CELL_FILE}")))
        if finished < cells:  # failed, or could not even record their failure
            fail(
                f"{cells - finished} of {cells} cells did not finish (see failures.csv and the cells' "
                f"failure.json in {run_dir}); running the same command again computes only those",
                code=1,
            )

    def _report(self, config: DictConfig, run_dir: Path) -> None:
        try:
            text = build_report(run_dir, CellsAhead.figures_elsewhere)
        finally:
            CellsAhead.stop()
        base = to_simulation_config(config)  # the settings every cell shares, before its overrides
        extra = {
            "study": run_dir.parent.name,
            "model": model_fingerprint(),
            "cells": len(_sweep_cells(config)),
        }
        (run_dir / "provenance.json").write_text(json.dumps(provenance(base, extra), indent=2) + "\n")
        print(text, flush=True)


def console_main() -> None:
    """The ``alliance-sim`` command: :func:`main`, then a quick exit.

    The process ends right after the run, so whatever is still alive is
    frozen out of the garbage collector first: the interpreter's exit then
    skips a final scan of every object of the run (most of a second after a
    study). Exit handlers (logging, launchers) run as usual.
    """
    from hydra._internal.utils import get_args_parser

    from sim.validation import check_overrides, check_study_file, parse_overrides

    try:
        args, _ = get_args_parser().parse_known_args()
        if not (args.help or args.hydra_help or args.info or args.shell_completion):
            check_overrides(args.overrides, studies=study_names())
            for override in parse_overrides(args.overrides):
                if override.get_key_element().lstrip("+~") == "experiment":
                    for name in [override.value()] if not override.is_sweep_override() else []:
                        check_study_file(EXPERIMENT_DIR / f"{name}.yaml")
            for override in args.overrides:
                key, _, value = override.partition("=")
                if key in ("hydra.run.dir", "hydra.sweep.dir"):
                    check_writable(Path(value))
            if args.multirun and not any(o.startswith("hydra/launcher=") for o in args.overrides):
                CellsAhead.spawn()  # loads while Hydra composes the study
        main()
    except ConfigError as error:
        fail(str(error))
    except KeyboardInterrupt:
        # A study's finished cells stay in its cell store; rerunning the command resumes it.
        fail("interrupted; finished cells are kept, and running the same command again resumes", code=130)
    finally:
        gc.freeze()


if __name__ == "__main__":  # python -m sim.cli: run the imported module's command, whose
    # classes (the study callback, the worker) are the ones Hydra's configuration names
    from sim.cli import console_main as command

    command()
