"""How long one week of the classroom takes in the browser: stepped on the server and redrawn
on the page, measured between visible week changes (``sim.classroom.probe``).

    python experiments/classroom_speed.py [--seconds 20] [--sessions 30] [--preset key_contact]

Serves the app on loopback (``alliance-sim-app``) and drives Debian's chromium (Playwright):

1. one charter (the Watch page), playing with no pause between weeks;
2. side by side (the Compare page: two networks and the chart), the same;
3. ``--sessions`` browser sessions (each its own cookies, so its own classroom session) on the
   Compare page, all playing at once at the app's default pace; the server's memory is sampled
   throughout.

For each it prints the median and the 90th percentile of the milliseconds per week; the goals
are a median of at most 100 ms and a 90th percentile of at most 200 ms side by side (one
session), and a server under 2 GB with the sessions playing. The last line is one JSON object;
the exit status is 1 if a goal is missed. ``--sessions 0`` skips the third part.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim.classroom.presets import PRESET_BY_KEY
from sim.classroom.probe import (
    CHROMIUM,
    CHROMIUM_ARGS,
    choose,
    click_together,
    open_page,
    pause,
    serve,
    set_fastest,
    summary,
    timed_play,
    week_of,
)

GOAL_MEDIAN_MS = 100.0
GOAL_P90_MS = 200.0
GOAL_MEMORY_MB = 2000.0


async def one_session(url: str, page_name: str, preset: str, seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = await open_page(browser, url)
        await choose(page, "Situation", PRESET_BY_KEY[preset].title)
        await page.get_by_role("button", name=page_name, exact=True).click()
        await set_fastest(page)
        await page.wait_for_timeout(500)
        ms = await timed_play(page, seconds)
        await browser.close()
    return summary(ms)


async def many_sessions(url: str, server: Any, n: int, seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        pages = await asyncio.gather(*(open_page(browser, url, 1280, 720) for _ in range(n)))
        await asyncio.gather(*(pg.get_by_role("button", name="Compare A and B").click() for pg in pages))
        start = await asyncio.gather(*(week_of(pg) for pg in pages))
        peak = server.rss_mb()
        await click_together(pages, "button.play")
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            await asyncio.sleep(1.0)
            peak = max(peak, server.rss_mb())
        end = await asyncio.gather(*(week_of(pg) for pg in pages))
        await asyncio.gather(*(pause(pg) for pg in pages))
        await browser.close()
    advanced = np.array(end) - np.array(start)
    return {
        "sessions": n,
        "seconds": seconds,
        "weeks_per_session_min": int(advanced.min()),
        "weeks_per_session_median": float(np.median(advanced)),
        "ms_per_week_median": round(1000.0 * seconds / max(1.0, float(np.median(advanced))), 1),
        "server_peak_mb": round(peak, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of play per measurement")
    parser.add_argument("--sessions", type=int, default=30, help="sessions playing at once (0: skip)")
    parser.add_argument("--preset", default="key_contact", choices=sorted(PRESET_BY_KEY))
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"classroom_speed: {CHROMIUM} is missing (Debian: apt-get install chromium)")
    if args.seconds <= 0 or args.sessions < 0:
        sys.exit("classroom_speed: --seconds must be above 0 and --sessions at least 0")
    out: dict[str, Any] = {"preset": args.preset}
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "server.log") as server:
        for key, page_name in (("one_charter", "Watch"), ("side_by_side", "Compare A and B")):
            result = asyncio.run(one_session(server.url, page_name, args.preset, args.seconds))
            out[key] = result
            print(
                f"{key}: {result['median_ms']} ms median, {result['p90_ms']} ms p90 per week ({result['weeks']} weeks)"
            )
        if args.sessions:
            # thirty pages in one local browser redraw late on two cores: a longer look
            result = asyncio.run(many_sessions(server.url, server, args.sessions, max(60.0, args.seconds)))
            out["many"] = result
            print(
                f"{args.sessions} sessions playing: {result['weeks_per_session_median']} weeks each in "
                f"{result['seconds']:g} s (at least {result['weeks_per_session_min']}); server peak "
                f"{result['server_peak_mb']} MB"
            )
    side = out["side_by_side"]
    met = (
        side["median_ms"] is not None
        and side["median_ms"] <= GOAL_MEDIAN_MS
        and side["p90_ms"] <= GOAL_P90_MS
    )
    if "many" in out:
        met = met and out["many"]["server_peak_mb"] < GOAL_MEMORY_MB
    out["goals_met"] = bool(met)
    print(json.dumps(out))
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
