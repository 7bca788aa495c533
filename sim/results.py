"""Result tables of a cohort run, the same whichever engine produced them.

The columns of every table are documented in ``docs/outputs.md``; keep the two
in step (a test checks that every column is documented).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.params import SimulationConfig
from sim.vocabulary import OUTCOMES, Cause, FailureMode

OUTCOME_DTYPE = pd.CategoricalDtype([o.value for o in OUTCOMES])
CAUSE_DTYPE = pd.CategoricalDtype([c.label for c in Cause])
MODE_DTYPE = pd.CategoricalDtype([m.value for m in FailureMode])


@dataclass(frozen=True)
class AllianceColumns:
    """Per-alliance end states as arrays in alliance order, the engines' common output."""

    outcome: np.ndarray  # int index into OUTCOMES
    end_week: np.ndarray  # int, -1 while alive at the horizon
    failure_mode: np.ndarray  # int index into FailureMode, -1 unless failed
    failure_cause: np.ndarray  # int Cause, -1 unless failed
    final_trust: np.ndarray
    final_health: np.ndarray
    issues_raised: np.ndarray
    issues_resolved: np.ndarray
    resolution_weeks_total: np.ndarray
    escalations: np.ndarray
    effort_setup: np.ndarray  # one-off, person-weeks
    effort_proactive: np.ndarray  # recurring, person-weeks
    effort_reactive: np.ndarray
    renegotiations: np.ndarray
    cumulative_value: np.ndarray
    value_received: np.ndarray  # (N, P)
    firm_of: np.ndarray  # (N, P)


@dataclass(frozen=True)
class CohortResult:
    """Everything one cohort run produces."""

    config: SimulationConfig
    alliances: pd.DataFrame
    timeseries: pd.DataFrame
    events: pd.DataFrame


def alliance_table(cols: AllianceColumns, config: SimulationConfig) -> pd.DataFrame:
    """One row per alliance (see docs/outputs.md)."""
    n = len(cols.outcome)
    outcome_names = np.array([o.value for o in OUTCOMES])
    cause_names = np.array([c.label for c in Cause])
    mode_names = np.array([m.value for m in FailureMode])
    failed = cols.failure_cause >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_resolution = np.where(
            cols.issues_resolved > 0,
            cols.resolution_weeks_total / np.maximum(cols.issues_resolved, 1),
            np.nan,
        )
    # Total issues grow with how long an alliance stays open; per open week they measure friction.
    weeks_open = np.where(cols.end_week >= 0, cols.end_week, config.horizon_weeks)
    value = cols.value_received
    frame = pd.DataFrame(
        {
            "alliance_id": np.arange(n, dtype=np.int64),
            "alliance_type": config.alliance.type.value,
            "governance": config.governance.name,
            "scenario": config.scenario.name,
            "launch": config.launch.mode.value,
            "seed": np.int64(config.seed),
            "n_partners": np.int64(value.shape[1]),
            "outcome": pd.Categorical(outcome_names[cols.outcome], dtype=OUTCOME_DTYPE),
            "end_week": pd.array(np.where(cols.end_week >= 0, cols.end_week, 0), dtype="Int64"),
            "failure_mode": pd.Categorical(
                np.where(failed, mode_names[np.maximum(cols.failure_mode, 0)], None), dtype=MODE_DTYPE
            ),
            "failure_cause": pd.Categorical(
                np.where(failed, cause_names[np.maximum(cols.failure_cause, 0)], None), dtype=CAUSE_DTYPE
            ),
            "final_trust": cols.final_trust,
            "final_health": cols.final_health,
            "issues_raised": cols.issues_raised.astype(np.int64),
            "issues_per_week": cols.issues_raised / np.maximum(weeks_open, 1),
            "issues_resolved": cols.issues_resolved.astype(np.int64),
            "mean_resolution_weeks": mean_resolution,
            "escalations": cols.escalations.astype(np.int64),
            "effort_setup": cols.effort_setup,
            "effort_proactive": cols.effort_proactive,
            "effort_reactive": cols.effort_reactive,
            "renegotiations": cols.renegotiations.astype(np.int64),
            "value_per_partner": cols.cumulative_value,
            "value_partner_min": value.min(axis=1),
            "value_partner_max": value.max(axis=1),
            "value_by_partner": list(value),
            "firms": list(cols.firm_of.astype(np.int64)),
        }
    )
    frame.loc[cols.end_week < 0, "end_week"] = pd.NA
    frame.attrs["horizon_weeks"] = config.horizon_weeks  # an alliance with no end_week ran to it
    return frame


def timeseries_table(
    share_active: np.ndarray, mean_trust: np.ndarray, mean_health: np.ndarray, open_issues: np.ndarray
) -> pd.DataFrame:
    """Per-week aggregates over the alliances still running at the end of the week."""
    weeks = np.arange(1, len(share_active) + 1, dtype=np.int64)
    return pd.DataFrame(
        {
            "week": weeks,
            "share_active": share_active,
            "mean_trust": mean_trust,
            "mean_health": mean_health,
            "open_issues": open_issues,
        }
    )
