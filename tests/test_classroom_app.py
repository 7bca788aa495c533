"""The classroom page, Mesa's SolaraViz with the classroom's components, rendered and clicked
without a browser (Solara's own ``solara.render``: the page becomes widgets whose buttons a test
can click; SolaraViz's sidebar shows inside Solara's ``AppLayout``)."""

from __future__ import annotations

import ipyvuetify as v
import ipywidgets
import mesa
import pytest
import solara

from sim.classroom import app
from sim.classroom.presets import PRESET_BY_KEY, PRESETS
from sim.params import ConfigError


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts from the page's first state (the reactive values are module-wide here)."""
    app.session.value = None
    app.market_edits.value = {}
    app.charter_edits.value = {"A": {}, "B": {}}
    app.applied_edits.value = {}
    app.selected.value = 0
    app.message.value = ""
    app.inject_kind.value = "subsidy"
    yield


@pytest.fixture
def render():
    """Render an element as Solara would; the render context is closed after the test."""
    contexts = []

    def rendered(element):
        box, rc = solara.render(element, handle_error=False)
        contexts.append(rc)
        return box, rc

    yield rendered
    for rc in contexts:
        rc.close()


def widgets_under(widget: ipywidgets.Widget) -> list[ipywidgets.Widget]:
    found = [widget]
    children = [*(getattr(widget, "children", None) or [])]
    items = getattr(widget, "items", None)  # SolaraViz's grid holds its components as items
    children += items if isinstance(items, list) else []
    for child in children:
        if isinstance(child, ipywidgets.Widget):
            found.extend(widgets_under(child))
    return found


def shown(box: ipywidgets.Widget) -> str:
    """Every text the rendered page holds (labels, buttons, markdown as HTML)."""
    parts = []
    for widget in widgets_under(box):
        if isinstance(widget, ipywidgets.Image):
            continue
        for name in ("children", "label", "v_model", "template"):
            value = getattr(widget, name, None)
            if isinstance(value, str):
                parts.append(value)
            elif isinstance(value, list | tuple):
                parts.extend(x for x in value if isinstance(x, str))
    return "\n".join(parts)


def button(rc, label: str):
    return rc.find(v.Btn, children=[label]).widget


def page(render):
    """The page as the server shows it: SolaraViz inside Solara's app layout."""
    return render(solara.AppLayout(children=[app.Page()]))


def step(rc, weeks: int) -> None:
    for _ in range(weeks):
        button(rc, "Step").click()


def test_the_page_is_mesas_solaraviz_on_a_mesa_model(render) -> None:
    box, rc = page(render)
    model = app.session.value
    assert isinstance(model, mesa.Model) and model.room.week == 0
    assert {"Reset", "Step", "▶"} <= {b.children[0] for b in rc.find(v.Btn).widgets if b.children}
    assert "Model Parameters" in shown(box) and "Play Interval (ms)" in shown(box)
    assert [tab.children for tab in rc.find(v.Tab).widgets] == [["Page 0"], ["Page 1"]]


def test_step_moves_the_week_and_redraws_the_pictures(render) -> None:
    box, rc = page(render)
    model = app.session.value
    images = [w.value for w in rc.find(ipywidgets.Image).widgets]
    assert len(images) == 3  # the network of each charter, and the charts
    step(rc, 4)
    assert model.room.week == 4 and model.steps == 4
    assert "Week 4 of 156" in shown(box)
    redrawn = [w.value for w in rc.find(ipywidgets.Image).widgets]
    assert all(new != old for new, old in zip(redrawn, images, strict=True))
    assert len(model.room.series["A"]) == 5 and len(model.room.series["B"]) == 5


def test_a_preset_chosen_in_the_model_parameters_applies_on_reset(render) -> None:
    _box, rc = page(render)
    step(rc, 2)
    preset = PRESET_BY_KEY["measurement"]
    rc.find(v.Select, label="Preset").widget.v_model = preset.title
    assert app.session.value.preset.key == PRESETS[6].key  # not before Reset
    button(rc, "Reset").click()
    model = app.session.value
    assert model.preset.key == "measurement" and model.room.week == 0
    assert model.room.models["A"].config.dynamics.measurement_spread == 1.0
    assert not model.room.models["A"].config.governance.shared_kpis
    assert model.room.models["B"].config.governance.shared_kpis


def test_reset_starts_the_same_alliances_again(render) -> None:
    _box, rc = page(render)
    first = app.session.value
    step(rc, 6)
    button(rc, "Reset").click()
    again = app.session.value
    assert again is not first and again.room.week == 0
    step(rc, 6)
    assert again.room.series_frame("B").equals(first.room.series_frame("B"))


def test_an_injected_event_reaches_both_charters_and_the_feed(render) -> None:
    box, rc = page(render)
    model = app.session.value
    step(rc, 4)
    button(rc, "Inject into all").click()
    assert "Scheduled for week 5" in app.message.value
    step(rc, 1)
    feed = model.room.events_frame()
    hit = feed[(feed["week"] == 5) & feed["text"].str.contains("a subsidy or regulation change of size 0.30")]
    assert set(hit["charter"]) == {"A", "B"}
    n = model.room.models["A"].config.n_alliances
    assert len(hit) == 2 * n
    assert f"Week 5: a subsidy or regulation change of size 0.30 hit {n} alliances" in shown(box)


def test_switching_the_replay_off_leaves_one_charter(render) -> None:
    _box, rc = page(render)
    rc.find(v.Checkbox, label=app.REPLAY_LABEL).widget.v_model = False
    button(rc, "Reset").click()
    assert list(app.session.value.room.models) == ["A"]
    assert len(rc.find(ipywidgets.Image).widgets) == 2  # one network, and the charts


def test_an_edited_lever_applies_on_restart_and_a_bad_one_is_refused(render) -> None:
    app.session.value = app.ClassroomSession()
    box, rc = render(app.CharterEditor(app.session.value))
    rc.find(v.Checkbox, label="shared kpis").widgets[0].v_model = True
    assert "Apply and restart (changes pending)" in shown(box)
    button(rc, "Apply and restart (changes pending)").click()
    applied = app.session.value
    assert applied.room.models["A"].config.governance.shared_kpis
    assert applied.charter_edits["A"] == {"governance.shared_kpis": True}
    app.market_edits.value = {"scenario.shock_rate": 3.0}
    app.apply_edits(applied)
    assert app.session.value is applied
    assert "scenario.shock_rate" in app.message.value
    assert "Not applied: " in shown(box)  # the editor says why


def test_reset_keeps_the_edits_applied_to_the_chosen_preset(render) -> None:
    _box, rc = page(render)
    first = app.session.value.preset
    app.charter_edits.value = {"A": {"governance.shared_kpis": True}, "B": {}}
    app.apply_edits(app.session.value)
    step(rc, 3)
    button(rc, "Reset").click()
    again = app.session.value
    assert again.room.week == 0 and again.room.models["A"].config.governance.shared_kpis
    assert again.charter_edits["A"] == {"governance.shared_kpis": True}

    other = next(p for p in PRESETS if p.key != first.key)
    rc.find(v.Select, label="Preset").widget.v_model = other.title
    button(rc, "Reset").click()
    assert app.session.value.preset.key == other.key and app.session.value.charter_edits == {}

    rc.find(v.Select, label="Preset").widget.v_model = first.title
    button(rc, "Reset").click()
    assert app.session.value.room.models["A"].config.governance.shared_kpis


def test_an_unknown_preset_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"preset = 'nine'.*allowed: .*measurement"):
        app.ClassroomSession("nine")
