"""Hydra adapted to the project: the one module that reaches into Hydra beyond its public API.

Everything here is command-line code (the library composes without Hydra, :mod:`sim.config`).
``hydra-core`` is bounded below 1.4 in ``pyproject.toml``; ``tests/test_hydra_support.py``
checks each adaptation on the installed version.

* **The schema** (:func:`mirror_schema`): Hydra's structured config is generated from the
  frozen dataclasses of :mod:`sim.params`, so a misspelt key fails while composing.
* **Studies as a config group** (:class:`StudyConfigSource`, :class:`StudySearchPath`): the
  files of ``experiments/`` are the options of ``+experiment``. A config source is Hydra's
  plugin API; reading a file's ``# @package`` header uses its helper ``_get_header_dict``,
  which the API offers to sources but does not document.
* **Compositions reused** (:class:`ReusedCompositions`): Hydra composes every cell of a sweep
  three times in the launching process; the sweeper's and the launcher's compositions are
  served from the study callback's. Hydra has no hook for it: the config loader's
  ``load_sweep_config`` is replaced on the loader instance for the study's length, and put
  back when it ends.
* **Where cells run** (:func:`runs_cells_here`): whether the launcher is Hydra's serial one,
  read from its ``_target_``.
* **The command line read before Hydra runs** (:func:`command_line_arguments`): Hydra's own
  argument parser (``hydra._internal.utils.get_args_parser``), so that overrides and study
  files are checked, and the worker started, with exactly the arguments Hydra will read.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import hashlib
import secrets
import typing
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.object_type import ObjectType
from hydra.core.plugins import Plugins
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin
from omegaconf import DictConfig, OmegaConf

from sim.params import ConfigError, Section, SimulationConfig
from sim.validation import show as _show

EXPERIMENT_GROUP = "experiment"
SERIAL_LAUNCHER = "hydra._internal.core_plugins.basic_launcher.BasicLauncher"


def runs_cells_here(config: DictConfig) -> bool:
    """Whether the study's launcher runs its cells in this process (Hydra's serial launcher)."""
    return str(config.hydra.launcher.get("_target_", "")) == SERIAL_LAUNCHER


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
        from sim import cli  # read when Hydra composes, so that a test may point it elsewhere

        search_path.append(
            provider="alliance-sim", path=f"{StudyConfigSource.scheme()}://{cli.EXPERIMENT_DIR}"
        )


def cell_dir_name(overrides: str, limit: int = 200) -> str:
    """A cell's folder name: its overrides, or, when they would make a name too long for the
    file system (255 bytes), their beginning and a hash of the whole."""
    if len(overrides.encode()) <= limit:
        return overrides
    digest = hashlib.sha256(overrides.encode()).hexdigest()[:16]
    return f"{overrides.encode()[: limit - 20].decode(errors='ignore')}...{digest}"


if not OmegaConf.has_resolver("cell_dir"):
    OmegaConf.register_new_resolver("cell_dir", cell_dir_name)


def run_tag() -> str:
    """A short tag that sets this run's folder apart from any other started in the same second
    (resolved once per run: Hydra hands the resolved value on to every cell of a study)."""
    return secrets.token_hex(3)


if not OmegaConf.has_resolver("run_tag"):
    OmegaConf.register_new_resolver("run_tag", run_tag, use_cache=True)


def _register_with_hydra() -> None:
    """Register the studies' config source and search path, once per process."""
    plugins = Plugins.instance()
    if all(cls.__name__ != StudySearchPath.__name__ for cls in plugins.discover(SearchPathPlugin)):
        plugins.register(StudyConfigSource)
        plugins.register(StudySearchPath)


_register_with_hydra()


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


# ------------------------------------------------------------------ overrides, as Hydra parses them
def _values(override: Any) -> list[Any]:
    """The value(s) of a parsed Hydra override: each sweep value, or the one value."""
    if override.is_sweep_override():
        return list(override.sweep_iterator())
    return [override.value()]


def parse_overrides(overrides: list[str]) -> list[Any]:
    """Hydra's parse of the overrides, its syntax errors as ConfigError."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parsed = []
    parser = OverridesParser.create()
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except HydraException as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else "cannot be parsed"
            raise ConfigError(
                f"override {_show(text)}: {first}; write key=value, e.g. governance=full or n_alliances=500"
            ) from None
    return parsed


def check_overrides(overrides: list[str], studies: list[str] | None = None) -> None:
    """Check command-line overrides (sweeps included) before Hydra composes anything.

    Hydra would reject an unknown key with advice to add it with ``+key``
    (which the schema forbids anyway) and list nothing; it would read
    ``governance.shared_kpis=1`` as true. Here every key must be a setting,
    a config group, ``+experiment`` or a ``hydra.`` key, and every value
    passes the same check as the typed parameters.
    """
    items = []
    for override in parse_overrides(overrides):
        key = override.get_key_element()
        prefix = key[: len(key) - len(key.lstrip("+~"))]
        values = [] if override.is_delete() else _values(override)
        items.append((override.input_line or key, prefix, key.lstrip("+~"), values))
    from sim.validation import check_parsed

    check_parsed(items, studies)


def command_line_arguments() -> Any:
    """The command line as Hydra will read it (its overrides, ``-m``, ``--help`` ...)."""
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args()
    return args
