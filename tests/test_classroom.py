"""The classroom's model side: injected events go through the mechanisms, both charters share
their random numbers, the debrief's command line reproduces the session, bad input is refused."""

from __future__ import annotations

import io
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import small_config

from sim.classroom.cli import console_main
from sim.classroom.debrief import debrief_zip, summary
from sim.classroom.presets import PRESETS
from sim.classroom.session import (
    ClassroomModel,
    Injection,
    InjectionKind,
    Setup,
    check_injection,
    replay,
    weekly_row,
)
from sim.classroom.view import ClassroomView, setup_of
from sim.engines.mesa_model import AllianceModel
from sim.params import ConfigError
from sim.vocabulary import EventKind, ShockKind

APP = Path(sys.executable).with_name("alliance-sim-app")
KEY_CONTACT_SETUP = Setup(
    seed=3,
    n_alliances=12,
    market=("alliance=complementary",),
    charter_a=("governance=handshake",),
    charter_b=("governance=handshake", "governance.handover_protocol=true"),
)


def events_of(model: AllianceModel, kind: EventKind) -> pd.DataFrame:
    frame = model.events.to_frame()
    return frame[frame["kind"] == kind.value]


def test_a_model_without_injections_is_the_alliance_model() -> None:
    config = small_config(n_alliances=6, horizon_weeks=30)
    plain, classroom = AllianceModel(config), ClassroomModel(config)
    for _ in range(30):
        plain.step()
        classroom.step()
        assert weekly_row(plain) == weekly_row(classroom)
    pd.testing.assert_frame_equal(plain.events.to_frame(), classroom.events.to_frame())


def test_an_injected_subsidy_change_is_a_regulatory_shock_of_that_size() -> None:
    config = small_config(n_alliances=4, horizon_weeks=30)
    model = ClassroomModel(config, [Injection(20, 2, InjectionKind.SUBSIDY, 0.4)])
    before = None
    for _ in range(21):
        if model.week_index == 20:
            before = model.alliances[2].potential
        model.step()
    shocks = events_of(model, EventKind.SHOCK)
    ours = shocks[(shocks["week"] == 21) & (shocks["alliance_id"] == 2)]
    assert len(ours) == 1
    assert ours["detail"].iloc[0] == f"{ShockKind.REGULATORY.label} size=0.400"
    assert before is not None and model.alliances[2].potential < before


def test_an_injected_retirement_is_a_departure_the_handover_protocol_shortens() -> None:
    gaps = {}
    for handover in (False, True):
        config = small_config(n_alliances=4, horizon_weeks=30).replace(
            governance={"handover_protocol": handover}
        )
        model = ClassroomModel(config, [Injection(10, None, InjectionKind.KEY_CONTACT)])
        for _ in range(11):
            model.step()
        departures = events_of(model, EventKind.KEY_CONTACT_DEPARTURE)
        assert set(departures[departures["week"] == 11]["alliance_id"]) == {
            a.index for a in model.alliances if a.alive
        }
        gaps[handover] = int(model.alliances[0].contact_gap[0])
    d = config.dynamics
    assert gaps == {False: d.contact_gap_weeks, True: d.handover_gap_weeks}


def test_a_pivot_moves_the_partner_firms_strategy_toward_its_opposite() -> None:
    config = small_config(n_alliances=4, horizon_weeks=30, scenario={"volatility": 0.0})
    model = ClassroomModel(config, [Injection(5, 1, InjectionKind.PIVOT, 1.0)])
    for _ in range(5):
        model.step()
    firm = model.firms[int(model.alliances[1].firm[1])]
    before = firm.strategy.copy()
    model.step()
    assert firm.strategy == pytest.approx(1.0 - before)


def test_both_charters_see_the_same_shocks_and_the_same_injections() -> None:
    room = replay(KEY_CONTACT_SETUP, 40, [Injection(12, None, InjectionKind.KEY_CONTACT)])
    a, b = room.models["A"], room.models["B"]
    shocks_a, shocks_b = events_of(a, EventKind.SHOCK), events_of(b, EventKind.SHOCK)
    alive_both = {i for i in range(12) if a.alliances[i].alive and b.alliances[i].alive}
    pd.testing.assert_frame_equal(
        shocks_a[shocks_a["alliance_id"].isin(alive_both)].reset_index(drop=True),
        shocks_b[shocks_b["alliance_id"].isin(alive_both)].reset_index(drop=True),
    )
    feed = room.events_frame()
    retired = feed[feed["text"].str.contains("retired")]
    assert set(retired["charter"]) == {"A", "B"}
    assert retired["text"].str.contains("had a handover protocol").any()
    assert retired["text"].str.contains("had no handover protocol").any()


def test_the_same_charter_twice_gives_the_same_series() -> None:
    same = Setup(
        seed=5, n_alliances=10, charter_a=("governance=committee",), charter_b=("governance=committee",)
    )
    room = replay(same, 30, [Injection(8, 3, InjectionKind.SUBSIDY, 0.3)])
    pd.testing.assert_frame_equal(room.series_frame("A"), room.series_frame("B"))


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("12:all:meteor:0.3", "kind 'meteor'"),
        ("12:seven:subsidy:0.3", "target 'seven'"),
        ("twelve:all:subsidy:0.3", "week 'twelve'"),
        ("12:all:subsidy", "expected week:target:kind:size"),
    ],
)
def test_a_malformed_injection_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        Injection.parse(text)


def test_injections_the_scenario_cannot_carry_are_refused() -> None:
    config = small_config(scenario={"market_share_share": 0.0})
    with pytest.raises(ConfigError, match=r"scenario\.market_share_share"):
        check_injection(Injection(1, None, InjectionKind.MARKET_SHARE, 0.2), config)
    with pytest.raises(ConfigError, match="injection target = 9"):
        check_injection(Injection(1, 9, InjectionKind.KEY_CONTACT), config)
    with pytest.raises(ConfigError, match="a shock's size"):
        check_injection(Injection(1, 0, InjectionKind.SUBSIDY, 0.0), config)


def test_injections_round_trip_through_their_command_line_form() -> None:
    for injection in (
        Injection(3, None, InjectionKind.PIVOT, 0.35),
        Injection(0, 7, InjectionKind.KEY_CONTACT),
    ):
        assert Injection.parse(injection.to_arg()) == injection


@pytest.mark.parametrize("preset", PRESETS, ids=[p.key for p in PRESETS])
def test_every_preset_builds_a_classroom_market(preset) -> None:
    room = ClassroomView.start(setup_of(preset)).room
    model = room.models["A"]
    assert 20 <= len(model.firms) <= 40
    assert 10 <= model.config.n_alliances <= 20
    assert len(preset.explanation.split("\n")) == 2
    assert room.models["A"].config.to_dict() != room.models["B"].config.to_dict()


@pytest.mark.slow
def test_the_debrief_command_reproduces_the_session(tmp_path: Path) -> None:
    view = ClassroomView.start(KEY_CONTACT_SETUP)
    view.room.run(15)
    view.room.inject(InjectionKind.SUBSIDY, 4, 0.35)
    view.room.inject(InjectionKind.KEY_CONTACT, None)
    view.room.run(10)
    view.room.inject(InjectionKind.PIVOT, 2, 0.5)
    view.room.run(15)
    archive = zipfile.ZipFile(io.BytesIO(debrief_zip(view)))
    names = set(archive.namelist())
    assert {
        "session.json",
        "command.txt",
        "config_A.json",
        "config_B.json",
        "summary.md",
        "events.csv",
    } <= names
    assert {"figures/network_A.svg", "figures/network_B.svg", "figures/chart_running.png"} <= names
    command = shlex.split(archive.read("command.txt").decode())
    assert command[:2] == ["alliance-sim-app", "replay"]
    out = tmp_path / "replayed"
    command = [str(APP), *command[1:-2], "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in ("events.csv", "timeseries_A.csv", "timeseries_B.csv", "alliances_A.csv", "alliances_B.csv"):
        assert (out / name).read_text() == archive.read(name).decode(), name
    assert "retired" in archive.read("events.csv").decode()


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--inject", "3:all:meteor:1"], "kind 'meteor'"),
        (["--inject", "3:40:subsidy:0.2"], "injection target = 40"),
        (["-a", "governance.meeting_cadence=weekly"], "governance.meeting_cadence"),
        (["--market", "scenario.shock_rate=2"], "scenario.shock_rate"),
    ],
)
def test_the_replay_command_refuses_bad_input_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], named: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        console_main(["replay", "--weeks", "3", *args, "--out", str(tmp_path / "x")])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("alliance-sim-app: error:") and named in err
    assert not (tmp_path / "x").exists()


def test_the_summary_tells_what_happened() -> None:
    room = replay(KEY_CONTACT_SETUP, 30, [Injection(5, None, InjectionKind.KEY_CONTACT)])
    text = summary(room)
    assert "## Charter A" in text and "## Charter B" in text and "## A against B" in text
    assert "key contact retires in every alliance" in text
    running = sum(1 for a in room.models["A"].alliances if a.alive)
    assert f"{running} of 12 alliances are still running" in text


def test_every_alliance_is_counted_once_every_week_up_to_the_horizon() -> None:
    """Running, or in exactly one outcome: at the horizon the survivors are counted by outcome."""
    setup = Setup(seed=7, n_alliances=8, market=("horizon_weeks=30",), charter_b=("governance=meetings",))
    room = replay(setup, 30, [])
    for charter in setup.charters:
        frame = room.series_frame(charter)
        counted = frame["running"] + frame[["success", "underperforming", "failed", "terminated"]].sum(axis=1)
        assert (counted == 8).all(), frame
        assert frame["running"].iloc[-1] == 0
    assert "fell short of them" in summary(room)
