"""The classroom as a teacher uses it, in a real headless browser (Playwright driving Debian's
chromium, which ``.ci/run`` installs), against ``alliance-sim-app`` serving on loopback: open the
app (Mesa's SolaraViz page), choose a preset and reset, step and play some weeks with
SolaraViz's controller, see the network and charts change, inject a
shock and find it in the event feed, run the side-by-side replay, export the debrief and check
the file, rerun its command; edit a lever on SolaraViz's second page and restart.

``CLASSROOM_SCREENSHOTS=docs`` writes the screenshots the README shows into ``docs/``.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
APP = Path(sys.executable).with_name("alliance-sim-app")
REPO_ROOT = Path(__file__).resolve().parent.parent
PLAY, PAUSE = "\u25b6", "\u275a\u275a"  # SolaraViz's play and pause buttons

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``alliance-sim-app --port N``, as the README starts it, on loopback."""
    port = free_port()
    process = subprocess.Popen(
        [str(APP), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"alliance-sim-app did not start on {url}:\n{output}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def page(server: str):
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser test needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1500, "height": 1900}, accept_downloads=True)
        page = context.new_page()
        page.goto(server)
        page.get_by_text("Week 0 of 156").wait_for(timeout=90_000)
        yield page
        browser.close()


def image_sources(page, selector: str) -> list[str]:
    return [img.get_attribute("src") or "" for img in page.locator(f"{selector} img").all()]


def screenshot(page, tmp_path: Path, name: str) -> None:
    folder = REPO_ROOT / "docs" if os.environ.get("CLASSROOM_SCREENSHOTS") == "docs" else tmp_path
    page.screenshot(path=str(folder / name), full_page=True)


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the drop-down labelled ``label``."""
    page.locator(".v-select").filter(has_text=label).first.click()
    page.locator(".menuable__content__active .v-list-item").filter(has_text=option).first.click()


def shown_week(page) -> int:
    return int(page.get_by_text(" of 156").first.inner_text().split()[1])


def step_to(page, week: int) -> None:
    """Press SolaraViz's Step until the page shows ``week``."""
    now = shown_week(page)
    for w in range(now + 1, week + 1):
        page.get_by_role("button", name="Step", exact=True).click()
        page.get_by_text(f"Week {w} of 156").wait_for()


def test_a_class_session_from_preset_to_debrief(page, tmp_path: Path) -> None:
    # a preset, taken up on Reset: the market and both charters change, the class sees its explanation
    step_to(page, 2)
    choose(page, "Preset", "6. Revenue against profit")
    page.get_by_role("button", name="Reset", exact=True).click()
    page.get_by_text("One partner counts revenue, the other profit").wait_for()
    page.get_by_text("Week 0 of 156").wait_for()
    page.get_by_text("charter B", exact=True).first.wait_for()  # the inspector shows both charters
    networks = image_sources(page, ".network-A") + image_sources(page, ".network-B")
    charts = image_sources(page, ".charts")
    assert len(networks) == 2 and len(charts) == 1

    # step several weeks: the network and the charts are redrawn
    for week in (4, 8, 12):
        step_to(page, week)
    page.wait_for_function(
        "src => document.querySelector('.network-A img').getAttribute('src') !== src", arg=networks[0]
    )
    assert image_sources(page, ".network-B") != networks[1:]
    assert image_sources(page, ".charts") != charts

    # play: the weeks go by on their own while the page answers; then pause
    page.get_by_role("button", name=PLAY).click()
    page.get_by_role("button", name=PAUSE).wait_for()
    page.wait_for_function(
        "() => /Week (1[6-9]|[2-9][0-9]) of 156/.test(document.body.innerText)", timeout=60_000
    )
    page.get_by_role("button", name=PAUSE).click()
    page.get_by_role("button", name=PLAY).wait_for()
    week = shown_week(page)
    while True:  # the play loop may finish the week it was sleeping on after the pause
        time.sleep(1.0)
        if shown_week(page) == week:
            break
        week = shown_week(page)

    # inject a subsidy change into every alliance: both charters get it, the feed says so
    page.get_by_role("button", name="Inject into all", exact=True).click()
    page.get_by_text(f"Scheduled for week {week + 1}: subsidy change in all alliances").wait_for()
    page.get_by_role("button", name="Step", exact=True).click()
    page.get_by_text(f"Week {week + 1} of 156").wait_for()
    feed = page.get_by_text(
        re.compile(
            rf"\[[AB]\] Week {week + 1}: a subsidy or regulation change of size 0\.30 hit \d+ alliances"
        )
    )
    feed.first.wait_for()
    assert feed.count() == 2  # the same event under charter A and under charter B, once each in the feed
    screenshot(page, tmp_path, "classroom-replay.png")

    # export the debrief and check the file
    with page.expect_download() as waiting:
        page.get_by_role("button", name="Export debrief").click()
    path = tmp_path / "debrief.zip"
    waiting.value.save_as(path)
    archive = zipfile.ZipFile(path)
    session = json.loads(archive.read("session.json"))
    assert session["week"] == week + 1
    assert session["setup"]["charter_b"] == ["governance=handshake", "governance.shared_kpis=true"]
    assert session["injections"] == [f"{week}:all:subsidy:0.3"]
    assert archive.read("command.txt").decode().startswith("alliance-sim-app replay --weeks")
    events = pd.read_csv(io.BytesIO(archive.read("events.csv")))
    injected = events[
        events["text"].str.contains(f"Week {week + 1}: a subsidy or regulation change of size 0.30")
    ]
    assert set(injected["charter"]) == {"A", "B"}
    series = pd.read_csv(io.BytesIO(archive.read("timeseries_B.csv")))
    assert series["week"].iloc[-1] == week + 1
    assert "## A against B" in archive.read("summary.md").decode()
    assert archive.read("figures/charts.png")[:4] == b"\x89PNG"

    # the command line the debrief names replays the session: the same tables, number for number
    command = shlex.split(archive.read("command.txt").decode())
    out = tmp_path / "replayed"
    done = subprocess.run(
        [str(APP), *command[1:-2], "--out", str(out)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    for name in ("events.csv", "timeseries_A.csv", "timeseries_B.csv", "alliances_A.csv", "alliances_B.csv"):
        assert (out / name).read_text() == archive.read(name).decode(), name


def test_the_app_opens_on_a_single_charter_too(page, tmp_path: Path) -> None:
    page.get_by_text("Side-by-side replay (charters A and B)").click()
    page.get_by_role("button", name="Reset", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('.network-B img').length === 0")
    assert len(image_sources(page, ".network-A")) == 1
    step_to(page, 40)
    page.get_by_text("Nothing has happened yet").wait_for(state="detached")
    screenshot(page, tmp_path, "classroom.png")

    # SolaraViz's second page: the charter editor, applied by a restart on the same alliances
    page.get_by_role("tab", name="Page 1").click()
    page.get_by_text("shared kpis").first.click()
    page.get_by_role("button", name="Apply and restart (changes pending)").click()
    page.get_by_role("tab", name="Page 0").click()
    page.get_by_text("Week 0 of 156").wait_for()
    page.get_by_role("tab", name="Page 1").click()
    page.get_by_role("button", name="Apply and restart", exact=True).wait_for()
    screenshot(page, tmp_path, "classroom-charters.png")
