"""``alliance-stress CHARTER.yaml [--out DIR] [--seed N] [--quick] [--workers N]``: a charter in, a risk report out."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sim.params import ConfigError
from sim.pipes import say

if TYPE_CHECKING:
    from sim.stress.runner import StressInterrupted


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="alliance-stress",
        description="Stress-test an alliance charter before signing: failure probability under stress, "
        "and which clause changes help most.",
    )
    parser.add_argument("charter", type=Path, help="the charter file (YAML; see docs/charter.md)")
    parser.add_argument(
        "--out", type=str, default=None, help="report folder (default: stress-<charter name>)"
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
    from sim.engines import threads
    from sim.folders import FolderError, check_writable, write_or_rescue
    from sim.stress.mapping import config_groups
    from sim.stress.runner import (
        DEFAULT_PLAN,
        QUICK_PLAN,
        StressInterrupted,
        find_ensemble,
        load_ensemble,
        run_stress,
    )
    from sim.validation import check_workers

    plan = QUICK_PLAN if args.quick else DEFAULT_PLAN
    out = Path(f"stress-{args.charter.stem}")
    try:
        out = check_writable(args.out if args.out is not None else out, "--out")
        threads()  # a bad ALLIANCE_SIM_THREADS stops here, before any run
        base = load_config([*config_groups(charter), f"horizon_weeks={charter.horizon_weeks}"])
        ensemble = load_ensemble(find_ensemble(args.ensemble), base)
        check_workers(args.workers, base.replace(n_alliances=plan.n_alliances))
    except (ConfigError, FolderError) as error:
        return fail(str(error))
    bar = tqdm(total=None, desc="stress test", unit="run", file=sys.stderr, disable=args.no_progress)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        result = run_stress(charter, plan, args.seed, base, ensemble, progress=progress, workers=args.workers)
    except StressInterrupted as stopped:
        bar.close()
        return interrupted(stopped, out)
    bar.close()
    from sim.stress.report import write_report

    try:
        report = write_or_rescue(
            lambda d: write_report(result, d, args.charter), out, "alliance-stress-report-"
        )
    except FolderError as error:
        print(f"alliance-stress: error: {error}", file=sys.stderr)
        return 1
    p = report["failure_probability"]
    say(
        report["sentences"]["failed"],
        report["recommendation"]["sentence"],
        *([f"Warning: {report['ranking']['warning']}"] if report["ranking"]["warning"] else []),
        f"failure probability {p['estimate']:.1%} (95% interval {p['low']:.1%} to {p['high']:.1%}); "
        f"report in {out}/report.html ({time.perf_counter() - started:.1f} s, simulation {result.elapsed_s:.1f} s)",
    )
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: stop, keep what is finished, exit 143."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def interrupted(stopped: StressInterrupted, out: Path) -> int:
    """Keep the runs finished before an interrupt, say where in one line; the exit status."""
    from sim.folders import FolderError, write_or_rescue

    def keep(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        stopped.finished.to_csv(folder / "runs-interrupted.csv", index=False)
        return folder / "runs-interrupted.csv"

    if stopped.finished.empty:
        print(
            "alliance-stress: error: interrupted before any run finished; no report was written",
            file=sys.stderr,
        )
        return 143 if isinstance(stopped.signal, Terminated) else 130
    done = f"{len(stopped.finished)} of {stopped.total} runs"
    try:
        kept = f"the {done} finished are kept in {write_or_rescue(keep, out, 'alliance-stress-runs-')}"
    except FolderError as error:
        kept = f"{done} finished, not kept: {error}"
    print(f"alliance-stress: error: interrupted; {kept}", file=sys.stderr)
    return 143 if isinstance(stopped.signal, Terminated) else 130


def console_main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    from sim.pipes import reader_gone

    try:
        code = main()
        sys.stdout.flush()
    except KeyboardInterrupt as stop:  # before or after the runs: nothing to keep
        print("alliance-stress: error: interrupted; no report was written", file=sys.stderr)
        code = 143 if isinstance(stop, Terminated) else 130
    except BrokenPipeError:
        reader_gone()
    gc.freeze()  # skip the final collector pass over everything the run allocated
    sys.exit(code)


if __name__ == "__main__":
    console_main()
