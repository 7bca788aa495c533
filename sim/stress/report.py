"""The stress test's report: numbers (report.json, CSVs), words (report.md) and one HTML page.

Every interval is a 95% interval over the Monte Carlo draws (a t interval of the
draw-level values, so it carries both the alliances' chance and the spread of
the charter's ranges and of the calibrated ensemble), widened for a share to at
least the Wilson interval of the pooled counts. Differences (stressors, clause
changes) are paired within a draw: the same alliances under the same shocks.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.summaries import wilson
from sim.stress.runner import FEATURES, QUICK_PLAN, StressResult
from sim.stress.stressors import DESCRIBE, SEVERITIES, STRESSORS
from sim.vocabulary import OUTCOMES

OKABE_ITO = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "grey": "#999999",
}
"""A colour-blind-safe palette; every figure takes its colours from here, in the same roles."""
RUN_COLOURS = {
    "charter as written": OKABE_ITO["blue"],
    "handshake": OKABE_ITO["vermillion"],
    "full framework": OKABE_ITO["green"],
}
SEVERITY_COLOURS = {
    "mild": OKABE_ITO["sky"],
    "moderate": OKABE_ITO["blue"],
    "severe": OKABE_ITO["vermillion"],
}
OUTCOME_COLOURS = {
    "success": OKABE_ITO["green"],
    "underperforming": OKABE_ITO["orange"],
    "failed": OKABE_ITO["vermillion"],
    "terminated": OKABE_ITO["grey"],
}
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
    """Draw-paired difference of a run against the charter as written.

    For failure, the interval is at least the paired (McNemar-type) interval of the
    pooled alliances: when every draw moves by the same few alliances, the draws alone
    would claim a certainty their few discordant alliances do not carry."""
    ref = reference.set_index("draw")
    this = runs.set_index("draw")
    common = this.index.intersection(ref.index)
    if column != "failed":
        return interval((this.loc[common, column] - ref.loc[common, column]).to_numpy())
    estimate = interval((_rate(this.loc[common]) - _rate(ref.loc[common])).to_numpy())
    if result is None or this.empty:
        return estimate
    first = runs.iloc[0]
    worse = better = total = 0
    for k in common:
        variant = result.failed[(first["kind"], first["name"], first["severity"], int(k))]
        charter = result.failed[("charter", "charter as written", "", int(k))]
        worse += int(np.sum(variant & ~charter))
        better += int(np.sum(charter & ~variant))
        total += len(variant)
    diff = (worse - better) / total
    se = math.sqrt(max(worse + better - (worse - better) ** 2 / total, 0.0)) / total
    half = 1.959963984540054 * se
    return {
        "estimate": estimate["estimate"],
        "low": min(estimate["low"], diff - half),
        "high": max(estimate["high"], diff + half),
    }


# ---------------------------------------------------------------- numbers


def one_in(p: float) -> str:
    """A share in words for a plain sentence: "about 1 in 4", "about 6 in 10"."""
    if p <= 0.0:
        return "none of the"
    if p >= 0.95:
        return "almost all"
    if p < 0.3:
        return f"about 1 in {round(1 / p)}" if p >= 0.01 else "fewer than 1 in 100"
    return f"about {round(10 * p)} in 10"


def _years(weeks: int) -> str:
    years = weeks / 52
    words = {1: "one year", 2: "two years", 3: "three years", 4: "four years", 5: "five years"}
    return (
        words.get(round(years), f"{years:g} years") if abs(years - round(years)) < 1e-9 else f"{weeks} weeks"
    )


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


def outcome_sentences(outcomes: dict[str, dict[str, float]], horizon_weeks: int) -> dict[str, str]:
    """Each outcome in a plain sentence: "About 1 in 4 alliances like this one fail within three years"."""
    out = {}
    for name, template in SENTENCES.items():
        est = outcomes[name]
        share = one_in(est["estimate"])
        numbers = f"({est['estimate']:.0%}; 95% interval {est['low']:.0%} to {est['high']:.0%})"
        out[name] = template.format(
            share=share[0].upper() + share[1:], years=_years(horizon_weeks), numbers=numbers
        )
    return out


def stressor_table(result: StressResult) -> list[dict[str, Any]]:
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
        rows.append(
            {
                "name": name,
                "label": label,
                "severity": severity,
                "failure_probability": interval(_rate(frame).to_numpy(), _pooled(frame)),
                "delta_failure": _paired(frame, charter, result=result),
                "note": str(frame["note"].iloc[0]) if "note" in frame else "",
            }
        )
    return rows


def clause_table(result: StressResult) -> list[dict[str, Any]]:
    runs = result.runs
    charter = runs[runs["kind"] == "charter"]
    rows = []
    for change in dict.fromkeys(runs.loc[runs["kind"] == "clause", "name"]):
        frame = runs[(runs["kind"] == "clause") & (runs["name"] == change)]
        setup = _paired(frame, charter, "effort_setup")
        recurring = _paired(frame, charter, "effort_proactive")
        rows.append(
            {
                "change": change,
                "delta_failure": _paired(frame, charter, result=result),
                "effort_person_weeks": setup["estimate"] + recurring["estimate"],
                "effort_setup_person_weeks": setup["estimate"],
                "effort_recurring_person_weeks": recurring["estimate"],
                "effort_person_weeks_interval": recurring,
                "failure_probability": interval(_rate(frame).to_numpy(), _pooled(frame)),
            }
        )
    rows.sort(key=lambda r: (r["delta_failure"]["estimate"], r["change"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
        d = row["delta_failure"]
        row["verdict"] = "helps" if d["high"] < 0 else "hurts" if d["low"] > 0 else "no clear effect"
    return rows


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
                "failure_probability": interval(_rate(frame).to_numpy(), _pooled(frame)),
                "delta_failure": _paired(frame, charter, result=result),
                "note": str(frame["note"].iloc[0]) if "note" in frame else "",
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
    for name in RUN_COLOURS:
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
        return f"{phrase} between {c['value'][0]:.3g} and {c['value'][1]:.3g}"
    direction = "above" if c["op"] == ">" else "at most"
    return f"{phrase} {direction} {c['value']:.3g}"


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
    tenths = round(10 * rate)
    count = f"{tenths} of 10" if tenths >= 1 else f"{round(100 * rate)} of 100"
    where = " and ".join(_condition_words(c) for c in box["conditions"]) or "in every future"
    return (
        f"It fails in {count} futures where {where} ({box['share_of_futures']:.0%} of the futures sampled)."
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


# ---------------------------------------------------------------- figures


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_outcomes(outcomes: dict[str, dict[str, float]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 1.6))
    left = 0.0
    for name, colour in OUTCOME_COLOURS.items():
        share = outcomes[name]["estimate"]
        ax.barh(0, share, left=left, color=colour, edgecolor="white", label=f"{name} {share:.0%}")
        left += share
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel("share of alliances like this one")
    ax.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.55), frameon=False)
    return _png(fig)


def figure_survival(curves: pd.DataFrame) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for name, colour in RUN_COLOURS.items():
        c = curves[curves["run"] == name]
        ax.step(c["week"], c["survival"], where="post", color=colour, label=name, lw=2)
        ax.fill_between(c["week"], c["low"], c["high"], step="post", color=colour, alpha=0.15, lw=0)
    ax.set_xlabel("weeks since signing")
    ax.set_ylabel("share not failed")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    ax.set_title(
        "Survival: this charter against the same partners on a handshake and under the full framework",
        fontsize=9,
    )
    return _png(fig)


def figure_tornado(stressors: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    # a stressor that cannot act is said so in the table, not drawn as a bar of zero
    rows = [s for s in stressors if s["name"] != "calm_baseline" and not s.get("note")]
    names = list(dict.fromkeys(s["label"] for s in rows))
    worst = {n: max(s["delta_failure"]["estimate"] for s in rows if s["label"] == n) for n in names}
    names.sort(key=lambda n: worst[n])
    calm = [s for s in stressors if s["name"] == "calm_baseline"]
    severities = list(dict.fromkeys(s["severity"] for s in rows))
    height = 0.8 / max(1, len(severities))
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.8))
    for j, severity in enumerate(severities):
        found = {s["label"]: s["delta_failure"] for s in rows if s["severity"] == severity}
        at = [i for i, name in enumerate(names) if name in found]
        if not at:
            continue
        y = np.array(at) + (j - (len(severities) - 1) / 2) * height
        bars_with_intervals(
            ax,
            y,
            [found[names[i]] for i in at],
            height=height,
            color=SEVERITY_COLOURS[severity],
            label=severity,
        )
    if calm:
        ax.axvline(
            calm[0]["delta_failure"]["estimate"],
            color=OKABE_ITO["grey"],
            ls="--",
            lw=1,
            label="calm baseline",
        )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:+.0f} pts"))
    ax.set_xlabel("change in failure probability against the charter as written (95% interval)")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def bars_with_intervals(ax: Any, y: np.ndarray, deltas: list[dict[str, float]], **bar: Any) -> None:
    """Horizontal bars of the estimates at ``y``, with their 95% intervals: one call for the
    bars and one for the intervals (fewer artists to draw)."""
    estimate = np.array([v["estimate"] for v in deltas])
    ax.barh(y, estimate, **bar)
    ax.errorbar(
        estimate,
        y,
        xerr=[estimate - [v["low"] for v in deltas], [v["high"] for v in deltas] - estimate],
        fmt="none",
        ecolor="black",
        capsize=2,
        lw=0.8,
    )


def figure_clauses(clauses: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    rows = clauses[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.38 * len(rows) + 1.4))
    d = [row["delta_failure"] for row in rows]
    colours = [
        OKABE_ITO["green"]
        if v["high"] < 0
        else OKABE_ITO["vermillion"]
        if v["low"] > 0
        else OKABE_ITO["grey"]
        for v in d
    ]
    bars_with_intervals(ax, np.arange(len(rows)), d, color=colours)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rows)), [r["change"] for r in rows], fontsize=8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:+.0f} pts"))
    ax.set_xlabel("paired change in failure probability (95% interval); green helps, vermillion hurts")
    return _png(fig)


def figure_causes(causes: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.4 * max(1, len(causes)) + 1.2))
    rows = causes[::-1]
    ax.barh(range(len(rows)), [c["share"] for c in rows], color=OKABE_ITO["vermillion"])
    ax.set_yticks(range(len(rows)), [c["cause"].replace("_", " ") for c in rows])
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of failures with this primary cause")
    if not rows:
        ax.text(0.5, 0.5, "no failures", transform=ax.transAxes, ha="center")
    return _png(fig)


def figure_early_warning(warning: dict[str, Any]) -> str:
    import matplotlib.pyplot as plt

    series = pd.DataFrame(warning["series"])
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharex=True)
    for ax, name in zip(axes, ("trust", "health"), strict=True):
        x = -series["weeks_before"]
        ax.plot(
            x,
            series[f"{name}_failed_mean"],
            color=OKABE_ITO["vermillion"],
            lw=2,
            label="alliances that failed",
        )
        ax.fill_between(
            x,
            series[f"{name}_failed_q25"],
            series[f"{name}_failed_q75"],
            color=OKABE_ITO["vermillion"],
            alpha=0.2,
            lw=0,
        )
        ax.plot(
            x,
            series[f"{name}_others_mean"],
            color=OKABE_ITO["blue"],
            lw=2,
            ls="--",
            label="the others, same weeks",
        )
        ax.set_title("trust" if name == "trust" else "relationship health index", fontsize=9)
        ax.set_xlabel("weeks before failure")
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=8, loc="lower left")
    return _png(fig)


# ---------------------------------------------------------------- report


def build(result: StressResult, charter_path: Path | None = None) -> dict[str, Any]:
    """Every number of the report, as written to report.json."""
    outcomes = headline(result)
    stressors = stressor_table(result)
    clauses = clause_table(result)
    warning = early_warning(result)
    charter = result.charter
    ens = result.ensemble
    model = (
        f"the calibrated ensemble ({len(ens.sets)} parameter sets from {ens.path}), each Monte Carlo draw takes the next set in a shuffled order"
        if ens.used
        else "the default calibrated model (configs/; no calibrated ensemble found at results/calibration/ensemble.csv)"
    )
    return {
        "charter": charter.name,
        "charter_file": None if charter_path is None else str(charter_path),
        "seed": result.seed,
        "quick": result.plan == QUICK_PLAN,
        "plan": {
            "draws": result.plan.draws,
            "alliances_per_run": result.plan.n_alliances,
            "severities": list(result.plan.severities),
            "futures_per_draw": result.plan.futures_per_draw,
            "runs": len(result.runs),
            "alliances_simulated": int(result.runs["n"].sum()),
        },
        "horizon_weeks": result.horizon_weeks,
        "model": {"ensemble_used": ens.used, "description": model},
        "uncertain_fields": [c for c in result.draws.columns if c not in ("draw", "seed", "parameter_set")],
        "failure_probability": outcomes["failed"],
        "outcomes": outcomes,
        "sentences": outcome_sentences(outcomes, result.horizon_weeks),
        "benchmarks": benchmark_table(result),
        "stressors": stressors,
        "clauses": clauses,
        "causes": causes_table(result),
        "scenarios": discover_scenarios(result),
        "early_warning": {
            "thresholds": warning["thresholds"],
            "suggested_health_threshold": suggested_threshold(warning["thresholds"]),
        },
        "checklist": charter.checklist.model_dump(mode="json")
        | {"prelude_to_larger": charter.alliance.prelude_to_larger},
        "_warning_series": warning["series"],
    }


def write_report(result: StressResult, out_dir: Path, charter_path: Path | None = None) -> dict[str, Any]:
    """Write report.html, report.json, report.md and the CSVs into ``out_dir``; returns report.json's content."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build(result, charter_path)
    series = report.pop("_warning_series")
    curves = survival_curves(result)
    figures = {
        "outcomes": figure_outcomes(report["outcomes"]),
        "survival": figure_survival(curves),
        "tornado": figure_tornado(report["stressors"]),
        "clauses": figure_clauses(report["clauses"]),
        "causes": figure_causes(report["causes"]),
        "early_warning": figure_early_warning({"series": series}),
    }
    clean = _finite(report)
    (out_dir / "report.json").write_text(json.dumps(clean, indent=2) + "\n")
    from sim.analysis.output import git_revision, package_versions

    provenance = {"seed": result.seed, "git_revision": git_revision(), "packages": package_versions()}
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    _write_csvs(result, report, curves, pd.DataFrame(series), out_dir)
    context = {"r": clean, "figures": figures, "pct": _pct, "pts": _pts}
    (out_dir / "report.md").write_text(_render("report.md.j2", context))
    (out_dir / "report.html").write_text(_render("report.html.j2", context))
    return clean


def _write_csvs(
    result: StressResult, report: dict[str, Any], curves: pd.DataFrame, series: pd.DataFrame, out: Path
) -> None:
    outcomes = pd.DataFrame([{"outcome": k, **v} for k, v in report["outcomes"].items()])
    outcomes.to_csv(out / "outcomes.csv", index=False)
    pd.DataFrame(
        [
            {
                "name": s["name"],
                "severity": s["severity"],
                **_flat("failure", s["failure_probability"]),
                **_flat("delta", s["delta_failure"]),
                "note": s["note"],
            }
            for s in report["stressors"]
        ]
    ).to_csv(out / "stressors.csv", index=False)
    pd.DataFrame(
        [
            {
                "rank": c["rank"],
                "change": c["change"],
                **_flat("delta", c["delta_failure"]),
                "effort_person_weeks": c["effort_person_weeks"],
                "effort_setup_person_weeks": c["effort_setup_person_weeks"],
                "effort_recurring_person_weeks": c["effort_recurring_person_weeks"],
                "verdict": c["verdict"],
            }
            for c in report["clauses"]
        ]
    ).to_csv(out / "clauses.csv", index=False)
    pd.DataFrame(
        [{"name": b["name"], **_flat("failure", b["failure_probability"])} for b in report["benchmarks"]]
    ).to_csv(out / "benchmarks.csv", index=False)
    pd.DataFrame(report["causes"], columns=["cause", "failures", "share"]).to_csv(
        out / "causes.csv", index=False
    )
    curves.to_csv(out / "survival.csv", index=False)
    series.to_csv(out / "early_warning.csv", index=False)
    pd.DataFrame(report["early_warning"]["thresholds"]).to_csv(out / "health_thresholds.csv", index=False)
    pd.DataFrame(
        [
            {
                "box": i + 1,
                "failure_rate": b["failure_rate"],
                "futures": b["futures"],
                "conditions": " and ".join(_condition_words(c) for c in b["conditions"]),
            }
            for i, b in enumerate(report["scenarios"]["boxes"])
        ]
    ).to_csv(out / "scenarios.csv", index=False)
    result.runs.to_csv(out / "runs.csv", index=False)
    result.draws.to_csv(out / "draws.csv", index=False)


def _flat(prefix: str, value: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{k}": v for k, v in value.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _pts(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f} pts"


def _render(name: str, context: dict[str, Any]) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("sim.stress", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**context)
