"""Intervals on outcome rates contain the rate, and the rate figures draw them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from sim.analysis.study_figures import plot_rates
from sim.analysis.summaries import wilson


@pytest.mark.parametrize(("k", "n"), [(0, 2000), (2000, 2000), (0, 1500), (3, 2000), (1, 7)])
def test_wilson_interval_contains_the_share(k, n):
    lo, hi = wilson(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_rate_figure_with_an_outcome_that_never_happens(tmp_path):
    # 0 of 2,000: statsmodels puts the Wilson lower bound at about 1e-19, above the rate
    rows = []
    for design, k in (("handshake", 0), ("full", 12)):
        lo, hi = wilson(k, 2000)
        rows.append(
            {"governance": design, "terminated_rate": k / 2000, "terminated_lo": lo, "terminated_hi": hi}
        )
    path = tmp_path / "rates.png"
    plot_rates(pd.DataFrame(rows), "governance", None, "terminated", path)
    assert path.stat().st_size > 0
