"""Global sensitivity analysis (Sobol indices) of the headline failure rate and of the committee's
paired effect, across the calibrated ensemble.

    python experiments/sobol.py                       # defaults: N = 256, 600 alliances per cohort
    python experiments/sobol.py --base 512 --n 1000 --out results/sensitivity

**Inputs** (``sim.analysis.uncertainty``): which calibrated parameter set is right
(``parameter_set``, one of the ensemble's sets, ``results/calibration/ensemble.csv``) and
the uncertain inputs calibration does not fit, each over a range around its default.

**Outputs**: the headline failure rate (the share of alliances that fail, averaged over
handshake, meetings, committee and full; complementary alliances, calm scenario, full
launch, 156 weeks) and the committee's paired effect (its failure rate minus the
handshake's, on the same alliances and draws). Every cohort of every evaluation is
simulated from the same seed (common random numbers).

**Method.** SALib's Sobol sampler (Saltelli's scheme on a scrambled Sobol sequence, fixed
seed; ``N (D + 2)`` evaluations for ``D`` inputs and ``N`` base samples) and SALib's Sobol
analysis: first-order indices ``S1`` (the share of the output's variance an input explains
alone) and total-order indices ``ST`` (alone and in every interaction), each with a 95%
bootstrap interval. Convergence: the indices recomputed from the first ``N/8``, ``N/4``,
``N/2`` and all ``N`` base samples (the samples of a smaller ``N`` are the first rows of a
larger one's).

Writes into ``--out``: ``sobol.csv`` (indices, intervals), ``sobol_convergence.csv``,
``sobol_samples.csv`` (every evaluation's inputs and outputs), ``sobol.png``,
``sobol_convergence.png`` and ``sobol.md``. Same arguments, same ``sobol.csv``, on any
number of worker processes.
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
from SALib.analyze import sobol as sobol_analyze
from SALib.sample import sobol as sobol_sample
from tqdm import tqdm

from sim.analysis.uncertainty import (
    DESIGNS,
    ENSEMBLE_FILE,
    SET_INPUT,
    Ensemble,
    Factor,
    headline_configs,
    headline_outputs,
    point_values,
    read_ensemble,
    uncertain_factors,
)
from sim.cli import ROOT
from sim.params import ConfigError, SimulationConfig
from sim.validation import usable_cores

OUT = ROOT / "results" / "sensitivity"
OUTPUTS = {
    "failure_rate": "headline failure rate",
    "committee_effect": "committee's paired effect on failure",
}
STEPS = (8, 4, 2, 1)  # convergence: N / step base samples
FEWEST_BASE = 8  # fewest base samples an index is computed from
INDEX_COLOURS = {"S1": "#0072B2", "ST": "#E69F00"}  # Okabe-Ito: colour-blind safe


def evaluate(
    configs: Mapping[str, SimulationConfig],
    factors: Sequence[Factor],
    ensemble: Ensemble,
    row: Sequence[float],
) -> dict[str, float]:
    logging.getLogger("MESA").setLevel(logging.WARNING)
    return headline_outputs(configs, point_values(factors, row, ensemble))


def run_all(
    configs: Mapping[str, SimulationConfig],
    factors: Sequence[Factor],
    ensemble: Ensemble,
    X: np.ndarray,
    jobs: int,
    progress: bool,
) -> list[dict[str, float]]:
    """Evaluate every row of ``X`` (in order), in ``jobs`` worker processes, with a progress bar."""
    bar = tqdm(total=len(X), desc="Sobol evaluations", unit="eval", disable=not progress, file=sys.stderr)
    results: list[dict[str, float]] = []
    if jobs == 1:
        for row in X:
            results.append(evaluate(configs, factors, ensemble, row))
            bar.update()
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, return_as="generator", batch_size=8)
        for result in parallel(delayed(evaluate)(configs, factors, ensemble, row) for row in X):
            results.append(result)
            bar.update()
    bar.close()
    return results


def analyse(problem: dict[str, Any], Y: np.ndarray, resamples: int, seed: int) -> pd.DataFrame:
    Si = sobol_analyze.analyze(
        problem, Y, calc_second_order=False, num_resamples=resamples, conf_level=0.95, seed=seed
    )
    return pd.DataFrame(
        {
            "input": problem["names"],
            "S1": Si["S1"],
            "S1_conf": Si["S1_conf"],
            "ST": Si["ST"],
            "ST_conf": Si["ST_conf"],
        }
    )


def plot_indices(table: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(OUTPUTS), figsize=(13, 0.42 * table["input"].nunique() + 2.2), sharey=True
    )
    order = table[table["output"] == "failure_rate"].sort_values("ST", ascending=True)["input"].tolist()
    y = np.arange(len(order))
    for ax, (output, label) in zip(axes, OUTPUTS.items(), strict=True):
        part = table[table["output"] == output].set_index("input").loc[order]
        for offset, index in ((-0.2, "S1"), (0.2, "ST")):
            ax.barh(
                y + offset,
                part[index],
                height=0.38,
                xerr=part[f"{index}_conf"],
                color=INDEX_COLOURS[index],
                capsize=2,
                label={"S1": "first order (alone)", "ST": "total order (with interactions)"}[index],
            )
        ax.set_yticks(y, order)
        ax.set_xlabel("share of the output's variance (95% bootstrap interval)")
        ax.set_title(label)
        ax.axvline(0.0, color="grey", lw=0.8)
        ax.set_xlim(left=min(-0.05, float((part["S1"] - part["S1_conf"]).min()) - 0.02))
    axes[0].legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_convergence(conv: pd.DataFrame, path: Path, top: Sequence[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(OUTPUTS), figsize=(13, 4.6), sharex=True)
    # Okabe-Ito, colour-blind safe, one colour per input in a fixed order
    palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]
    for ax, (output, label) in zip(axes, OUTPUTS.items(), strict=True):
        part = conv[conv["output"] == output]
        for colour, name in zip(palette, top, strict=False):
            line = part[part["input"] == name].sort_values("base_samples")
            ax.errorbar(
                line["base_samples"],
                line["ST"],
                yerr=line["ST_conf"],
                color=colour,
                marker="o",
                capsize=2,
                label=name,
            )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("base samples N (evaluations: N x (inputs + 2))")
        ax.set_ylabel("total-order index ST (95% interval)")
        ax.set_title(label)
    axes[-1].legend(fontsize=8, loc="upper right")
    fig.suptitle("Convergence of the total-order indices with the number of samples")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def findings(table: pd.DataFrame, at_defaults: Mapping[str, float]) -> str:
    lines = []
    for output, label in OUTPUTS.items():
        part = table[table["output"] == output].sort_values("ST", ascending=False)
        top = part.head(3)
        named = ", ".join(f"`{r['input']}` (ST {r['ST']:.2f}, S1 {r['S1']:.2f})" for _, r in top.iterrows())
        interaction = float(part["ST"].sum() - part["S1"].sum())
        value = at_defaults[output]
        shown = f"{100 * value:.1f}%" if output == "failure_rate" else f"{100 * value:+.1f} pts"
        lines.append(
            f"- **{label[0].upper() + label[1:]}** ({shown} at the defaults): {named} explain most of its "
            f"variance; the total-order indices exceed the first-order ones by {interaction:.2f} in all, "
            "the share due to interactions."
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", type=int, default=256, help="base samples N (a power of 2)")
    parser.add_argument("--n", type=int, default=600, help="alliances per cohort")
    parser.add_argument(
        "--seed", type=int, default=2024, help="seed of the cohorts, the sampler and the bootstrap"
    )
    parser.add_argument(
        "--ensemble",
        type=Path,
        default=ROOT / ENSEMBLE_FILE,
        help="ensemble CSV (default: the calibrated one)",
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    parser.add_argument(
        "--jobs", type=int, default=0, help="worker processes (0: one per available core, 1: in this process)"
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    if args.base < 8 or args.base & (args.base - 1):
        parser.error(f"--base {args.base}: must be a power of 2, at least 8")
    if args.n < 1:
        parser.error(f"--n {args.n}: must be at least 1")
    jobs = args.jobs or usable_cores()
    try:
        ensemble = read_ensemble(args.ensemble)
        configs = headline_configs(args.n, args.seed)
        factors = uncertain_factors(configs[DESIGNS[0]])
    except ConfigError as error:
        parser.exit(2, f"sobol: {error}\n")

    logging.getLogger("MESA").setLevel(logging.WARNING)
    started = time.perf_counter()
    problem = {
        "num_vars": len(factors) + 1,
        "names": [SET_INPUT, *(f.label for f in factors)],
        "bounds": [[0.0, float(len(ensemble))], *([f.low, f.high] for f in factors)],
    }
    X = sobol_sample.sample(problem, args.base, calc_second_order=False, seed=args.seed)
    print(
        f"Sobol indices: {problem['num_vars']} inputs ({len(ensemble)} calibrated sets and {len(factors)} "
        f"others), N = {args.base}: {len(X)} evaluations x {len(DESIGNS)} cohorts of {args.n} alliances, "
        f"{jobs} worker(s)",
        file=sys.stderr,
    )
    outputs = run_all(configs, factors, ensemble, X, jobs, progress=not args.no_progress)
    at_defaults = headline_outputs(configs, {})

    tables, convergence = [], []
    D = problem["num_vars"]
    for output in OUTPUTS:
        Y = np.array([o[output] for o in outputs])
        table = analyse(problem, Y, args.resamples, args.seed)
        table.insert(0, "output", output)
        tables.append(table)
        for step in STEPS:
            n_base = args.base // step
            if n_base < FEWEST_BASE:
                continue
            part = analyse(problem, Y[: n_base * (D + 2)], args.resamples, args.seed)
            part.insert(0, "base_samples", n_base)
            part.insert(0, "output", output)
            convergence.append(part)
    indices = pd.concat(tables, ignore_index=True)
    conv = pd.concat(convergence, ignore_index=True)

    args.out.mkdir(parents=True, exist_ok=True)
    indices.to_csv(args.out / "sobol.csv", index=False, float_format="%.6g")
    conv.to_csv(args.out / "sobol_convergence.csv", index=False, float_format="%.6g")
    samples = pd.DataFrame(X, columns=problem["names"])
    samples[SET_INPUT] = np.minimum(len(ensemble) - 1, np.floor(samples[SET_INPUT])).astype(int)
    samples = pd.concat([samples, pd.DataFrame(outputs)], axis=1)
    samples.insert(0, "evaluation", np.arange(len(samples)))
    samples.to_csv(args.out / "sobol_samples.csv", index=False, float_format="%.8g")

    title = (
        f"Sobol indices over the calibrated ensemble ({len(ensemble)} sets) and {len(factors)} inputs; "
        f"N={args.base}, {args.n} alliances per cohort, seed {args.seed}"
    )
    plot_indices(indices, args.out / "sobol.png", title)
    top = (
        indices[indices["output"] == "failure_rate"]
        .sort_values("ST", ascending=False)["input"]
        .head(6)
        .tolist()
    )
    for name in indices[indices["output"] == "committee_effect"].sort_values("ST", ascending=False)["input"]:
        if len(top) >= 8:
            break
        if name not in top:
            top.append(name)
    plot_convergence(conv, args.out / "sobol_convergence.png", top)

    minutes = (time.perf_counter() - started) / 60
    command = "python experiments/sobol.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    ranges = "\n".join(
        f"| `{f.label}` | `{f.name}` | {f.default:.4g} | {f.low:.4g} to {f.high:.4g} |" for f in factors
    )
    rows = []
    for output, label in OUTPUTS.items():
        part = indices[indices["output"] == output].sort_values("ST", ascending=False)
        rows.append(
            f"\n**{label[0].upper() + label[1:]}**\n\n| input | S1 (95% CI) | ST (95% CI) |\n|---|---|---|"
        )
        rows += [
            f"| `{r['input']}` | {r['S1']:.3f} ± {r['S1_conf']:.3f} | {r['ST']:.3f} ± {r['ST_conf']:.3f} |"
            for _, r in part.iterrows()
        ]
    ensemble_path = args.ensemble.relative_to(ROOT) if args.ensemble.is_relative_to(ROOT) else args.ensemble
    summary = f"""# Global sensitivity: Sobol indices of the failure rate and of the committee's effect

{findings(indices, at_defaults)}

**Outputs.** The headline failure rate: the share of alliances that fail (a partner exits
or trust collapses), averaged over the designs {", ".join(DESIGNS)}, for complementary
alliances under the calm scenario with a full launch over 156 weeks; and the committee's
paired effect, its failure rate minus the handshake's on the same alliances and draws
(negative: the committee saves alliances). At the defaults: failure rate
{100 * at_defaults["failure_rate"]:.1f}%, committee's effect {100 * at_defaults["committee_effect"]:+.1f} points.

**Inputs.** `{SET_INPUT}`: which of the {len(ensemble)} calibrated parameter sets of
`{ensemble_path}` is right (each reproduces the patterns P1 to P9; the input picks one with
equal chances), and the inputs calibration does not fit:

| input | parameter | default | range |
|---|---|---|---|
{ranges}

**Method.** SALib's Sobol sampling (Saltelli's scheme, scrambled Sobol sequence, seed
{args.seed}), {args.base} base samples, {len(X)} evaluations of {len(DESIGNS)} cohorts of
{args.n} alliances, all from seed {args.seed}. SALib's Sobol analysis: S1 is the share of
an output's variance an input explains alone, ST the share it takes part in, interactions
included; 95% bootstrap intervals ({args.resamples} resamples). `sobol_convergence.png`
shows the total-order indices from {args.base // 8}, {args.base // 4}, {args.base // 2} and
{args.base} base samples: where the intervals of successive sizes overlap and shrink, the
indices have settled.

{chr(10).join(rows)}

Regenerate with `{command}` ({minutes:.1f} minutes on this machine, {jobs} worker(s)).
"""
    (args.out / "sobol.md").write_text(summary)
    print(f"wrote {args.out} in {minutes:.1f} min", file=sys.stderr)


if __name__ == "__main__":
    main()
