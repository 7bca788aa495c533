"""Study figures: designs in a logical order, one colour per design everywhere, words in titles,
colour-blind-safe colour maps, a survival figure that says what it pools, a hazard without
artificial segments."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from sim.analysis import studies
from sim.analysis.study_figures import (
    PALETTE,
    Styling,
    design_colours,
    logical_order,
    plot_hazard,
    plot_heatmap,
    plot_rates,
    plot_survival,
    smoothed_hazard,
)


def test_designs_come_baseline_first_then_by_governance_intensity():
    swept = ["committee", "full", "handshake", "meetings"]  # the cells' alphabetical order
    assert logical_order(swept, "governance", {"governance": "handshake"}) == [
        "handshake",
        "meetings",
        "committee",
        "full",
    ]
    every = ["heavy", "light", "meetings_committee", "full", "handshake", "committee", "meetings"]
    assert logical_order(every, "governance") == [
        "handshake",
        "light",
        "meetings",
        "committee",
        "meetings_committee",
        "full",
        "heavy",
    ]
    assert logical_order(["0.5", "0.05", "0.15"], "scenario.shock_scale") == ["0.05", "0.15", "0.5"]
    assert logical_order(["true", "false"], "governance.shared_kpis") == ["false", "true"]
    assert logical_order(["monthly", "none", "biweekly"], "governance.meeting_cadence") == [
        "none",
        "monthly",
        "biweekly",
    ]
    assert logical_order(["standard", "off", "sensitive"], "triggers", {"triggers": "off"})[0] == "off"


def test_a_design_has_the_same_colour_in_every_study():
    one = design_colours(["handshake", "meetings", "committee", "full"], "governance")
    other = design_colours(["handshake", "full", "heavy"], "governance")
    for name in ("handshake", "full"):
        assert one[name] == other[name]
    assert len(set(one.values())) == len(one)
    assert set(one.values()) <= set(PALETTE)


def runs_table() -> pd.DataFrame:
    """Two designs x two types; failures cluster at weeks 10-12 and 100-102 only."""
    rng = np.random.default_rng(1)
    rows = []
    for governance in ("full", "handshake"):
        for alliance in ("complementary", "ecosystem"):
            for i in range(200):
                failed = rng.random() < (0.5 if governance == "handshake" else 0.2)
                week = int(rng.choice([10, 11, 12, 100, 101, 102])) if failed else None
                rows.append(
                    {
                        "governance": governance,
                        "alliance": alliance,
                        "seed": 0,
                        "alliance_id": i,
                        "outcome": "failed" if failed else "success",
                        "end_week": week,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture
def drawn(monkeypatch):
    """The figures each plot saves, kept open for inspection."""
    figures: list[Figure] = []

    def keep(self, *args, **kwargs):
        figures.append(self)

    monkeypatch.setattr(Figure, "savefig", keep)
    monkeypatch.setattr("matplotlib.pyplot.close", lambda *a, **k: None)
    return figures


def test_hazard_is_evaluated_every_week_with_no_segment_across_a_gap_in_events():
    runs = runs_table()
    durations = runs["end_week"].fillna(156).to_numpy(float)
    events = (runs["outcome"] == "failed").to_numpy()
    hazard = smoothed_hazard(durations, events, 156, bandwidth=8.0)
    assert list(hazard.index) == list(range(157))
    # no failure between weeks 12 and 100: beyond one bandwidth from them the hazard is zero,
    # not a straight line from the last early event to the first late one
    assert (hazard.loc[21:91] == 0).all()
    assert hazard.loc[11] > 0 and hazard.loc[101] > 0


def test_figures_use_the_designs_order_colours_and_words(drawn, tmp_path):
    runs = runs_table()
    dims = ["governance", "alliance"]
    style = Styling.of(runs, dims, "governance", {"governance": "handshake"})
    summary = studies.summarize(runs.assign(mean_resolution_weeks=1.0), dims)
    plot_rates(summary, "governance", "alliance", "failed", tmp_path / "a.png", style)
    plot_survival(runs, "governance", 156, tmp_path / "b.png", style, dims)
    plot_hazard(runs, "governance", 156, tmp_path / "c.png", style=style, dims=dims)
    plot_heatmap(summary, "governance", "alliance", "failed", tmp_path / "d.png", style)
    rates, survival, hazard, heatmap = (fig.axes[0] for fig in drawn)

    assert rates.get_title() == "Failure rate by governance and alliance"
    assert [t.get_text() for t in rates.get_xticklabels()] == ["handshake", "full"]
    colours = design_colours(["handshake", "full"], "governance")
    bar_colours = {matplotlib.colors.to_hex(p.get_facecolor()) for p in rates.patches}
    assert bar_colours == {colours["handshake"].lower(), colours["full"].lower()}

    assert "pooled over all values of alliance" in survival.get_title()
    lines = [line for line in survival.get_lines() if line.get_label().startswith(("handshake", "full"))]
    assert [line.get_label().split(" ")[0] for line in lines] == ["handshake", "full"]
    assert [matplotlib.colors.to_hex(line.get_color()) for line in lines] == [
        colours["handshake"].lower(),
        colours["full"].lower(),
    ]

    assert "Nelson-Aalen" in hazard.get_title() and "bandwidth 8 weeks" in hazard.get_title()
    assert [line.get_label() for line in hazard.get_lines()] == ["handshake", "full"]

    assert heatmap.images[0].get_cmap().name == "cividis"
    assert heatmap.get_title() == "Failure rate by governance and alliance"
    assert [t.get_text() for t in heatmap.get_xticklabels()] == ["handshake", "full"]
