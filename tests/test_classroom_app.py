"""The classroom's server side without a browser: live sessions driven from threads, every typed
value checked with a message, sessions saved and loaded, charter files opened, the glossary
complete, and sessions freed when their tabs are gone."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest

from sim.classroom import glossary
from sim.classroom.live import LiveSession, SessionStore
from sim.params import GovernanceParams
from sim.vocabulary import Cause

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples" / "charters").glob("*.yaml"))


def test_every_lever_and_every_cause_is_in_the_glossary() -> None:
    levers = {f.name for f in dataclasses.fields(GovernanceParams)} - {"name"}
    assert levers == set(glossary.LEVERS)
    assert {c.label for c in Cause} == set(glossary.CAUSES)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("-5", "out of range"),
        ("10" * 12, "out of range"),
        ("abc", "not a whole number"),
        ("", "not a whole number"),
    ],
)
def test_a_bad_week_is_refused_beside_its_field(text: str, said: str) -> None:
    live = LiveSession("t")
    live.go_to(text)
    field, message = live.snapshot().field_error
    assert field == "go to week" and said in message and "allowed: 0 to 156" in message
    assert live.snapshot().week == 0


@pytest.mark.parametrize(
    ("edits", "named"),
    [
        ({"seed": -5}, "seed = -5"),
        ({"n_alliances": 500}, "n_alliances = 500"),
        ({"market.culture_spread": 9.0}, "culture_spread"),
    ],
)
def test_bad_edits_are_refused_and_the_session_kept(edits: dict, named: str) -> None:
    live = LiveSession("t")
    live.step()
    live.apply_edits(edits, {})
    snap = live.snapshot()
    assert named in snap.error and snap.week == 1


def test_going_back_replays_the_same_weeks() -> None:
    live = LiveSession("t")
    for _ in range(6):
        live.step()
    at_six = live.snapshot().outcomes
    series = [dict(r) for r in live.room.series["A"]]
    live._seek(3)
    assert live.snapshot().week == 3
    live._seek(6)
    assert live.snapshot().outcomes == at_six
    assert live.room.series["A"] == series


def test_a_saved_session_loads_at_its_week_with_its_events(tmp_path: Path) -> None:
    live = LiveSession("t")
    live.step()
    live.inject("subsidy", None, 0.4)
    for _ in range(4):
        live.step()
    text = live.to_file()
    other = LiveSession("u")
    other.load_file(text)
    assert other.snapshot().week == 5 and other.snapshot().error == ""
    assert other.room.series == live.room.series
    for bad, named in (
        ("{", "not JSON"),
        ('{"format": "x"}', "'format'"),
        (text.replace('"week": 5', '"week": 9999'), "week = 9999"),
    ):
        other.load_file(bad)
        assert named in other.snapshot().error


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_charter_opens_as_charter_b_and_steps(path: Path) -> None:
    live = LiveSession("t")
    opened = live.open_charter("B", path.read_text(), path.name)
    assert opened is not None, live.snapshot().error
    assert live.snapshot().opened == {"B": path.stem}
    assert any(p.startswith("governance.") for _, p, _ in opened.rows)
    for _ in range(3):
        live.step()
    assert live.snapshot().week == 3 and live.snapshot().error == ""


def test_a_charter_file_is_its_own_situation_and_leaves_the_presets_edits_alone() -> None:
    live = LiveSession("t")
    preset = live.snapshot().preset_title
    live.apply_edits({"n_alliances": 9}, {"A": {}, "B": {}})
    edited = live.setup
    path = EXAMPLES[0]
    live.open_charter("B", path.read_text(), path.name)
    snap = live.snapshot()
    assert snap.preset_title == f"Charter file: {path.stem} (B)"
    assert path.stem in snap.explanation and snap.explanation != ""
    opened = live.setup
    live.step()
    live.reset()  # Reset replays the file from week 0
    assert live.setup == opened and live.snapshot().week == 0 and live.snapshot().opened == {"B": path.stem}
    live.reset(live.preset.key)  # choosing the situation leaves the file, back to the edited preset
    assert live.setup == edited and live.snapshot().opened == {} and live.snapshot().preset_title == preset


def test_a_charter_file_of_any_name_opens() -> None:
    live = LiveSession("t")
    text = EXAMPLES[0].read_text()
    for name in ("<img src=x onerror=alert(1)>.yaml", "...yaml", "ä" * 300 + ".yml"):
        assert live.open_charter("B", text, name) is not None, live.snapshot().error


def test_a_malformed_charter_is_refused_by_field() -> None:
    live = LiveSession("t")
    assert live.open_charter("B", "partners: 3\n", "bad.yaml") is None
    assert "partners" in live.snapshot().error


def test_sessions_played_from_threads_stay_apart() -> None:
    store = SessionStore(keep_seconds=0.5)
    sessions = [store.attach(f"s{i}") for i in range(6)]
    for live in sessions:
        live.subscribe(lambda v, live=live: live.shown(v))
        live.settings(interval_ms=0)
    threads = [threading.Thread(target=live.play) for live in sessions]
    for t in threads:
        t.start()
    # every session steps at least twice (the first week of a fresh environment compiles the model)
    deadline = time.monotonic() + 180
    while min(live.snapshot().week for live in sessions) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    for live in sessions:
        live.pause()
    weeks = [live.snapshot().week for live in sessions]
    assert min(weeks) >= 2, weeks
    # the same seed and no injections: every session at week w holds the same series
    w = min(weeks)
    firsts = [live.room.series["A"][: w + 1] for live in sessions]
    assert all(f == firsts[0] for f in firsts)
    for i in range(6):
        store.detach(f"s{i}")
    time.sleep(0.1)
    deadline = time.monotonic() + 10
    while len(store) and time.monotonic() < deadline:
        store.sweep()
        time.sleep(0.2)
    assert len(store) == 0 and all(live.closed for live in sessions)


def test_a_tiny_shock_is_not_called_size_zero() -> None:
    from sim.classroom.session import describe
    from sim.vocabulary import EventKind

    live = LiveSession("t")
    model = live.room.models["A"]
    text = describe(model, model.alliances[0], EventKind.SHOCK, 0, 0.001, 0, False)
    assert "of size below 0.01" in text and "0.00" not in text
