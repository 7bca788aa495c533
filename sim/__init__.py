"""Agent-based simulation of strategic business alliances.

``run_cohort(config)`` simulates a cohort of alliances under one governance
design; ``AllianceModel`` is the Mesa model (reference engine); parameters are
the validated dataclasses of :mod:`sim.params`.
"""

from sim.agents import Alliance, Firm
from sim.model import AllianceModel
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


def load_config(overrides: list[str] | None = None) -> SimulationConfig:
    """Compose ``configs/`` with Hydra-style overrides and validate it (see sim.cli.load_config)."""
    from sim.cli import load_config as compose

    return compose(overrides)
