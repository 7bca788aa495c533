"""The classroom web app: Mesa's SolaraViz page on the Mesa engine; ``alliance-sim-app`` serves it.

A class watches a small market of alliances live, changes the charter, injects events and
replays the same alliances side by side under two charters (A and B). The model SolaraViz
drives is a :class:`ClassroomSession`: one Mesa model whose step is one week of every charter.
SolaraViz's own controller plays, steps and resets it (its play loop runs in a thread, so the
page stays responsive); its model parameters are the preset and the replay switch, taken up
when the class presses Reset. The pictures, the inspector, the injector, the event feed, the
debrief export and the charter editor are SolaraViz components, each a function of the model.
The page holds no model logic: it shows what :class:`sim.classroom.view.ClassroomView` draws.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from collections.abc import Mapping
from typing import Any

import mesa
import solara
import solara.lab
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update, update_counter

from sim.classroom.debrief import debrief_zip
from sim.classroom.figures import LIVE_FORMAT
from sim.classroom.presets import PRESET_BY_KEY, PRESETS, Preset
from sim.classroom.session import HEALTH_PARTS, Classroom, InjectionKind, Setup, compact_feed, ending_label
from sim.classroom.view import ClassroomView, setup_of
from sim.params import ConfigError, GovernanceParams, MeetingCadence, TriggerParams

PLAY_INTERVAL_MS = 150  # between weeks while playing (SolaraViz's play interval slider starts here)
DEFAULT_PRESET = PRESETS[6]
ALLIANCE_TYPES = ("complementary", "coopetition", "ecosystem")
SCENARIOS = ("calm", "volatile", "regulatory_shock", "downturn")
GOVERNANCE_DESIGNS = ("handshake", "meetings", "committee", "meetings_committee", "light", "heavy", "full")
TRIGGER_CLAUSES = ("design", "off", "standard", "sensitive")
LAUNCHES = ("full", "pilot")
REPLAY_LABEL = "Side-by-side replay (charters A and B)"

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


def format_value(value: Any) -> str:
    """A value as a Hydra override writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def with_edits(base: tuple[str, ...], edits: Mapping[str, Any]) -> tuple[str, ...]:
    """Overrides ``base`` with the keys in ``edits`` replaced by their new values."""
    kept = [item for item in base if item.split("=", 1)[0] not in edits]
    return (*kept, *(f"{key}={format_value(value)}" for key, value in edits.items()))


def preset_named(name: str) -> Preset:
    """A preset by its key or by the title the class picks it by."""
    if name in PRESET_BY_KEY:
        return PRESET_BY_KEY[name]
    for preset in PRESETS:
        if preset.title == name:
            return preset
    raise ConfigError(f"preset = {name!r}: not a preset; allowed: {', '.join(p.key for p in PRESETS)}")


def setup_with(
    preset: Preset,
    replay: bool,
    market_edits: Mapping[str, Any] | None = None,
    charter_edits: Mapping[str, Mapping[str, Any]] | None = None,
) -> Setup:
    """The setup a preset starts from, with the teacher's edits of the market and the charters."""
    setup = setup_of(preset, replay)
    edits = dict(market_edits or {})
    charters = charter_edits or {}
    seed = int(edits.pop("seed", setup.seed))
    n = int(edits.pop("n_alliances", setup.n_alliances))
    market = with_edits(setup.market, edits)
    a = with_edits(setup.charter_a, charters.get("A", {}))
    b = None if setup.charter_b is None else with_edits(setup.charter_b, charters.get("B", {}))
    return Setup(seed=seed, n_alliances=n, market=market, charter_a=a, charter_b=b)


class ClassroomSession(mesa.Model):
    """The class's market as the Mesa model SolaraViz drives: one step is one week of charter A
    and, side by side, charter B, on the same alliances under the same draws.

    SolaraViz creates it again from its model parameters (``preset``, ``replay``) on Reset; the
    charter editor creates it again with the edits as well. Either way the session starts at
    week 0 on the same alliances (the same seed). Edits applied to a preset stay with it: Reset
    (which passes no edits) takes up the ones last applied to the chosen preset.
    """

    def __init__(
        self,
        preset: str = DEFAULT_PRESET.title,
        replay: bool = True,
        market_edits: Mapping[str, Any] | None = None,
        charter_edits: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        chosen = preset_named(preset)
        if market_edits is None and charter_edits is None:
            market_edits, charter_edits = applied_edits.value.get(chosen.key, ({}, {}))
        setup = setup_with(chosen, bool(replay), market_edits, charter_edits)
        super().__init__(rng=setup.seed)
        self.preset = chosen
        self.replay = bool(replay)
        self.market_edits = dict(market_edits or {})
        self.charter_edits = {c: dict(e) for c, e in (charter_edits or {}).items()}
        self.view = ClassroomView.start(setup)
        self.running = self.view.room.running

    @property
    def room(self) -> Classroom:
        """The charters the view draws, stepped together."""
        return self.view.room

    def step(self) -> None:
        self.view.room.step()
        self.running = self.view.room.running


MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "preset": {
        "type": "Select",
        "label": "Preset",
        "value": DEFAULT_PRESET.title,
        "values": [p.title for p in PRESETS],
    },
    "replay": {"type": "Checkbox", "label": REPLAY_LABEL, "value": True},
}
"""The SolaraViz model parameters: taken up when the class presses Reset."""

# ------------------------------------------------------------------ the page's own state
session: solara.Reactive[ClassroomSession | None] = solara.reactive(None)
market_edits: solara.Reactive[dict[str, Any]] = solara.reactive({})
charter_edits: solara.Reactive[dict[str, dict[str, Any]]] = solara.reactive({"A": {}, "B": {}})
selected = solara.reactive(0)
inject_kind = solara.reactive(InjectionKind.SUBSIDY.value)
inject_size = solara.reactive(0.3)
message = solara.reactive("")
applied_edits: solara.Reactive[dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]]] = solara.reactive(
    {}
)
"""The edits last applied to each preset (by key), which Reset keeps."""


def apply_edits(model: ClassroomSession) -> None:
    """Start the session again at week 0 with the pending edits of the market and the charters."""
    market = {**model.market_edits, **market_edits.value}
    charters = {c: {**model.charter_edits.get(c, {}), **charter_edits.value.get(c, {})} for c in ("A", "B")}
    try:
        fresh = ClassroomSession(model.preset.title, model.replay, market, charters)
    except ConfigError as error:
        message.value = f"Not applied: {error}"
        force_update()
        return
    message.value = ""
    applied_edits.value = {**applied_edits.value, fresh.preset.key: (fresh.market_edits, fresh.charter_edits)}
    market_edits.value = {}
    charter_edits.value = {"A": {}, "B": {}}
    selected.value = 0
    session.value = fresh
    force_update()


def inject(model: ClassroomSession, target: int | None) -> None:
    room = model.room
    kind = InjectionKind(inject_kind.value)
    try:
        room.inject(kind, target, inject_size.value if kind is not InjectionKind.KEY_CONTACT else 0.0)
    except ConfigError as error:
        message.value = f"Not injected: {error}"
        force_update()
        return
    where = "all alliances" if target is None else f"alliance {target}"
    message.value = f"Scheduled for week {room.week + 1}: {kind.label} in {where} (under every charter)."
    force_update()


# ------------------------------------------------------------------ the charter editor
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
def CharterEditor(model: ClassroomSession) -> None:
    """The market, the environment and both charters, applied by a restart at week 0."""
    update_counter.get()
    view = model.view
    with solara.Column(classes=["charter-editor"]):
        solara.Markdown(
            f"**{model.preset.title}**  \n" + "  \n".join(model.preset.explanation.split("\n")),
            style={"font-size": "0.9em"},
        )
        pending = bool(market_edits.value or charter_edits.value["A"] or charter_edits.value["B"])
        solara.Button(
            "Apply and restart" + (" (changes pending)" if pending else ""),
            color="primary",
            on_click=lambda: apply_edits(model),
            block=True,
        )
        if message.value.startswith("Not applied"):
            solara.Error(message.value)
        with solara.lab.Tabs():
            with solara.lab.Tab("Charter A"):
                CharterControls(view, "A")
            with solara.lab.Tab("Charter B"):
                CharterControls(view, "B")
            with solara.lab.Tab("Market and environment"):
                MarketControls(view)


# ------------------------------------------------------------------ the live components
@solara.component
def SessionBar(model: ClassroomSession) -> None:
    """The week, the preset's explanation for the class, messages and the debrief export."""
    update_counter.get()
    room = model.room
    view = model.view
    with solara.Column(classes=["session-bar"]):
        with solara.Row(style={"align-items": "center"}):
            solara.Text(
                f"Week {room.week} of {room.models['A'].config.horizon_weeks}", classes=["week-label"]
            )
            solara.FileDownload(
                lambda: debrief_zip(view),
                filename=f"alliance-debrief-week-{room.week}.zip",
                label="Export debrief",
            )
        solara.Markdown(
            f"**{model.preset.title}**: " + " ".join(model.preset.explanation.split("\n")),
            style={"font-size": "0.9em"},
        )
        if message.value:
            solara.Info(message.value)


@solara.component
def NetworkImage(model: ClassroomSession, charter: str) -> None:
    """The live network of one charter (all charters share one layout that stays put)."""
    update_counter.get()
    view = model.view
    chosen = selected.value
    picture = view.networks.get(charter)
    png = solara.use_memo(
        lambda: None if picture is None else picture.frame(chosen),
        [update_counter.value, chosen, id(view), charter],
    )
    with solara.Column(classes=[f"network-{charter}"]):
        if png is None:
            solara.Text(f"Charter {charter}: switch on the side-by-side replay and press Reset.")
        else:
            solara.Image(png, width="100%", format=LIVE_FORMAT)


@solara.component
def NetworkA(model: ClassroomSession) -> None:
    NetworkImage(model, "A")


@solara.component
def NetworkB(model: ClassroomSession) -> None:
    NetworkImage(model, "B")


@solara.component
def Charts(model: ClassroomSession) -> None:
    update_counter.get()
    view = model.view
    png = solara.use_memo(view.charts_frame, [update_counter.value, id(view)])
    with solara.Column(classes=["charts"]):
        solara.Image(png, width="100%", format=LIVE_FORMAT)


@solara.component
def Inspector(model: ClassroomSession) -> None:
    update_counter.get()
    room = model.room
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
def Injector(model: ClassroomSession) -> None:
    update_counter.get()
    kinds = {k.label: k.value for k in InjectionKind}
    with solara.Card("Inject an event (goes to every charter)"):
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
            solara.Button(
                f"Inject into alliance {selected.value}", on_click=lambda: inject(model, selected.value)
            )
            solara.Button("Inject into all", on_click=lambda: inject(model, None))


@solara.component
def EventFeed(model: ClassroomSession) -> None:
    update_counter.get()
    room = model.room
    feed = compact_feed(room.feed[-200:])[-14:]
    two = len(room.models) > 1
    with solara.Card("Event feed"):
        if not feed:
            solara.Text("Nothing has happened yet: step a few weeks.")
            return
        lines = [f"- {'[' + c + '] ' if two else ''}{text}" for c, text in reversed(feed)]
        solara.Markdown("\n".join(lines), style={"font-size": "0.85em"})


@solara.component
def SelectedAlliance(model: ClassroomSession) -> None:
    with solara.Card("Selected alliance"):
        Inspector(model)


COMPONENTS: list[tuple[Any, int]] = [
    (SessionBar, 0),
    (Injector, 0),
    (NetworkA, 0),
    (NetworkB, 0),
    (Charts, 0),
    (EventFeed, 0),
    (SelectedAlliance, 0),
    (CharterEditor, 1),
]
"""What SolaraViz shows, in a fixed order: page 0 the live session, page 1 the charter editor."""


@solara.component
def Page() -> None:
    if session.value is None:
        session.value = ClassroomSession()
    solara.Title("Alliance classroom")
    SolaraViz(
        session,
        components=COMPONENTS,
        model_params=MODEL_PARAMS,
        name="Alliance classroom",
        play_interval=PLAY_INTERVAL_MS,
    )
