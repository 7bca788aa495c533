"""A study's report: its tables in Markdown and CSV, its figures, its checks; the
``alliance-sim-report`` command, which rebuilds a report from a study's cells without
running the model.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from sim.analysis.studies import (
    PAIRED_METRICS,
    StudyError,
    load_study,
    paired_differences,
    summarize,
)
from sim.analysis.study_figures import _axes_keys, draw_figures


def _pct(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def headline_table(summary: pd.DataFrame, dims: list[str]) -> str:
    """Failure, success and underperformance rates with their intervals, as Markdown."""
    if "failed_lo_total" in summary:
        return ensemble_table(summary, dims)
    header = [*dims, "n", "failed (95% CI)", "success (95% CI)", "underperforming (95% CI)", "terminated"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["n"]))]
        for outcome in ("failed", "success", "underperforming"):
            cells.append(
                f"{_pct(r[f'{outcome}_rate'])} ({_pct(r[f'{outcome}_lo'])}–{_pct(r[f'{outcome}_hi'])})"
            )
        cells.append(_pct(r["terminated_rate"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ensemble_table(summary: pd.DataFrame, dims: list[str]) -> str:
    """Under an ensemble: each rate with its Monte Carlo 95% interval, its interval combining
    Monte Carlo and between-set variation, and the between-set share of that variance."""
    header = [*dims, "n"]
    for outcome in ("failed", "success"):
        header += [f"{outcome} (MC 95% CI)", f"{outcome} (MC + parameter sets 95% CI)", "between sets"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in summary.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["n"]))]
        for outcome in ("failed", "success"):
            cells += [
                f"{_pct(r[f'{outcome}_rate'])} ({_pct(r[f'{outcome}_lo'])}–{_pct(r[f'{outcome}_hi'])})",
                f"{_pct(r[f'{outcome}_lo_total'])}–{_pct(r[f'{outcome}_hi_total'])}",
                f"{r[f'{outcome}_between_share']:.0%}",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def hazard_peaks(runs: pd.DataFrame, by: str) -> str:
    """At which age the hazard of failure peaks, by ``by`` (Markdown): the age bin, the share of
    failures in the first 26 weeks and the hazard there against the last quarter's."""
    from sim.analysis.calibration import EARLY_WEEKS, hazard_peak_week, weeks_open

    header = [
        by,
        "failures",
        f"within {EARLY_WEEKS} weeks",
        "hazard peaks at (weeks)",
        "peak / last-quarter hazard",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, group in runs.groupby(by, sort=False, observed=True):
        failed = group["outcome"] == "failed"
        if failed.sum() < 2:
            continue
        week, peak, late = hazard_peak_week(group)
        early = float((weeks_open(group)[failed] <= EARLY_WEEKS).mean())
        ratio = f"{peak / late:.1f}" if late > 0 else "n/a"
        lines.append(f"| {label} | {int(failed.sum())} | {early:.1%} | {week} to {week + 4} | {ratio} |")
    return "\n".join(lines)


def paired_table(paired: pd.DataFrame, dims: list[str]) -> str:
    if not len(paired):
        return ""
    ensemble = "failed_diff_lo_total" in paired
    header = [*dims, "pairs", "Δ failed vs baseline (95% CI)", "Δ success vs baseline (95% CI)"]
    if ensemble:  # Monte Carlo only, then with the spread between parameter sets
        header = [*dims, "pairs"]
        for outcome in ("failed", "success"):
            header += [
                f"Δ {outcome} (MC 95% CI)",
                f"Δ {outcome} (MC + parameter sets 95% CI)",
                "between sets",
            ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in paired.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["pairs"]))]
        for outcome in ("failed", "success"):
            cells.append(_points(r[f"{outcome}_diff"], r[f"{outcome}_diff_lo"], r[f"{outcome}_diff_hi"]))
            if ensemble:
                cells.append(
                    f"{100 * r[f'{outcome}_diff_lo_total']:+.1f} to {100 * r[f'{outcome}_diff_hi_total']:+.1f}"
                )
                cells.append(f"{r[f'{outcome}_diff_between_share']:.0%}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _points(mean: float, lo: float, hi: float) -> str:
    """A paired difference in percentage points, or n/a when no pair could be formed."""
    if any(v is None or math.isnan(v) for v in (mean, lo, hi)):
        return "n/a (no pairs)"
    return f"{100 * mean:+.1f} pts ({100 * lo:+.1f} to {100 * hi:+.1f})"


def paired_metrics_table(paired: pd.DataFrame, dims: list[str]) -> str:
    """Paired mean differences of the continuous per-alliance metrics, as Markdown."""
    metrics = [m for m in PAIRED_METRICS if f"{m}_diff" in paired]
    if not len(paired) or not metrics:
        return ""
    header = [*dims, "pairs", *(f"{PAIRED_METRICS[m]} (95% CI)" for m in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in paired.iterrows():
        cells = [str(r[d]) for d in dims] + [str(int(r["pairs"]))]
        for m in metrics:
            digits = {"final_trust": 3, "issues_per_week": 4}.get(m, 2)
            mean, lo, hi = (r[f"{m}_diff{s}"] for s in ("", "_lo", "_hi"))
            cells.append(
                "" if math.isnan(mean) else f"{mean:+.{digits}f} ({lo:+.{digits}f} to {hi:+.{digits}f})"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


FiguresElsewhere = Callable[[Path], Callable[[], "list[Path] | None"]]
"""Starts a study's figures in another process; what it returns waits for them (None: they
could not be drawn there)."""


def build_report(folder: Path, figures_elsewhere: FiguresElsewhere | None = None) -> str:
    """Write the combined table, summaries and figures of a study run; return the printed table.

    ``figures_elsewhere`` draws the figures in another process meanwhile (they take most of
    the report's time); if it cannot, they are drawn here.
    """
    figures_done = figures_elsewhere(folder) if figures_elsewhere is not None else None
    study = load_study(folder)
    folder = study.folder
    meta, dims = study.meta, study.dims
    lines = [f"study {study.name}: {len(study.cells)} cells finished, {len(study.failures)} failed"]
    expected = int(meta.get("cells") or 0)
    missing = expected - len(study.cells) - len(study.failures)
    if missing > 0:  # an interrupted study: its summary covers only what finished
        lines[0] += (
            f", {missing} of {expected} missing (never finished; rerun the study's command to compute them)"
        )
    (folder / "failures.csv").unlink(missing_ok=True)  # from an earlier run into this folder
    if len(study.failures):
        study.failures.to_csv(folder / "failures.csv", index=False)
        for _, f in study.failures.iterrows():
            lines.append(f"  failed cell {f.get('cell', '?')}: {f.get('error', '')}")
    if not len(study.runs):
        text = "\n".join([*lines, "no finished cells: nothing to summarise"])
        (folder / "summary.md").write_text(text + "\n")
        return text
    study.runs.to_parquet(folder / "runs.parquet", index=False)
    summary = summarize(study.runs, dims)
    summary.to_csv(folder / "summary.csv", index=False)
    baseline = meta.get("baseline") or {}
    paired = paired_differences(study.runs, dims, baseline)
    if len(paired):
        paired.to_csv(folder / "paired.csv", index=False)
    table = headline_table(summary, dims)
    pairs = paired_table(paired, dims)
    metric_pairs = paired_metrics_table(paired, dims)
    x, _ = _axes_keys(meta, dims)
    survival_by = meta.get("survival_by") or x
    title = meta.get("title") or study.name
    md = [f"# {title}", "", meta.get("description", "").strip(), "", "## Outcome rates by cell", "", table]
    if meta.get("checks"):
        from sim.analysis.directions import checks_table

        checks, held = checks_table(study.runs, meta["checks"])
        md += ["", "## Checks (paired 95% intervals on the same alliances)", "", checks]
        lines += ["", "checks (paired 95% intervals on the same alliances):", checks]
        lines.append("all checks hold" if held else "SOME CHECKS DO NOT HOLD")
    peaks = hazard_peaks(study.runs, survival_by)
    md += ["", "## When failures happen (hazard by age, 4-week bins from week 0)", "", peaks]
    lines += ["", "when failures happen (hazard by age, 4-week bins from week 0):", peaks]
    if pairs:
        md += ["", "## Paired differences against the baseline (same alliances, same shocks)", "", pairs]
    if metric_pairs:
        md += ["", "## Paired mean differences of per-alliance metrics (95% t intervals)", "", metric_pairs]
    made = figures_done() if figures_done is not None else None
    if made is None:
        made = draw_figures(folder, study, summary)
    md += ["", "## Figures", ""] + [f"![{p.stem}](figures/{p.name})" for p in made]
    (folder / "summary.md").write_text("\n".join(md) + "\n")
    lines += ["", table]
    if pairs:
        lines += ["", "paired differences against the baseline (same alliances, same shocks):", pairs]
    if metric_pairs:
        lines += ["", "paired mean differences of per-alliance metrics (95% t intervals):", metric_pairs]
    lines += ["", f"results: {folder}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """``alliance-sim-report FOLDER``: rebuild a study's summary and figures from its results."""
    parser = argparse.ArgumentParser(
        prog="alliance-sim-report",
        description="Rebuild a study's summary tables and figures from its finished cells "
        "(nothing is simulated again).",
        epilog="example: alliance-sim-report results/governance_vs_failure/2026-11-30_10-00-00",
    )
    parser.add_argument("folder", type=Path, help="a study run folder, results/<study>/<run>")
    args = parser.parse_args(argv)
    if not (args.folder / "cells").is_dir():
        parser.error(f"{args.folder} is not a study run folder (it has no cells/ folder)")
    try:
        print(build_report(args.folder))
    except StudyError as error:
        print(f"alliance-sim-report: error: {error}", file=sys.stderr)
        sys.exit(1)
    except OSError as error:
        print(
            f"alliance-sim-report: error: cannot write the report into {args.folder}: {error}",
            file=sys.stderr,
        )
        sys.exit(1)


def console_main() -> None:
    """The ``alliance-sim-report`` command: :func:`main`, then a quick exit.

    What is still alive when the report is written is frozen out of the garbage
    collector, so the interpreter's exit skips a final scan of it.
    """
    try:
        main()
    except KeyboardInterrupt:
        print("alliance-sim-report: error: interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        gc.freeze()


if __name__ == "__main__":
    console_main()
