"""The stress test's Monte Carlo: every run of one charter, on common random numbers.

A Monte Carlo *draw* fixes everything uncertain about the charter: a value for
each of its ranges and, when the calibrated ensemble exists
(``results/calibration/ensemble.csv``), one of its parameter sets. Within a draw,
the charter as written, the two benchmarks, every stressor at every severity,
every single clause change and the sampled futures all run the same alliances
from the same seed, so every comparison within a draw is paired.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.params import ConfigError, SimulationConfig
from sim.stress.charter import Charter
from sim.stress.mapping import charter_with, draw_charter, model_overrides, nest, uncertain_fields
from sim.stress.stressors import (
    CALM,
    SEVERITIES,
    STRESSORS,
    ClauseChange,
    clause_changes,
    config_file,
    get_setting,
    sample_future,
)
from sim.vocabulary import OUTCOMES, Cause

ENSEMBLE_FILE = Path("results") / "calibration" / "ensemble.csv"
"""Where the calibration writes its ensemble (one row a parameter set)."""


@dataclass(frozen=True)
class Plan:
    """How much to simulate: draws x alliances per run, which severities, how many futures, and
    how many of the best single clause changes are combined into bundles of two and three."""

    draws: int
    n_alliances: int
    severities: tuple[str, ...]
    futures_per_draw: int
    bundle_from: int = 5
    """The single changes that cut failure most (at most this many) are combined in pairs and
    triples; 0: no bundles."""

    @property
    def rough(self) -> bool:
        """Fewer draws or smaller cohorts than the default report: its verdicts are provisional."""
        return self.draws < DEFAULT_PLAN.draws or self.n_alliances < DEFAULT_PLAN.n_alliances


DEFAULT_PLAN = Plan(draws=8, n_alliances=250, severities=SEVERITIES, futures_per_draw=4, bundle_from=5)
"""The full report (experiments/stress_timing.py measures both plans)."""
QUICK_PLAN = Plan(draws=3, n_alliances=80, severities=("moderate",), futures_per_draw=0, bundle_from=4)
"""One severity per stressor, smaller cohorts, no extra futures: for iterating on a draft."""

FEATURES = (
    "scenario.shock_scale",
    "scenario.shock_rate",
    "scenario.volatility",
    "scenario.value_trend",
    "scenario.episode_weeks",
    "dynamics.contact_hazard",
    "dynamics.strategy_drift",
    "market.culture_spread",
    "market.strategy_spread",
    "dynamics.measurement_spread",
    "market.capacity_sd",
    "market.outside_option_mean",
    "dynamics.initial_institutionalisation",
    "alliance.complementarity",
    "alliance.capability_overlap",
    "alliance.integration_complexity",
)
"""Settings recorded with every run, for scenario discovery (those that never vary are dropped)."""


@dataclass
class Ensemble:
    """The calibrated ensemble's parameter sets as dotted overrides, or none (the default model)."""

    path: Path | None
    names: list[str] = field(default_factory=list)
    sets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def used(self) -> bool:
        return bool(self.sets)


def find_ensemble(explicit: Path | None = None) -> Path | None:
    """The ensemble file: the one given, else the checkout's or the working folder's, if present."""
    if explicit is not None:
        return explicit
    from sim.defaults import CHECKOUT

    for candidate in (Path.cwd() / ENSEMBLE_FILE, CHECKOUT / ENSEMBLE_FILE):
        if candidate.is_file():
            return candidate
    return None


def load_ensemble(path: Path | None, base: SimulationConfig) -> Ensemble:
    """Read the ensemble and check every parameter set against the model's schema now."""
    if path is None:
        return Ensemble(None)
    try:
        table = pd.read_csv(path, dtype={"parameter_set": str})
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read the calibrated ensemble: {error}") from None
    if "parameter_set" not in table.columns or table.empty:
        raise ConfigError(f"{path}: the ensemble needs a parameter_set column and at least one row")
    keys = [c for c in table.columns if c != "parameter_set" and not c.startswith("pattern.")]
    sets = []
    for _, row in table.iterrows():
        overrides = for_alliance_type({k: _plain(row[k]) for k in keys}, base.alliance.type.value)
        try:
            base.replace(**nest(overrides))
        except ConfigError as error:
            raise ConfigError(f"{path}, parameter set {row['parameter_set']}: {error}") from None
        sets.append(overrides)
    return Ensemble(path, [str(v) for v in table["parameter_set"]], sets)


def for_alliance_type(values: dict[str, Any], kind: str) -> dict[str, Any]:
    """A parameter set's settings for an alliance of type ``kind``: a setting calibrated per type
    (``alliance.<type>.<name>``, e.g. each type's objective value) is taken for this type as
    ``alliance.<name>``, and the other types' are left out."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        parts = key.split(".")
        if parts[0] == "alliance" and len(parts) == 3:
            if parts[1] == kind:
                out[f"alliance.{parts[2]}"] = value
        else:
            out[key] = value
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


@dataclass(frozen=True)
class RunSpec:
    """One cohort to simulate: what it is and the settings it changes over the draw's charter."""

    kind: str  # charter, benchmark, calm, stressor, clause, input, future, bundle
    name: str
    severity: str
    overrides: dict[str, Any]
    note: str = ""  # why it cannot change the results, in words ('' when it can)


@dataclass
class StressResult:
    """Everything the report reads: run-level rows, alliance-level rows, trajectories."""

    charter: Charter
    plan: Plan
    seed: int
    horizon_weeks: int
    runs: pd.DataFrame
    alliances: pd.DataFrame
    trust: np.ndarray  # (draws * n, weeks): the charter as written
    health: np.ndarray
    draws: pd.DataFrame
    ensemble: Ensemble
    clauses: list[ClauseChange]
    failed: dict[tuple[str, str, str, int], np.ndarray] = field(default_factory=dict)
    """(kind, name, severity, draw) -> which alliances of that run failed, for paired intervals."""
    elapsed_s: float = 0.0
    bundles: list[ClauseChange] = field(default_factory=list)
    """The bundles of two and three single changes tried (kind ``bundle`` in ``runs``)."""
    mapped: list[dict[str, Any]] = field(default_factory=list)
    """Each draw's model settings read from the charter (the read-back of the mapping)."""


def draw_seed(seed: int, draw: int) -> int:
    """The model seed of a draw: independent streams for every (seed, draw)."""
    return int(np.random.SeedSequence([seed, draw]).generate_state(1, dtype=np.uint64)[0] >> 1)


def full_framework(base: SimulationConfig) -> SimulationConfig:
    """The charter's alliance under the full framework with the standard triggers (configs/)."""
    return base.replace(
        governance=config_file("governance", "full"), triggers=config_file("triggers", "standard")
    )


def benchmark_overrides(full: SimulationConfig) -> dict[str, dict[str, Any]]:
    """The same partners on a handshake, and under the full framework (configs/governance/)."""
    handshake: dict[str, Any] = {
        f"governance.{k}": False for k, v in full.governance.to_dict().items() if isinstance(v, bool)
    }
    handshake.update(
        {
            "governance.meeting_cadence": "none",
            "governance.health_check_weeks": 0,
            "triggers.enabled": False,
        }
    )
    framework = {
        f"governance.{k}": v for k, v in full.governance.to_dict().items() if k not in ("name", "sunset_week")
    }
    framework.update({f"triggers.{k}": v for k, v in full.triggers.to_dict().items()})
    return {"handshake": handshake, "full framework": framework}


def plan_runs(charter_config: SimulationConfig, full: SimulationConfig, plan: Plan) -> list[RunSpec]:
    """The runs of one draw, after the charter as written (which comes first)."""
    specs = [RunSpec("charter", "charter as written", "", {})]
    for name, overrides in benchmark_overrides(full).items():
        specs.append(RunSpec("benchmark", name, "", overrides))
    specs.append(RunSpec("calm", "calm baseline", "none", dict(CALM)))
    for stressor in STRESSORS:
        for severity in plan.severities:
            specs.append(
                RunSpec(
                    "stressor",
                    stressor.name,
                    severity,
                    stressor.overrides(charter_config, severity),
                    stressor.note(charter_config, severity),
                )
            )
    for change in clause_changes(charter_config):
        specs.append(RunSpec("clause", change.change, "", change.overrides))
    return specs


@dataclass
class RunOutcome:
    """What one simulated cohort leaves for the report (small enough to send between processes)."""

    row: dict[str, Any]
    failed: np.ndarray
    alliances: pd.DataFrame | None
    trust: np.ndarray | None
    health: np.ndarray | None


def simulate(spec: RunSpec, config: SimulationConfig, draw: int) -> RunOutcome:
    """One cohort of one draw, start to horizon; trajectories are kept for the charter as written."""
    from sim.engines.cohort import CohortRun

    run = CohortRun(config)
    n = config.n_alliances
    record = spec.kind == "charter"
    t_series = np.full((n, config.horizon_weeks), np.nan) if record else None
    h_series = np.full((n, config.horizon_weeks), np.nan) if record else None
    while run.running:
        week = run.week_index
        run.step()
        if t_series is not None and h_series is not None:
            t_series[:, week] = run.state.alliances["trust"]
            h_series[:, week] = run.state.alliances["health"]
    a = run.state.alliances
    outcome = np.asarray(a["outcome"])
    row: dict[str, Any] = {
        "draw": draw,
        "kind": spec.kind,
        "name": spec.name,
        "severity": spec.severity,
        "note": spec.note,
        "n": len(outcome),
        "effort_setup": float(np.mean(a["effort_setup"])),
        "effort_proactive": float(np.mean(a["effort_proactive"])),
        "effort_reactive": float(np.mean(a["effort_reactive"])),
    }
    for i, o in enumerate(OUTCOMES):
        row[o.value] = int(np.sum(outcome == i))
    for key in FEATURES:
        row[key] = float(get_setting(config, key))
    frame = None
    if spec.kind in ("charter", "benchmark"):
        frame = pd.DataFrame(
            {
                "draw": draw,
                "run": spec.name,
                "alliance": np.arange(len(outcome)),
                "outcome": [OUTCOMES[i].value for i in outcome],
                "end_week": np.asarray(a["end_week"]),
                "failure_cause": [Cause(c).label if c >= 0 else "" for c in np.asarray(a["failure_cause"])],
                "effort_proactive": np.asarray(a["effort_proactive"]),
            }
        )
    failed = outcome == [o.value for o in OUTCOMES].index("failed")
    return RunOutcome(row, failed, frame, t_series, h_series)


class StressInterrupted(Exception):
    """The stress test was stopped (Ctrl-C, SIGTERM): the runs finished so far, and how many
    there were to run; ``signal`` is the interrupt that stopped it."""

    def __init__(self, finished: pd.DataFrame, total: int, signal: KeyboardInterrupt) -> None:
        super().__init__(f"interrupted after {len(finished)} of {total} runs")
        self.finished = finished
        self.total = total
        self.signal = signal


def simulate_batch(jobs: list[tuple[RunSpec, SimulationConfig, int]]) -> list[RunOutcome]:
    """Several cohorts in one worker call: fewer, larger messages between processes."""
    return [simulate(*job) for job in jobs]


def input_runs(
    charter: Charter, drawn: dict[str, float], overrides: dict[str, Any], alliance_defaults: dict[str, Any]
) -> list[RunSpec]:
    """Each of the charter's ranges at its low and at its high end, the others as drawn: how
    much of the spread in failure each of the manager's own uncertainties explains."""
    specs = []
    for path, span in uncertain_fields(charter):
        for side, value in (("low", span.low), ("high", span.high)):
            moved = charter_with(charter, {**drawn, path: value})
            mapped = model_overrides(moved, alliance_defaults)
            changed = {k: v for k, v in mapped.items() if overrides.get(k) != v}
            specs.append(RunSpec("input", path, side, changed))
    return specs


def bundle_candidates(
    outcomes: dict[tuple[str, str, str, int], np.ndarray], names: list[str], most: int
) -> list[str]:
    """The single changes that cut failure (pooled over the draws, paired), best first, at most ``most``."""
    cuts = []
    for name in names:
        keys = [k for k in outcomes if k[0] == "clause" and k[1] == name]
        changed = sum(
            int(np.sum(outcomes[k])) - int(np.sum(outcomes[("charter", "charter as written", "", k[3])]))
            for k in keys
        )
        if changed < 0:
            cuts.append((changed, names.index(name), name))
    return [name for _, _, name in sorted(cuts)[:most]]


def bundles(changes: list[ClauseChange], chosen: list[str]) -> list[ClauseChange]:
    """Every pair and triple of the ``chosen`` changes that touch different settings."""
    by_name = {c.change: c for c in changes}
    out = []
    for size in (2, 3):
        for group in itertools.combinations(chosen, size):
            parts = [by_name[name] for name in group]
            keys = [k for part in parts for k in part.overrides]
            if len(keys) != len(set(keys)):
                continue  # two changes of one clause (tighten and remove): not a bundle
            merged: dict[str, Any] = {}
            for part in parts:
                merged.update(part.overrides)
            out.append(ClauseChange(" + ".join(group), merged))
    return out


def run_stress(
    charter: Charter,
    plan: Plan,
    seed: int,
    base: SimulationConfig,
    ensemble: Ensemble,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> StressResult:
    """Simulate every run of every draw; ``base`` is the composed config of the charter's groups.

    First every run of every draw (the charter, benchmarks, stressors, single clause changes,
    the charter's ranges at their ends, futures); then bundles of the single changes that cut
    failure most, on the same draws. With ``workers`` > 1 the cohorts run in that many
    processes; results are gathered in the order of the runs, so the result is the same for
    any number of workers."""
    started = time.perf_counter()
    full = full_framework(base)
    alliance_defaults = base.alliance.to_dict()
    base = base.replace(n_alliances=plan.n_alliances)
    draw_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    order = np.random.default_rng(np.random.SeedSequence([seed, 0xE5])).permutation(
        max(1, len(ensemble.sets))
    )
    draw_rows: list[dict[str, Any]] = []
    mapped: list[dict[str, Any]] = []
    clauses: list[ClauseChange] = []
    configs: list[SimulationConfig] = []
    jobs: list[tuple[RunSpec, SimulationConfig, int]] = []
    for k in range(plan.draws):
        drawn_charter, drawn = draw_charter(charter, draw_rng)
        parameter_set = None
        overrides: dict[str, Any] = {}
        if ensemble.used:
            # each set in turn, in a shuffled order: the draws spread over the ensemble evenly
            index = int(order[k % len(order)])
            parameter_set = ensemble.names[index]
            overrides.update(ensemble.sets[index])
        from_charter = model_overrides(drawn_charter, alliance_defaults)
        overrides.update(from_charter)
        mapped.append(from_charter)
        model_seed = draw_seed(seed, k)
        charter_config = base.replace(seed=model_seed, **nest(overrides))
        configs.append(charter_config)
        specs = plan_runs(charter_config, full, plan)
        specs += input_runs(charter, drawn, from_charter, alliance_defaults)
        future_rng = np.random.default_rng(np.random.SeedSequence([seed, k, 0xF]))
        for j in range(plan.futures_per_draw):
            specs.append(RunSpec("future", f"future {j + 1}", "", sample_future(future_rng)))
        if k == 0:
            clauses = clause_changes(charter_config)
        draw_rows.append({"draw": k, "seed": model_seed, "parameter_set": parameter_set, **drawn})
        jobs += [(spec, configured(charter_config, spec), k) for spec in specs]
    gathered = Gathered()
    expected = len(jobs) + plan.draws * max_bundles(plan.bundle_from)
    gathered.run(jobs, workers, progress, expected)
    chosen = bundle_candidates(gathered.failed, [c.change for c in clauses], plan.bundle_from)
    combined = bundles(clauses, chosen)
    second = [
        (spec, configured(config, spec), k)
        for k, config in enumerate(configs)
        for spec in (RunSpec("bundle", b.change, "", b.overrides) for b in combined)
    ]
    gathered.run(second, workers, progress, len(jobs) + len(second))
    return StressResult(
        charter=charter,
        plan=plan,
        seed=seed,
        horizon_weeks=charter.horizon_weeks,
        runs=pd.DataFrame(gathered.rows),
        alliances=pd.concat(gathered.alliances, ignore_index=True),
        trust=np.concatenate(gathered.trust),
        health=np.concatenate(gathered.health),
        draws=pd.DataFrame(draw_rows),
        ensemble=ensemble,
        clauses=clauses,
        failed=gathered.failed,
        elapsed_s=time.perf_counter() - started,
        bundles=combined,
        mapped=mapped,
    )


def configured(config: SimulationConfig, spec: RunSpec) -> SimulationConfig:
    return config.replace(**nest(spec.overrides)) if spec.overrides else config


def max_bundles(most: int) -> int:
    """How many bundles ``most`` candidates can make (pairs and triples)."""
    return math.comb(most, 2) + math.comb(most, 3)


@dataclass
class Gathered:
    """The outcomes gathered so far, in the order of the runs."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    alliances: list[pd.DataFrame] = field(default_factory=list)
    trust: list[np.ndarray] = field(default_factory=list)
    health: list[np.ndarray] = field(default_factory=list)
    failed: dict[tuple[str, str, str, int], np.ndarray] = field(default_factory=dict)

    def run(
        self,
        jobs: list[tuple[RunSpec, SimulationConfig, int]],
        workers: int,
        progress: Callable[[int, int], None] | None,
        total: int,
    ) -> None:
        """Simulate ``jobs`` (in ``workers`` processes when more than one) and keep their outcomes."""
        if not jobs:
            if progress is not None:
                progress(len(self.rows), len(self.rows))
            return
        outcomes: Iterable[RunOutcome]
        pool = None
        try:  # a stop (Ctrl-C, SIGTERM) while the pool starts is handled below too
            if workers > 1:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                from sim.studies.scheduler import leave_with_the_parent

                size = max(1, len(jobs) // (8 * workers))  # enough batches to keep every worker busy
                batches = [jobs[i : i + size] for i in range(0, len(jobs), size)]
                # Workers started afresh (spawn), each ending with this process however it ends.
                pool = ProcessPoolExecutor(
                    workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=leave_with_the_parent,
                    initargs=(os.getpid(),),
                )
                outcomes = (o for batch in pool.map(simulate_batch, batches) for o in batch)
            else:
                outcomes = (simulate(*job) for job in jobs)
            for (spec, _, k), outcome in zip(jobs, outcomes, strict=True):
                self.rows.append(outcome.row)
                self.failed[(spec.kind, spec.name, spec.severity, k)] = outcome.failed
                if outcome.alliances is not None:
                    self.alliances.append(outcome.alliances)
                if outcome.trust is not None and outcome.health is not None:
                    self.trust.append(outcome.trust)
                    self.health.append(outcome.health)
                if progress is not None:
                    progress(len(self.rows), total)
        except KeyboardInterrupt as stop:
            if pool is not None:
                for process in list(getattr(pool, "_processes", {}).values()):  # no waiting for them
                    process.kill()
                pool.shutdown(wait=False, cancel_futures=True)
                # The pool's manager thread, seeing its workers gone, closes its wake-up pipe;
                # at exit the interpreter writes to that pipe, and if the two meet the write
                # fails with a traceback after the one-line message. Let the thread finish
                # first (at once: its workers are dead), but never wait long for it.
                manager = getattr(pool, "_executor_manager_thread", None)
                if manager is not None:
                    manager.join(timeout=10.0)
            raise StressInterrupted(pd.DataFrame(self.rows), total, stop) from None
        if pool is not None:
            pool.shutdown()
