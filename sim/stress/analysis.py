"""The stress test's numbers: intervals, paired differences, the tables of stressors, clause
changes, benchmarks and causes, survival, scenario discovery and early warnings.

Figures are :mod:`sim.stress.figures`; the report's assembly and rendering
:mod:`sim.stress.report`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.summaries import wilson
from sim.stress.runner import FEATURES, StressResult
from sim.stress.stressors import DESCRIBE, SEVERITIES, STRESSORS
from sim.stress.words import capitalised, condition_value, percent, sentence, share_words, years
from sim.vocabulary import OUTCOMES

SURVIVAL_RUNS = ("charter as written", "handshake", "full framework")
"""The runs whose survival the report compares, in the figure's order."""

WARNING_LEAD_WEEKS = 13
"""A health check must flag a failing alliance at least a quarter ahead to leave time to act."""


def interval(values: Sequence[float], counts: tuple[int, int] | None = None) -> dict[str, float]:
    """Mean of draw-level values with its 95% t interval (widened to Wilson for pooled counts)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    estimate = float(v.mean())
    if len(v) > 1 and float(v.std(ddof=1)) > 0.0:
        half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    else:
        half = 0.0
    low, high = estimate - half, estimate + half
    if counts is not None:
        w_low, w_high = wilson(*counts)
        low, high = max(0.0, min(low, w_low)), min(1.0, max(high, w_high))
    return {"estimate": estimate, "low": low, "high": high}


def _rate(frame: pd.DataFrame, outcome: str = "failed") -> pd.Series:
    return frame[outcome] / frame["n"]


def _pooled(frame: pd.DataFrame, outcome: str = "failed") -> tuple[int, int]:
    return int(frame[outcome].sum()), int(frame["n"].sum())


def _paired(
    runs: pd.DataFrame, reference: pd.DataFrame, column: str = "failed", result: StressResult | None = None
) -> dict[str, float]:
    """Draw-paired difference of a run against the charter as written; for failure, with the
    paired interval of the alliances whose fate differs (:func:`sim.stress.decision.paired`)."""
    if column == "failed" and result is not None and not runs.empty:
        from sim.stress.decision import paired

        first = runs.iloc[0]
        return paired(result, (first["kind"], first["name"], first["severity"]))
    ref = reference.set_index("draw")
    this = runs.set_index("draw")
    common = this.index.intersection(ref.index)
    if column != "failed":
        return interval((this.loc[common, column] - ref.loc[common, column]).to_numpy())
    return interval((_rate(this.loc[common]) - _rate(ref.loc[common])).to_numpy())


# ---------------------------------------------------------------- numbers


def headline(result: StressResult) -> dict[str, Any]:
    charter = result.runs[result.runs["kind"] == "charter"]
    out: dict[str, Any] = {}
    for o in OUTCOMES:
        out[o.value] = interval(_rate(charter, o.value).to_numpy(), _pooled(charter, o.value))
    return out


SENTENCES = {
    "failed": "{share} alliances like this one fail within {years} {numbers}: a partner walks out or trust collapses.",
    "success": "{share} meet their objectives by the horizon {numbers}.",
    "underperforming": "{share} are still running at the horizon but short of their objectives {numbers}.",
    "terminated": "{share} are ended deliberately by the partners under the charter's termination criteria {numbers}.",
}
ZERO = {"failed": "no", "success": "none", "underperforming": "none", "terminated": "none"}
"""What a share of 0 reads as, so that every sentence stays grammatical."""


def outcome_sentences(outcomes: dict[str, dict[str, float]], horizon_weeks: int) -> dict[str, str]:
    """Each outcome in a plain sentence: "About 1 in 4 alliances like this one fail within three years"."""
    out = {}
    for name, template in SENTENCES.items():
        est = outcomes[name]
        share = share_words(est["estimate"], zero=ZERO[name])
        numbers = (
            f"({percent(est['estimate'])}; 95% interval {percent(est['low'])} to {percent(est['high'])})"
        )
        out[name] = capitalised(template.format(share=share, years=years(horizon_weeks), numbers=numbers))
    return out


def failure_and_change(frame: pd.DataFrame, charter: pd.DataFrame, result: StressResult) -> dict[str, Any]:
    """A run's failure probability and its paired change against the charter as written."""
    return {
        "failure_probability": interval(_rate(frame).to_numpy(), _pooled(frame)),
        "delta_failure": _paired(frame, charter, result=result),
    }


def stressor_table(result: StressResult) -> list[dict[str, Any]]:
    from sim.stress.decision import unchanged

    runs = result.runs
    charter = runs[runs["kind"] == "charter"]
    rows = []
    calm = runs[runs["kind"] == "calm"]
    for name, severity, frame, label in [("calm_baseline", "none", calm, "a calm baseline")] + [
        (
            s.name,
            sev,
            runs[(runs["kind"] == "stressor") & (runs["name"] == s.name) & (runs["severity"] == sev)],
            s.label,
        )
        for s in STRESSORS
        for sev in SEVERITIES
    ]:
        if frame.empty:
            continue
        note = str(frame["note"].iloc[0]) if "note" in frame else ""
        if (
            not note
            and name != "calm_baseline"
            and unchanged(result, (str(frame["kind"].iloc[0]), name, severity))
        ):
            note = "it changed no alliance's failure: the charter's clauses leave it nothing to act on"
        note = sentence(note) if note else ""
        rows.append(
            {
                "name": name,
                "label": label,
                "severity": severity,
                **failure_and_change(frame, charter, result),
                "note": note,
            }
        )
    return rows


def clause_table(result: StressResult) -> list[dict[str, Any]]:
    """Every single clause change, ranked by its paired change in failure (with its effort and
    what it buys per person-week: :func:`sim.stress.decision.option_rows`)."""
    from sim.stress.decision import option_rows

    return option_rows(result, "clause")


def benchmark_table(result: StressResult) -> list[dict[str, Any]]:
    runs = result.runs
    charter = runs[runs["kind"] == "charter"]
    rows = [
        {
            "name": "charter as written",
            "failure_probability": interval(_rate(charter).to_numpy(), _pooled(charter)),
        }
    ]
    for name in ("handshake", "full framework"):
        frame = runs[(runs["kind"] == "benchmark") & (runs["name"] == name)]
        rows.append(
            {
                "name": name,
                **failure_and_change(frame, charter, result),
            }
        )
    return rows


def causes_table(result: StressResult) -> list[dict[str, Any]]:
    failed = result.alliances[
        (result.alliances["run"] == "charter as written") & (result.alliances["outcome"] == "failed")
    ]
    counts = failed["failure_cause"].value_counts()
    total = int(counts.sum())
    return [
        {"cause": str(cause), "failures": int(n), "share": n / total} for cause, n in counts.items() if n > 0
    ]


def survival_curves(result: StressResult) -> pd.DataFrame:
    """Kaplan-Meier survival (no failure) by week for the charter and its benchmarks (lifelines)."""
    from lifelines import KaplanMeierFitter

    frames = []
    horizon = result.horizon_weeks
    for name in SURVIVAL_RUNS:
        a = result.alliances[result.alliances["run"] == name]
        ended = a["end_week"].to_numpy()
        duration = np.where(ended >= 0, ended, horizon).astype(float)
        event = (a["outcome"] == "failed").to_numpy()
        kmf = KaplanMeierFitter().fit(duration, event, timeline=np.arange(0, horizon + 1), alpha=0.05)
        band = kmf.confidence_interval_survival_function_
        frames.append(
            pd.DataFrame(
                {
                    "run": name,
                    "week": kmf.survival_function_.index.to_numpy(dtype=int),
                    "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                    "low": band.iloc[:, 0].to_numpy(),
                    "high": band.iloc[:, 1].to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def discover_scenarios(result: StressResult) -> dict[str, Any]:
    """Where this charter fails: a shallow regression tree (scikit-learn) over the sampled futures.

    Every run that changes the environment or the charter's uncertain inputs (the
    charter as written in each draw, the stressors and the jointly sampled
    futures) is one set of conditions; its alliances are the futures. The tree
    splits the conditions to separate high failure from low; its leaves are
    boxes of conditions, read out in words.
    """
    from sklearn.tree import DecisionTreeRegressor

    runs = result.runs[result.runs["kind"].isin(["charter", "calm", "stressor", "future"])].reset_index(
        drop=True
    )
    features = [f for f in FEATURES if runs[f].nunique() > 1]
    overall = float(runs["failed"].sum() / runs["n"].sum())
    if not features:
        return {
            "features": [],
            "boxes": [],
            "overall": overall,
            "sentences": ["No sampled condition varied."],
        }
    x = runs[features].to_numpy()
    y = _rate(runs).to_numpy()
    weight = runs["n"].to_numpy(dtype=float)
    min_leaf = max(3, len(runs) // 10)
    tree = DecisionTreeRegressor(max_depth=2, min_samples_leaf=min_leaf, random_state=0)
    tree.fit(x, y, sample_weight=weight)
    boxes: list[dict[str, Any]] = []
    t = tree.tree_
    leaves = tree.apply(x)

    def walk(node: int, conditions: list[dict[str, Any]]) -> None:
        if t.children_left[node] == -1:
            members = runs[leaves == node]
            failed, n = _pooled(members)
            boxes.append(
                {
                    "conditions": merge_conditions(conditions),
                    "futures": n,
                    "failed": failed,
                    "failure_rate": failed / n,
                    "share_of_futures": n / float(weight.sum()),
                }
            )
            return
        name = features[t.feature[node]]
        threshold = float(t.threshold[node])
        walk(t.children_left[node], [*conditions, {"feature": name, "op": "<=", "value": threshold}])
        walk(t.children_right[node], [*conditions, {"feature": name, "op": ">", "value": threshold}])

    walk(0, [])
    boxes.sort(key=lambda b: -float(b["failure_rate"]))
    sentences = [_box_sentence(b) for b in boxes]
    return {"features": features, "boxes": boxes, "overall": overall, "sentences": sentences}


def _condition_words(c: dict[str, Any]) -> str:
    phrase = DESCRIBE.get(c["feature"], f"{c['feature']} is")
    if c["op"] == "between":
        low, high = (condition_value(c["feature"], v) for v in c["value"])
        return f"{phrase} between {low} and {high}"
    direction = "above" if c["op"] == ">" else "at most"
    return f"{phrase} {direction} {condition_value(c['feature'], c['value'])}"


def merge_conditions(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A box's path as one bound (or one interval) per feature, in the order first split on."""
    bounds: dict[str, list[float | None]] = {}
    for c in conditions:
        low, high = bounds.setdefault(c["feature"], [None, None])
        if c["op"] == ">":
            bounds[c["feature"]][0] = c["value"] if low is None else max(low, c["value"])
        else:
            bounds[c["feature"]][1] = c["value"] if high is None else min(high, c["value"])
    merged: list[dict[str, Any]] = []
    for feature, (low, high) in bounds.items():
        if low is not None and high is not None:
            merged.append({"feature": feature, "op": "between", "value": [low, high]})
        elif low is not None:
            merged.append({"feature": feature, "op": ">", "value": low})
        else:
            merged.append({"feature": feature, "op": "<=", "value": high})
    return merged


def _box_sentence(box: dict[str, Any]) -> str:
    rate = box["failure_rate"]
    where = " and ".join(_condition_words(c) for c in box["conditions"]) or "in every future"
    return sentence(
        f"Where {where}, {share_words(rate, zero='none')} of the alliances fail ({percent(rate)}; "
        f"{box['share_of_futures']:.0%} of the futures sampled)"
    )


def early_warning(result: StressResult, lags: int = 52) -> dict[str, Any]:
    """Trust and health in the weeks before failures, against alliances that did not fail."""
    a = result.alliances[result.alliances["run"] == "charter as written"].reset_index(drop=True)
    failed = (a["outcome"] == "failed").to_numpy()
    end = a["end_week"].to_numpy()
    weeks = result.trust.shape[1]
    rows = []
    for lag in range(lags, 0, -1):
        entry: dict[str, Any] = {"weeks_before": lag}
        for name, series in (("trust", result.trust), ("health", result.health)):
            idx = np.flatnonzero(failed & (end - lag >= 0))
            at = end[idx] - lag
            values = series[idx, np.clip(at, 0, weeks - 1)]
            others = ~failed
            reference = (
                series[others][:, np.clip(at, 0, weeks - 1)].mean() if idx.size and others.any() else np.nan
            )
            entry[f"{name}_failed_mean"] = float(np.mean(values)) if idx.size else math.nan
            entry[f"{name}_failed_q25"] = float(np.quantile(values, 0.25)) if idx.size else math.nan
            entry[f"{name}_failed_q75"] = float(np.quantile(values, 0.75)) if idx.size else math.nan
            entry[f"{name}_others_mean"] = float(reference)
        entry["failures"] = int(np.sum(failed & (end - lag >= 0)))
        rows.append(entry)
    return {"series": rows, "thresholds": health_thresholds(result, failed, end)}


def health_thresholds(result: StressResult, failed: np.ndarray, end: np.ndarray) -> list[dict[str, float]]:
    """For each health-check threshold: the share of failing alliances below it a quarter before
    they fail, against the share of the others below it in the same weeks (matched by age)."""
    health = result.health
    lead = np.flatnonzero(failed & (end - WARNING_LEAD_WEEKS >= 0))
    at = end[lead] - WARNING_LEAD_WEEKS
    before = health[lead, at]
    others = health[~failed][:, at].ravel() if (~failed).any() else np.array([])
    out = []
    for threshold in np.round(np.arange(0.30, 0.91, 0.05), 2):
        out.append(
            {
                "threshold": float(threshold),
                "failures_flagged": float(np.mean(before < threshold)) if before.size else math.nan,
                "false_alarms": float(np.mean(others < threshold)) if others.size else math.nan,
                "failures": int(before.size),
            }
        )
    return out


def suggested_threshold(thresholds: list[dict[str, float]]) -> dict[str, float] | None:
    scored = [t for t in thresholds if not math.isnan(t["failures_flagged"])]
    if not scored:
        return None
    best = max(scored, key=lambda t: (t["failures_flagged"] - t["false_alarms"], -t["threshold"]))
    return best if best["failures_flagged"] > best["false_alarms"] else None
