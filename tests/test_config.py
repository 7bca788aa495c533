"""The library composes configurations without Hydra: the same results as the command line,
the same named errors, safe from many threads at once, and no Hydra import.

The command line composes with Hydra (``sim.cli.hydra_compose`` is its composition, which
enters Hydra's process-wide state and so runs in one thread at a time); every other caller
uses :func:`sim.config.load_config`. These tests hold the two to the same configuration.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import REPO_ROOT
from hydra.core.override_parser.overrides_parser import OverridesParser

import sim.config
import sim.studies.store
from sim.cli import hydra_compose
from sim.config import load_config, parse_override
from sim.defaults import GROUPS, options
from sim.params import ConfigError

OVERRIDES = [
    [],
    ["governance=full", "alliance=ecosystem", "n_alliances=300"],
    ["governance=committee", "governance.meeting_cadence=monthly", "governance.shared_kpis=true"],
    ["scenario=downturn", "scenario.value_trend=-0.003", "seed=0", "horizon_weeks=520"],
    ["launch=pilot", "launch.pilot_weeks=13", "triggers=standard", "triggers.shock_threshold=1e-1"],
    ["dynamics.base_issue_rate=.05", "market.culture_spread=0.3", "engine=mesa"],
    ["governance.name='my-charter'", "alliance.spokes=6", "alliance=ecosystem"],
    ["+experiment=situation_coopetition"],
    ["+experiment=governance_vs_failure", "governance=full", "n_alliances=77"],
    ["+experiment=situation_subsidy_shock", "scenario.shock_scale=0.2"],
    ["+experiment=triggers_vs_shocks", "scenario=calm"],
    ["governance.sunset_week=26", "horizon_weeks=26", "alliance.objective_target=2.5"],
    ["progress=false", "ensemble=calibrated", "hydra.run.dir=/tmp/elsewhere"],
    *([f"{group}={name}"] for group in GROUPS for name in options(group)),
]


@pytest.mark.parametrize("overrides", OVERRIDES, ids=[" ".join(o) or "defaults" for o in OVERRIDES])
def test_the_library_composes_what_the_command_line_composes(overrides: list[str]) -> None:
    assert load_config(overrides) == hydra_compose(overrides)


VALUES = [
    "n_alliances=500",
    "seed=0",
    "x=-3",
    "x=1_000",
    "x=0.5",
    "x=.5",
    "x=5.",
    "x=1e-3",
    "x=-2.5E+4",
    "x=inf",
    "x=-inf",
    "x=true",
    "x=FALSE",
    "x=True",
    "x=null",
    "x=NULL",
    "x=",
    "x=monthly",
    "x=my charter",
    "x='quoted, with a comma'",
    'x="double \\" quote"',
    "x=[1, 2, 3]",
    "x=[a, 'b c', [1.5, null]]",
    "x={a: 1, b: [x, y]}",
    "x=[]",
    "x=a,b,c",
    "x=1,2",
    "x='a',b",
    "x=${oc.env:HOME}",
    "x=2026",
]


@pytest.mark.parametrize("text", VALUES)
def test_values_are_read_as_hydra_reads_them(text: str) -> None:
    ours = parse_override(text)
    (theirs,) = OverridesParser.create().parse_overrides([text])
    if theirs.is_sweep_override():
        assert ours.sweep
        # Hydra hands quoted sweep elements over as QuotedString; their text is the value
        assert list(ours.values) == [getattr(v, "text", v) for v in theirs.sweep_iterator()]
    else:
        assert not ours.sweep
        value = theirs.value()
        mine = ours.value
        if isinstance(value, float) and value != value:  # nan
            assert mine != mine
        else:
            assert mine == value and type(mine) is type(value), (mine, value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["governance=ful"], "governance = ful: allowed options are committee"),
        (["n_alliances=abc"], "n_alliances = 'abc': must be an integer"),
        (["governance.shared_kpi=true"], "did you mean governance.shared_kpis"),
        (["governance.shared_kpis=1"], "governance.shared_kpis = 1: must be true or false"),
        (["~seed"], "~seed: settings cannot be deleted"),
        (["+experiment=nope"], "+experiment = nope: studies are cadence_vs_volatility"),
        (["scenario.value_trend=-0.01"], "scenario.value_trend = -0.01: a trend acts only during an episode"),
    ],
)
def test_the_library_names_the_same_errors_as_the_command_line(overrides: list[str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("+", r"\+").replace("(", r"\(")) as ours:
        load_config(overrides)
    with pytest.raises(ConfigError) as theirs:
        hydra_compose(overrides)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["governance=full,handshake"], "a sweep composes many configurations"),
        (["seed=range(1,5)"], "range(...) is a sweep"),
        (["seed"], "override seed: no value"),
        (["seed=[1"], "a list is not closed"),
        ([123], "override 123: must be text"),
        ("governance=full", "must be a list of texts"),
        (["=5"], "is not a key"),
    ],
)
def test_what_composes_no_single_configuration_is_named(overrides: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_config(overrides)  # type: ignore[arg-type]


def test_sixteen_threads_compose_at_once_and_get_the_command_lines_configurations() -> None:
    """200 compositions over 16 threads, each of its own overrides (no cache hit hides a race),
    against the command line's composition of the same overrides, made one at a time."""
    cases = [
        [f"n_alliances={100 + k}", *OVERRIDES[k % 12]]
        if not OVERRIDES[k % 12]
        else [*OVERRIDES[k % 12], f"seed={k}"]
        for k in range(200)
    ]
    expected = [hydra_compose(case) for case in cases]
    sim.config._compose.cache_clear()
    barrier = threading.Barrier(16)

    def compose(k: int) -> object:
        if k < 16:
            barrier.wait()  # the first sixteen start together
        return load_config(cases[k])

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(compose, range(200)))
    assert results == expected


def test_no_module_outside_the_command_line_imports_hydra() -> None:
    """Every module of the package but the command line's (sim/cli/) is imported, and a
    configuration composed, a study's included: neither Hydra nor OmegaConf is loaded."""
    script = (
        "import importlib, pathlib, sys, sim\n"
        "root = pathlib.Path(sim.__file__).parent\n"
        "for path in sorted(root.rglob('*.py')):\n"
        "    parts = path.relative_to(root).with_suffix('').parts\n"
        "    if parts[0] in ('cli', '_data') or parts[-1] == '__main__':\n"
        "        continue\n"
        "    importlib.import_module('.'.join(('sim', *parts)).removesuffix('.__init__'))\n"
        "sim.load_config(['governance=full', '+experiment=pilot_vs_full', 'seed=3'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('hydra', 'omegaconf')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------------ the cell store's key
@pytest.fixture
def package_copy(tmp_path, monkeypatch):
    """A copy of the package's sources that the model fingerprint reads instead."""
    import shutil

    import sim.studies.store

    copy = tmp_path / "sim"
    shutil.copytree(
        sim.studies.store.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "_data")
    )
    monkeypatch.setattr(sim.studies.store, "PACKAGE_DIR", copy)
    return copy


@pytest.mark.parametrize(
    "path",
    ["analysis/studies.py", "analysis/calibration.py", "stress/report.py", "classroom/app.py", "cli/__init__.py",
     "cli/study.py", "config.py", "validation.py", "studies/worker.py", "studies/store.py"],
)  # fmt: skip
def test_an_edit_outside_the_model_keeps_finished_cells(package_copy, path: str) -> None:
    before = sim.studies.store.model_fingerprint()
    (package_copy / path).write_text((package_copy / path).read_text() + "\n# an edit\n")
    assert sim.studies.store.model_fingerprint() == before


@pytest.mark.parametrize(
    "path",
    ["mechanisms/trust.py", "engines/cohort.py", "params.py", "environment.py", "market.py", "draws.py"],
)
def test_an_edit_to_the_model_invalidates_finished_cells(package_copy, path: str) -> None:
    before = sim.studies.store.model_fingerprint()
    (package_copy / path).write_text((package_copy / path).read_text() + "\n# an edit\n")
    assert sim.studies.store.model_fingerprint() != before
