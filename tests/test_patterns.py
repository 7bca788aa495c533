"""The calibrated defaults reproduce the reference patterns P1 to P4 on seeds never used in fitting.

The fit used seed 11 and the calibration report validated on seed 20261123;
these tests use other seeds. Each pattern must lie within its tolerance (the
design brief's band) widened by the sampling error of the measurement (1.96
standard errors, read off its 95% interval): a cohort of finite size can miss
a true value inside the band by that much and no more, 95 times in 100.
"""

from __future__ import annotations

import pytest

from sim.analysis.calibration import TARGETS, TYPES, measure, run_pattern_cohorts
from sim.cli import load_config

FRESH_SEEDS = (404, 9001)
N = 4000


@pytest.fixture(scope="module", params=FRESH_SEEDS)
def measured(request):
    return measure(run_pattern_cohorts(load_config, N, request.param))


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS, ids=[t.pattern for t in TARGETS])
def test_pattern_within_tolerance_on_a_fresh_seed(measured, target):
    m = measured[target.pattern]
    standard_error = (m.high - m.low) / (2 * 1.96)
    allowed = target.tolerance + 1.96 * standard_error
    assert abs(m.value - target.target) <= allowed, (
        f"{target.pattern}: simulated {m.value:.3f} (95% CI {m.low:.3f} to {m.high:.3f}), "
        f"target {target.target} +- {target.tolerance} (+ sampling error {1.96 * standard_error:.3f})"
    )


@pytest.mark.slow
def test_full_framework_success_keeps_the_order_of_types(measured):
    """P4: complementary > ecosystem > co-opetition."""
    values = [measured[f"P4 {kind}"].value for kind in TYPES]
    assert values == sorted(values, reverse=True), dict(zip(TYPES, values, strict=True))
