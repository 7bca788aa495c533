"""The cell store under faults: damaged cached cells are found by their checksums and recomputed.

A study keeps each finished cell in ``results/<study>/.cells/<hash>/`` with a
``done.json`` that records a SHA-256 of every file. A rerun reuses a cell only
if every file still matches; otherwise it computes the cell again and the
fresh result replaces the damaged folder. Whatever is done to the store, the
rerun's tables are those of the study run once, uninterrupted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from test_studies import SUBSWEEP, cell_records, run_study

from sim.studies.store import cell_is_intact, file_digest, install_cell

STUDY = "governance_vs_failure"


@pytest.mark.slow
def test_damaged_cells_are_recomputed_and_the_tables_are_the_uninterrupted_ones(tmp_path):
    root = tmp_path / "results" / STUDY
    first = root / "first"
    run_study(tmp_path, STUDY, first, *SUBSWEEP)  # uninterrupted: the tables to get back
    expected = pd.read_parquet(first / "runs.parquet")
    expected_summary = (first / "summary.csv").read_text()
    records = cell_records(first)
    assert len(records) == 4
    store = root / ".cells"
    # a: truncated, b: garbled, c: half its files deleted, d: a valid table of cell a copied in
    folders = {cell: (first / records[cell]["results"]).resolve() for cell in sorted(records)}
    a, b, c, d = sorted(records)
    shutil.copy(folders[a] / "alliances.parquet", folders[d] / "alliances.parquet")
    path = folders[a] / "alliances.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    path = folders[b] / "alliances.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # garbled, same size
    path.write_bytes(bytes(data))
    files = sorted(p for p in folders[c].iterdir() if p.name != "done.json")
    for p in files[: len(files) // 2]:
        p.unlink()  # half the files deleted
    assert not any(cell_is_intact(folders[x], folders[x].name) for x in (a, b, c, d))

    again = root / "again"
    proc = run_study(tmp_path, STUDY, again, *SUBSWEEP)
    statuses = {cell: r["status"] for cell, r in cell_records(again).items()}
    assert statuses == dict.fromkeys(records, "computed"), proc.stdout[-3000:]
    pd.testing.assert_frame_equal(pd.read_parquet(again / "runs.parquet"), expected)
    assert (again / "summary.csv").read_text() == expected_summary
    for cell in records:
        assert cell_is_intact(folders[cell], folders[cell].name), f"{cell} was not replaced"
    assert not [p for p in store.iterdir() if p.name.startswith(".")], "staging folders left behind"

    # once repaired, every cell is reused
    third = root / "third"
    run_study(tmp_path, STUDY, third, *SUBSWEEP)
    assert {r["status"] for r in cell_records(third).values()} == {"cached"}
    pd.testing.assert_frame_equal(pd.read_parquet(third / "runs.parquet"), expected)


def _cell(folder: Path, key: str, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "alliances.parquet").write_text(text)
    files = {"alliances.parquet": file_digest(folder / "alliances.parquet")}
    (folder / "done.json").write_text(json.dumps({"config_hash": key, "files": files}))
    return folder


def test_a_cell_is_reused_only_with_its_own_hash_and_every_checksum(tmp_path):
    cell = _cell(tmp_path / "k1", "k1", "table")
    assert cell_is_intact(cell, "k1")
    assert not cell_is_intact(cell, "k2")  # a cell folder of another config
    (cell / "alliances.parquet").write_text("tablE")
    assert not cell_is_intact(cell, "k1")
    (cell / "alliances.parquet").unlink()
    assert not cell_is_intact(cell, "k1")
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "alliances.parquet").write_text("table")
    (legacy / "done.json").write_text(json.dumps({"config_hash": "legacy"}))  # no checksums
    assert not cell_is_intact(legacy, "legacy")
    (legacy / "done.json").write_text("{not json")
    assert not cell_is_intact(legacy, "legacy")


def test_a_recomputed_cell_replaces_the_damaged_folder(tmp_path):
    """The rename onto an existing folder used to fail quietly and discard the fresh result."""
    store = _cell(tmp_path / "k1", "k1", "old table")
    (store / "alliances.parquet").write_text("damaged")
    staging = _cell(tmp_path / ".k1.1.tmp", "k1", "fresh table")
    install_cell(staging, store, "k1")
    assert (store / "alliances.parquet").read_text() == "fresh table"
    assert cell_is_intact(store, "k1")
    assert not staging.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k1"]


def test_a_cell_finished_by_another_worker_is_kept(tmp_path):
    store = _cell(tmp_path / "k1", "k1", "theirs")
    staging = _cell(tmp_path / ".k1.2.tmp", "k1", "ours")
    install_cell(staging, store, "k1")
    assert (store / "alliances.parquet").read_text() == "theirs"
    assert not staging.exists()
