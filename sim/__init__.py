"""Agent-based simulation of strategic business alliances.

``run_cohort(config)`` simulates a cohort of alliances under one governance
design; ``AllianceModel`` is the Mesa model (reference engine); parameters are
the validated dataclasses of :mod:`sim.params`.

The public names are imported on first use (PEP 562), so ``import sim`` (or
``import sim.params``) stays cheap: Mesa, pandas, Hydra and the analysis
libraries load only when something that needs them is used. Nothing here uses Hydra,
which belongs to the command line (:mod:`sim.cli`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.engines.mesa_agents import Alliance, Firm
    from sim.engines.mesa_model import AllianceModel
    from sim.params import ConfigError, SimulationConfig
    from sim.runner import run_cohort

__all__ = [
    "Alliance",
    "AllianceModel",
    "ConfigError",
    "Firm",
    "SimulationConfig",
    "load_config",
    "run_cohort",
]

_LAZY = {
    "Alliance": "sim.engines.mesa_agents",
    "Firm": "sim.engines.mesa_agents",
    "AllianceModel": "sim.engines.mesa_model",
    "ConfigError": "sim.params",
    "SimulationConfig": "sim.params",
    "run_cohort": "sim.runner",
}
"""Public name -> the module that defines it."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def load_config(overrides: list[str] | None = None) -> SimulationConfig:
    """Compose ``configs/`` with Hydra-style overrides and validate it, without Hydra and safely
    from many threads at once (see :mod:`sim.config`)."""
    from sim.config import load_config as compose

    return compose(overrides)
