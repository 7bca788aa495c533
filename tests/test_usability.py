"""What a new user, and a hostile tester, meet at the command line (issue: bad input and faults).

Each finding is one test: the message names the key or file, the value and
what is allowed; the exit is non-zero; nothing prints a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_studies import SHRINK, child_env, interruptible, output, run, study_command

import sim
from sim.cli.hydra_support import check_overrides
from sim.params import ConfigError
from sim.studies.files import check_study
from sim.validation import check_resources

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "sim.cli", *args], cwd)


def assert_clean_failure(proc: subprocess.CompletedProcess, *needles: str, code: int | None = None) -> None:
    assert proc.returncode != 0, output(proc)
    if code is not None:
        assert proc.returncode == code, output(proc)
    assert "Traceback" not in proc.stderr + proc.stdout, output(proc)
    for needle in needles:
        assert needle in proc.stderr, output(proc)


# ------------------------------------------------------------ overrides
@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("n_aliances=100", ["unknown key n_aliances", "did you mean n_alliances", "allowed keys are"]),
        (
            "governance.meeting_cadense=monthly",
            ["did you mean governance.meeting_cadence", "governance.shared_kpis"],
        ),
        ("governance.shared_kpis=1", ["governance.shared_kpis = 1: must be true or false"]),
        ("x" * 5000 + "=1", ["unknown key xxxx", "(5000 characters)"]),
        ("scenario.name=" + "s" * 300, ["scenario.name", "(300 characters)", "1 to 64"]),
        ("n_alliances=[1", ["override n_alliances=[1", "write key=value"]),
        ("+experiment=nope", ["+experiment = nope: studies are", "governance_vs_failure"]),
        ("ensemble=calibratd", ["ensemble = calibratd: allowed options are calibrated, none"]),
        ("ensemble.alliances_per_sett=3", ["did you mean ensemble.alliances_per_set", "allowed keys are"]),
        ("ensemble.alliances_per_set=0", ["ensemble.alliances_per_set = 0: must be an integer >= 1"]),
    ],
)
def test_bad_overrides_are_named_with_what_is_allowed(override, needles):
    with pytest.raises(ConfigError) as error:
        check_overrides([override])
    for needle in needles:
        assert needle in str(error.value)
    assert len(str(error.value)) < 2000  # a 5,000-character key is not echoed whole


def test_an_odd_market_degree_is_refused():
    """The small-world ring links degree/2 neighbours on each side: 7 used to behave as 6."""
    with pytest.raises(ConfigError, match=r"market.degree = 7: must be even"):
        sim.load_config(["market.degree=7"])
    assert sim.load_config(["market.degree=8"]).market.degree == 8


def test_load_config_raises_the_projects_error_never_hydras():
    for overrides in (["governance=nonesuch"], ["n_alliances=[1"], ["n_aliances=3"], ["+experiment=nope"]):
        with pytest.raises(ConfigError):
            sim.load_config(overrides)


def test_a_long_key_and_a_long_name_stop_the_command_cleanly(tmp_path):
    proc = cli("x" * 5000 + "=1", cwd=tmp_path)
    assert_clean_failure(proc, "unknown key", code=2)
    assert "File name too long" not in proc.stderr
    proc = cli("-m", "+experiment=governance_vs_failure", "scenario.name=" + "s" * 300, *SHRINK, cwd=tmp_path)
    assert_clean_failure(proc, "scenario.name", code=2)
    assert not list(tmp_path.rglob("cell.json"))


def test_memory_is_estimated_and_an_impossible_run_refused():
    huge = sim.load_config(["n_alliances=10000000", "horizon_weeks=1000"])
    with pytest.raises(ConfigError, match=r"needs about [\d.]+ GiB of memory, the machine has 8.0 GiB"):
        check_resources(huge, available=8 * 2**30)
    assert check_resources(sim.load_config(["n_alliances=100"]), available=8 * 2**30) is None
    note = check_resources(sim.load_config(["n_alliances=1000000"]), available=64 * 2**30)
    assert note is not None and "estimated run time" in note


def test_a_study_without_multirun_says_to_add_m(tmp_path):
    proc = cli("+experiment=governance_vs_failure", *SHRINK, cwd=tmp_path)
    assert_clean_failure(proc, "add -m", "alliance-sim -m +experiment=governance_vs_failure", code=2)
    assert not list(tmp_path.rglob("*.parquet"))


def test_help_explains_the_command_without_hydra_boilerplate(tmp_path):
    proc = cli("--help", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert proc.stdout.startswith("alliance-sim: simulate a cohort")
    assert "powered by Hydra" not in proc.stdout
    readme = (REPO / "README.md").read_text()
    groups = [line for line in proc.stdout.splitlines() if line.startswith(("governance:", "experiment:"))]
    for line in groups:  # every option and study the help lists, the README explains
        for name in line.split(":", 1)[1].split(","):
            name = name.strip()
            assert f"`{name}`" in readme or ("`situation_" in readme and name.startswith("situation_")), name
    report = run([sys.executable, "-m", "sim.analysis.study_report", "--help"], tmp_path)
    assert report.returncode == 0 and "``" not in report.stdout and ":func:" not in report.stdout


def test_a_run_folder_has_no_empty_log_and_no_progress_bar_in_a_pipe(tmp_path):
    out = tmp_path / "run"
    proc = cli("n_alliances=20", "horizon_weeks=5", f"hydra.run.dir={out}", cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert not list(out.glob("*.log"))
    assert "wk/s" not in proc.stderr and "it/s" not in proc.stderr, proc.stderr


# ------------------------------------------------------------ study files
BLOCK = {
    "name": "governance_vs_failure",
    "x": "governance",
    "hue": "alliance",
    "survival_by": "governance",
    "baseline": {"governance": "handshake"},
    "checks": [
        {"label": "l", "kind": "difference", "a": {"governance": "full"}, "b": {"governance": "handshake"}},
    ],
}
SWEEP = {"governance": "handshake,meetings,committee,full", "alliance": "complementary,ecosystem"}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"baseline": {"governence": "handshake"}}, "study.baseline.governence: not swept"),
        ({"baseline": {"governance": "handshak"}}, "study.baseline.governance = handshak"),
        ({"x": "governence"}, "study.x = governence: must be a swept key"),
        ({"baselin": {}}, "unknown key study.baselin: did you mean study.baseline?"),
        ({"checks": [{**BLOCK["checks"][0], "outcome": "faild"}]}, "outcome = faild: allowed outcomes"),
        ({"checks": [{"kind": "did", "treated": {"governance": "full"}}]}, "control is missing"),
        ({"checks": [{**BLOCK["checks"][0], "kind": "ratio"}]}, "kind = ratio: allowed kinds"),
        ({"name": "n" * 300}, "study.name"),
    ],
)
def test_every_part_of_a_study_block_is_checked(change, needle):
    block = {**BLOCK, **change}
    for check in block["checks"]:
        check.setdefault("expect", "negative")
    with pytest.raises(ConfigError) as error:
        check_study(block, SWEEP)
    assert needle in str(error.value)


def test_every_shipped_study_block_is_valid():
    from sim.studies.files import load_study_file
    from sim.validation import EXPERIMENT_DIR

    for path in sorted(EXPERIMENT_DIR.glob("*.yaml")):
        data = load_study_file(path)
        check_study(data.get("study"), data["hydra"]["sweeper"]["params"], path.name)


def test_a_typo_in_a_study_block_stops_before_any_cell_runs(tmp_path):
    root = tmp_path / "results" / "governance_vs_failure"
    proc = run(study_command("governance_vs_failure", root / "typo", "study.x=governence"), tmp_path)
    assert_clean_failure(proc, "study.x = governence", code=2)
    assert not list(tmp_path.rglob("cell.json")), "a cell ran"


# ------------------------------------------------------------ faults
def test_an_output_folder_under_a_file_fails_first_and_names_it(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    proc = cli("n_alliances=20", "horizon_weeks=5", f"hydra.run.dir={blocker}/run", cwd=tmp_path)
    assert_clean_failure(proc, f"cannot write results into {blocker}/run", "is a file", code=2)
    root = tmp_path / "results" / "governance_vs_failure"
    root.mkdir(parents=True)
    (root / ".cells").write_text("")  # the cell store cannot be made
    proc = run(study_command("governance_vs_failure", root / "run"), tmp_path)
    assert_clean_failure(proc, ".cells", code=2)
    assert not list(tmp_path.rglob("cell.json"))


def test_a_full_disk_keeps_the_computed_cohort_and_names_the_file(tmp_path, monkeypatch, capsys):
    import sim.cli

    original = sim.cli.write_results
    calls = []

    def full_disk(result, out_dir, extra=None):
        calls.append(out_dir)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "alliances.parquet"))
        return original(result, out_dir, extra)

    monkeypatch.setattr(sim.cli, "write_results", full_disk)
    result = sim.run_cohort(sim.load_config(["n_alliances=10", "horizon_weeks=5"]))
    with pytest.raises(SystemExit) as stop:
        sim.cli.save_results(result, tmp_path / "run", {})
    assert stop.value.code == 1
    message = capsys.readouterr().err
    assert f"cannot write {tmp_path / 'run' / 'alliances.parquet'}: No space left on device" in message
    kept = calls[1]
    assert str(kept) in message
    pd.testing.assert_frame_equal(pd.read_parquet(kept / "alliances.parquet"), result.alliances)


def test_ctrl_c_stops_with_one_line_and_no_traceback(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim.cli",
            "engine=mesa",
            "n_alliances=3000",
            f"hydra.run.dir={tmp_path}/r",
        ],
        cwd=tmp_path,
        env=child_env(),
        preexec_fn=interruptible,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "r" / ".hydra").is_dir() and time.monotonic() < deadline:  # the run began
        time.sleep(0.1)
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    assert "interrupted" in err


def test_a_report_on_an_interrupted_study_names_the_missing_cells(tmp_path):
    from sim.analysis.study_report import build_report

    folder = tmp_path / "results" / "s" / "run"
    cell = folder / "cells" / "governance=full"
    cell.mkdir(parents=True)
    store = tmp_path / "results" / "s" / ".cells" / "h"
    store.mkdir(parents=True)
    result = sim.run_cohort(sim.load_config(["n_alliances=10", "horizon_weeks=5"]))
    result.alliances.to_parquet(store / "alliances.parquet")
    from sim.studies.store import DONE_FILE, file_digest

    digest = {"alliances.parquet": file_digest(store / "alliances.parquet")}  # as the runner records it
    (store / DONE_FILE).write_text(json.dumps({"config_hash": "h", "files": digest}))
    record = {"overrides": {"governance": "full"}, "config_hash": "h", "status": "computed", "seconds": 1}
    (cell / "cell.json").write_text(json.dumps({**record, "results": os.path.relpath(store, folder)}))
    (folder / "study.json").write_text(
        json.dumps(
            {
                "name": "s",
                "cells": 8,
                "dims": ["governance"],
                "horizon_weeks": 5,
                "baseline": {"governance": "handshake"},
            }
        )
    )
    text = build_report(folder)
    assert "1 cells finished, 0 failed, 7 of 8 missing" in text
    assert "nan pts" not in text and "nan%" not in text


def test_setup_is_a_quick_no_op_when_nothing_changed():
    """Already fixed on main (a34e573): a second run of scripts/setup.sh reinstalls nothing, so
    it leaves the install stamp as it was."""
    stamp = REPO / ".venv" / ".setup-stamp"
    if not stamp.is_file():
        pytest.skip("no install stamp: the environment was not made by scripts/setup.sh")
    before = (stamp.stat().st_mtime_ns, stamp.read_text())
    proc = subprocess.run(["bash", "scripts/setup.sh"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert (stamp.stat().st_mtime_ns, stamp.read_text()) == before, "setup.sh reinstalled"
    assert proc.stdout == "" and proc.stderr == ""


def _children(pid: int) -> set[int]:
    """Every descendant of a process (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status is left


@pytest.mark.slow
def test_killing_a_parallel_study_leaves_no_worker_running(tmp_path):
    sweep_dir = tmp_path / "results" / "governance_vs_failure" / "killed"
    command = study_command("governance_vs_failure", sweep_dir, "hydra/launcher=local_parallel", shrink=False)
    proc = subprocess.Popen(
        [*command, "n_alliances=4000"],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and not list(sweep_dir.glob("cells/*/cell.json")):
        workers = _children(proc.pid) or workers
        time.sleep(0.1)
    workers = _children(proc.pid) or workers
    assert workers, "no worker process started"
    proc.kill()
    proc.wait()
    time.sleep(5)  # a worker notices within a second
    alive = {pid for pid in workers if _running(pid)}
    assert not alive, f"workers still running after the study was killed: {alive}"


def test_a_cell_folder_name_stays_within_the_file_systems_limit():
    from sim.cli.hydra_support import cell_dir_name

    short = "governance=full,alliance=ecosystem"
    assert cell_dir_name(short) == short
    long_a = ",".join(f"dynamics.w{i}=0.{i}" for i in range(40))
    long_b = long_a.replace("0.39", "0.38")
    assert len(cell_dir_name(long_a).encode()) <= 200
    assert cell_dir_name(long_a) != cell_dir_name(long_b)  # the hash keeps cells apart


@pytest.mark.slow
def test_a_sweep_without_a_study_file_is_checked_and_reported(tmp_path):
    """The callback used to raise on a sweep without a study block; Hydra only warned, and the
    cells ran unchecked and unreported."""
    sweep_dir = tmp_path / "results" / "plain" / "run"
    proc = cli(
        "-m",
        "n_alliances=5",
        "horizon_weeks=2",
        "governance=full,handshake",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, output(proc)
    assert "UserWarning" not in proc.stderr, proc.stderr
    assert (sweep_dir / "study.json").is_file() and (sweep_dir / "summary.md").is_file()
    bad = cli(
        "-m", "n_alliances=5", "governance.shared_kpis=1,0", f"hydra.sweep.dir={sweep_dir}2", cwd=tmp_path
    )
    assert_clean_failure(bad, "governance.shared_kpis = 1: must be true or false", code=2)


def test_an_interrupt_caught_after_a_string_evaluation_still_exits_130(tmp_path):
    """A Ctrl-C that lands while a dataclass or namedtuple is being built (code compiled from a
    string) must not turn the exit status 130 into a death by SIGINT (CPython's record of it)."""
    (tmp_path / "interrupted_here.py").write_text(
        "from sim.cli import fail_interrupted\n"
        "try:\n"
        "    exec('raise KeyboardInterrupt', {})\n"
        "except KeyboardInterrupt:\n"
        "    fail_interrupted('interrupted')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "interrupted_here"],
        cwd=tmp_path,
        env=child_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 130, (done.returncode, done.stderr)
    assert done.stderr.strip() == "alliance-sim: error: interrupted"
