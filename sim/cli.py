"""The ``alliance-sim`` command line: the project's only Hydra code.

``alliance-sim [overrides]`` composes ``configs/``, validates it into a
:class:`~sim.params.SimulationConfig`, simulates one cohort, prints a summary
and writes the result tables into the Hydra run directory.

The structured-config schema registered here is generated from the frozen
dataclasses in :mod:`sim.params`, so a misspelt key or a value of the wrong
type is rejected by Hydra while composing, before anything runs; ranges and
enumerations are then checked by the dataclasses themselves.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import sys
import typing
from pathlib import Path
from typing import Any

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from sim.params import ConfigError, Section, SimulationConfig
from sim.results import format_summary
from sim.runner import run_cohort, write_results

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
CLI_KEYS = ("progress",)
"""Top-level keys that steer the command line, not the model."""


def _schema_type(annotation: Any) -> Any:
    """OmegaConf-friendly type: enums become strings (validated later, with their allowed values)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is not None and len(args) == 1:
        return _schema_type(args[0]) | None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return str
    return annotation


def mirror_schema(cls: type[Section], extra: list[tuple[str, type, Any]] | None = None) -> type:
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
    name="config_schema", node=mirror_schema(SimulationConfig, extra=[("progress", bool, True)])
)


def to_simulation_config(cfg: DictConfig) -> SimulationConfig:
    """Validate a composed Hydra config into the model's typed parameters."""
    data = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(data, dict)
    for key in (*CLI_KEYS, "hydra", "experiment", "study"):
        data.pop(key, None)
    return SimulationConfig.from_dict(data)


def load_config(overrides: list[str] | None = None) -> SimulationConfig:
    """Compose ``configs/`` with overrides, as the command line would, and validate it.

    For scripts and notebooks: ``load_config(["governance=full", "n_alliances=500"])``.
    """
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides or [])
    return to_simulation_config(cfg)


def fail(message: str) -> typing.NoReturn:
    print(f"alliance-sim: error: {message}", file=sys.stderr)
    sys.exit(2)


class WeekProgress:
    """A progress bar over simulated weeks (quiet when disabled or not on a terminal)."""

    def __init__(self, enabled: bool, horizon: int, label: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=horizon, desc=label, unit="wk", disable=not enabled, leave=False, file=sys.stderr
        )

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> dict:
    """Simulate one cohort under one design and write its results."""
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    try:
        config = to_simulation_config(cfg)
    except ConfigError as error:
        fail(str(error))
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    label = f"{config.governance.name}/{config.alliance.type.value}"
    bar = WeekProgress(bool(cfg.get("progress", True)), config.horizon_weeks, label)
    try:
        result = run_cohort(config, progress=bar)
    finally:
        bar.close()
    overrides = list(HydraConfig.get().overrides.task)
    summary = write_results(result, out_dir, {"overrides": overrides})
    title = (
        f"{config.n_alliances} {config.alliance.type.value} alliances, governance={config.governance.name}, "
        f"scenario={config.scenario.name}, launch={config.launch.mode.value}, seed={config.seed}, "
        f"{config.horizon_weeks} weeks"
    )
    print(format_summary(summary, title))
    print(f"results: {out_dir}")
    return summary


if __name__ == "__main__":
    main()
