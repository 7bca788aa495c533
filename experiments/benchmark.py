"""Benchmark the two engines side by side, then the vectorized engine at scale.

    python experiments/benchmark.py [--repeats 5] [--sizes 1000 10000 100000] [--against REV]
                                    [--no-cores] [--no-headline]

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

3. With ``--against REV``: the vectorized engine of revision ``REV`` of this
   repository (checked out into a temporary git worktree, removed afterwards)
   against the vectorized engine of this checkout, at 10,000 alliances over 156
   weeks. Each timing runs in a fresh subprocess of this interpreter with
   ``PYTHONPATH`` set to the source tree under test (the child reports which
   ``sim`` it imported, and the run stops if it is not that tree); the child
   composes that tree's default configuration, runs it once untimed (numba
   compilation, caches) and then times one run. The two trees alternate, in
   turns of reversed order, for ``--repeats`` rounds; the medians are compared.
4. The first run after an install: a fresh process with an empty cache of
   compiled code runs 1,000 alliances (imports, composition, compilation
   included), then the same process again with the cache filled.

5. Two cores against one: the cohort engine at 20,000 alliances in a fresh child
   pinned to one core (``taskset -c 0``) and to two (``taskset -c 0,1``),
   alternating, ``--repeats`` times (``--no-cores`` leaves it out).
6. The README's main job, ``alliance-sim -m +experiment=governance_vs_failure``,
   as a user runs it, each time from an empty folder (so no cell is reused): the
   first run after set-up (an empty cache of compiled code filled by ``python -m
   sim.warm``, as ``scripts/setup.sh`` does; ``setup_compile_s``), the same with nothing
   compiled ahead (``headline_first_nothing_compiled_s``), then warm, ``--repeats`` times, alternating with the same command on one core
   (``ALLIANCE_SIM_THREADS=1``: no worker process) and under the calibrated
   ensemble (``ensemble=calibrated``) (``--no-headline`` leaves it out).

The last line printed is one JSON object with ``reference_s``,
``vectorized_s``, ``speedup``, ``scaling`` (seconds per alliance-week by size)
``peak_rss_mb`` (by size), ``first_run_s`` and ``cached_run_s``; with ``--against`` also ``against_rev``,
``against_vectorized_s`` (that revision's median), ``vectorized_10k_s`` (this
checkout's median) and ``against_ratio`` (the revision's time over this
checkout's: above 1 means this checkout is faster); ``one_core_s``, ``two_cores_s`` and ``two_core_ratio``;
``headline_first_s``, ``headline_warm_s``, ``headline_one_core_s`` and
``headline_ensemble_warm_s`` (medians); and ``goals``, each speed and memory goal
(:data:`GOALS`) met or not, with ``goals_met`` true when all are.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim import SimulationConfig, load_config, run_cohort

HORIZON = 156
ROOT = Path(__file__).resolve().parent.parent
"""The source tree of this checkout."""
AGAINST_SIZE = 10_000
"""Cohort size at which ``--against`` compares two revisions' vectorized engines."""


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


def measure_tree(n: int, seed: int) -> dict[str, object]:
    """Run in a child process: one untimed warm-up run, then one timed run, of the default
    configuration with the vectorized engine; report which ``sim`` was imported."""
    import sim

    time_engine("vectorized", n, seed)  # warm-up: numba compilation or cache loading, first touches
    seconds = time_engine("vectorized", n, seed)
    config = json.dumps(default_config().to_dict(), sort_keys=True)
    return {
        "seconds": seconds,
        "sim_file": sim.__file__,
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
    }


CORES_SIZE = 20_000
"""Cohort size at which one core and two are compared."""


def measure_cores(repeats: int, seed: int) -> dict[str, Any]:
    """The cohort engine at ``CORES_SIZE`` alliances on one core (``taskset -c 0``) and on two
    (``taskset -c 0,1``), each in a fresh child, alternating; medians and their ratio."""
    if not shutil.which("taskset") or len(os.sched_getaffinity(0)) < 2:
        print("two-core scaling: needs taskset and two cores; skipped", flush=True)
        return {}
    times: dict[str, list[float]] = {"one": [], "two": []}
    for rep in range(repeats):
        order = [("one", "0"), ("two", "0,1")]
        for which, cpus in order if rep % 2 == 0 else order[::-1]:
            child = subprocess.run(
                [
                    "taskset",
                    "-c",
                    cpus,
                    sys.executable,
                    __file__,
                    "--child",
                    str(CORES_SIZE),
                    "--seed",
                    str(seed),
                    "--repeats",
                    "1",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            times[which].append(json.loads(child.stdout.strip().splitlines()[-1])["seconds"])
        print(
            f"[{rep + 1}/{repeats}] {CORES_SIZE} alliances: one core {times['one'][-1]:.3f} s, "
            f"two cores {times['two'][-1]:.3f} s",
            flush=True,
        )
    one, two = statistics.median(times["one"]), statistics.median(times["two"])
    print(f"median: one core {one:.3f} s, two cores {two:.3f} s, {one / two:.2f}x", flush=True)
    return {"one_core_s": one, "two_cores_s": two, "two_core_ratio": one / two, "cores_size": CORES_SIZE}


FIRST_RUN = """
import time
start = time.perf_counter()
from sim import load_config, run_cohort
run_cohort(load_config(["n_alliances=1000"]))
print(time.perf_counter() - start)
"""


def measure_first_run() -> dict[str, float]:
    """What the first run after an install costs: a fresh process with an empty cache of
    compiled code (imports, composing the configuration, compiling, 1,000 alliances), then
    the same process again once the cache is filled."""
    cache = Path(tempfile.mkdtemp(prefix="alliance-sim-cache-"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    try:
        runs = []
        for _ in range(2):
            child = subprocess.run(
                [sys.executable, "-c", FIRST_RUN], env=env, capture_output=True, text=True, check=True
            )
            runs.append(float(child.stdout.strip().splitlines()[-1]))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(
        f"first run after an install: {runs[0]:.1f} s; the same run once compiled: {runs[1]:.1f} s",
        flush=True,
    )
    return {"first_run_s": runs[0], "cached_run_s": runs[1]}


HEADLINE = ["-m", "sim.cli", "-m", "+experiment=governance_vs_failure"]


def time_headline(extra: tuple[str, ...] = (), **env: str) -> float:
    """The headline study run from an empty folder, in a fresh process; its wall time."""
    folder = Path(tempfile.mkdtemp(prefix="alliance-sim-headline-"))
    try:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                *HEADLINE,
                *extra,
                f"hydra.sweep.dir={folder}/results/governance_vs_failure/run",
            ],
            cwd=folder,
            env={**os.environ, **env},
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - start
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def measure_headline(repeats: int) -> dict[str, Any]:
    """The headline study: first run after an install (empty cache of compiled code), then
    warm, alternating two cores (with the worker process), one (without) and two under the
    calibrated ensemble (``ensemble=calibrated``)."""
    cache = Path(tempfile.mkdtemp(prefix="alliance-sim-cache-"))
    try:
        first_cold = time_headline(NUMBA_CACHE_DIR=str(cache))
        shutil.rmtree(cache)
        started = time.perf_counter()  # set-up compiles the model (scripts/setup.sh runs sim.warm)
        subprocess.run(
            [sys.executable, "-m", "sim.warm"],
            env={**os.environ, "NUMBA_CACHE_DIR": str(cache)},
            capture_output=True,
            check=True,
        )
        setup_compile = time.perf_counter() - started
        first = time_headline(NUMBA_CACHE_DIR=str(cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print(
        f"headline study, first run after set-up: {first:.1f} s (set-up compiled the model in "
        f"{setup_compile:.1f} s; with nothing compiled ahead: {first_cold:.1f} s)",
        flush=True,
    )
    time_headline()  # fills the usual cache of compiled code
    time_headline(extra=("ensemble=calibrated",))
    warm: list[float] = []
    one_core: list[float] = []
    ensemble: list[float] = []
    for rep in range(repeats):
        order: list[tuple[list[float], dict[str, str], tuple[str, ...]]] = [
            (warm, {}, ()),
            (one_core, {"ALLIANCE_SIM_THREADS": "1"}, ()),
            (ensemble, {}, ("ensemble=calibrated",)),
        ]
        for runs, env, extra in order if rep % 2 == 0 else order[::-1]:
            runs.append(time_headline(extra=extra, **env))
        print(
            f"[{rep + 1}/{repeats}] headline study warm: {warm[-1]:.2f} s, on one core {one_core[-1]:.2f} s, "
            f"under the calibrated ensemble {ensemble[-1]:.2f} s",
            flush=True,
        )
    warm_s, one_s, ens_s = statistics.median(warm), statistics.median(one_core), statistics.median(ensemble)
    print(
        f"median: headline study warm {warm_s:.2f} s, on one core {one_s:.2f} s, "
        f"under the calibrated ensemble {ens_s:.2f} s",
        flush=True,
    )
    return {
        "headline_first_s": first,
        "headline_first_nothing_compiled_s": first_cold,
        "setup_compile_s": setup_compile,
        "headline_warm_s": warm_s,
        "headline_one_core_s": one_s,
        "headline_ensemble_warm_s": ens_s,
        "headline_warm_runs_s": warm,
        "headline_one_core_runs_s": one_core,
        "headline_ensemble_runs_s": ensemble,
    }


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def time_tree(tree: Path, seed: int) -> dict[str, Any]:
    """Time the vectorized engine of the source tree ``tree`` in a fresh subprocess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    child = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child-tree",
            str(AGAINST_SIZE),
            "--seed",
            str(seed),
        ],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        raise RuntimeError(f"timing {tree} failed:\n{child.stderr}")
    measured = json.loads(child.stdout.strip().splitlines()[-1])
    imported = Path(measured["sim_file"]).resolve()
    if not imported.is_relative_to(tree.resolve()):
        raise RuntimeError(f"the child timing {tree} imported sim from {imported}")
    return measured


def resolve(rev: str) -> str:
    """The commit that ``rev`` names in this repository."""
    return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")


def compare_against(rev: str, sha: str, repeats: int, seed: int) -> dict[str, object]:
    """Time commit ``sha`` (named ``rev``)'s vectorized engine against this checkout's, alternating."""
    workdir = Path(tempfile.mkdtemp(prefix="alliance-sim-against-"))
    other = workdir / "tree"
    git("worktree", "add", "--detach", str(other), sha)
    try:
        trees = {"against": other, "current": ROOT}
        times: dict[str, list[float]] = {"against": [], "current": []}
        configs: dict[str, str] = {}
        for rep in range(repeats):
            order = ["against", "current"] if rep % 2 == 0 else ["current", "against"]
            for which in order:
                measured = time_tree(trees[which], seed)
                if which not in configs:
                    print(f"{which} ({trees[which]}): sim imported from {measured['sim_file']}", flush=True)
                configs[which] = str(measured["config_sha256"])
                times[which].append(float(measured["seconds"]))
            print(
                f"[{rep + 1}/{repeats}] vectorized {AGAINST_SIZE} alliances x {HORIZON} weeks: "
                f"{rev} ({sha[:10]}) {times['against'][-1]:.3f} s, "
                f"this checkout {times['current'][-1]:.3f} s",
                flush=True,
            )
    finally:
        for cleanup in (["worktree", "remove", "--force", str(other)], ["worktree", "prune"]):
            subprocess.run(["git", *cleanup], cwd=ROOT, capture_output=True, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
    same_config = configs["against"] == configs["current"]
    if not same_config:
        print(f"warning: {rev} composes a different default configuration than this checkout", flush=True)
    old_s, new_s = statistics.median(times["against"]), statistics.median(times["current"])
    print(
        f"median: {rev} {old_s:.3f} s, this checkout {new_s:.3f} s, ratio {old_s / new_s:.3f}",
        flush=True,
    )
    return {
        "against_rev": sha,
        "against_vectorized_s": old_s,
        "vectorized_10k_s": new_s,
        "against_ratio": old_s / new_s,
        "against_runs_s": times["against"],
        "vectorized_10k_runs_s": times["current"],
        "against_same_config": same_config,
    }


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
    parser.add_argument(
        "--against",
        metavar="REV",
        help="also time this git revision's vectorized engine against this checkout's (10,000 alliances)",
    )
    parser.add_argument(
        "--no-headline",
        action="store_true",
        help="leave out the headline study's timings (first run and warm)",
    )
    parser.add_argument(
        "--no-cores", action="store_true", help="leave out the one-core against two-core timing"
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-tree", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(measure_scale(args.child, args.seed, args.repeats)))
        return
    if args.child_tree is not None:
        print(json.dumps(measure_tree(args.child_tree, args.seed)))
        return
    against_sha = None
    if args.against:
        try:
            against_sha = resolve(args.against)
        except subprocess.CalledProcessError:
            parser.error(f"--against {args.against}: not a commit of {ROOT}")

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
    first = measure_first_run()
    against = compare_against(args.against, against_sha, args.repeats, args.seed) if against_sha else {}
    cores = {} if args.no_cores else measure_cores(args.repeats, args.seed)
    headline = {} if args.no_headline else measure_headline(args.repeats)
    measured = {"speedup": ref_s / vec_s, "scaling": scaling, "peak_rss_mb": peak, **cores, **headline}
    goals = goals_met(measured)
    for name, (value, met) in goals.items():
        print(f"goal {name}: {value} {'met' if met else 'NOT MET'}", flush=True)
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
                **first,
                **against,
                **cores,
                **headline,
                "goals": {name: met for name, (_, met) in goals.items()},
                "goals_met": all(met for _, met in goals.values()),
            }
        )
    )


GOALS = {
    "speedup_at_least_400": ("speedup", 400.0, ">="),
    "us_per_alliance_week_10000_at_most_0.15": ("scaling.10000", 0.15e-6, "<="),
    "us_per_alliance_week_100000_at_most_0.15": ("scaling.100000", 0.15e-6, "<="),
    "two_cores_at_least_1.7x_one": ("two_core_ratio", 1.7, ">="),
    "peak_rss_100000_under_1024_mb": ("peak_rss_mb.100000", 1024.0, "<"),
    "headline_warm_under_3_s": ("headline_warm_s", 3.0, "<"),
    "headline_first_under_15_s": ("headline_first_s", 15.0, "<"),
    "headline_ensemble_warm_under_8_s": ("headline_ensemble_warm_s", 8.0, "<"),
}
"""The speed and memory goals: what is measured, the bound, and which side of it meets it."""


def goals_met(measured: dict[str, Any]) -> dict[str, tuple[Any, bool]]:
    """Each goal whose figure was measured (sizes and timings left out are not judged): the
    figure and whether it meets its bound."""
    out: dict[str, tuple[Any, bool]] = {}
    for name, (path, bound, side) in GOALS.items():
        value: Any = measured
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        met = value >= bound if side == ">=" else value <= bound if side == "<=" else value < bound
        shown = f"{value * 1e6:.3f} us" if path.startswith("scaling") else f"{value:.3g}"
        out[name] = (shown, bool(met))
    return out


if __name__ == "__main__":
    main()
