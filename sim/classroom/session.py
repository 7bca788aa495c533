"""A classroom session: a small market of alliances stepped week by week, under one charter or
side by side under two (A and B), with events the teacher injects.

Both charters run on the Mesa engine (:class:`sim.engines.mesa_model.AllianceModel`) from the same seed, so
they hold the same firms and alliances and draw the same shocks, departures and issues
(common random numbers): what differs between them is the design alone. An injected event is
scheduled for a week and goes to both; it is carried out by the model's own mechanisms, by
setting the week's draws of the alliances it strikes (a shock arrives, a champion leaves) or,
for a strategy pivot, by moving the firm's strategy, which its partners' incentives then follow.
"""

from __future__ import annotations

import enum
import shlex
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.engines.mesa_agents import Alliance
from sim.engines.mesa_model import AllianceModel
from sim.environment import market_at
from sim.params import ConfigError, Engine, SimulationConfig
from sim.vocabulary import OUTCOMES, Cause, EventKind, FailureMode, Outcome, ShockKind

LEAD, PARTNER = 0, 1
"""Partner slots: the lead firm (the hub of an ecosystem) and its first partner."""

HEALTH_PARTS = ("communication", "decision_efficiency", "conflict_resolution", "trust", "value_perception")
"""The five parts of the relationship health index, in the order the charts show them."""


class InjectionKind(enum.StrEnum):
    """Events a teacher can inject into one alliance or into all."""

    SUBSIDY = "subsidy"  # a subsidy or regulation change of a chosen size (a regulatory shock)
    KEY_CONTACT = "key_contact"  # the lead firm's key contact retires
    PIVOT = "pivot"  # the partner firm's strategy pivots by a chosen amount
    MARKET_SHARE = "market_share"  # a market-share shift of a chosen size

    @property
    def label(self) -> str:
        return {
            "subsidy": "subsidy change",
            "key_contact": "key contact retires",
            "pivot": "strategy pivot",
            "market_share": "market-share shift",
        }[self.value]


@dataclass(frozen=True)
class Injection:
    """An event injected at ``week`` (weeks elapsed when it strikes) into alliance ``target``
    (None: every running alliance). ``size`` is the shock size, or how far a pivot moves each
    strategic priority toward its opposite (1: a full reversal); a retirement has no size."""

    week: int
    target: int | None
    kind: InjectionKind
    size: float = 0.0

    def to_arg(self) -> str:
        """The form ``alliance-sim-app replay --inject`` reads back: ``week:target:kind:size``."""
        target = "all" if self.target is None else str(self.target)
        return f"{self.week}:{target}:{self.kind.value}:{self.size!r}"

    @classmethod
    def parse(cls, text: str) -> Injection:
        """Read ``week:target:kind:size`` (target a number or ``all``), or raise ConfigError."""
        allowed_kinds = ", ".join(k.value for k in InjectionKind)
        parts = text.split(":")
        if len(parts) != 4:
            raise ConfigError(
                f"--inject {text!r}: expected week:target:kind:size, e.g. 12:all:subsidy:0.3 "
                f"(target an alliance number or 'all'; kind one of {allowed_kinds})"
            )
        week, target, kind, size = parts
        try:
            week_value = int(week)
        except ValueError:
            raise ConfigError(f"--inject {text!r}: week {week!r} must be an integer >= 0") from None
        try:
            target_value = None if target == "all" else int(target)
        except ValueError:
            raise ConfigError(
                f"--inject {text!r}: target {target!r} must be an alliance number or 'all'"
            ) from None
        try:
            kind_value = InjectionKind(kind)
        except ValueError:
            raise ConfigError(f"--inject {text!r}: kind {kind!r} must be one of {allowed_kinds}") from None
        try:
            size_value = float(size)
        except ValueError:
            raise ConfigError(f"--inject {text!r}: size {size!r} must be a number") from None
        return cls(week_value, target_value, kind_value, size_value)


def check_injection(injection: Injection, config: SimulationConfig) -> None:
    """Refuse an injection the model cannot carry out, naming the field, the value and what is allowed."""
    if injection.week < 0:
        raise ConfigError(f"injection week = {injection.week}: must be an integer >= 0")
    n = config.n_alliances
    if injection.target is not None and not 0 <= injection.target < n:
        raise ConfigError(
            f"injection target = {injection.target}: must be 'all' or an alliance between 0 and {n - 1}"
        )
    kind = injection.kind
    if kind in (InjectionKind.SUBSIDY, InjectionKind.MARKET_SHARE):
        if not 0.0 < injection.size <= 2.0:
            raise ConfigError(
                f"injection size = {injection.size}: a shock's size must be above 0 and at most 2"
            )
        if config.scenario.shock_scale <= 0.0:
            raise ConfigError(
                f"scenario.shock_scale = {config.scenario.shock_scale}: must be above 0 to inject a shock"
            )
    if kind is InjectionKind.MARKET_SHARE and config.scenario.market_share_share <= 0.0:
        raise ConfigError(
            f"scenario.market_share_share = {config.scenario.market_share_share}: must be above 0 "
            "to inject a market-share shift (this scenario has none)"
        )
    if kind is InjectionKind.PIVOT and not 0.0 < injection.size <= 1.0:
        raise ConfigError(f"injection size = {injection.size}: a pivot's size must be above 0 and at most 1")


class ClassroomModel(AllianceModel):
    """The Mesa model of the classroom: the alliance model plus events injected by hand."""

    def __init__(self, config: SimulationConfig, injections: Sequence[Injection] = ()) -> None:
        super().__init__(config.replace(engine=Engine.MESA.value))
        self.injections: list[Injection] = []
        for injection in injections:
            self.inject(injection)

    def inject(self, injection: Injection) -> None:
        """Schedule an event (checked now, so a bad one never reaches a step)."""
        check_injection(injection, self.config)
        self.injections.append(injection)

    def before_phases(self, week: int) -> None:
        for injection in self.injections:
            if injection.week == week:
                self._strike(injection)

    def struck(self, injection: Injection) -> list[Alliance]:
        """The running alliances an injection strikes."""
        if injection.target is None:
            return [a for a in self.alliances if a.alive]
        alliance = self.alliances[injection.target]
        return [alliance] if alliance.alive else []

    def _strike(self, injection: Injection) -> None:
        scenario = self.config.scenario
        shock_scale = market_at(scenario, injection.week).shock_scale  # the week's mean shock
        pivoted: set[int] = set()
        for alliance in self.struck(injection):
            draws = self.alliance_draws[alliance.index]
            if injection.kind in (InjectionKind.SUBSIDY, InjectionKind.MARKET_SHARE):
                # a shock arrives this week (its uniform below any rate), of the chosen kind and
                # size; its direction is the week's own draw
                draws.shock_u = -1.0
                draws.shock_kind_u = (
                    -1.0 if injection.kind is InjectionKind.SUBSIDY else scenario.regulatory_share
                )
                draws.shock_size = injection.size / shock_scale
            elif injection.kind is InjectionKind.KEY_CONTACT:
                draws.contact_u[LEAD] = -1.0  # the lead firm's champion leaves this week
            else:
                firm = int(alliance.firm[PARTNER])
                if firm not in pivoted:
                    pivoted.add(firm)
                    # a pivot changes the firm's core business: its strategy moves and stays
                    strategy = self.firms[firm].strategy
                    strategy += injection.size * (1.0 - 2.0 * strategy)
                    self.firms[firm].core[:] = strategy


# ------------------------------------------------------------------ what the class sees
def charter_name(config: SimulationConfig) -> str:
    """A charter in a few words: its design and the levers set apart from that design's defaults."""
    from sim.params import GovernanceParams

    g = config.governance.to_dict()
    plain = GovernanceParams().to_dict()
    on = [k.replace("_", " ") for k, v in g.items() if k != "name" and v != plain[k]]
    if config.triggers.enabled is not None:
        on.append("triggers " + ("on" if config.triggers.enabled else "off"))
    if config.launch.mode.value != "full":
        on.append(f"{config.launch.mode.value} launch")
    if g["name"] == "handshake" and on:
        return "handshake + " + ", ".join(on)
    return str(g["name"])


def alliance_outcome(alliance: Alliance) -> str:
    """'running', or how it ended."""
    ending = alliance.ending()
    return "running" if ending is None else ending.value


def ending_label(alliance: Alliance) -> str:
    """Short label of an ended alliance: its ending and, for a failure, the primary cause."""
    ending = alliance.ending()
    if ending is None:
        return ""
    cause = alliance.primary_cause()
    if ending is Outcome.FAILED and cause is not None:
        return f"failed: {cause.label.replace('_', ' ')}"
    return ending.value


def weekly_row(model: AllianceModel) -> dict[str, Any]:
    """One week of the series the class watches (means over the alliances still running)."""
    alliances = model.alliances
    running = [a for a in alliances if a.alive]
    # At the horizon the alliances still alive are given their outcome: they count there, not as running.
    endings = Counter(a.ending() for a in alliances)
    not_ended = endings[None]
    row: dict[str, Any] = {
        "week": model.week_index,
        "running": not_ended,
        "share_active": not_ended / len(alliances),
    }
    for part in HEALTH_PARTS:
        row[part] = float(np.mean([getattr(a, part) for a in running])) if running else float("nan")
    row["health"] = float(np.mean([a.health for a in running])) if running else float("nan")
    row["open_issues"] = float(np.mean([a.open_issues() for a in running])) if running else float("nan")
    row["proactive_effort"] = float(sum(a.effort_proactive for a in alliances))
    row["reactive_effort"] = float(sum(a.effort_reactive for a in alliances))
    for outcome in OUTCOMES:
        row[outcome.value] = endings[outcome]
    return row


def alliance_rows(model: AllianceModel) -> pd.DataFrame:
    """Where every alliance stands now: one row per alliance."""
    rows = []
    for a in model.alliances:
        cause = a.primary_cause()
        rows.append(
            {
                "alliance_id": a.index,
                "firms": " ".join(str(int(f)) for f in a.firm),
                "outcome": alliance_outcome(a),
                "end_week": int(a.end_week),
                "primary_cause": "" if cause is None else cause.label,
                "trust": float(a.trust),
                "health": float(a.health),
                **{part: float(getattr(a, part)) for part in HEALTH_PARTS if part != "trust"},
                "open_issues": a.open_issues(),
                "issues_raised": int(a.issues_raised),
                "escalations": int(a.escalations),
                "renegotiations": int(a.renegotiations),
                "cumulative_value": float(a.cumulative_value),
                "effort_proactive": float(a.effort_proactive),
                "effort_reactive": float(a.effort_reactive),
            }
        )
    return pd.DataFrame(rows)


SHOCK_WORDS = {
    ShockKind.REGULATORY: "a subsidy or regulation change",
    ShockKind.MARKET_SHARE: "a market-share shift",
    ShockKind.TECHNOLOGY: "a technology shift",
}


@dataclass(frozen=True)
class FeedEvent:
    """One event of the week, in numbers and in plain words."""

    week: int  # the week it happened in (1 = the first week)
    alliance_id: int
    kind: str
    text: str


def describe(
    model: AllianceModel,
    alliance: Alliance,
    kind: EventKind,
    first: int,
    amount: float,
    second: int,
    retired: bool,
) -> str:
    """An event in the words a class would use."""
    g = model.config.governance
    name = f"alliance {alliance.index}"
    if kind is EventKind.SHOCK:
        size = f"{amount:.2f}" if amount >= 0.005 else "below 0.01"
        return f"{SHOCK_WORDS[ShockKind(first)]} of size {size} hit {name}"
    if kind is EventKind.RENEGOTIATION:
        if first == 0:
            return f"a trigger clause opened a renegotiation in {name}"
        return f"{name} renegotiated in a crisis"
    if kind is EventKind.ESCALATION:
        return f"{name} escalated {first} aged issue{'s' if first != 1 else ''} to senior sponsors"
    if kind is EventKind.KEY_CONTACT_DEPARTURE:
        firm = int(alliance.firm[first])
        verb = "retired" if retired else "left"
        had = (
            "had a handover protocol (a successor within weeks)"
            if g.handover_protocol
            else "had no handover protocol (months without a champion)"
        )
        return f"the key contact of Firm {firm} {verb}; {name} {had}"
    if kind is EventKind.PARTNER_EXIT:
        return f"Firm {int(alliance.firm[first])} walked out of {name}"
    if kind is EventKind.SCALE_UP:
        return f"{name}'s pilot scaled up to full operation"
    outcome = OUTCOMES[first]
    if outcome is Outcome.FAILED and second >= 0:
        mode, cause = divmod(second, 32)
        how = list(FailureMode)[mode].value.replace("_", " ")
        return f"{name} failed ({how}; primary cause: {Cause(cause).label.replace('_', ' ')})"
    if outcome is Outcome.TERMINATED:
        return f"{name} was ended deliberately by its partners (graceful termination)"
    return f"{name} ended: {outcome.value}"


def week_events(model: ClassroomModel, was_running: Sequence[Alliance]) -> list[FeedEvent]:
    """The events the alliances running at the week's start recorded during it."""
    week = model.week_index
    retiring = {
        a.index
        for injection in model.injections
        if injection.week == week - 1 and injection.kind is InjectionKind.KEY_CONTACT
        for a in (model.alliances if injection.target is None else [model.alliances[injection.target]])
    }
    kinds = list(EventKind)
    out: list[FeedEvent] = []
    for alliance in was_running:
        for e in range(int(alliance.n_events)):
            kind = kinds[int(alliance.event_kind[e])]
            first, second = int(alliance.event_first[e]), int(alliance.event_second[e])
            amount = float(alliance.event_amount[e])
            retired = alliance.index in retiring and first == LEAD
            text = describe(model, alliance, kind, first, amount, second, retired)
            out.append(FeedEvent(week, alliance.index, kind.value, f"Week {week}: {text}"))
    return out


def pivot_events(model: ClassroomModel, week: int) -> list[FeedEvent]:
    """Feed lines for the strategy pivots injected this week (a firm's move, not an alliance event)."""
    out = []
    for injection in model.injections:
        if injection.week != week - 1 or injection.kind is not InjectionKind.PIVOT:
            continue
        firms: dict[int, int] = {}
        for alliance in model.alliances if injection.target is None else [model.alliances[injection.target]]:
            firms.setdefault(int(alliance.firm[PARTNER]), alliance.index)
        for firm, index in firms.items():
            out.append(
                FeedEvent(
                    week,
                    index,
                    "strategy_pivot",
                    f"Week {week}: Firm {firm} pivoted its strategy (size {injection.size:.2f}); "
                    f"its priorities in alliance {index} will drift after it",
                )
            )
    return out


def compact_feed(feed: Sequence[tuple[str, FeedEvent]]) -> list[tuple[str, str]]:
    """The feed as a class reads it: the same event striking many alliances in one week (an
    injection into all) becomes one line, "... hit 14 alliances"."""
    out: list[tuple[str, str]] = []
    groups: dict[tuple[str, int, str], list[FeedEvent]] = {}
    order: list[tuple[str, int, str]] = []
    for charter, event in feed:
        text = event.text
        marker = f"alliance {event.alliance_id}"
        key = (charter, event.week, text.replace(marker, "alliance #") if text.endswith(marker) else text)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(event)
    for key in order:
        charter, _, text = key
        events = groups[key]
        if len(events) == 1:
            out.append((charter, events[0].text))
        else:
            out.append((charter, text.replace("alliance #", f"{len(events)} alliances")))
    return out


# ------------------------------------------------------------------ the session
@dataclass(frozen=True)
class Setup:
    """What a session runs: a market (overrides shared by both charters), charter A and, for a
    side-by-side replay, charter B; all as ``alliance-sim`` overrides on ``configs/``."""

    seed: int = 7
    n_alliances: int = 16
    market: tuple[str, ...] = ()
    charter_a: tuple[str, ...] = ("governance=handshake",)
    charter_b: tuple[str, ...] | None = None

    def overrides(self, charter: str) -> list[str]:
        design = self.charter_a if charter == "A" else self.charter_b
        if design is None:
            raise ValueError("this session has no charter B")
        return [
            f"seed={self.seed}",
            f"n_alliances={self.n_alliances}",
            "engine=mesa",
            *self.market,
            *design,
        ]

    def config(self, charter: str) -> SimulationConfig:
        from sim.config import load_config

        return load_config(self.overrides(charter))

    @property
    def charters(self) -> tuple[str, ...]:
        return ("A",) if self.charter_b is None else ("A", "B")

    def command(self, weeks: int, injections: Sequence[Injection], out: str = "debrief-replay") -> str:
        """The command line that replays this session for ``weeks`` weeks with the same events."""
        args = ["alliance-sim-app", "replay", "--weeks", str(weeks), "--seed", str(self.seed)]
        args += ["--alliances", str(self.n_alliances)]
        for item in self.market:
            args += ["--market", item]
        for item in self.charter_a:
            args += ["-a", item]
        for item in self.charter_b or ():
            args += ["-b", item]
        for injection in injections:
            args += ["--inject", injection.to_arg()]
        args += ["--out", out]
        return shlex.join(args)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "n_alliances": self.n_alliances,
            "market": list(self.market),
            "charter_a": list(self.charter_a),
            "charter_b": None if self.charter_b is None else list(self.charter_b),
        }


@dataclass
class Classroom:
    """One or two models of the same alliances (charters A and B), stepped together."""

    setup: Setup
    models: dict[str, ClassroomModel] = field(init=False)
    series: dict[str, list[dict[str, Any]]] = field(init=False)
    feed: list[tuple[str, FeedEvent]] = field(init=False)
    injections: list[Injection] = field(init=False)

    def __post_init__(self) -> None:
        self.models = {c: ClassroomModel(self.setup.config(c)) for c in self.setup.charters}
        self.series = {c: [weekly_row(m)] for c, m in self.models.items()}
        self.feed = []
        self.injections = []

    @property
    def week(self) -> int:
        return self.models["A"].week_index

    @property
    def running(self) -> bool:
        return self.models["A"].running

    def inject(self, kind: InjectionKind, target: int | None, size: float = 0.0) -> Injection:
        """Schedule an event for the coming week, in every charter."""
        injection = Injection(self.week, target, kind, float(size))
        for model in self.models.values():
            model.inject(injection)
        self.injections.append(injection)
        return injection

    def step(self) -> None:
        """One week under every charter."""
        for charter, model in self.models.items():
            if not model.running:
                continue
            was_running = model.running_alliances
            model.step()
            self.series[charter].append(weekly_row(model))
            for event in pivot_events(model, model.week_index) + week_events(model, was_running):
                self.feed.append((charter, event))

    def run(self, weeks: int) -> None:
        for _ in range(weeks):
            if not self.running:
                break
            self.step()

    def series_frame(self, charter: str) -> pd.DataFrame:
        return pd.DataFrame(self.series[charter])

    def events_frame(self) -> pd.DataFrame:
        rows = [
            {"charter": c, "week": e.week, "alliance_id": e.alliance_id, "kind": e.kind, "text": e.text}
            for c, e in self.feed
        ]
        return pd.DataFrame(rows, columns=["charter", "week", "alliance_id", "kind", "text"])


def replay(
    setup: Setup, weeks: int, injections: Sequence[Injection], progress: Callable[[int], Any] | None = None
) -> Classroom:
    """A session rebuilt from its setup and events: the same weeks, the same numbers.
    ``progress`` is called with 1 after each week."""
    room = Classroom(setup)
    by_week: dict[int, list[Injection]] = {}
    for injection in injections:
        by_week.setdefault(injection.week, []).append(injection)
    for _ in range(weeks):
        if not room.running:
            break
        for injection in by_week.get(room.week, []):
            room.inject(injection.kind, injection.target, injection.size)
        room.step()
        if progress is not None:
            progress(1)
    return room
