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
    assert seen.tags.count("img") == 8  # the eight figures, no other
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
    # a folder given on the command line keeps its cell store inside, and its provenance names the study
    assert (shared / ".cells").is_dir() and not (tmp_path / ".cells").exists()
    assert json.loads((shared / "provenance.json").read_text())["study"] == "situation_integration"


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
@pytest.mark.parametrize("kill", ["SIGTERM", "SIGKILL", "SIGINT"])
def test_a_killed_stress_test_leaves_no_process_behind(tmp_path: Path, kill: str) -> None:
    """SIGTERM, SIGKILL and Ctrl-C at random moments (seeded) of a stress test with two workers:
    after 5 seconds nothing of it runs; SIGTERM and Ctrl-C end with status 143 or 130, one line,
    and the runs finished so far kept."""
    import random
    import signal
    import time

    from test_studies import child_env, interruptible

    moments = random.Random(kill).sample([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 1)
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
            preexec_fn=interruptible,
        )
        time.sleep(moment)
        proc.send_signal(getattr(signal, kill))
        _, err = proc.communicate(timeout=30)
        time.sleep(5.0)
        assert _session_processes(proc.pid) == [], (kill, moment)
        if kill != "SIGKILL" and proc.returncode != 0:  # 0: it finished before the signal
            assert proc.returncode == (143 if kill == "SIGTERM" else 130), (moment, err)
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


# ---------------------------------------------------------------- the report command on a damaged study
@pytest.fixture(scope="module")
def finished_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-cell study: results/situation_integration/run and its cell store."""
    root = tmp_path_factory.mktemp("study")
    proc = _study(root, "hydra.sweep.dir=results/situation_integration/run")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    return root / "results"


def _damaged_copy(finished: Path, tmp_path: Path, damage: str) -> Path:
    import shutil

    results = tmp_path / "results"
    shutil.copytree(finished, results)
    run = results / "situation_integration" / "run"
    cells = sorted(run.glob("cells/*/cell.json"))
    stores = [run / json.loads(c.read_text())["results"] for c in cells]
    if damage == "swapped parquet":
        shutil.copy(stores[1] / "alliances.parquet", stores[0] / "alliances.parquet")
    elif damage == "truncated parquet":
        data = (stores[0] / "alliances.parquet").read_bytes()
        (stores[0] / "alliances.parquet").write_bytes(data[: len(data) // 2])
    elif damage == "garbled cell.json":
        cells[0].write_text('{"overrides": {"governance": ')
    elif damage == "study.json a list":
        (run / "study.json").write_text("[1, 2]")
    elif damage == "moved results":
        (run.parent / ".cells").rename(run.parent / ".cells-moved")
    return run


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    ["swapped parquet", "truncated parquet", "garbled cell.json", "study.json a list", "moved results"],
)
def test_the_report_command_refuses_a_damaged_study_by_name(
    finished_study: Path, tmp_path: Path, damage: str
) -> None:
    from test_studies import child_env

    run = _damaged_copy(finished_study, tmp_path, damage)
    before = (run / "summary.csv").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "sim.analysis.study_report", str(run)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, (damage, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("alliance-sim-report: error: "), done.stderr
    named = {"garbled cell.json": "cell.json", "study.json a list": "study.json"}.get(damage, "checksums")
    assert named in done.stderr, done.stderr
    assert (run / "summary.csv").read_bytes() == before  # nothing rewritten from damaged cells


# ---------------------------------------------------------------- YAML read with limits
LAUGHS = "".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)]
)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (LAUGHS + "name: *i\n", "alias"),
        ("name: x\nname: y\n", "duplicate key 'name' (first given on line 1)"),
        ("name: " + "[" * 60 + "]" * 60 + "\n", "nested deeper than 32 levels"),
        ("name: " + "x" * 1_100_000 + "\n", "at most 1,000,000"),
    ],
    ids=["billion laughs", "duplicate key", "deep nesting", "huge"],
)
def test_yaml_bombs_and_duplicate_keys_in_a_charter_are_refused_at_once(text: str, said: str) -> None:
    import time

    from sim.stress.charter import CharterError, parse_charter

    started = time.perf_counter()
    with pytest.raises(CharterError) as refused:
        parse_charter(text)
    assert time.perf_counter() - started < 5.0
    message = str(refused.value)
    assert said in message and len(message) < 400, message[:600]


STUDY = """\
study:
  name: hostile
  title: t
  x: governance
  baseline: {governance: handshake}
n_alliances: 20
hydra:
  sweeper:
    params:
      governance: handshake,full
"""


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            STUDY + "  callbacks:\n    evil:\n      _target_: builtins.open\n      _args_: [/tmp/x, w]\n",
            "hydra.callbacks",
        ),
        (STUDY + "  sweep:\n    dir: results/../../elsewhere\n", "inside results/"),
        (STUDY + "  sweep:\n    dir: /tmp/elsewhere\n", "inside results/"),
        (STUDY + "  sweep:\n    subdir: /tmp/one\n", "differs from cell to cell"),
        (STUDY + "  sweep:\n    subdir: same\n", "differs from cell to cell"),
        (STUDY.replace("    params:", "    _target_: x\n    params:"), "hydra.sweeper._target_"),
        (STUDY + "  job:\n    chdir: true\n", "hydra.job"),
        (STUDY + "  launcher:\n    n_jobs: 100000\n", "hydra.launcher.n_jobs = 100000"),
    ],
    ids=[
        "callback",
        "dotdot dir",
        "absolute dir",
        "absolute subdir",
        "shared subdir",
        "target",
        "job",
        "jobs",
    ],
)
def test_a_study_files_hydra_block_is_limited_to_its_sweep_and_folders(
    tmp_path: Path, text: str, said: str
) -> None:
    from sim.params import ConfigError
    from sim.studies.files import check_study_file

    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        check_study_file(path)
    assert str(path) in str(refused.value) and said in str(refused.value), str(refused.value)


def test_a_yaml_bomb_under_hydra_in_a_study_file_is_refused_at_once(tmp_path: Path) -> None:
    from sim.params import ConfigError
    from sim.studies.files import check_study_file

    path = tmp_path / "bomb.yaml"
    path.write_text(LAUGHS + STUDY.replace("  sweeper:", "  sweeper: *i\n  other:"))
    with pytest.raises(ConfigError, match="alias"):
        check_study_file(path)


def test_two_studies_in_one_experiment_override_are_refused(tmp_path: Path) -> None:
    from test_studies import child_env

    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "-m", "+experiment=situation_integration,situation_measurement"],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "one study at a time" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------- named one-line errors where tracebacks were
def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    from test_studies import child_env

    return subprocess.run(
        [sys.executable, "-m", "sim.cli", *args],
        cwd=tmp_path,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        (["n_alliances=2500"], {"ALLIANCE_SIM_THREADS": "abc"}, "ALLIANCE_SIM_THREADS = 'abc'"),
        (["n_alliances=2500"], {"ALLIANCE_SIM_THREADS": "1.5"}, "ALLIANCE_SIM_THREADS = '1.5'"),
        (["study.name=x", "n_alliances=10"], {}, "study.name: the study block exists only in a study"),
        (["n_alliances=10", "hydra.run.dir="], {}, "hydra.run.dir = ''"),
        (
            ["-m", "+experiment=situation_integration", "hydra/launcher=ray_cluster"],
            {"RAY_ADDRESS": "127.0.0.1:9"},
            "no Ray cluster answers at 127.0.0.1:9",
        ),
        (
            [
                "-m",
                "+experiment=situation_integration",
                "hydra/launcher=local_parallel",
                "hydra.launcher.n_jobs=100000",
            ],
            {},
            "hydra.launcher.n_jobs = '100000': must be -1 (every core) or from 1 to",
        ),
    ],
    ids=[
        "threads abc",
        "threads 1.5",
        "study.name on a run",
        "empty run dir",
        "ray without a cluster",
        "jobs",
    ],
)
def test_the_command_names_what_used_to_raise_a_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], said: str
) -> None:
    done = _cli(tmp_path, *args, **env)
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert said in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "results").exists()


def test_ray_without_an_address_or_a_local_cluster_is_named(tmp_path: Path) -> None:
    done = _cli(
        tmp_path,
        "-m",
        "+experiment=situation_integration",
        "hydra/launcher=ray_cluster",
        RAY_TMPDIR=str(tmp_path),
        RAY_ADDRESS="",
    )
    assert done.returncode == 2 and "RAY_ADDRESS is not set and no Ray cluster runs here" in done.stderr


def test_a_run_that_stops_on_a_bad_setting_leaves_no_folder(tmp_path: Path) -> None:
    done = _cli(
        tmp_path, "ensemble=calibrated", f"ensemble.file={tmp_path / 'missing.csv'}", "n_alliances=10"
    )
    assert done.returncode == 2 and "does not exist" in done.stderr
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--out", "FILE"], "is a file, not a folder"),
        (["--out", ""], "--out = ''"),
        (["--out", "OUT", "--inject", "999:all:subsidy:0.3"], "week 999 is not replayed"),
    ],
    ids=["out is a file", "empty out", "injection beyond the weeks"],
)
def test_replay_names_what_it_cannot_do(tmp_path: Path, args: list[str], said: str) -> None:
    from test_studies import child_env

    (tmp_path / "FILE").write_text("x")
    args = [str(tmp_path / a) if a in ("FILE", "OUT") else a for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "sim.classroom.cli", "replay", "--weeks", "3", *args],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


def test_library_calls_with_the_wrong_config_say_what_to_pass() -> None:
    from sim.config import load_config
    from sim.engines.mesa_model import AllianceModel
    from sim.params import ConfigError
    from sim.runner import run_cohort

    for bad in (None, {"n_alliances": 3}):
        with pytest.raises(TypeError, match=r"run_cohort: config = .*must be a SimulationConfig"):
            run_cohort(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="AllianceModel: config = str 'full'"):
        AllianceModel(config="full")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="override 123: must be text"):
        load_config([123])  # type: ignore[list-item]


def test_batch_run_with_a_seed_and_another_rng_is_refused() -> None:
    import mesa

    from sim.engines.mesa_model import AllianceModel
    from sim.params import ConfigError

    with pytest.raises(ConfigError, match="seed = 5 and rng = 0: two seeds for one run"):
        mesa.batch_run(
            AllianceModel,
            parameters={"seed": [5], "n_alliances": [4], "horizon_weeks": [3]},
            rng=[0],
            max_steps=2,
            display_progress=False,
        )
    rows = mesa.batch_run(
        AllianceModel,
        parameters={"n_alliances": [4], "horizon_weeks": [3]},
        rng=[5],
        max_steps=2,
        display_progress=False,
    )
    assert {r["seed"] for r in rows if "seed" in r} <= {5}


def test_a_cell_whose_write_fails_leaves_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from conftest import small_config

    from sim.studies import store as cells

    def full_disk(result, folder, extra):  # type: ignore[no-untyped-def]
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "alliances.parquet").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cells, "write_results", full_disk)
    with pytest.raises(OSError):
        cells.compute_cell(
            small_config(n_alliances=3, horizon_weeks=5), None, tmp_path / ".cells" / "k", "k", {}
        )
    assert not (tmp_path / ".cells").exists() or list((tmp_path / ".cells").iterdir()) == []


def test_the_app_warns_when_served_beyond_loopback() -> None:
    from sim.classroom.cli import host_warning

    assert host_warning("127.0.0.1") is None
    warning = host_warning("0.0.0.0")
    assert warning is not None and "no login" in warning


def test_a_duplicate_key_in_a_study_file_is_named_with_its_line(tmp_path: Path) -> None:
    from sim.params import ConfigError
    from sim.studies.files import check_study_file

    path = tmp_path / "twice.yaml"
    path.write_text(STUDY.replace("n_alliances: 20\n", "n_alliances: 20\nn_alliances: 30\n"))
    with pytest.raises(ConfigError, match=r"duplicate key 'n_alliances' \(first given on line 6\)"):
        check_study_file(path)


@pytest.mark.parametrize(
    "command",
    [
        [
            "-m",
            "sim.stress.cli",
            str(REPO_ROOT / "examples" / "charters" / "event_cohost.yaml"),
            "--quick",
            "--no-progress",
        ],
        ["-m", "sim.cli", "n_alliances=50"],
    ],
    ids=["alliance-stress", "alliance-sim"],
)
def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path, command: list[str]) -> None:
    """``alliance-stress charter.yaml | head -1``: the reader closes the pipe before the command
    prints; the work goes on, is written, and the command ends as usual, with no traceback."""
    from test_studies import child_env

    out = (
        ["--out", str(tmp_path / "report")]
        if "sim.stress.cli" in command
        else [f"hydra.run.dir={tmp_path}/run"]
    )
    proc = subprocess.Popen(
        [sys.executable, *command, *out],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before anything is printed
    err = proc.stderr.read()
    proc.wait(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "cluster" not in err, err
    written = (
        tmp_path / "report" / "report.json"
        if "sim.stress.cli" in command
        else tmp_path / "run" / "summary.json"
    )
    assert written.stat().st_size > 0


def test_a_cell_record_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A study killed while it writes a cell's record leaves the earlier record (or none), never
    a part of the new one: the record is written beside it and renamed over it. Here the rename
    fails, as if the process had died just before it."""
    import os

    from sim.folders import write_whole

    record = tmp_path / "cell.json"
    write_whole(record, '{"status": "computed"}\n')
    assert json.loads(record.read_text()) == {"status": "computed"}

    def killed(*args, **kwargs):
        raise OSError("killed before the rename")

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(OSError, match="killed before the rename"):
        write_whole(record, '{"status": "cached", "seconds": 0.1}\n')
    assert json.loads(record.read_text()) == {"status": "computed"}
    assert [p.name for p in tmp_path.iterdir()] == ["cell.json"]  # no part left behind
    monkeypatch.undo()
    write_whole(tmp_path / "failure.json", "{}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.json", "failure.json"]
