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
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})  # laid out when made
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_outcomes(outcomes: dict[str, dict[str, float]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.0), layout="constrained")
    left = 0.0
    for name, colour in OUTCOME_COLOURS.items():
        share = outcomes[name]["estimate"]
        ax.barh(0, share, left=left, color=colour, edgecolor="white", label=f"{name} {share:.0%}")
        left += share
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of alliances like this one")
    fig.legend(ncol=4, loc="outside lower center", frameon=False)
    return _png(fig)


RUN_STYLES = {"charter as written": "-", "handshake": "--", "full framework": ":"}
"""Each survival curve drawn in its own line style too, so none hides under another."""


def figure_survival(curves: pd.DataFrame) -> str:
    return _png(draw_survival(curves))


def draw_survival(curves: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    for name, colour in RUN_COLOURS.items():
        c = curves[curves["run"] == name]
        width = 2.6 if name == "charter as written" else 1.8
        ax.step(
            c["week"], c["survival"], where="post", color=colour, label=name, lw=width, ls=RUN_STYLES[name]
        )
        ax.fill_between(c["week"], c["low"], c["high"], step="post", color=colour, alpha=0.15, lw=0)
    # scaled to the data: a chart of lines all in the top 5% must not be drawn from 0
    low = float(np.nanmin(curves["low"])) if len(curves) else 0.0
    span = max(1.0 - low, 0.02)
    ax.set_ylim(max(0.0, low - 0.08 * span), 1.0 + 0.04 * span)
    ax.set_xlim(0, float(curves["week"].max()) if len(curves) else 1)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}" if span > 0.1 else f"{v:.1%}"))
    ax.set_xlabel("weeks since signing")
    ax.set_ylabel("share of alliances not failed")
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.patches import Patch

    handles.append(Patch(color=OKABE_ITO["grey"], alpha=0.3))
    labels.append("95% interval")
    ax.legend(handles, labels, loc="lower left", fontsize=8)
    ax.set_title(
        "Survival: this charter against the same partners on a handshake and under the full framework",
        fontsize=9,
    )
    return fig


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
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.8), layout="constrained")
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
    ax.set_xlabel("change in failure probability against the charter as written\n(95% interval)")
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
    fig, ax = plt.subplots(figsize=(7, 0.38 * len(rows) + 1.4), layout="constrained")
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
    ax.set_xlabel(
        "paired change in failure probability (95% interval)\ngreen helps, vermillion hurts, grey no clear effect"
    )
    return _png(fig)


def figure_causes(causes: list[dict[str, Any]]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.4 * max(1, len(causes)) + 1.2), layout="constrained")
    rows = causes[::-1]
    ax.barh(range(len(rows)), [c["share"] for c in rows], color=OKABE_ITO["vermillion"])
    ax.set_yticks(range(len(rows)), [c["cause"].replace("_", " ") for c in rows])
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_xlabel("share of failures with this primary cause")
    if not rows:
        ax.text(0.5, 0.5, "no failures", transform=ax.transAxes, ha="center")
    return _png(fig)


def figure_early_warning(warning: dict[str, Any]) -> str:
    return _png(draw_early_warning(warning))


def draw_early_warning(warning: dict[str, Any]) -> Any:
    import matplotlib.pyplot as plt

    series = pd.DataFrame(warning["series"])
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.4), sharex=True, layout="constrained")
    for ax, name in zip(axes, ("trust", "health"), strict=True):
        x = -series["weeks_before"]
        ax.plot(
            x,
            series[f"{name}_failed_mean"],
            color=OKABE_ITO["vermillion"],
            lw=2,
            label="alliances that failed (mean)",
        )
        ax.fill_between(
            x,
            series[f"{name}_failed_q25"],
            series[f"{name}_failed_q75"],
            color=OKABE_ITO["vermillion"],
            alpha=0.2,
            lw=0,
            label="middle half of the alliances that failed",
        )
        ax.plot(
            x,
            series[f"{name}_others_mean"],
            color=OKABE_ITO["blue"],
            lw=2,
            ls="--",
            label="the others at the same age (mean)",
        )
        title = "trust" if name == "trust" else "relationship health index"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("weeks before failure")
        ax.set_ylabel(f"{title} (0 to 1)")
        ax.set_ylim(0, 1)
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def figure_frontier(points: list[dict[str, Any]], currency_per_week: tuple[str, float] | None = None) -> str:
    """Failure against effort for the charter, every single change and every bundle; the
    efficient frontier joined by a line, its points named."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
    kinds = {
        "single": ("o", OKABE_ITO["blue"], "single change"),
        "bundle": ("s", OKABE_ITO["orange"], "bundle of two or three"),
        "charter": ("*", "black", "charter as written"),
    }
    for kind, (marker, colour, label) in kinds.items():
        rows = [p for p in points if p["kind"] == kind]
        if rows:
            ax.scatter(
                [p["effort_person_weeks"] for p in rows],
                [p["failure"] for p in rows],
                marker=marker,
                s=110 if kind == "charter" else 34,
                color=colour,
                edgecolor="white",
                linewidth=0.5,
                label=label,
                zorder=3,
            )
    front = [p for p in points if p["on_frontier"]]
    if len(front) > 1:
        ax.plot(
            [p["effort_person_weeks"] for p in front],
            [p["failure"] for p in front],
            color=OKABE_ITO["green"],
            lw=1.5,
            label="efficient frontier",
            zorder=2,
        )
    for i, p in enumerate(front):
        if p["kind"] != "charter":
            ax.annotate(
                str(i + 1),
                (p["effort_person_weeks"], p["failure"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=8,
            )
    ax.axvline(0, color=OKABE_ITO["grey"], lw=0.8)
    ax.yaxis.set_major_formatter(
        plt.FuncFormatter(
            lambda v, _: f"{v:.0%}" if max((p["failure"] for p in points), default=1) > 0.1 else f"{v:.1%}"
        )
    )
    ax.set_xlabel("change in effort, person-weeks per alliance over the horizon (negative: saved)")
    ax.set_ylabel("failure probability")
    if currency_per_week is not None:
        currency, rate = currency_per_week
        top = ax.secondary_xaxis(
            "top", functions=(lambda v: np.asarray(v) * rate, lambda v: np.asarray(v) / rate)
        )
        top.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        top.set_xlabel(f"change in cost ({currency})")
    ax.legend(fontsize=8, loc="upper right")
    return _png(fig)


LABEL_CHARS = 60
"""A label from the charter (a partner's name) is cut to this in a figure; the tables keep it whole."""


def short(label: str) -> str:
    """``label`` cut to :data:`LABEL_CHARS`; in "partner: field" the partner's name is cut, so the
    field stays readable."""
    if len(label) <= LABEL_CHARS:
        return label
    head, sep, tail = label.rpartition(": ")
    room = LABEL_CHARS - len(sep) - len(tail) - 1
    if head and room >= 8:
        return head[:room] + "\u2026" + sep + tail
    return label[: LABEL_CHARS - 1] + "\u2026"


def figure_inputs(inputs: list[dict[str, Any]], stressors: list[dict[str, Any]]) -> str:
    """The charter's own ranges (failure at each end, paired swing) beside the moderate grade of
    every built-in stressor, on one scale: which uncertainty matters most."""
    import matplotlib.pyplot as plt

    rows = [
        (short(f"{r['label']} ({r['low']:g} to {r['high']:g})"), r["swing"], OKABE_ITO["blue"])
        for r in inputs
    ]
    grade = "moderate" if any(s["severity"] == "moderate" for s in stressors) else None
    rows += [
        (f"stressor: {s['label']}", s["delta_failure"], OKABE_ITO["vermillion"])
        for s in stressors
        if s["severity"] == grade and not s.get("note")
    ]
    rows.sort(key=lambda r: abs(r[1]["estimate"]))
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * max(1, len(rows)) + 1.5), layout="constrained")
    if rows:
        bars_with_intervals(
            ax, np.arange(len(rows)), [r[1] for r in rows], color=[r[2] for r in rows], height=0.6
        )
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=8)
    else:
        ax.text(0.5, 0.5, "nothing uncertain to rank", transform=ax.transAxes, ha="center")
        ax.set_yticks([])
    ax.axvline(0, color="black", lw=0.8)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:+.0f} pts"))
    ax.set_xlabel(
        "change in failure probability (95% interval)\na range: from its low to its high end; a stressor: at moderate severity"
    )
    from matplotlib.patches import Patch

    ax.legend(
        [Patch(color=OKABE_ITO["blue"]), Patch(color=OKABE_ITO["vermillion"])],
        ["the charter's own range", "built-in stressor (moderate)"],
        fontsize=8,
        loc="lower right",
    )
    return _png(fig)
