"""``alliance-stress CHARTER.yaml [--out DIR] [--seed N] [--quick] [--workers N]``: a charter in, a risk report out."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from pathlib import Path

from sim.params import ConfigError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="alliance-stress",
        description="Stress-test an alliance charter before signing: failure probability under stress, "
        "and which clause changes help most.",
    )
    parser.add_argument("charter", type=Path, help="the charter file (YAML; see docs/charter.md)")
    parser.add_argument(
        "--out", type=Path, default=None, help="report folder (default: stress-<charter name>)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo (default 0)")
    parser.add_argument("--quick", action="store_true", help="a rougher report in a few seconds")
    parser.add_argument(
        "--ensemble",
        type=Path,
        default=None,
        help="calibrated ensemble CSV (default: results/calibration/ensemble.csv if present)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that run cohorts at once (default 1: on a machine without idle cores, "
        "starting workers costs more than they save); the report is the same for any number",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def fail(message: str) -> int:
    print(f"alliance-stress: error: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    args = parse_args(argv)
    if args.seed < 0:
        return fail(f"--seed = {args.seed}: must be an integer >= 0")
    if args.workers < 1:
        return fail(f"--workers = {args.workers}: must be an integer >= 1")
    from sim.stress.charter import CharterError, load_charter

    try:
        charter = load_charter(args.charter)
    except CharterError as error:
        return fail(str(error))
    logging.getLogger("MESA").setLevel(logging.WARNING)
    from tqdm import tqdm

    from sim.config import load_config
    from sim.stress.mapping import config_groups
    from sim.stress.runner import (
        DEFAULT_PLAN,
        QUICK_PLAN,
        find_ensemble,
        load_ensemble,
        run_stress,
    )

    plan = QUICK_PLAN if args.quick else DEFAULT_PLAN
    try:
        base = load_config([*config_groups(charter), f"horizon_weeks={charter.horizon_weeks}"])
        ensemble = load_ensemble(find_ensemble(args.ensemble), base)
    except ConfigError as error:
        return fail(str(error))
    out = args.out if args.out is not None else Path(f"stress-{args.charter.stem}")
    bar = tqdm(total=None, desc="stress test", unit="run", file=sys.stderr, disable=args.no_progress)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    result = run_stress(charter, plan, args.seed, base, ensemble, progress=progress, workers=args.workers)
    bar.close()
    from sim.stress.report import write_report

    report = write_report(result, out, args.charter)
    p = report["failure_probability"]
    print(report["sentences"]["failed"])
    best = [c for c in report["clauses"] if c["verdict"] == "helps"][:3]
    if best:
        print(
            "clause changes that help most: "
            + "; ".join(f"{c['change']} ({100 * c['delta_failure']['estimate']:+.1f} pts)" for c in best)
        )
    print(
        f"failure probability {p['estimate']:.1%} (95% interval {p['low']:.1%} to {p['high']:.1%}); "
        f"report in {out}/report.html ({time.perf_counter() - started:.1f} s, simulation {result.elapsed_s:.1f} s)"
    )
    return 0


def console_main() -> None:
    code = main()
    sys.stdout.flush()
    gc.freeze()  # skip the final collector pass over everything the run allocated
    sys.exit(code)


if __name__ == "__main__":
    console_main()
