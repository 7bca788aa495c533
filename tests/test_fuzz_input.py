"""Fuzzing what people type: overrides and study files.

Whatever the input, a failure is the project's own error: ``ConfigError``
from Python, and from the command line one ``alliance-sim: error:`` line with
a non-zero exit and no traceback. Inputs are drawn near the valid ones
(misspelt keys, values of other types, Hydra syntax, interpolations, long
strings) so that most examples reach deep into the checks.
"""

from __future__ import annotations

import contextlib
import io
import string
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.defaults import GROUPS, options
from sim.params import ConfigError
from sim.studies.files import check_study_file, load_study_file
from sim.validation import EXPERIMENT_DIR
from sim.validation import settings as all_settings

KEYS = sorted([*all_settings(), *GROUPS, "progress", "+experiment"])
OPTIONS = sorted({o for g in GROUPS for o in options(g)} | {"governance_vs_failure", "pilot_vs_full"})
ODD = [
    "",
    "null",
    "[1",
    "{a: 1}",
    "a,b",
    "${x}",
    "${oc.env:HOME}",
    "'q",
    "1e400",
    "nan",
    "-0",
    "[]",
    "x" * 300,
]


def _mutated(text: str) -> st.SearchStrategy[str]:
    """A key with one character dropped, doubled or replaced."""
    return st.integers(0, max(len(text) - 1, 0)).flatmap(
        lambda i: st.sampled_from(
            [text[:i] + text[i + 1 :], text[:i] + text[i] * 2 + text[i + 1 :], text[:i] + "_" + text[i + 1 :]]
        )
    )


keys = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).flatmap(_mutated),
    st.text(alphabet=string.ascii_lowercase + "._+~", min_size=1, max_size=20),
)
values = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "True", "0", "1"]),
    st.sampled_from(OPTIONS),
    st.sampled_from(ODD),
    st.text(alphabet=string.printable.strip(), max_size=12),
)
overrides = st.lists(st.builds(lambda k, v: f"{k}={v}", keys, values), max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(overrides)
def test_load_config_fails_only_with_the_projects_error(items):
    try:
        config = sim.load_config(items)
    except ConfigError as error:
        assert str(error)
    else:
        assert isinstance(config, sim.SimulationConfig)


SMALL = ("n_alliances", "horizon_weeks", "engine")


@contextlib.contextmanager
def in_process(tmp_path: Path):
    """Run the console command here, with Hydra reset and the outputs in tmp_path."""
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err
    GlobalHydra.instance().clear()


def run_console(argv: list[str], tmp_path: Path) -> tuple[int, str, str]:
    import sim.cli

    old = sys.argv
    sys.argv = ["alliance-sim", *argv]
    code: int | str | None = 0
    try:
        with in_process(tmp_path) as (out, err):
            try:
                sim.cli.console_main()
            except SystemExit as stop:
                code = stop.code
    finally:
        sys.argv = old
    return (0 if code is None else code), out.getvalue(), err.getvalue()  # type: ignore[return-value]


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(overrides.filter(lambda items: not any(i.lstrip("+~").startswith(SMALL) for i in items)))
def test_the_command_line_fails_only_with_its_own_one_line_error(tmp_path_factory, items):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    argv = [*items, "n_alliances=5", "horizon_weeks=2", f"hydra.run.dir={tmp_path}/run"]
    code, out, err = run_console(argv, tmp_path)
    assert "Traceback" not in out + err, (items, err)
    if code != 0:
        assert code == 2, (items, code, err)
        assert err.startswith("alliance-sim: error: "), (items, err)
        assert err.count("\n") == 1, (items, err)
    else:
        assert (tmp_path / "run" / "alliances.parquet").is_file(), (items, out, err)


# ------------------------------------------------------------ study files
BASE = load_study_file(EXPERIMENT_DIR / "triggers_vs_shocks.yaml")


def _set(data: dict, path: list[str], value) -> dict:
    """A deep copy of ``data`` with the value at ``path`` replaced (created if missing)."""
    import copy

    data = copy.deepcopy(data)
    node = data
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return data


PATHS = [
    ["study", "name"],
    ["study", "x"],
    ["study", "hue"],
    ["study", "survival_by"],
    ["study", "baseline", "triggers"],
    ["study", "baseline"],
    ["study", "checks"],
    ["study", "unknown"],
    ["n_alliances"],
    ["seed"],
    ["scenario", "shock_rate"],
    ["governance", "shared_kpis"],
    ["hydra", "sweeper", "params", "triggers"],
    ["hydra", "sweeper", "params", "scenario.shock_scale"],
    ["hydra", "sweeper", "params"],
    ["defaults"],
    ["nonsense"],
]
yaml_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**9),
    st.floats(allow_nan=True),
    st.sampled_from([*OPTIONS, "off,standard", "0.05,0.5", "governance", "faild", "x" * 300, "${x}"]),
    st.lists(st.sampled_from(["a", 1, {"kind": "did"}]), max_size=2),
    st.dictionaries(
        st.sampled_from(["triggers", "governence", "kind", "outcome"]), st.sampled_from(["off", "x"])
    ),
)


@st.composite
def study_texts(draw) -> str:
    import yaml

    data = BASE
    for _ in range(draw(st.integers(1, 3))):
        data = _set(data, draw(st.sampled_from(PATHS)), draw(yaml_values))
    text = yaml.safe_dump(data, sort_keys=False)
    if draw(st.booleans()) and draw(st.integers(0, 9)) == 0:  # now and then, broken YAML
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["{", "[", ": :", "\t", "'"])) + text[cut:]
    return text


@settings(max_examples=200, deadline=None)
@given(study_texts())
def test_a_study_file_is_valid_or_refused_with_the_projects_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("study") / "fuzzed.yaml"
    path.write_text(text)
    try:
        check_study_file(path)
    except ConfigError as error:
        assert str(error).startswith(str(path))


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(study_texts())
def test_the_command_line_runs_a_fuzzed_study_or_stops_with_its_own_error(tmp_path_factory, text):
    """Through the command line, with the study among the real ones: the study and every cell
    are checked before any runs, or it completes (shrunk to 2 cells of a few alliances)."""
    import sim.cli

    folder = tmp_path_factory.mktemp("studies")
    for path in EXPERIMENT_DIR.glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "fuzzed.yaml").write_text(text)
    tmp_path = tmp_path_factory.mktemp("run")
    old = sim.cli.EXPERIMENT_DIR
    sim.cli.EXPERIMENT_DIR = folder
    try:
        argv = [
            "-m",
            "+experiment=fuzzed",
            "n_alliances=4",
            "horizon_weeks=3",
            "triggers=off,standard",
            "scenario.shock_scale=0.05",
            f"hydra.sweep.dir={tmp_path}/results/fuzzed/run",
        ]
        code, out, err = run_console(argv, tmp_path)
    finally:
        sim.cli.EXPERIMENT_DIR = old
    assert "Traceback" not in out + err, (text, err)
    if code != 0:
        assert code in (1, 2), (code, err)
        assert "alliance-sim: error: " in err, (text, out[-2000:], err)
        if code == 2:  # refused before anything ran
            assert not list(tmp_path.rglob("cell.json")), (text, err)
