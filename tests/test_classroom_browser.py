"""The classroom as a teacher uses it, in a real headless browser (Playwright driving Debian's
chromium, which ``.ci/run`` installs), against ``alliance-sim-app`` serving on loopback: choose a
situation, step and play, compare A and B, inject a shock and find it in the feed, export the
debrief and replay its command; type bad values and read the message beside the field; open an
example charter file; check at 1920x1080 and 1280x720 that the networks, the main chart and the
controls fit without scrolling and that the text is at least 14 px on the wide screen.

``CLASSROOM_SCREENSHOTS=docs`` writes the screenshots the README shows into ``docs/``;
``CLASSROOM_SCREENSHOTS_TO=FOLDER`` writes them into another folder, to look at.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.classroom.probe import APP, CHROMIUM, CHROMIUM_ARGS, serve

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``alliance-sim-app --port N``, as the README starts it, on loopback."""
    with serve(tmp_path_factory.mktemp("app") / "server.log") as running:
        yield running.url


@pytest.fixture
def page(server: str):
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
        page.goto(server)
        page.get_by_text("Week 0").first.wait_for(timeout=90_000)
        yield page
        browser.close()


def screenshot(page, tmp_path: Path, name: str) -> None:
    folder = (
        Path(os.environ["CLASSROOM_SCREENSHOTS_TO"])
        if os.environ.get("CLASSROOM_SCREENSHOTS_TO")
        else REPO_ROOT / "docs"
        if os.environ.get("CLASSROOM_SCREENSHOTS") == "docs"
        else tmp_path
    )
    page.screenshot(path=str(folder / name))


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the drop-down labelled ``label``."""
    page.get_by_label(label).click(force=True)
    page.locator(".menuable__content__active .v-list-item").filter(has_text=option).first.click()


def shown_week(page) -> int:
    return int(re.search(r"Week (\d+)", page.locator(".week-counter").inner_text()).group(1))


def step_to(page, week: int) -> None:
    now = shown_week(page)
    for w in range(now + 1, week + 1):
        page.locator("button.step").click()
        page.wait_for_function(
            f"() => /Week {w}\\b/.test(document.querySelector('.week-counter').textContent)"
        )


def fits(page, selector: str) -> bool:
    """The element lies inside the window (nothing of it below or beside the fold)."""
    box = page.locator(selector).first.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] + box["height"] <= size["height"] + 1
        and box["x"] + box["width"] <= size["width"] + 1
    )


def smallest_network_text(page) -> float:
    return page.evaluate(
        "() => Math.min(...[...document.querySelectorAll('svg.network text')].map(t => t.getBoundingClientRect().height))"
    )


def test_a_class_session_from_preset_to_debrief(page, tmp_path: Path) -> None:
    choose(page, "Situation", "6. Revenue against profit")
    page.get_by_text("One partner counts revenue, the other profit").wait_for()
    page.get_by_role("button", name="Compare A and B").click()
    page.locator(".network-B svg.network").wait_for()
    before = page.locator(".network-A").inner_html()
    step_to(page, 4)
    assert page.locator(".network-A").inner_html() != before

    # play, then pause: the weeks go by on their own
    page.locator("button.play").click()
    page.wait_for_function(
        "() => Number(document.querySelector('.week-counter').textContent.match(/Week (\\d+)/)[1]) >= 10",
        timeout=60_000,
    )
    page.locator("button.pause").click()
    page.locator("button.play").wait_for()
    week = shown_week(page)
    time.sleep(1.0)
    week = shown_week(page)

    # inject into every alliance: both charters get it, the feed says so
    page.get_by_text("Inject an event (into every charter)").click()
    page.locator("button.inject-all").click()
    page.get_by_text(f"Scheduled for week {week + 1}: subsidy change in all alliances").wait_for()
    page.locator("button.step").click()
    feed = page.get_by_text(
        re.compile(
            rf"\[[AB]\] Week {week + 1}: a subsidy or regulation change of size 0\.30 hit \d+ alliances"
        )
    )
    feed.first.wait_for()
    assert feed.count() == 2

    # the wide screen: networks, main chart and controls without scrolling; text 14 px or more
    for selector in (
        ".network-A svg",
        ".network-B svg",
        ".chart-running img",
        "button.play",
        "button.step",
        ".week-counter",
    ):
        assert fits(page, selector), selector
    assert smallest_network_text(page) >= 14.0
    chart = page.locator(".chart-running img")
    assert (
        chart.evaluate("img => img.clientWidth / img.naturalWidth") >= 0.95
    )  # chart text 15 px drawn, shown at its size
    screenshot(page, tmp_path, "classroom-replay.png")

    # the debrief: its session file and tables, and the command that replays it
    page.get_by_role("button", name="Debrief").click()
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Export debrief").click()
    path = tmp_path / "debrief.zip"
    waiting.value.save_as(path)
    archive = zipfile.ZipFile(path)
    session = json.loads(archive.read("session.json"))
    assert session["week"] == week + 1
    assert session["injections"] == [f"{week}:all:subsidy:0.3"]
    assert archive.read("figures/chart_running.png")[:4] == b"\x89PNG"
    assert archive.read("figures/network_A.svg").startswith(b"<svg")
    command = shlex.split(archive.read("command.txt").decode())
    out = tmp_path / "replayed"
    done = subprocess.run(
        [str(APP), *command[1:-2], "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for name in ("events.csv", "timeseries_A.csv", "timeseries_B.csv", "alliances_A.csv", "alliances_B.csv"):
        assert (out / name).read_text() == archive.read(name).decode(), name
    assert page.console_errors == []  # no request leaves the machine, none fails


def test_bad_values_get_a_message_beside_their_field_and_the_page_stays(page, tmp_path: Path) -> None:
    box = page.get_by_label("go to week")
    for bad, said in (
        ("-5", "out of range"),
        ("99999999999999999999", "out of range"),
        ("abc", "not a whole number"),
        ("1e3", "not a whole number"),
    ):
        box.fill(bad)
        box.press("Enter")
        page.get_by_text(said).first.wait_for()
    page.get_by_role("button", name="Edit charter").click()
    for label in ("seed", "alliances in the market"):
        field = page.get_by_label(label)
        for bad, said in (
            ("-1", "out of range"),
            ("10000000000000", "out of range"),
            ("x", "not a whole number"),
        ):
            field.fill(bad)
            field.press("Enter")
            page.get_by_text(f"{label.replace(' ', ' ')} = ").first.wait_for()
            page.get_by_text(said).first.wait_for()
    assert "Traceback" not in page.locator("body").inner_text()


def test_an_example_charter_opens_as_charter_b_and_the_small_screen_fits(page, tmp_path: Path) -> None:
    page.get_by_role("button", name="Edit charter").click()
    choose(page, "or an example charter", "renewable_subsidy.yaml")
    page.get_by_text("How the charter was read into the model").wait_for()
    page.get_by_text("Opened renewable_subsidy as charter B").wait_for()
    time.sleep(1)  # any control that wrote an edit of its own would show by now
    assert page.locator("button.apply").inner_text().strip().lower() == "apply and restart"
    situation = page.locator(".top-bar .v-select__selection").first.inner_text()
    assert situation == "Charter file: renewable_subsidy (B)", situation
    screenshot(page, tmp_path, "classroom-charters.png")
    page.get_by_role("button", name="Watch").click()
    step_to(page, 40)
    screenshot(page, tmp_path, "classroom.png")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.get_by_role("button", name="Compare A and B").click()
    page.locator(".network-B svg.network").wait_for()
    for selector in (
        ".network-A svg",
        ".network-B svg",
        ".chart-running img",
        "button.play",
        ".week-counter",
    ):
        assert fits(page, selector), selector
    screenshot(page, tmp_path, "classroom-1280.png")
