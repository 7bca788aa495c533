"""The HTML report opened from disk in a real headless browser (Debian's chromium, Playwright):
every figure loads and the page logs no console error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def open_report(html: Path, screenshot: Path | None = None) -> dict:
    """Open ``html`` via file://; return the figures' natural widths and the console errors."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.resolve().as_uri(), wait_until="load")
        widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.id, i.complete, i.naturalWidth])")
        headline = page.inner_text(".headline")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return {"images": widths, "errors": errors, "headline": headline}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is installed by .ci/run")
def test_report_shows_every_figure_without_console_errors(tmp_path: Path) -> None:
    from test_stress import SUBSIDY, stress

    from sim.stress.charter import parse_charter
    from sim.stress.report import write_report

    write_report(stress(parse_charter(SUBSIDY.read_text())), tmp_path, SUBSIDY)
    seen = open_report(tmp_path / "report.html", tmp_path / "report.png")
    ids = [i[0] for i in seen["images"]]
    assert ids == ["fig-outcomes", "fig-survival", "fig-tornado", "fig-clauses", "fig-causes", "fig-warning"]
    for name, complete, width in seen["images"]:
        assert complete and width > 0, f"figure {name} did not load"
    assert seen["errors"] == []
    assert "fail within three years" in seen["headline"]
    assert (tmp_path / "report.png").stat().st_size > 10_000


if __name__ == "__main__":  # python tests/test_stress_browser.py REPORT.html SCREENSHOT.png
    import sys

    print(open_report(Path(sys.argv[1]), Path(sys.argv[2])))
