"""The participatory class's pages (Solara): the teacher's console at ``/class``, the teams'
join form at ``/join`` and each team's own page at ``/play/<seat code>``.

Every page of a class reads and acts on its one :class:`sim.classroom.game.ClassGame`, kept in
the server's :data:`GAMES`; a page holds no game state of its own. A team's page opens only with
its seat code (in its address, so a reload or a lost connection finds the same seat); the
console opens only with the class's teacher code, which the teacher who created the class has
in that browser session and anyone else must type.
"""

from __future__ import annotations

import functools
import html
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
import solara.server.kernel_context

from sim.classroom.class_figures import class_network_svg, debrief_png, trajectory_svg
from sim.classroom.game import (
    CLASS,
    CLAUSES,
    COMPUTER_POLICY,
    COMPUTER_POLICY_TEXT,
    DEADLINE_TEXT,
    DEFAULT_ROUNDS,
    DESIGNS,
    MAX_ROUND_SECONDS,
    MAX_ROUNDS,
    MAX_TEAMS,
    PROPOSAL_WORDS,
    ClassGame,
    ClassSetup,
    Decision,
    GameStore,
    InputError,
    Refused,
    class_debrief,
    decision_table,
    tables_text,
)
from sim.classroom.guard import Guard, log
from sim.classroom.presets import PRESETS
from sim.classroom.session import InjectionKind

GAMES = GameStore()
"""The server's one store of classes, guarded by its own lock."""
URL_ENV = "ALLIANCE_SIM_APP_URL"
EXAMPLE_CHARTERS = Path(__file__).resolve().parents[2] / "examples" / "charters"

teacher_codes = solara.reactive(dict[str, str]())
"""The teacher codes this browser session holds, by join code (a reactive variable: per session)."""

CSS = """
.class-page { font-size: 18px; padding: 8px 16px; }
.class-page .v-btn { font-size: 17px !important; text-transform: none; }
.class-page h1 { font-size: 30px; margin: 4px 0; }
.class-page h2 { font-size: 24px; margin: 8px 0 4px 0; }
.join-code { font-size: 56px; font-weight: 800; letter-spacing: 6px; font-family: monospace; }
.big-round { font-size: 40px; font-weight: 700; font-variant-numeric: tabular-nums; }
.brief { background: #f7f7f2; border-left: 6px solid #0072B2; padding: 8px 14px; }
.brief table td { padding: 1px 10px 1px 0; }
.decided { color: #006d2c; font-weight: 600; }
.waiting { color: #a63603; font-weight: 600; }
.console-grid { display: grid; grid-template-columns: minmax(0, 1.6fr) minmax(0, 1fr); gap: 16px; }
.class-table { border-collapse: collapse; font-size: 16px; }
.class-table td, .class-table th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
.feed-list { font-size: 16px; max-height: 260px; overflow-y: auto; }
.error-text { color: #b00020; font-weight: 600; }
"""


CHOICE_LABELS = {
    "effort": "Proactive effort (resources you commit)",
    "issues": "Open issues",
    "information": "Information and IP",
    "side_deals": "A private side opportunity, if one comes up",
}


def failure(doing: str, problem: Exception) -> str:
    """What a page says of a refused value, or of an unexpected error (logged, never shown as a
    traceback)."""
    if isinstance(problem, (InputError, Refused)):
        return str(problem)
    log.error("%s failed", doing, exc_info=(type(problem), problem, problem.__traceback__))
    return f"{doing} failed ({type(problem).__name__}); it is logged on the server"


def esc(text: Any) -> str:
    return html.escape(str(text))


def _seconds(left: float | None) -> str:
    if left is None:
        return "no timer"
    minutes, seconds = divmod(round(left), 60)
    return f"{minutes}:{seconds:02d} left"


def _connect(game: ClassGame, tick: solara.Reactive[int], console: bool) -> Callable[[], None]:
    context = solara.server.kernel_context.get_current_context()

    def listener(version: int) -> None:
        with context:
            tick.value = tick.value + 1

    key = game.subscribe(listener, console=console)
    return lambda: game.unsubscribe(key)


def use_game(game: ClassGame | None, console: bool = False) -> None:
    """Render again when the class changes (from any page or its timer: every change for the
    console, a round's or the class's state for a team) and, for the clock, every second on the
    console and every five seconds on a team's page."""
    tick = solara.use_reactive(0)
    solara.use_effect(lambda: _connect(game, tick, console) if game is not None else None, [game])
    period = 1.0 if console else 5.0
    _ = tick.value

    def clock() -> Callable[[], None]:
        import threading

        context = solara.server.kernel_context.get_current_context()
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(period):
                if game is not None and game.state == "playing" and game.deadline is not None:
                    with context:
                        tick.value = tick.value + 1

        threading.Thread(target=run, daemon=True, name="class-clock").start()
        return stop.set

    solara.use_effect(clock, [game])


def Html(text: str, classes: list[str] | None = None) -> None:
    solara.HTML(tag="div", unsafe_innerHTML=text, classes=classes or [])


# ------------------------------------------------------------------ the teams
@solara.component
def JoinPage() -> None:
    solara.Title("Join a class")
    solara.Style(CSS)
    router = solara.use_router()
    code, set_code = solara.use_state("")
    team, set_team = solara.use_state("")
    error, set_error = solara.use_state("")

    def join() -> None:
        try:
            game = GAMES.find(code)
            token = game.join(code, team)
        except Exception as problem:
            set_error(failure("Joining", problem))
            return
        router.push(f"/play/{token}")

    with solara.Column(classes=["class-page", "join-page"], style={"max-width": "640px"}):
        Html("<h1>Join your class</h1><p>Type the join code on the board and your team's name.</p>")
        solara.InputText(
            "Join code", value=code, on_value=set_code, continuous_update=True, classes=["join-code-field"]
        )
        solara.InputText(
            "Team name", value=team, on_value=set_team, continuous_update=True, classes=["team-field"]
        )
        solara.Button("Join", color="primary", on_click=join, classes=["join-button"])
        if error:
            Html(f'<p class="error-text">{esc(error)}</p>')


@solara.component
def PlayPage() -> None:
    solara.Title("Your firm")
    solara.Style(CSS)
    router = solara.use_router()
    token = router.path.strip("/").split("/")[-1]
    found = solara.use_memo(lambda: _find_seat(token), [token])
    game = found[0] if found else None
    use_game(game)
    with solara.Column(classes=["class-page", "play-page"]):
        if game is None:
            Html(
                '<h1>No seat here</h1><p class="error-text">This seat code opens no seat of a class on this '
                'server. <a href="/join">Join a class</a>.</p>'
            )
            return
        # the panel reads the class itself when it renders (its own changes render it alone)
        with Guard(token[:6], "team"):
            TeamPanel(game, token, game.version)


def _find_seat(token: str) -> tuple[ClassGame, Any] | None:
    try:
        return GAMES.by_token(token)
    except Refused:
        return None


@solara.component
def TeamPanel(game: ClassGame, token: str, version: int) -> None:
    """A team's brief and decisions, read from the class at each render (``version``: the
    class's version its page last heard of, so a change of the class renders it again)."""
    draft, set_draft = solara.use_state(dict[str, Any]())
    sent, set_sent = solara.use_state(0)  # decisions sent from this page (renders it again)
    error, set_error = solara.use_state("")
    # a new round starts from the round's decision (the last one's standing choices)
    solara.use_effect(lambda: set_draft({}), [game.round])
    try:
        view = game.team_view(token)
    except Refused:
        Html('<p class="error-text">This seat code opens no seat of this class.</p>')
        return
    current = {**view.decision.to_dict(), **draft}

    def choose(name: str, value: Any) -> None:
        set_draft({**draft, name: value})
        set_error("")

    def toggle(name: str, item: str, on: bool) -> None:
        items = [x for x in current[name] if x != item] + ([item] if on else [])
        choose(name, items)

    def submit() -> None:
        try:
            game.decide(token, Decision.from_dict(current))
        except Exception as problem:
            set_error(failure("Submitting the decisions", problem))
            return
        set_draft({})
        set_error("")
        set_sent(sent + 1)

    status = {
        "lobby": "Waiting for the teacher to start the game",
        "playing": f"Round {view.round} of {view.rounds} · {_seconds(view.seconds_left)}",
        "paused": f"Paused · round {view.round} of {view.rounds}",
        "over": "The game is over: see the debrief on the teacher's screen",
    }[view.state]
    Html(
        f'<h1>{esc(view.firm)} <span style="font-weight:400">· team {esc(view.team)}</span></h1>'
        f'<div class="big-round">{esc(status)}</div>'
        f"<p>Seat code <code>{esc(token)}</code>: open <code>/play/{esc(token)}</code> to come back to this seat.</p>"
    )
    with solara.Columns([1, 1]):
        with solara.Column():
            Html(brief_html(view), classes=["brief"])
            Html(trajectory_svg(view.history))
            if view.feed:
                Html(
                    "<h2>What happened</h2><ul class='feed-list'>"
                    + "".join(f"<li>{esc(t)}</li>" for t in view.feed)
                    + "</ul>"
                )
        with solara.Column(classes=["decision-form"]):
            if not view.active:
                Html(
                    f"<h2>Your part has ended</h2><p>Alliance: {esc(view.alliance_outcome)}. Your firm's value: {view.score:.1f}.</p>"
                )
                return
            if view.state not in ("playing", "paused"):
                return
            Html(f"<h2>Your decisions for round {view.round}</h2>")
            if view.decided and not draft:
                Html('<p class="decided">Decided. You can change your decisions until the round closes.</p>')
            else:
                Html('<p class="waiting">Not decided yet.</p>')
            for name, label in CHOICE_LABELS.items():
                solara.Text(label)
                solara.ToggleButtonsSingle(
                    value=current[name],
                    values=list(Decision.CHOICES[name]),
                    on_value=functools.partial(choose, name),
                    classes=[name.replace("_", "-")],
                )
            solara.Text("Propose to your partner (answered next round)")
            for item in (*CLAUSES, "renegotiation"):
                if item in view.clauses:
                    continue
                with solara.Div(classes=[f"propose-{item}"]):
                    solara.Checkbox(
                        label=PROPOSAL_WORDS[item],
                        value=item in current["propose"],
                        on_value=functools.partial(toggle, "propose", item),
                    )
            if view.pending:
                solara.Text("Your partner proposes (tick to accept; left unticked is a no)")
                for item, by in view.pending:
                    with solara.Div(classes=[f"accept-{item}"]):
                        solara.Checkbox(
                            label=f"{by}: {PROPOSAL_WORDS[item]}",
                            value=item in current["accept"],
                            on_value=functools.partial(toggle, "accept", item),
                        )
            with solara.Div(classes=["exit"]):
                solara.Checkbox(
                    label="Leave the alliance this round",
                    value=current["exit"],
                    on_value=functools.partial(choose, "exit"),
                )
            solara.Button(
                "Submit decisions",
                color="primary",
                on_click=submit,
                classes=["submit"],
                disabled=view.state != "playing",
            )
            if error:
                Html(f'<p class="error-text">{esc(error)}</p>')
            Html(f'<p style="font-size:15px;color:#555">{esc(DEADLINE_TEXT)}</p>')


def brief_html(view: Any) -> str:
    priorities = ", ".join(f"{name} {weight:.0%}" for name, weight in view.priorities)
    partners = "; ".join(esc(p) for p in view.partners) or "none"
    contact = "in place" if view.contact_in_place else "has left; a successor is settling in"
    clauses = ", ".join(PROPOSAL_WORDS[c] for c in view.clauses) or "none"
    moves = "".join(f"<li>{esc(m)}</li>" for m in view.partner_moves) or "<li>nothing unusual</li>"
    return (
        f"<h2>Confidential brief: {esc(view.firm)}, the {esc(view.role)} of alliance {view.alliance}</h2>"
        "<table>"
        f"<tr><td>Partners</td><td>{partners}</td></tr>"
        f"<tr><td>Your priorities</td><td>{esc(priorities)}</td></tr>"
        f"<tr><td>Your success measure</td><td>a net value of {view.expectation:.2f} a week from week {view.results_week}</td></tr>"
        f"<tr><td>Your outside option</td><td>{view.outside_option:.2f} a week without the alliance</td></tr>"
        f"<tr><td>Your key contact</td><td>{esc(view.contact)} ({contact})</td></tr>"
        "</table><h2>What you see of the alliance</h2><table>"
        f"<tr><td>Alliance</td><td>{esc(view.alliance_outcome)}</td></tr>"
        f"<tr><td>Trust</td><td>{view.trust:.2f}</td></tr>"
        f"<tr><td>Health</td><td>{view.health:.2f}</td></tr>"
        f"<tr><td>Open issues</td><td>{view.open_issues}</td></tr>"
        f"<tr><td>Value you perceive</td><td>{view.perceived_value:.2f} a week</td></tr>"
        f"<tr><td>Your firm's value so far</td><td>{view.score:.1f}</td></tr>"
        f"<tr><td>Clauses added</td><td>{esc(clauses)}</td></tr>"
        f"</table><p>Last round your partners:</p><ul>{moves}</ul>"
    )


# ------------------------------------------------------------------ the teacher
def _situations() -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """Situations a class can play: each preset's charter as it is often run, and the example
    charter files."""
    out = {p.title: (p.title, p.market, p.charter_a) for p in PRESETS}
    from sim.classroom.charters import read_charter_text

    for path in sorted(EXAMPLE_CHARTERS.glob("*.yaml")):
        try:
            opened = read_charter_text(path.read_text(encoding="utf-8"), path.name)
        except Exception:
            continue
        out[f"charter: {path.name}"] = (f"charter {path.name}", opened.market, opened.clauses)
    return out


@solara.component
def ClassPage() -> None:
    solara.Title("Alliance class")
    solara.Style(CSS)
    router = solara.use_router()
    parts = router.path.strip("/").split("/")
    with solara.Column(classes=["class-page"]):
        if len(parts) < 2 or not parts[1]:
            CreateClass()
            return
        try:
            game = GAMES.find(parts[1])
        except Refused as problem:
            Html(f'<p class="error-text">{esc(problem)}</p><p><a href="/class">Create a class</a></p>')
            return
        code = teacher_codes.value.get(game.join_code)
        if code is None:
            TeacherLogin(game)
            return
        with Guard(game.join_code, "console"):
            Console(game, code)


@solara.component
def CreateClass() -> None:
    shipped = solara.use_memo(_situations, [])
    opened, set_opened = solara.use_state(dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]]())
    situations = {**shipped, **opened}
    router = solara.use_router()
    situation, set_situation = solara.use_state(next(iter(shipped)))
    teams, set_teams = solara.use_state("30")
    rounds, set_rounds = solara.use_state(str(DEFAULT_ROUNDS))
    minutes, set_minutes = solara.use_state("4")
    seed, set_seed = solara.use_state("7")
    error, set_error = solara.use_state("")
    busy, set_busy = solara.use_state(False)

    def create() -> None:
        try:
            title, market, charter = situations[situation]
            values = {}
            for name, text in (("teams", teams), ("rounds", rounds), ("seed", seed)):
                try:
                    values[name] = int(text)
                except ValueError:
                    raise InputError(name, f"{text!r} is not a whole number") from None
            try:
                seconds = float(minutes) * 60.0
            except ValueError:
                raise InputError("minutes per round", f"{minutes!r} is not a number") from None
            if not 0.0 <= seconds <= MAX_ROUND_SECONDS:  # also refuses nan
                raise InputError(
                    "minutes per round",
                    f"{minutes} is not between 0 (no timer) and {MAX_ROUND_SECONDS / 60:.0f}",
                )
            if not 0 <= values["seed"] < 2**63:
                raise InputError("seed", f"{values['seed']} is not from 0 to 2^63 - 1")
            setup = ClassSetup(
                title, market, charter, values["teams"], values["rounds"], seconds, values["seed"]
            )
            setup.check()
            set_busy(True)
            game = GAMES.create(setup)
        except Exception as problem:
            set_error(failure("Creating the class", problem))
            set_busy(False)
            return
        teacher_codes.value = {**teacher_codes.value, game.join_code: game.teacher_code}
        router.push(f"/class/{game.join_code}")

    def dropped(info: Any) -> None:
        from sim.classroom.charters import read_charter_text
        from sim.stress.charter import CharterError

        name = str(info["name"] if isinstance(info, dict) else info.name)
        data = info["data"] if isinstance(info, dict) else info.data
        try:
            text = bytes(data).decode("utf-8")
            charter = read_charter_text(text, name)
        except UnicodeDecodeError:
            set_error(f"{name}: not a text (UTF-8) file")
            return
        except CharterError as problem:
            set_error(f"{name}: {problem}")
            return
        except Exception as problem:
            set_error(failure(f"Reading {name}", problem))
            return
        key = f"charter file: {name}"
        set_opened({**opened, key: (f"charter {name}", charter.market, charter.clauses)})
        set_situation(key)
        set_error("")

    with solara.Column(style={"max-width": "760px"}, classes=["create-class"]):
        Html(
            "<h1>Create a participatory class</h1><p>Teams play the partner firms; you run the market. "
            f"Empty seats are played by {COMPUTER_POLICY}.</p>"
        )
        solara.Select("Situation", value=situation, values=list(situations), on_value=set_situation)
        solara.FileDrop(
            label="or drop a charter file (.yaml, as alliance-stress reads it) here",
            on_file=dropped,
            lazy=False,
        )
        solara.InputText(
            f"Teams (1 to {MAX_TEAMS})",
            value=teams,
            on_value=set_teams,
            continuous_update=True,
            classes=["teams-field"],
        )
        solara.InputText(
            f"Rounds of a quarter (1 to {MAX_ROUNDS})",
            value=rounds,
            on_value=set_rounds,
            continuous_update=True,
            classes=["rounds-field"],
        )
        solara.InputText(
            "Minutes per round (0: no timer)",
            value=minutes,
            on_value=set_minutes,
            continuous_update=True,
            classes=["minutes-field"],
        )
        solara.InputText(
            "Seed (the same seed, the same market and draws)",
            value=seed,
            on_value=set_seed,
            continuous_update=True,
        )
        solara.Button(
            "Create the class", color="primary", on_click=create, classes=["create-button"], disabled=busy
        )
        if error:
            Html(f'<p class="error-text">{esc(error)}</p>')


@solara.component
def TeacherLogin(game: ClassGame) -> None:
    code, set_code = solara.use_state("")
    error, set_error = solara.use_state("")

    def enter() -> None:
        try:
            game.check_teacher(code)
        except Refused as problem:
            set_error(str(problem))
            return
        teacher_codes.value = {**teacher_codes.value, game.join_code: code.strip().upper()}

    with solara.Column(style={"max-width": "560px"}):
        Html(f"<h1>Console of class {esc(game.join_code)}</h1><p>Type the teacher code to open it.</p>")
        solara.InputText(
            "Teacher code",
            value=code,
            on_value=set_code,
            continuous_update=True,
            password=True,
            classes=["teacher-code-field"],
        )
        solara.Button("Open the console", color="primary", on_click=enter, classes=["open-console"])
        if error:
            Html(f'<p class="error-text">{esc(error)}</p>')


def export_zip(game: ClassGame) -> bytes:
    """The class's export: its decision log (which ``alliance-sim-app class-replay`` replays to
    the same tables), the tables and the debrief figure."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("decision-log.json", json.dumps(game.log(), indent=1))
        for name, text in tables_text(game.tables()).items():
            archive.writestr(name, text)
        archive.writestr("debrief.png", debrief_png(game))
        archive.writestr(
            "README.txt",
            "Replay this class from the command line:\n"
            "  alliance-sim-app class-replay decision-log.json --out replay\n"
            "The CSV tables in replay/ are byte for byte those in this folder.\n",
        )
    return buffer.getvalue()


@solara.component
def Console(game: ClassGame, code: str) -> None:
    use_game(game, console=True)
    error, set_error = solara.use_state("")
    kind, set_kind = solara.use_state(InjectionKind.SUBSIDY.value)
    target, set_target = solara.use_state("all")
    size, set_size = solara.use_state("0.3")

    def act(action: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
                set_error("")
            except Exception as problem:
                set_error(failure("The console's action", problem))

        return run

    def inject() -> None:
        where = None if target == "all" else int(target.split()[-1])
        try:
            amount = float(size)
        except ValueError:
            raise InputError("size", f"{size!r} is not a number") from None
        game.inject(code, kind, where, amount)

    with game.lock:
        decided = game.decided_seats()
        deciding = game._deciding_seats()
        state, round_, seconds = game.state, game.round, game.seconds_left()
        seats = list(game.seats)
        network = class_network_svg(game)
    address = os.environ.get(URL_ENV, "this server's address")
    status = {
        "lobby": "Waiting to start",
        "playing": f"Round {round_} of {game.setup.rounds} · {_seconds(seconds)}",
        "paused": f"Paused · round {round_} of {game.setup.rounds}",
        "over": "Game over: the debrief is below",
    }[state]
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap", "gap": "24px"}):
        Html(f'<div>Join code</div><div class="join-code">{esc(game.join_code)}</div>')
        Html(
            f"<div>Teams open <b>{esc(address)}/join</b></div>"
            f'<div class="big-round console-status">{esc(status)}</div>'
            f"<div>{esc(game.setup.title)}</div>"
        )
    with solara.Row(style={"flex-wrap": "wrap"}):
        if state == "lobby":
            solara.Button(
                "Start the game", color="primary", on_click=act(lambda: game.start(code)), classes=["start"]
            )
        if state == "playing":
            solara.Button("Pause", on_click=act(lambda: game.pause(code)), classes=["pause"])
            solara.Button(
                "Close the round now", on_click=act(lambda: game.close_round(code)), classes=["close-round"]
            )
        if state == "paused":
            solara.Button(
                "Resume", color="primary", on_click=act(lambda: game.resume(code)), classes=["resume"]
            )
        if state != "over":
            solara.Button("End the game", on_click=act(lambda: game.end(code)), classes=["end-game"])
        with solara.Div(classes=["export"]):
            solara.FileDownload(
                lambda: export_zip(game),
                filename=f"alliance-class-{game.join_code}.zip",
                label="Export the class",
            )
    if error:
        Html(f'<p class="error-text">{esc(error)}</p>')
    with solara.Div(classes=["console-grid"]):
        Html(network, classes=["class-network"])
        with solara.Column():
            joined = [s for s in seats if s.team is not None]
            rows = "".join(
                f"<tr><td>{esc(s.team)}</td><td>{esc(s.firm)}</td><td>{s.alliance}</td><td>"
                + ("✔ decided" if s.index in decided else ("waiting" if s in deciding else "out"))
                + "</td></tr>"
                for s in joined
            )
            Html(
                f"<h2>Teams: {len(joined)} of {len(seats)} seats · {len(decided)} of {len(deciding)} decided</h2>"
                f'<table class="class-table decided-table"><tr><th>team</th><th>firm</th><th>alliance</th><th>round {round_}</th></tr>{rows}</table>'
            )
            if state != "over":
                with solara.Card("Inject an event (at the next round's first week)"):
                    solara.Select(
                        "Event", value=kind, values=[k.value for k in InjectionKind], on_value=set_kind
                    )
                    solara.Select(
                        "Where",
                        value=target,
                        values=["all", *[f"alliance {i}" for i in range(game.n_alliances)]],
                        on_value=set_target,
                    )
                    solara.InputText(
                        "Size (a shock's size, or how far a pivot moves)", value=size, on_value=set_size
                    )
                    solara.Button("Inject", on_click=act(inject), classes=["inject"])
    if game.feed:
        Html(
            "<h2>Events</h2><ul class='feed-list'>"
            + "".join(f"<li>{esc(t)}</li>" for _, _, t in game.feed[-40:][::-1])
            + "</ul>"
        )
    with solara.Details("The teacher code (keep it off the projector) and how the computer plays"):
        Html(
            f"<p>Teacher code: <code>{esc(game.teacher_code)}</code> (opens this console in another browser)</p>"
        )
        Html(f"<p>{esc(COMPUTER_POLICY_TEXT)}</p><p>{esc(DEADLINE_TEXT)}</p>")
    if state == "over":
        Debrief(game)


@solara.component
def Debrief(game: ClassGame) -> None:
    picture = solara.use_memo(lambda: debrief_png(game), [game.version])
    rows, scores = class_debrief(game)
    Html("<h2>Debrief: would a committee have saved yours?</h2>")
    head = "".join(
        f"<th>{esc(h)}</th>" for h in ("alliance", "teams", "as played", *DESIGNS, "in a sentence")
    )
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    Html(f'<table class="class-table debrief-table"><tr>{head}</tr>{body}</table>')
    solara.Image(picture, width="100%")
    with solara.Details("Each team's decisions, round by round"):
        head = "".join(
            f"<th>{esc(h)}</th>"
            for h in ("alliance", "team", "firm", *(f"round {r.round}" for r in game.records))
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in decision_table(game)
        )
        Html(f'<table class="class-table decisions-table"><tr>{head}</tr>{body}</table>')
    head = "".join(
        f"<th>{esc(h)}</th>" for h in ("rank", "team", "firm", "alliance", "firm value", "alliance as played")
    )
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in scores)
    Html(
        f'<h2>Scoreboard</h2><table class="class-table scoreboard">{head and "<tr>" + head + "</tr>"}{body}</table>'
    )


__all__ = ["CLASS", "GAMES", "ClassPage", "JoinPage", "PlayPage"]
