"""Class sessions held on the server: one :class:`LiveSession` per browser session, kept in one
:class:`SessionStore` that every page of the server shares, guarded for concurrency.

A live session is the market a class watches (charters A and B on the same alliances), what
its page shows of it (the page, the selected alliance, messages) and its play loop. Every
change goes through a method that takes the session's lock; the page reads an immutable
:class:`Snapshot`, so no page ever sees a session half-stepped, and two tabs of the same
session (or a reload) show the same state.

The play loop runs in the session's own thread: it steps a week, draws what the page shows,
tells the pages, and waits until one of them has shown it before the next week (at most
``interval`` apart), so a week is always stepped *and* redrawn, and a session nobody watches
stops playing. A session whose last tab closed is kept ``keep_seconds`` (a reload finds it
again) and then freed; its memory goes back to the system.

Nothing here imports Solara: the tests drive sessions from threads directly.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sim.classroom.charters import OpenedCharter, format_value, read_charter_text
from sim.classroom.figures import CHARTS, MAIN_CHART
from sim.classroom.presets import PRESET_BY_KEY, PRESETS, Preset
from sim.classroom.session import (
    HEALTH_PARTS,
    Classroom,
    Injection,
    InjectionKind,
    Setup,
    charter_name,
    check_injection,
    compact_feed,
    ending_label,
    replay,
)
from sim.classroom.view import ClassroomView, setup_of
from sim.params import ConfigError, SimulationConfig

log = logging.getLogger("sim.classroom")

DEFAULT_PRESET = PRESETS[6]
PAGES = {
    "watch": "Watch",
    "compare": "Compare A and B",
    "edit": "Edit charter",
    "debrief": "Debrief",
}
"""The app's pages, by key, with their names."""
PAGE_FRAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "watch": (("A",), (f"{MAIN_CHART}_A",)),
    "compare": (("A", "B"), (MAIN_CHART,)),
    "edit": ((), ()),
    "debrief": ((), tuple(c.key for c in CHARTS if c.key != f"{MAIN_CHART}_A")),
}
"""The networks and charts each page shows, drawn each week only for that page."""
PAGE_CHARTERS = {"watch": ("A",), "compare": ("A", "B"), "edit": ("A", "B"), "debrief": ("A", "B")}
"""The charters whose events each page's feed shows."""
PAUSE_ON = {
    "never": "never",
    "ended": "an alliance ends",
    "failed": "an alliance fails",
    "injected": "an injected event strikes",
}
"""When the play loop pauses by itself."""
INTERVALS_MS = (0, 100, 300, 600, 1000, 2000)
DEFAULT_INTERVAL_MS = 300
MAX_WEEKS_PER_STEP = 52
SESSION_FILE_FORMAT = "alliance-classroom-session"
MAX_SESSION_FILE_BYTES = 1_000_000
KEEP_ENV = "ALLIANCE_CLASSROOM_KEEP_SECONDS"
"""Seconds a session with no tab open is kept for a reload (``alliance-sim-app --keep``)."""
RENDER_WAIT_S = 10.0
"""How long the play loop waits for a page to show a week before it concludes nobody watches."""


class InputError(ValueError):
    """A value typed into the page that cannot be taken: the message names the field, the value
    and what is allowed, and is shown beside the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


def parse_int(field_name: str, text: str, low: int, high: int) -> int:
    """An integer typed into ``field_name``, between ``low`` and ``high``, or InputError."""
    cleaned = str(text).strip()
    try:
        value = int(cleaned)
    except ValueError:
        raise InputError(
            field_name, f"{field_name} = {cleaned[:40]!r}: not a whole number; allowed: {low} to {high}"
        ) from None
    if not low <= value <= high:
        raise InputError(field_name, f"{field_name} = {value}: out of range; allowed: {low} to {high}")
    return value


def with_edits(base: tuple[str, ...], edits: Mapping[str, Any]) -> tuple[str, ...]:
    """Overrides ``base`` with the keys in ``edits`` replaced by their new values."""
    kept = [item for item in base if item.split("=", 1)[0] not in edits]
    return (*kept, *(f"{key}={format_value(value)}" for key, value in edits.items()))


def preset_named(name: str) -> Preset:
    """A preset by its key or by its title."""
    if name in PRESET_BY_KEY:
        return PRESET_BY_KEY[name]
    for preset in PRESETS:
        if preset.title == name:
            return preset
    raise ConfigError(f"preset = {name!r}: not a preset; allowed: {', '.join(p.key for p in PRESETS)}")


def _whole(value: Any, field: str) -> int:
    """An edit that must be a whole number (the seed, the market's size), or InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(field, f"{field} = {str(value)[:40]!r}: must be a whole number")
    try:
        number = float(value)
    except ValueError:
        raise InputError(field, f"{field} = {str(value)[:40]!r}: must be a whole number") from None
    if not math.isfinite(number) or number != int(number):
        raise InputError(field, f"{field} = {str(value)[:40]!r}: must be a whole number")
    return int(number)


def edited_setup(
    setup: Setup,
    market_edits: Mapping[str, Any] | None = None,
    charter_edits: Mapping[str, Mapping[str, Any]] | None = None,
) -> Setup:
    """``setup`` with the teacher's edits of the market and of the charters."""
    edits = dict(market_edits or {})
    charters = charter_edits or {}
    seed = _whole(edits.pop("seed", setup.seed), "seed")
    n = _whole(edits.pop("n_alliances", setup.n_alliances), "alliances in the market")
    market = with_edits(setup.market, edits)
    a = with_edits(setup.charter_a, charters.get("A", {}))
    b = None if setup.charter_b is None else with_edits(setup.charter_b, charters.get("B", {}))
    return Setup(seed=seed, n_alliances=n, market=market, charter_a=a, charter_b=b)


@dataclass(frozen=True)
class Snapshot:
    """Everything a page shows of a session at one moment; never changed once made."""

    version: int
    week: int
    horizon: int
    running: bool
    playing: bool
    busy: str
    page: str
    preset_key: str
    preset_title: str
    explanation: str
    charters: dict[str, str]  # charter -> its name in a few words
    opened: dict[str, str]  # charter -> charter file it came from
    frames: dict[str, Any]
    feed: tuple[tuple[str, str], ...]
    selected: int
    n_alliances: int
    alliance_labels: tuple[str, ...]
    inspector: tuple[tuple[str, ...], ...]  # rows: name, value under A, value under B
    alliance_events: tuple[str, ...]
    message: str
    error: str
    field_error: tuple[str, str]
    interval_ms: int
    weeks_per_step: int
    pause_on: str
    outcomes: dict[str, dict[str, int]]
    setup: Setup


@dataclass
class LiveSession:
    """One class session on the server (see the module's docstring)."""

    key: str
    setup: Setup = field(default_factory=lambda: setup_of(DEFAULT_PRESET))
    preset: Preset = DEFAULT_PRESET
    pacer: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(1))
    """Taken by the play loop for each week it steps and draws: the store gives every session
    the same one, so the sessions playing take turns and a click never waits behind them all."""

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.view = ClassroomView.start(self.setup)
        self.remembered: dict[str, Setup] = {}  # the last setup applied to each preset
        self.opened: dict[str, str] = {}
        self.page = "watch"
        self.selected = 0
        self.message = ""
        self.error = ""
        self.field_error: tuple[str, str] = ("", "")  # a refused value: its field and the message
        self.busy = ""
        self.interval_ms = DEFAULT_INTERVAL_MS
        self.weeks_per_step = 1
        self.pause_on = "never"
        self.playing = False
        self.version = 0
        self.closed = False
        self.tabs = 0
        self.attached = False  # a tab has attached to it (its page rendered and connected)
        self.idle_since = time.monotonic()
        self._frames: dict[str, Any] = {}
        self._frames_key: tuple[Any, ...] = ()
        self._listeners: dict[int, Callable[[int], None]] = {}
        self._next_listener = 0
        self._shown = threading.Event()
        self._task: threading.Thread | None = None
        self._draw()

    # ------------------------------------------------------------ reading
    @property
    def room(self) -> Classroom:
        return self.view.room

    def snapshot(self) -> Snapshot:
        with self.lock:
            self._draw()
            room = self.room
            first = room.models["A"]
            n = first.config.n_alliances
            index = min(self.selected, n - 1)
            labels = tuple(
                f"alliance {i} ({' & '.join(f'Firm {int(f)}' for f in first.alliances[i].firm)})"
                for i in range(n)
            )
            alliances = {c: m.alliances[index] for c, m in room.models.items()}
            rows: list[tuple[str, ...]] = [
                (
                    "state",
                    *(
                        "running" if a.ending() is None else f"ended week {a.end_week}: {ending_label(a)}"
                        for a in alliances.values()
                    ),
                )
            ]
            for part in ("health", *HEALTH_PARTS):
                rows.append(
                    (part.replace("_", " "), *(f"{float(getattr(a, part)):.2f}" for a in alliances.values()))
                )
            rows.append(("open issues", *(str(a.open_issues()) for a in alliances.values())))
            events = tuple(
                f"{c}: {e.text}"
                for c, e in reversed([(c, e) for c, e in room.feed if e.alliance_id == index][-8:])
            )
            outcomes = {
                c: {k: int(v) for k, v in series[-1].items() if k in ("running", *OUTCOME_KEYS)}
                for c, series in room.series.items()
            }
            return Snapshot(
                version=self.version,
                week=room.week,
                horizon=first.config.horizon_weeks,
                running=room.running,
                playing=self.playing,
                busy=self.busy,
                page=self.page,
                preset_key=self.preset.key,
                preset_title=situation_title(self.preset, self.opened),
                explanation=situation_explanation(self.preset, self.opened),
                charters={c: charter_name(m.config) for c, m in room.models.items()},
                opened=dict(self.opened),
                frames=dict(self._frames),
                feed=tuple(
                    compact_feed([(c, e) for c, e in room.feed[-400:] if c in PAGE_CHARTERS[self.page]])[-12:]
                ),
                selected=index,
                n_alliances=n,
                alliance_labels=labels,
                inspector=tuple(rows),
                alliance_events=events,
                message=self.message,
                error=self.error,
                field_error=self.field_error,
                interval_ms=self.interval_ms,
                weeks_per_step=self.weeks_per_step,
                pause_on=self.pause_on,
                outcomes=outcomes,
                setup=room.setup,
            )

    def _draw(self) -> None:
        """Draw what the current page shows, once per week, page and selection."""
        key = (self.version, self.page, self.selected, id(self.view))
        if key == self._frames_key:
            return
        networks, charts = PAGE_FRAMES[self.page]
        shape = "tall" if len(networks) > 1 else "wide"
        self._frames = self.view.frames(networks, charts, self.selected, shape)
        self._frames_key = key

    # ------------------------------------------------------------ telling the pages
    def subscribe(self, listener: Callable[[int], None]) -> int:
        """Call ``listener(version)`` after every change; returns a token for :meth:`unsubscribe`."""
        with self.lock:
            token = self._next_listener
            self._next_listener += 1
            self._listeners[token] = listener
            return token

    def unsubscribe(self, token: int) -> None:
        with self.lock:
            self._listeners.pop(token, None)
            if not self._listeners and self.playing:
                self.playing = False

    def shown(self, version: int) -> None:
        """A page has shown ``version`` (the play loop may go on)."""
        if version >= self.version:
            self._shown.set()

    def _changed(self) -> None:
        """Bump the version and tell every page (outside the lock: a page reads a snapshot)."""
        with self.lock:
            self.version += 1
            version = self.version
            self._shown.clear()
            self._draw()  # in the thread that changed it (the play loop's own, while playing)
            listeners = list(self._listeners.items())
        for token, listener in listeners:
            try:
                listener(version)
            except Exception:  # a page that went away: forget it
                log.warning("session %s: a page could not be told of week changes; dropped", self.key)
                self.unsubscribe(token)

    def _report(self, error: Exception, doing: str) -> None:
        """An unexpected error: logged with the session, shown as a message, the page kept."""
        log.exception("session %s: %s failed", self.key, doing)
        with self.lock:
            self.error = f"{doing} failed: {type(error).__name__}: {error}. The session is kept; try again."
            self.playing = False
            self.busy = ""

    def act(self, doing: str, action: Callable[[], None]) -> None:
        """Run a page's action under the lock; refused input becomes a message, any other error
        is logged with the session id and shown, never raised into the page."""
        try:
            with self.lock:
                self.error = ""
                self.field_error = ("", "")
                action()
        except InputError as error:
            with self.lock:
                self.field_error = (error.field, str(error))
        except (ConfigError, ValueError) as error:
            with self.lock:
                self.error = str(error)
        except Exception as error:
            self._report(error, doing)
        self._changed()

    # ------------------------------------------------------------ stepping
    def _advance(self, weeks: int) -> None:
        """Step ``weeks`` weeks (fewer at the horizon or at an event the class pauses on)."""
        room = self.room
        for _ in range(weeks):
            if not room.running:
                break
            before = {c: dict(s[-1]) for c, s in room.series.items()}
            room.step()
            reason = self._pause_reason(before)
            if reason:
                self.playing = False
                self.message = f"Paused in week {room.week}: {reason}."
                break
        if not room.running:
            self.playing = False

    def _pause_reason(self, before: Mapping[str, Mapping[str, Any]]) -> str:
        if self.pause_on == "never":
            return ""
        room = self.room
        for charter, series in room.series.items():
            now, was = series[-1], before[charter]
            if self.pause_on == "ended" and now["running"] < was["running"]:
                return f"an alliance ended under charter {charter}"
            if self.pause_on == "failed" and now["failed"] > was["failed"]:
                return f"an alliance failed under charter {charter}"
        if self.pause_on == "injected" and any(i.week == room.week - 1 for i in room.injections):
            return "the injected event struck"
        return ""

    def step(self) -> None:
        """Step ``weeks_per_step`` weeks (the page's Step button)."""

        def action() -> None:
            if not self.room.running:
                self.error = "The horizon is reached: press Reset to start again."
                return
            self.message = ""
            self._advance(self.weeks_per_step)

        self.act("Step", action)

    def play(self) -> None:
        with self.lock:
            if self.playing or self.busy:
                return
            if not self.room.running:
                self.error = "The horizon is reached: press Reset to start again."
                self.playing = False
            else:
                self.playing = True
                self.message = ""
                self.error = ""
                self._start(self._play_loop, "play")
        self._changed()

    def pause(self) -> None:
        with self.lock:
            self.playing = False
        self._changed()

    def _start(self, target: Callable[[], None], name: str) -> None:
        self._task = threading.Thread(target=target, name=f"classroom-{name}-{self.key[:8]}", daemon=True)
        self._task.start()

    def _play_loop(self) -> None:
        try:
            while True:
                with self.pacer:
                    with self.lock:
                        if not self.playing or self.closed:
                            break
                        self._advance(self.weeks_per_step)
                        interval = self.interval_ms / 1000.0
                        started = time.monotonic()
                    self._changed()
                # a week is shown before the next is stepped; nobody showing it: nobody watches
                if not self._shown.wait(RENDER_WAIT_S):
                    with self.lock:
                        if self.playing:
                            self.playing = False
                            self.message = "Paused: no page is showing this session."
                    self._changed()
                    break
                # at least a moment between weeks: a session waiting for the pacer gets its turn
                time.sleep(max(0.001, interval - (time.monotonic() - started)))
        except Exception as error:
            self._report(error, "Play")
            self._changed()

    def go_to(self, text: str) -> None:
        """Go to week N: forward by stepping, back by replaying the same session from week 0."""

        def action() -> None:
            horizon = self.room.models["A"].config.horizon_weeks
            week = parse_int("go to week", text, 0, horizon)
            self.playing = False
            self.message = ""
            if week == self.room.week:
                return
            self.busy = f"Going to week {week}..."
            self._start(lambda: self._seek(week), "seek")

        self.act("Go to week", action)

    def _seek(self, week: int) -> None:
        try:
            with self.lock:
                room = self.room
                if week < room.week:
                    injections = [i for i in room.injections if i.week < week]
                    self._replace(ClassroomView(replay(room.setup, week, injections)))
                else:
                    while room.week < week and room.running:
                        room.step()
                    if room.week < week:
                        self.message = f"The session ended in week {room.week}, before week {week}."
                self.busy = ""
        except Exception as error:
            self._report(error, "Go to week")
        self._changed()

    def _replace(self, view: ClassroomView) -> None:
        self.view = view
        self._frames_key = ()
        self.selected = min(self.selected, view.room.models["A"].config.n_alliances - 1)

    # ------------------------------------------------------------ what the class changes
    def set_page(self, page: str) -> None:
        def action() -> None:
            if page not in PAGES:
                raise InputError("page", f"page = {page!r}: allowed: {', '.join(PAGES)}")
            self.page = page

        self.act("Change page", action)

    def select(self, index: int) -> None:
        def action() -> None:
            n = self.room.models["A"].config.n_alliances
            if not 0 <= int(index) < n:
                raise InputError("alliance", f"alliance = {index}: allowed: 0 to {n - 1}")
            self.selected = int(index)

        self.act("Select an alliance", action)

    def settings(
        self,
        interval_ms: int | None = None,
        weeks_per_step: str | int | None = None,
        pause_on: str | None = None,
    ) -> None:
        def action() -> None:
            if interval_ms is not None:
                if interval_ms not in INTERVALS_MS:
                    raise InputError(
                        "pause between weeks", f"pause between weeks = {interval_ms}: allowed: {INTERVALS_MS}"
                    )
                self.interval_ms = int(interval_ms)
            if weeks_per_step is not None:
                self.weeks_per_step = parse_int("weeks per step", str(weeks_per_step), 1, MAX_WEEKS_PER_STEP)
            if pause_on is not None:
                if pause_on not in PAUSE_ON:
                    raise InputError("pause on", f"pause on = {pause_on!r}: allowed: {', '.join(PAUSE_ON)}")
                self.pause_on = pause_on

        self.act("Settings", action)

    def restart(
        self, setup: Setup, preset: Preset | None = None, opened: Mapping[str, str] | None = None
    ) -> None:
        """Start ``setup`` at week 0 (every key checked before anything is replaced). ``opened``
        names the charter files the setup now holds (by default, those it held). A setup
        without charter files is remembered as its preset's edits; one with a file is the
        file's own situation, and leaves the preset's edits as they were."""
        for charter in setup.charters:
            check_setup(setup, charter)
        view = ClassroomView.start(setup)
        self.playing = False
        if preset is not None:
            self.preset = preset
        if opened is not None:
            self.opened = dict(opened)
        self.setup = setup
        if not self.opened:
            self.remembered[self.preset.key] = setup
        self._replace(view)

    def reset(self, preset_key: str | None = None) -> None:
        """Start again at week 0: what is shown (``preset_key`` None: edits and charter files
        kept), or the chosen preset with the edits last applied to it."""

        def action() -> None:
            if preset_key is None:
                self.restart(self.setup)
            else:
                preset = preset_named(preset_key)
                self.restart(self.remembered.get(preset.key, setup_of(preset)), preset, opened={})
            self.message = ""

        self.act("Reset", action)

    def restore_preset(self) -> None:
        """Drop every edit and charter file: the preset as it ships."""

        def action() -> None:
            self.remembered.pop(self.preset.key, None)
            self.restart(setup_of(self.preset), self.preset, opened={})

        self.act("Restore the preset", action)

    def apply_edits(
        self, market_edits: Mapping[str, Any], charter_edits: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Start again at week 0 with the teacher's edits of the market and the charters."""

        def action() -> None:
            setup = edited_setup(self.setup, market_edits, charter_edits)
            self.restart(setup)
            self.message = "Applied: the same alliances start again at week 0 under the edited charters."

        self.act("Apply and restart", action)

    def inject(self, kind: str, target: int | None, size: float) -> None:
        def action() -> None:
            try:
                chosen = InjectionKind(kind)
            except ValueError:
                raise InputError(
                    "event", f"event = {kind!r}: allowed: {', '.join(k.value for k in InjectionKind)}"
                ) from None
            amount = 0.0 if chosen is InjectionKind.KEY_CONTACT else float(size)
            self.room.inject(chosen, target, amount)
            where = "all alliances" if target is None else f"alliance {target}"
            self.message = (
                f"Scheduled for week {self.room.week + 1}: {chosen.label} in {where} (under every charter)."
            )

        self.act("Inject an event", action)

    def open_charter(self, side: str, text: str, name: str) -> OpenedCharter | None:
        """Open a charter file as charter A or B on the classroom market (see
        :mod:`sim.classroom.charters`); returns what was read, or None with the error shown."""
        result: list[OpenedCharter] = []

        def action() -> None:
            if side not in ("A", "B"):
                raise InputError("side", f"side = {side!r}: allowed: A or B")
            opened = read_charter_text(text, name)
            current = self.setup
            a = opened.clauses if side == "A" else current.charter_a
            b = opened.clauses if side == "B" else (current.charter_b or self.preset.charter_b)
            setup = Setup(
                seed=current.seed,
                n_alliances=current.n_alliances,
                market=opened.market,
                charter_a=a,
                charter_b=b,
            )
            self.restart(setup, opened={**self.opened, side: opened.name})
            midpoints = (
                f" Ranges replayed at their midpoint: {', '.join(opened.midpoints)}."
                if opened.midpoints
                else ""
            )
            self.message = (
                f"Opened {opened.name} as charter {side} on its own market, for both charters.{midpoints}"
            )
            result.append(opened)

        self.act("Open a charter file", action)
        return result[0] if result else None

    # ------------------------------------------------------------ saving
    def to_file(self) -> str:
        """The session as a JSON text: its preset, setup, week and injected events."""
        with self.lock:
            room = self.room
            return json.dumps(
                {
                    "format": SESSION_FILE_FORMAT,
                    "version": 1,
                    "preset": self.preset.key,
                    "week": room.week,
                    "setup": room.setup.to_dict(),
                    "injections": [i.to_arg() for i in room.injections],
                    "opened": self.opened,
                    "command": room.setup.command(room.week, room.injections),
                },
                indent=2,
            )

    def load_file(self, text: str) -> None:
        """Load a saved session: checked field by field, then replayed to its week."""

        def action() -> None:
            preset, setup, week, injections, opened = read_session_file(text)
            room = replay(setup, week, injections)
            self.playing = False
            self.preset = preset
            self.setup = setup
            self.opened = opened
            if not opened:
                self.remembered[preset.key] = setup
            self._replace(ClassroomView(room))
            self.message = f"Loaded: {preset.title}, week {room.week}."

        self.act("Load a session", action)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.playing = False
            self._listeners.clear()
        self._shown.set()


OUTCOME_KEYS = ("failed", "terminated", "success", "underperforming")


def situation_title(preset: Preset, opened: Mapping[str, str]) -> str:
    """What the situation menu shows: the preset, or the charter files that replaced its market."""
    if not opened:
        return preset.title
    return "Charter file: " + ", ".join(f"{name} ({side})" for side, name in sorted(opened.items()))


def situation_explanation(preset: Preset, opened: Mapping[str, str]) -> str:
    """The two lines read to the class."""
    if not opened:
        return preset.explanation
    files = " and ".join(f"charter {side} is {name}" for side, name in sorted(opened.items()))
    return (
        f"The market is the charter file's own, for both charters; {files}, read from its file.\n"
        "Choose a situation to leave the file; Reset replays it from week 0."
    )


def read_session_file(text: str) -> tuple[Preset, Setup, int, list[Injection], dict[str, str]]:
    """A saved session's fields, each checked (ConfigError naming the field and what is allowed)."""
    if len(text.encode()) > MAX_SESSION_FILE_BYTES:
        raise ConfigError(f"session file: {len(text.encode())} bytes; at most {MAX_SESSION_FILE_BYTES}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"session file: not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != SESSION_FILE_FORMAT:
        raise ConfigError(
            f"session file: 'format' must be {SESSION_FILE_FORMAT!r} (a file saved by this app)"
        )
    preset = preset_named(str(data.get("preset", "")))
    raw = data.get("setup")
    if not isinstance(raw, dict):
        raise ConfigError(
            "session file: 'setup' must be an object with seed, n_alliances, market, charter_a, charter_b"
        )

    def strings(name: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) and "=" in v for v in value):
            raise ConfigError(f"session file: setup.{name} must be a list of key=value overrides")
        return tuple(value)

    for name in ("seed", "n_alliances"):
        if not isinstance(raw.get(name), int) or isinstance(raw.get(name), bool):
            raise ConfigError(f"session file: setup.{name} = {raw.get(name)!r}: must be an integer")
    setup = Setup(
        seed=raw["seed"],
        n_alliances=raw["n_alliances"],
        market=strings("market", raw.get("market")),
        charter_a=strings("charter_a", raw.get("charter_a")),
        charter_b=None if raw.get("charter_b") is None else strings("charter_b", raw.get("charter_b")),
    )
    configs = [check_setup(setup, c) for c in setup.charters]
    week = data.get("week")
    horizon = configs[0].horizon_weeks
    if not isinstance(week, int) or isinstance(week, bool) or not 0 <= week <= horizon:
        raise ConfigError(f"session file: week = {week!r}: must be an integer from 0 to {horizon}")
    items = data.get("injections", [])
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ConfigError("session file: injections must be a list of week:target:kind:size texts")
    injections = [Injection.parse(i) for i in items]
    for injection in injections:
        for config in configs:
            check_injection(injection, config)
    opened = data.get("opened", {})
    if not isinstance(opened, dict) or not all(
        k in ("A", "B") and isinstance(v, str) for k, v in opened.items()
    ):
        raise ConfigError("session file: opened must map A or B to a charter file's name")
    return preset, setup, week, injections, {k: v[:80] for k, v in opened.items()}


MIN_ALLIANCES, MAX_ALLIANCES = 2, 40
"""Alliances a classroom market holds (a picture a class can read)."""


def check_setup(setup: Setup, charter: str) -> SimulationConfig:
    """A charter's configuration, with the classroom's own bounds checked first."""
    if not 0 <= setup.seed < 2**32:
        raise ConfigError(f"seed = {setup.seed}: allowed: 0 to {2**32 - 1}")
    if not MIN_ALLIANCES <= setup.n_alliances <= MAX_ALLIANCES:
        raise ConfigError(
            f"n_alliances = {setup.n_alliances}: allowed in the classroom: {MIN_ALLIANCES} to {MAX_ALLIANCES}"
        )
    return setup.config(charter)


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's mallopt parameters


def limit_heap() -> None:
    """Keep the server's heap from holding on to what freed sessions used (glibc): two malloc
    arenas instead of one per thread, and blocks of 128 kB and more (the frames) mapped apart,
    so they go back to the system as soon as they are freed."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_ARENA_MAX, 2)
        libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)


def free_memory() -> None:
    """Collect what freed sessions left, and hand the freed heap back to the system (glibc)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


FIRST_RENDER_S = 600.0
"""How long a session made by a page's first render waits for that page to attach."""


class SessionStore:
    """Every live session of the server, by browser session id; one lock guards the map, each
    session its own state. Sessions with no tab open are freed after ``keep_seconds``."""

    def __init__(self, keep_seconds: float = 1800.0, limit: int = 300) -> None:
        self.keep_seconds = keep_seconds
        self.limit = limit
        self._lock = threading.Lock()
        self.pacer = threading.Semaphore(1)
        self._sessions: dict[str, LiveSession] = {}
        self._sweeper: threading.Thread | None = None
        self._stop = threading.Event()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def _get(self, key: str) -> LiveSession:
        live = self._sessions.get(key)
        if live is None:
            if len(self._sessions) >= self.limit:
                raise ConfigError(
                    f"the server holds {len(self._sessions)} sessions, its limit; "
                    "close unused tabs or start another server"
                )
            live = LiveSession(key, pacer=self.pacer)
            self._sessions[key] = live
            log.info("session %s: started (%d sessions)", key, len(self._sessions))
        self._start_sweeper()
        return live

    def session(self, key: str) -> LiveSession:
        """The session of browser session ``key``, made on its first page (and freed
        ``keep_seconds`` later unless a tab attaches to it)."""
        with self._lock:
            return self._get(key)

    def attach(self, key: str) -> LiveSession:
        """One more tab open on session ``key``."""
        with self._lock:
            live = self._get(key)
            live.tabs += 1
            live.attached = True
            return live

    def detach(self, key: str) -> None:
        """A tab of session ``key`` closed: with none left the session stops playing and is kept
        ``keep_seconds`` for a reload."""
        with self._lock:
            live = self._sessions.get(key)
            if live is None:
                return
            live.tabs = max(0, live.tabs - 1)
            if live.tabs == 0:
                live.idle_since = time.monotonic()
                live.pause()

    def sweep(self) -> int:
        """Free the sessions with no tab open for ``keep_seconds``; returns how many."""
        now = time.monotonic()
        with self._lock:
            gone = [
                k for k, s in self._sessions.items() if s.tabs == 0 and now - s.idle_since >= self.wait(s)
            ]
            freed = [self._sessions.pop(k) for k in gone]
        for live in freed:
            live.close()
            log.info("session %s: freed after %.0f s without a tab", live.key, now - live.idle_since)
        if freed:
            del freed
            free_memory()
        return len(gone)

    def wait(self, live: LiveSession) -> float:
        """Seconds a session without a tab is kept: ``keep_seconds`` once a tab has attached; a
        session whose first page is still rendering (a busy server) at least ``FIRST_RENDER_S``."""
        return self.keep_seconds if live.attached else max(self.keep_seconds, FIRST_RENDER_S)

    def _start_sweeper(self) -> None:
        if self._sweeper is not None and self._sweeper.is_alive():
            return
        period = max(0.5, min(30.0, self.keep_seconds / 3))

        def run() -> None:
            while not self._stop.wait(period):
                try:
                    self.sweep()
                except Exception:
                    log.exception("sweeping sessions failed")

        self._sweeper = threading.Thread(target=run, name="classroom-sweeper", daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        self._stop.set()
