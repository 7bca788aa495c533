"""Result tables of a cohort run, the same whichever engine produced them.

The columns of every table are documented in ``docs/outputs.md``; keep the two
in step (a test checks that every column is documented).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.mechanics import OUTCOMES, Cause, FailureMode, Outcome
from sim.params import SimulationConfig

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
    effort_proactive: np.ndarray
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

    def summary(self) -> dict[str, Any]:
        return summarize(self.alliances)


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


def wilson(successes: int, total: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion."""
    from statsmodels.stats.proportion import proportion_confint  # only when an interval is asked for

    if total == 0:
        return (math.nan, math.nan)
    lo, hi = proportion_confint(successes, total, alpha=0.05, method="wilson")
    share = successes / total  # the interval contains it; rounding can leave lo at 1e-19 for 0 of n
    return min(float(lo), share), max(float(hi), share)


def summarize(alliances: pd.DataFrame) -> dict[str, Any]:
    """Outcome shares with 95% intervals, median time to failure, mean resolution time."""
    n = len(alliances)
    shares: dict[str, dict[str, float]] = {}
    for outcome in OUTCOMES:
        k = int((alliances["outcome"] == outcome.value).sum())
        lo, hi = wilson(k, n)
        shares[outcome.value] = {"count": k, "share": k / n if n else math.nan, "ci_low": lo, "ci_high": hi}
    failed = alliances.loc[alliances["outcome"] == Outcome.FAILED.value]
    not_success = n - int(shares[Outcome.SUCCESS.value]["count"])
    lo, hi = wilson(not_success, n)
    resolution = alliances["mean_resolution_weeks"].dropna()
    resolution_ci = _mean_interval(resolution.to_numpy())
    causes = failed["failure_cause"].value_counts()
    return _finite_or_none(
        {
            "n_alliances": n,
            "outcomes": shares,
            "not_successful": {
                "count": not_success,
                "share": not_success / n if n else math.nan,
                "ci_low": lo,
                "ci_high": hi,
            },
            "median_weeks_to_failure": float(failed["end_week"].median()) if len(failed) else None,
            "mean_resolution_weeks": float(resolution.mean()) if len(resolution) else None,
            "mean_resolution_weeks_ci": list(resolution_ci),
            "failure_causes": {str(k): int(v) for k, v in causes.items() if v > 0},
            "mean_effort_proactive": float(alliances["effort_proactive"].mean()),
            "mean_effort_reactive": float(alliances["effort_reactive"].mean()),
        }
    )


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities become None, so summary.json is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _mean_interval(values: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    if len(values) < 2:
        return (math.nan, math.nan)
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return float(lo), float(hi)


def format_summary(summary: dict[str, Any], title: str = "") -> str:
    """The printed summary: a short, aligned block a person can read at a glance."""
    lines = [title] if title else []
    lines.append(f"alliances: {summary['n_alliances']}")
    for name, s in summary["outcomes"].items():
        lines.append(f"  {name:<16} {s['share']:6.1%}  (95% CI {s['ci_low']:.1%} to {s['ci_high']:.1%})")
    ns = summary["not_successful"]
    lines.append(
        f"  {'not successful':<16} {ns['share']:6.1%}  (95% CI {ns['ci_low']:.1%} to {ns['ci_high']:.1%})"
    )
    mtf = summary["median_weeks_to_failure"]
    lines.append(f"median weeks to failure (failed alliances): {'n/a' if mtf is None else f'{mtf:.0f}'}")
    mrt = summary["mean_resolution_weeks"]
    if mrt is None:
        lines.append("mean issue-resolution time: n/a (no issue settled)")
    else:
        lo, hi = summary["mean_resolution_weeks_ci"]
        interval = "" if lo is None else f" (95% CI {lo:.2f} to {hi:.2f})"
        lines.append(f"mean issue-resolution time: {mrt:.2f} weeks{interval}")
    if summary["failure_causes"]:
        causes = ", ".join(
            f"{k} {v}" for k, v in sorted(summary["failure_causes"].items(), key=lambda kv: -kv[1])
        )
        lines.append(f"primary causes of failure: {causes}")
    return "\n".join(lines)
