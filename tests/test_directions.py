"""Model-level directions the default model must show (DESIGN.md, P1 to P3), at fixed seeds.

Designs are loaded through the real configs; 300 alliances over the default
three-year horizon on the reference engine. The tests check directions with
honest significance levels, not the calibration numbers themselves.
"""

from __future__ import annotations

from functools import cache

import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from sim.config import load_config
from sim.runner import run_cohort

N = 300

pytestmark = pytest.mark.slow


@cache
def alliances(design: str) -> pd.DataFrame:
    config = load_config([f"governance={design}", f"n_alliances={N}", "engine=mesa", "seed=0"])
    assert config.horizon_weeks == 156
    return run_cohort(config).alliances


def test_handshake_alliances_fall_short_more_often_than_full_framework():
    """Alliances without governance fail or underperform significantly more often than
    alliances under the full framework (one-sided two-proportion z-test, p < 0.01)."""
    handshake, full = alliances("handshake"), alliances("full")
    short = [int((handshake["outcome"] != "success").sum()), int((full["outcome"] != "success").sum())]
    assert short[0] / N > short[1] / N
    _, p = proportions_ztest(short, [N, N], alternative="larger")
    assert p < 0.01


def test_meetings_with_decision_rights_settle_issues_faster_than_handshake():
    """Bi-weekly meetings with decision rights cut the mean issue-resolution time
    (Welch t-test and Mann-Whitney, one-sided, p < 0.01)."""
    meetings = alliances("meetings")["mean_resolution_weeks"].dropna()
    handshake = alliances("handshake")["mean_resolution_weeks"].dropna()
    assert len(meetings) > N * 0.9 and len(handshake) > N * 0.9
    assert meetings.mean() < handshake.mean()
    welch = stats.ttest_ind(meetings, handshake, equal_var=False, alternative="less")
    assert welch.pvalue < 0.01
    mann_whitney = stats.mannwhitneyu(meetings, handshake, alternative="less")
    assert mann_whitney.pvalue < 0.01
