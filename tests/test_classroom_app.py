"""The classroom page's components, rendered and clicked without a browser (Solara's own
``solara.render``: the page becomes widgets whose buttons a test can click)."""

from __future__ import annotations

import ipyvuetify as v
import ipywidgets
import pytest
import solara

from sim.classroom import app
from sim.classroom.presets import PRESET_BY_KEY, PRESETS


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts from the page's first state (the reactive values are module-wide here)."""
    app.preset_key.value = PRESETS[6].key
    app.side_by_side.value = True
    app.market_edits.value = {}
    app.charter_edits.value = {"A": {}, "B": {}}
    app.current.value = None
    app.playing.value = False
    app.selected.value = 0
    app.message.value = ""
    app.inject_kind.value = "subsidy"
    yield
    app.playing.value = False


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
    for child in getattr(widget, "children", None) or []:
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


def test_step_moves_the_week_and_redraws_the_pictures(render) -> None:
    box, rc = render(app.Page())
    view = app.current.value
    assert view is not None and view.room.week == 0
    images = [w.value for w in rc.find(ipywidgets.Image).widgets]
    assert len(images) == 3  # the network of each charter, and the charts
    button(rc, "Step 4 weeks").click()
    assert view.room.week == 4
    assert "Week 4 of 156" in shown(box)
    redrawn = [w.value for w in rc.find(ipywidgets.Image).widgets]
    assert all(new != old for new, old in zip(redrawn, images, strict=True))
    assert len(view.room.series["A"]) == 5 and len(view.room.series["B"]) == 5


def test_a_preset_sets_the_market_and_both_charters(render) -> None:
    app.restart()
    _box, rc = render(app.Sidebar(app.current.value))
    preset = PRESET_BY_KEY["measurement"]
    select = rc.find(v.Select, label="Preset").widget
    select.v_model = preset.title
    view = app.current.value
    assert app.preset_key.value == "measurement"
    assert view.room.models["A"].config.dynamics.measurement_spread == 1.0
    assert not view.room.models["A"].config.governance.shared_kpis
    assert view.room.models["B"].config.governance.shared_kpis


def test_an_injected_event_reaches_both_charters_and_the_feed(render) -> None:
    box, rc = render(app.Page())
    view = app.current.value
    button(rc, "Step 4 weeks").click()
    button(rc, "Inject into all").click()
    assert "Scheduled for week 5" in app.message.value
    button(rc, "Step").click()
    feed = view.room.events_frame()
    hit = feed[(feed["week"] == 5) & feed["text"].str.contains("a subsidy or regulation change of size 0.30")]
    assert set(hit["charter"]) == {"A", "B"}
    assert len(hit) == 2 * view.room.models["A"].config.n_alliances
    n = view.room.models["A"].config.n_alliances
    assert f"Week 5: a subsidy or regulation change of size 0.30 hit {n} alliances" in shown(box)


def test_switching_the_replay_off_leaves_one_charter(render) -> None:
    app.restart()
    _box, rc = render(app.Sidebar(app.current.value))
    rc.find(v.Switch).widget.v_model = False
    assert list(app.current.value.room.models) == ["A"]


def test_an_edited_lever_applies_on_restart_and_a_bad_one_is_refused(render) -> None:
    app.restart()
    box, rc = render(app.Sidebar(app.current.value))
    rc.find(v.Checkbox, label="shared kpis").widgets[0].v_model = True
    assert "Apply and restart (changes pending)" in shown(box)
    button(rc, "Apply and restart (changes pending)").click()
    assert app.current.value.room.models["A"].config.governance.shared_kpis
    app.market_edits.value = {"scenario.shock_rate": 3.0}
    before = app.current.value
    app.restart()
    assert app.current.value is before
    assert "scenario.shock_rate" in app.message.value
