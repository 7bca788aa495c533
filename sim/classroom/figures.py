"""The classroom's pictures: the market network and the live charts, drawn with matplotlib.

Both figures are built once per session and updated in place each week (new colours, new line
data), then rendered to PNG: the layout of the network is computed once, at the start, so firms
and alliances stay where the class saw them. Colours are colour-blind safe: health on the
viridis scale, series in the Okabe-Ito palette, charter A solid and charter B dashed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from PIL import Image

from sim.classroom.session import HEALTH_PARTS, ending_label
from sim.engines.mesa_model import AllianceModel

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
HEALTH_COLOURS = matplotlib.colormaps["viridis"]
ENDED = "#b0b0b0"
CHARTER_STYLE = {"A": "-", "B": "--"}
OUTCOME_COLOURS = {
    "success": OKABE_ITO[2],
    "failed": OKABE_ITO[5],
    "terminated": OKABE_ITO[1],
    "underperforming": OKABE_ITO[3],
}
DPI = 72


def to_png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


LIVE_FORMAT = "jpeg"
"""Live frames are JPEG: encoding one takes a fifth of the time of the lightest PNG, and at
quality 92 lines and labels stay crisp. The debrief's figures are PNG."""


class Blitter:
    """Redraws only what moves: the still parts of a figure (axes, ticks, firms, legends) are
    drawn once into a background, and each week only the moving artists are drawn over a copy
    of it (matplotlib's blitting), then encoded as a JPEG frame."""

    def __init__(
        self, fig: Figure, moving: Sequence[Any], dpi: float = DPI, overlay: Sequence[Any] = ()
    ) -> None:
        self.fig = fig
        self.dpi = dpi
        self.canvas = FigureCanvasAgg(fig)
        fig.set_dpi(dpi)
        self.moving = list(moving)
        self.overlay = list(overlay)  # changes now and then: drawn over the background, kept
        for artist in [*self.moving, *self.overlay]:
            artist.set_animated(True)
        self.background: Any = None
        self.with_overlay: Any = None

    def invalidate(self) -> None:
        """The still parts changed (new axis limits): draw them again next time."""
        self.background = None
        self.with_overlay = None

    def invalidate_overlay(self) -> None:
        """The overlay changed: draw it again over the kept background next time."""
        self.with_overlay = None

    def frame(self) -> bytes:
        if self.background is None:
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        if self.with_overlay is None:
            self.canvas.restore_region(self.background)
            for artist in self.overlay:
                self.fig.draw_artist(artist)
            self.with_overlay = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self.with_overlay)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format=LIVE_FORMAT, quality=92)
        return buffer.getvalue()

    def full_png(self, dpi: int = 120) -> bytes:
        """The whole figure drawn afresh, at print resolution (for the debrief)."""
        for artist in [*self.moving, *self.overlay]:
            artist.set_animated(False)
        try:
            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png", dpi=dpi)
        finally:
            for artist in [*self.moving, *self.overlay]:
                artist.set_animated(True)
            self.fig.set_dpi(self.dpi)
            self.invalidate()
        return buffer.getvalue()


def layout(model: AllianceModel) -> dict[int, np.ndarray]:
    """Fixed positions of the firms, computed once per session: a Kamada-Kawai layout of the
    market (who knows whom) in which allied firms are pulled closer together."""
    graph = nx.Graph(model.market)
    for u, v in graph.edges:
        graph.edges[u, v]["distance"] = 1.0
    for a in model.alliances:
        for partner in a.firm[1:]:
            graph.add_edge(int(a.firm[0]), int(partner), distance=0.6)
    positions: dict[int, np.ndarray] = nx.kamada_kawai_layout(graph, weight="distance")
    return positions


def beside(u: np.ndarray, v: np.ndarray, points: float = 8.0) -> tuple[float, float]:
    """An offset (in points) that sets a label beside the line from ``u`` to ``v``, not on it."""
    dx, dy = float(v[0] - u[0]), float(v[1] - u[1])
    norm = float(np.hypot(dx, dy)) or 1.0
    return (-dy / norm * points, dx / norm * points)


class NetworkPicture:
    """Firms as dots, alliances as lines (a hub with its spokes), coloured by relationship health;
    ended alliances greyed, dashed and labelled with their ending."""

    def __init__(
        self, model: AllianceModel, positions: Mapping[int, np.ndarray], title: str, dpi: float = DPI
    ) -> None:
        self.model = model
        self.positions = positions
        self.fig = Figure(figsize=(6.0, 4.6))
        ax = self.fig.add_axes((0.1, 0.0, 0.9, 0.93))
        ax.set_axis_off()
        self.ax = ax
        self.name = title
        self.title = self.fig.suptitle(title, fontsize=11)
        self.segments: list[list[tuple[np.ndarray, np.ndarray]]] = []
        flat, owner = [], []
        for a in model.alliances:
            hub = positions[int(a.firm[0])]
            for partner in a.firm[1:]:
                flat.append((hub, positions[int(partner)]))
                owner.append(a.index)
        self.owner = np.array(owner)
        self.lines = LineCollection(flat, linewidths=3.0, zorder=1)
        ax.add_collection(self.lines)
        xy = np.array([positions[f] for f in range(len(model.firms))])
        ax.scatter(xy[:, 0], xy[:, 1], s=70, color="#333333", zorder=2)
        for f, (x, y) in enumerate(xy):
            ax.annotate(
                str(f), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=7, color="#333333"
            )
        self.centres = {
            a.index: np.mean([positions[int(f)] for f in a.firm], axis=0) for a in model.alliances
        }
        self.labels = {
            a.index: ax.annotate(
                "",
                (float(self.centres[a.index][0]), float(self.centres[a.index][1])),
                xytext=beside(positions[int(a.firm[0])], positions[int(a.firm[1])]),
                textcoords="offset points",
                fontsize=7,
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8},
            )
            for a in model.alliances
        }
        pad = 0.15
        ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
        ax.set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
        sm = matplotlib.cm.ScalarMappable(cmap=HEALTH_COLOURS, norm=matplotlib.colors.Normalize(0.0, 1.0))
        bar = self.fig.colorbar(sm, cax=self.fig.add_axes((0.03, 0.15, 0.02, 0.65)))
        bar.set_label("relationship health", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        self.shown: tuple[Any, ...] = ()
        self.blitter = Blitter(self.fig, [self.lines, self.title], dpi, overlay=list(self.labels.values()))

    def update(self, selected: int | None = None) -> None:
        colours: list[Any] = []
        widths: list[float] = []
        styles: list[Any] = []
        for index in self.owner:
            a = self.model.alliances[index]
            if a.alive:
                colours.append(HEALTH_COLOURS(float(a.health)))
                styles.append("solid")
            else:
                colours.append(ENDED)
                styles.append("dashed")
            widths.append(6.0 if index == selected else 2.5)
        self.lines.set_color(colours)
        self.lines.set_linewidth(widths)
        self.lines.set_linestyle(styles)
        self.title.set_text(f"{self.name} · week {self.model.week_index}")
        # labels change only when an alliance ends or another is selected: they are drawn again
        # (over the kept background, beside the lines) only then
        shown = (selected, tuple(bool(a.alive) for a in self.model.alliances))
        if shown != self.shown:
            self.shown = shown
            for a in self.model.alliances:
                label = self.labels[a.index]
                label.set_text(f"#{a.index}" if a.alive else f"#{a.index} {ending_label(a)}")
                label.set_fontweight("bold" if a.index == selected else "normal")
            self.blitter.invalidate_overlay()

    def frame(self, selected: int | None = None) -> bytes:
        self.update(selected)
        return self.blitter.frame()

    def full_png(self, selected: int | None = None) -> bytes:
        self.update(selected)
        return self.blitter.full_png()


CHARTS = (
    ("share_active", "share still active", ("share_active",)),
    ("mean_trust", "mean trust", ("trust",)),
    ("health_parts", "health index by part", HEALTH_PARTS),
    ("open_issues", "open issues per alliance", ("open_issues",)),
    ("effort", "proactive vs reactive effort", ("proactive_effort", "reactive_effort")),
    ("outcomes", "outcomes so far", ("success", "failed", "terminated", "underperforming")),
)


FIXED_SCALE = ("share_active", "mean_trust", "health_parts")


class ChartsPicture:
    """The six live charts, for charter A (solid) and, side by side, charter B (dashed)."""

    def __init__(self, charters: Sequence[str], n_alliances: int, horizon: int) -> None:
        self.horizon = horizon
        self.n_alliances = n_alliances
        self.fig = Figure(figsize=(9.0, 5.0))
        axes = self.fig.subplots(2, 3)
        self.fig.subplots_adjust(left=0.06, right=0.99, top=0.88, bottom=0.09, wspace=0.28, hspace=0.42)
        self.lines: dict[tuple[str, str, str], Any] = {}
        self.axes = {}
        for ax, (key, title, columns) in zip(axes.flat, CHARTS, strict=True):
            ax.set_title(title, fontsize=9)
            ax.tick_params(labelsize=7)
            self.axes[key] = ax
            for charter in charters:
                for i, column in enumerate(columns):
                    colour = OUTCOME_COLOURS.get(column, OKABE_ITO[i % len(OKABE_ITO)])
                    label = column.replace("_", " ") if charter == charters[0] else None
                    (line,) = ax.plot([], [], CHARTER_STYLE[charter], color=colour, lw=1.6, label=label)
                    self.lines[(key, charter, column)] = line
            if len(columns) > 1:
                ax.legend(
                    fontsize=6,
                    loc="lower left" if key == "health_parts" else "upper left",
                    ncol=2 if key == "health_parts" else 1,
                    frameon=False,
                )
            ax.set_xlim(0, min(26, horizon))
            ax.set_ylim(0.0, 1.02 if key in FIXED_SCALE else (n_alliances if key == "outcomes" else 1.0))
        if len(charters) > 1:
            self.fig.suptitle("charter A solid, charter B dashed", fontsize=9)
        for ax in axes[1]:
            ax.set_xlabel("week", fontsize=8)
        self.blitter = Blitter(self.fig, list(self.lines.values()))

    def update(self, series: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        top: dict[str, float] = {}
        last_week = 0
        for (key, charter, column), line in self.lines.items():
            rows = series[charter]
            ys = [r[column] for r in rows]
            line.set_data([r["week"] for r in rows], ys)
            last_week = max(last_week, rows[-1]["week"])
            finite = [y for y in ys if y == y]
            if finite:
                top[key] = max(top.get(key, 0.0), max(finite))
        # axes grow in steps (a new background only then), so most weeks only the lines move
        for key, ax in self.axes.items():
            right = ax.get_xlim()[1]
            if last_week > right:
                while last_week > right:
                    right = min(self.horizon, 2 * right)
                ax.set_xlim(0, right)
                self.blitter.invalidate()
            if key not in FIXED_SCALE and key != "outcomes" and top.get(key, 0.0) > ax.get_ylim()[1]:
                ax.set_ylim(0.0, 2.0 * top[key])
                self.blitter.invalidate()

    def frame(self, series: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
        self.update(series)
        return self.blitter.frame()
