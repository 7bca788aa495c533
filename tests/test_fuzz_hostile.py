"""Fuzzing what people hand the other entry points: charters (``alliance-stress``), the app's
inputs, the replay command and the report command.

Whatever the input, a failure is the project's own: a ``CharterError`` for a charter; a message
beside the field or in the page for the app (never the logged "failed" of an unexpected error);
one ``error:`` line and exit 2 (or 1 for a damaged study) for a command, never a traceback; and
no invalid value is accepted in silence. Inputs are drawn near the valid ones (the examples with
one field changed, dropped or given an odd value) so that most reach deep into the checks.
With the overrides and study files of ``test_fuzz_input.py`` the suite draws 1,085 examples.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import REPO_ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = sorted((REPO_ROOT / "examples" / "charters").glob("*.yaml"))
ODD_VALUES: list[Any] = [
    None, "", "x" * 500, -1, 0, 1e308, -1e308, float("nan"), float("inf"), True, [], {}, [1, 2, 3],
    {"a": 1}, "<script>alert(1)</script>", "${oc.env:HOME}", "{{ 7*7 }}", "1e400", -0.0, 2**70, "0.5",
]  # fmt: skip
odd = st.one_of(st.sampled_from(ODD_VALUES), st.text(max_size=30), st.floats(), st.integers())


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a parsed charter: mapping keys and list positions, nested."""
    found: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        found.append((*prefix, key))
        found += _paths(value, (*prefix, key))
    return found


def _edit(data: Any, path: tuple[Any, ...], how: str, value: Any) -> None:
    *parents, last = path
    node = data
    for key in parents:
        node = node[key]
    if how == "drop":
        del node[last]
    elif how == "rename" and isinstance(node, dict):
        node[f"{last}x"] = node.pop(last)
    else:
        node[last] = value


@st.composite
def charter_texts(draw: st.DrawFn) -> str:
    """An example charter with one to three places changed, dropped or misspelt."""
    data = yaml.safe_load(draw(st.sampled_from(EXAMPLES)).read_text())
    for _ in range(draw(st.integers(1, 3))):
        places = _paths(data)
        if not places:
            break
        path = draw(st.sampled_from(places))
        # a copy: the odd values are shared by every example, and an edit inside a value put in
        # by an earlier edit would change them for the examples after (or nest one in itself)
        _edit(data, path, draw(st.sampled_from(["set", "set", "drop", "rename"])), copy.deepcopy(draw(odd)))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@settings(max_examples=490, deadline=None, suppress_health_check=list(HealthCheck))
@given(charter_texts())
def test_a_charter_is_valid_or_refused_with_the_projects_error(text: str) -> None:
    from sim.config import load_config
    from sim.stress.charter import CharterError, parse_charter
    from sim.stress.mapping import config_groups, draw_charter, model_overrides
    from sim.stress.runner import nest

    try:
        charter = parse_charter(text)
    except CharterError as error:
        assert str(error).strip() and len(str(error)) < 4000
        return
    base = load_config([*config_groups(charter), f"horizon_weeks={charter.horizon_weeks}"])
    drawn, _ = draw_charter(charter, np.random.default_rng(0))  # ranges drawn, as each Monte Carlo draw does
    overrides = model_overrides(drawn, base.alliance.to_dict())
    for key, value in overrides.items():  # what a valid charter maps to is a finite model setting
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)
    base.replace(**nest(overrides))  # accepted by the model's own checks


# ---------------------------------------------------------------- the app's inputs
ACTIONS = st.one_of(
    st.tuples(
        st.just("go_to"), st.one_of(st.text(max_size=12), st.sampled_from(["-1", "1e9", "12", "0", "156"]))
    ),
    st.tuples(st.just("select"), st.one_of(st.integers(-5, 40), st.sampled_from([2**40]))),
    st.tuples(
        st.just("inject"),
        st.tuples(
            st.sampled_from(["subsidy", "key_contact", "pivot", "market_share", "", "boom"]),
            st.one_of(st.none(), st.integers(-3, 30)),
            st.one_of(st.floats(), st.sampled_from([0.3, -1.0, 2.0])),
        ),
    ),
    st.tuples(
        st.just("apply"),
        st.dictionaries(
            st.sampled_from(
                ["seed", "n_alliances", "market.culture_spread", "alliance", "scenario", "governance.x"]
            ),
            odd,
            max_size=2,
        ),
    ),
    st.tuples(st.just("settings"), st.tuples(st.integers(-100, 10_000), st.integers(-3, 400), odd)),
    st.tuples(st.just("open"), st.tuples(st.sampled_from(["A", "B", "C"]), charter_texts())),
    st.tuples(
        st.just("load"), st.one_of(st.text(max_size=200), st.sampled_from(["{}", "[]", '{"format": 1}']))
    ),
    st.tuples(st.just("step"), st.none()),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(ACTIONS, min_size=1, max_size=4))
def test_the_apps_inputs_give_a_message_never_an_unexpected_error(actions: list[tuple[str, Any]]) -> None:
    from sim.classroom import live as live_module

    session = live_module.LiveSession("fuzz")
    unexpected: list[str] = []
    session._report = lambda error, doing: unexpected.append(f"{doing}: {type(error).__name__}: {error}")  # type: ignore[method-assign]
    for name, arg in actions:
        if name == "go_to":
            session.go_to(arg)
        elif name == "select":
            session.select(arg)
        elif name == "inject":
            session.inject(*arg)
        elif name == "apply":
            session.apply_edits(arg, {"A": {}, "B": {}})
        elif name == "settings":
            delay, weeks, pause = arg
            session.settings(delay, weeks, pause)  # type: ignore[arg-type]
        elif name == "open":
            session.open_charter(arg[0], arg[1], "fuzzed.yaml")
        elif name == "load":
            session.load_file(arg)
        else:
            session.step()
        assert unexpected == [], unexpected
    snap = session.snapshot()
    assert 0 <= snap.week <= snap.horizon


# ---------------------------------------------------------------- the replay command
REPLAY_ARGS = st.lists(
    st.one_of(
        st.tuples(st.just("--seed"), st.sampled_from(["-1", "0", "7", "x", "1e3", "99999999999999999999"])),
        st.tuples(st.just("--alliances"), st.sampled_from(["0", "3", "-2", "abc", "100000", "4"])),
        st.tuples(
            st.just("--market"),
            st.sampled_from(["alliance=ecosystem", "alliance=nope", "x=1", "=", "horizon_weeks=2"]),
        ),
        st.tuples(
            st.just("-a"), st.sampled_from(["governance=full", "governance.meeting_cadence=never", "seed=1"])
        ),
        st.tuples(
            st.just("-b"), st.sampled_from(["governance=meetings", "governance=", "triggers=standard"])
        ),
        st.tuples(
            st.just("--inject"),
            st.one_of(
                st.sampled_from(
                    ["1:all:subsidy:0.3", "0:2:key_contact:0", "1:99:pivot:0.5", "a:b:c:d", "1:all:boom:1"]
                ),
                st.text(max_size=15),
            ),
        ),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["0", "2", "-1", "x"]), REPLAY_ARGS)
def test_the_replay_command_runs_or_stops_with_its_own_error(
    tmp_path_factory: pytest.TempPathFactory, weeks: str, pairs: list[tuple[str, str]]
) -> None:
    from sim.classroom.cli import console_main

    out = tmp_path_factory.mktemp("replay") / "out"
    argv = ["replay", "--weeks", weeks, "--alliances", "4", "--out", str(out)]  # small unless fuzzed
    argv += [part for pair in pairs for part in pair]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            console_main(argv)
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
    text = err.getvalue()
    assert "Traceback" not in text
    if code:
        assert code == 2, (argv, code, text)
        assert "error:" in text, (argv, text)
        assert not out.exists()
    else:
        assert (out / "timeseries_A.csv").exists(), (argv, text)


# ---------------------------------------------------------------- the report command on damaged studies
@pytest.fixture(scope="module")
def a_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess
    import sys

    from test_studies import child_env

    root = tmp_path_factory.mktemp("fuzzed-study")
    cmd = [sys.executable, "-m", "sim.cli", "-m", "+experiment=situation_integration", "n_alliances=20"]
    cmd += ["horizon_weeks=10", "hydra.sweep.dir=results/situation_integration/run"]
    done = subprocess.run(cmd, cwd=root, env=child_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "results"


DAMAGE = st.sampled_from(["cell.json", "study.json", "failure.json", "alliances.parquet", "done.json"])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    DAMAGE,
    st.one_of(st.binary(max_size=60), st.sampled_from([b"", b"[]", b"{}", b'{"overrides": 3}', b"null"])),
)
def test_the_report_command_reports_or_names_the_damage(
    a_study: Path, tmp_path_factory: pytest.TempPathFactory, target: str, content: bytes
) -> None:
    from sim.analysis.study_report import main

    results = tmp_path_factory.mktemp("damaged") / "results"
    shutil.copytree(a_study, results)
    run = results / "situation_integration" / "run"
    cell = sorted(run.glob("cells/*"))[0]
    store = run / json.loads((cell / "cell.json").read_text())["results"]
    place = {
        "cell.json": cell / "cell.json",
        "study.json": run / "study.json",
        "failure.json": cell / "failure.json",
        "alliances.parquet": store / "alliances.parquet",
        "done.json": store / "done.json",
    }[target]
    place.write_bytes(content)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main([str(run)])
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
    text = err.getvalue()
    assert "Traceback" not in text
    assert code in (0, 1), (target, content, code, text)
    if code:
        assert text.startswith("alliance-sim-report: error: "), text
