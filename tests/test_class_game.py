"""The participatory class without a browser: the partners' choices in the model (both engines,
each in the direction ODD 7.16 says), seats and tokens, the teacher code, the stated defaults,
proposals, the round timer, and the decision log that replays the class to the same tables."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sim.classroom.game import (
    CLASS,
    DESIGNS,
    MODEL_PARTNER,
    ClassGame,
    ClassSetup,
    Decision,
    GameStore,
    InputError,
    Refused,
    read_log,
    replay,
    tables_text,
)
from sim.classroom.presets import PRESET_BY_KEY
from sim.config import load_config
from sim.engines.cohort import CohortRun
from sim.engines.mesa_model import AllianceModel
from sim.vocabulary import OUTCOMES, Cause, Outcome

REPO = Path(__file__).resolve().parent.parent
APP = Path(sys.executable).parent / "alliance-sim-app"

CHOICE_FIELDS = (
    "trust", "integration", "health", "commitment", "net_value", "side_gains", "value_received",
    "ledger", "issue_age", "outcome", "end_week", "failure_cause", "renegotiations", "active",
)  # fmt: skip


def setup_of(key: str = "integration", teams: int = 4, rounds: int = 4, seconds: float = 0.0) -> ClassSetup:
    p = PRESET_BY_KEY[key]
    return ClassSetup(p.title, p.market, p.charter_a, teams=teams, rounds=rounds, round_seconds=seconds)


def choose(records: object, rng: np.random.Generator, n: int, p: int) -> dict[str, np.ndarray]:
    """Random choices for every alliance and slot, set on ``records`` (agents or a table)."""
    values = {
        "effort_choice": rng.choice([0.5, 1.0, 1.5], size=(n, p)),
        "silent": rng.random((n, p)) < 0.4,
        "protects": rng.random((n, p)) < 0.4,
        "declines_side_deals": rng.random((n, p)) < 0.5,
        "leaving": rng.random((n, p)) < 0.03,
        "clause_meetings": rng.random(n) < 0.3,
        "clause_kpis": rng.random(n) < 0.3,
        "clause_escalation": rng.random(n) < 0.3,
        "clause_expectations": rng.random(n) < 0.3,
        "renegotiation_asked": rng.random(n) < 0.2,
    }
    return values


def set_on_agents(model: AllianceModel, values: dict[str, np.ndarray]) -> None:
    for i, a in enumerate(model.alliances):
        for name, v in values.items():
            if v.ndim == 2:
                getattr(a, name)[:] = v[i]
            else:
                setattr(a, name, bool(v[i]))


def set_on_table(table: np.ndarray, values: dict[str, np.ndarray]) -> None:
    for name, v in values.items():
        table[name] = v


def test_choices_are_carried_out_alike_by_both_engines() -> None:
    """Choices set between weeks on the Mesa engine's agents and on the cohort engine's table
    give the same numbers, bit for bit (the mechanisms are written once)."""
    config = load_config(["alliance=coopetition", "n_alliances=150", "seed=11", "horizon_weeks=80"])
    mesa = AllianceModel(config.replace(engine="mesa"))
    cohort = CohortRun(config.replace(engine="cohort"))
    n, p = config.n_alliances, config.alliance.n_partners
    rng = np.random.default_rng(5)
    for week in range(config.horizon_weeks):
        if week in (0, 25, 50):
            values = choose(None, rng, n, p)
            set_on_agents(mesa, values)
            set_on_table(cohort.state.alliances, values)
        mesa.step()
        cohort.step()
    table = cohort.state.alliances
    for name in CHOICE_FIELDS:
        ours = np.array([getattr(a, name) for a in mesa.alliances])
        assert np.array_equal(ours, table[name], equal_nan=True), name
    assert table["side_gains"].sum() > 0 and (table["leaving"].sum() > 0)


def run_with(config_overrides: list[str], **fields: object) -> np.ndarray:
    """The cohort engine with every alliance's choices set at signing."""
    config = load_config(
        ["alliance=complementary", "n_alliances=400", "seed=3", "horizon_weeks=104", *config_overrides]
    )
    run = CohortRun(config.replace(engine="cohort"))
    for name, value in fields.items():
        run.state.alliances[name] = value
    run.run()
    return run.state.alliances


def test_each_choice_moves_the_model_as_documented() -> None:
    """On the same draws: declining side deals removes opportunism and its gains; sitting on
    issues settles fewer of them; protecting IP slows integration; high effort commits more;
    added shared KPIs remove measurement friction; leaving ends the partner's part."""
    base = run_with([])
    assert base["side_gains"].sum() > 0
    declined = run_with([], declines_side_deals=1)
    # (IP exposure's friction is booked as opportunism too: what is left is that)
    opportunism = int(Cause.OPPORTUNISM)
    assert declined["side_gains"].sum() == 0
    assert declined["ledger"][:, opportunism].sum() < base["ledger"][:, opportunism].sum()
    silent = run_with(["horizon_weeks=20"], silent=1)
    base20 = run_with(["horizon_weeks=20"])
    assert silent["resolved_count"].sum() < base20["resolved_count"].sum()
    protect = run_with(["horizon_weeks=20"], protects=1)
    assert protect["integration"].mean() < base20["integration"].mean()
    high = run_with(["horizon_weeks=20"], effort_choice=1.5)
    assert high["commitment"].sum() > base20["commitment"].sum()
    kpis = run_with(["horizon_weeks=20", "dynamics.measurement_spread=1.0"], clause_kpis=True)
    spread = run_with(["horizon_weeks=20", "dynamics.measurement_spread=1.0"])
    assert kpis["issues_raised"].sum() < spread["issues_raised"].sum()
    leaving = run_with(["horizon_weeks=20"], leaving=1)
    failed = OUTCOMES.index(Outcome.FAILED)
    assert (leaving["outcome"] == failed).all() and (leaving["end_week"] == 1).all()  # in the first week


# ------------------------------------------------------------------ seats, tokens, the console
def test_a_token_opens_only_its_own_seat_and_a_wrong_teacher_code_opens_nothing() -> None:
    game = ClassGame(setup_of(teams=4), timer=False)
    try:
        tokens = [game.join(game.join_code, f"team {i}") for i in range(3)]
        views = [game.team_view(t) for t in tokens]
        assert [v.seat for v in views] == [0, 1, 2] and len({v.firm for v in views}) == 3
        # a team's view holds its own private values and none of its partner's
        a, b = game.models[CLASS].alliances[0], views[1]
        assert views[0].expectation == a.expectation[0] and b.expectation == a.expectation[1]
        assert a.expectation[1] != views[0].expectation
        assert not any(str(round(b.outside_option, 2)) in m for m in views[0].partner_moves)
        for forged in ("", "x", tokens[0][:-1], tokens[0] + "x", game.teacher_code, game.join_code):
            with pytest.raises(Refused):
                game.team_view(forged)
            with pytest.raises(Refused):
                game.decide(forged, {"effort": "high"})
        for wrong in ("", "WRONG123", game.join_code, tokens[0]):
            for action in (game.start, game.pause, game.resume, game.close_round, game.end):
                with pytest.raises(Refused):
                    action(wrong)
            with pytest.raises(Refused):
                game.inject(wrong, "subsidy", None, 0.3)
            with pytest.raises(Refused):
                game.check_teacher(wrong)
        assert game.state == "lobby"
        game.start(game.teacher_code.lower())  # typed in lower case from a board: still the code
        game.decide(tokens[0], {"effort": "high", "propose": ["kpis"]})
        # team 0's decision changed nothing of team 1's
        assert game.team_view(tokens[1]).decided is False
        assert game.team_view(tokens[1]).decision == MODEL_PARTNER
        assert game.team_view(tokens[0]).decision.effort == "high"
        with pytest.raises(InputError, match="accept"):  # nothing was proposed to team 1 yet
            game.decide(tokens[1], {"accept": ["kpis"]})
        with pytest.raises(Refused):
            game.join("ZZZZZZ", "intruder")
        with pytest.raises(InputError, match="team name"):
            game.join(game.join_code, "TEAM 0")
    finally:
        game.close()


@pytest.mark.parametrize(
    ("decision", "field"),
    [
        ({"effort": "max"}, "effort"),
        ({"issues": True}, "issues"),
        ({"propose": "kpis"}, "propose"),
        ({"propose": ["bribe"]}, "propose"),
        ({"exit": "yes"}, "exit"),
        ({"efort": "high"}, "efort"),
        (["effort"], "decision"),
    ],
)
def test_a_bad_decision_is_refused_naming_its_field(decision: object, field: str) -> None:
    with pytest.raises(InputError) as caught:
        Decision.from_dict(decision)  # type: ignore[arg-type]
    assert caught.value.field_name == field and field in str(caught.value)


def test_defaults_the_computer_and_proposals_answered_next_round() -> None:
    """A team that misses a round keeps its standing choices and makes no proposal; a computer
    seat plays the model's partner and accepts; a proposal accepted is in force in all four
    models from the next round; one left unanswered is rejected."""
    game = ClassGame(setup_of(teams=3, rounds=4), timer=False)
    try:
        t0, t1, t2 = (game.join(game.join_code, name) for name in ("north", "south", "east"))
        game.start(game.teacher_code)
        game.decide(t0, {"effort": "high", "information": "protect", "propose": ["kpis"]})
        game.decide(t1, {"effort": "low", "propose": ["escalation"]})
        game.decide(t2, {"side_deals": "decline", "propose": ["meetings"]})  # its partner: the computer
        assert game.round == 2 and len(game.records) == 1
        first = game.records[0]
        assert [s for _, s in first.decisions] == ["team", "team", "team", "computer"]
        assert first.decisions[3][0] == MODEL_PARTNER
        assert game.team_view(t1).pending == (("kpis", "Aster"),)
        game.decide(t1, {"accept": ["kpis"]})  # team 0 misses round 2, so escalation is rejected
        game.close_round(game.teacher_code)
        second = game.records[1]
        assert second.decisions[0] == (Decision("high", "raise", "protect", "take"), "default")
        assert set(second.accepted) == {(0, "kpis"), (1, "meetings")}
        for model in game.models.values():
            assert model.alliances[0].clause_kpis and not model.alliances[0].clause_escalation
            assert model.alliances[1].clause_meetings
        assert game.team_view(t0).clauses == ("kpis",)
        # a proposal of a clause already in force is not put again
        game.decide(t0, {"propose": ["kpis", "renegotiation"]})
        game.close_round(game.teacher_code)
        assert game.team_view(t1).pending == (("renegotiation", "Aster"),)
    finally:
        game.close()


def test_a_round_closes_when_its_time_is_up_and_pause_stops_the_clock() -> None:
    game = ClassGame(setup_of(teams=2, rounds=3, seconds=1.0))
    try:
        token = game.join(game.join_code, "solo")
        game.start(game.teacher_code)
        game.pause(game.teacher_code)
        time.sleep(1.6)
        assert game.round == 1 and game.state == "paused"
        game.resume(game.teacher_code)
        deadline = time.monotonic() + 20
        while game.round == 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert game.round == 2 and game.records[0].decisions[0][1] == "default"
        assert game.team_view(token).round == 2
    finally:
        game.close()


# ------------------------------------------------------------------ the decision log
def play_a_class(rounds: int = 4) -> ClassGame:
    game = ClassGame(setup_of("startup_incumbent", teams=5, rounds=rounds), timer=False)
    tokens = [game.join(game.join_code, f"team {i}") for i in range(5)]
    game.start(game.teacher_code)
    rng = np.random.default_rng(2)
    for r in range(rounds):
        if r == 1:
            game.inject(game.teacher_code, "subsidy", None, 0.4)
            game.inject(game.teacher_code, "pivot", 1, 0.5)
        for i, token in enumerate(tokens):
            view = game.team_view(token)
            if not view.active or game.state != "playing" or (i + r) % 4 == 3:
                continue  # some teams miss a round
            game.decide(
                token,
                {
                    "effort": str(rng.choice(["low", "normal", "high"])),
                    "issues": str(rng.choice(["raise", "sit"])),
                    "information": str(rng.choice(["share", "protect"])),
                    "side_deals": str(rng.choice(["take", "decline"])),
                    "propose": [str(rng.choice(["meetings", "kpis", "renegotiation"]))]
                    if rng.random() < 0.5
                    else [],
                    "accept": [p for p, _ in view.pending if rng.random() < 0.7],
                },
            )
        if game.state == "playing" and game.round == r + 1:
            game.close_round(game.teacher_code)
    return game


def test_the_decision_log_replays_the_class_to_byte_identical_tables(tmp_path: Path) -> None:
    game = play_a_class()
    try:
        log = tmp_path / "decision-log.json"
        log.write_text(json.dumps(game.log(), indent=1))
        live = tables_text(game.tables())
        out = tmp_path / "replayed"
        done = subprocess.run(
            [str(APP), "class-replay", str(log), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
        for name, text in live.items():
            assert (out / name).read_bytes() == text.encode(), name
        assert set(live) == {p.name for p in out.iterdir()}
        # the debrief holds every alliance under the class's charter and the three designs
        comparison = game.tables()["comparison"]
        assert {f"outcome_{d}" for d in (CLASS, *DESIGNS)} <= set(comparison.columns)
        # and a replay in this process gives the same tables
        assert tables_text(replay(read_log(log.read_text())).tables()) == live
    finally:
        game.close()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d["setup"].update(teams=0), "teams"),
        (lambda d: d["rounds"][0]["decisions"][0].update(effort="max"), "effort"),
        (lambda d: d["rounds"][0].update(round=3), "expected round 1"),
        (lambda d: d["rounds"][0].update(injections=["x"]), "inject"),
    ],
)
def test_a_malformed_log_stops_with_one_line_naming_what_is_wrong(tmp_path: Path, edit, words: str) -> None:
    game = play_a_class(rounds=1)
    game.close()
    data = game.log()
    edit(data)
    log = tmp_path / "log.json"
    log.write_text(json.dumps(data))
    done = subprocess.run(
        [str(APP), "class-replay", str(log), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert words in done.stderr and not (tmp_path / "out").exists()


def test_a_full_server_drops_only_a_class_that_is_over() -> None:
    store = GameStore(limit=2)
    try:
        first, second = store.create(setup_of(teams=2)), store.create(setup_of(teams=2))
        with pytest.raises(InputError, match="still in play"):
            store.create(setup_of(teams=2))
        assert store.find(first.join_code) is first and store.find(second.join_code) is second
        first.end(first.teacher_code)
        third = store.create(setup_of(teams=2))
        with pytest.raises(Refused):
            store.find(first.join_code)
        assert store.find(third.join_code) is third and store.find(second.join_code) is second
    finally:
        store.stop()


def test_a_team_name_is_shown_as_text_never_as_markup() -> None:
    from sim.classroom.class_app import brief_html
    from sim.classroom.class_figures import class_network_svg

    game = ClassGame(setup_of(teams=2), timer=False)
    try:
        hostile = '<script>alert("x")</script>'
        game.join(game.join_code, hostile)
        token = game.join(game.join_code, "<img src=x onerror=alert(1)>")
        svg, brief = class_network_svg(game), brief_html(game.team_view(token))
        for text in (svg, brief):
            assert "<script" not in text and "<img" not in text
        assert "&lt;script&gt;" in svg and "&lt;script&gt;" in brief
    finally:
        game.close()


def test_the_debrief_sentence_names_each_charter_that_changes_the_ending() -> None:
    from sim.classroom.game import counterfactual_sentence

    same = {CLASS: "failed: inequity", "handshake": "failed: inequity", "committee": "failed: opportunism"}
    assert counterfactual_sentence({**same, "full": "failed: inequity"}) == (
        "Every charter gives the same: it failed (inequity); the decisions and the luck decided it."
    )
    assert counterfactual_sentence({**same, "full": "success"}) == (
        "As played it failed (inequity); under the full framework it succeeded."
    )
    held = {CLASS: "success", "handshake": "failed: inequity", "committee": "terminated", "full": "success"}
    assert counterfactual_sentence(held) == (
        "As played it succeeded; under a handshake it failed (inequity); "
        "under a steering committee it was ended by agreement."
    )
