"""The cohort engine: the mechanisms compiled, in one loop over every alliance of a cohort.

For sweeps, calibration and stress tests. It runs the functions of
:mod:`sim.mechanisms` (compiled by numba) in the order of
:mod:`sim.engines.phases`, alliance by alliance, on the same
:class:`~sim.state.CohortState` and the same weekly draws as the Mesa engine,
so both give the same tables (``tests/test_engines.py`` keeps it so).

Compiled code is cached in the user's cache folder (``$NUMBA_CACHE_DIR``, else
``$XDG_CACHE_HOME/alliance-sim`` or ``~/.cache/alliance-sim``), outside the
source tree, so an installation compiles once.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numba
import numpy as np

from sim.draws import WeekDraws, alliance_draws_table, cohort_stream, draw_week, draws_of, split_draws
from sim.engines import threads
from sim.engines.phases import ALLIANCE_PHASES
from sim.market import CohortStart, build_cohort
from sim.mechanics import touchpoints
from sim.mechanisms import mechanism
from sim.mechanisms.drift import drift_firm, drift_incentives_and_expectations
from sim.mechanisms.endings import check_endings, close_at_horizon, settle_reputation
from sim.mechanisms.firms import bring_partner_values, count_alliances, report_to_firms
from sim.mechanisms.health import update_health
from sim.mechanisms.issues import raise_issues, resolve_issues
from sim.mechanisms.key_contacts import lose_key_contacts
from sim.mechanisms.lifecycle import advance_lifecycle
from sim.mechanisms.observe import cohort_means
from sim.mechanisms.shocks import receive_shock
from sim.mechanisms.touchpoints import hold_touchpoints
from sim.mechanisms.triggers import apply_triggers
from sim.mechanisms.trust import update_trust
from sim.mechanisms.value import create_value
from sim.params import SimulationConfig
from sim.results import CohortResult
from sim.state import (
    AllianceDraws,
    AllianceState,
    Context,
    Params,
    events_per_week,
    new_state,
    params_record_of,
    week_context,
)


def cache_root() -> Path:
    """Where compiled code is kept: ``$NUMBA_CACHE_DIR``, else the user's cache folder."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "alliance-sim" / "numba"


CACHE_FORMAT = "records-by-layout-1"
"""Part of every cache folder's name: compiled code from before record types were named by
their layout (sim.mechanisms) is never loaded."""


LOG_DTYPE = np.dtype(
    [("week", "i8"), ("alliance", "i8"), ("kind", "i8"), ("first", "i8"), ("second", "i8"), ("amount", "f8")]
)
"""One row of the cohort's event log (payloads as in :mod:`sim.events`)."""


@mechanism
def alliance_week(a: AllianceState, w: AllianceDraws, c: Context, p: Params) -> None:
    """One alliance's week: every phase of ``ALLIANCE_PHASES``, in its order."""
    advance_lifecycle(a, w, c, p)
    drift_incentives_and_expectations(a, w, c, p)
    receive_shock(a, w, c, p)
    apply_triggers(a, w, c, p)
    hold_touchpoints(a, w, c, p)
    raise_issues(a, w, c, p)
    resolve_issues(a, w, c, p)
    create_value(a, w, c, p)
    lose_key_contacts(a, w, c, p)
    update_trust(a, w, c, p)
    update_health(a, w, c, p)
    check_endings(a, w, c, p)


@mechanism
def log_events(a: AllianceState, week: int, log: np.ndarray, used: int) -> int:
    """Append the alliance's events of the week to the cohort's log; returns the rows used."""
    for e in range(a.n_events):
        row = log[used]
        row.week = week
        row.alliance = a.index
        row.kind = a.event_kind[e]
        row.first = a.event_first[e]
        row.second = a.event_second[e]
        row.amount = a.event_amount[e]
        used += 1
    return used


@mechanism
def start_cohort_week(alliances: np.ndarray, firms: np.ndarray, draws: WeekDraws, p: Params) -> None:
    """Before the alliances act: firms drift, and each firm's running alliances are counted."""
    for f in range(firms.shape[0]):
        drift_firm(firms[f], draws.strategy_noise[:, f], draws.culture_noise[:, f], p)
    count_alliances(alliances, firms)


@mechanism
def run_alliances(
    alliances: np.ndarray,
    firms: np.ndarray,
    draws: WeekDraws,
    by_alliance: np.ndarray,
    c: Context,
    p: Params,
    first: int,
    stop: int,
) -> None:
    """The week of every running alliance from ``first`` to ``stop``. Alliances read the
    firms but write only their own records, so blocks of them may run in any order, or at
    once on several threads."""
    for i in range(first, stop):
        a = alliances[i]
        if a.alive:
            draws_of(draws, i, by_alliance[i])
            bring_partner_values(a, firms)
            alliance_week(a, by_alliance[i], c, p)


@mechanism
def end_cohort_week(
    alliances: np.ndarray,
    firms: np.ndarray,
    c: Context,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
) -> int:
    """After the alliances acted: exits and collapses reach the firms, events the log, firms
    settle reputation, and the week's means are recorded. Returns the rows of ``log`` used."""
    for i in range(alliances.shape[0]):
        a = alliances[i]
        if a.n_events > 0 or a.alive:
            report_to_firms(a, firms)
            used = log_events(a, c.t + 1, log, used)
            a.n_events = 0
    for f in range(firms.shape[0]):
        settle_reputation(firms[f], p)
    means = cohort_means(alliances)
    for k in range(4):
        series[c.t, k] = means[k]
    return used


def cohort_week(
    alliances: np.ndarray,
    firms: np.ndarray,
    draws: WeekDraws,
    by_alliance: np.ndarray,
    c: Context,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
) -> int:
    """A whole week of a cohort stepped on one thread, in one compiled call (the three calls
    it makes, in their order, each cost a dispatch that outweighs a small cohort's week)."""
    start_cohort_week(alliances, firms, draws, p)
    run_alliances(alliances, firms, draws, by_alliance, c, p, 0, alliances.shape[0])
    return end_cohort_week(alliances, firms, c, p, series, log, used)


def close_cohort(alliances: np.ndarray, p: Params) -> None:
    for i in range(alliances.shape[0]):
        if alliances[i].alive:
            close_at_horizon(alliances[i], p)


@functools.cache
def model_digest() -> str:
    """A digest of the source of everything compiled code is built from. Numba checks a
    cached entry only against the file of the function it compiled, not against the
    mechanisms that function calls in other files; a cache folder per digest means an
    edited mechanism is always compiled afresh."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    shared = [root / name for name in ("state.py", "draws.py", "mechanics.py", "events.py")]
    for path in [*sorted([*root.glob("mechanisms/*.py"), *root.glob("engines/*.py")]), *shared]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


CACHE_KEPT_DAYS = 7


@functools.cache
def prune_cache() -> None:
    """Remove cache folders no run has used for a week (older sources, older layouts)."""
    root = cache_root()
    if not root.is_dir():
        return
    cutoff = time.time() - CACHE_KEPT_DAYS * 86400
    for folder in root.iterdir():
        try:
            if folder.is_dir() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue  # another process is using or removing it


@functools.cache
def compiled_for(function: Callable[..., Any], layout: np.dtype) -> Any:
    """``function`` compiled for one layout of the record tables it is given.

    Every layout (one per number of partner slots) gets a dispatcher, and a cache
    folder, of its own: a dispatcher tells arguments apart by a quick fingerprint that
    does not see the fields of a record array, so one dispatcher fed two layouts would
    run the first one's code. (Compiled symbols are named by layout, see
    sim.mechanisms, so code loaded from the cache keeps apart too.)
    """
    dispatcher = numba.njit(nogil=True, error_model="numpy")(function)
    if not hasattr(dispatcher, "enable_caching"):  # NUMBA_DISABLE_JIT: the plain function
        return dispatcher
    tag = hashlib.sha256(f"{CACHE_FORMAT} {model_digest()} {layout.descr!r}".encode()).hexdigest()[:16]
    prune_cache()
    folder = cache_root() / tag
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.utime(folder)  # in use: kept by prune_cache
    except OSError:
        pass  # numba falls back to a cache it can write, or to none
    config: Any = numba.config  # read by enable_caching: where this dispatcher caches
    default = config.CACHE_DIR
    config.CACHE_DIR = str(folder)
    try:
        dispatcher.enable_caching()
    finally:
        config.CACHE_DIR = default
    return dispatcher


def split_week_draws(draws: WeekDraws, by_alliance: np.ndarray) -> None:
    """The week's draws copied into one record per alliance (compiled; both engines use it)."""
    compiled_for(split_draws, by_alliance.dtype)(draws, by_alliance)


MIN_BLOCK = 10_000
"""Fewest alliances worth a thread of their own: on two cores, 10,000 alliances step faster
on one thread than on two (each week's handoff costs more than half a week saves), 30,000
faster on two (``experiments/benchmark.py --sizes``)."""

MIN_DRAWN_AHEAD = 2000
"""Fewest alliances for which drawing the next week on a thread of its own pays for the
handoff; smaller cohorts draw each week as it starts (the same numbers, in the same order)."""


@functools.cache
def pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, threads() - 1), thread_name_prefix="alliances")


@functools.cache
def drawer() -> ThreadPoolExecutor:
    """One thread that draws the next week's numbers, in the stream's order."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="draws")


ProgressHook = Callable[[int, int], None]

PHASE_ORDER = ALLIANCE_PHASES
"""The order ``alliance_week`` must follow (checked by the tests)."""


class CohortRun:
    """A cohort stepped week by week by the compiled loop."""

    def __init__(self, config: SimulationConfig, start: CohortStart | None = None) -> None:
        self.config = config
        self.stream = cohort_stream(config.seed)
        self.start = start if start is not None else build_cohort(config, self.stream)
        self.shape = self.start.shape
        self.params = params_record_of(config)
        self.state = new_state(self.start, config)
        self.series = np.full((config.horizon_weeks, 4), np.nan)
        self.log = np.zeros(max(64, 4 * self.shape.n_alliances), dtype=LOG_DTYPE).view(np.recarray)
        self.logged = 0
        self.week_index = 0
        self.outside_factor = 1.0
        self.trend_level = 1.0
        # the next week's numbers are drawn on a thread of their own while this week runs
        self._spare: WeekDraws | None = None
        self._next: Future[WeekDraws] | None = None
        self._by_alliance = alliance_draws_table(self.shape.n_alliances, self.shape.n_partners)
        self._room = self.shape.n_alliances * events_per_week(self.shape.n_partners)
        self._context = week_context(0, config, touchpoints(0, config), 1.0, 1.0)
        layout = self.state.alliances.dtype
        self._start_week = compiled_for(start_cohort_week, layout)
        self._run_alliances = compiled_for(run_alliances, layout)
        n = self.shape.n_alliances
        blocks = max(1, min(threads(), n // MIN_BLOCK))
        self._blocks = [(n * b // blocks, n * (b + 1) // blocks) for b in range(blocks)]
        self._end_week = compiled_for(end_cohort_week, layout)
        self._close = compiled_for(close_cohort, self.state.alliances.dtype)
        self._whole_week = compiled_for(cohort_week, layout) if len(self._blocks) == 1 else None
        self._draw_ahead = n >= MIN_DRAWN_AHEAD

    @property
    def running(self) -> bool:
        return self.week_index < self.config.horizon_weeks

    def step(self) -> None:
        """One week of every running alliance."""
        t = self.week_index
        if self._next is not None:
            draws = self._next.result()
            self._next = None
        else:
            draws = draw_week(self.stream, self.shape, None if self._draw_ahead else self._spare)
        if self._draw_ahead and t + 1 < self.config.horizon_weeks:
            self._next = drawer().submit(draw_week, self.stream, self.shape, self._spare)
        touch = touchpoints(t, self.config)
        c = self._context.for_week(t, touch, self.outside_factor, self.trend_level)
        if self.logged + self._room > len(self.log):
            grown = np.zeros(max(2 * len(self.log), self.logged + self._room), dtype=LOG_DTYPE).view(
                np.recarray
            )
            grown[: self.logged] = self.log[: self.logged]
            self.log = grown
        s = self.state
        if self._whole_week is not None:
            self.logged = self._whole_week(
                s.alliances,
                s.firms,
                draws,
                self._by_alliance,
                c,
                self.params,
                self.series,
                self.log,
                self.logged,
            )
        else:
            self._start_week(s.alliances, s.firms, draws, self.params)
            args = (s.alliances, s.firms, draws, self._by_alliance, c, self.params)
            run_block = functools.partial(self._run_alliances, *args)
            # this thread steps the first block itself: a pool whose every worker waits for a
            # block tends to wake one worker for all of them, and the blocks run in turn
            jobs = [pool().submit(run_block, *block) for block in self._blocks[1:]]
            run_block(*self._blocks[0])
            for job in jobs:
                job.result()
            self.logged = self._end_week(
                s.alliances, s.firms, c, self.params, self.series, self.log, self.logged
            )
        self._spare = draws  # refilled two weeks from now, once nothing reads it
        scenario = self.config.scenario
        self.outside_factor = self.outside_factor * (1.0 + scenario.outside_option_trend)
        self.trend_level = self.trend_level * (1.0 + scenario.value_trend)
        self.week_index += 1
        if not self.running:
            self._close(s.alliances, self.params)

    def run(self, progress: ProgressHook | None = None) -> CohortRun:
        while self.running:
            self.step()
            if progress is not None:
                progress(self.week_index, self.config.horizon_weeks)
        return self


def run_compiled(config: SimulationConfig, progress: ProgressHook | None = None) -> CohortResult:
    """Simulate a cohort with the compiled cohort engine."""
    from sim.engines.tables import cohort_result

    run = CohortRun(config).run(progress)
    return cohort_result(config, run.state.alliances, run.series, run.log[: run.logged])
