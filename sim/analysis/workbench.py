"""The model as an EMA Workbench model, for exploratory modelling and scenario discovery.

    from ema_workbench import perform_experiments
    from sim.analysis.workbench import alliance_model
    experiments, outcomes = perform_experiments(alliance_model(), scenarios=200, policies=4)

**Uncertainties**: which calibrated parameter set is right (``parameter_set``, when the
calibrated ensemble exists) and the inputs calibration does not fit, over the ranges of
:mod:`sim.analysis.uncertainty` (named by their bare names, ``shock_rate``,
``complementarity``...). **Levers**: the governance design (``governance``: handshake,
meetings, committee or full). **Outcomes**, for one cohort of ``n_alliances`` alliances
over ``horizon_weeks`` weeks (complementary alliances, calm scenario, full launch), all
from one seed (common random numbers): ``failure_rate``, ``success_rate``,
``mean_trust`` (at the end, over the alliances that reached it) and ``effort``
(person-weeks per alliance: set-up, proactive and reactive).

The configuration is composed once, when the model is made; each experiment only replaces
the sampled values (``sim.analysis.calibration.apply_overrides``), so an experiment costs
its simulation. The model's function is a picklable object, so EMA Workbench's
``MultiprocessingEvaluator`` runs it in worker processes too.

Needs the ``ema_workbench`` package (``pip install ema_workbench``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.calibration import apply_overrides
from sim.analysis.uncertainty import (
    DESIGNS,
    ENSEMBLE_FILE,
    HEADLINE,
    SET_INPUT,
    Ensemble,
    Factor,
    read_ensemble,
    uncertain_factors,
)
from sim.config import load_config
from sim.params import SimulationConfig
from sim.runner import run_cohort

OUTCOMES = ("failure_rate", "success_rate", "mean_trust", "effort")


class AllianceExperiment:
    """One experiment: the sampled uncertainties and levers in, the outcomes out."""

    def __init__(
        self, configs: dict[str, SimulationConfig], factors: Sequence[Factor], ensemble: Ensemble | None
    ) -> None:
        self.configs = configs
        self.by_label = {f.label: f for f in factors}
        self.ensemble = ensemble

    def __call__(self, governance: str = DESIGNS[0], **sampled: Any) -> dict[str, float]:
        if governance not in self.configs:
            raise ValueError(f"governance = {governance!r}: allowed {', '.join(self.configs)}")
        values: dict[str, Any] = {}
        if self.ensemble is not None and SET_INPUT in sampled:
            values.update(self.ensemble.values(float(sampled.pop(SET_INPUT))))
        for label, x in sampled.items():
            factor = self.by_label.get(label)
            if factor is None:
                raise ValueError(
                    f"{label} = {x!r}: not an uncertainty of this model ({', '.join(self.by_label)})"
                )
            values[factor.name] = factor.value(float(x))
        result = run_cohort(apply_overrides(self.configs[governance], values))
        alliances = result.alliances
        reached = alliances["outcome"].isin(["success", "underperforming"])
        trust = alliances.loc[reached, "final_trust"]
        effort = alliances[["effort_setup", "effort_proactive", "effort_reactive"]].sum(axis=1)
        return {
            "failure_rate": float((alliances["outcome"] == "failed").mean()),
            "success_rate": float((alliances["outcome"] == "success").mean()),
            "mean_trust": float(trust.mean()) if len(trust) else float("nan"),
            "effort": float(effort.mean()),
        }


def alliance_model(
    name: str = "alliances",
    n_alliances: int = 1000,
    seed: int = 2026,
    horizon_weeks: int = 156,
    ensemble: Path | str | None = ENSEMBLE_FILE,
    designs: Sequence[str] = DESIGNS,
) -> Any:
    """An ``ema_workbench.Model`` of the headline cohort (see the module's docstring);
    ``ensemble=None`` leaves the calibrated sets out (the defaults of ``configs/`` only)."""
    from ema_workbench import CategoricalParameter, IntegerParameter, Model, RealParameter, ScalarOutcome

    configs = {
        design: load_config(
            [
                *[o for o in HEADLINE if not o.startswith("horizon_weeks=")],
                f"horizon_weeks={horizon_weeks}",
                f"governance={design}",
                f"n_alliances={n_alliances}",
                f"seed={seed}",
            ]
        )
        for design in designs
    }
    factors = uncertain_factors(configs[designs[0]])
    sets = read_ensemble(Path(ensemble)) if ensemble is not None and Path(ensemble).exists() else None
    model = Model(name, function=AllianceExperiment(configs, factors, sets))
    uncertainties: list[Any] = [
        IntegerParameter(f.label, int(f.low), int(f.high))
        if f.integer
        else RealParameter(f.label, f.low, f.high)
        for f in factors
    ]
    if sets is not None:
        uncertainties.insert(0, IntegerParameter(SET_INPUT, 0, len(sets) - 1))
    model.uncertainties = uncertainties
    model.levers = [CategoricalParameter("governance", list(designs))]
    model.outcomes = [ScalarOutcome(outcome) for outcome in OUTCOMES]
    return model


def mean_outcomes(outcomes: dict[str, np.ndarray]) -> dict[str, float]:
    """Each outcome's mean over the experiments (a quick look at what ``perform_experiments`` gave)."""
    return {name: float(np.nanmean(values)) for name, values in outcomes.items()}
