"""A session as the class sees it: the models and their pictures, redrawn week by week.

Kept apart from the Solara page so that a script (``experiments/classroom_speed.py``) and the
tests step and redraw exactly what the page does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sim.classroom.figures import CHART_BY_KEY, CHARTS, MAIN_CHART, ChartPicture, NetworkSvg, layout
from sim.classroom.presets import Preset
from sim.classroom.session import Classroom, Setup


def setup_of(preset: Preset, replay: bool = True) -> Setup:
    """The setup a preset starts from (with charter B when the replay is side by side)."""
    return Setup(
        seed=preset.seed,
        n_alliances=preset.n_alliances,
        market=preset.market,
        charter_a=preset.charter_a,
        charter_b=preset.charter_b if replay else None,
    )


@dataclass
class ClassroomView:
    """One session and its pictures: the network of each charter (one fixed layout) and the
    charts, each drawn only when asked for (a page draws what it shows)."""

    room: Classroom
    networks: dict[tuple[str, str], NetworkSvg] = field(init=False)
    charts: dict[str, ChartPicture] = field(init=False)

    def __post_init__(self) -> None:
        first = self.room.models["A"]
        self.positions = layout(first)
        self.networks = {}
        self.charts = {}

    @classmethod
    def start(cls, setup: Setup) -> ClassroomView:
        return cls(Classroom(setup))

    def network(self, charter: str, selected: int | None = None, shape: str = "wide") -> str | None:
        """The live network of a charter as SVG, wide or tall (None: this session has no such
        charter); every shape of every charter on the same positions of the firms."""
        model = self.room.models.get(charter)
        if model is None:
            return None
        picture = self.networks.get((charter, shape))
        if picture is None:
            picture = self.networks[(charter, shape)] = NetworkSvg(model, self.positions, shape)
        return picture.svg(selected)

    def chart_picture(self, key: str) -> ChartPicture | None:
        """A chart, made the first time it is shown (None: not drawn for this session's charters)."""
        picture = self.charts.get(key)
        charters = self.room.setup.charters
        spec = CHART_BY_KEY[key]
        if picture is None and any(c in charters for c in spec.charters):
            config = self.room.models["A"].config
            picture = self.charts[key] = ChartPicture(
                spec, charters, config.n_alliances, config.horizon_weeks
            )
        return picture

    def chart(self, key: str) -> bytes | None:
        """A live chart as a JPEG frame (None: not drawn for this session's charters)."""
        picture = self.chart_picture(key)
        return None if picture is None else picture.frame(self.room.series)

    def frames(
        self, networks: Iterable[str], charts: Iterable[str], selected: int | None = None, shape: str = "wide"
    ) -> dict[str, str | bytes | None]:
        """What a page shows this week: ``network_A`` ... and ``chart_running`` ..."""
        out: dict[str, str | bytes | None] = {}
        for charter in networks:
            out[f"network_{charter}"] = self.network(charter, selected, shape)
        for key in charts:
            if key not in CHART_BY_KEY:
                raise KeyError(f"no chart {key!r}; charts: {', '.join(CHART_BY_KEY)}")
            out[f"chart_{key}"] = self.chart(key)
        return out

    def figures(self) -> dict[str, bytes]:
        """Full-resolution figures for the debrief: each network as SVG, each chart as PNG."""
        out = {f"network_{c}.svg": (self.network(c) or "").encode() for c in self.room.models}
        for spec in CHARTS:
            picture = self.chart_picture(spec.key)
            if picture is not None and spec.key != f"{MAIN_CHART}_A":
                out[f"chart_{spec.key}.png"] = picture.full_png(self.room.series)
        return out
