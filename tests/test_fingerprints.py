"""Result fingerprints (``experiments/fingerprints.py``) against the committed baseline.

A few runs of the fingerprint set, with both engines, must reproduce the
baseline in ``tests/data/fingerprints.json`` exactly: the same table hashes,
row counts, outcome counts and event counts. The whole set is checked with
``python experiments/fingerprints.py``; after an intended change of results,
``--record`` writes the baseline again.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "experiments" / "fingerprints.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("fingerprints", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fingerprints", module)
    spec.loader.exec_module(module)
    return module


fingerprints = _load_script()

CASES = [
    "ecosystem-full",  # every lever of the full design, an orchestrating hub with spokes
    "coopetition-committee-triggers_sensitive-volatile",  # renegotiations, escalations, many shocks
    "complementary-handshake-pilot",  # pilot launch and scale-ups
]
SUBSET = [f"{case}/{engine}" for case in CASES for engine in fingerprints.ENGINES]


def test_the_baseline_holds_every_run_with_its_overrides():
    baseline = fingerprints.load_baseline()
    assert list(baseline) == list(fingerprints.RUNS)
    for name, overrides in fingerprints.RUNS.items():
        assert baseline[name]["overrides"] == overrides, name


def test_the_runs_cover_every_option_and_both_engines():
    overrides = {o for run in fingerprints.RUNS.values() for o in run}
    for group in ("alliance", "scenario", "launch", "triggers"):
        for option in sorted((REPO / "configs" / group).glob("*.yaml")):
            if option.stem not in ("complementary", "calm", "full", "design"):  # the defaults
                assert f"{group}={option.stem}" in overrides, f"{group}={option.stem}"
    for design in ("handshake", "meetings", "committee", "full"):
        for kind in ("complementary", "coopetition", "ecosystem"):
            assert f"{kind}-{design}/reference" in fingerprints.RUNS
            assert f"{kind}-{design}/vectorized" in fingerprints.RUNS
    assert {o for o in overrides if o.startswith("engine=")} == {"engine=reference", "engine=vectorized"}


@pytest.mark.slow
@pytest.mark.parametrize("name", SUBSET)
def test_results_match_the_baseline(name):
    baseline = fingerprints.load_baseline()[name]
    assert fingerprints.differences(baseline, fingerprints.run(name)) == []
