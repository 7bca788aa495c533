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

import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from sim.compiled import compiled_for
from sim.draws import (
    WeekDraws,
    alliance_draws_table,
    cohort_stream,
    draw_week,
    draw_weeks,
    draws_of,
    split_draws,
    week_of,
)
from sim.engines import threads
from sim.engines.phases import ALLIANCE_PHASES
from sim.environment import MarketPath
from sim.market import CohortStart, build_cohort
from sim.mechanisms import mechanism
from sim.mechanisms.drift import drift_firm, drift_incentives_and_expectations
from sim.mechanisms.endings import check_endings, close_at_horizon, settle_reputation
from sim.mechanisms.firms import bring_partner_values, count_alliances, count_partners, report_to_firms
from sim.mechanisms.health import update_health
from sim.mechanisms.issues import raise_issues, resolve_issues
from sim.mechanisms.key_contacts import lose_key_contacts
from sim.mechanisms.lifecycle import advance_lifecycle
from sim.mechanisms.maturity import build_routines
from sim.mechanisms.observe import add_to_means, means_of
from sim.mechanisms.shocks import receive_shock
from sim.mechanisms.touchpoints import hold_touchpoints
from sim.mechanisms.triggers import apply_triggers
from sim.mechanisms.trust import update_trust
from sim.mechanisms.value import create_value
from sim.params import SimulationConfig
from sim.results import CohortResult
from sim.state import (
    CONTEXT_DTYPE,
    AllianceDraws,
    AllianceState,
    Context,
    Params,
    as_read,
    events_per_week,
    new_state,
    params_record_of,
    week_context,
)
from sim.vocabulary import touchpoints

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
    build_routines(a, w, c, p)
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
def start_cohort_week(
    alliances: np.ndarray, firms: np.ndarray, draws: WeekDraws, running: np.ndarray, c: Context, p: Params
) -> None:
    """Before the alliances act: firms drift, and each firm's running alliances are counted."""
    for f in range(firms.shape[0]):
        drift_firm(firms[f], draws.strategy_noise[:, f], draws.culture_noise[:, f], c.volatility, p)
    count_alliances(alliances, firms, running)


@mechanism
def run_alliances(
    alliances: np.ndarray,
    firms: np.ndarray,
    draws: WeekDraws,
    by_alliance: np.ndarray,
    running: np.ndarray,
    c: Context,
    p: Params,
) -> None:
    """The week of every alliance in ``running`` (running when the week starts): its draws
    of the week are copied into its record of ``by_alliance``, its partners' values into its
    own record, and it goes through the week's phases. Alliances read the firms but write
    only their own records, so blocks of them may run in any order, or at once on several
    threads."""
    for i in running:
        a = alliances[i]
        draws_of(draws, i, by_alliance[i])
        bring_partner_values(a, firms)
        alliance_week(a, by_alliance[i], c, p)


@mechanism
def end_cohort_week(
    alliances: np.ndarray,
    firms: np.ndarray,
    running: np.ndarray,
    upcoming: WeekDraws,
    prepare: bool,
    c: Context,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
    loads: np.ndarray,
    sums: np.ndarray,
) -> tuple[int, int]:
    """After the alliances acted: exits and collapses reach the firms, events the log, firms
    settle reputation, and the week's means are recorded.

    Only the alliances in ``running`` acted, so only they can have events. Those still
    running move, in their order, to the front of ``running``: the alliances of next week.
    With ``prepare``, the firms also start next week here, in the same pass (what
    :func:`start_cohort_week` does): each drifts by ``upcoming``, next week's draws, and
    its running alliances are counted (nothing reads a firm's strategy, culture or count
    between now and then). ``loads`` and ``sums`` are room for the counts and the means.
    Returns the rows of ``log`` used and how many alliances run on."""
    kept = 0
    loads[:] = 0
    sums[:] = 0.0
    for i in running:
        a = alliances[i]
        report_to_firms(a, firms)
        used = log_events(a, c.t + 1, log, used)
        a.n_events = 0
        if a.alive:
            running[kept] = i
            kept += 1
            count_partners(a, loads)
            add_to_means(a, sums)
    for f in range(firms.shape[0]):
        firm = firms[f]
        settle_reputation(firm, p)
        if prepare:
            drift_firm(
                firm, upcoming.strategy_noise[:, f], upcoming.culture_noise[:, f], c.next_volatility, p
            )
            firm.load = loads[f]
    means = means_of(sums, alliances.shape[0])
    for k in range(4):
        series[c.t, k] = means[k]
    return used, kept


@mechanism
def cohort_week(
    alliances: np.ndarray,
    firms: np.ndarray,
    draws: WeekDraws,
    by_alliance: np.ndarray,
    running: np.ndarray,
    c: Context,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
    loads: np.ndarray,
    sums: np.ndarray,
) -> tuple[int, int]:
    """A whole week of a cohort stepped on one thread, in one compiled call (the three calls
    it makes, in their order, each cost a dispatch that outweighs a small cohort's week)."""
    start_cohort_week(alliances, firms, draws, running, c, p)
    run_alliances(alliances, firms, draws, by_alliance, running, c, p)
    return end_cohort_week(alliances, firms, running, draws, False, c, p, series, log, used, loads, sums)


def run_weeks(
    alliances: np.ndarray,
    firms: np.ndarray,
    weeks: WeekDraws,
    by_alliance: np.ndarray,
    running: np.ndarray,
    n_running: int,
    contexts: np.ndarray,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
    loads: np.ndarray,
    sums: np.ndarray,
) -> tuple[int, int]:
    """Several weeks in one compiled call, one ``cohort_week`` each: ``weeks`` holds their
    draws (:func:`sim.draws.draw_weeks`), ``contexts`` their contexts. Returns the rows of
    ``log`` used and how many alliances run on."""
    for w in range(contexts.shape[0]):
        used, n_running = cohort_week(
            alliances,
            firms,
            week_of(weeks, w),
            by_alliance,
            running[:n_running],
            contexts[w],
            p,
            series,
            log,
            used,
            loads,
            sums,
        )
    return used, n_running


def close_cohort(alliances: np.ndarray, c: Context) -> None:
    for i in range(alliances.shape[0]):
        if alliances[i].alive:
            close_at_horizon(alliances[i], c)


def split_week_draws(draws: WeekDraws, by_alliance: np.ndarray) -> None:
    """The week's draws copied into one record per alliance (compiled; both engines use it)."""
    compiled_for(split_draws, by_alliance.dtype)(draws, by_alliance)


MIN_HELPED = 2000
"""Fewest alliances for which a second thread pays for its handoffs: it draws each week's
numbers a week ahead and steps a share of each week's alliances (:class:`Helper`). Smaller
cohorts run on one thread and draw each week as it starts (the same numbers, in the same
order)."""

WEEKS_PER_CALL = 13
"""Weeks a cohort too small for a helper runs per compiled call (each call costs some
50 microseconds besides its work, a large share of a small cohort's week)."""

MIN_MEASURED_SHARE = 100
"""Fewest alliances in the helper's share for its time to tell its speed."""

HELPER_CALL_S = 5e-5
"""What calling compiled code costs the helper besides stepping its share (a share's
arguments are checked and converted on every call)."""

HANDOFF_MARGIN_S = 1e-4
"""How much earlier than the calling thread the helper aims to finish its share of a week:
a thread that has to sleep until the other finishes wakes late (about 0.3 ms here)."""

ProgressHook = Callable[[int, int], None]

PHASE_ORDER = ALLIANCE_PHASES
"""The order ``alliance_week`` must follow (checked by the tests)."""


class Failed:
    """What the helper hands over instead of a result when it failed."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Helper:
    """The second thread of a large cohort's run.

    In week ``t`` the calling thread hands the helper the last ``share`` of the running
    alliances, steps the others itself, waits for the helper's share and closes the week,
    which also starts the firms on week ``t + 1`` (see ``end_cohort_week``). The helper
    steps its share, then draws week ``t + 2`` from the stream, in its order; so the draws
    of week ``t + 1`` are ready before week ``t`` closes. Three sets of draws take turns:
    week ``t + 2`` refills those of week ``t - 1``, which nothing reads any more.
    Alliances read the firms but write only their own records, so the results are the same
    whatever the share (``tests/test_cell_worker.py`` checks it).

    The share is sized each week from measured times so that the helper, which is still
    drawing when the week's alliances are handed over, finishes its share just before the
    calling thread finishes its own; with one thread allowed (``threads()``) it is empty.
    """

    def __init__(self, run: CohortRun, first: WeekDraws) -> None:
        self.jobs: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self.drawn: queue.SimpleQueue[tuple[WeekDraws, float] | Failed] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[float, float] | Failed] = queue.SimpleQueue()
        self.spare: list[WeekDraws | None] = [first, None, None]
        self.share = 0
        self.stepped = 0  # alliance-weeks the helper stepped, in all
        self.sharing = threads() > 1
        self.main_s = 0.0  # seconds per alliance the calling thread took last week
        self.helper_s = 0.0  # the same for the helper, besides the cost of its call
        self.draw_s = 0.0  # the helper's time to draw a week
        self.free_at = time.perf_counter()  # when the helper finished its last share
        thread = threading.Thread(
            target=self._work,
            args=(run.stream, run.shape, run._run_alliances, run.config.horizon_weeks),
            name="alliance-sim-helper",
            daemon=True,
        )
        # a run given up before its horizon tells its helper to stop once it is collected
        weakref.finalize(run, self.jobs.put, None)
        thread.start()

    def _work(self, stream: np.random.Generator, shape: Any, step: Any, horizon: int) -> None:
        try:
            if horizon > 1:
                self._draw(stream, shape, 1)
            while (job := self.jobs.get()) is not None:
                t, args = job
                began = time.perf_counter()
                step(*args)
                self.done.put((began, time.perf_counter()))
                if t + 2 < horizon:
                    self._draw(stream, shape, t + 2)
        except BaseException as error:  # handed to the calling thread, which raises it
            self.done.put(Failed(error))
            self.drawn.put(Failed(error))

    def _draw(self, stream: np.random.Generator, shape: Any, week: int) -> None:
        began = time.perf_counter()
        draws = draw_week(stream, shape, self.spare[week % 3])
        self.spare[week % 3] = draws
        self.drawn.put((draws, time.perf_counter() - began))

    def next_draws(self) -> WeekDraws:
        """The next week's draws (the helper drew them before it stepped this week's share)."""
        got = self.drawn.get()
        if isinstance(got, Failed):
            raise got.error
        draws, self.draw_s = got
        return draws

    def hand_over(
        self, t: int, running: np.ndarray, args: Callable[[np.ndarray], tuple[Any, ...]]
    ) -> np.ndarray:
        """Give the helper its share of week ``t``'s alliances (stepped with ``args(share)``);
        returns the others."""
        n = len(running)
        self.share = self.plan(n) if self.sharing else 0
        self.stepped += self.share
        self.jobs.put((t, args(running[n - self.share :])))
        return running[: n - self.share]

    def plan(self, n: int) -> int:
        """Alliances for the helper this week: it finishes drawing next week (which it began
        when it finished its last share), then both threads should finish together, the
        helper a margin early."""
        main = self.main_s
        if main == 0.0:
            return 0  # nothing measured yet
        helper = self.helper_s or main
        drawing = max(0.0, self.free_at + self.draw_s - time.perf_counter())
        spare = main * n - drawing - HELPER_CALL_S - HANDOFF_MARGIN_S
        return min(n, max(0, int(spare / (main + helper))))

    def wait(self, mine: int, mine_s: float) -> None:
        """Wait for the helper's share of the week; learn both threads' speed."""
        got = self.done.get()
        if isinstance(got, Failed):
            raise got.error
        began, self.free_at = got
        if mine:
            self.main_s = mine_s / mine
        if self.share >= MIN_MEASURED_SHARE:
            self.helper_s = max(0.0, self.free_at - began - HELPER_CALL_S) / self.share


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
        # alliances running when the week starts, in ascending order: those that ended are
        # never visited again
        self._running = np.arange(self.shape.n_alliances)
        self._n_running = self.shape.n_alliances
        self._loads = np.zeros(self.shape.n_firms, dtype=np.int64)
        self._sums = np.zeros(4)
        self._room = self.shape.n_alliances * events_per_week(self.shape.n_partners)
        self.environment = MarketPath(config.scenario)
        self._context = week_context(0, config, touchpoints(0, config), MarketPath(config.scenario).week(0))
        layout = self.state.alliances.dtype
        self._start_week = compiled_for(start_cohort_week, layout)
        self._run_alliances = compiled_for(run_alliances, layout)
        self._end_week = compiled_for(end_cohort_week, layout)
        self._whole_week = compiled_for(cohort_week, layout)
        self._run_weeks = compiled_for(run_weeks, layout)
        self._close = compiled_for(close_cohort, layout)
        self._by_alliance = alliance_draws_table(self.shape.n_alliances, self.shape.n_partners)
        self._helped = self.shape.n_alliances >= MIN_HELPED
        self._draws: WeekDraws | None = None  # this week's
        self._weeks: WeekDraws | None = None  # several weeks', drawn at once
        self._helper: Helper | None = None

    @property
    def running(self) -> bool:
        return self.week_index < self.config.horizon_weeks

    def _contexts(self, weeks: int) -> np.ndarray:
        """The contexts of the next ``weeks`` weeks, as records; the market trends move on."""
        t = self.week_index
        contexts = np.empty(weeks, dtype=CONTEXT_DTYPE)
        for w in range(weeks):
            touch = touchpoints(t + w, self.config)
            contexts[w] = self._context.for_week(t + w, touch, self.environment.week(t + w))
        return as_read(contexts)

    def _make_room(self, weeks: int) -> None:
        """Room in the log for what ``weeks`` more weeks can record."""
        if self.logged + weeks * self._room > len(self.log):
            grown = np.zeros(max(2 * len(self.log), self.logged + weeks * self._room), dtype=LOG_DTYPE)
            grown[: self.logged] = self.log[: self.logged]
            self.log = grown.view(np.recarray)

    def step(self) -> None:
        """One week of every running alliance."""
        t = self.week_index
        running = self._running[: self._n_running]
        c = self._contexts(1)[0]
        self._make_room(1)
        s, p = self.state, self.params
        if not self._helped:
            self._draws = draw_week(self.stream, self.shape, self._draws)
            self.logged, self._n_running = self._whole_week(
                s.alliances,
                s.firms,
                self._draws,
                self._by_alliance,
                running,
                c,
                p,
                self.series,
                self.log,
                self.logged,
                self._loads,
                self._sums,
            )
        else:
            if self._helper is None:
                self._draws = draw_week(self.stream, self.shape)
                self._start_week(s.alliances, s.firms, self._draws, running, c, p)
                self._helper = Helper(self, self._draws)
            draws = self._draws
            assert draws is not None

            def args(block: np.ndarray) -> tuple[Any, ...]:
                return (s.alliances, s.firms, draws, self._by_alliance, block, c, p)

            mine = self._helper.hand_over(t, running, args)
            began = time.perf_counter()
            self._run_alliances(*args(mine))
            self._helper.wait(len(mine), time.perf_counter() - began)
            last = t + 1 >= self.config.horizon_weeks
            upcoming = draws if last else self._helper.next_draws()
            self.logged, self._n_running = self._end_week(
                s.alliances,
                s.firms,
                running,
                upcoming,
                not last,
                c,
                p,
                self.series,
                self.log,
                self.logged,
                self._loads,
                self._sums,
            )
            self._draws = upcoming
        self._advance(1)

    def run(self, progress: ProgressHook | None = None) -> CohortRun:
        """Step to the horizon: a small cohort several weeks per compiled call (the numbers
        drawn for them at once, in the stream's order), a large one week by week."""
        horizon = self.config.horizon_weeks
        while self.running:
            weeks = 1 if self._helped else min(WEEKS_PER_CALL, horizon - self.week_index)
            if weeks == 1:
                self.step()
            else:
                self._run_many(weeks)
            if progress is not None:
                progress(self.week_index, horizon)
        return self

    def _run_many(self, weeks: int) -> None:
        s = self.state
        contexts = self._contexts(weeks)
        self._make_room(weeks)
        self._weeks = draw_weeks(self.stream, self.shape, weeks, self._weeks)
        self.logged, self._n_running = self._run_weeks(
            s.alliances,
            s.firms,
            self._weeks,
            self._by_alliance,
            self._running,
            self._n_running,
            contexts,
            self.params,
            self.series,
            self.log,
            self.logged,
            self._loads,
            self._sums,
        )
        self._advance(weeks)

    def _advance(self, weeks: int) -> None:
        """Count ``weeks`` weeks done; at the horizon, judge the alliances still running and
        let the helper go."""
        self.week_index += weeks
        if not self.running:
            # the objectives are the run's, whatever the week's calendar
            closing = as_read(np.array([tuple(self._context)], dtype=CONTEXT_DTYPE))[0]
            self._close(self.state.alliances, closing)
            if self._helper is not None:
                self._helper.jobs.put(None)


def run_compiled(config: SimulationConfig, progress: ProgressHook | None = None) -> CohortResult:
    """Simulate a cohort with the compiled cohort engine."""
    from sim.engines.tables import cohort_result

    run = CohortRun(config).run(progress)
    return cohort_result(config, run.state.alliances, run.series, run.log[: run.logged])
