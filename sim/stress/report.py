"""The stress test's report: numbers (report.json, CSVs), words (report.md) and one HTML page.

Every interval is a 95% interval over the Monte Carlo draws (a t interval of the
draw-level values, so it carries both the alliances' chance and the spread of
the charter's ranges and of the calibrated ensemble), widened for a share to at
least the Wilson interval of the pooled counts. Differences (stressors, clause
changes) are paired within a draw: the same alliances under the same shocks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.stress.analysis import (
    _condition_words,
    benchmark_table,
    causes_table,
    clause_table,
    discover_scenarios,
    early_warning,
    headline,
    outcome_sentences,
    stressor_table,
    suggested_threshold,
    survival_curves,
)
from sim.stress.figures import (
    figure_causes,
    figure_clauses,
    figure_early_warning,
    figure_outcomes,
    figure_survival,
    figure_tornado,
)
from sim.stress.runner import QUICK_PLAN, StressResult

# ---------------------------------------------------------------- report


def build(result: StressResult, charter_path: Path | None = None) -> dict[str, Any]:
    """Every number of the report, as written to report.json."""
    outcomes = headline(result)
    stressors = stressor_table(result)
    clauses = clause_table(result)
    warning = early_warning(result)
    charter = result.charter
    ens = result.ensemble
    model = (
        f"the calibrated ensemble ({len(ens.sets)} parameter sets from {ens.path}), each Monte Carlo draw takes the next set in a shuffled order"
        if ens.used
        else "the default calibrated model (configs/; no calibrated ensemble found at results/calibration/ensemble.csv)"
    )
    return {
        "charter": charter.name,
        "charter_file": None if charter_path is None else str(charter_path),
        "seed": result.seed,
        "quick": result.plan == QUICK_PLAN,
        "plan": {
            "draws": result.plan.draws,
            "alliances_per_run": result.plan.n_alliances,
            "severities": list(result.plan.severities),
            "futures_per_draw": result.plan.futures_per_draw,
            "runs": len(result.runs),
            "alliances_simulated": int(result.runs["n"].sum()),
        },
        "horizon_weeks": result.horizon_weeks,
        "model": {"ensemble_used": ens.used, "description": model},
        "uncertain_fields": [c for c in result.draws.columns if c not in ("draw", "seed", "parameter_set")],
        "failure_probability": outcomes["failed"],
        "outcomes": outcomes,
        "sentences": outcome_sentences(outcomes, result.horizon_weeks),
        "benchmarks": benchmark_table(result),
        "stressors": stressors,
        "clauses": clauses,
        "causes": causes_table(result),
        "scenarios": discover_scenarios(result),
        "early_warning": {
            "thresholds": warning["thresholds"],
            "suggested_health_threshold": suggested_threshold(warning["thresholds"]),
        },
        "checklist": charter.checklist.model_dump(mode="json")
        | {"prelude_to_larger": charter.alliance.prelude_to_larger},
        "_warning_series": warning["series"],
    }


def write_report(result: StressResult, out_dir: Path, charter_path: Path | None = None) -> dict[str, Any]:
    """Write report.html, report.json, report.md and the CSVs into ``out_dir``; returns report.json's content."""
    import matplotlib

    matplotlib.use("Agg")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build(result, charter_path)
    series = report.pop("_warning_series")
    curves = survival_curves(result)
    figures = {
        "outcomes": figure_outcomes(report["outcomes"]),
        "survival": figure_survival(curves),
        "tornado": figure_tornado(report["stressors"]),
        "clauses": figure_clauses(report["clauses"]),
        "causes": figure_causes(report["causes"]),
        "early_warning": figure_early_warning({"series": series}),
    }
    clean = _finite(report)
    (out_dir / "report.json").write_text(json.dumps(clean, indent=2) + "\n")
    from sim.analysis.output import git_revision, package_versions

    provenance = {"seed": result.seed, "git_revision": git_revision(), "packages": package_versions()}
    (out_dir / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    _write_csvs(result, report, curves, pd.DataFrame(series), out_dir)
    context = {"r": clean, "figures": figures, "pct": _pct, "pts": _pts}
    (out_dir / "report.md").write_text(_render("report.md.j2", context))
    (out_dir / "report.html").write_text(_render("report.html.j2", context))
    return clean


def _write_csvs(
    result: StressResult, report: dict[str, Any], curves: pd.DataFrame, series: pd.DataFrame, out: Path
) -> None:
    outcomes = pd.DataFrame([{"outcome": k, **v} for k, v in report["outcomes"].items()])
    outcomes.to_csv(out / "outcomes.csv", index=False)
    pd.DataFrame(
        [
            {
                "name": s["name"],
                "severity": s["severity"],
                **_flat("failure", s["failure_probability"]),
                **_flat("delta", s["delta_failure"]),
                "note": s["note"],
            }
            for s in report["stressors"]
        ]
    ).to_csv(out / "stressors.csv", index=False)
    pd.DataFrame(
        [
            {
                "rank": c["rank"],
                "change": c["change"],
                **_flat("delta", c["delta_failure"]),
                "effort_person_weeks": c["effort_person_weeks"],
                "effort_setup_person_weeks": c["effort_setup_person_weeks"],
                "effort_recurring_person_weeks": c["effort_recurring_person_weeks"],
                "verdict": c["verdict"],
            }
            for c in report["clauses"]
        ]
    ).to_csv(out / "clauses.csv", index=False)
    pd.DataFrame(
        [{"name": b["name"], **_flat("failure", b["failure_probability"])} for b in report["benchmarks"]]
    ).to_csv(out / "benchmarks.csv", index=False)
    pd.DataFrame(report["causes"], columns=["cause", "failures", "share"]).to_csv(
        out / "causes.csv", index=False
    )
    curves.to_csv(out / "survival.csv", index=False)
    series.to_csv(out / "early_warning.csv", index=False)
    pd.DataFrame(report["early_warning"]["thresholds"]).to_csv(out / "health_thresholds.csv", index=False)
    pd.DataFrame(
        [
            {
                "box": i + 1,
                "failure_rate": b["failure_rate"],
                "futures": b["futures"],
                "conditions": " and ".join(_condition_words(c) for c in b["conditions"]),
            }
            for i, b in enumerate(report["scenarios"]["boxes"])
        ]
    ).to_csv(out / "scenarios.csv", index=False)
    result.runs.to_csv(out / "runs.csv", index=False)
    result.draws.to_csv(out / "draws.csv", index=False)


def _flat(prefix: str, value: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}_{k}": v for k, v in value.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _pts(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:+.1f} pts"


MARKDOWN_SPECIAL = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        "|": "\\|",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "*": "\\*",
        "\\": "\\\\",
    }
)


def markdown_text(value: Any) -> Any:
    """A value as Markdown shows it literally: no HTML, no table break, no link or emphasis
    (every ``{{ }}`` of the Markdown template passes through here)."""
    return value.translate(MARKDOWN_SPECIAL) if isinstance(value, str) else value


def _render(name: str, context: dict[str, Any]) -> str:
    """Render a template; every value is escaped for the page it lands in (HTML or Markdown),
    so a charter's text is shown, never run."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    html = name.endswith(".html.j2")
    env = Environment(
        loader=PackageLoader("sim.stress", "templates"),
        autoescape=html,
        finalize=None if html else markdown_text,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**context)
