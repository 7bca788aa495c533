"""The second process of ``alliance-sim -m`` (sim.studies.worker): the cells it computes, and the
studies it takes part in, are those of the serial launcher, bit for bit.

Run with: pytest tests/test_cell_worker.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.config import load_config
from sim.studies.store import DONE_FILE, compute_cell, config_hash
from tests.test_studies import child_env, in_process_hydra, output, run, study_command  # noqa: F401 - a fixture

REPO = Path(__file__).resolve().parent.parent


def stored(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_worker_stores_a_cell_as_the_launcher_does_and_refuses_a_foreign_one(tmp_path):
    config = load_config(["n_alliances=40", "horizon_weeks=30", "alliance=ecosystem", "seed=17"])
    key = config_hash(config)
    here, there = tmp_path / "here" / key, tmp_path / "there" / key
    here.parent.mkdir()
    there.parent.mkdir()
    overrides = {"alliance": "ecosystem"}
    compute_cell(config, None, here, key, overrides)

    worker = subprocess.Popen(
        [sys.executable, "-m", "sim.studies.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=child_env(),
    )
    assert worker.stdin is not None and worker.stdout is not None

    def ask(request: dict) -> dict:
        worker.stdin.write(json.dumps(request) + "\n")
        worker.stdin.flush()
        return json.loads(worker.stdout.readline())

    try:
        assert json.loads(worker.stdout.readline()) == {"ready": True}
        request = {
            "key": key,
            "config": config.to_dict(),
            "sets": None,
            "store": str(there),
            "overrides": overrides,
        }
        first = ask(request)
        assert (first["key"], first["status"]) == (key, "computed"), first
        assert stored(there) == stored(here), "the worker wrote other bytes than the launcher"
        assert json.loads((there / DONE_FILE).read_text())["config_hash"] == key
        again = ask(request)
        assert again["status"] == "cached", again

        # a configuration that does not hash to the key it came with is refused, unrun
        other = tmp_path / "other" / key
        other.parent.mkdir()
        tampered = {**request, "config": {**config.to_dict(), "seed": 18}, "store": str(other)}
        refused = ask(tampered)
        assert "error" in refused and "status" not in refused, refused
        assert not other.exists()
    finally:
        worker.stdin.close()
        assert worker.wait(timeout=60) == 0


@pytest.mark.slow
def test_the_headline_study_is_the_same_with_the_worker_and_without(tmp_path):
    """The README's study at full size (12 cells of 2,000 alliances), on one core and on two:
    the worker computes some cells and draws the figures, and every table, figure and stored
    cell is identical."""
    runs = {}
    for threads in ("1", "2"):
        sweep_dir = tmp_path / threads / "results" / "governance_vs_failure" / "run"
        proc = run(
            study_command("governance_vs_failure", sweep_dir, shrink=False),
            tmp_path,
            ALLIANCE_SIM_THREADS=threads,
        )
        assert proc.returncode == 0, output(proc)
        runs[threads] = sweep_dir
    serial, shared = runs["1"], runs["2"]

    def by(sweep_dir: Path) -> dict[str, str]:
        records = [json.loads(p.read_text()) for p in sweep_dir.glob("cells/*/cell.json")]
        assert len(records) == 12 and all(r["status"] == "computed" for r in records), records
        return {r["config_hash"]: r["by"] for r in records}

    assert set(by(serial).values()) == {"launcher"}
    helped = [k for k, who in by(shared).items() if who == "worker"]
    assert helped, "the worker computed no cell of a 12-cell study"
    assert by(shared).keys() == by(serial).keys()

    for name in ("runs.parquet", "summary.csv", "paired.csv", "summary.md"):
        assert (serial / name).read_bytes() == (shared / name).read_bytes(), name
    figures = sorted(p.name for p in (serial / "figures").iterdir())
    assert figures == sorted(p.name for p in (shared / "figures").iterdir())
    for name in figures:
        assert (serial / "figures" / name).read_bytes() == (shared / "figures" / name).read_bytes(), name
    for key in helped:  # what the worker stored is what the launcher stores
        assert stored(serial.parent / ".cells" / key) == stored(shared.parent / ".cells" / key), key


@pytest.mark.parametrize("n", [1000, 20000])
def test_a_share_of_the_alliances_on_a_second_thread_gives_the_one_thread_tables(n, monkeypatch):
    """With two threads allowed, a helper thread steps a share of every week's alliances and
    the firms start each week as the last one closes; with one, every week runs in one
    compiled call per thirteen weeks. The tables (and the firms) are the same, bit for bit,
    at 1,000 alliances (the helper made to take part) and at 20,000."""
    import pandas as pd

    from sim.engines.cohort import CohortRun
    from sim.engines.tables import cohort_result

    monkeypatch.setattr("sim.engines.cohort.MIN_HELPED", 500)
    config = load_config([f"n_alliances={n}", "seed=5"])
    results, stepped, firms = {}, {}, {}
    for threads in ("1", "2"):
        monkeypatch.setenv("ALLIANCE_SIM_THREADS", threads)
        run = CohortRun(config).run()
        stepped[threads] = 0 if run._helper is None else run._helper.stepped
        results[threads] = cohort_result(config, run.state.alliances, run.series, run.log[: run.logged])
        firms[threads] = run.state.firms
    assert stepped["1"] == 0 < stepped["2"]
    for table in ("alliances", "events", "timeseries"):
        pd.testing.assert_frame_equal(
            getattr(results["1"], table), getattr(results["2"], table), check_exact=True, obj=table
        )
    assert firms["1"].tobytes() == firms["2"].tobytes()


FAILING_WORKER = """
import json, sys
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    print(json.dumps({"key": json.loads(line)["key"], "error": "RuntimeError: forced"}), flush=True)
"""


def test_a_cell_the_worker_fails_is_left_to_the_launcher(tmp_path):
    """The worker answers that it failed: the launcher is told to compute the cell itself,
    and to compute the cells the worker had not reached."""
    from sim.studies.scheduler import Cell, CellsAhead

    config = load_config(["n_alliances=5", "horizon_weeks=3"])
    cells = [Cell(f"key{i}", config, None, tmp_path / f"key{i}", {}) for i in range(4)]
    CellsAhead.worker = subprocess.Popen(
        [sys.executable, "-c", FAILING_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        CellsAhead.start(cells)
        ahead = CellsAhead.running
        assert ahead is not None
        assert ahead.ready.wait(timeout=60)
        ahead.thread.join(timeout=60)
        assert list(ahead.taken) == ["key3"], "after a failure the worker gets no more cells"
        assert [ahead.wait_for(c.key) for c in cells] == [None] * 4
        assert not list(tmp_path.iterdir()), "nothing was stored"
    finally:
        CellsAhead.stop()
    assert CellsAhead.worker is None and CellsAhead.running is None


LOGGING_WORKER = """
import json, sys
log = open(sys.argv[1], "a")
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    key = json.loads(line).get("key")
    log.write(f"{key}\\n")
    log.flush()
    print(json.dumps({"key": key, "error": "RuntimeError: not computed here"}), flush=True)
"""


@pytest.mark.usefixtures("in_process_hydra")
@pytest.mark.parametrize("memory", ["plenty", "room for one cell"])
def test_the_worker_gets_no_cell_when_two_cells_would_not_fit_in_memory(memory, tmp_path, monkeypatch):
    """Cells run two at a time only if two fit in the memory available; the plentiful case
    shows the worker does get cells otherwise."""
    import sim.cli.study
    from sim.studies.scheduler import CellsAhead
    from sim.validation import memory_needed
    from tests.test_studies import SHRINK, SUBSWEEP, cell_records

    one_cell = memory_needed(load_config(["alliance=ecosystem", *SHRINK]))
    available = 10 * one_cell if memory == "plenty" else one_cell + one_cell // 2
    monkeypatch.setattr(sim.cli.study, "available_memory", lambda: available)
    log = tmp_path / "requests.log"
    log.touch()
    CellsAhead.worker = subprocess.Popen(
        [sys.executable, "-c", LOGGING_WORKER, str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sweep_dir = tmp_path / "results" / "governance_vs_failure" / "run"
    argv = ["alliance-sim", "-m", "+experiment=governance_vs_failure", *SHRINK, *SUBSWEEP]
    monkeypatch.setattr(sys, "argv", [*argv, f"hydra.sweep.dir={sweep_dir}"])
    try:
        sim.cli.main()
    finally:
        CellsAhead.stop()
    records = cell_records(sweep_dir)
    assert len(records) == 4 and {r["by"] for r in records.values()} == {"launcher"}, records
    asked = log.read_text().split()
    if memory == "plenty":
        assert asked, "the worker was handed no cell although memory was plentiful"
    else:
        assert asked == [], asked
