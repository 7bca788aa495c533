"""What the model does over one, three and ten years: outcomes and the hazard of failure by age.

    python experiments/horizons.py                       # 4,000 alliances per cohort, seed 20261207
    python experiments/horizons.py --n 1000 --out /tmp/horizons

Complementary alliances in the calm market under three designs (a handshake, the
steering committee, the full framework) are simulated from one seed (common random
numbers) over 52, 156 and 520 weeks. The first weeks of the longer runs are those of
the shorter ones (the model is causal); the outcomes differ because objectives are
judged at each horizon and scaled to its length.

Writes into ``--out``: ``outcomes.csv`` (each design and horizon, every outcome's share
with its 95% Wilson interval), ``hazard.csv`` (the yearly failure hazard over ten years,
a life table), ``hazard_ten_years.png`` (the yearly hazard, and the smoothed weekly
hazard over ten years) and ``summary.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim import load_config, run_cohort
from sim.analysis.calibration import yearly_hazard
from sim.analysis.study_figures import _durations, design_colours, smoothed_hazard
from sim.analysis.summaries import wilson
from sim.vocabulary import OUTCOMES

ROOT = Path(__file__).resolve().parent.parent
DESIGNS = ("handshake", "committee", "full")
HORIZONS = (52, 156, 520)


def outcome_rows(table: pd.DataFrame, design: str, horizon: int) -> list[dict[str, object]]:
    n = len(table)
    rows = []
    for outcome in OUTCOMES:
        k = int((table["outcome"] == outcome.value).sum())
        lo, hi = wilson(k, n)
        rows.append(
            {
                "governance": design,
                "horizon_weeks": horizon,
                "outcome": outcome.value,
                "share": k / n,
                "low": lo,
                "high": hi,
            }
        )
    return rows


def plot(tables: dict[str, pd.DataFrame], hazard: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = design_colours(list(DESIGNS), "governance")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6))
    years = np.arange(1, 11)
    for design in DESIGNS:
        rows = hazard[hazard["governance"] == design]
        left.plot(years, rows["hazard"], marker="o", label=design, color=colours[design])
        durations, events = _durations(tables[design], 520)
        weekly = smoothed_hazard(durations, events, 520, 13.0)
        right.plot(weekly.index, weekly.to_numpy(), label=design, color=colours[design])
    left.set_xticks(years)
    left.set_xlabel("year of alliance age")
    left.set_ylabel("yearly failure hazard\n(failures in the year / alive at its start)")
    left.set_title("Yearly hazard of failure (life table)")
    right.set_xlabel("alliance age (weeks)")
    right.set_ylabel("weekly hazard of failure")
    right.set_xlim(0, 520)
    right.set_title("Weekly hazard (Nelson-Aalen, 13-week Epanechnikov kernel)")
    for ax in (left, right):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(title="governance", frameon=False)
    n = len(next(iter(tables.values())))
    fig.suptitle(f"Complementary alliances in a calm market over ten years, {n:,} per design, one seed")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary(outcomes: pd.DataFrame, hazard: pd.DataFrame, n: int, seed: int) -> str:
    lines = [
        "# Over one, three and ten years",
        "",
        f"Complementary alliances in the calm market, {n:,} per cohort, seed {seed} (the same "
        "alliances and shocks for every design and horizon). Regenerate with "
        "`python experiments/horizons.py`.",
        "",
        "## Outcomes (95% Wilson intervals)",
        "",
        "| governance | horizon | success | underperforming | failed | terminated |",
        "|---|---|---|---|---|---|",
    ]
    for (design, horizon), group in outcomes.groupby(["governance", "horizon_weeks"], sort=False):
        cells = [
            f"{100 * r.share:.1f}% ({100 * r.low:.1f} to {100 * r.high:.1f})" for r in group.itertuples()
        ]
        lines.append(f"| {design} | {horizon} weeks | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Yearly failure hazard over ten years",
        "",
        "Failures in each year of age over the alliances alive at its start.",
        "",
        "| year | " + " | ".join(DESIGNS) + " |",
        "|---" * (len(DESIGNS) + 1) + "|",
    ]
    for year in range(1, 11):
        rows = hazard[hazard["year"] == year].set_index("governance")
        cells = [f"{rows.loc[d, 'hazard']:.3f} ({int(rows.loc[d, 'at_risk'])})" for d in DESIGNS]
        lines.append(f"| {year} | " + " | ".join(cells) + " |")
    lines += ["", "![Hazard of failure over ten years](hazard_ten_years.png)", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=4000, help="alliances per cohort")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "horizons")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    outcomes: list[dict[str, object]] = []
    ten_years: dict[str, pd.DataFrame] = {}
    for design in DESIGNS:
        for horizon in HORIZONS:
            config = load_config(
                [
                    f"governance={design}",
                    f"horizon_weeks={horizon}",
                    f"n_alliances={args.n}",
                    f"seed={args.seed}",
                ]
            )
            table = run_cohort(config).alliances
            outcomes += outcome_rows(table, design, horizon)
            if horizon == 520:
                ten_years[design] = table
            print(f"[{time.perf_counter() - started:5.1f} s] {design}, {horizon} weeks", file=sys.stderr)
    hazard_rows = []
    for design, table in ten_years.items():
        hazard, at_risk = yearly_hazard(table)
        hazard_rows += [
            {"governance": design, "year": y + 1, "hazard": h, "at_risk": int(a)}
            for y, (h, a) in enumerate(zip(hazard, at_risk, strict=True))
        ]
    outcome_table, hazard_table = pd.DataFrame(outcomes), pd.DataFrame(hazard_rows)
    outcome_table.to_csv(args.out / "outcomes.csv", index=False)
    hazard_table.to_csv(args.out / "hazard.csv", index=False)
    plot(ten_years, hazard_table, args.out / "hazard_ten_years.png")
    text = summary(outcome_table, hazard_table, args.n, args.seed)
    (args.out / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
