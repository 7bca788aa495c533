"""End-to-end tests of studies: ``alliance-sim -m +experiment=<name>`` and ``alliance-sim-report``.

A study is a Hydra multirun over the cells listed in ``experiments/<name>.yaml``.
These tests run the real command line, as a subprocess started in pytest's
``tmp_path`` (or in-process where a function has to be monkeypatched), with the
cohorts shrunk to a few dozen alliances over a few dozen weeks so that a whole
study takes seconds. Every folder is chosen with ``hydra.sweep.dir`` below
``tmp_path``: nothing is written into the repository.

Tests that start Ray do so inside private network (and PID) namespaces and
only ever talk to 127.0.0.1; they are skipped if namespaces are unavailable.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf
from pandas.testing import assert_frame_equal

import sim.cli
import sim.cli.hydra_support
import sim.studies.store

REPO = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted((REPO / "experiments").glob("*.yaml"))
N_ALLIANCES = 40
SHRINK = [f"n_alliances={N_ALLIANCES}", "horizon_weeks=40"]
# a 2 x 2 sub-sweep of governance_vs_failure, chosen on the command line
SUBSWEEP = ["governance=handshake,full", "alliance=complementary,ecosystem"]
HEADER = "failed (95% CI)"
PNG = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- helpers
def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.update(PYTHONUNBUFFERED="1", MPLBACKEND="Agg", RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ADDRESS", None)
    env.update(extra)
    return env


def interruptible() -> None:
    """For ``preexec_fn``: the child answers Ctrl-C as in a terminal, even when the tests were
    started where SIGINT is ignored (a background job of a shell), which the child would inherit."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def study_command(experiment: str, sweep_dir: Path, *overrides: str, shrink: bool = True) -> list[str]:
    return [
        sys.executable,
        "-m",
        "sim.cli",
        "-m",
        f"+experiment={experiment}",
        *(SHRINK if shrink else []),
        *overrides,
        f"hydra.sweep.dir={sweep_dir}",
    ]


def run(cmd: list[str], cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=child_env(**env))


def output(proc: subprocess.CompletedProcess) -> str:
    return (
        f"exit code {proc.returncode}\n--- stdout\n{proc.stdout[-8000:]}\n--- stderr\n{proc.stderr[-8000:]}"
    )


def run_study(cwd: Path, experiment: str, sweep_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    proc = run(study_command(experiment, sweep_dir, *overrides), cwd)
    assert proc.returncode == 0, output(proc)
    return proc


def sweep_params(experiment: str) -> dict[str, list[str]]:
    """The experiment's swept keys and their values, spelt as Hydra hands them to the cells."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = OmegaConf.load(REPO / "experiments" / f"{experiment}.yaml")
    params = OmegaConf.to_container(cfg.hydra.sweeper.params)
    assert isinstance(params, dict)
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return {
        o.get_key_element(): list(o.sweep_string_iterator())
        if o.is_sweep_override()
        else [o.get_value_element_as_str()]
        for o in parsed
    }


def cell_records(sweep_dir: Path) -> dict[str, dict]:
    """cell.json of every finished cell, by cell folder name."""
    return {
        p.parent.name: json.loads(p.read_text()) for p in sorted((sweep_dir / "cells").glob("*/cell.json"))
    }


def read_runs(sweep_dir: Path) -> pd.DataFrame:
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    return runs.sort_values(["cell", "alliance_id"], kind="stable").reset_index(drop=True)


def assert_same_cells(sweep_dir: Path, reference_dir: Path) -> None:
    """Both runs simulated the same cells: same names and same config hashes (config + model code)."""
    got = {name: c["config_hash"] for name, c in cell_records(sweep_dir).items()}
    want = {name: c["config_hash"] for name, c in cell_records(reference_dir).items()}
    assert got == want, (
        "config hashes differ from the reference run: either the cells' configs differ, "
        "or sim/*.py changed while the tests ran (then rerun the tests)"
    )


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG


@pytest.fixture
def in_process_hydra(monkeypatch, tmp_path):
    """Run Hydra's main in this process from tmp_path; leave Hydra and logging as they were."""
    from hydra.core.global_hydra import GlobalHydra

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    GlobalHydra.instance().clear()
    monkeypatch.chdir(tmp_path)
    yield
    GlobalHydra.instance().clear()
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


# ------------------------------------------------------- 1. every study runs
def test_experiments_are_discovered():
    names = {p.stem for p in EXPERIMENTS}
    assert "governance_vs_failure" in names, names
    for path in EXPERIMENTS:
        assert sweep_params(path.stem), f"{path.name} sweeps nothing"


def smoke_shrink(experiment: str) -> list[str]:
    """SHRINK, or only its cohort size if some cell needs a longer horizon (a late sunset week)."""
    import sim.config
    from sim.params import ConfigError

    params = sweep_params(experiment)
    for combo in itertools.product(*params.values()):
        cell = [f"{k}={v}" for k, v in zip(params, combo, strict=True)]
        try:
            sim.config.load_config([f"+experiment={experiment}", *SHRINK, *cell])
        except ConfigError as error:
            if "horizon_weeks" not in str(error):
                raise
            return [f"n_alliances={N_ALLIANCES}"]
    return SHRINK


@pytest.mark.slow
@pytest.mark.parametrize("experiment", [p.stem for p in EXPERIMENTS])
def test_every_experiment_runs_and_writes_its_report(experiment, tmp_path):
    import sim.config

    params = sweep_params(experiment)
    n_cells = len(list(itertools.product(*params.values())))
    shrink = smoke_shrink(experiment)
    horizon = sim.config.load_config([f"+experiment={experiment}", *shrink]).horizon_weeks
    sweep_dir = tmp_path / "results" / experiment / "smoke"
    proc = run(study_command(experiment, sweep_dir, *shrink, shrink=False), tmp_path)
    assert proc.returncode == 0, output(proc)

    # the printed report
    assert HEADER in proc.stdout, output(proc)
    header = next(line for line in proc.stdout.splitlines() if HEADER in line)
    assert header.startswith("| " + " | ".join([*params, "n", HEADER])), header
    assert "FAILED" not in proc.stdout, output(proc)

    # every item of the report
    for name in ("runs.parquet", "summary.csv", "summary.md", "paired.csv", "provenance.json", "study.json"):
        assert (sweep_dir / name).is_file(), f"{name} missing in {sweep_dir}"
    assert not (sweep_dir / "failures.csv").exists()
    study = json.loads((sweep_dir / "study.json").read_text())
    assert study["name"] == experiment
    assert study["dims"] == list(params)
    assert study["cells"] == n_cells
    assert (study["n_alliances"], study["horizon_weeks"]) == (N_ALLIANCES, horizon)
    provenance = json.loads((sweep_dir / "provenance.json").read_text())
    assert provenance["model"] == sim.studies.store.model_fingerprint()
    assert HEADER in (sweep_dir / "summary.md").read_text()

    figures = sweep_dir / "figures"
    wanted = ["failed_rate_by_*.png", "success_rate_by_*.png", "survival_by_*.png", "hazard_by_*.png"]
    if len(params) >= 2:
        wanted += ["heatmap_failed_*.png", "heatmap_success_*.png"]
    for pattern in wanted:
        found = sorted(figures.glob(pattern))
        assert found, f"no figure {pattern} in {sorted(p.name for p in figures.glob('*'))}"
        assert all(is_png(p) for p in found), found
    for image in (sweep_dir / "summary.md").read_text().split("(figures/")[1:]:
        assert (figures / image.split(")")[0]).is_file(), image

    # every cell: its record and its resolved config, which is exactly the cell's parameters
    cells = cell_records(sweep_dir)
    assert len(cells) == n_cells, sorted(cells)
    assert not list((sweep_dir / "cells").glob("*/failure.json"))
    combos = set()
    for name, cell in cells.items():
        assert cell["status"] == "computed", (name, cell)
        resolved = sweep_dir / "cells" / name / ".hydra" / "config.yaml"
        assert resolved.is_file(), f"{resolved} missing"
        config = sim.cli.to_simulation_config(OmegaConf.load(resolved))
        assert (config.n_alliances, config.horizon_weeks) == (N_ALLIANCES, horizon)
        assert sim.studies.store.config_hash(config) == cell["config_hash"], name
        # ... the same config the command line composes for this cell's overrides
        composed = sim.config.load_config(
            [f"+experiment={experiment}", *(f"{k}={v}" for k, v in cell["overrides"].items())]
        )
        assert composed == config, name
        combos.add(tuple(cell["overrides"][k] for k in params))
    assert combos == set(itertools.product(*params.values()))

    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(runs) == n_cells * N_ALLIANCES
    for key, values in params.items():
        assert key in runs.columns, f"swept key {key} is not a column of runs.parquet"
        assert set(runs[key].astype(str)) == set(values), key
    assert runs.groupby("cell").size().eq(N_ALLIANCES).all()
    assert runs["cell"].nunique() == n_cells

    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert len(summary) == n_cells
    assert set(params) <= set(summary.columns)
    assert (summary["n"] == N_ALLIANCES).all()
    assert len(pd.read_csv(sweep_dir / "paired.csv")) > 0


# ------------------------------------------------- 2. launchers agree exactly
@pytest.fixture(scope="module")
def serial_subsweep(tmp_path_factory) -> tuple[Path, str]:
    """The 2 x 2 sub-sweep run by Hydra's basic (serial) launcher in its own results root,
    and what it printed."""
    root = tmp_path_factory.mktemp("serial")
    sweep_dir = root / "results" / "governance_vs_failure" / "serial"
    proc = run_study(root, "governance_vs_failure", sweep_dir, *SUBSWEEP)
    assert HEADER in proc.stdout
    cells = cell_records(sweep_dir)
    assert len(cells) == 4 and all(c["status"] == "computed" for c in cells.values()), cells
    return sweep_dir, proc.stdout


@pytest.fixture(scope="module")
def serial_reference(serial_subsweep) -> Path:
    return serial_subsweep[0]


@pytest.mark.xdist_group("serial_subsweep")  # shares its module fixture: computed once
@pytest.mark.slow
def test_a_sweep_narrowed_on_the_command_line_reports_each_dimension_once(serial_subsweep):
    """``governance=handshake,full alliance=...`` replaces the experiment's sweep of the same keys."""
    sweep_dir, printed = serial_subsweep
    cells = cell_records(sweep_dir)
    assert {(c["overrides"]["governance"], c["overrides"]["alliance"]) for c in cells.values()} == {
        ("handshake", "complementary"),
        ("handshake", "ecosystem"),
        ("full", "complementary"),
        ("full", "ecosystem"),
    }
    study = json.loads((sweep_dir / "study.json").read_text())
    assert study["cells"] == 4
    assert study["dims"] == ["governance", "alliance"], study["dims"]
    header = next(line for line in printed.splitlines() if HEADER in line)
    assert header.startswith(f"| governance | alliance | n | {HEADER}"), header
    markdown = (sweep_dir / "summary.md").read_text()
    assert f"| governance | alliance | n | {HEADER}" in markdown


def check_same_as_serial(sweep_dir: Path, reference: Path) -> None:
    cells = cell_records(sweep_dir)
    assert len(cells) == 4, sorted(cells)
    assert all(c["status"] == "computed" for c in cells.values()), cells
    assert not list((sweep_dir / "cells").glob("*/failure.json"))
    assert_same_cells(sweep_dir, reference)
    assert_frame_equal(read_runs(sweep_dir), read_runs(reference), check_exact=True)


LAUNCHERS = {
    "local_parallel": ["hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2"],
    "submitit_local": ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"],
}


@pytest.mark.xdist_group("serial_subsweep")  # shares its module fixture: computed once
@pytest.mark.slow
@pytest.mark.parametrize("launcher", list(LAUNCHERS))
def test_launcher_gives_the_same_runs_as_serial(launcher, serial_reference, tmp_path):
    if launcher == "submitit_local":
        pytest.importorskip(
            "hydra_plugins.hydra_submitit_launcher", reason="the [cluster] extra is not installed"
        )
    sweep_dir = tmp_path / "results" / "governance_vs_failure" / launcher
    proc = run_study(tmp_path, "governance_vs_failure", sweep_dir, *SUBSWEEP, *LAUNCHERS[launcher])
    assert HEADER in proc.stdout, output(proc)
    check_same_as_serial(sweep_dir, serial_reference)


def namespace_prefix() -> list[str]:
    """unshare options for a private network namespace (and PID namespace, if allowed), or skip."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("Ray test needs `unshare` (util-linux) for a private network namespace")
    if subprocess.run([unshare, "--net", "true"], capture_output=True).returncode != 0:
        pytest.skip("Ray test needs a private network namespace and `unshare --net` is not permitted here")
    # A PID namespace as well, when permitted: `ray stop --force` then sees (and stops) only the
    # Ray processes this test started, and the kernel ends them all when the namespace's init exits.
    isolated = [unshare, "--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if subprocess.run([*isolated, "true"], capture_output=True).returncode == 0:
        return isolated
    return [unshare, "--net"]


@pytest.mark.xdist_group("serial_subsweep")  # shares its module fixture: computed once
@pytest.mark.slow
def test_ray_launcher_gives_the_same_runs_as_serial(serial_reference, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the [cluster] extra is not installed")
    ray = Path(sys.executable).parent / "ray"
    if not ray.exists():
        pytest.skip(f"no ray executable beside {sys.executable}")
    prefix = namespace_prefix()
    if not shutil.which("ip"):
        pytest.skip("Ray test needs `ip` (iproute2) to bring up loopback in the private namespace")

    port = 6399  # the namespace is private: nothing else listens there
    # Ray puts unix sockets under its temp dir (paths must stay < 108 characters)
    short = len(str(tmp_path / "ray")) <= 40
    temp_dir = tmp_path / "ray" if short else Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    temp_dir.mkdir(exist_ok=True)
    sweep_dir = tmp_path / "results" / "governance_vs_failure" / "ray"
    study = study_command("governance_vs_failure", sweep_dir, *SUBSWEEP, "hydra/launcher=ray_cluster")
    q = shlex.quote
    script = "\n".join(
        [
            "set -u",
            "ip link set lo up || exit 90",
            f"trap '{q(str(ray))} stop --force' EXIT",
            f"{q(str(ray))} start --head --node-ip-address=127.0.0.1 --port={port} --num-cpus=2"
            f" --include-dashboard=false --disable-usage-stats --object-store-memory=150000000"
            f" --temp-dir={q(str(temp_dir))} || exit 91",
            f"export RAY_ADDRESS=127.0.0.1:{port}",
            " ".join(q(part) for part in study),
            "status=$?",
            "exit $status",
        ]
    )
    proc = subprocess.Popen(
        [*prefix, "bash", "-c", script],
        cwd=tmp_path,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"Ray study timed out after 300 s\n{out[-12000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if not short:
            shutil.rmtree(temp_dir, ignore_errors=True)
    assert proc.returncode == 0, f"exit code {proc.returncode}\n{out[-12000:]}"
    assert "Connected to Ray cluster" in out or "Ray Launcher" in out, out[-12000:]
    assert HEADER in out, out[-12000:]
    check_same_as_serial(sweep_dir, serial_reference)


# ---------------------------------------------------- 3. kill, then resume
KILLED_STUDY = "governance_vs_failure"  # 12 cells
KILLED_CELLS = 12


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The shrunk study run once, never interrupted, in its own results root."""
    base = tmp_path_factory.mktemp("uninterrupted")
    sweep_dir = base / "results" / KILLED_STUDY / "once"
    run_study(base, KILLED_STUDY, sweep_dir)
    assert all(c["status"] == "computed" for c in cell_records(sweep_dir).values())
    return sweep_dir


def start_and_kill(cwd: Path, sweep_dir: Path, after_cells: int, **env: str) -> set[str]:
    """Start the study in its own process group, SIGKILL the group once some cells finished."""
    log = cwd / f"{sweep_dir.name}.killed.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            study_command(KILLED_STUDY, sweep_dir),
            cwd=cwd,
            env=child_env(**env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while len(list((sweep_dir / "cells").glob("*/cell.json"))) < after_cells:
                assert proc.poll() is None, f"the study ended before it was killed\n{log.read_text()[-8000:]}"
                assert time.monotonic() < deadline, (
                    f"no {after_cells} cells in 300 s\n{log.read_text()[-8000:]}"
                )
                time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return set(cell_records(sweep_dir))


@pytest.mark.xdist_group("uninterrupted")  # shares its module fixture: computed once
@pytest.mark.slow
@pytest.mark.parametrize(
    "rerun_into, threads",
    [("a new run folder", "1"), ("the same run folder", "1"), ("a new run folder", "2")],
    ids=["new folder", "same folder", "new folder, killed with its worker"],
)
def test_a_killed_study_resumes_from_its_finished_cells(rerun_into, threads, uninterrupted, tmp_path):
    """Killed on one core, the study has cells left to compute; killed with its worker process,
    the worker may have stored any number of cells from the end. Either way the rerun reuses
    exactly the whole cells of the store and computes the others."""
    root = tmp_path / "results" / KILLED_STUDY
    first = root / "first"
    finished = start_and_kill(tmp_path, first, after_cells=3, ALLIANCE_SIM_THREADS=threads)
    assert not (first / "runs.parquet").exists()
    stored = {p.parent.name for p in (root / ".cells").glob("*/done.json")}
    assert len(finished) >= 3 and len(stored) >= len(finished), (finished, stored)
    if threads == "1":
        assert len(finished) < KILLED_CELLS, f"killed too late to test resuming: {len(finished)} finished"

    # rerun the same command: same results root (same cell store)
    second = root / "second" if rerun_into == "a new run folder" else first
    proc = run_study(tmp_path, KILLED_STUDY, second)
    assert HEADER in proc.stdout
    cells = cell_records(second)
    assert len(cells) == KILLED_CELLS, sorted(cells)
    assert not list((second / "cells").glob("*/failure.json"))
    status = {name: cell["status"] for name, cell in cells.items()}
    for name in finished:
        assert status[name] == "cached", (name, status)
    expected = {name: "cached" if c["config_hash"] in stored else "computed" for name, c in cells.items()}
    assert status == expected, (status, stored)
    if threads == "1":
        assert "computed" in status.values(), status
    # every cell in the store is whole
    store = root / ".cells"
    assert all((entry / "done.json").is_file() for entry in store.iterdir() if not entry.name.startswith("."))

    # the resumed study equals one that was never interrupted
    assert_same_cells(second, uninterrupted)
    assert_frame_equal(read_runs(second), read_runs(uninterrupted), check_exact=True)
    assert (second / "summary.csv").read_bytes() == (uninterrupted / "summary.csv").read_bytes()


# --------------------------------------------------- 4. one cell that fails
FORCED = "forced failure of this cell by the test"
SURVIVORS = {("handshake", "complementary"), ("handshake", "ecosystem"), ("meetings", "complementary")}
DOOMED = ("meetings", "ecosystem")
FAILING_SWEEP = ["governance=handshake,meetings", "alliance=complementary,ecosystem"]


def run_with_a_failing_cell(sweep_dir: Path, monkeypatch) -> None:
    """Run the 2 x 2 study in this process; run_cohort raises for meetings x ecosystem only."""

    original = sim.studies.store.run_cohort

    def flaky_run_cohort(config, *args, **kwargs):
        if (config.governance.name, config.alliance.type.value) == DOOMED:
            raise RuntimeError(FORCED)
        return original(config, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(sim.studies.store, "run_cohort", flaky_run_cohort)
        argv = ["alliance-sim", "-m", "+experiment=governance_vs_failure", *SHRINK, *FAILING_SWEEP]
        patch.setattr(sys, "argv", [*argv, f"hydra.sweep.dir={sweep_dir}"])
        with pytest.raises(SystemExit) as stop:  # a study with a failed cell must not exit 0
            sim.cli.main()
        assert stop.value.code == 1, stop.value.code


def design_status(sweep_dir: Path, field: str = "status") -> dict[tuple[str, str], str]:
    return {
        (c["overrides"]["governance"], c["overrides"]["alliance"]): c[field]
        for c in cell_records(sweep_dir).values()
    }


def assert_survivors_kept_their_hashes(before: dict[tuple[str, str], str], after: Path) -> None:
    now = design_status(after, "config_hash")
    assert {d: now.get(d) for d in SURVIVORS} == {d: before[d] for d in SURVIVORS}, (
        "the survivors' config hashes changed between the runs: sim/*.py changed while the tests ran"
    )


@pytest.mark.slow
def test_a_failing_cell_leaves_a_record_and_the_others_are_summarised(
    tmp_path, monkeypatch, capsys, in_process_hydra
):
    root = tmp_path / "results" / "governance_vs_failure"
    sweep_dir = root / "with_failure"
    run_with_a_failing_cell(sweep_dir, monkeypatch)
    printed = capsys.readouterr().out
    assert "3 cells finished, 1 failed" in printed, printed
    assert FORCED in printed

    failures = list((sweep_dir / "cells").glob("*/failure.json"))
    assert len(failures) == 1, failures
    failure = json.loads(failures[0].read_text())
    assert failure["error"] == f"RuntimeError: {FORCED}"
    assert FORCED in failure["traceback"]
    assert (failure["overrides"]["governance"], failure["overrides"]["alliance"]) == DOOMED
    assert not (failures[0].parent / "cell.json").exists()

    assert design_status(sweep_dir) == dict.fromkeys(SURVIVORS, "computed")
    table = pd.read_csv(sweep_dir / "failures.csv")
    assert len(table) == 1
    assert table["error"].iloc[0] == failure["error"]

    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    assert len(runs) == 3 * N_ALLIANCES
    assert set(zip(runs["governance"], runs["alliance"], strict=True)) == SURVIVORS
    summary = pd.read_csv(sweep_dir / "summary.csv")
    assert set(zip(summary["governance"], summary["alliance"], strict=True)) == SURVIVORS
    assert (sweep_dir / "summary.md").is_file()
    # nothing of the failed cell went into the cell store
    assert len(list((root / ".cells").glob("*/done.json"))) == 3

    # the next run of the study (no forced failure, new run folder) computes only the failed cell
    hashes = design_status(sweep_dir, "config_hash")
    again = root / "again"
    run_study(tmp_path, "governance_vs_failure", again, *FAILING_SWEEP)
    assert_survivors_kept_their_hashes(hashes, again)
    assert design_status(again) == {**dict.fromkeys(SURVIVORS, "cached"), DOOMED: "computed"}
    assert not (again / "failures.csv").exists()
    assert len(pd.read_csv(again / "summary.csv")) == 4


@pytest.mark.slow
def test_rerunning_into_the_same_folder_retries_a_failed_cell(tmp_path, monkeypatch, in_process_hydra):
    """The README's canonical command has a fixed hydra.sweep.dir: a rerun reuses the run folder."""
    sweep_dir = tmp_path / "results" / "governance_vs_failure" / "canonical"
    run_with_a_failing_cell(sweep_dir, monkeypatch)
    assert (sweep_dir / "failures.csv").exists()
    hashes = design_status(sweep_dir, "config_hash")

    proc = run_study(tmp_path, "governance_vs_failure", sweep_dir, *FAILING_SWEEP)
    assert_survivors_kept_their_hashes(hashes, sweep_dir)
    assert design_status(sweep_dir) == {**dict.fromkeys(SURVIVORS, "cached"), DOOMED: "computed"}
    assert "4 cells finished, 0 failed" in proc.stdout, output(proc)
    runs = pd.read_parquet(sweep_dir / "runs.parquet")
    assert set(zip(runs["governance"], runs["alliance"], strict=True)) == {*SURVIVORS, DOOMED}
    assert len(pd.read_csv(sweep_dir / "summary.csv")) == 4
    assert not list((sweep_dir / "cells").glob("*/failure.json")), "a stale failure record was kept"
    assert not (sweep_dir / "failures.csv").exists(), "a stale failures.csv was kept"


# ------------------------------------------- 5. bad values fail before any job
BAD_SWEEPS = {
    "out of range": ("governance.escalation_age_weeks=0,4", "governance.escalation_age_weeks"),
    "out of range in a later cell": (
        "governance.escalation_age_weeks=4,60",
        "governance.escalation_age_weeks",
    ),
    "not an allowed value": ("governance.meeting_cadence=weekly,monthly", "governance.meeting_cadence"),
    "wrong type": ("seed=1,abc", "seed = 'abc': must be an integer"),
    "misspelt key": ("governance.escalation_age=3,4", "governance.escalation_age"),
}


@pytest.mark.parametrize("case", list(BAD_SWEEPS))
def test_a_bad_value_in_a_sweep_fails_before_any_cell_runs(case, tmp_path):
    override, key = BAD_SWEEPS[case]
    root = tmp_path / "results" / "governance_vs_failure"
    proc = run(study_command("governance_vs_failure", root / "bad", override), tmp_path)
    assert proc.returncode != 0, output(proc)
    assert key in proc.stdout + proc.stderr, output(proc)
    assert "computed in" not in proc.stdout, output(proc)
    assert not list(tmp_path.rglob("cell.json")), "a cell ran"
    assert not list(tmp_path.rglob("failure.json")), "a cell ran"
    assert not [p for p in tmp_path.rglob("cells/*")], "a cell folder was created"
    assert not (root / ".cells").exists() or not any((root / ".cells").iterdir())


# ------------------------------------------------ 6. alliance-sim-report
@pytest.fixture(scope="module")
def finished_study(tmp_path_factory) -> Path:
    """A finished, shrunk pilot_vs_full study (copy it before changing it)."""
    base = tmp_path_factory.mktemp("finished")
    sweep_dir = base / "results" / "pilot_vs_full" / "done"
    run_study(base, "pilot_vs_full", sweep_dir)
    return sweep_dir


def copy_study(sweep_dir: Path, tmp_path: Path) -> Path:
    """Copy the whole study root (run folder and cell store) so relative paths still hold."""
    target = tmp_path / "results" / sweep_dir.parent.name
    shutil.copytree(sweep_dir.parent, target, symlinks=True)
    return target / sweep_dir.name


REPORT_FILES = ("summary.csv", "summary.md", "paired.csv")


def report_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "sim.analysis.study_report", str(folder)]


@pytest.mark.xdist_group("finished_study")  # shares its module fixture: computed once
@pytest.mark.slow
def test_report_rebuilds_summary_and_figures_from_a_finished_study(finished_study, tmp_path):
    folder = copy_study(finished_study, tmp_path)
    original = {name: (folder / name).read_bytes() for name in REPORT_FILES}
    original_runs = read_runs(folder)
    figures = sorted(p.name for p in (folder / "figures").glob("*.png"))
    assert figures
    store = folder.parent / ".cells"
    store_before = {str(p.relative_to(store)): p.stat().st_mtime_ns for p in store.rglob("*")}

    for name in (*REPORT_FILES, "runs.parquet"):
        (folder / name).unlink()
    shutil.rmtree(folder / "figures")

    started = time.perf_counter()
    proc = run(report_command(folder), tmp_path, timeout=120)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, output(proc)
    assert HEADER in proc.stdout, output(proc)
    assert seconds < 60, f"rebuilding the report took {seconds:.0f} s"

    for name, content in original.items():
        assert (folder / name).read_bytes() == content, f"{name} differs after rebuilding"
    assert_frame_equal(read_runs(folder), original_runs, check_exact=True)
    assert sorted(p.name for p in (folder / "figures").glob("*.png")) == figures
    assert all(is_png(folder / "figures" / name) for name in figures)
    # nothing was simulated: the cell store is untouched
    assert {str(p.relative_to(store)): p.stat().st_mtime_ns for p in store.rglob("*")} == store_before


@pytest.mark.xdist_group("finished_study")  # shares its module fixture: computed once
@pytest.mark.slow
def test_report_never_runs_the_model(finished_study, tmp_path, monkeypatch, capsys):
    import sim.analysis.study_report
    import sim.cli.study
    import sim.engines.cohort
    import sim.runner
    import sim.studies.store

    def forbidden(*args, **kwargs):
        raise AssertionError("the report ran the model")

    for module, name in [
        (sim.runner, "run_cohort"),
        (sim.studies.store, "run_cohort"),
        (sim.engines.cohort, "run_compiled"),
        (sim.cli.study, "run_cell"),
    ]:
        monkeypatch.setattr(module, name, forbidden)
    folder = copy_study(finished_study, tmp_path)
    (folder / "summary.csv").unlink()
    shutil.rmtree(folder / "figures")
    sim.analysis.study_report.main([str(folder)])
    assert HEADER in capsys.readouterr().out
    assert (folder / "summary.csv").read_bytes() == (finished_study / "summary.csv").read_bytes()
    assert list((folder / "figures").glob("*.png"))


def test_report_refuses_a_folder_that_is_not_a_study_run(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("not a study\n")
    # the study root (results/<study>) rather than one of its runs: a likely slip
    study_root = tmp_path / "results" / "governance_vs_failure"
    (study_root / ".cells").mkdir(parents=True)
    missing = tmp_path / "does_not_exist"
    for folder in (plain, study_root, missing):
        proc = run(report_command(folder), tmp_path, timeout=120)
        assert proc.returncode != 0, output(proc)
        assert "not a study run folder" in proc.stderr, output(proc)
        assert str(folder) in proc.stderr, output(proc)
        assert "Traceback" not in proc.stderr, output(proc)
    assert sorted(p.name for p in plain.iterdir()) == ["notes.txt"]
    assert not missing.exists()


# --------------------------------------------------- 7. deterministic report
@pytest.mark.xdist_group("finished_study")  # shares its module fixture: computed once
@pytest.mark.slow
def test_the_same_study_twice_gives_byte_identical_summaries(finished_study, tmp_path):
    again = tmp_path / "results" / "pilot_vs_full" / "again"
    run_study(tmp_path, "pilot_vs_full", again)
    assert all(c["status"] == "computed" for c in cell_records(again).values()), "reused a cell"
    assert_same_cells(again, finished_study)
    for name in REPORT_FILES:
        assert (again / name).read_bytes() == (finished_study / name).read_bytes(), f"{name} differs"
    assert_frame_equal(read_runs(again), read_runs(finished_study), check_exact=True)


@pytest.mark.xdist_group("finished_study")  # shares its module fixture: computed once
@pytest.mark.slow
def test_provenance_records_the_study_as_run(finished_study):
    """provenance.json describes the cohorts the study simulated, not the package defaults."""
    study = json.loads((finished_study / "study.json").read_text())
    provenance = json.loads((finished_study / "provenance.json").read_text())
    assert provenance["study"] == "pilot_vs_full"
    assert provenance["seed"] in study["seeds"]
    assert provenance["n_alliances"] == study["n_alliances"] == N_ALLIANCES, provenance
    assert provenance["horizon_weeks"] == study["horizon_weeks"] == 40, provenance


def test_a_failing_report_exits_non_zero_and_keeps_the_cells(tmp_path):
    """Hydra only warns when a callback raises; the study must fail loudly instead."""
    script = tmp_path / "broken_report.py"
    sweep_dir = tmp_path / "study"
    script.write_text(
        "import sys\n"
        "import sim.cli as cli\n"
        "import sim.cli.study as study\n"
        "def broken(run_dir, *args):\n"
        "    raise ValueError('forced report failure')\n"
        "study.build_report = broken\n"
        f"sys.argv = ['alliance-sim', '-m', '+experiment=pilot_vs_full', 'n_alliances=20', "
        f"'horizon_weeks=20', 'hydra.sweep.dir={sweep_dir}']\n"
        "cli.main()\n"
    )
    proc = run([sys.executable, str(script)], cwd=tmp_path)
    assert proc.returncode == 1, output(proc)
    assert "forced report failure" in proc.stderr
    assert f"alliance-sim-report {sweep_dir}" in proc.stderr
    assert len(cell_records(sweep_dir)) == len(
        list(itertools.product(*sweep_params("pilot_vs_full").values()))
    )


# ------------------------------------------- 8. each cell is composed once
def test_a_study_composes_each_cell_once(tmp_path, monkeypatch, capsys, in_process_hydra):
    """Validating, checking and launching a cell share one Hydra composition (in this process)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    composed: list[list[str]] = []
    original = ConfigLoaderImpl.load_configuration

    def counting(self, config_name, overrides, *args, **kwargs):
        composed.append(list(overrides))
        return original(self, config_name, overrides, *args, **kwargs)

    sweep_dir = tmp_path / "results" / "governance_vs_failure" / "once"
    monkeypatch.setattr(ConfigLoaderImpl, "load_configuration", counting)
    argv = ["alliance-sim", "-m", "+experiment=governance_vs_failure", *SHRINK, *SUBSWEEP]
    monkeypatch.setattr(sys, "argv", [*argv, f"hydra.sweep.dir={sweep_dir}"])
    try:
        sim.cli.main()
    except SystemExit as stop:
        assert stop.code in (None, 0), stop.code
    assert "4 cells finished, 0 failed" in capsys.readouterr().out
    cells = [o for o in composed if any(x.startswith("governance=") and "," not in x for x in o)]
    # Hydra composes the primary config twice (for the run mode, then for the sweep), each cell once
    assert len(cells) == 4 and len(composed) == 2 + 4, composed
    assert len(cell_records(sweep_dir)) == 4


class StandInLoader:
    """Composes by echoing the overrides, the way a config loader is called."""

    def load_sweep_config(self, master_config, sweep_overrides):
        return OmegaConf.create({"composed_for": list(sweep_overrides)})


def test_reused_compositions_stay_in_their_process():
    """A loader pickled off to another process (joblib, Ray, submitit) composes afresh there."""
    import pickle

    loader, master = StandInLoader(), OmegaConf.create({"master": True})
    cached = OmegaConf.create({"cached": True})
    sim.cli.hydra_support.ReusedCompositions.install(loader, master, {("a=1",): cached})
    assert loader.load_sweep_config(master, ["a=1"]) == cached
    assert loader.load_sweep_config(master, ["a=1"]) is not cached  # a copy each time
    assert loader.load_sweep_config(master, ["a=2"]) == {"composed_for": ["a=2"]}
    assert loader.load_sweep_config(OmegaConf.create({}), ["a=1"]) == {"composed_for": ["a=1"]}

    elsewhere = pickle.loads(pickle.dumps(loader))
    assert elsewhere.load_sweep_config(master, ["a=1"]) == {"composed_for": ["a=1"]}
    sim.cli.hydra_support.ReusedCompositions.remove(loader)
    assert loader.load_sweep_config(master, ["a=1"]) == {"composed_for": ["a=1"]}


@pytest.mark.parametrize(
    ("meta", "dims", "expected"),
    [
        (
            {"x": None, "hue": "triggers"},
            ["triggers", "scenario.shock_scale"],
            ("scenario.shock_scale", "triggers"),
        ),
        (
            {"x": "triggers", "hue": "triggers"},
            ["triggers", "scenario.shock_scale"],
            ("triggers", "scenario.shock_scale"),
        ),
        ({}, ["governance", "alliance"], ("governance", "alliance")),
        ({"hue": "governance"}, ["governance"], ("governance", None)),
    ],
)
def test_the_rate_figures_never_put_one_key_on_both_axes(meta, dims, expected):
    """A study naming only its hue (x: null) once put the hue on the x axis too, and the heatmap
    failed after every cell had run."""
    from sim.analysis.study_figures import _axes_keys

    assert _axes_keys(meta, dims) == expected
