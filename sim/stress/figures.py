"""The stress report's figures, each returned as an inline PNG (base64): outcomes, survival
against the benchmarks, the tornado of stressors, clause changes, causes and early warnings.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd

from sim.stress.analysis import SURVIVAL_RUNS

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
RUN_COLOURS = dict(
    zip(SURVIVAL_RUNS, (OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["green"]), strict=True)
)
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
