"""A session as the class sees it: the models and their pictures, redrawn week by week.

Kept apart from the Solara page so that a script (``experiments/classroom_speed.py``) and the
tests step and redraw exactly what the page does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.classroom.figures import DPI, ChartsPicture, NetworkPicture, layout
from sim.classroom.presets import Preset
from sim.classroom.session import Classroom, Setup, charter_name


def setup_of(preset: Preset, replay: bool = True) -> Setup:
    """The setup a preset starts from (with charter B when the replay is side by side)."""
    return Setup(
        seed=preset.seed,
        n_alliances=preset.n_alliances,
        market=preset.market,
        charter_a=preset.charter_a,
        charter_b=preset.charter_b if replay else None,
    )


NETWORK_DPI = {1: 2 * DPI, 2: DPI}
"""Resolution of the live network by the number of charters shown side by side."""


@dataclass
class ClassroomView:
    """One session and its pictures: the network of each charter (one fixed layout) and the charts."""

    room: Classroom
    networks: dict[str, NetworkPicture] = field(init=False)
    charts: ChartsPicture = field(init=False)

    def __post_init__(self) -> None:
        first = self.room.models["A"]
        positions = layout(first)
        # one network fills the width the two share side by side: drawn finer, so it stays sharp
        dpi = NETWORK_DPI[len(self.room.models)]
        self.networks = {
            c: NetworkPicture(m, positions, f"charter {c}: {charter_name(m.config)}", dpi)
            for c, m in self.room.models.items()
        }
        self.charts = ChartsPicture(
            self.room.setup.charters, first.config.n_alliances, first.config.horizon_weeks
        )

    @classmethod
    def start(cls, setup: Setup) -> ClassroomView:
        return cls(Classroom(setup))

    def network_frames(self, selected: int | None = None) -> dict[str, bytes]:
        """The live network of each charter, as JPEG frames."""
        return {c: picture.frame(selected) for c, picture in self.networks.items()}

    def charts_frame(self) -> bytes:
        """The live charts, as a JPEG frame."""
        return self.charts.frame(self.room.series)

    def figures(self) -> dict[str, bytes]:
        """Full-resolution figures for the debrief."""
        out = {f"network_{c}.png": picture.full_png() for c, picture in self.networks.items()}
        self.charts.update(self.room.series)
        out["charts.png"] = self.charts.blitter.full_png()
        return out
