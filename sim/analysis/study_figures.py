"""A study's figures: rates by design, survival, hazard by age and heatmaps.

The designs keep their order and colour in every figure (:class:`Styling`: Okabe and Ito's
colour-blind-safe palette; a governance design keeps its colour across studies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.studies import Study, load_study, summarize

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
