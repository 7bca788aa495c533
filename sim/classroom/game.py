"""A participatory class: teams play the partner firms of one shared market, the teacher runs it.

The teacher creates a class (:class:`ClassSetup`): a situation (a preset or a charter file), the
number of teams, rounds of :data:`ROUND_WEEKS` weeks and the time per round. Each team joins with
the class's join code and a team name and is seated as one partner firm (a :class:`Seat`: one
partner slot of one alliance); seats no team takes are played by the computer with the policy
:data:`COMPUTER_POLICY`. Each round every team makes a :class:`Decision`; when the last team has
decided (or the round's time is up, or the teacher closes it) the model plays the round's weeks.

The decisions are the partners' choices of ``sim.mechanisms.choices`` (ODD 7.16), set on the
alliance's record before the round's weeks, so the model's own mechanisms carry them out. The
class runs on four models of the same market from the same seed: the situation's charter, and
for the debrief the same alliances on the same draws under a handshake, the steering committee
and the full framework, each with the teams' same decisions.

A :class:`ClassGame` is one server-side object shared by every page of its class and guarded by
one lock. A team is known only by its seat's token (:meth:`ClassGame.seat_of`): with it a page
reads its own brief and decisions and nothing of another seat's; the console's actions ask for
the teacher code. :meth:`ClassGame.log` is the class's decision log, from which
:func:`replay` rebuilds it to the same tables (``alliance-sim-app class-replay``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hmac
import io
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate

import numpy as np
import pandas as pd

from sim.classroom.session import ClassroomModel, Injection, InjectionKind, check_injection, ending_label
from sim.params import ConfigError, SimulationConfig
from sim.vocabulary import OBJECTIVES

ROUND_WEEKS = 13
"""Weeks a round plays: a quarter."""
DEFAULT_ROUNDS = 8
MAX_TEAMS = 60
MAX_ROUNDS = 20
MAX_ROUND_SECONDS = 3600.0
LOG_FORMAT = "alliance-class-log"
LOG_VERSION = 1

EFFORT_LEVELS = {"low": 0.5, "normal": 1.0, "high": 1.5}
"""Effort: the resources a firm commits, as a multiple of what its capacity gives (ODD 7.16)."""
CLAUSES = ("meetings", "kpis", "escalation", "expectations")
PROPOSALS = (*CLAUSES, "renegotiation")
PROPOSAL_WORDS = {
    "meetings": "monthly joint meetings",
    "kpis": "shared KPIs (one way to count success)",
    "escalation": "an escalation path to senior sponsors",
    "expectations": "explicit expectations, restated at each touchpoint",
    "renegotiation": "a renegotiation of the deal (scope, shares, expectations)",
}
DESIGNS = ("handshake", "committee", "full")
"""The charters a class is compared with in the debrief, on the same draws."""
CLASS = "class"
"""The class's own charter (the situation's), beside the DESIGNS."""

COMPUTER_POLICY = "the model's partner"
COMPUTER_POLICY_TEXT = (
    "A seat no team plays is played by the model's own partner: it commits what its capacity "
    "gives (normal effort), raises every issue, shares what the joint work needs, takes a side "
    "deal whenever one tempts it (the opportunism the model draws), proposes nothing, accepts "
    "every proposal of its partners, and leaves only when the model's exit rule says so."
)
DEADLINE_TEXT = (
    "A team that has not decided when the round closes keeps its last round's choices of effort, "
    "issues, information and side deals (the model's partner's in the first round), makes no "
    "proposal, rejects every proposal put to it, and stays."
)


class InputError(ValueError):
    """A refused value, with the field it belongs to."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


class Refused(PermissionError):
    """A token or teacher code that does not open what it asked for."""


# ------------------------------------------------------------------ what a team decides
@dataclass(frozen=True)
class Decision:
    """One seat's decisions for one round."""

    effort: str = "normal"  # low, normal or high (EFFORT_LEVELS)
    issues: str = "raise"  # raise or sit (sit on open issues)
    information: str = "share"  # share or protect
    side_deals: str = "take"  # take or decline a side deal that tempts the firm
    propose: tuple[str, ...] = ()  # PROPOSALS put to the partners, answered next round
    accept: tuple[str, ...] = ()  # proposals of the partners accepted (the others are rejected)
    exit: bool = False

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "effort": tuple(EFFORT_LEVELS),
        "issues": ("raise", "sit"),
        "information": ("share", "protect"),
        "side_deals": ("take", "decline"),
    }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        """A decision from its fields, each checked; an unknown field or value raises InputError."""
        if not isinstance(data, Mapping):
            raise InputError("decision", f"expected a mapping of fields, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                raise InputError(str(key), f"unknown decision field (allowed: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for name, allowed in cls.CHOICES.items():
            if name in data:
                value = data[name]
                if value not in allowed:
                    raise InputError(name, f"{value!r} is not one of {', '.join(allowed)}")
                values[name] = value
        for name in ("propose", "accept"):
            if name in data:
                items = data[name]
                if isinstance(items, str) or not isinstance(items, Sequence):
                    raise InputError(name, f"expected a list of proposals, got {items!r}")
                for item in items:
                    if item not in PROPOSALS:
                        raise InputError(name, f"{item!r} is not one of {', '.join(PROPOSALS)}")
                values[name] = tuple(p for p in PROPOSALS if p in items)
        if "exit" in data:
            if not isinstance(data["exit"], bool):
                raise InputError("exit", f"expected true or false, got {data['exit']!r}")
            values["exit"] = data["exit"]
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["propose"] = list(self.propose)
        out["accept"] = list(self.accept)
        return out

    def standing(self) -> Decision:
        """The same standing choices, with no proposal, answer or exit (a missed deadline)."""
        return Decision(self.effort, self.issues, self.information, self.side_deals)


MODEL_PARTNER = Decision()


# ------------------------------------------------------------------ the class
@dataclass(frozen=True)
class ClassSetup:
    """What a class plays: a market and a charter (``alliance-sim`` overrides), the teams, rounds
    and time per round."""

    title: str
    market: tuple[str, ...]
    charter: tuple[str, ...]
    teams: int
    rounds: int = DEFAULT_ROUNDS
    round_seconds: float = 300.0
    seed: int = 7

    def check(self) -> None:
        if not 1 <= self.teams <= MAX_TEAMS:
            raise InputError("teams", f"{self.teams} is not a whole number from 1 to {MAX_TEAMS}")
        if not 1 <= self.rounds <= MAX_ROUNDS:
            raise InputError("rounds", f"{self.rounds} is not a whole number from 1 to {MAX_ROUNDS}")
        if not (0.0 <= self.round_seconds <= MAX_ROUND_SECONDS) or math.isnan(self.round_seconds):
            raise InputError(
                "round time",
                f"{self.round_seconds} s is not between 0 (no timer) and {MAX_ROUND_SECONDS:.0f} s",
            )

    def overrides(self, design: str, n_alliances: int) -> list[str]:
        base = [
            f"seed={self.seed}",
            f"n_alliances={n_alliances}",
            "engine=mesa",
            f"horizon_weeks={self.rounds * ROUND_WEEKS}",
            "market.alliances_per_firm=1",  # every seat its own firm
            *self.market,
        ]
        return [*base, *self.charter] if design == CLASS else [*base, f"governance={design}"]

    def config(self, design: str, n_alliances: int) -> SimulationConfig:
        from sim.config import load_config

        return load_config(self.overrides(design, n_alliances))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["market"] = list(self.market)
        out["charter"] = list(self.charter)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassSetup:
        try:
            setup = cls(
                title=str(data["title"]),
                market=tuple(str(x) for x in data["market"]),
                charter=tuple(str(x) for x in data["charter"]),
                teams=int(data["teams"]),
                rounds=int(data["rounds"]),
                round_seconds=float(data["round_seconds"]),
                seed=int(data["seed"]),
            )
        except KeyError as error:
            raise InputError("setup", f"missing field {error.args[0]!r}") from None
        except (TypeError, ValueError) as error:
            raise InputError("setup", str(error)) from None
        setup.check()
        return setup


FIRM_NAMES = (
    "Aster", "Borealis", "Cobalt", "Delta Works", "Ember", "Fjord", "Granite", "Helios", "Iris",
    "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Pioneer", "Quartz", "Riverton",
    "Sable", "Tundra", "Umber", "Vertex", "Willow", "Xylo", "Yarrow", "Zenith",
)  # fmt: skip
CONTACT_NAMES = (
    "Ana Ruiz", "Ben Okafor", "Chen Wei", "Dana Kowalski", "Eli Haddad", "Femi Adeyemi",
    "Grace Lindqvist", "Hiro Tanaka", "Ines Moreau", "Jonas Berg", "Kira Novak", "Leo Rossi",
    "Maya Patel", "Nils Olsen", "Omar Farouk", "Priya Rao", "Quinn Murphy", "Rosa Alvarez",
    "Sam Doyle", "Tara Singh", "Uma Costa", "Viktor Hale", "Wen Li", "Yusuf Demir",
)  # fmt: skip


def firm_name(seat: int) -> str:
    base = FIRM_NAMES[seat % len(FIRM_NAMES)]
    round_ = seat // len(FIRM_NAMES)
    return base if round_ == 0 else f"{base} {round_ + 1}"


@dataclass
class Seat:
    """One partner firm of one alliance, played by a team or by the computer."""

    index: int
    alliance: int
    slot: int
    firm: str
    contact: str
    team: str | None = None
    token: str | None = None

    @property
    def role(self) -> str:
        return "lead firm" if self.slot == 0 else "partner firm"


@dataclass(frozen=True)
class RoundRecord:
    """What a processed round was played with: every seat's decision and where it came from."""

    round: int
    decisions: tuple[tuple[Decision, str], ...]  # by seat: (decision, "team" | "default" | "computer")
    injections: tuple[Injection, ...]
    accepted: tuple[tuple[int, str], ...]  # (alliance, proposal) agreed and in force from this round
    processed_seconds: float  # from the last team's decision (or the close) to the round played


def _code(length: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from a board
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class TeamView:
    """What one seat's page shows: its brief, its partner as far as it can see, the round."""

    seat: int
    team: str
    firm: str
    role: str
    alliance: int
    partners: tuple[str, ...]  # the other firms of its alliance, with their teams
    priorities: tuple[tuple[str, float], ...]  # objective, weight (its own, confidential)
    expectation: float  # value a week it expects once results are due (its success measure)
    results_week: int
    outside_option: float  # what it could earn a week without the alliance
    contact: str
    contact_in_place: bool
    active: bool  # its part in the alliance goes on
    alliance_outcome: str  # running, or how it ended
    # what it observes of the alliance and its partner
    trust: float
    health: float
    open_issues: int
    perceived_value: float
    score: float
    clauses: tuple[str, ...]  # clauses added during the game
    pending: tuple[tuple[str, str], ...]  # proposals put to it this round: (proposal, by firm)
    partner_moves: tuple[str, ...]  # what its partners did last round that it could see
    round: int
    rounds: int
    state: str
    seconds_left: float | None
    decided: bool
    decision: Decision
    history: tuple[tuple[int, float, float, float], ...]  # week, trust, health, its perceived value
    feed: tuple[str, ...]


def notifies[**A, R](
    method: Callable[Concatenate[ClassGame, A], R],
) -> Callable[Concatenate[ClassGame, A], R]:
    """A method of :class:`ClassGame` that tells the pages of its changes once it has let go of
    the class's lock."""

    @functools.wraps(method)
    def wrapper(self: ClassGame, *args: A.args, **kwargs: A.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        finally:
            self._notify()

    return wrapper


class ClassGame:
    """One class: its seats, its four models, its rounds; every method holds the class's lock."""

    def __init__(
        self,
        setup: ClassSetup,
        join_code: str | None = None,
        teacher_code: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        timer: bool = True,
    ) -> None:
        setup.check()
        self.setup = setup
        self.join_code = join_code or _code(6)
        self.teacher_code = teacher_code or _code(8)
        self.clock = clock
        self.lock = threading.RLock()
        probe = setup.config(CLASS, 1)
        # compile the model for this layout now, if it is not cached: the teacher waits once,
        # when creating the class, instead of the class at its first round
        ClassroomModel(probe.replace(horizon_weeks=1)).step()
        self.n_partners = probe.alliance.n_partners
        self.n_alliances = max(1, math.ceil(setup.teams / self.n_partners))
        configs = {CLASS: setup.config(CLASS, self.n_alliances)}
        for design in DESIGNS:
            configs[design] = setup.config(design, self.n_alliances)
        self.models = {name: ClassroomModel(config) for name, config in configs.items()}
        self.seats = [
            Seat(
                i,
                i // self.n_partners,
                i % self.n_partners,
                firm_name(i),
                CONTACT_NAMES[i % len(CONTACT_NAMES)],
            )
            for i in range(self.n_alliances * self.n_partners)
        ]
        self.tokens: dict[str, int] = {}
        self.state = "lobby"  # lobby, playing, paused, over
        self.round = 1
        self.records: list[RoundRecord] = []
        self.submitted: dict[int, Decision] = {}
        self.pending: dict[int, list[tuple[str, int]]] = {}  # alliance: (proposal, by seat)
        self.clauses: dict[int, list[str]] = {}  # alliance: clauses agreed
        self.moves: dict[int, list[str]] = {}  # seat: what its partners saw it do last round
        self.injections: list[Injection] = []  # injected for the coming round
        self.deadline: float | None = None
        self.remaining: float | None = None  # seconds left when paused
        self.last_decision_at: float | None = None
        self.history: dict[str, list[dict[str, Any]]] = {name: [] for name in self.models}
        self.part_end: dict[str, dict[int, int]] = {name: {} for name in self.models}
        self.feed: list[tuple[int, int, str]] = []  # week, alliance, text
        self.version = 0
        self.listeners: dict[int, Callable[[int], None]] = {}
        self.console_listeners: set[int] = set()
        self._due: set[int] = set()
        self._next_listener = 0
        self._wake = threading.Condition(self.lock)
        self._closed = False
        self._record_weeks()
        if timer:
            threading.Thread(target=self._timer, name=f"class-{self.join_code}", daemon=True).start()

    # ---------------------------------------------------------------- listeners
    def subscribe(self, listener: Callable[[int], None], console: bool = False) -> int:
        """Call ``listener`` on every change of the class (``console``) or only when a round or
        the class's state changes (a team's page: another team's decision changes nothing there)."""
        with self.lock:
            self._next_listener += 1
            self.listeners[self._next_listener] = listener
            if console:
                self.console_listeners.add(self._next_listener)
            return self._next_listener

    def unsubscribe(self, key: int) -> None:
        with self.lock:
            self.listeners.pop(key, None)
            self.console_listeners.discard(key)

    def _changed(self, everyone: bool = True) -> None:
        """Mark a change (under the lock); :meth:`_notify` tells the pages after the lock is let go."""
        self.version += 1
        self._due |= set(self.listeners) if everyone else set(self.listeners) & self.console_listeners

    def _notify(self) -> None:
        """Tell the pages of the changes marked, without holding the class's lock: a page renders
        in the thread that tells it, and its render reads the class under that lock."""
        with self.lock:
            due, self._due = self._due, set()
            version = self.version
            listeners = [self.listeners[key] for key in sorted(due) if key in self.listeners]
        for listener in listeners:
            with contextlib.suppress(Exception):  # a page that went away must not stop the class
                listener(version)

    # ---------------------------------------------------------------- teams
    @notifies
    def join(self, code: str, team: str) -> str:
        """Seat a team; returns its token. The same name again (a team that lost its page) gets
        a new token only from the teacher's console, never from the join form."""
        team = " ".join(str(team).split())
        if not hmac.compare_digest(str(code).strip().upper().encode(), self.join_code.encode()):
            raise Refused("that join code opens no class here")
        if not 1 <= len(team) <= 40:
            raise InputError("team name", "give a name of 1 to 40 characters")
        with self.lock:
            if self.state == "over":
                raise InputError("join code", "this class has ended")
            if any(s.team is not None and s.team.casefold() == team.casefold() for s in self.seats):
                raise InputError(
                    "team name", f"a team called {team!r} has joined already: choose another name"
                )
            free = [s for s in self.seats if s.team is None]
            if not free:
                raise InputError("join code", f"every one of the {len(self.seats)} seats is taken")
            seat = free[0]
            token = secrets.token_urlsafe(16)
            seat.team, seat.token = team, token
            self.tokens[token] = seat.index
            self._changed()
            return token

    def seat_of(self, token: str) -> Seat:
        """The seat a token opens (a wrong token raises Refused)."""
        with self.lock:
            index = self.tokens.get(str(token))
            if index is None:
                raise Refused("this seat code opens no seat of this class")
            return self.seats[index]

    @notifies
    def decide(self, token: str, decision: Decision | Mapping[str, Any]) -> None:
        """Record a team's decisions for the open round (a new one replaces the last); when the
        last team has decided, the round is played at once."""
        seat = self.seat_of(token)
        if not isinstance(decision, Decision):
            decision = Decision.from_dict(decision)
        with self.lock:
            if self.state != "playing":
                raise InputError("decision", f"the class is {self._state_words()}: decisions are closed")
            if not self._seat_plays(seat):
                raise InputError("decision", "your firm's part in the alliance has ended")
            offered = {p for p, by in self.pending.get(seat.alliance, []) if by != seat.index}
            for item in decision.accept:
                if item not in offered:
                    raise InputError("accept", f"{item!r} was not proposed to you this round")
            self.submitted[seat.index] = decision
            self.last_decision_at = self.clock()
            if all(s.index in self.submitted for s in self._deciding_seats()):
                self._process()
            else:
                self._changed(everyone=False)

    def _seat_plays(self, seat: Seat) -> bool:
        alliance = self.models[CLASS].alliances[seat.alliance]
        return bool(alliance.alive and alliance.active[seat.slot])

    def _deciding_seats(self) -> list[Seat]:
        return [s for s in self.seats if s.team is not None and self._seat_plays(s)]

    def _state_words(self) -> str:
        return {"lobby": "waiting to start", "playing": "playing", "paused": "paused", "over": "over"}[
            self.state
        ]

    # ---------------------------------------------------------------- the teacher
    def check_teacher(self, code: str) -> None:
        if not hmac.compare_digest(str(code).strip().upper().encode(), self.teacher_code.encode()):
            raise Refused("wrong teacher code")

    @notifies
    def start(self, code: str) -> None:
        self.check_teacher(code)
        with self.lock:
            if self.state != "lobby":
                raise InputError("start", f"the class is {self._state_words()} already")
            self.state = "playing"
            self._open_round()
            self._changed()

    @notifies
    def pause(self, code: str) -> None:
        self.check_teacher(code)
        with self.lock:
            if self.state == "playing":
                self.state = "paused"
                self.remaining = None if self.deadline is None else max(0.0, self.deadline - self.clock())
                self.deadline = None
                self._changed()

    @notifies
    def resume(self, code: str) -> None:
        self.check_teacher(code)
        with self.lock:
            if self.state == "paused":
                self.state = "playing"
                self.deadline = None if self.remaining is None else self.clock() + self.remaining
                self.remaining = None
                self._wake.notify_all()
                self._changed()

    @notifies
    def close_round(self, code: str) -> None:
        """Play the round now, with the stated default for every team that has not decided."""
        self.check_teacher(code)
        with self.lock:
            if self.state != "playing":
                raise InputError("round", f"the class is {self._state_words()}")
            self.last_decision_at = self.clock()
            self._process()

    @notifies
    def inject(self, code: str, kind: str, target: int | None, size: float) -> Injection:
        """An event for the coming round's first week, in one alliance or all, in every model."""
        self.check_teacher(code)
        try:
            chosen = InjectionKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in InjectionKind)
            raise InputError("event", f"{kind!r} is not one of {allowed}") from None
        with self.lock:
            if self.state == "over":
                raise InputError("event", "the class is over")
            if target is not None and not 0 <= target < self.n_alliances:
                raise InputError(
                    "alliance", f"{target} is not an alliance of this class (0 to {self.n_alliances - 1})"
                )
            injection = Injection(self.models[CLASS].week_index, target, chosen, float(size))
            try:
                check_injection(injection, self.models[CLASS].config)
            except ConfigError as error:
                raise InputError("event", str(error)) from None
            self.injections.append(injection)
            self._changed()
            return injection

    @notifies
    def end(self, code: str) -> None:
        self.check_teacher(code)
        with self.lock:
            self._finish()

    def _finish(self) -> None:
        if self.state != "over":
            self.state = "over"
            self.deadline = None
            self._wake.notify_all()
            self._changed()

    def close(self) -> None:
        """Stop the class's timer (the store forgets the class)."""
        with self.lock:
            self._closed = True
            self._wake.notify_all()

    # ---------------------------------------------------------------- rounds
    def _open_round(self) -> None:
        seconds = self.setup.round_seconds
        self.deadline = self.clock() + seconds if seconds > 0 else None
        self.submitted = {}
        self._wake.notify_all()

    def _timer(self) -> None:
        while True:
            with self.lock:
                if self._closed or self.state == "over":
                    return
                if self.state == "playing" and self.deadline is not None:
                    wait = self.deadline - self.clock()
                    if wait <= 0:
                        self.last_decision_at = self.clock()
                        try:
                            self._process()
                        except Exception:  # the class goes on: the teacher sees the round unplayed
                            self.deadline = None
                    else:
                        self._wake.wait(timeout=min(wait, 1.0))
                else:
                    self._wake.wait(timeout=1.0)
            self._notify()

    def decision_for(self, seat: Seat, last: Mapping[int, Decision]) -> tuple[Decision, str]:
        """The decision a seat plays this round, and where it came from."""
        if seat.team is None:
            return MODEL_PARTNER, "computer"
        if seat.index in self.submitted:
            return self.submitted[seat.index], "team"
        return last.get(seat.index, MODEL_PARTNER).standing(), "default"

    def _process(self) -> None:
        """Play the open round: every seat's decision, the proposals answered, the weeks."""
        last = {i: d for i, (d, _) in enumerate(self.records[-1].decisions)} if self.records else {}
        decisions = tuple(self.decision_for(seat, last) for seat in self.seats)
        record = self._play(decisions, tuple(self.injections), started=self.last_decision_at)
        self.records.append(record)
        self.injections = []
        if self.round >= self.setup.rounds or not any(a.alive for a in self.models[CLASS].alliances):
            self.state = "over"
            self.deadline = None
        else:
            self.round += 1
            self._open_round()
        self._changed()

    def _play(
        self,
        decisions: Sequence[tuple[Decision, str]],
        injections: Sequence[Injection],
        started: float | None,
    ) -> RoundRecord:
        accepted: list[tuple[int, str]] = []
        for alliance, proposals in sorted(self.pending.items()):
            for proposal, by in proposals:
                others = [
                    s for s in self.seats if s.alliance == alliance and s.index != by and self._seat_plays(s)
                ]
                if others and all(
                    decisions[s.index][1] == "computer" or proposal in decisions[s.index][0].accept
                    for s in others
                ):
                    accepted.append((alliance, proposal))
        self.pending = {}
        self.moves = {}
        for seat in self.seats:
            decision, _ = decisions[seat.index]
            if not self._seat_plays(seat):
                continue
            for proposal in decision.propose:
                if proposal != "renegotiation" and proposal in self.clauses.get(seat.alliance, []):
                    continue
                self.pending.setdefault(seat.alliance, []).append((proposal, seat.index))
            for other in self.seats:
                if other.alliance == seat.alliance and other.index != seat.index:
                    self.moves.setdefault(other.index, []).extend(visible_moves(seat, decision))
        for alliance, proposal in accepted:
            if proposal != "renegotiation":
                self.clauses.setdefault(alliance, []).append(proposal)
        for model in self.models.values():
            apply_decisions(model, self.seats, [d for d, _ in decisions], accepted)
            for injection in injections:
                model.inject(injection)
        for _ in range(ROUND_WEEKS):
            stepped = False
            for name, model in self.models.items():
                if model.running:
                    was_running = [a for a in model.alliances if a.alive]
                    model.step()
                    stepped = True
                    if name == CLASS:
                        self._note_events(model, was_running)
            if not stepped:
                break
            self._record_weeks()
        took = 0.0 if started is None else self.clock() - started
        return RoundRecord(self.round, tuple(decisions), tuple(injections), tuple(accepted), took)

    def _record_weeks(self) -> None:
        for name, model in self.models.items():
            week = model.week_index
            if self.history[name] and self.history[name][-1]["week"] == week:
                continue
            for a in model.alliances:
                self.history[name].append(
                    {
                        "week": week,
                        "alliance": a.index,
                        "trust": float(a.trust),
                        "health": float(a.health),
                        "open_issues": a.open_issues(),
                        "outcome": outcome_words(a),
                        **{
                            f"perceived_value_{s}": float(a.perceived_value[s])
                            for s in range(self.n_partners)
                        },
                    }
                )
            ended = self.part_end[name]
            for seat in self.seats:
                a = model.alliances[seat.alliance]
                if seat.index not in ended and (not a.alive or not a.active[seat.slot]):
                    ended[seat.index] = week

    def _note_events(self, model: ClassroomModel, was_running: Sequence[Any]) -> None:
        from sim.classroom.session import week_events

        for event in week_events(model, was_running):
            text = event.text
            for seat in self.seats:
                text = text.replace(
                    f"Firm {int(model.alliances[seat.alliance].firm[seat.slot])} ", f"{seat.firm} "
                )
            self.feed.append((event.week, event.alliance_id, text))

    # ---------------------------------------------------------------- what pages show
    def seconds_left(self) -> float | None:
        with self.lock:
            if self.state == "paused":
                return self.remaining
            if self.deadline is None:
                return None
            return max(0.0, self.deadline - self.clock())

    def score(self, seat: Seat, model: str = CLASS) -> float:
        """The firm's value: its own net value and side gains, and its outside option for each
        week after its part ended (ODD 7.16)."""
        m = self.models[model]
        a = m.alliances[seat.alliance]
        value = float(a.net_value[seat.slot] + a.side_gains[seat.slot])
        ended = self.part_end[model].get(seat.index)
        if ended is not None:
            value += float(a.partner_outside_option[seat.slot]) * (m.week_index - ended)
        return value

    def team_view(self, token: str) -> TeamView:
        seat = self.seat_of(token)
        with self.lock:
            model = self.models[CLASS]
            a = model.alliances[seat.alliance]
            partners = tuple(
                f"{s.firm} ({s.team or 'played by the computer'})"
                for s in self.seats
                if s.alliance == seat.alliance and s.index != seat.index
            )
            weights = a.incentives[seat.slot]
            priorities = tuple(
                sorted(
                    ((OBJECTIVES[k], float(weights[k] / weights.sum())) for k in range(len(weights))),
                    key=lambda x: -x[1],
                )
            )
            last = {i: d for i, (d, _) in enumerate(self.records[-1].decisions)} if self.records else {}
            decided = seat.index in self.submitted
            decision = self.submitted.get(seat.index) or last.get(seat.index, Decision()).standing()
            pending = tuple(
                (p, self.seats[by].firm) for p, by in self.pending.get(seat.alliance, []) if by != seat.index
            )
            history = tuple(
                (row["week"], row["trust"], row["health"], row[f"perceived_value_{seat.slot}"])
                for row in self.history[CLASS]
                if row["alliance"] == seat.alliance
            )
            feed = tuple(text for week, alliance, text in self.feed if alliance == seat.alliance)[-12:]
            return TeamView(
                seat=seat.index,
                team=seat.team or "",
                firm=seat.firm,
                role=seat.role,
                alliance=seat.alliance,
                partners=partners,
                priorities=priorities,
                expectation=float(a.expectation[seat.slot]),
                results_week=int(a.results_week[seat.slot]),
                outside_option=float(a.partner_outside_option[seat.slot]),
                contact=seat.contact,
                contact_in_place=bool(a.contact_gap[seat.slot] <= 0),
                active=self._seat_plays(seat),
                alliance_outcome=outcome_words(a),
                trust=float(a.trust),
                health=float(a.health),
                open_issues=a.open_issues(),
                perceived_value=float(a.perceived_value[seat.slot]),
                score=self.score(seat),
                clauses=tuple(self.clauses.get(seat.alliance, [])),
                pending=pending,
                partner_moves=tuple(self.moves.get(seat.index, [])),
                round=self.round,
                rounds=self.setup.rounds,
                state=self.state,
                seconds_left=self.seconds_left(),
                decided=decided,
                decision=decision,
                history=history,
                feed=feed,
            )

    def decided_seats(self) -> set[int]:
        with self.lock:
            return set(self.submitted)

    # ---------------------------------------------------------------- the record
    def log(self) -> dict[str, Any]:
        """The decision log: everything a replay needs, and how long each round took."""
        with self.lock:
            return {
                "format": LOG_FORMAT,
                "version": LOG_VERSION,
                "setup": self.setup.to_dict(),
                "seats": [
                    {"seat": s.index, "alliance": s.alliance, "slot": s.slot, "firm": s.firm, "team": s.team}
                    for s in self.seats
                ],
                "rounds": [
                    {
                        "round": r.round,
                        "decisions": [
                            {"seat": i, "source": source, **d.to_dict()}
                            for i, (d, source) in enumerate(r.decisions)
                        ],
                        "injections": [inj.to_arg() for inj in r.injections],
                        "accepted": [{"alliance": a, "proposal": p} for a, p in r.accepted],
                        "processed_seconds": r.processed_seconds,
                    }
                    for r in self.records
                ],
                "ended": self.state == "over",
            }

    def tables(self) -> dict[str, pd.DataFrame]:
        """The class's tables: rounds, decisions, the scoreboard and the debrief's comparison."""
        with self.lock:
            return class_tables(self)


def visible_moves(seat: Seat, decision: Decision) -> list[str]:
    """What a firm's partners see it do in a round: its proposals, its exit, and a change of
    effort they notice in the joint work (not its private values)."""
    seen = [f"{seat.firm} proposed {PROPOSAL_WORDS[p]}" for p in decision.propose]
    if decision.effort != "normal":
        seen.append(f"{seat.firm} put in {'more' if decision.effort == 'high' else 'less'} effort than usual")
    if decision.information == "protect":
        seen.append(f"{seat.firm} kept its information and IP to itself")
    if decision.exit:
        seen.append(f"{seat.firm} announced it is leaving the alliance")
    return seen


def apply_decisions(
    model: ClassroomModel,
    seats: Sequence[Seat],
    decisions: Sequence[Decision],
    accepted: Sequence[tuple[int, str]],
) -> None:
    """Set the round's choices on the alliances' records (ODD 7.16)."""
    for seat, decision in zip(seats, decisions, strict=True):
        a = model.alliances[seat.alliance]
        a.effort_choice[seat.slot] = EFFORT_LEVELS[decision.effort]
        a.silent[seat.slot] = decision.issues == "sit"
        a.protects[seat.slot] = decision.information == "protect"
        a.declines_side_deals[seat.slot] = decision.side_deals == "decline"
        a.leaving[seat.slot] = decision.exit
    for alliance, proposal in accepted:
        a = model.alliances[alliance]
        if proposal == "renegotiation":
            a.renegotiation_asked = True
        else:
            setattr(a, f"clause_{proposal}", True)


def outcome_words(alliance: Any) -> str:
    """'running', or how the alliance ended (a failure with its primary cause)."""
    return ending_label(alliance) or "running"


def class_tables(game: ClassGame) -> dict[str, pd.DataFrame]:
    weeks = pd.concat(
        [pd.DataFrame(rows).assign(charter=name) for name, rows in game.history.items()], ignore_index=True
    )
    decisions = pd.DataFrame(
        [
            {
                "round": r.round,
                "seat": i,
                "source": source,
                **{k: (" ".join(v) if isinstance(v, list) else v) for k, v in d.to_dict().items()},
            }
            for r in game.records
            for i, (d, source) in enumerate(r.decisions)
        ],
        columns=[
            "round",
            "seat",
            "source",
            "effort",
            "issues",
            "information",
            "side_deals",
            "propose",
            "accept",
            "exit",
        ],
    )
    scoreboard = pd.DataFrame(
        [
            {
                "seat": s.index,
                "team": s.team or "",
                "firm": s.firm,
                "alliance": s.alliance,
                "role": s.role,
                "net_value": float(game.models[CLASS].alliances[s.alliance].net_value[s.slot]),
                "side_gains": float(game.models[CLASS].alliances[s.alliance].side_gains[s.slot]),
                "score": game.score(s),
                **{f"score_{d}": game.score(s, d) for d in DESIGNS},
            }
            for s in game.seats
        ]
    )
    comparison = pd.DataFrame(
        [
            {
                "alliance": i,
                "teams": " / ".join(s.team or "computer" for s in game.seats if s.alliance == i),
                **{f"outcome_{name}": outcome_words(m.alliances[i]) for name, m in game.models.items()},
                **{f"end_week_{name}": int(m.alliances[i].end_week) for name, m in game.models.items()},
                **{
                    f"value_{name}": float(m.alliances[i].cumulative_value) for name, m in game.models.items()
                },
            }
            for i in range(game.n_alliances)
        ]
    )
    return {"weeks": weeks, "decisions": decisions, "scoreboard": scoreboard, "comparison": comparison}


def class_debrief(game: ClassGame) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The debrief in rows: each alliance as played and under each design on the same draws,
    with a sentence; and the scoreboard of firm value, best first."""
    with game.lock:
        rows = []
        for i in range(game.n_alliances):
            teams = " / ".join(s.team or "computer" for s in game.seats if s.alliance == i)
            outcomes = {name: outcome_words(m.alliances[i]) for name, m in game.models.items()}
            rows.append(
                (
                    i,
                    teams,
                    outcomes[CLASS],
                    *(outcomes[d] for d in DESIGNS),
                    counterfactual_sentence(outcomes),
                )
            )
        scores = sorted(
            (
                (
                    s.team or "computer",
                    s.firm,
                    s.alliance,
                    round(game.score(s), 1),
                    outcomes_of(game, s.alliance),
                )
                for s in game.seats
            ),
            key=lambda row: -row[3],
        )
        return rows, [(rank, *row) for rank, row in enumerate(scores, start=1)]


def decision_words(decision: Decision, source: str) -> str:
    """One round's decision in a few words, for the debrief's table."""
    parts = [
        f"{decision.effort} effort",
        "sat on issues" if decision.issues == "sit" else "raised issues",
        "protected IP" if decision.information == "protect" else "shared",
        "declined deals" if decision.side_deals == "decline" else "took deals",
    ]
    parts += [f"proposed {p}" for p in decision.propose]
    parts += [f"accepted {p}" for p in decision.accept]
    if decision.exit:
        parts.append("LEFT")
    words = ", ".join(parts)
    return {"team": words, "default": f"(missed: {words})", "computer": "(computer)"}[source]


def decision_table(game: ClassGame) -> list[tuple[Any, ...]]:
    """Each seat's decisions round by round: (alliance, team, firm, round 1, round 2, ...)."""
    with game.lock:
        return [
            (
                seat.alliance,
                seat.team or "computer",
                seat.firm,
                *(decision_words(*record.decisions[seat.index]) for record in game.records),
            )
            for seat in game.seats
        ]


def outcomes_of(game: ClassGame, alliance: int) -> str:
    return outcome_words(game.models[CLASS].alliances[alliance])


def counterfactual_sentence(outcomes: Mapping[str, str]) -> str:
    """What the other charters would have done with the same alliance, decisions and luck."""
    names = {"handshake": "a handshake", "committee": "a steering committee", "full": "the full framework"}

    def verb(outcome: str) -> str:
        if outcome.startswith("failed"):
            return f"failed ({outcome.removeprefix('failed: ')})" if ": " in outcome else "failed"
        return {
            "success": "succeeded",
            "running": "was still running",
            "underperforming": "fell short of its objectives",
            "terminated": "was ended by agreement",
        }.get(outcome, outcome)

    def kind(outcome: str) -> str:
        return "failed" if outcome.startswith("failed") else outcome

    played = outcomes[CLASS]
    other = [f"under {names[d]} it {verb(outcomes[d])}" for d in DESIGNS if kind(outcomes[d]) != kind(played)]
    if not other:
        return f"Every charter gives the same: it {verb(played)}; the decisions and the luck decided it."
    return f"As played it {verb(played)}; " + "; ".join(other) + "."


def tables_text(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Each table as the CSV text written to disk (the form a replay is compared in)."""
    out = {}
    for name, frame in tables.items():
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, float_format="%.17g", lineterminator="\n")
        out[f"{name}.csv"] = buffer.getvalue()
    return out


# ------------------------------------------------------------------ replay
def read_log(text: str) -> dict[str, Any]:
    """A decision log, checked; a malformed one raises InputError naming what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError("decision log", f"not JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != LOG_FORMAT:
        raise InputError("decision log", f"not a class decision log (its 'format' must be {LOG_FORMAT!r})")
    if data.get("version") != LOG_VERSION:
        raise InputError("version", f"{data.get('version')!r}: this program reads version {LOG_VERSION}")
    setup = ClassSetup.from_dict(data.get("setup") or {})
    rounds = data.get("rounds")
    if not isinstance(rounds, list) or len(rounds) > setup.rounds:
        raise InputError("rounds", f"expected a list of at most {setup.rounds} rounds")
    seats = data.get("seats")
    if not isinstance(seats, list):
        raise InputError("seats", "expected a list of seats")
    for number, entry in enumerate(rounds, start=1):
        if not isinstance(entry, dict) or entry.get("round") != number:
            raise InputError(f"rounds[{number - 1}]", f"expected round {number}")
        for item in entry.get("decisions", []):
            Decision.from_dict({k: v for k, v in item.items() if k not in ("seat", "source")})
        for text_ in entry.get("injections", []):
            try:
                Injection.parse(str(text_))
            except ConfigError as error:
                raise InputError(f"rounds[{number - 1}].injections", str(error)) from None
    return data


def replay(data: Mapping[str, Any], progress: Callable[[int], Any] | None = None) -> ClassGame:
    """The class rebuilt from its decision log: the same seats, decisions and events, so the same
    tables (the same draws: the log holds the seed)."""
    setup = ClassSetup.from_dict(data["setup"])
    game = ClassGame(setup, timer=False)
    if len(data["seats"]) != len(game.seats):
        raise InputError(
            "seats", f"the log has {len(data['seats'])} seats; this setup seats {len(game.seats)}"
        )
    for seat, entry in zip(game.seats, data["seats"], strict=True):
        seat.team = entry.get("team")
    for entry in data["rounds"]:
        decisions: list[tuple[Decision, str] | None] = [None] * len(game.seats)
        for item in entry["decisions"]:
            decision = Decision.from_dict({k: v for k, v in item.items() if k not in ("seat", "source")})
            decisions[int(item["seat"])] = (decision, str(item["source"]))
        if any(d is None for d in decisions):
            raise InputError(f"round {entry['round']}", "a seat has no decision")
        injections = tuple(Injection.parse(str(t)) for t in entry.get("injections", []))
        game.round = int(entry["round"])
        record = game._play(decisions, injections, started=None)  # type: ignore[arg-type]
        game.records.append(
            dataclasses.replace(record, processed_seconds=float(entry.get("processed_seconds", 0.0)))
        )
        if progress is not None:
            progress(1)
    game.state = "over" if data.get("ended") else "playing"
    return game


# ------------------------------------------------------------------ the server's classes
class GameStore:
    """The classes a server runs, by join code, guarded by one lock."""

    def __init__(self, limit: int = 20) -> None:
        self.lock = threading.Lock()
        self.games: dict[str, ClassGame] = {}
        self.limit = limit

    def create(self, setup: ClassSetup) -> ClassGame:
        """A new class; when the store is full the oldest class that is over makes room, and a
        class still in play is never dropped (the new one is refused)."""
        with self.lock:
            if len(self.games) >= self.limit and not any(g.state == "over" for g in self.games.values()):
                raise InputError(
                    "class",
                    f"this server runs {self.limit} classes still in play: end one before creating another",
                )
        game = ClassGame(setup)
        with self.lock:
            while game.join_code in self.games:
                game.join_code = _code(6)
            if len(self.games) >= self.limit:
                over = [code for code, g in self.games.items() if g.state == "over"]
                if not over:
                    game.close()
                    raise InputError("class", f"this server runs {self.limit} classes still in play")
                self.games.pop(over[0]).close()
            self.games[game.join_code] = game
        return game

    def find(self, join_code: str) -> ClassGame:
        with self.lock:
            game = self.games.get(str(join_code).strip().upper())
        if game is None:
            raise Refused("that join code opens no class here")
        return game

    def by_token(self, token: str) -> tuple[ClassGame, Seat]:
        with self.lock:
            games = list(self.games.values())
        for game in games:
            try:
                return game, game.seat_of(token)
            except Refused:
                continue
        raise Refused("this seat code opens no seat of a class here")

    def stop(self) -> None:
        with self.lock:
            for game in self.games.values():
                game.close()
            self.games.clear()


def series(game: ClassGame, alliance: int, column: str) -> dict[str, np.ndarray]:
    """One alliance's weekly ``column`` under each charter, for the debrief's figure."""
    out = {}
    for name, rows in game.history.items():
        values = [(r["week"], r[column]) for r in rows if r["alliance"] == alliance]
        out[name] = np.array(values, dtype=float).reshape(-1, 2)
    return out


__all__ = ["ClassGame", "ClassSetup", "Decision", "GameStore", "replay"]
