"""Pictures of a participatory class: the class network for the console, a team's trajectory for
its page (both SVG text, drawn in microseconds at fixed positions) and the debrief figure (each
alliance as played against the same alliance under a handshake, the committee and the full
framework, on the same draws)."""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence

from sim.classroom.figures import ENDED, health_colour
from sim.classroom.game import CLASS, DESIGNS, ClassGame, outcome_words

PLAYED_COLOUR = "#000000"


def design_palette() -> dict[str, str]:
    """The designs' colours of every study figure (a design keeps its colour), the class in black."""
    from sim.analysis.study_figures import design_colours

    return {CLASS: PLAYED_COLOUR, **design_colours(list(DESIGNS), "governance")}


def class_network_svg(game: ClassGame, width: int = 960) -> str:
    """Every alliance of the class as a group of its firms, at fixed places in a grid: the line
    between partners coloured by the alliance's health, an ended alliance grey and labelled with
    how it ended; each firm with its team's name."""
    model = game.models[CLASS]
    hub = game.n_partners > 2
    columns = max(1, min(3 if hub else 5, math.ceil(math.sqrt(game.n_alliances * 1.6))))
    rows = math.ceil(game.n_alliances / columns)
    radius = 62.0 if hub else 0.0  # spokes around the hub, on an ellipse twice as wide
    cell_w, cell_h = width / columns, 130 + 2 * radius + 20 * hub
    height = rows * cell_h + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="the class network: each alliance coloured by its health">'
    ]
    for i, a in enumerate(model.alliances):
        cx = (i % columns + 0.5) * cell_w
        cy = (i // columns) * cell_h + 72 + radius + 10 * hub
        seats = [s for s in game.seats if s.alliance == i]
        points = []
        for k, seat in enumerate(seats):
            x: float
            y: float
            if len(seats) == 2:
                x, y = cx + (-cell_w * 0.27 if k == 0 else cell_w * 0.27), cy
            elif k == 0:
                x, y = cx, cy
            else:
                angle = 2 * math.pi * (k - 1) / (len(seats) - 1) - math.pi / 2
                x, y = cx + min(2.2 * radius, 0.4 * cell_w) * math.cos(angle), cy + radius * math.sin(angle)
            points.append((x, y, seat))
        ended = not a.alive
        colour = ENDED if ended else health_colour(float(a.health))
        hub_x, hub_y, _ = points[0]
        for x, y, seat in points[1:]:
            active = bool(a.active[seat.slot]) and not ended
            dash = "" if active else ' stroke-dasharray="6 5"'
            out.append(
                f'<line x1="{hub_x:.1f}" y1="{hub_y:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" '
                f'stroke-width="{9 if active else 4}"{dash}/>'
            )
        for x, y, seat in points:
            fill = "#ffffff" if seat.team is None else "#e8f1fa"
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="13" fill="{fill}" stroke="#333" stroke-width="2"/>'
            )
            label = html.escape((seat.team or "computer")[:18])
            out.append(
                f'<text x="{x:.1f}" y="{y + 30:.1f}" font-size="14" text-anchor="middle" '
                f'font-family="sans-serif">{label}</text>'
            )
        words = outcome_words(a) if ended else f"health {a.health:.2f}"
        tint = "#555" if ended else "#111"
        room = cell_w - 16
        fit = f' textLength="{room:.0f}" lengthAdjust="spacingAndGlyphs"' if 7.5 * len(words) > room else ""
        out.append(
            f'<text x="{cx:.1f}" y="{cy - radius - 10 * hub - 40:.1f}" font-size="15" font-weight="600" text-anchor="middle" '
            f'font-family="sans-serif" fill="{tint}">alliance {i}</text>'
            f'<text x="{cx:.1f}" y="{cy - radius - 10 * hub - 22:.1f}" font-size="14" text-anchor="middle" '
            f'font-family="sans-serif" fill="{tint}"{fit}>{html.escape(words)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def trajectory_svg(
    history: Sequence[tuple[int, float, float, float]], width: int = 560, height: int = 190
) -> str:
    """A team's alliance week by week: trust and health (0 to 1)."""
    if len(history) < 2:
        return ""
    weeks = [h[0] for h in history]
    last = max(weeks[-1], 1)
    pad_l, pad_b, pad_t = 36, 24, 26

    def x(week: float) -> float:
        return pad_l + (width - pad_l - 10) * week / last

    def y(value: float) -> float:
        return pad_t + (height - pad_t - pad_b) * (1.0 - min(max(value, 0.0), 1.0))

    palette = {"trust": "#0072B2", "health": "#E69F00"}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        'role="img" aria-label="trust and health of your alliance, week by week" font-family="sans-serif">',
        f'<line x1="{pad_l}" y1="{y(0):.1f}" x2="{width - 10}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<text x="4" y="{y(1) + 5:.1f}" font-size="12">1</text><text x="4" y="{y(0):.1f}" font-size="12">0</text>',
        f'<text x="{width - 10}" y="{height - 4}" font-size="12" text-anchor="end">week {weeks[-1]}</text>',
    ]
    for column, (name, colour) in enumerate(palette.items(), start=1):
        points = " ".join(f"{x(h[0]):.1f},{y(h[column]):.1f}" for h in history)
        dash = "" if name == "trust" else ' stroke-dasharray="7 4"'
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="3"{dash} points="{points}"/>')
        out.append(
            f'<text x="{pad_l + 90 * (column - 1)}" y="16" font-size="14" fill="{colour}">— {name}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def debrief_png(game: ClassGame) -> bytes:
    """Each alliance's health week by week as played (black) and under each design on the same
    draws, one panel an alliance, its ending under each in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from sim.classroom.game import series

    palette = design_palette()
    styles = {CLASS: "-", "handshake": "--", "committee": "-.", "full": ":"}
    names = {CLASS: "as played", "handshake": "handshake", "committee": "committee", "full": "full framework"}
    n = game.n_alliances
    columns = min(5, n)
    rows = math.ceil(n / columns)
    figure = Figure(figsize=(3.4 * columns, 2.5 * rows + 0.6), layout="constrained", dpi=100)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True, sharey=True)
    with game.lock:
        for i in range(rows * columns):
            ax = axes[i // columns][i % columns]
            if i >= n:
                ax.set_visible(False)
                continue
            lines = series(game, i, "health")
            for name in (CLASS, *DESIGNS):
                data = lines[name]
                ending = outcome_words(game.models[name].alliances[i])
                ax.plot(
                    data[:, 0],
                    data[:, 1],
                    styles[name],
                    color=palette[name],
                    lw=2.2 if name == CLASS else 1.6,
                    label=f"{names[name]}: {ending}",
                )
            teams = " / ".join((s.team or "computer")[:12] for s in game.seats if s.alliance == i)
            ax.set_title(f"{i}: {teams}", fontsize=9)
            ax.set_ylim(0, 1)
            ax.legend(fontsize=6.5, loc="lower left", frameon=False)
    figure.supxlabel("week")
    figure.supylabel("relationship health")
    figure.suptitle("Each alliance as played, and on the same draws under three charters")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
