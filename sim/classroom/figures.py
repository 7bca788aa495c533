"""The classroom's pictures: the market network (SVG) and one chart per idea (matplotlib).

The network is drawn as SVG: firms as dots, alliances as lines (a hub with its spokes) coloured
by relationship health on the viridis scale, ended alliances grey and dashed with how they
ended. Its layout is computed once per session, so firms and alliances stay where the class saw
them; its text is text, sharp on a projector at any size, and a frame is a few kilobytes.

Each chart shows one idea (alliances still running, relationship health, open issues, effort,
outcomes, the parts of health), charter A solid and charter B dashed, in colours that are
colour-blind safe (Okabe-Ito). A chart is drawn once and updated in place each week: only the
lines are drawn again over a kept background (matplotlib's blitting), then encoded as JPEG.
Its text is sized for the pixels it is shown at (``CHART_PX``): 15 px and more.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from PIL import Image

from sim.classroom.session import HEALTH_PARTS, ending_label
from sim.engines.mesa_model import AllianceModel

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
HEALTH_COLOURS = matplotlib.colormaps["viridis"]
ENDED = "#9a9a9a"
CHARTER_COLOUR = {"A": OKABE_ITO[0], "B": OKABE_ITO[1]}
CHARTER_STYLE = {"A": "-", "B": "--"}
OUTCOME_COLOURS = {
    "success": OKABE_ITO[2],
    "failed": OKABE_ITO[5],
    "terminated": OKABE_ITO[1],
    "underperforming": OKABE_ITO[3],
}
LIVE_FORMAT = "jpeg"
"""Live chart frames are JPEG: encoding one takes a fifth of the time of the lightest PNG, and
at quality 92 lines and labels stay crisp. The debrief's figures are PNG and SVG."""

CHART_DPI = 100
CHART_PX = (600, 300)
"""A chart's size in pixels, which the page shows it at (never wider): its text is then
``CHART_FONT_PT * CHART_DPI / 72`` pixels high."""
CHART_FONT_PT = 11.0  # 15.3 px at 100 dpi
NETWORK_WIDTH = 1000.0
NETWORK_SHAPES = {"wide": 650.0, "tall": 900.0}
"""The network's height in SVG units, by shape: wide for one charter, tall for two side by side."""
NETWORK_FONT = 26.0
"""The network's text in SVG units: 16.6 px when the network is 640 px wide on the screen (two
networks side by side on a 1920-wide screen); firm numbers are 0.85 of it."""


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


def health_colour(health: float) -> str:
    return to_hex(HEALTH_COLOURS(float(np.clip(health, 0.0, 1.0))))


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return not (self.x1 <= other.x0 or other.x1 <= self.x0 or self.y1 <= other.y0 or other.y1 <= self.y0)


def text_box(x: float, y: float, text: str, size: float) -> Box:
    """The box a label centred on (x, y) takes (characters about 0.56 of the font size wide)."""
    half_w = 0.56 * size * len(text) / 2 + 4
    half_h = 0.62 * size
    return Box(x - half_w, y - half_h, x + half_w, y + half_h)


class NetworkSvg:
    """The live network of one charter as SVG, on positions fixed for the session."""

    def __init__(
        self, model: AllianceModel, positions: Mapping[int, np.ndarray], shape: str = "wide"
    ) -> None:
        self.model = model
        self.height = NETWORK_SHAPES[shape]
        xy = np.array([positions[f] for f in range(len(model.firms))])
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        margin_x, margin_top, margin_bottom = 70.0, 40.0, 60.0
        width = NETWORK_WIDTH - 2 * margin_x
        height = self.height - margin_top - margin_bottom
        self.points = {
            f: (
                margin_x + (float(p[0]) - lo[0]) / span[0] * width,
                margin_top + (1.0 - (float(p[1]) - lo[1]) / span[1]) * height,
            )
            for f, p in positions.items()
        }
        self.segments = [
            (a.index, self.points[int(a.firm[0])], self.points[int(partner)])
            for a in model.alliances
            for partner in a.firm[1:]
        ]
        self._firms = self._draw_firms()
        self._legend = self._draw_legend()
        self._labels: tuple[Any, ...] = ()
        self._label_svg = ""

    def _draw_firms(self) -> str:
        out = []
        for f, (x, y) in self.points.items():
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="10" fill="#333333"/>')
            out.append(
                f'<text x="{x + 12:.1f}" y="{y - 10:.1f}" class="firm" font-size="{NETWORK_FONT * 0.85:.1f}"'
                f' fill="#333333">{f}</text>'
            )
        return "".join(out)

    def _draw_legend(self) -> str:
        stops = "".join(
            f'<stop offset="{t:.2f}" stop-color="{health_colour(t)}"/>' for t in np.linspace(0, 1, 9)
        )
        y = self.height - 24
        size = NETWORK_FONT * 0.85
        return (
            f'<defs><linearGradient id="health">{stops}</linearGradient></defs>'
            f'<text x="10" y="{y + 8:.0f}" font-size="{size:.1f}" fill="#333">health: poor</text>'
            f'<rect x="175" y="{y - 9:.0f}" width="180" height="18" fill="url(#health)"/>'
            f'<text x="365" y="{y + 8:.0f}" font-size="{size:.1f}" fill="#333">good</text>'
            f'<line x1="460" y1="{y:.0f}" x2="515" y2="{y:.0f}" stroke="{ENDED}" stroke-width="5"'
            ' stroke-dasharray="12 8"/>'
            f'<text x="525" y="{y + 8:.0f}" font-size="{size:.1f}" fill="#333">ended</text>'
        )

    def _place_labels(self, selected: int | None) -> str:
        """Each alliance's label beside its line, moved along it or across it until it overlaps
        no label already placed (the ended ones first: their words matter most)."""
        alliances = sorted(self.model.alliances, key=lambda a: (a.alive, a.index))
        placed: list[Box] = [
            text_box(x + 20, y - 10, "00", NETWORK_FONT * 0.85) for x, y in self.points.values()
        ]
        out = []
        for a in alliances:
            hub = self.points[int(a.firm[0])]
            other = self.points[int(a.firm[1])]
            text = f"#{a.index}" if a.alive else f"#{a.index} {ending_label(a)}"
            size = NETWORK_FONT
            dx, dy = other[0] - hub[0], other[1] - hub[1]
            norm = float(np.hypot(dx, dy)) or 1.0
            nx_, ny_ = -dy / norm, dx / norm
            best = None
            for along in (0.5, 0.35, 0.65, 0.2, 0.8):
                for side in (1.0, -1.0, 2.2, -2.2):
                    x = hub[0] + along * dx + side * nx_ * size * 0.9
                    y = hub[1] + along * dy + side * ny_ * size * 0.9
                    box = text_box(x, y, text, size)
                    if not any(box.overlaps(p) for p in placed):
                        best = (x, y, box)
                        break
                if best is not None:
                    break
            if best is None:
                x, y = hub[0] + 0.5 * dx + nx_ * size, hub[1] + 0.5 * dy + ny_ * size
                best = (x, y, text_box(x, y, text, size))
            x, y, box = best
            x = min(max(x, box.x1 - box.x0), NETWORK_WIDTH - (box.x1 - box.x0) / 2)
            placed.append(text_box(x, y, text, size))
            weight = "bold" if a.index == selected else "normal"
            colour = "#222222" if a.alive else "#5a5a5a"
            out.append(
                f'<text x="{x:.1f}" y="{y:.1f}" class="alliance-label" font-size="{size:.1f}"'
                f' font-weight="{weight}" text-anchor="middle" dominant-baseline="middle"'
                f' fill="{colour}" paint-order="stroke" stroke="white" stroke-width="5">'
                f"{html.escape(text)}</text>"
            )
        return "".join(out)

    def svg(self, selected: int | None = None) -> str:
        """The network as it stands this week."""
        alliances = self.model.alliances
        lines = []
        for index, (x0, y0), (x1, y1) in self.segments:
            a = alliances[index]
            width = 10.0 if index == selected else 5.0
            if a.alive:
                style = f'stroke="{health_colour(float(a.health))}" stroke-width="{width}"'
            else:
                style = f'stroke="{ENDED}" stroke-width="{width * 0.8}" stroke-dasharray="12 8"'
            lines.append(
                f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" {style}'
                f' stroke-linecap="round"><title>alliance {index}</title></line>'
            )
        # labels move only when an alliance ends or another is selected
        shown = (selected, tuple(bool(a.alive) for a in alliances))
        if shown != self._labels:
            self._labels = shown
            self._label_svg = self._place_labels(selected)
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {NETWORK_WIDTH:.0f} {self.height:.0f}"'
            f' class="network" data-week="{self.model.week_index}"'
            ' preserveAspectRatio="xMidYMin meet" font-family="sans-serif"'
            ' style="width:100%;height:100%">'
            + "".join(lines)
            + self._firms
            + self._label_svg
            + self._legend
            + "</svg>"
        )


class Blitter:
    """Redraws only what moves: the still parts of a figure (axes, ticks, legends) are drawn
    once into a background, and each week only the moving artists are drawn over a copy of it
    (matplotlib's blitting), then encoded as a JPEG frame."""

    def __init__(self, fig: Figure, moving: Sequence[Any], dpi: float) -> None:
        self.fig = fig
        self.dpi = dpi
        self.canvas = FigureCanvasAgg(fig)
        fig.set_dpi(dpi)
        self.moving = list(moving)
        for artist in self.moving:
            artist.set_animated(True)
        self.background: Any = None

    def invalidate(self) -> None:
        """The still parts changed (new axis limits): draw them again next time."""
        self.background = None

    def frame(self) -> bytes:
        if self.background is None:
            self.canvas.draw()
            self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.canvas.restore_region(self.background)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format=LIVE_FORMAT, quality=92)
        return buffer.getvalue()

    def full_png(self, dpi: int = 150) -> bytes:
        """The whole figure drawn afresh, at print resolution (for the debrief)."""
        for artist in self.moving:
            artist.set_animated(False)
        try:
            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png", dpi=dpi)
        finally:
            for artist in self.moving:
                artist.set_animated(True)
            self.fig.set_dpi(self.dpi)
            self.invalidate()
        return buffer.getvalue()


@dataclass(frozen=True)
class ChartSpec:
    """One idea, one chart: its title, the weekly columns it draws and how its axis scales."""

    key: str
    title: str
    columns: tuple[str, ...]
    ylabel: str
    scale: str  # "share" (0 to 1), "count" (0 to the alliances), "grows" (doubles when outgrown)
    charters: tuple[str, ...] = ("A", "B")


CHARTS = (
    ChartSpec("running", "Alliances still running", ("running",), "alliances", "count"),
    ChartSpec("running_A", "Alliances still running", ("running",), "alliances", "count", ("A",)),
    ChartSpec("health", "Relationship health of the running alliances", ("health",), "mean health", "share"),
    ChartSpec("issues", "Open issues per running alliance", ("open_issues",), "issues", "grows"),
    ChartSpec(
        "effort",
        "Effort: planned governance against firefighting",
        ("proactive_effort", "reactive_effort"),
        "person-weeks so far",
        "grows",
    ),
    ChartSpec(
        "outcomes",
        "How the alliances ended so far",
        ("failed", "terminated", "success", "underperforming"),
        "alliances",
        "count",
    ),
    ChartSpec(
        "parts_A", "Charter A: which part of health falls first", HEALTH_PARTS, "mean", "share", ("A",)
    ),
    ChartSpec(
        "parts_B", "Charter B: which part of health falls first", HEALTH_PARTS, "mean", "share", ("B",)
    ),
)
CHART_BY_KEY = {c.key: c for c in CHARTS}
MAIN_CHART = "running"
"""The main outcome chart, shown on every live page (``running_A`` when only charter A is)."""

SERIES_LABELS = {
    "proactive_effort": "planned (proactive)",
    "reactive_effort": "firefighting (reactive)",
    "decision_efficiency": "decisions",
    "conflict_resolution": "conflicts",
    "value_perception": "value",
}


class ChartPicture:
    """One live chart, charter A solid and charter B dashed."""

    def __init__(self, spec: ChartSpec, charters: Sequence[str], n_alliances: int, horizon: int) -> None:
        self.spec = spec
        self.horizon = horizon
        self.charters = [c for c in spec.charters if c in charters]
        width, height = CHART_PX
        self.fig = Figure(figsize=(width / CHART_DPI, height / CHART_DPI))
        ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.13, right=0.98, top=0.82, bottom=0.2)
        ax.tick_params(labelsize=CHART_FONT_PT)
        ax.set_xlabel("week", fontsize=CHART_FONT_PT)
        ax.set_ylabel(spec.ylabel, fontsize=CHART_FONT_PT)
        ax.grid(True, color="#e6e6e6", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        self.ax = ax
        self.lines: dict[tuple[str, str], Any] = {}
        one = len(spec.columns) == 1
        for charter in self.charters:
            for i, column in enumerate(spec.columns):
                label: str | None
                if one:
                    colour = CHARTER_COLOUR[charter]
                    label = f"charter {charter}"
                else:
                    colour = OUTCOME_COLOURS.get(column, OKABE_ITO[i % len(OKABE_ITO)])
                    label = (
                        SERIES_LABELS.get(column, column.replace("_", " "))
                        if charter == self.charters[0]
                        else None
                    )
                (line,) = ax.plot([], [], CHARTER_STYLE[charter], color=colour, lw=2.4, label=label)
                self.lines[(charter, column)] = line
        handles = [h for h in ax.get_lines() if not str(h.get_label()).startswith("_")]
        if len(handles) > 1:
            ncol = len(handles) if len(handles) <= 4 else 3
            ax.legend(
                fontsize=CHART_FONT_PT,
                loc="lower left",
                bbox_to_anchor=(0.0, 1.0),
                ncol=ncol,
                frameon=False,
                handlelength=1.6,
                columnspacing=1.0,
                borderaxespad=0.1,
            )
        if not one and len(self.charters) > 1:
            ax.text(
                1.0, -0.3, "A solid, B dashed", transform=ax.transAxes, ha="right", fontsize=CHART_FONT_PT
            )
        ax.set_xlim(0, min(26, horizon))
        if spec.scale == "share":
            ax.set_ylim(0.0, 1.02)
        elif spec.scale == "count":
            ax.set_ylim(0.0, n_alliances * 1.04)
        else:
            ax.set_ylim(0.0, 1.0)
        self.blitter = Blitter(self.fig, list(self.lines.values()), CHART_DPI)

    def update(self, series: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        top = 0.0
        last_week = 0
        for (charter, column), line in self.lines.items():
            rows = series[charter]
            ys = [r[column] for r in rows]
            line.set_data([r["week"] for r in rows], ys)
            last_week = max(last_week, rows[-1]["week"])
            finite = [y for y in ys if y == y]
            if finite:
                top = max(top, max(finite))
        # the axes grow in steps (a new background only then), so most weeks only the lines move
        right = self.ax.get_xlim()[1]
        if last_week > right:
            while last_week > right:
                right = min(self.horizon, 2 * right)
            self.ax.set_xlim(0, right)
            self.blitter.invalidate()
        if self.spec.scale == "grows" and top > self.ax.get_ylim()[1]:
            self.ax.set_ylim(0.0, 2.0 * top)
            self.blitter.invalidate()

    def frame(self, series: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
        self.update(series)
        return self.blitter.frame()

    def full_png(self, series: Mapping[str, Sequence[Mapping[str, Any]]]) -> bytes:
        self.update(series)
        return self.blitter.full_png()
