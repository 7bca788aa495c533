"""Studies: combine the cells of a sweep, summarise them and draw their figures.

A study is a Hydra multirun over design cells (see ``experiments/`` and
:mod:`sim.cli`). Each cell simulates one cohort and leaves in its folder a
``cell.json`` (its overrides, the hash of its validated config, its status)
or a ``failure.json`` (its error). This module only reads those folders: it
never runs the model, so a report can be rebuilt at any time with

    alliance-sim-report results/<study>/<run>

Layout of a study run folder::

    study.json            what was swept, the baseline, the figures asked for
    cells/<overrides>/    one folder per cell: cell.json or failure.json, .hydra/
    runs.parquet          every alliance of every finished cell, with the cell's overrides as columns
    summary.csv, .md      outcome rates with 95% intervals by cell
    paired.csv            paired differences against the baseline design
    failures.csv          cells that raised, with their errors
    figures/*.png         rates by design, survival curves, hazard by age, heatmaps
    provenance.json       package versions, git revision, seeds
"""

from __future__ import annotations

import argparse
import gc
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.summaries import wilson

CELL_FILE = "cell.json"
FAILURE_FILE = "failure.json"
STUDY_FILE = "study.json"
RATE_COLUMNS = ("failed", "success", "underperforming", "terminated")
PAIRED_METRICS = {
    "mean_resolution_weeks": "Δ mean resolution (weeks)",
    "issues_raised": "Δ issues raised",
    "issues_per_week": "Δ issues per week open",
    "final_trust": "Δ final trust",
    "effort_proactive": "Δ proactive effort (person-weeks)",
    "effort_reactive": "Δ reactive effort (person-weeks)",
}
"""Continuous per-alliance metrics whose paired mean differences paired.csv reports, with
their headers in summary.md. mean_resolution_weeks is compared on the pairs in which both
alliances settled at least one issue (it is empty otherwise)."""


@dataclass
class Study:
    """A study run folder, read back."""

    folder: Path
    meta: dict[str, Any]
    runs: pd.DataFrame
    cells: pd.DataFrame
    failures: pd.DataFrame
    dims: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.folder.parent.name)


def cell_store(study_root: Path) -> Path:
    """Where finished cells are kept, by config hash, across runs of a study (for resuming)."""
    return study_root / ".cells"


def load_study(folder: Path) -> Study:
    """Read a study run folder: the finished cells' alliances, the cells and the failures."""
    folder = Path(folder)
    meta_path = folder / STUDY_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    cells, failures, tables = [], [], []
    for cell_dir in sorted((folder / "cells").glob("*")) if (folder / "cells").exists() else []:
        if (cell_dir / FAILURE_FILE).exists():
            failures.append(json.loads((cell_dir / FAILURE_FILE).read_text()))
            continue
        if not (cell_dir / CELL_FILE).exists():
            continue  # interrupted before it finished: the next run of the study redoes it
        cell = json.loads((cell_dir / CELL_FILE).read_text())
        table = pd.read_parquet(folder / cell["results"] / "alliances.parquet")
        front = ["cell", *cell["overrides"]]
        table["cell"] = cell_dir.name
        for key, value in cell["overrides"].items():
            table[key] = value  # the cell's override names the design (it may refine a column)
        table = table[front + [c for c in table.columns if c not in front]]
        tables.append(table)
        cells.append(
            {
                "cell": cell_dir.name,
                **cell["overrides"],
                "config_hash": cell["config_hash"],
                "status": cell["status"],
                "seconds": cell["seconds"],
            }
        )
    runs = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    dims = [k for k in meta.get("dims", []) if k in runs.columns]
    if not dims and cells:
        dims = [k for k in cells[0] if k not in ("cell", "config_hash", "status", "seconds", "seed")]
    if len(runs):
        runs = runs.sort_values(["cell", "alliance_id"], kind="stable").reset_index(drop=True)
    return Study(folder, meta, runs, pd.DataFrame(cells), pd.DataFrame(failures), dims)


def summarize(runs: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """Outcome rates by cell with 95% Wilson intervals, plus mean resolution time."""
    rows = []
    for key, group in runs.groupby(dims, sort=False, observed=True) if dims else [((), runs)]:
        key = key if isinstance(key, tuple) else (key,)
        n = len(group)
        row: dict[str, Any] = dict(zip(dims, key, strict=True))
        row["n"] = n
        ensemble = "parameter_set" in group and group["parameter_set"].nunique() > 1
        for outcome in RATE_COLUMNS:
            k = int((group["outcome"] == outcome).sum())
            lo, hi = wilson(k, n)
            row[f"{outcome}_rate"] = k / n
            row[f"{outcome}_lo"] = lo
            row[f"{outcome}_hi"] = hi
            if ensemble:  # Monte Carlo and between-set variation together (law of total variance)
                from sim.analysis.ensemble import combined_interval

                e = combined_interval(group["outcome"] == outcome, group["parameter_set"])
                row[f"{outcome}_lo_total"] = e.low
                row[f"{outcome}_hi_total"] = e.high
                row[f"{outcome}_between_share"] = e.between_share
        row["mean_resolution_weeks"] = float(group["mean_resolution_weeks"].mean())
        row["median_weeks_to_failure"] = (
            float(group.loc[group["outcome"] == "failed", "end_week"].median())
            if (group["outcome"] == "failed").any()
            else math.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, dims: list[str], baseline: dict[str, str]) -> pd.DataFrame:
    """Each design against the baseline on the same alliances under the same shocks.

    Cells share seeds, so alliance ``i`` of one cell and alliance ``i`` of the
    baseline cell with the same other settings are the same partners facing
    the same environment. The difference of their outcome indicators is
    averaged with a 95% t interval: common random numbers make it far
    tighter than a comparison of two independent rates. The continuous
    metrics of :data:`PAIRED_METRICS` get the same treatment: the mean of
    the per-alliance differences (``<metric>_diff``) with its 95% t interval
    (``<metric>_diff_lo``, ``<metric>_diff_hi``), over the pairs in which
    both values exist (``mean_resolution_weeks_pairs`` counts them for the
    resolution time, which is empty for an alliance that settled nothing).
    """
    if not baseline or not len(runs):
        return pd.DataFrame()
    base_keys = [k for k in baseline if k in dims]
    other = [k for k in dims if k not in base_keys]
    is_base = np.logical_and.reduce([runs[k].astype(str) == str(v) for k, v in baseline.items() if k in runs])
    base = runs.loc[is_base]
    rows = []
    for key, group in runs.loc[~is_base].groupby(dims, sort=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        cell = dict(zip(dims, key, strict=True))
        match = base
        for k in [*other, "seed"]:
            value = cell.get(k, group[k].iloc[0] if k in group else None)
            if k in base:
                match = match.loc[match[k] == value]
        # under an ensemble, the same alliance under the same parameter set
        pair_on = ["alliance_id", "parameter_set"] if "parameter_set" in group else ["alliance_id"]
        merged = group.merge(match, on=pair_on, suffixes=("", "_base"))
        if not len(merged):
            continue
        row: dict[str, Any] = {
            **cell,
            "baseline": ",".join(f"{k}={v}" for k, v in baseline.items()),
            "pairs": len(merged),
        }
        for outcome in ("failed", "success"):
            diff = (merged["outcome"] == outcome).astype(float) - (merged["outcome_base"] == outcome).astype(
                float
            )
            mean, lo, hi = mean_interval(diff.to_numpy())
            row[f"{outcome}_diff"] = mean
            row[f"{outcome}_diff_lo"] = lo
            row[f"{outcome}_diff_hi"] = hi
            if "parameter_set" in merged and merged["parameter_set"].nunique() > 1:
                from sim.analysis.ensemble import combined_interval

                e = combined_interval(diff, merged["parameter_set"], bounds=(-1.0, 1.0))
                row[f"{outcome}_diff_lo_total"] = e.low
                row[f"{outcome}_diff_hi_total"] = e.high
                row[f"{outcome}_diff_between_share"] = e.between_share
        for metric in PAIRED_METRICS:
            if metric not in merged or f"{metric}_base" not in merged:
                continue
            values = merged[metric].to_numpy(dtype=float, na_value=np.nan)
            base_values = merged[f"{metric}_base"].to_numpy(dtype=float, na_value=np.nan)
            both = ~(np.isnan(values) | np.isnan(base_values))
            mean, lo, hi = mean_interval(values[both] - base_values[both])
            row[f"{metric}_diff"] = mean
            row[f"{metric}_diff_lo"] = lo
            row[f"{metric}_diff_hi"] = hi
            if metric == "mean_resolution_weeks":
                row["mean_resolution_weeks_pairs"] = int(both.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def mean_interval(diff: np.ndarray) -> tuple[float, float, float]:
    """Mean of paired differences with its 95% t interval (the mean itself if it cannot vary)."""
    from statsmodels.stats.weightstats import DescrStatsW

    if not len(diff):
        return math.nan, math.nan, math.nan
    stats = DescrStatsW(diff)
    lo, hi = stats.tconfint_mean() if len(diff) > 1 and stats.std > 0 else (stats.mean, stats.mean)
    return float(stats.mean), float(lo), float(hi)


def _pct(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def headline_table(summary: pd.DataFrame, dims: list[str]) -> str:
    """Failure, success and underperformance rates with their intervals, as Markdown."""
    if "failed_lo_total" in summary:
        return ensemble_table(summary, dims)
    header = [*dims, "n", "failed (95% CI)", "success (95% CI)", "underperforming (95% CI)", "terminated"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["n"]))]
        for outcome in ("failed", "success", "underperforming"):
            cells.append(
                f"{_pct(r[f'{outcome}_rate'])} ({_pct(r[f'{outcome}_lo'])}–{_pct(r[f'{outcome}_hi'])})"
            )
        cells.append(_pct(r["terminated_rate"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ensemble_table(summary: pd.DataFrame, dims: list[str]) -> str:
    """Under an ensemble: each rate with its Monte Carlo 95% interval, its interval combining
    Monte Carlo and between-set variation, and the between-set share of that variance."""
    header = [*dims, "n"]
    for outcome in ("failed", "success"):
        header += [f"{outcome} (MC 95% CI)", f"{outcome} (MC + parameter sets 95% CI)", "between sets"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["n"]))]
        for outcome in ("failed", "success"):
            cells += [
                f"{_pct(r[f'{outcome}_rate'])} ({_pct(r[f'{outcome}_lo'])}–{_pct(r[f'{outcome}_hi'])})",
                f"{_pct(r[f'{outcome}_lo_total'])}–{_pct(r[f'{outcome}_hi_total'])}",
                f"{r[f'{outcome}_between_share']:.0%}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def hazard_peaks(runs: pd.DataFrame, by: str) -> str:
    """At which age the hazard of failure peaks, by ``by`` (Markdown): the age bin, the share of
    failures in the first 26 weeks and the hazard there against the last quarter's."""
    from sim.analysis.calibration import EARLY_WEEKS, hazard_peak_week, weeks_open

    header = [
        by,
        "failures",
        f"within {EARLY_WEEKS} weeks",
        "hazard peaks at (weeks)",
        "peak / last-quarter hazard",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, group in runs.groupby(by, sort=False, observed=True):
        failed = group["outcome"] == "failed"
        if failed.sum() < 2:
            continue
        week, peak, late = hazard_peak_week(group)
        early = float((weeks_open(group)[failed] <= EARLY_WEEKS).mean())
        ratio = f"{peak / late:.1f}" if late > 0 else "n/a"
        lines.append(f"| {label} | {int(failed.sum())} | {early:.1%} | {week} to {week + 4} | {ratio} |")
    return "\n".join(lines)


def paired_table(paired: pd.DataFrame, dims: list[str]) -> str:
    if not len(paired):
        return ""
    ensemble = "failed_diff_lo_total" in paired
    header = [*dims, "pairs", "Δ failed vs baseline (95% CI)", "Δ success vs baseline (95% CI)"]
    if ensemble:  # Monte Carlo only, then with the spread between parameter sets
        header = [*dims, "pairs"]
        for outcome in ("failed", "success"):
            header += [
                f"Δ {outcome} (MC 95% CI)",
                f"Δ {outcome} (MC + parameter sets 95% CI)",
                "between sets",
            ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in paired.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["pairs"]))]
        for outcome in ("failed", "success"):
            cells.append(_points(r[f"{outcome}_diff"], r[f"{outcome}_diff_lo"], r[f"{outcome}_diff_hi"]))
            if ensemble:
                cells.append(
                    f"{100 * r[f'{outcome}_diff_lo_total']:+.1f} to {100 * r[f'{outcome}_diff_hi_total']:+.1f}"
                )
                cells.append(f"{r[f'{outcome}_diff_between_share']:.0%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _points(mean: float, lo: float, hi: float) -> str:
    """A paired difference in percentage points, or n/a when no pair could be formed."""
    if any(v is None or math.isnan(v) for v in (mean, lo, hi)):
        return "n/a (no pairs)"
    return f"{100 * mean:+.1f} pts ({100 * lo:+.1f} to {100 * hi:+.1f})"


def paired_metrics_table(paired: pd.DataFrame, dims: list[str]) -> str:
    """Paired mean differences of the continuous per-alliance metrics, as Markdown."""
    metrics = [m for m in PAIRED_METRICS if f"{m}_diff" in paired]
    if not len(paired) or not metrics:
        return ""
    header = [*dims, "pairs", *(f"{PAIRED_METRICS[m]} (95% CI)" for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in paired.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["pairs"]))]
        for m in metrics:
            digits = {"final_trust": 3, "issues_per_week": 4}.get(m, 2)
            mean, lo, hi = (r[f"{m}_diff{s}"] for s in ("", "_lo", "_hi"))
            cells.append(
                "" if math.isnan(mean) else f"{mean:+.{digits}f} ({lo:+.{digits}f} to {hi:+.{digits}f})"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- figures
PALETTE = ("#999999", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
"""Okabe and Ito's colour-blind-safe palette (grey first, for the baseline or the lightest design)."""
HATCHES = ("", "//", "..", "xx", "\\\\", "oo", "--", "++")
OUTCOME_WORDS = {
    "failed": "Failure",
    "success": "Success",
    "underperforming": "Underperformance",
    "terminated": "Termination",
}
"""Figure titles in words: "Failure rate", not "Failed rate"."""
CADENCE_ORDER = ("none", "quarterly", "monthly", "biweekly")


def _governance_intensity(name: str) -> float | None:
    """The intensity of a named design of configs/governance/ (None for a name that is not one)."""
    from sim.defaults import compose, options
    from sim.levers import governance_intensity

    if name not in options("governance"):
        return None
    return governance_intensity(compose({"governance": name}).governance)


def logical_order(values: list[str], dim: str, baseline: dict[str, Any] | None = None) -> list[str]:
    """The values of a swept dimension in the order figures show them: the baseline first, then
    designs by governance intensity, cadences from none to bi-weekly, numbers and truth values
    ascending; anything else in the order given."""
    values = list(dict.fromkeys(str(v) for v in values))

    def rank(value: str) -> tuple[float, str]:
        if dim == "governance":
            intensity = _governance_intensity(value)
            return (math.inf if intensity is None else intensity, value)
        if dim.endswith("meeting_cadence") and value in CADENCE_ORDER:
            return (CADENCE_ORDER.index(value), value)
        if value.lower() in ("false", "true"):
            return (float(value.lower() == "true"), value)
        try:
            return (float(value), value)
        except ValueError:
            return (values.index(value), value)

    ordered = sorted(values, key=rank)
    first = str((baseline or {}).get(dim, ""))
    if first in ordered:
        ordered.remove(first)
        ordered.insert(0, first)
    return ordered


def design_colours(values: list[str], dim: str) -> dict[str, str]:
    """One colour per value, the same in every figure: a named governance design keeps its colour
    in every study (its rank among all designs by intensity); other values by their order."""
    if dim == "governance":
        from sim.defaults import options

        every = sorted(options("governance"), key=lambda n: (_governance_intensity(n) or 0.0, n))
        fixed = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(every)}
        extra = [v for v in values if v not in fixed]
        return {**fixed, **{v: PALETTE[(len(every) + i) % len(PALETTE)] for i, v in enumerate(extra)}}
    return {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(values)}


@dataclass
class Styling:
    """Order of every swept dimension's values, and the dimension whose values carry colours."""

    orders: dict[str, list[str]] = field(default_factory=dict)
    colour_by: str | None = None
    colours: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, table: pd.DataFrame, dims: list[str], colour_by: str | None, baseline: dict | None
    ) -> Styling:
        orders = {d: logical_order(list(table[d].astype(str)), d, baseline) for d in dims if d in table}
        if colour_by and colour_by in table and colour_by not in orders:
            orders[colour_by] = logical_order(list(table[colour_by].astype(str)), colour_by, baseline)
        colours = design_colours(orders[colour_by], colour_by) if colour_by in orders else {}
        return cls(orders, colour_by, colours)

    def order(self, dim: str, values: Any) -> list[str]:
        present = list(dict.fromkeys(str(v) for v in values))
        known = [v for v in self.orders.get(dim, []) if v in present]
        return known + [v for v in present if v not in known]

    def colour(self, dim: str | None, value: Any, index: int) -> str:
        if dim is not None and dim == self.colour_by and str(value) in self.colours:
            return self.colours[str(value)]
        return PALETTE[index % len(PALETTE)]


def _axes_keys(meta: dict[str, Any], dims: list[str]) -> tuple[str, str | None]:
    """The x axis and the hue of the rate figures: two different swept keys where there are two
    (a study naming only its hue gets another key on the x axis)."""
    named_hue = meta.get("hue")
    x = meta.get("x") or next((d for d in dims if d != named_hue), dims[0] if dims else "governance")
    hue = named_hue if named_hue and named_hue != x else next((d for d in dims if d != x), None)
    return x, hue


def _finish(fig, ax, path: Path, title: str, legend_title: str | None = None) -> None:
    """Grid, legend (when there is anything to label), title; save and close."""
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3)
    if legend_title is not None and ax.get_legend_handles_labels()[0]:
        ax.legend(title=legend_title, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_rates(
    summary: pd.DataFrame, x: str, hue: str | None, outcome: str, path: Path, style: Styling | None = None
) -> None:
    """Outcome rate by the x dimension, one series per hue, with 95% intervals.

    Bars take the colour of their design (the dimension ``style.colour_by``),
    whether the designs are on the x axis or in the legend; the other
    dimension is told apart by hatching.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    style = style or Styling.of(summary, [d for d in (x, hue) if d], x, None)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    order = style.order(x, summary[x])
    hues = style.order(hue, summary[hue]) if hue else [None]
    width = 0.8 / len(hues)
    colour_x = style.colour_by == x
    for i, label in enumerate(hues):
        g = summary if hue is None else summary.loc[summary[hue].astype(str) == label]
        g = g.assign(_pos=[order.index(v) for v in g[x].astype(str)]).sort_values("_pos")
        pos = g["_pos"].to_numpy() + (i - (len(hues) - 1) / 2) * width
        rate = g[f"{outcome}_rate"].to_numpy()
        err = np.vstack([rate - g[f"{outcome}_lo"].to_numpy(), g[f"{outcome}_hi"].to_numpy() - rate])
        err = np.clip(err, 0.0, None)  # an interval read back from a table may round past its rate
        colours = (
            [style.colour(x, v, order.index(v)) for v in g[x].astype(str)]
            if colour_x or hue is None
            else style.colour(hue, label, i)
        )
        hatch = HATCHES[i % len(HATCHES)] if colour_x and hue else ""
        ax.bar(pos, rate, width=width * 0.95, color=colours, hatch=hatch, edgecolor="#333333", linewidth=0.5)
        ax.errorbar(pos, rate, yerr=err, fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(range(len(order)), order)
    ax.set_xlabel(x)
    word = OUTCOME_WORDS.get(outcome, outcome.capitalize())
    ax.set_ylabel(f"{word.lower()} rate (95% CI)")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    if hue:
        handles = [
            Patch(
                facecolor="white" if colour_x else style.colour(hue, label, i),
                hatch=HATCHES[i % len(HATCHES)] if colour_x else "",
                edgecolor="#333333",
                label=label,
            )
            for i, label in enumerate(hues)
        ]
        ax.legend(handles=handles, title=hue, frameon=False)
    ax.set_title(f"{word} rate by {x}" + (f" and {hue}" if hue else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _durations(group: pd.DataFrame, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Time to failure: failures are events, every other ending or survival is censored."""
    end = group["end_week"].astype("Float64").fillna(horizon).to_numpy(dtype=float)
    event = (group["outcome"] == "failed").to_numpy()
    return end, event


def _pooled(runs: pd.DataFrame, by: str, dims: list[str] | None) -> str:
    """What a curve by ``by`` pools: the other swept dimensions and the alliances of each cell."""
    others = [d for d in (dims or []) if d != by and d in runs and runs[d].nunique() > 1]
    seeds = runs["seed"].nunique() if "seed" in runs else 1
    parts = [f"all values of {', '.join(others)}" if others else "", f"{seeds} seeds" if seeds > 1 else ""]
    pooled = " and ".join(p for p in parts if p)
    return f"pooled over {pooled}" if pooled else "all alliances of each cell"


def plot_survival(
    runs: pd.DataFrame,
    by: str,
    horizon: int,
    path: Path,
    style: Styling | None = None,
    dims: list[str] | None = None,
) -> None:
    """Kaplan-Meier curves of survival (no failure) by ``by``, with confidence bands."""
    import matplotlib.pyplot as plt
    from lifelines import KaplanMeierFitter

    style = style or Styling.of(runs, [by], by, None)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for i, label in enumerate(style.order(by, runs[by])):
        group = runs.loc[runs[by].astype(str) == label]
        durations, events = _durations(group, horizon)
        colour = style.colour(by, label, i)
        KaplanMeierFitter(label=f"{label} (n={len(group)})").fit(durations, events).plot_survival_function(
            ax=ax, ci_show=True, color=colour
        )
    ax.set_xlabel("weeks since signing")
    ax.set_ylabel("share not failed (95% band)")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, horizon)
    title = f"Survival without failure by {by} (Kaplan-Meier)\n{_pooled(runs, by, dims)}"
    _finish(fig, ax, path, title, legend_title=by)


def smoothed_hazard(durations: np.ndarray, events: np.ndarray, horizon: int, bandwidth: float) -> pd.Series:
    """Weekly hazard of failure at every age from 0 to ``horizon``: lifelines' Nelson-Aalen
    estimate smoothed with an Epanechnikov kernel of ``bandwidth`` weeks."""
    from lifelines import NelsonAalenFitter

    weeks = np.arange(0, horizon + 1, dtype=float)
    naf = NelsonAalenFitter().fit(durations, events, timeline=weeks)
    return naf.smoothed_hazard_(bandwidth).iloc[:, 0]


def plot_hazard(
    runs: pd.DataFrame,
    by: str,
    horizon: int,
    path: Path,
    bandwidth: float = 8.0,
    style: Styling | None = None,
    dims: list[str] | None = None,
) -> None:
    """Smoothed hazard of failure by alliance age: Nelson-Aalen increments smoothed with an
    Epanechnikov kernel of ``bandwidth`` weeks, evaluated every week (a curve drawn through the
    event times alone would join distant events with straight segments)."""
    import matplotlib.pyplot as plt

    style = style or Styling.of(runs, [by], by, None)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for i, label in enumerate(style.order(by, runs[by])):
        group = runs.loc[runs[by].astype(str) == label]
        durations, events = _durations(group, horizon)
        if events.sum() < 2:
            continue
        hazard = smoothed_hazard(durations, events, horizon, bandwidth)
        ax.plot(hazard.index, hazard.to_numpy(), label=label, color=style.colour(by, label, i))
    ax.set_xlabel("alliance age (weeks)")
    ax.set_ylabel("weekly hazard of failure")
    ax.set_xlim(0, horizon)
    ax.set_ylim(bottom=0)
    title = (
        f"Hazard of failure by age and {by}, {_pooled(runs, by, dims)}\n"
        f"(Nelson-Aalen, Epanechnikov kernel, bandwidth {bandwidth:g} weeks)"
    )
    _finish(fig, ax, path, title, legend_title=by)


def plot_heatmap(
    summary: pd.DataFrame, x: str, y: str, outcome: str, path: Path, style: Styling | None = None
) -> None:
    """Outcome rate over two swept dimensions, annotated with the rates (cividis: readable in
    every form of colour blindness, and in grey)."""
    import matplotlib.pyplot as plt

    style = style or Styling.of(summary, [x, y], None, None)
    table = summary.assign(**{x: summary[x].astype(str), y: summary[y].astype(str)}).pivot_table(
        index=y, columns=x, values=f"{outcome}_rate", aggfunc="mean"
    )
    table = table.reindex(index=style.order(y, table.index), columns=style.order(x, table.columns))
    fig, ax = plt.subplots(figsize=(1.2 * len(table.columns) + 3, 0.6 * len(table.index) + 2.5))
    image = ax.imshow(table.to_numpy(), cmap="cividis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        if not np.isnan(value):
            ax.text(
                j,
                i,
                f"{100 * value:.0f}%",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if value < 0.6 else "black",
            )
    word = OUTCOME_WORDS.get(outcome, outcome.capitalize())
    fig.colorbar(image, ax=ax, label=f"{word.lower()} rate")
    ax.set_title(f"{word} rate by {x} and {y}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------ report
FiguresElsewhere = Callable[[Path], Callable[[], "list[Path] | None"]]
"""Starts a study's figures in another process; what it returns waits for them (None: they
could not be drawn there)."""


def draw_figures(folder: Path, study: Study | None = None, summary: pd.DataFrame | None = None) -> list[Path]:
    """Draw a study's figures into ``folder/figures``; return them in the report's order."""
    import matplotlib

    matplotlib.use("Agg")
    study = study if study is not None else load_study(folder)
    if not len(study.runs):
        return []
    meta, dims = study.meta, study.dims
    summary = summary if summary is not None else summarize(study.runs, dims)
    baseline = meta.get("baseline") or {}
    horizon = int(meta.get("horizon_weeks") or study.runs["end_week"].max() or 156)
    figures = study.folder / "figures"
    figures.mkdir(exist_ok=True)
    x, hue = _axes_keys(meta, dims)
    survival_by = meta.get("survival_by") or x
    style = Styling.of(study.runs, dims, survival_by, baseline)  # the designs' order and colours
    made = []
    for outcome in ("failed", "success"):
        path = figures / f"{outcome}_rate_by_{x}.png"
        plot_rates(summary, x, hue, outcome, path, style)
        made.append(path)
    plot_survival(study.runs, survival_by, horizon, figures / f"survival_by_{survival_by}.png", style, dims)
    plot_hazard(
        study.runs, survival_by, horizon, figures / f"hazard_by_{survival_by}.png", style=style, dims=dims
    )
    made += [figures / f"survival_by_{survival_by}.png", figures / f"hazard_by_{survival_by}.png"]
    if hue and len(dims) >= 2:
        for outcome in ("failed", "success"):
            path = figures / f"heatmap_{outcome}_{x}_by_{hue}.png"
            plot_heatmap(summary, x, hue, outcome, path, style)
            made.append(path)
    return made


def build_report(folder: Path, figures_elsewhere: FiguresElsewhere | None = None) -> str:
    """Write the combined table, summaries and figures of a study run; return the printed table.

    ``figures_elsewhere`` draws the figures in another process meanwhile (they take most of
    the report's time); if it cannot, they are drawn here.
    """
    figures_done = figures_elsewhere(folder) if figures_elsewhere is not None else None
    study = load_study(folder)
    folder = study.folder
    meta, dims = study.meta, study.dims
    lines = [f"study {study.name}: {len(study.cells)} cells finished, {len(study.failures)} failed"]
    expected = int(meta.get("cells") or 0)
    missing = expected - len(study.cells) - len(study.failures)
    if missing > 0:  # an interrupted study: its summary covers only what finished
        lines[0] += (
            f", {missing} of {expected} missing (never finished; rerun the study's command to compute them)"
        )
    (folder / "failures.csv").unlink(missing_ok=True)  # from an earlier run into this folder
    if len(study.failures):
        study.failures.to_csv(folder / "failures.csv", index=False)
        for _, f in study.failures.iterrows():
            lines.append(f"  failed cell {f.get('cell', '?')}: {f.get('error', '')}")
    if not len(study.runs):
        text = "\n".join([*lines, "no finished cells: nothing to summarise"])
        (folder / "summary.md").write_text(text + "\n")
        return text
    study.runs.to_parquet(folder / "runs.parquet", index=False)
    summary = summarize(study.runs, dims)
    summary.to_csv(folder / "summary.csv", index=False)
    baseline = meta.get("baseline") or {}
    paired = paired_differences(study.runs, dims, baseline)
    if len(paired):
        paired.to_csv(folder / "paired.csv", index=False)
    table = headline_table(summary, dims)
    pairs = paired_table(paired, dims)
    metric_pairs = paired_metrics_table(paired, dims)
    x, _ = _axes_keys(meta, dims)
    survival_by = meta.get("survival_by") or x
    title = meta.get("title") or study.name
    md = [f"# {title}", "", meta.get("description", "").strip(), "", "## Outcome rates by cell", "", table]
    if meta.get("checks"):
        from sim.analysis.directions import checks_table

        checks, held = checks_table(study.runs, meta["checks"])
        md += ["", "## Checks (paired 95% intervals on the same alliances)", "", checks]
        lines += ["", "checks (paired 95% intervals on the same alliances):", checks]
        lines.append("all checks hold" if held else "SOME CHECKS DO NOT HOLD")
    peaks = hazard_peaks(study.runs, survival_by)
    md += ["", "## When failures happen (hazard by age, 4-week bins from week 0)", "", peaks]
    lines += ["", "when failures happen (hazard by age, 4-week bins from week 0):", peaks]
    if pairs:
        md += ["", "## Paired differences against the baseline (same alliances, same shocks)", "", pairs]
    if metric_pairs:
        md += ["", "## Paired mean differences of per-alliance metrics (95% t intervals)", "", metric_pairs]
    made = figures_done() if figures_done is not None else None
    if made is None:
        made = draw_figures(folder, study, summary)
    md += ["", "## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for p in made]
    (folder / "summary.md").write_text("\n".join(md) + "\n")
    lines += ["", table]
    if pairs:
        lines += ["", "paired differences against the baseline (same alliances, same shocks):", pairs]
    if metric_pairs:
        lines += ["", "paired mean differences of per-alliance metrics (95% t intervals):", metric_pairs]
    lines += ["", f"results: {folder}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``alliance-sim-report FOLDER``: rebuild a study's summary and figures from its results."""
    parser = argparse.ArgumentParser(
        prog="alliance-sim-report",
        description="Rebuild a study's summary tables and figures from its finished cells "
        "(nothing is simulated again).",
        epilog="example: alliance-sim-report results/governance_vs_failure/2026-11-30_10-00-00",
    )
    parser.add_argument("folder", type=Path, help="a study run folder, results/<study>/<run>")
    args = parser.parse_args(argv)
    if not (args.folder / "cells").is_dir():
        parser.error(f"{args.folder} is not a study run folder (it has no cells/ folder)")
    print(build_report(args.folder))


def console_main() -> None:
    """The ``alliance-sim-report`` command: :func:`main`, then a quick exit.

    What is still alive when the report is written is frozen out of the garbage
    collector, so the interpreter's exit skips a final scan of it.
    """
    try:
        main()
    finally:
        gc.freeze()


if __name__ == "__main__":
    console_main()
