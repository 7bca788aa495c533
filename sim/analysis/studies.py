"""Studies: combine the cells of a sweep and summarise them (the statistics).

The figures are drawn by :mod:`sim.analysis.study_figures` and the report is written by
:mod:`sim.analysis.study_report`.

A study is a Hydra multirun over design cells (see ``experiments/`` and
:mod:`sim.cli`). Each cell simulates one cohort and leaves in its folder a
``cell.json`` (its overrides, the hash of its validated config, its status)
or a ``failure.json`` (its error). This module only reads those folders: it
never runs the model, so a report can be rebuilt at any time with

    alliance-sim-report results/<study>/<run>

Layout of a study run folder::

    study.json            what was swept, the baseline, the figures asked for
    cells/<overrides>/    one folder per cell: cell.json or failure.json, .hydra/
    runs.parquet          every alliance of every finished cell, with the cell's overrides as columns
    summary.csv, .md      outcome rates with 95% intervals by cell
    paired.csv            paired differences against the baseline design
    failures.csv          cells that raised, with their errors
    figures/*.png         rates by design, survival curves, hazard by age, heatmaps
    provenance.json       package versions, git revision, seeds
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.summaries import wilson

CELL_FILE = "cell.json"
FAILURE_FILE = "failure.json"
STUDY_FILE = "study.json"
RATE_COLUMNS = ("failed", "success", "underperforming", "terminated")
PAIRED_METRICS = {
    "mean_resolution_weeks": "Δ mean resolution (weeks)",
    "issues_raised": "Δ issues raised",
    "issues_per_week": "Δ issues per week open",
    "final_trust": "Δ final trust",
    "effort_proactive": "Δ proactive effort (person-weeks)",
    "effort_reactive": "Δ reactive effort (person-weeks)",
}
"""Continuous per-alliance metrics whose paired mean differences paired.csv reports, with
their headers in summary.md. mean_resolution_weeks is compared on the pairs in which both
alliances settled at least one issue (it is empty otherwise)."""


@dataclass
class Study:
    """A study run folder, read back."""

    folder: Path
    meta: dict[str, Any]
    runs: pd.DataFrame
    cells: pd.DataFrame
    failures: pd.DataFrame
    dims: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or self.folder.parent.name)


def cell_store(run_dir: Path, study_name: str | None) -> Path:
    """Where finished cells are kept, by config hash: across the runs of a study in the usual
    layout, ``results/<study>/<run>`` (so a rerun resumes), and inside the run's own folder
    when the study was given a folder of its own (``hydra.sweep.dir``), never beside it."""
    run_dir = Path(run_dir)
    shared = run_dir.parent.name == (study_name or "multirun")
    return (run_dir.parent if shared else run_dir) / ".cells"


class StudyError(Exception):
    """A study folder that cannot be reported on as it is (the message names the files)."""


def _json_object(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise StudyError(f"{path}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise StudyError(f"{path}: not JSON ({error.msg} at line {error.lineno}); {what}") from None
    if not isinstance(data, dict):
        raise StudyError(f"{path}: must be a JSON object, not a {type(data).__name__}; {what}")
    return data


CELL_KEYS: dict[str, type | tuple[type, ...]] = {
    "overrides": dict,
    "config_hash": str,
    "results": str,
    "status": str,
    "seconds": (int, float),
}


def load_study(folder: Path) -> Study:
    """Read a study run folder: the finished cells' alliances, the cells and the failures.

    Every finished cell's results are checked against the checksums recorded when they were
    written, as the study runner does before reusing them: a damaged, swapped or missing file
    stops the report (StudyError naming each), never a report that mixes damaged cells in."""
    from sim.studies.store import cell_is_intact

    folder = Path(folder)
    meta_path = folder / STUDY_FILE
    rewrite = "it is written by alliance-sim -m; rerun the study's command to write it again"
    meta = _json_object(meta_path, rewrite) if meta_path.exists() else {}
    if meta_path.exists():
        dims = meta.get("dims")
        if (
            not isinstance(meta.get("name"), str)
            or not isinstance(meta.get("cells"), int)
            or not isinstance(dims, list)
            or not all(isinstance(d, str) for d in dims)
        ):
            raise StudyError(
                f"{meta_path}: needs name (text), cells (a number) and dims (a list of keys); {rewrite}"
            )
    cells, failures, tables = [], [], []
    damaged: list[str] = []
    for cell_dir in sorted((folder / "cells").glob("*")) if (folder / "cells").exists() else []:
        if (cell_dir / FAILURE_FILE).exists():
            failures.append(_json_object(cell_dir / FAILURE_FILE, rewrite))
            continue
        if not (cell_dir / CELL_FILE).exists():
            continue  # interrupted before it finished: the next run of the study redoes it
        cell = _json_object(cell_dir / CELL_FILE, rewrite)
        wrong = [k for k, kind in CELL_KEYS.items() if not isinstance(cell.get(k), kind)]
        if wrong:
            raise StudyError(
                f"{cell_dir / CELL_FILE}: {', '.join(wrong)} missing or of the wrong type; {rewrite}"
            )
        store = folder / cell["results"]
        if not cell_is_intact(store, cell["config_hash"]):
            damaged.append(f"{cell_dir.name} ({store})")
            continue
        table = pd.read_parquet(store / "alliances.parquet")
        front = ["cell", *cell["overrides"]]
        table["cell"] = cell_dir.name
        for key, value in cell["overrides"].items():
            table[key] = value  # the cell's override names the design (it may refine a column)
        table = table[front + [c for c in table.columns if c not in front]]
        tables.append(table)
        cells.append(
            {
                "cell": cell_dir.name,
                **cell["overrides"],
                "config_hash": cell["config_hash"],
                "status": cell["status"],
                "seconds": cell["seconds"],
            }
        )
    if damaged:
        raise StudyError(
            f"{len(damaged)} finished cell(s) whose results are missing or differ from their recorded "
            f"checksums: {'; '.join(damaged)}. Rerun the study's command: it computes those cells again "
            "and reuses the intact ones"
        )
    runs = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    dims = [k for k in meta.get("dims", []) if k in runs.columns]
    if not dims and cells:
        dims = [k for k in cells[0] if k not in ("cell", "config_hash", "status", "seconds", "seed")]
    if len(runs):
        runs = runs.sort_values(["cell", "alliance_id"], kind="stable").reset_index(drop=True)
    return Study(folder, meta, runs, pd.DataFrame(cells), pd.DataFrame(failures), dims)


def summarize(runs: pd.DataFrame, dims: list[str]) -> pd.DataFrame:
    """Outcome rates by cell with 95% Wilson intervals, plus mean resolution time."""
    rows = []
    for key, group in runs.groupby(dims, sort=False, observed=True) if dims else [((), runs)]:
        key = key if isinstance(key, tuple) else (key,)
        n = len(group)
        row: dict[str, Any] = dict(zip(dims, key, strict=True))
        row["n"] = n
        ensemble = "parameter_set" in group and group["parameter_set"].nunique() > 1
        for outcome in RATE_COLUMNS:
            k = int((group["outcome"] == outcome).sum())
            lo, hi = wilson(k, n)
            row[f"{outcome}_rate"] = k / n
            row[f"{outcome}_lo"] = lo
            row[f"{outcome}_hi"] = hi
            if ensemble:  # Monte Carlo and between-set variation together (law of total variance)
                from sim.analysis.ensemble import combined_interval

                e = combined_interval(group["outcome"] == outcome, group["parameter_set"])
                row[f"{outcome}_lo_total"] = e.low
                row[f"{outcome}_hi_total"] = e.high
                row[f"{outcome}_between_share"] = e.between_share
        row["mean_resolution_weeks"] = float(group["mean_resolution_weeks"].mean())
        row["median_weeks_to_failure"] = (
            float(group.loc[group["outcome"] == "failed", "end_week"].median())
            if (group["outcome"] == "failed").any()
            else math.nan
        )
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, dims: list[str], baseline: dict[str, str]) -> pd.DataFrame:
    """Each design against the baseline on the same alliances under the same shocks.

    Cells share seeds, so alliance ``i`` of one cell and alliance ``i`` of the
    baseline cell with the same other settings are the same partners facing
    the same environment. The difference of their outcome indicators is
    averaged with a 95% t interval: common random numbers make it far
    tighter than a comparison of two independent rates. The continuous
    metrics of :data:`PAIRED_METRICS` get the same treatment: the mean of
    the per-alliance differences (``<metric>_diff``) with its 95% t interval
    (``<metric>_diff_lo``, ``<metric>_diff_hi``), over the pairs in which
    both values exist (``mean_resolution_weeks_pairs`` counts them for the
    resolution time, which is empty for an alliance that settled nothing).
    """
    if not baseline or not len(runs):
        return pd.DataFrame()
    base_keys = [k for k in baseline if k in dims]
    other = [k for k in dims if k not in base_keys]
    is_base = np.logical_and.reduce([runs[k].astype(str) == str(v) for k, v in baseline.items() if k in runs])
    base = runs.loc[is_base]
    rows = []
    for key, group in runs.loc[~is_base].groupby(dims, sort=False, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        cell = dict(zip(dims, key, strict=True))
        match = base
        for k in [*other, "seed"]:
            value = cell.get(k, group[k].iloc[0] if k in group else None)
            if k in base:
                match = match.loc[match[k] == value]
        # under an ensemble, the same alliance under the same parameter set
        pair_on = ["alliance_id", "parameter_set"] if "parameter_set" in group else ["alliance_id"]
        merged = group.merge(match, on=pair_on, suffixes=("", "_base"))
        if not len(merged):
            continue
        row: dict[str, Any] = {
            **cell,
            "baseline": ",".join(f"{k}={v}" for k, v in baseline.items()),
            "pairs": len(merged),
        }
        for outcome in ("failed", "success"):
            diff = (merged["outcome"] == outcome).astype(float) - (merged["outcome_base"] == outcome).astype(
                float
            )
            mean, lo, hi = mean_interval(diff.to_numpy())
            row[f"{outcome}_diff"] = mean
            row[f"{outcome}_diff_lo"] = lo
            row[f"{outcome}_diff_hi"] = hi
            if "parameter_set" in merged and merged["parameter_set"].nunique() > 1:
                from sim.analysis.ensemble import combined_interval

                e = combined_interval(diff, merged["parameter_set"], bounds=(-1.0, 1.0))
                row[f"{outcome}_diff_lo_total"] = e.low
                row[f"{outcome}_diff_hi_total"] = e.high
                row[f"{outcome}_diff_between_share"] = e.between_share
        for metric in PAIRED_METRICS:
            if metric not in merged or f"{metric}_base" not in merged:
                continue
            values = merged[metric].to_numpy(dtype=float, na_value=np.nan)
            base_values = merged[f"{metric}_base"].to_numpy(dtype=float, na_value=np.nan)
            both = ~(np.isnan(values) | np.isnan(base_values))
            mean, lo, hi = mean_interval(values[both] - base_values[both])
            row[f"{metric}_diff"] = mean
            row[f"{metric}_diff_lo"] = lo
            row[f"{metric}_diff_hi"] = hi
            if metric == "mean_resolution_weeks":
                row["mean_resolution_weeks_pairs"] = int(both.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def mean_interval(diff: np.ndarray) -> tuple[float, float, float]:
    """Mean of paired differences with its 95% t interval (the mean itself if it cannot vary)."""
    from statsmodels.stats.weightstats import DescrStatsW

    if not len(diff):
        return math.nan, math.nan, math.nan
    stats = DescrStatsW(diff)
    lo, hi = stats.tconfint_mean() if len(diff) > 1 and stats.std > 0 else (stats.mean, stats.mean)
    return float(stats.mean), float(lo), float(hi)
