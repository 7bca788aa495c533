"""Drive the classroom app from a real browser: serve it on loopback, open sessions, and time the
weeks as the class sees them. Used by ``experiments/classroom_speed.py`` and the browser tests;
it needs the ``dev`` extra (Playwright, psutil) and Debian's chromium.

A week is *visible* when the page's week counter and every network on it show that week: the
page has then stepped it and drawn it. :data:`WEEK_WATCHER` records the moment each week becomes
visible (``performance.now()`` in the page), so the time per week is measured between visible
week changes, the browser's redraw included.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
APP = Path(sys.executable).with_name("alliance-sim-app")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s*File \".*\", line \d+", re.MULTILINE)

WEEK_WATCHER = """
() => {
  window.__weeks = [];
  window.__lastWeek = -1;
  const check = () => {
    const counter = document.querySelector('.week-counter');
    if (!counter) return;
    const m = counter.textContent.match(/Week (\\d+)/);
    if (!m) return;
    const week = Number(m[1]);
    const networks = [...document.querySelectorAll('svg.network')];
    if (networks.some(s => Number(s.dataset.week) !== week)) return;
    if (week !== window.__lastWeek) {
      window.__lastWeek = week;
      window.__weeks.push([week, performance.now()]);
    }
  };
  new MutationObserver(check).observe(document.body,
    {subtree: true, childList: true, characterData: true, attributes: true});
  check();
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_mb(self) -> float:
        """The server's resident memory (with any child process), in MB."""
        import psutil

        root = psutil.Process(self.process.pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            with suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total / 1e6


@contextmanager
def serve(log: Path, keep: float = 1800.0, timeout: float = 180.0) -> Iterator[Server]:
    """``alliance-sim-app --port N --keep K`` on loopback, its output in ``log``."""
    port = free_port()
    handle = log.open("w")
    process = subprocess.Popen(
        [str(APP), "--port", str(port), "--keep", str(keep)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"alliance-sim-app did not start on {url}:\n{log.read_text()}")
            time.sleep(0.5)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        handle.close()


def week_times(weeks: Sequence[Sequence[float]]) -> np.ndarray:
    """Milliseconds per week between visible week changes (a change of k weeks counts k times
    its interval / k)."""
    out: list[float] = []
    for (w0, t0), (w1, t1) in itertools.pairwise(weeks):
        step = int(w1) - int(w0)
        if step > 0:
            out += [(t1 - t0) / step] * step
    return np.array(out)


def summary(ms: np.ndarray) -> dict[str, Any]:
    if len(ms) == 0:
        return {"weeks": 0, "median_ms": None, "p90_ms": None}
    return {
        "weeks": len(ms),
        "median_ms": round(float(np.median(ms)), 1),
        "p90_ms": round(float(np.percentile(ms, 90)), 1),
    }


async def open_page(browser: Any, url: str, width: int = 1920, height: int = 1080) -> Any:
    """A new browser session (its own cookies: its own classroom session) on the app."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    await page.goto(url, timeout=300_000)
    await page.wait_for_selector(".week-counter", timeout=300_000)
    return page


async def choose(page: Any, label: str, option: str) -> None:
    """Pick ``option`` in the select labelled ``label``."""
    await page.get_by_label(label).click(force=True)
    await page.locator(".v-menu__content .v-list-item", has_text=option).first.click()


async def set_fastest(page: Any) -> None:
    """No pause between weeks (Advanced): the loop then steps as fast as weeks are shown."""
    await page.locator("button.advanced").click()
    await choose(page, "Pause between weeks (ms)", "0")


async def timed_play(page: Any, seconds: float) -> np.ndarray:
    """Play for ``seconds`` and return the milliseconds per visible week."""
    await page.evaluate(WEEK_WATCHER)
    await page.locator("button.play").click()
    await page.wait_for_timeout(seconds * 1000)
    await pause(page)
    weeks = await page.evaluate("window.__weeks")
    return week_times(weeks[1:])  # from the first week played


async def pause(page: Any) -> None:
    """Pause, if still playing (a session stops by itself at its horizon)."""
    button = page.locator("button.pause")
    if await button.count():
        await button.click()


CLICK_AT = """
([selector, at]) => new Promise((resolve) => {
  const fire = () => {
    const button = document.querySelector(selector);
    if (button) button.click();
    resolve([Date.now(), button !== null]);
  };
  setTimeout(fire, Math.max(0, at - Date.now()));
})
"""


async def click_together(pages: Sequence[Any], selector: str, lead_ms: float = 10000.0) -> tuple[float, int]:
    """Click ``selector`` on every page at the same moment (each page's timer set for one time
    of the shared clock, ``lead_ms`` from now). Returns the spread of the moments the clicks
    fired (seconds) and how many pages had the button."""
    import asyncio

    at = time.time() * 1000.0 + lead_ms
    fired = await asyncio.gather(*(page.evaluate(CLICK_AT, [selector, at]) for page in pages))
    moments = [t for t, _ in fired]
    return (max(moments) - min(moments)) / 1000.0, sum(1 for _, found in fired if found)


async def week_of(page: Any) -> int:
    text = await page.locator(".week-counter").inner_text()
    match = re.search(r"Week (\d+)", text)
    return int(match.group(1)) if match else -1


async def page_tracebacks(page: Any) -> list[str]:
    text = await page.locator("body").inner_text()
    return TRACEBACK.findall(text)
