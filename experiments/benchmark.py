"""Benchmark the two engines side by side, then the vectorized engine at scale.

    python experiments/benchmark.py [--repeats 5] [--sizes 1000 10000 100000]

Both engines run the model as the command line does by default: the calibrated
configuration composed from ``configs/`` (``alliance-sim`` with no overrides),
not the uncalibrated priors of ``sim.params``.

1. Both engines on the same 1,000-alliance cohort over 156 weeks, in this
   process, alternating, several repetitions; the median of each gives the
   speed-up (this machine is shared and noisy, so only ratios measured in one
   run are meaningful).
2. The vectorized engine alone at each size, in a fresh subprocess per size so
   that its peak resident memory is its own (median of up to ``--repeats`` runs
   within a budget of 10 million alliance-weeks per size); time per
   alliance-week shows whether cost scales linearly.

The last line printed is one JSON object with ``reference_s``,
``vectorized_s``, ``speedup``, ``scaling`` (seconds per alliance-week by size)
and ``peak_rss_mb`` (by size).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import resource
import statistics
import subprocess
import sys
import time

from sim.cli import load_config
from sim.params import SimulationConfig
from sim.runner import run_cohort

HORIZON = 156


@functools.cache
def default_config() -> SimulationConfig:
    """The configuration ``alliance-sim`` runs with no overrides (composed once, untimed)."""
    return load_config([])


def time_engine(engine: str, n: int, seed: int) -> float:
    config = default_config().replace(n_alliances=n, horizon_weeks=HORIZON, seed=seed, engine=engine)
    gc.collect()  # every timed run starts with no garbage pending from what ran before
    start = time.perf_counter()
    run_cohort(config)
    return time.perf_counter() - start


SCALE_BUDGET = 10**7
"""Alliance-weeks a child spends on repetitions: small cohorts are timed several times
(the median is kept, as in the side-by-side timing), 100,000 alliances once."""


def measure_scale(n: int, seed: int, repeats: int) -> dict[str, float]:
    """Run in a child process: time a vectorized cohort (median of up to ``repeats`` runs
    within the budget) and report the process's peak RSS."""
    time_engine("vectorized", 50, seed)  # warm imports and caches, as in the side-by-side timing
    runs = max(1, min(repeats, SCALE_BUDGET // (n * HORIZON)))
    seconds = statistics.median(time_engine("vectorized", n, seed) for _ in range(runs))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "runs": runs, "peak_rss_mb": peak_kb / 1024.0}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of each timing (median kept)")
    parser.add_argument(
        "--compare-size", type=int, default=1000, help="cohort size of the side-by-side timing"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure_scale(args.child, args.seed, args.repeats)))
        return

    n = args.compare_size
    reference, vectorized = [], []
    time_engine("vectorized", 50, args.seed)  # warm imports and caches for both
    for rep in range(args.repeats):
        reference.append(time_engine("reference", n, args.seed))
        vectorized.append(time_engine("vectorized", n, args.seed))
        print(
            f"[{rep + 1}/{args.repeats}] {n} alliances x {HORIZON} weeks: "
            f"reference {reference[-1]:.2f} s, vectorized {vectorized[-1]:.3f} s",
            flush=True,
        )
    ref_s, vec_s = statistics.median(reference), statistics.median(vectorized)
    print(
        f"median: reference {ref_s:.2f} s, vectorized {vec_s:.3f} s, speed-up {ref_s / vec_s:.1f}x",
        flush=True,
    )

    scaling, peak = {}, {}
    for size in args.sizes:
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(size),
                "--seed",
                str(args.seed),
                "--repeats",
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        measured = json.loads(child.stdout.strip().splitlines()[-1])
        per = measured["seconds"] / (size * HORIZON)
        scaling[str(size)] = per
        peak[str(size)] = round(measured["peak_rss_mb"], 1)
        print(
            f"vectorized {size:>7} alliances: {measured['seconds']:.2f} s, "
            f"{per * 1e6:.3f} us per alliance-week, peak RSS {measured['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    print(
        json.dumps(
            {
                "compare_size": n,
                "horizon_weeks": HORIZON,
                "repeats": args.repeats,
                "reference_s": ref_s,
                "vectorized_s": vec_s,
                "speedup": ref_s / vec_s,
                "reference_runs_s": reference,
                "vectorized_runs_s": vectorized,
                "scaling": scaling,
                "scaling_ratio_max_min": max(scaling.values()) / min(scaling.values()),
                "peak_rss_mb": peak,
            }
        )
    )


if __name__ == "__main__":
    main()
