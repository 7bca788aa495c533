"""The classroom web app (Solara, on the Mesa engine): ``alliance-sim-app`` serves it.

A class watches a small market of alliances live, changes the charter, injects events and
replays the same alliances side by side under two charters (A and B). The page holds no model
logic: it drives a :class:`sim.classroom.view.ClassroomView` (the Mesa models and their
pictures) and shows what it draws. The play loop runs in a thread (as Mesa's own
``ModelController`` does), so the page stays responsive while the weeks go by.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import time
import typing
from typing import Any

import solara
import solara.lab

from sim.classroom.debrief import debrief_zip
from sim.classroom.figures import LIVE_FORMAT
from sim.classroom.presets import PRESET_BY_KEY, PRESETS
from sim.classroom.session import HEALTH_PARTS, InjectionKind, Setup, compact_feed, ending_label
from sim.classroom.view import ClassroomView, setup_of
from sim.params import ConfigError, GovernanceParams, MeetingCadence, TriggerParams

PLAY_INTERVAL = 0.15  # seconds between weeks while playing
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

# ------------------------------------------------------------------ the session's state
preset_key = solara.reactive(PRESETS[6].key)
side_by_side = solara.reactive(True)
market_edits: solara.Reactive[dict[str, Any]] = solara.reactive({})
charter_edits: solara.Reactive[dict[str, dict[str, Any]]] = solara.reactive({"A": {}, "B": {}})
current: solara.Reactive[ClassroomView | None] = solara.reactive(None)
tick = solara.reactive(0)
playing = solara.reactive(False)
selected = solara.reactive(0)
inject_kind = solara.reactive(InjectionKind.SUBSIDY.value)
inject_size = solara.reactive(0.3)
message = solara.reactive("")


def format_value(value: Any) -> str:
    """A value as a Hydra override writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def with_edits(base: tuple[str, ...], edits: dict[str, Any]) -> tuple[str, ...]:
    """Overrides ``base`` with the keys in ``edits`` replaced by their new values."""
    kept = [item for item in base if item.split("=", 1)[0] not in edits]
    return (*kept, *(f"{key}={format_value(value)}" for key, value in edits.items()))


def setup_now() -> Setup:
    """The setup the controls describe: the preset with the teacher's edits."""
    preset = PRESET_BY_KEY[preset_key.value]
    setup = setup_of(preset, side_by_side.value)
    edits = dict(market_edits.value)
    seed = int(edits.pop("seed", setup.seed))
    n = int(edits.pop("n_alliances", setup.n_alliances))
    market = with_edits(setup.market, edits)
    a = with_edits(setup.charter_a, charter_edits.value["A"])
    b = None if setup.charter_b is None else with_edits(setup.charter_b, charter_edits.value["B"])
    return Setup(seed=seed, n_alliances=n, market=market, charter_a=a, charter_b=b)


def restart() -> None:
    """Start the session again at week 0 from the controls (same seed: the same alliances)."""
    playing.value = False
    try:
        view = ClassroomView.start(setup_now())
    except ConfigError as error:
        message.value = f"Not applied: {error}"
        return
    message.value = ""
    current.value = view
    selected.value = 0
    tick.value += 1


def choose_preset(key: str) -> None:
    preset_key.value = key
    market_edits.value = {}
    charter_edits.value = {"A": {}, "B": {}}
    restart()


def switch_replay(on: bool) -> None:
    side_by_side.value = on
    restart()


def step_once() -> None:
    view = current.value
    if view is not None and view.room.running:
        view.room.step()
        tick.value += 1


def step_weeks(n: int) -> None:
    for _ in range(n):
        step_once()


def inject(target: int | None) -> None:
    view = current.value
    if view is None:
        return
    kind = InjectionKind(inject_kind.value)
    try:
        view.room.inject(kind, target, inject_size.value if kind is not InjectionKind.KEY_CONTACT else 0.0)
    except ConfigError as error:
        message.value = f"Not injected: {error}"
        return
    where = "all alliances" if target is None else f"alliance {target}"
    message.value = f"Scheduled for week {view.room.week + 1}: {kind.label} in {where} (under every charter)."
    tick.value += 1


# ------------------------------------------------------------------ components
@solara.component
def PresetPicker() -> None:
    preset = PRESET_BY_KEY[preset_key.value]
    solara.Select(
        label="Preset",
        value=preset.title,
        values=[p.title for p in PRESETS],
        on_value=lambda title: choose_preset(next(p.key for p in PRESETS if p.title == title)),
    )
    solara.Markdown("  \n".join(preset.explanation.split("\n")), style={"font-size": "0.9em"})


def _edit_market(key: str, value: Any) -> None:
    market_edits.value = {**market_edits.value, key: value}


def _edit_charter(charter: str, key: str, value: Any) -> None:
    edits = dict(charter_edits.value)
    edits[charter] = {**edits[charter], key: value}
    charter_edits.value = edits


def _group_choice(overrides: tuple[str, ...], group: str, default: str) -> str:
    for item in overrides:
        key, _, value = item.partition("=")
        if key == group:
            return value
    return default


@solara.component
def MarketControls(view: ClassroomView) -> None:
    config = view.room.models["A"].config
    edits = market_edits.value
    setup = view.room.setup
    solara.Select(
        label="Alliance type",
        value=edits.get("alliance", config.alliance.type.value),
        values=list(ALLIANCE_TYPES),
        on_value=lambda v: _edit_market("alliance", v),
    )
    solara.Select(
        label="Scenario",
        value=edits.get("scenario", _group_choice(setup.market, "scenario", config.scenario.name)),
        values=list(SCENARIOS),
        on_value=lambda v: _edit_market("scenario", v),
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
            on_value=functools.partial(_edit_market, key),
        )
    n = edits.get("n_alliances", config.n_alliances)
    solara.SliderInt(
        f"alliances in the market: {n}",
        value=n,
        min=10,
        max=20,
        on_value=lambda v: _edit_market("n_alliances", v),
    )
    solara.InputInt("seed", value=edits.get("seed", config.seed), on_value=lambda v: _edit_market("seed", v))


def _lever_hint(name: str) -> Any:
    return typing.get_type_hints(GovernanceParams)[name]


@solara.component
def CharterControls(view: ClassroomView, charter: str) -> None:
    model = view.room.models.get(charter)
    if model is None:
        solara.Text("Switch on the side-by-side replay to edit charter B.")
        return
    config = model.config
    edits = charter_edits.value[charter]
    overrides = view.room.setup.charter_a if charter == "A" else view.room.setup.charter_b or ()

    def edit(key: str, value: Any) -> None:
        _edit_charter(charter, key, value)

    solara.Select(
        label="Governance design (starting point)",
        value=edits.get("governance", _group_choice(overrides, "governance", config.governance.name)),
        values=list(GOVERNANCE_DESIGNS),
        on_value=lambda v: edit("governance", v),
    )
    solara.Select(
        label="Launch",
        value=edits.get("launch", config.launch.mode.value),
        values=list(LAUNCHES),
        on_value=lambda v: edit("launch", v),
    )
    g = config.governance
    for f in dataclasses.fields(GovernanceParams):
        if f.name == "name":
            continue
        key = f"governance.{f.name}"
        value = edits.get(key, getattr(g, f.name))
        hint = _lever_hint(f.name)
        label = f.name.replace("_", " ")
        if hint is bool:
            solara.Checkbox(label=label, value=bool(value), on_value=functools.partial(edit, key))
        elif hint is MeetingCadence:
            solara.Select(
                label=label,
                value=format_value(value),
                values=[c.value for c in MeetingCadence],
                on_value=functools.partial(edit, key),
            )
        else:
            hi = config.horizon_weeks if f.name == "sunset_week" else int(f.metadata["hi"])
            solara.SliderInt(
                f"{label}: {int(value)}",
                value=int(value),
                min=int(f.metadata["lo"]),
                max=hi,
                on_value=functools.partial(edit, key),
            )
    solara.Select(
        label="Trigger clauses",
        value=edits.get("triggers", _group_choice(overrides, "triggers", "design")),
        values=list(TRIGGER_CLAUSES),
        on_value=lambda v: edit("triggers", v),
    )
    for name, (low, high) in TRIGGER_SLIDERS.items():
        key = f"triggers.{name}"
        value = edits.get(key, getattr(config.triggers, name))
        label = name.replace("_", " ")
        if typing.get_type_hints(TriggerParams)[name] is int:
            solara.SliderInt(
                f"{label}: {int(value)}",
                value=int(value),
                min=int(low),
                max=int(high),
                on_value=functools.partial(edit, key),
            )
        else:
            solara.SliderFloat(
                f"{label}: {float(value):.2f}",
                value=float(value),
                min=low,
                max=high,
                step=0.05,
                on_value=functools.partial(edit, key),
            )


@solara.component
def Sidebar(view: ClassroomView) -> None:
    with solara.Column():
        with solara.Card("Situation"):
            PresetPicker()
            solara.Switch(
                label="Side-by-side replay (charters A and B)",
                value=side_by_side.value,
                on_value=switch_replay,
            )
        with solara.Card("Market and environment"):
            MarketControls(view)
        with solara.Card("Charters"), solara.lab.Tabs():
            with solara.lab.Tab("Charter A"):
                CharterControls(view, "A")
            with solara.lab.Tab("Charter B"):
                CharterControls(view, "B")
        pending = bool(market_edits.value or charter_edits.value["A"] or charter_edits.value["B"])
        solara.Button(
            "Apply and restart" + (" (changes pending)" if pending else ""),
            color="primary",
            on_click=restart,
            block=True,
        )


@solara.component
def PlayControls(view: ClassroomView) -> None:
    tick.get()  # redrawn every week
    room = view.room

    def play_loop() -> None:
        while playing.value and room.running:
            time.sleep(PLAY_INTERVAL)
            if not playing.value:
                break
            room.step()
            tick.value += 1
        playing.value = False

    solara.lab.use_task(play_loop, dependencies=[playing.value, id(room)], prefer_threaded=True)
    with solara.Row(style={"align-items": "center"}):
        solara.Button(
            "Pause" if playing.value else "Play",
            color="primary",
            on_click=lambda: playing.set(not playing.value),
            disabled=not room.running,
        )
        solara.Button("Step", on_click=step_once, disabled=playing.value or not room.running)
        solara.Button(
            "Step 4 weeks", on_click=lambda: step_weeks(4), disabled=playing.value or not room.running
        )
        solara.Button("Restart", on_click=restart)
        solara.Text(f"Week {room.week} of {room.models['A'].config.horizon_weeks}", classes=["week-label"])
        solara.FileDownload(
            lambda: debrief_zip(view),
            filename=f"alliance-debrief-week-{room.week}.zip",
            label="Export debrief",
        )


@solara.component
def NetworkImages(view: ClassroomView) -> None:
    tick.get()  # redrawn every week
    chosen = selected.value
    pngs = solara.use_memo(lambda: view.network_frames(chosen), [tick.value, chosen, id(view)])
    with solara.Columns([1] * len(pngs)):
        for charter, png in pngs.items():
            with solara.Column(classes=[f"network-{charter}"]):
                solara.Image(png, width="100%", format=LIVE_FORMAT)


@solara.component
def Charts(view: ClassroomView) -> None:
    tick.get()  # redrawn every week
    png = solara.use_memo(view.charts_frame, [tick.value, id(view)])
    with solara.Column(classes=["charts"]):
        solara.Image(png, width="100%", format=LIVE_FORMAT)


@solara.component
def Inspector(view: ClassroomView) -> None:
    tick.get()  # redrawn every week
    room = view.room
    n = room.models["A"].config.n_alliances
    first = room.models["A"].alliances

    def label(i: int) -> str:
        firms = " & ".join(f"Firm {int(f)}" for f in first[i].firm)
        return f"alliance {i} ({firms})"

    labels = [label(i) for i in range(n)]
    solara.Select(
        label="Selected alliance",
        value=labels[min(selected.value, n - 1)],
        values=labels,
        on_value=lambda v: selected.set(labels.index(v)),
    )
    index = min(selected.value, n - 1)
    rows = [
        "| | " + " | ".join(f"charter {c}" for c in room.models) + " |",
        "|---|" + "---|" * len(room.models),
    ]
    alliances = {c: m.alliances[index] for c, m in room.models.items()}
    rows.append(
        "| state | "
        + " | ".join(
            "running" if a.alive else f"ended week {a.end_week}: {ending_label(a)}"
            for a in alliances.values()
        )
        + " |"
    )
    for part in ("health", *HEALTH_PARTS):
        rows.append(
            f"| {part.replace('_', ' ')} | "
            + " | ".join(f"{getattr(a, part):.2f}" for a in alliances.values())
            + " |"
        )
    rows.append("| open issues | " + " | ".join(str(a.open_issues()) for a in alliances.values()) + " |")
    solara.Markdown("\n".join(rows))
    events = [(c, e) for c, e in room.feed if e.alliance_id == index][-8:]
    if events:
        solara.Markdown("\n".join(f"- {c}: {e.text}" for c, e in reversed(events)))
    else:
        solara.Text("No events yet in this alliance.")


@solara.component
def Injector(view: ClassroomView) -> None:
    tick.get()  # redrawn every week
    kinds = {k.label: k.value for k in InjectionKind}
    solara.Select(
        label="Event",
        value=InjectionKind(inject_kind.value).label,
        values=list(kinds),
        on_value=lambda v: inject_kind.set(kinds[v]),
    )
    if inject_kind.value != InjectionKind.KEY_CONTACT.value:
        solara.SliderFloat(
            "size", value=inject_size.value, min=0.05, max=1.0, step=0.05, on_value=inject_size.set
        )
    with solara.Row():
        solara.Button(f"Inject into alliance {selected.value}", on_click=lambda: inject(selected.value))
        solara.Button("Inject into all", on_click=lambda: inject(None))


@solara.component
def EventFeed(view: ClassroomView) -> None:
    tick.get()  # redrawn every week
    feed = compact_feed(view.room.feed[-200:])[-14:]
    two = len(view.room.models) > 1
    if not feed:
        solara.Text("Nothing has happened yet: step a few weeks.")
        return
    lines = [f"- {'[' + c + '] ' if two else ''}{text}" for c, text in reversed(feed)]
    solara.Markdown("\n".join(lines), style={"font-size": "0.85em"})


@solara.component
def Page() -> None:
    if current.value is None:
        restart()
    view = current.value
    solara.Title("Alliance classroom")
    if view is None:
        solara.Error(message.value or "The session could not start.")
        return
    with solara.AppBar():
        solara.AppBarTitle("Alliance classroom")
    with solara.Sidebar():
        Sidebar(view)
    with solara.Column(style={"padding": "8px"}):
        PlayControls(view)
        if message.value:
            solara.Info(message.value)
        NetworkImages(view)
        with solara.Columns([1, 1]):
            with solara.Column():
                with solara.Card("Event feed"):
                    EventFeed(view)
                with solara.Card("Inject an event (goes to every charter)"):
                    Injector(view)
            with solara.Card("Selected alliance"):
                Inspector(view)
        Charts(view)
