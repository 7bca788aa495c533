"""The HTML report opened from disk in a real headless browser (Debian's chromium, Playwright):
every figure loads, the page logs no console error, and it prints to PDF with no figure cut."""

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
    assert ids == [
        "fig-outcomes", "fig-survival", "fig-frontier", "fig-clauses", "fig-inputs", "fig-tornado",
        "fig-causes", "fig-warning",
    ]  # fmt: skip
    for name, complete, width in seen["images"]:
        assert complete and width > 0, f"figure {name} did not load"
    assert seen["errors"] == []
    assert "fail within three years" in seen["headline"]
    assert (tmp_path / "report.png").stat().st_size > 10_000


A4_CONTENT_PX = round((210 - 2 * 15) / 25.4 * 96)
"""The width an A4 page printed with 15 mm margins leaves, in CSS pixels."""


def print_report(html: Path, pdf: Path) -> dict:
    """Print ``html`` to ``pdf`` as chromium does (A4, 15 mm margins); return how each figure
    lays out on the printed page and how the PDF's pages hold the figures."""
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": A4_CONTENT_PX, "height": 1000})
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.emulate_media(media="print")
        layout = page.eval_on_selector_all(
            "img",
            """imgs => imgs.map(i => {
                const box = i.getBoundingClientRect();
                return {id: i.id, right: box.right, width: box.width, height: box.height,
                        breakInside: getComputedStyle(i).breakInside};
            })""",
        )
        body = page.evaluate("document.body.getBoundingClientRect().right")
        page.pdf(path=str(pdf), format="A4", margin={k: "15mm" for k in ("top", "bottom", "left", "right")})
        browser.close()
    reader = PdfReader(str(pdf))
    return {
        "layout": layout,
        "body_right": body,
        "pages": len(reader.pages),
        "images_per_page": [len(page.images) for page in reader.pages],
        "text": "\n".join(page.extract_text() or "" for page in reader.pages),
    }


@pytest.mark.slow
@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="chromium is installed by .ci/run")
def test_report_prints_to_pdf_with_no_figure_cut(tmp_path: Path) -> None:
    """Chromium's print to PDF: every figure fits the page's width and keeps whole on one page
    (each appears on exactly one page), and the recommendation is in the PDF's text."""
    import json

    from test_stress import SUBSIDY, stress

    from sim.stress.charter import parse_charter
    from sim.stress.report import write_report

    write_report(stress(parse_charter(SUBSIDY.read_text())), tmp_path, SUBSIDY)
    printed = print_report(tmp_path / "report.html", tmp_path / "report.pdf")
    figures = printed["layout"]
    assert len(figures) == 8
    for figure in figures:
        assert figure["width"] > 200, figure
        assert figure["right"] <= printed["body_right"] + 0.5 <= A4_CONTENT_PX + 0.5, figure
        assert figure["breakInside"] == "avoid", figure
    assert sum(printed["images_per_page"]) == len(figures), printed["images_per_page"]
    assert printed["pages"] >= 3
    report = json.loads((tmp_path / "report.json").read_text())
    first_words = " ".join(report["recommendation"]["sentence"].split()[:6])
    assert first_words in " ".join(printed["text"].split()), "the recommendation is printed"


if __name__ == "__main__":  # python tests/test_stress_browser.py REPORT.html SCREENSHOT.png
    import sys

    print(open_report(Path(sys.argv[1]), Path(sys.argv[2])))
