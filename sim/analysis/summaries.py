"""Summaries of a cohort's results: outcome shares with their intervals, times to failure,
resolution times and causes, as printed by the command line and written to summary.json."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sim.vocabulary import OUTCOMES, Outcome


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
    ensemble = _ensemble_block(alliances)
    return _finite_or_none(
        {
            **ensemble,
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
            "mean_effort_setup": float(alliances["effort_setup"].mean()),
            "mean_effort_proactive": float(alliances["effort_proactive"].mean()),
            "mean_effort_reactive": float(alliances["effort_reactive"].mean()),
        }
    )


def _ensemble_block(alliances: pd.DataFrame) -> dict[str, Any]:
    """Under an ensemble of parameter sets: each outcome's share with its Monte Carlo interval
    and its interval combining Monte Carlo and between-set variation, with each one's share
    of the combined variance (see :mod:`sim.analysis.ensemble`)."""
    if "parameter_set" not in alliances or alliances["parameter_set"].nunique() < 2:
        return {}
    from sim.analysis.ensemble import combined_interval

    sets = alliances["parameter_set"]
    block: dict[str, Any] = {}
    for outcome in OUTCOMES:
        block[outcome.value] = combined_interval(alliances["outcome"] == outcome.value, sets).as_dict()
    block["not_successful"] = combined_interval(alliances["outcome"] != Outcome.SUCCESS.value, sets).as_dict()
    return {"parameter_sets": int(sets.nunique()), "ensemble": block}


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
    if summary.get("ensemble"):
        lines.append(
            f"under {summary['parameter_sets']} calibrated parameter sets (same alliances and shocks), "
            "95% intervals of Monte Carlo noise only, and combined with the spread between sets:"
        )
        for key, e in summary["ensemble"].items():
            name = key.replace("_", " ")
            if e["between_share"] is None:  # no variation at all (e.g. no alliance ended so)
                lines.append(f"  {name:<16} {e['mean']:6.1%}  (the same under every set)")
                continue
            lines.append(
                f"  {name:<16} {e['mean']:6.1%}  MC {e['mc_low']:.1%} to {e['mc_high']:.1%}; "
                f"combined {e['low']:.1%} to {e['high']:.1%} "
                f"(between sets {e['between_share']:.0%} of the variance, Monte Carlo {e['mc_share']:.0%})"
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
