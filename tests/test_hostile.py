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


# ---------------------------------------------------------------- a killed stress test
def _session_processes(session: int) -> list[int]:
    """Live processes of a session (the stress test, its workers, their trackers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["SIGTERM", "SIGKILL"])
def test_a_killed_stress_test_leaves_no_process_behind(tmp_path: Path, kill: str) -> None:
    """SIGTERM and SIGKILL at random moments (seeded) of a stress test with two workers: after
    5 seconds nothing of it runs; SIGTERM ends with status 143, one line, and the runs finished."""
    import random
    import signal
    import time

    from test_studies import child_env

    moments = random.Random(24 if kill == "SIGTERM" else 42).sample([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 2)
    for moment in moments:
        out = tmp_path / f"at-{moment}"
        cmd = [
            sys.executable,
            "-m",
            "sim.stress.cli",
            str(SUBSIDY),
            "--quick",
            "--workers",
            "2",
            "--no-progress",
            "--out",
            str(out),
        ]
        proc = subprocess.Popen(
            cmd,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(moment)
        proc.send_signal(getattr(signal, kill))
        _, err = proc.communicate(timeout=30)
        time.sleep(5.0)
        assert _session_processes(proc.pid) == [], (kill, moment)
        if kill == "SIGTERM" and proc.returncode != 0:  # 0: it finished before the signal
            assert proc.returncode == 143, (moment, err)
            assert "Traceback" not in err and err.strip().startswith("alliance-stress: error: interrupted"), (
                err
            )
            if "are kept in" in err:
                assert (out / "runs-interrupted.csv").stat().st_size > 0


# ---------------------------------------------------------------- the stress test's workers and folder
def test_stress_workers_are_bounded_by_the_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sim.stress.cli import main
    from sim.validation import usable_cores

    out = tmp_path / "report"
    assert main([str(SUBSIDY), "--quick", "--workers", "100000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert (
        f"--workers = 100000: at most {usable_cores()}" in err or "--workers = 100000: at most 1 " in err
    ), err
    assert not out.exists()


@pytest.mark.parametrize("case", ["a file", "read-only", "empty"])
def test_stress_out_that_cannot_take_the_report_is_refused_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    from sim.stress.cli import main

    if case == "a file":
        out = tmp_path / "report"
        out.write_text("not a folder")
    elif case == "read-only":
        out = Path("/proc/alliance-report")  # no user, not even root, creates files there
    else:
        out = Path("")
    assert main([str(SUBSIDY), "--quick", "--no-progress", "--out", str(out) if case != "empty" else ""]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert ("--out = ''" in err) if case == "empty" else (f"cannot write results into {out}" in err), err


def test_a_stress_report_that_cannot_be_written_is_kept_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the report is written: the report goes to a temporary folder whose
    name the one-line error gives, exit 1."""
    import errno

    from sim.stress import report
    from sim.stress.cli import main

    out = tmp_path / "report"
    real = report.write_report

    def full_disk(result, folder, charter_path=None):  # type: ignore[no-untyped-def]
        if folder == out:
            raise OSError(errno.ENOSPC, "No space left on device", str(out / "report.html"))
        return real(result, folder, charter_path)

    monkeypatch.setattr(report, "write_report", full_disk)
    assert main([str(SUBSIDY), "--quick", "--no-progress", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "the computed results are kept in " in err, err
    kept = Path(err.split("kept in ")[1].split()[0])
    assert (kept / "report.html").stat().st_size > 0 and (kept / "report.json").exists()
