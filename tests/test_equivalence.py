"""The two engines are one model: same seed and config, same trajectories.

Per-alliance results, events and the weekly time series must be identical to the
last bit: both engines run the same mechanism functions (sim/mechanisms/) on the
same weekly draws, and both sum the weekly cohort means alliance by alliance.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sim.engines.cohort
from sim.config import load_config
from sim.runner import run_cohort

TYPES = ["complementary", "coopetition", "ecosystem"]
DESIGNS = ["handshake", "meetings", "committee", "full"]
LAUNCHES = ["full", "pilot"]
SCENARIOS = ["calm", "volatile", "regulatory_shock", "downturn"]


def differences(ref, vec) -> list[str]:
    """Names of the tables and columns in which two results differ."""
    out = []
    a, b = ref.alliances, vec.alliances
    for column in a.columns:
        if column in ("value_by_partner", "firms"):
            same = all(np.array_equal(x, y) for x, y in zip(a[column], b[column], strict=True))
        else:
            same = a[column].equals(b[column])
        if not same:
            out.append(f"alliances.{column}")
    if not ref.events.equals(vec.events):
        out.append("events")
    ts_a = ref.timeseries.to_numpy(float)
    ts_b = vec.timeseries.to_numpy(float)
    if not np.array_equal(ts_a, ts_b, equal_nan=True):
        out.append("timeseries")
    return out


def both_engines(overrides: list[str]):
    config = load_config([*overrides, "progress=false"])
    return run_cohort(config.replace(engine="mesa")), run_cohort(config.replace(engine="cohort"))


def cell(alliance: str, governance: str, launch: str, scenario: str, n: int = 40) -> list[str]:
    return [
        f"alliance={alliance}",
        f"governance={governance}",
        f"launch={launch}",
        f"scenario={scenario}",
        f"n_alliances={n}",
        "seed=11",
    ]


# A covering set: every type, design, launch and scenario appears, and every
# design meets every type; the full product runs as a slow test.
COVERING = [
    (t, g, LAUNCHES[(i + j) % 2], SCENARIOS[(i + 2 * j) % 4])
    for i, t in enumerate(TYPES)
    for j, g in enumerate(DESIGNS)
]


@pytest.mark.parametrize(("alliance", "governance", "launch", "scenario"), COVERING)
def test_engines_agree(alliance, governance, launch, scenario):
    ref, vec = both_engines(cell(alliance, governance, launch, scenario))
    assert differences(ref, vec) == []
    assert len(ref.alliances) == 40


@pytest.mark.slow
@pytest.mark.parametrize(
    ("alliance", "governance", "launch", "scenario"),
    list(itertools.product(TYPES, DESIGNS, LAUNCHES, SCENARIOS)),
)
def test_engines_agree_everywhere(alliance, governance, launch, scenario):
    ref, vec = both_engines(cell(alliance, governance, launch, scenario, n=25))
    assert differences(ref, vec) == []


def test_engines_agree_when_firms_hold_several_alliances():
    """Shared firms couple alliances (commitment split, reputation spill-over)."""
    overrides = [
        "alliance=ecosystem",
        "governance=committee",
        "scenario=volatile",
        "market.alliances_per_firm=4",
        "n_alliances=60",
        "seed=5",
    ]
    ref, vec = both_engines(overrides)
    memberships = np.bincount(np.concatenate(ref.alliances["firms"].to_list()))
    assert memberships.max() >= 3, "the market should make some firms hold several alliances"
    assert (ref.events["kind"] == "partner_exit").any()
    assert differences(ref, vec) == []


def test_engines_agree_with_sunset_and_sensitive_triggers():
    overrides = [
        "alliance=coopetition",
        "governance=committee",
        "governance.sunset_week=80",
        "governance.health_check_weeks=6",
        "governance.ip_guardrails=true",
        "triggers=sensitive",
        "scenario=downturn",
        "n_alliances=50",
    ]
    ref, vec = both_engines(overrides)
    assert (ref.events["kind"] == "renegotiation").any()
    assert differences(ref, vec) == []


@pytest.mark.parametrize("alliance", ["complementary", "ecosystem"])
def test_engines_agree_with_monthly_realignment_reviews(alliance):
    """Realignment at every review: its trust gain and the wind-down by agreement."""
    overrides = [
        f"alliance={alliance}",
        "governance=handshake",
        "governance.strategic_alignment=true",
        "governance.health_check_weeks=4",
        "dynamics.strategy_drift=0.03",
        "n_alliances=60",
        "seed=3",
    ]
    ref, vec = both_engines(overrides)
    assert differences(ref, vec) == []
    never, _ = both_engines([*overrides, "dynamics.agreed_exit_fraction=1.0"])
    moved = ref.alliances["outcome"] != never.alliances["outcome"]
    assert moved.any(), "some alliances should be wound down by agreement"


def test_comparison_detects_one_perturbed_coefficient(monkeypatch):
    """The equivalence check is not vacuous: change one constant in one engine and it fails."""
    overrides = cell("complementary", "handshake", "full", "calm", n=60)
    ref, _ = both_engines(overrides)
    params_of = sim.engines.cohort.params_record_of

    def perturbed(config):  # the cohort engine's coefficients only
        rate = config.dynamics.trust_per_gap * 1.001
        return params_of(config.replace(dynamics={"trust_per_gap": rate}))

    monkeypatch.setattr(sim.engines.cohort, "params_record_of", perturbed)
    vec = run_cohort(load_config([*overrides, "engine=cohort"]))
    assert "alliances.final_trust" in differences(ref, vec)


def test_cli_engines_write_identical_outcome_columns(tmp_path):
    """alliance-sim engine=mesa and engine=cohort give the same outcome columns."""
    import subprocess
    import sys

    tables = {}
    for engine in ("mesa", "cohort"):
        out = tmp_path / engine
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sim.cli",
                f"engine={engine}",
                "seed=5",
                "n_alliances=60",
                "progress=false",
                f"hydra.run.dir={out}",
            ],
            check=True,
            capture_output=True,
        )
        tables[engine] = pd.read_parquet(out / "alliances.parquet")
    columns = ["alliance_id", "outcome", "end_week", "failure_mode", "failure_cause", "final_trust"]
    pd.testing.assert_frame_equal(tables["mesa"][columns], tables["cohort"][columns])


UNCOMPILED = """
import sys
import pandas as pd
from sim.config import load_config
from sim.runner import run_cohort
result = run_cohort(load_config(sys.argv[1:]))
print(pd.util.hash_pandas_object(result.alliances.astype(str)).sum(), len(result.events))
print(pd.util.hash_pandas_object(result.events.astype(str)).sum())
"""


def test_the_cohort_engine_gives_the_same_tables_uncompiled():
    """With numba switched off, the cohort engine runs the mechanisms as plain Python and
    gives the tables it gives compiled: no formula depends on being compiled."""
    overrides = [
        *cell("ecosystem", "full", "pilot", "volatile", n=12),
        "horizon_weeks=60",
        "engine=cohort",
    ]
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    plain = subprocess.run(
        [sys.executable, "-c", UNCOMPILED, *overrides], env=env, capture_output=True, text=True, check=True
    )
    compiled = run_cohort(load_config(overrides))
    expected = (
        f"{pd.util.hash_pandas_object(compiled.alliances.astype(str)).sum()} {len(compiled.events)}\n"
        f"{pd.util.hash_pandas_object(compiled.events.astype(str)).sum()}"
    )
    assert plain.stdout.strip() == expected
