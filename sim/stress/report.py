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
    figure_frontier,
    figure_inputs,
    figure_outcomes,
    figure_survival,
    figure_tornado,
)
from sim.stress.runner import QUICK_PLAN, StressResult
from sim.stress.words import money, percent, points
from sim.stress.words import person_weeks as pw

# ---------------------------------------------------------------- report


def build(result: StressResult, charter_path: Path | None = None) -> dict[str, Any]:
    """Every number of the report, as written to report.json."""
    from sim.stress.decision import (
        checklist_answers,
        costing,
        frontier,
        input_importance,
        option_rows,
        ranking,
        read_back,
        recommendation,
    )
    from sim.stress.words import GLOSSARY

    outcomes = headline(result)
    stressors = stressor_table(result)
    clauses = option_rows(result, "clause")
    bundles = option_rows(result, "bundle")
    points = frontier(result, clauses, bundles)
    quick = result.plan == QUICK_PLAN
    order = ranking(clauses, result.plan.rough)
    warning = early_warning(result)
    charter = result.charter
    ens = result.ensemble
    model = (
        f"the calibrated ensemble ({len(ens.sets)} parameter sets); each Monte Carlo draw takes the next set "
        "in a shuffled order"
        if ens.used
        else "the default calibrated model (no calibrated ensemble was found)"
    )
    cost = costing(result)
    budget = charter.budget
    return {
        "charter": charter.name,
        "charter_file": None if charter_path is None else charter_path.name,
        "seed": result.seed,
        "quick": quick,
        "plan": {
            "draws": result.plan.draws,
            "alliances_per_run": result.plan.n_alliances,
            "severities": list(result.plan.severities),
            "futures_per_draw": result.plan.futures_per_draw,
            "bundles_from": result.plan.bundle_from,
            "runs": len(result.runs),
            "alliances_simulated": int(result.runs["n"].sum()),
        },
        "horizon_weeks": result.horizon_weeks,
        "model": {"ensemble_used": ens.used, "description": model},
        "uncertain_fields": [c for c in result.draws.columns if c not in ("draw", "seed", "parameter_set")],
        "recommendation": recommendation(result, clauses, bundles, points, order["settled"]),
        "ranking": order,
        "failure_probability": outcomes["failed"],
        "outcomes": outcomes,
        "sentences": outcome_sentences(outcomes, result.horizon_weeks),
        "benchmarks": benchmark_table(result),
        "stressors": stressors,
        "clauses": clauses,
        "bundles": bundles,
        "frontier": points,
        "input_importance": input_importance(result),
        "money": {
            "cost_per_person_week": cost.per_person_week,
            "currency": cost.currency or None,
            "shared_budget": None if budget is None else budget.shared_budget,
            "cost_split": None if budget is None else budget.cost_split,
            "revenue_split": None if budget is None else budget.revenue_split,
        },
        "causes": causes_table(result),
        "scenarios": discover_scenarios(result),
        "early_warning": {
            "thresholds": warning["thresholds"],
            "suggested_health_threshold": suggested_threshold(warning["thresholds"]),
        },
        "charter_mapping": read_back(result),
        "checklist_answers": checklist_answers(result),
        "checklist": charter.checklist.model_dump(mode="json")
        | {"prelude_to_larger": charter.alliance.prelude_to_larger},
        "glossary": [{"term": t, "meaning": m} for t, m in GLOSSARY],
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
    money = report["money"]
    rate = money["cost_per_person_week"]
    figures = {
        "outcomes": figure_outcomes(report["outcomes"]),
        "survival": figure_survival(curves),
        "frontier": figure_frontier(report["frontier"], None if rate is None else (money["currency"], rate)),
        "inputs": figure_inputs(report["input_importance"], report["stressors"]),
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
    import base64

    for name, png in figures.items():  # report.md shows the figures the HTML page holds inline
        (out_dir / f"figure-{name.replace('_', '-')}.png").write_bytes(base64.b64decode(png))
    context = {"r": clean, "figures": figures, **helpers(clean)}
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
                "cut_per_person_week": c["cut_per_person_week"],
                "value_rank": c["value_rank"],
                "verdict": c["verdict"],
            }
            for c in report["clauses"]
        ]
    ).to_csv(out / "clauses.csv", index=False)
    pd.DataFrame(
        [
            {
                "change": c["change"],
                **_flat("delta", c["delta_failure"]),
                "effort_person_weeks": c["effort_person_weeks"],
                "effort_setup_person_weeks": c["effort_setup_person_weeks"],
                "effort_recurring_person_weeks": c["effort_recurring_person_weeks"],
                "verdict": c["verdict"],
            }
            for c in report["bundles"]
        ],
        columns=["change", "delta_estimate", "delta_low", "delta_high", "effort_person_weeks",
                 "effort_setup_person_weeks", "effort_recurring_person_weeks", "verdict"],
    ).to_csv(out / "bundles.csv", index=False)  # fmt: skip
    pd.DataFrame(report["frontier"]).to_csv(out / "frontier.csv", index=False)
    pd.DataFrame(
        [
            {
                "field": i["field"],
                "low": i["low"],
                "high": i["high"],
                "failure_at_low": i["failure_at_low"]["estimate"],
                "failure_at_high": i["failure_at_high"]["estimate"],
                **_flat("swing", i["swing"]),
                "share_of_spread": i["share_of_spread"],
            }
            for i in report["input_importance"]
        ],
        columns=["field", "low", "high", "failure_at_low", "failure_at_high", "swing_estimate", "swing_low",
                 "swing_high", "share_of_spread"],
    ).to_csv(out / "input_importance.csv", index=False)  # fmt: skip
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


def helpers(report: dict[str, Any]) -> dict[str, Any]:
    """The templates' formatting functions (percentages, points, effort and its cost)."""
    rate = report["money"]["cost_per_person_week"]
    currency = report["money"]["currency"] or ""

    def cost(person_weeks: float) -> str:
        return "" if rate is None else money(person_weeks * rate, currency)

    def effort(person_weeks: float | None) -> str:
        if person_weeks is None:
            return "n/a"
        text = pw(person_weeks, signed=True)
        return text if rate is None else f"{text} ({money(person_weeks * rate, currency)})"

    def per_week(row: dict[str, Any]) -> str:
        if row["free"]:
            return "free" if row["delta_failure"]["estimate"] < 0 else ""
        value = row["cut_per_person_week"]
        return "" if value is None else f"{100 * value:.2f}"

    return {
        "pct": percent,
        "pts": points,
        "cost": cost,
        "effort": effort,
        "per_week": per_week,
        "pw": lambda v: pw(v, signed=True),
        "money": rate is not None,
    }


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
