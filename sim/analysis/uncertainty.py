"""The model's uncertain inputs and its headline outputs, for global sensitivity studies and
exploratory modelling (``experiments/sobol.py``, ``experiments/sensitivity.py``,
:mod:`sim.analysis.workbench`).

**Inputs.** The calibrated parameters are known only as far as the calibration's ensemble
(``results/calibration/ensemble.csv``): every set reproduces the patterns, and which one is
right is itself an input, ``parameter_set``. The inputs calibration does not fit are varied
over ranges around their defaults (:data:`UNCERTAIN`), read at run time from the composed
configuration so that the ranges follow the defaults: ``(low, high)`` multiples of the
default, or ``("abs", -d, +d)`` an absolute span; each clipped to the range the field allows;
integers rounded when applied.

**Outputs** (:func:`headline_outputs`), from cohorts of the four named designs of the headline
(handshake, meetings, committee, full) for complementary alliances under the calm scenario
with a full launch over 156 weeks, all simulated from one seed (common random numbers):
the *failure rate* (the share of alliances that fail, averaged over the four designs), each
design's, the *success rate* averaged likewise, and the *committee's paired effect* (the
committee's failure rate minus the handshake's, on the same alliances and draws; negative
when the committee saves alliances).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibration import apply_overrides
from sim.analysis.ensemble import load_ensemble, parameter_sets
from sim.config import load_config
from sim.params import ConfigError, SimulationConfig
from sim.runner import run_cohort

DESIGNS = ("handshake", "meetings", "committee", "full")
HEADLINE = ["alliance=complementary", "scenario=calm", "launch=full", "horizon_weeks=156"]
FAILED = "failed"
SUCCESS = "success"
SET_INPUT = "parameter_set"
ENSEMBLE_FILE = Path("results") / "calibration" / "ensemble.csv"

RELATIVE = (0.5, 1.5)
UNCERTAIN: dict[str, tuple[Any, ...]] = {
    # the alliance and the partners it joins
    "alliance.complementarity": (0.75, 1.25),
    "market.strategy_spread": RELATIVE,
    "market.culture_spread": RELATIVE,
    "market.outside_option_sd": RELATIVE,
    # the environment
    "scenario.shock_rate": RELATIVE,
    "scenario.shock_scale": RELATIVE,
    "scenario.volatility": RELATIVE,
    # drift, people and trust
    "dynamics.incentive_drift": RELATIVE,
    "dynamics.expectation_drift": RELATIVE,
    "dynamics.contact_hazard": RELATIVE,
    "dynamics.culture_drag": RELATIVE,
    "dynamics.collapse_trust": RELATIVE,
    "dynamics.initial_trust": (0.8, 1.2),
}
"""The uncertain inputs calibration does not fit, and their ranges."""


@dataclass(frozen=True)
class Factor:
    """One uncertain parameter: its dotted name, default and the range it is varied over."""

    name: str
    default: float
    low: float
    high: float
    integer: bool

    @property
    def label(self) -> str:
        return self.name.split(".", 1)[1]

    def value(self, x: float) -> float | int:
        """The value applied to the model for a sampled ``x`` in [low, high]."""
        return round(x) if self.integer else float(x)


def field_of(config: SimulationConfig, name: str) -> tuple[Any, dataclasses.Field]:
    """The current value and the dataclass field of a dotted parameter ``section.name``."""
    parts = name.split(".")
    if len(parts) != 2:
        raise ConfigError(f"{name!r}: expected a dotted parameter like dynamics.base_issue_rate")
    section, key = parts
    group = getattr(config, section, None)
    if not dataclasses.is_dataclass(group):
        raise ConfigError(f"{name!r}: unknown section {section!r}")
    fields = {f.name: f for f in dataclasses.fields(group)}
    if key not in fields:
        raise ConfigError(f"{name!r}: unknown parameter; {section} has {', '.join(sorted(fields))}")
    return getattr(group, key), fields[key]


def make_factor(config: SimulationConfig, name: str, spec: Sequence[Any]) -> Factor:
    """The range of ``name`` around its default in ``config``, clipped to the field's allowed range."""
    default, fld = field_of(config, name)
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise ConfigError(f"{name} = {default!r} is not numeric and cannot be varied")
    integer = isinstance(default, int)
    if spec[0] == "abs":
        low, high = default + spec[1], default + spec[2]
    else:
        low, high = default * spec[0], default * spec[1]
    lo, hi = fld.metadata.get("lo"), fld.metadata.get("hi")
    low = max(low, lo) if lo is not None else low
    high = min(high, hi) if hi is not None else high
    if integer:
        low, high = float(round(low)), float(round(high))
    if not high > low:
        raise ConfigError(
            f"{name}: default {default!r} gives an empty range [{low}, {high}]; give it an absolute span"
        )
    return Factor(name, float(default), float(low), float(high), integer)


def headline_configs(n_alliances: int, seed: int) -> dict[str, SimulationConfig]:
    """The four cohorts of the headline, all from the same seed."""
    return {
        design: load_config([*HEADLINE, f"governance={design}", f"n_alliances={n_alliances}", f"seed={seed}"])
        for design in DESIGNS
    }


def uncertain_factors(config: SimulationConfig) -> list[Factor]:
    """The inputs of :data:`UNCERTAIN` with their ranges around ``config``'s values."""
    return [make_factor(config, name, spec) for name, spec in UNCERTAIN.items()]


@dataclass(frozen=True)
class Ensemble:
    """The calibrated parameter sets, each as the overrides it applies."""

    path: Path
    sets: tuple[dict[str, Any], ...]

    def __len__(self) -> int:
        return len(self.sets)

    def values(self, x: float) -> dict[str, Any]:
        """The set a sampled ``x`` in [0, len) picks (its integer part)."""
        return self.sets[min(len(self.sets) - 1, max(0, math.floor(x)))]


def read_ensemble(path: Path | None = None) -> Ensemble:
    """The ensemble of ``path`` (default ``results/calibration/ensemble.csv``)."""
    path = Path(path) if path is not None else ENSEMBLE_FILE
    return Ensemble(path, tuple(parameter_sets(load_ensemble(path))))


def headline_outputs(configs: Mapping[str, SimulationConfig], values: Mapping[str, Any]) -> dict[str, float]:
    """Failure and success rates of each design with ``values`` applied (dotted keys, as
    :func:`sim.analysis.calibration.apply_overrides` reads them), their means over the designs,
    and the committee's paired effect on the failure rate."""
    out: dict[str, float] = {}
    for design, config in configs.items():
        outcome = run_cohort(apply_overrides(config, values)).alliances["outcome"]
        out[f"failed_{design}"] = float((outcome == FAILED).mean())
        out[f"success_{design}"] = float((outcome == SUCCESS).mean())
    names = list(configs)
    out["failure_rate"] = float(np.mean([out[f"failed_{d}"] for d in names]))
    out["success_rate"] = float(np.mean([out[f"success_{d}"] for d in names]))
    if "committee" in configs and "handshake" in configs:
        out["committee_effect"] = out["failed_committee"] - out["failed_handshake"]
    return out


def point_values(
    factors: Sequence[Factor], row: Sequence[float], ensemble: Ensemble | None
) -> dict[str, Any]:
    """The overrides of one sampled row: the ensemble's set (when the first column is the set)
    and the factors' values."""
    values: dict[str, Any] = {}
    if ensemble is not None:
        values.update(ensemble.values(row[0]))
        row = row[1:]
    values.update({f.name: f.value(x) for f, x in zip(factors, row, strict=True)})
    return values


def samples_frame(rows: Sequence[Mapping[str, Any]], outputs: Sequence[Mapping[str, float]]) -> pd.DataFrame:
    return pd.concat([pd.DataFrame(list(rows)), pd.DataFrame(list(outputs))], axis=1)
