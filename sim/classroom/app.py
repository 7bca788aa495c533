"""The classroom web app (Solara); ``alliance-sim-app`` serves it.

A class watches a small market of alliances live, changes the charter, opens a charter file,
injects events and replays the same alliances side by side under two charters (A and B). The
page has four named pages (Watch, Compare A and B, Edit charter, Debrief) under one control bar
(a large week counter, play and pause, step, go to week N, pause on an event, and the developer
settings behind an "Advanced" fold), laid out to be read from the back of a room.

Each browser session has one :class:`sim.classroom.live.LiveSession` on the server, kept in the
server's one :class:`~sim.classroom.live.SessionStore`: a reload finds it again, two sessions
share nothing, and a session whose tabs are all closed stops playing and is freed after a
while. The page holds no model logic and no state of its own beyond what is typed and not yet
applied: it shows a :class:`~sim.classroom.live.Snapshot` and sends actions to the session,
which checks every value and reports a refused one beside its field. An error a panel cannot
show is logged with the session id and shown in place of that panel only.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown
import solara
import solara.lab
import solara.server.kernel_context

from sim.classroom import glossary
from sim.classroom.charters import format_value
from sim.classroom.class_app import ClassPage, JoinPage, PlayPage
from sim.classroom.debrief import debrief_zip, summary
from sim.classroom.figures import CHART_BY_KEY, CHART_PX, CHARTS, LIVE_FORMAT, MAIN_CHART
from sim.classroom.guard import Guard
from sim.classroom.live import (
    INTERVALS_MS,
    KEEP_ENV,
    MAX_ALLIANCES,
    MIN_ALLIANCES,
    PAGES,
    PAUSE_ON,
    InputError,
    LiveSession,
    SessionStore,
    Snapshot,
    parse_int,
)
from sim.classroom.presets import PRESET_BY_KEY, PRESETS
from sim.classroom.session import InjectionKind
from sim.params import GovernanceParams, MeetingCadence, TriggerParams

log = logging.getLogger("sim.classroom")

STORE = SessionStore(keep_seconds=float(os.environ.get(KEEP_ENV, "1800")))
"""The server's one store of sessions, shared by every page and guarded by its own locks."""

EXAMPLE_CHARTERS = Path(__file__).resolve().parents[2] / "examples" / "charters"
ALLIANCE_TYPES = ("complementary", "coopetition", "ecosystem")
SCENARIOS = ("calm", "volatile", "regulatory_shock", "downturn")
GOVERNANCE_DESIGNS = ("handshake", "meetings", "committee", "meetings_committee", "light", "heavy", "full")
TRIGGER_CLAUSES = ("design", "off", "standard", "sensitive")
LAUNCHES = ("full", "pilot")
FRICTIONS = (
    ("market.strategy_spread", "incentive distance", 0.0, 1.0),
    ("market.culture_spread", "culture distance", 0.0, 1.0),
    ("dynamics.measurement_spread", "measurement misalignment", 0.0, 1.0),
)
TRIGGER_SLIDERS: dict[str, tuple[float, float]] = {
    "shock_threshold": (0.0, 1.0),
    "health_threshold": (0.0, 1.0),
    "misalignment_threshold": (0.0, 1.0),
    "cooldown_weeks": (0.0, 52.0),
}
CHART_WIDTH, _ = CHART_PX

CSS = f"""
.classroom {{ font-size: 18px; }}
.classroom .v-btn {{ font-size: 17px !important; text-transform: none; }}
.classroom .v-label, .classroom .v-select__selection, .classroom input {{ font-size: 17px !important; }}
.top-bar {{ display: flex; align-items: center; gap: 16px; flex-wrap: wrap; padding: 4px 12px;
  border-bottom: 1px solid #ddd; }}
.top-bar .app-title {{ font-size: 22px; font-weight: 600; }}
.control-bar {{ display: flex; align-items: center; gap: 14px; flex-wrap: wrap; padding: 4px 12px; }}
.week-counter {{ font-size: 40px; font-weight: 700; line-height: 1.1; min-width: 270px;
  font-variant-numeric: tabular-nums; }}
.week-counter .of {{ font-size: 20px; font-weight: 400; color: #555; }}
.live-grid {{ display: grid; grid-template-columns: minmax(0, 1fr) clamp(360px, 32vw, {CHART_WIDTH + 24}px);
  gap: 10px; padding: 0 12px; height: calc(100vh - 175px); min-height: 360px; }}
.networks {{ display: grid; gap: 8px; min-height: 0; height: 100%; }}
.networks.two {{ grid-template-columns: 1fr 1fr; }}
.network-box {{ display: flex; flex-direction: column; min-height: 0; min-width: 0; }}
.network-box .network-title {{ font-size: 18px; font-weight: 600; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }}
.network-box .network-svg {{ flex: 1 1 auto; min-height: 0; }}
.network-box .network-svg > div {{ height: 100%; }}
.side {{ display: flex; flex-direction: column; gap: 6px; min-height: 0; overflow: hidden; }}
.chart-title {{ font-size: 18px; font-weight: 600; }}
.chart img {{ width: {CHART_WIDTH}px; max-width: 100%; height: auto; display: block; }}
.feed {{ font-size: 16px; overflow-y: auto; flex: 1 1 auto; min-height: 60px; border-top: 1px solid #ddd; }}
.feed p, .feed li {{ margin: 0 0 2px 0; }}
.below {{ padding: 8px 12px; }}
.chart-grid {{ display: flex; flex-wrap: wrap; gap: 16px; }}
.message {{ font-size: 17px; margin: 0 !important; }}
.prose table {{ border-collapse: collapse; }}
.prose td, .prose th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; }}
"""


# ------------------------------------------------------------------ pieces
@solara.component
def NumberField(
    label: str,
    value: str,
    on_apply: Callable[[str], None],
    error: str = "",
    style: dict[str, str] | None = None,
) -> None:
    """A number typed by hand, applied with Enter or on leaving the field; a refused value is
    explained beside the field."""
    solara.InputText(
        label,
        value=value,
        on_value=on_apply,
        error=error or False,
        message=error or None,
        classes=[f"field-{label.replace(' ', '-')}"],
        style=style or {"max-width": "180px"},
    )


def prose_html(text: str) -> str:
    """Markdown as HTML, any HTML in the text escaped first (names and files come from users)."""
    return markdown.markdown(html.escape(text, quote=False), extensions=["tables"])


@solara.component
def Prose(text: str, classes: list[str] = []) -> None:  # noqa: B006 (Solara's idiom)
    """Markdown rendered on the server: Solara's own Markdown asks its CDN for a math renderer,
    which an offline classroom cannot load."""
    solara.HTML(tag="div", unsafe_innerHTML=prose_html(text), classes=["prose", *classes])


def field_error(snap: Snapshot, name: str) -> str:
    return snap.field_error[1] if snap.field_error[0] == name else ""


@solara.component
def TopBar(live: LiveSession, snap: Snapshot) -> None:
    titles = [p.title for p in PRESETS]

    def choose(title: str) -> None:
        if title in titles:  # not the charter file already shown
            live.reset(PRESETS[titles.index(title)].key)

    with solara.Row(classes=["top-bar"]):
        solara.Text("Alliance classroom", classes=["app-title"])
        solara.ToggleButtonsSingle(
            value=PAGES[snap.page],
            values=list(PAGES.values()),
            on_value=lambda name: live.set_page(next(k for k, v in PAGES.items() if v == name)),
            classes=["page-tabs"],
        )
        solara.Select(
            label="Situation",
            value=snap.preset_title,
            values=titles if snap.preset_title in titles else [snap.preset_title, *titles],
            on_value=choose,
            style={"width": "min(460px, 29vw)", "min-width": "240px"},
        )
        solara.Button("Reset", icon_name="mdi-restore", on_click=lambda: live.reset(), classes=["reset"])


@solara.component
def ControlBar(live: LiveSession, snap: Snapshot) -> None:
    target, set_target = solara.use_state("")
    advanced, set_advanced = solara.use_state(False)
    with solara.Row(classes=["control-bar"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=f'Week {snap.week} <span class="of">of {snap.horizon}</span>',
            classes=["week-counter"],
        )
        if snap.playing:
            solara.Button(
                "Pause", icon_name="mdi-pause", on_click=live.pause, color="primary", classes=["pause"]
            )
        else:
            solara.Button(
                "Play",
                icon_name="mdi-play",
                on_click=live.play,
                color="primary",
                disabled=not snap.running or bool(snap.busy),
                classes=["play"],
            )
        solara.Button(
            "Step" if snap.weeks_per_step == 1 else f"Step {snap.weeks_per_step} weeks",
            icon_name="mdi-step-forward",
            on_click=live.step,
            disabled=snap.playing or not snap.running or bool(snap.busy),
            classes=["step"],
        )

        def go(text: str) -> None:
            set_target(text)
            live.go_to(text)

        NumberField("go to week", target, go, field_error(snap, "go to week"), {"max-width": "150px"})
        labels = list(PAUSE_ON.values())
        solara.Select(
            label="Pause when",
            value=PAUSE_ON[snap.pause_on],
            values=labels,
            on_value=lambda v: live.settings(pause_on=next(k for k, x in PAUSE_ON.items() if x == v)),
            style={"max-width": "290px"},
        )
        solara.Button(
            "Advanced",
            icon_name="mdi-tune",
            text=True,
            on_click=lambda: set_advanced(not advanced),
            classes=["advanced"],
        )
        if advanced:
            solara.Select(
                label="Pause between weeks (ms)",
                value=str(snap.interval_ms),
                values=[str(i) for i in INTERVALS_MS],
                on_value=lambda v: live.settings(interval_ms=int(v)),
                style={"max-width": "230px"},
            )
            NumberField(
                "weeks per step",
                str(snap.weeks_per_step),
                lambda v: live.settings(weeks_per_step=v),
                field_error(snap, "weeks per step"),
            )


@solara.component
def Messages(snap: Snapshot) -> None:
    """What the session says: work under way, a refused action, a pause."""
    if snap.busy:
        solara.Info(snap.busy, classes=["message"], dense=True)
    if snap.error:
        solara.Error(snap.error, classes=["message"], dense=True)
    elif snap.message:
        solara.Info(snap.message, classes=["message"], dense=True)


@solara.component
def Network(snap: Snapshot, charter: str) -> None:
    svg = snap.frames.get(f"network_{charter}")
    with solara.Column(classes=["network-box", f"network-{charter}"], gap="0px"):
        name = snap.charters.get(charter, "")
        opened = f" (from {snap.opened[charter]})" if charter in snap.opened else ""
        solara.Text(f"Charter {charter}: {name}{opened}", classes=["network-title"])
        if svg is None:
            solara.Text("This session has no such charter.")
        else:
            solara.HTML(tag="div", unsafe_innerHTML=svg, classes=["network-svg"])


@solara.component
def Chart(snap: Snapshot, key: str) -> None:
    frame = snap.frames.get(f"chart_{key}")
    if frame is None:
        return
    with solara.Column(classes=["chart", f"chart-{key}"], gap="0px"):
        solara.Text(CHART_BY_KEY[key].title, classes=["chart-title"])
        solara.Image(frame, format=LIVE_FORMAT)


@solara.component
def Feed(snap: Snapshot) -> None:
    two = len(snap.charters) > 1
    with solara.Column(classes=["feed"], gap="0px"):
        solara.Text("Event feed", classes=["chart-title"])
        if not snap.feed:
            solara.Text("Nothing has happened yet: play or step a few weeks.")
            return
        lines = "".join(
            f'<p class="feed-line">{html.escape(("[" + charter + "] " if two else "") + text)}</p>'
            for charter, text in reversed(snap.feed)
        )
        solara.HTML(tag="div", unsafe_innerHTML=lines)


@solara.component
def Injector(live: LiveSession, snap: Snapshot) -> None:
    kinds = {k.label: k.value for k in InjectionKind}
    kind, set_kind = solara.use_state(InjectionKind.SUBSIDY.value)
    size, set_size = solara.use_state(0.3)
    with solara.Details("Inject an event (into every charter)", expand=False):
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select(
                label="Event",
                value=InjectionKind(kind).label,
                values=list(kinds),
                on_value=lambda v: set_kind(kinds[v]),
                style={"max-width": "240px"},
            )
            if kind != InjectionKind.KEY_CONTACT.value:
                solara.SliderFloat(
                    f"size {size:.2f}", value=size, min=0.05, max=1.0, step=0.05, on_value=set_size
                )
        with solara.Row():
            solara.Button(
                f"Inject into alliance {snap.selected}",
                on_click=lambda: live.inject(kind, snap.selected, size),
                classes=["inject-one"],
            )
            solara.Button(
                "Inject into all", on_click=lambda: live.inject(kind, None, size), classes=["inject-all"]
            )


@solara.component
def Inspector(live: LiveSession, snap: Snapshot) -> None:
    with solara.Column(classes=["inspector"]):
        solara.Select(
            label="Selected alliance (bold on the network)",
            value=snap.alliance_labels[snap.selected],
            values=list(snap.alliance_labels),
            on_value=lambda v: live.select(snap.alliance_labels.index(v)),
            style={"max-width": "420px"},
        )
        charters = list(snap.charters)
        rows = [
            "| | " + " | ".join(f"charter {c}" for c in charters) + " |",
            "|---|" + "---|" * len(charters),
        ]
        rows += ["| " + " | ".join(row) + " |" for row in snap.inspector]
        Prose("\n".join(rows))
        if snap.alliance_events:
            Prose("\n".join(f"- {e}" for e in snap.alliance_events))
        else:
            solara.Text("No events yet in this alliance.")


# ------------------------------------------------------------------ pages
@solara.component
def LivePage(live: LiveSession, snap: Snapshot, charters: tuple[str, ...]) -> None:
    """Watch (charter A) and Compare (A and B): the network(s), the main chart, the feed."""
    with solara.Div(classes=["live-grid"]):
        with solara.Div(classes=["networks", "two" if len(charters) > 1 else "one"]):
            for charter in charters:
                Network(snap, charter)
        with solara.Div(classes=["side"]):
            Messages(snap)
            Chart(snap, MAIN_CHART if len(charters) > 1 else f"{MAIN_CHART}_A")
            Injector(live, snap)
            Feed(snap)
    with solara.Column(classes=["below"]):
        Prose(f"**{snap.preset_title}**: " + " ".join(snap.explanation.split("\n")))
        Inspector(live, snap)


def _group_choice(overrides: tuple[str, ...], group: str, default: str) -> str:
    for item in overrides:
        key, _, value = item.partition("=")
        if key == group:
            return value
    return default


@solara.component
def CharterControls(
    live: LiveSession, charter: str, edits: dict[str, Any], edit: Callable[[str, Any], None]
) -> None:
    room = live.room
    model = room.models.get(charter)
    if model is None:
        solara.Text("This session has no charter B.")
        return
    config = model.config
    overrides = room.setup.charter_a if charter == "A" else room.setup.charter_b or ()
    solara.Select(
        label="Governance design (starting point)",
        value=edits.get("governance", _group_choice(overrides, "governance", config.governance.name)),
        values=sorted({*GOVERNANCE_DESIGNS, _group_choice(overrides, "governance", "handshake")}),
        on_value=lambda v: edit("governance", v),
    )
    solara.Select(
        label="Launch",
        value=edits.get("launch", config.launch.mode.value),
        values=list(LAUNCHES),
        on_value=lambda v: edit("launch", v),
    )
    g = config.governance
    hints = typing.get_type_hints(GovernanceParams)
    for f in dataclasses.fields(GovernanceParams):
        if f.name == "name":
            continue
        key = f"governance.{f.name}"
        value = edits.get(key, getattr(g, f.name))
        name, _ = glossary.LEVERS[f.name]
        if hints[f.name] is bool:
            solara.Checkbox(label=name, value=bool(value), on_value=functools.partial(edit, key))
        elif hints[f.name] is MeetingCadence:
            solara.Select(
                label=name,
                value=format_value(value),
                values=[c.value for c in MeetingCadence],
                on_value=functools.partial(edit, key),
            )
        else:
            lo, hi = (
                int(f.metadata["lo"]),
                config.horizon_weeks if f.name == "sunset_week" else int(f.metadata["hi"]),
            )
            solara.SliderInt(
                f"{name}: {int(value)}",
                value=int(value),
                min=lo,
                max=hi,
                on_value=slider_edit(edit, key, value, lo, hi, 1),
            )
    solara.Select(
        label="Trigger clauses",
        value=edits.get("triggers", _group_choice(overrides, "triggers", "design")),
        values=list(TRIGGER_CLAUSES),
        on_value=lambda v: edit("triggers", v),
    )
    trigger_hints = typing.get_type_hints(TriggerParams)
    for name, (low, high) in TRIGGER_SLIDERS.items():
        key = f"triggers.{name}"
        value = edits.get(key, getattr(config.triggers, name))
        label = name.replace("_", " ")
        if trigger_hints[name] is int:
            solara.SliderInt(
                f"{label}: {int(value)}", value=int(value), min=int(low), max=int(high),
                on_value=slider_edit(edit, key, value, low, high, 1),
            )  # fmt: skip
        else:
            solara.SliderFloat(
                f"{label}: {float(value):.2f}", value=float(value), min=low, max=high, step=0.05,
                on_value=slider_edit(edit, key, value, low, high, 0.05),
            )  # fmt: skip


def slider_edit(
    edit: Callable[[str, Any], None], key: str, current: float, low: float, high: float, step: float
) -> Callable[[Any], None]:
    """A slider's change as an edit, unless it is the slider showing ``current`` on its own
    grid (a charter file's 0.155 shown as 0.15, or a value clamped to the slider's range)."""
    shown = min(max(float(current), low), high)

    def on_value(value: Any) -> None:
        if abs(float(value) - shown) >= step / 2:
            edit(key, value)

    return on_value


@solara.component
def MarketControls(
    live: LiveSession, snap: Snapshot, edits: dict[str, Any], edit: Callable[[str, Any], None]
) -> None:
    config = live.room.models["A"].config
    setup = snap.setup
    solara.Select(
        label="Alliance type",
        value=edits.get("alliance", config.alliance.type.value),
        values=list(ALLIANCE_TYPES),
        on_value=lambda v: edit("alliance", v),
    )
    solara.Select(
        label="Scenario",
        value=edits.get("scenario", _group_choice(setup.market, "scenario", config.scenario.name)),
        values=sorted({*SCENARIOS, config.scenario.name}),
        on_value=lambda v: edit("scenario", v),
    )
    for key, label, lo, hi in FRICTIONS:
        section, name = key.split(".")
        value = edits.get(key, getattr(getattr(config, section), name))
        solara.SliderFloat(
            f"{label}: {value:.2f}",
            value=value,
            min=lo,
            max=hi,
            step=0.05,
            on_value=slider_edit(edit, key, value, lo, hi, 0.05),
        )
    typed, set_typed = solara.use_state({"n_alliances": "", "seed": ""})
    errors, set_errors = solara.use_state({"n_alliances": "", "seed": ""})

    def take(name: str, low: int, high: int, text: str) -> None:
        set_typed({**typed, name: text})
        try:
            label = "alliances in the market" if name == "n_alliances" else name
            edit(name, parse_int(label, text, low, high))
            set_errors({**errors, name: ""})
        except InputError as error:
            set_errors({**errors, name: str(error)})

    NumberField(
        "alliances in the market",
        typed["n_alliances"] or str(edits.get("n_alliances", config.n_alliances)),
        functools.partial(take, "n_alliances", MIN_ALLIANCES, MAX_ALLIANCES),
        errors["n_alliances"],
        {"max-width": "320px"},
    )
    NumberField(
        "seed",
        typed["seed"] or str(edits.get("seed", config.seed)),
        functools.partial(take, "seed", 0, 2**32 - 1),
        errors["seed"],
        {"max-width": "320px"},
    )


@solara.component
def CharterFile(live: LiveSession, snap: Snapshot) -> None:
    """Open a charter file (the YAML ``alliance-stress`` reads) as charter A or B."""
    side, set_side = solara.use_state("B")
    rows, set_rows = solara.use_state(cast_rows(()))
    examples = sorted(p.name for p in EXAMPLE_CHARTERS.glob("*.yaml")) if EXAMPLE_CHARTERS.is_dir() else []

    def opened(text: str, name: str) -> None:
        result = live.open_charter(side, text, name)
        set_rows(cast_rows(result.rows if result is not None else ()))

    def example(name: str | None) -> None:
        if name:
            opened((EXAMPLE_CHARTERS / name).read_text(), name)

    def dropped(info: Any) -> None:
        data = info["data"] if isinstance(info, dict) else info.data
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            live.act(
                "Open a charter file", functools.partial(_refuse, f"{info['name']}: not a text (UTF-8) file")
            )
            return
        opened(text, str(info["name"]))

    with solara.Card("Open a charter file (as alliance-stress reads it)"):
        solara.ToggleButtonsSingle(value=side, values=["A", "B"], on_value=set_side)
        solara.FileDrop(
            label="Drop a charter file (.yaml) here, or click to choose one", on_file=dropped, lazy=False
        )
        if examples:
            solara.Select(
                label="or an example charter",
                value=None,
                values=examples,
                on_value=example,
            )
        if rows:
            table = ["| charter field | model parameter | value |", "|---|---|---|"]
            table += [f"| `{f or '(set by the app)'}` | `{p}` | {v} |" for f, p, v in rows]
            Prose("**How the charter was read into the model**\n\n" + "\n".join(table))


def cast_rows(rows: Any) -> tuple[tuple[str, str, str], ...]:
    return tuple(tuple(r) for r in rows)  # type: ignore[misc]


def _refuse(message: str) -> None:
    raise InputError("charter file", message)


@solara.component
def EditPage(live: LiveSession, snap: Snapshot) -> None:
    market, set_market = solara.use_state(typing.cast(dict[str, Any], {}))
    charters, set_charters = solara.use_state(typing.cast(dict[str, dict[str, Any]], {"A": {}, "B": {}}))
    pending = bool(market or charters["A"] or charters["B"])

    def edit_market(key: str, value: Any) -> None:
        set_market({**market, key: value})

    def edit_charter(charter: str, key: str, value: Any) -> None:
        set_charters({**charters, charter: {**charters[charter], key: value}})

    def apply() -> None:
        live.apply_edits(market, charters)
        if not live.error:
            set_market({})
            set_charters({"A": {}, "B": {}})

    with solara.Column(classes=["below", "charter-editor"]):
        Messages(snap)
        with solara.Row(style={"align-items": "center"}):
            solara.Button(
                "Apply and restart" + (" (changes pending)" if pending else ""),
                color="primary",
                on_click=apply,
                classes=["apply"],
            )
            solara.Button("Back to the preset as it ships", on_click=live.restore_preset)
        with solara.Columns([1, 1, 1]):
            for charter in ("A", "B"):
                with solara.Card(f"Charter {charter}: {snap.charters.get(charter, '')}"):
                    CharterControls(
                        live, charter, charters.get(charter, {}), functools.partial(edit_charter, charter)
                    )
            with solara.Column():
                with solara.Card("Market and environment (both charters)"):
                    MarketControls(live, snap, market, edit_market)
                CharterFile(live, snap)
        with solara.Details("Glossary: what each lever does"):
            Prose(glossary.markdown())


@solara.component
def DebriefPage(live: LiveSession, snap: Snapshot) -> None:
    def load(info: Any) -> None:
        data = info["data"] if isinstance(info, dict) else info.data
        try:
            live.load_file(bytes(data).decode("utf-8"))
        except UnicodeDecodeError:
            live.act("Load a session", functools.partial(_refuse, "the session file is not text (UTF-8)"))

    with solara.Column(classes=["below"]):
        Messages(snap)
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.FileDownload(
                lambda: debrief_zip(live.view),
                filename=f"alliance-debrief-week-{snap.week}.zip",
                label="Export debrief",
            )
            solara.FileDownload(
                live.to_file, filename=f"alliance-session-week-{snap.week}.json", label="Save session"
            )
            solara.FileDrop(label="Load a saved session: drop its .json here", on_file=load, lazy=False)
        with solara.Div(classes=["chart-grid"]):
            for spec in CHARTS:
                if spec.key != f"{MAIN_CHART}_A":
                    Chart(snap, spec.key)
        Prose(summary(live.room))
        with solara.Details("Glossary", expand=True):
            Prose(glossary.markdown())


# ------------------------------------------------------------------ the page
def _connect(live: LiveSession, key: str, tick: solara.Reactive[int]) -> Callable[[], None]:
    """Tell this page of every change to the session, from whichever thread makes it."""
    context = solara.server.kernel_context.get_current_context()

    def listener(value: int) -> None:
        with context:
            tick.value = tick.value + 1

    STORE.attach(key)
    token = live.subscribe(listener)

    def cleanup() -> None:
        live.unsubscribe(token)
        STORE.detach(key)

    return cleanup


@solara.component
def Page() -> None:
    solara.Title("Alliance classroom")
    solara.Style(CSS)
    key = solara.get_session_id()
    live = solara.use_memo(lambda: STORE.session(key), [key])
    tick = solara.use_reactive(0)
    solara.use_effect(lambda: _connect(live, key, tick), [live])
    _ = tick.value  # a change of the session renders the page again
    snap = live.snapshot()

    def shown() -> None:
        live.shown(snap.version)
        if live.version != snap.version:  # a change told while this page rendered: show it too
            tick.value = tick.value + 1

    solara.use_effect(shown, [snap.version])
    with solara.Column(classes=["classroom"], gap="4px"):
        TopBar(live, snap)
        ControlBar(live, snap)
        with Guard(key, PAGES[snap.page]):
            if snap.page == "watch":
                LivePage(live, snap, ("A",))
            elif snap.page == "compare":
                LivePage(live, snap, tuple(snap.charters))
            elif snap.page == "edit":
                EditPage(live, snap)
            else:
                DebriefPage(live, snap)


@solara.component
def Layout(children: list[Any] = []) -> None:  # noqa: B006 (Solara's idiom)
    """Each page lays itself out (no navigation bar: a team must not wander into the console)."""
    solara.Column(children=children, gap="0px")


routes = [
    solara.Route(path="/", component=Page, label="Classroom", layout=Layout),
    solara.Route(path="class", component=ClassPage, label="Participatory class"),
    solara.Route(path="join", component=JoinPage, label="Join a class"),
    solara.Route(path="play", component=PlayPage, label="Your firm"),
]
"""``/`` the classroom; ``/class`` a participatory class's console; ``/join`` and ``/play/<seat
code>`` a team's pages (sim.classroom.class_app)."""


__all__ = ["KEEP_ENV", "PRESET_BY_KEY", "STORE", "Layout", "Page", "routes"]
