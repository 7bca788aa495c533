"""A whole class on one server: thirty browser sessions (Playwright driving Debian's chromium,
loopback only) open the app, then play, inject an event and press Reset, each action on all
thirty within the same second. No page and no line of the server's log may show a traceback,
every session's week counter must advance, and once every tab is closed the server's memory
must come back to within 20% of what it held with one idle session.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from sim.classroom.probe import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TRACEBACK,
    click_together,
    open_page,
    page_tracebacks,
    serve,
    week_of,
)

pytestmark = [pytest.mark.slow, pytest.mark.alone]

SESSIONS = 30
KEEP_SECONDS = 3.0
MEMORY_TOLERANCE = 0.20


async def wait_for_weeks(pages, least: int, timeout: float) -> list[int]:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        weeks = await asyncio.gather(*(week_of(p) for p in pages))
        if min(weeks) >= least or time.monotonic() > deadline:
            return weeks
        await asyncio.sleep(1.0)


async def class_session(url: str, server) -> dict:  # type: ignore[no-untyped-def]
    from playwright.async_api import async_playwright

    out: dict = {}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # one session that has done what the class will do (play, inject, reset), then idles
        first = await open_page(browser, url, 1280, 720)
        await first.locator("button.play").click()
        await first.wait_for_timeout(2000)
        await first.get_by_text("Inject an event (into every charter)").click()
        await first.locator("button.inject-all").click()
        await first.wait_for_timeout(1000)
        await first.locator("button.reset").click()
        await first.wait_for_timeout(3000)
        out["one_idle_mb"] = server.rss_mb()
        await first.context.close()

        pages = await asyncio.gather(*(open_page(browser, url, 1280, 720) for _ in range(SESSIONS)))
        out["peak_mb"] = server.rss_mb()
        out["play_s"], out["play_found"] = await click_together(pages, "button.play")
        out["weeks_playing"] = await wait_for_weeks(pages, 2, 180.0)
        out["peak_mb"] = max(out["peak_mb"], server.rss_mb())
        for page in pages:  # open the injector's fold (not timed)
            await page.get_by_text("Inject an event (into every charter)").click(timeout=120_000)
            await page.locator("button.inject-all").wait_for(timeout=120_000)
        out["inject_s"], out["inject_found"] = await click_together(pages, "button.inject-all")
        await asyncio.sleep(2.0)
        out["peak_mb"] = max(out["peak_mb"], server.rss_mb())
        out["reset_s"], out["reset_found"] = await click_together(pages, "button.reset")
        started = time.monotonic()
        deadline = started + 240.0
        while True:  # the reset shows once each session's kernel has taken the click
            out["weeks_after_reset"] = await asyncio.gather(*(week_of(p) for p in pages))
            if max(out["weeks_after_reset"]) == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        out["reset_shown_s"] = time.monotonic() - started
        out["tracebacks"] = sum(len(t) for t in await asyncio.gather(*(page_tracebacks(p) for p in pages)))
        out["console_errors"] = [e for p in pages for e in p.console_errors]
        await browser.close()
    return out


def test_a_class_of_thirty_plays_injects_and_resets_at_once(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with serve(tmp_path / "server.log", keep=KEEP_SECONDS) as server:
        out = asyncio.run(class_session(server.url, server))
        # every tab closed: the sessions are freed after --keep, their memory handed back
        deadline = time.monotonic() + 120.0
        while time.monotonic() < deadline and server.log_text().count("freed after") < SESSIONS + 1:
            time.sleep(1.0)
        time.sleep(2.0)
        after_mb = server.rss_mb()
        log = server.log_text()
    print(
        f"one idle session {out['one_idle_mb']:.0f} MB, peak {out['peak_mb']:.0f} MB, after closing {after_mb:.0f} MB; "
        f"clicks spread over {out['play_s']:.3f} s (play), {out['inject_s']:.3f} s (inject), "
        f"{out['reset_s']:.3f} s (reset) for {SESSIONS}; every reset shown {out['reset_shown_s']:.1f} s after the clicks"
    )
    assert out["play_s"] < 1.0 and out["inject_s"] < 1.0 and out["reset_s"] < 1.0
    assert out["play_found"] == out["inject_found"] == out["reset_found"] == SESSIONS
    assert min(out["weeks_playing"]) >= 2, out["weeks_playing"]
    assert out["weeks_after_reset"] == [0] * SESSIONS, out["weeks_after_reset"]
    assert out["tracebacks"] == 0
    assert not TRACEBACK.search(log), log[-4000:]
    assert not re.search(r"\bERROR\b|\bException\b", log), log[-4000:]
    assert out["console_errors"] == []
    assert log.count("freed after") == SESSIONS + 1, log[-4000:]
    assert out["peak_mb"] < 2000.0
    assert after_mb <= (1.0 + MEMORY_TOLERANCE) * out["one_idle_mb"], (after_mb, out["one_idle_mb"])
