"""Screening sensitivity analysis (Morris elementary effects) of the headline failure rate.

    python experiments/sensitivity.py                      # defaults: 10 trajectories, 600 alliances
    python experiments/sensitivity.py --trajectories 20 --n 1000 --out results/sensitivity

**Output.** The *headline failure rate* is the share of alliances that fail (a
partner exits or trust collapses; outcome ``failed``), averaged over the four
named governance designs (handshake, meetings, committee, full) for
complementary alliances under the default calm scenario over 156 weeks. Every
cohort of every evaluation is simulated from the same seed (common random
numbers), so two evaluations differ only by their parameters.

**Inputs.** Each uncertain parameter varies over a range around its current
default, read at run time from ``sim.load_config`` (so the ranges follow
the calibrated defaults): by default from 0.5x to 1.5x the default, clipped to
the range the parameter's dataclass field allows; integer parameters are rounded
when applied. Two exceptions: ``optimism``, which can sit near zero, by an
absolute +-0.15, and ``complementarity``, by 0.75x to 1.25x (a complementary
alliance well below 0.6 would be less complementary than a co-opetition, 0.65).

**Method.** SALib's Morris sampler (4 levels, fixed seed) builds ``trajectories``
one-at-a-time paths through the unit hypercube; SALib's Morris analysis gives
each parameter's mean elementary effect ``mu``, the mean of its absolute values
``mu_star`` (with a bootstrap confidence interval, fixed seed) and their spread
``sigma`` (non-linearity or interactions). An elementary effect is the change in
the failure rate per step of 2/3 of the parameter's range, so effects are
comparable across parameters.

Writes into ``--out``: ``morris.csv``, ``samples.csv`` (inputs and outputs of
every evaluation), ``morris.png`` and ``summary.md``. Same arguments, same
``morris.csv``: sampling, bootstrap and cohorts are all seeded, and the
evaluations are independent of how they are spread over worker processes.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample
from tqdm import tqdm

from sim.analysis.calibration import apply_overrides
from sim.analysis.uncertainty import make_factor
from sim.cli import ROOT
from sim.config import load_config
from sim.params import ConfigError, SimulationConfig
from sim.runner import run_cohort
from sim.validation import usable_cores

DESIGNS = ("handshake", "meetings", "committee", "full")
BASE = ["alliance=complementary", "scenario=calm", "launch=full", "horizon_weeks=156"]
OUT = ROOT / "results" / "sensitivity"
NUM_LEVELS = 4
FAILED = "failed"
LABELLED = 8  # points named in the scatter plot (all are in the bar chart)

# parameter -> (low, high) as multiples of the default, or ("abs", -d, +d) as an absolute span
RELATIVE = (0.5, 1.5)
PARAMETERS: dict[str, tuple[Any, ...]] = {
    # friction
    "dynamics.base_issue_rate": RELATIVE,
    "dynamics.w_incentive": RELATIVE,
    # issue resolution
    "dynamics.adhoc_resolve": RELATIVE,
    "dynamics.rights_meeting_resolve": RELATIVE,
    # trust
    "dynamics.trust_per_aged_issue": RELATIVE,
    "dynamics.trust_per_gap": RELATIVE,
    "dynamics.opportunism_rate": RELATIVE,
    "dynamics.collapse_trust": RELATIVE,
    # maturity
    "dynamics.routine_rate": RELATIVE,
    "dynamics.strategy_anchoring": RELATIVE,
    # value and expectations
    "dynamics.effort_cost": RELATIVE,
    "dynamics.optimism": ("abs", -0.15, 0.15),
    # exit
    "dynamics.exit_patience": RELATIVE,
    # market
    "market.strategy_spread": RELATIVE,
    "market.culture_spread": RELATIVE,
    "market.outside_option_mean": RELATIVE,
    # environment
    "scenario.shock_rate": RELATIVE,
    "scenario.shock_scale": RELATIVE,
    # alliance
    "alliance.complementarity": (0.75, 1.25),
    "alliance.objective_value": RELATIVE,
}


def resolve_parameters(selection: str | None) -> dict[str, tuple[Any, ...]]:
    """The parameters to screen: all of PARAMETERS, or a comma-separated subset (dotted or bare
    names; a dotted name not in PARAMETERS is varied over 0.5x to 1.5x its default)."""
    if not selection:
        return dict(PARAMETERS)
    by_bare = {name.split(".", 1)[1]: name for name in PARAMETERS}
    chosen: dict[str, tuple[Any, ...]] = {}
    for raw in selection.split(","):
        item = raw.strip()
        if not item:
            continue
        name = item if "." in item else by_bare.get(item)
        if name is None:
            raise SystemExit(f"sensitivity: unknown parameter {item!r}; known: {', '.join(PARAMETERS)}")
        chosen[name] = PARAMETERS.get(name, RELATIVE)
    if len(chosen) < 2:
        raise SystemExit("sensitivity: --parameters needs at least two parameters")
    return chosen


def base_configs(n_alliances: int, seed: int) -> dict[str, SimulationConfig]:
    """The four cohorts of the headline, all from the same seed."""
    return {
        design: load_config([*BASE, f"governance={design}", f"n_alliances={n_alliances}", f"seed={seed}"])
        for design in DESIGNS
    }


def evaluate(configs: Mapping[str, SimulationConfig], values: Mapping[str, Any]) -> dict[str, float]:
    """Failure rate (and share not successful) of each design with ``values`` applied."""
    logging.getLogger("MESA").setLevel(logging.WARNING)
    out: dict[str, float] = {}
    for design, config in configs.items():
        outcome = run_cohort(apply_overrides(config, values)).alliances["outcome"]
        out[f"failed_{design}"] = float((outcome == FAILED).mean())
        out[f"not_successful_{design}"] = float((outcome != "success").mean())
    out["failure_rate"] = float(np.mean([out[f"failed_{d}"] for d in DESIGNS]))
    out["not_successful"] = float(np.mean([out[f"not_successful_{d}"] for d in DESIGNS]))
    return out


def run_all(
    configs: Mapping[str, SimulationConfig], points: list[dict[str, Any]], jobs: int, progress: bool
) -> list[dict[str, float]]:
    """Evaluate every point (in order), in ``jobs`` worker processes, with a progress bar."""
    bar = tqdm(
        total=len(points), desc="Morris evaluations", unit="eval", disable=not progress, file=sys.stderr
    )
    results: list[dict[str, float]] = []
    if jobs == 1:
        for values in points:
            results.append(evaluate(configs, values))
            bar.update()
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, return_as="generator", batch_size=1)
        for result in parallel(delayed(evaluate)(configs, values) for values in points):
            results.append(result)
            bar.update()
    bar.close()
    return results


def plot(table: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = table.sort_values(["mu_star", "parameter"], ascending=[True, False])
    labels = [p.split(".", 1)[1] for p in ordered["parameter"]]
    fig, (bars, scatter) = plt.subplots(1, 2, figsize=(13, max(4.5, 0.32 * len(table) + 1.5)))
    y = np.arange(len(ordered))
    bars.barh(y, 100 * ordered["mu_star"], xerr=100 * ordered["mu_star_conf"], color="#4c72b0", capsize=3)
    bars.set_yticks(y, labels)
    bars.set_xlabel("mu* (percentage points of failure rate per 2/3 of the range)")
    bars.set_title("Mean absolute elementary effect, 95% bootstrap CI")
    bars.set_xlim(left=0)

    colors = np.where(table["mu"] >= 0, "#c44e52", "#4c72b0")
    scatter.scatter(100 * table["mu_star"], 100 * table["sigma"], c=colors, s=30)
    for _, row in table.nlargest(LABELLED, "mu_star").iterrows():
        scatter.annotate(
            row["parameter"].split(".", 1)[1],
            (100 * row["mu_star"], 100 * row["sigma"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    top = 100 * max(float(table["mu_star"].max()), float(table["sigma"].max()), 1e-6) * 1.1
    scatter.plot([0, top], [0, top], color="grey", lw=0.8, ls="--")
    scatter.set_xlim(0, top)
    scatter.set_ylim(0, top)
    scatter.set_xlabel("mu* (percentage points)")
    scatter.set_ylabel("sigma (percentage points)")
    scatter.set_title(f"mu* against sigma (red: raises failure, blue: lowers it; top {LABELLED} named)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def findings(table: pd.DataFrame, base_rate: float) -> str:
    """Two or three sentences on what matters most."""
    ranked = table.sort_values("rank")
    top = ranked.head(3)

    def describe(row: pd.Series) -> str:
        direction = "raises" if row["mu"] > 0 else "lowers"
        if abs(row["mu"]) < 0.5 * row["mu_star"]:
            direction = "moves (in both directions)"
        return f"`{row['parameter']}` ({direction} it; mu* {100 * row['mu_star']:.1f} pts)"

    lead = ", ".join(describe(row) for _, row in top.iterrows())
    total = ranked["mu_star"].sum()
    share = top["mu_star"].sum() / total if total > 0 else float("nan")
    text = (
        f"The headline failure rate ({100 * base_rate:.1f}% at the defaults) is most sensitive to {lead}; "
        f"these three carry {100 * share:.0f}% of the summed mu*."
    )
    interacting = ranked[(ranked["sigma"] > ranked["mu_star"]) & (ranked["mu_star"] > 0.01)]
    if len(interacting):
        names = ", ".join(f"`{p}`" for p in interacting["parameter"])
        text += f" Effects with sigma above mu* (non-linear or interacting): {names}."
    small = ranked[ranked["mu_star"] < 0.005]
    if len(small):
        names = ", ".join(f"`{p}`" for p in small["parameter"])
        text += f" Negligible over their ranges (mu* below half a point): {names}."
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trajectories", type=int, default=10, help="Morris trajectories (r)")
    parser.add_argument("--n", type=int, default=600, help="alliances per cohort")
    parser.add_argument(
        "--seed", type=int, default=2024, help="seed of the cohorts, the sampler and the bootstrap"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    parser.add_argument(
        "--parameters", default=None, help="comma-separated subset of the parameters (dotted or bare names)"
    )
    parser.add_argument(
        "--resamples", type=int, default=1000, help="bootstrap resamples for the mu* interval"
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="worker processes (0: one per available core, 1: in this process)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.trajectories < 2:
        parser.error("--trajectories must be at least 2")
    if args.n < 1:
        parser.error("--n must be at least 1")
    jobs = args.jobs or usable_cores()

    logging.getLogger("MESA").setLevel(logging.WARNING)
    started = time.perf_counter()
    selection = resolve_parameters(args.parameters)
    configs = base_configs(args.n, args.seed)
    reference = configs[DESIGNS[0]]
    try:
        factors = [make_factor(reference, name, spec) for name, spec in selection.items()]
    except ConfigError as error:
        raise SystemExit(f"sensitivity: {error}") from None
    problem = {
        "num_vars": len(factors),
        "names": [f.name for f in factors],
        "bounds": [[f.low, f.high] for f in factors],
    }
    X = morris_sample.sample(problem, args.trajectories, num_levels=NUM_LEVELS, seed=args.seed)
    points = [{f.name: f.value(x) for f, x in zip(factors, row, strict=True)} for row in X]

    # identical points (possible when trajectories cross) are simulated once
    keys = [tuple(p.values()) for p in points]
    unique = list(dict.fromkeys(keys))
    print(
        f"Morris screening: {len(factors)} parameters, {args.trajectories} trajectories, "
        f"{len(points)} points ({len(unique)} distinct) x {len(DESIGNS)} cohorts of {args.n} alliances, "
        f"{jobs} worker(s)",
        file=sys.stderr,
    )
    distinct = [dict(zip(problem["names"], key, strict=True)) for key in unique]
    results = run_all(configs, distinct, jobs, progress=not args.no_progress)
    by_key = dict(zip(unique, results, strict=True))
    outputs = [by_key[k] for k in keys]
    at_defaults = evaluate(configs, {})
    Y = np.array([o["failure_rate"] for o in outputs])

    Si = morris_analyze.analyze(
        problem, X, Y, num_resamples=args.resamples, conf_level=0.95, num_levels=NUM_LEVELS, seed=args.seed
    )
    table = pd.DataFrame(
        {
            "parameter": problem["names"],
            "mu": np.asarray(Si["mu"], dtype=float),
            "mu_star": np.asarray(Si["mu_star"], dtype=float),
            "mu_star_conf": np.asarray(Si["mu_star_conf"], dtype=float),
            "sigma": np.asarray(Si["sigma"], dtype=float),
        }
    )
    table["rank"] = table["mu_star"].rank(method="min", ascending=False).astype(int)
    table = table.sort_values(["rank", "parameter"]).reset_index(drop=True)

    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "morris.csv", index=False, float_format="%.10g")

    samples = pd.DataFrame(points)
    samples.insert(0, "trajectory", np.arange(len(points)) // (len(factors) + 1))
    samples.insert(0, "evaluation", np.arange(len(points)))
    samples = pd.concat([samples, pd.DataFrame(outputs)], axis=1)
    samples.to_csv(args.out / "samples.csv", index=False, float_format="%.10g")

    title = (
        f"Morris screening of the failure rate (mean of {', '.join(DESIGNS)}; complementary, calm, 156 weeks); "
        f"r={args.trajectories}, n={args.n}, seed={args.seed}"
    )
    plot(table, args.out / "morris.png", title)
    minutes = (time.perf_counter() - started) / 60

    command = "python experiments/sensitivity.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    factor_of = {f.name: f for f in factors}
    rows = "\n".join(
        f"| {r['rank']} | `{r['parameter']}` | {factor_of[r['parameter']].default:.4g} "
        f"| {factor_of[r['parameter']].low:.4g} to {factor_of[r['parameter']].high:.4g} "
        f"| {100 * r['mu_star']:.2f} ± {100 * r['mu_star_conf']:.2f} | {100 * r['mu']:+.2f} | {100 * r['sigma']:.2f} |"
        for _, r in table.iterrows()
    )
    range_note = "0.5x to 1.5x the current default" + "".join(
        f"; {f.label}: "
        + (f"{spec[1]:+g} to {spec[2]:+g}" if spec[0] == "abs" else f"{spec[0]:g}x to {spec[1]:g}x")
        for f in factors
        if (spec := selection[f.name]) != RELATIVE
    )
    per_design = ", ".join(f"{d} {100 * at_defaults[f'failed_{d}']:.1f}%" for d in DESIGNS)
    summary = f"""# Sensitivity screening: Morris elementary effects of the failure rate

{findings(table, at_defaults["failure_rate"])}

**Output.** The headline failure rate: the share of alliances that fail (a partner
exits or trust collapses), averaged over the governance designs {", ".join(DESIGNS)},
for complementary alliances under the calm scenario with a full launch over 156
weeks. At the current defaults it is {100 * at_defaults["failure_rate"]:.1f}% ({per_design}).

**Method.** SALib Morris sampling ({NUM_LEVELS} levels) and analysis; mu* is the
mean absolute elementary effect, with a 95% bootstrap interval ({args.resamples}
resamples), mu its signed mean (positive: the parameter raises failure) and sigma
the spread of the effects (non-linearity or interactions). Effects are in
percentage points of failure rate per step of 2/3 of the parameter's range.
Ranges (each clipped to the parameter's allowed range; integers rounded):
{range_note}.

| rank | parameter | default | range | mu* (pts, 95% CI) | mu (pts) | sigma (pts) |
|---|---|---|---|---|---|---|
{rows}

## Settings

- command: `{command}`
- trajectories: {args.trajectories}; parameters: {len(factors)}; model evaluations:
  {len(points)} ({len(unique)} distinct), each {len(DESIGNS)} cohorts of {args.n} alliances
- seed: {args.seed} (cohorts, Morris sampler and bootstrap); every cohort uses the same seed
- runtime: {minutes:.1f} minutes with {jobs} worker(s)
- files: `morris.csv` (parameters ranked by mu*), `samples.csv` (every evaluation: inputs,
  failure rate and share not successful per design), `morris.png`
"""
    (args.out / "summary.md").write_text(summary)
    print(table.to_string(index=False))
    print(f"wrote {args.out} in {minutes:.1f} minutes", file=sys.stderr)


if __name__ == "__main__":
    main()
