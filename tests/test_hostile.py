"""Hostile input and faults, one test per finding: user text escaped in every page the project
writes, studies that never share a folder, workers bounded and owned, damaged cells refused by
the report, YAML read with limits, a study file's ``hydra:`` block checked, work kept when the
output cannot be written, and named one-line errors where tracebacks were."""

from __future__ import annotations

import html.parser
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO_ROOT

SUBSIDY = REPO_ROOT / "examples" / "charters" / "renewable_subsidy.yaml"
SCRIPT = "<script>alert(1)</script><img src=x onerror=alert(2)>"
TEMPLATE = "{{ 7*7 }}{% raw %}"
MARKDOWN = "| [link](javascript:alert(3)) `x` *y*"
PAYLOAD = f"{SCRIPT}{TEMPLATE}{MARKDOWN}"


def hostile_charter_text() -> str:
    """The subsidy example with the payload in every free-text field."""
    data = yaml.safe_load(SUBSIDY.read_text())
    data["name"] = PAYLOAD
    data["description"] = PAYLOAD
    old = [p["name"] for p in data["partners"]]
    for i, partner in enumerate(data["partners"]):
        partner["name"] = f"{PAYLOAD} {i}"
    makers = data["checklist"]["decision_makers"]
    data["checklist"]["decision_makers"] = {f"{PAYLOAD} {old.index(k)}": [PAYLOAD] for k in makers}
    return yaml.safe_dump(data, sort_keys=False)


class Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stress report of a charter with the payload in every free-text field."""
    from test_stress import stress

    from sim.stress.charter import parse_charter
    from sim.stress.report import write_report

    out = tmp_path_factory.mktemp("hostile")
    write_report(stress(parse_charter(hostile_charter_text())), out, SUBSIDY)
    return out


@pytest.mark.slow
def test_script_injection_in_the_stress_report_is_shown_not_run(hostile_report: Path) -> None:
    tmp_path = hostile_report
    page = (tmp_path / "report.html").read_text()
    seen = Elements()
    seen.feed(page)
    assert "script" not in seen.tags and not any(a.startswith("on") for a in seen.attrs)
    assert seen.tags.count("img") == 6  # the six figures, no other
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "{{ 7*7 }}" in page and "49" not in page.split("<body>")[1].split("Seed")[0]
    md = (tmp_path / "report.md").read_text()
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;" in md and "\\| \\[link\\]" in md


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="chromium is installed by .ci/run")
def test_script_injection_fires_no_dialog_in_a_browser(hostile_report: Path) -> None:
    from playwright.sync_api import sync_playwright

    from sim.classroom.probe import CHROMIUM, CHROMIUM_ARGS

    tmp_path = hostile_report
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((tmp_path / "report.html").as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        title = page.title()
        browser.close()
    assert dialogs == []
    assert SCRIPT in title  # the name is shown as text


# ---------------------------------------------------------------- studies started together
def _study(cwd: Path, *overrides: str) -> subprocess.Popen[str]:
    from test_studies import child_env

    cmd = [sys.executable, "-m", "sim.cli", "-m", "+experiment=situation_integration"]
    cmd += ["n_alliances=30", "horizon_weeks=20", *overrides]
    return subprocess.Popen(
        cmd, cwd=cwd, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.slow
def test_two_studies_started_in_the_same_second_never_share_a_folder(tmp_path: Path) -> None:
    """Different and identical studies started together: each in its own folder, with only its
    own cells; one folder given twice is held by one study and refused to the other."""
    runs = {
        "calm": _study(tmp_path, "scenario=calm"),
        "volatile": _study(tmp_path, "scenario=volatile"),
        "calm again": _study(tmp_path, "scenario=calm"),
    }
    shared = tmp_path / "shared"
    given = [_study(tmp_path, "scenario=calm", f"hydra.sweep.dir={shared}"),
             _study(tmp_path, "scenario=volatile", f"hydra.sweep.dir={shared}")]  # fmt: skip
    done = {name: (*p.communicate(timeout=600), p.returncode) for name, p in runs.items()}
    for name, (_out, err, code) in done.items():
        assert code == 0, (name, err[-3000:])
    folders = sorted((tmp_path / "results" / "situation_integration").iterdir())
    folders = [f for f in folders if not f.name.startswith(".")]
    assert len(folders) == 3, folders
    seen = []
    for folder in folders:
        study = json.loads((folder / "study.json").read_text())
        scenario = [o for o in study["command_overrides"] if o.startswith("scenario=")]
        seen.append(scenario[0])
        cells = list(folder.glob("cells/*/cell.json"))
        assert len(cells) == study["cells"] == 2
        summary = pd.read_csv(folder / "summary.csv")
        assert summary["n"].max() == 30, summary  # never pooled with another study's alliances
    assert sorted(seen) == ["scenario=calm", "scenario=calm", "scenario=volatile"]
    codes = []
    for p in given:
        _out, err = p.communicate(timeout=600)
        codes.append(p.returncode)
        if p.returncode:
            assert "hydra.sweep.dir" in err and str(shared) in err and "Traceback" not in err, err
    assert sorted(codes) == [0, 2], codes
    study = json.loads((shared / "study.json").read_text())
    assert len(list(shared.glob("cells/*/cell.json"))) == study["cells"] == 2
