"""The cohort engine: the mechanisms compiled, in one loop over every alliance of a cohort.

For sweeps, calibration and stress tests. It runs the functions of
:mod:`sim.mechanisms` (compiled by numba) in the order of
:mod:`sim.engines.phases`, alliance by alliance, on the same
:class:`~sim.state.CohortState` and the same random streams as the Mesa engine,
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
    alliance_draws_table,
    cohort_stream,
    fill_firm_draws,
    fill_firm_draws_between,
    place_start,
    start_blocks,
    start_words,
    stream_key,
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
from sim.vocabulary import N_OBJECTIVES, N_TRAITS, touchpoints

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
    alliances: np.ndarray,
    firms: np.ndarray,
    key: np.ndarray,
    running: np.ndarray,
    c: Context,
    p: Params,
    strategy_noise: np.ndarray,
    culture_noise: np.ndarray,
) -> None:
    """Before the alliances act: firms drift (each by its noise of the week, drawn for every
    firm at once into ``strategy_noise`` and ``culture_noise``, firm axis last), and each
    firm's running alliances are counted."""
    fill_firm_draws(key, c.t, strategy_noise, culture_noise)
    for f in range(firms.shape[0]):
        drift_firm(firms[f], strategy_noise[:, f], culture_noise[:, f], c.volatility, p)
    count_alliances(alliances, firms, running)


@mechanism
def run_alliances(
    alliances: np.ndarray,
    firms: np.ndarray,
    key: np.ndarray,
    by_alliance: np.ndarray,
    running: np.ndarray,
    c: Context,
    p: Params,
    counters: np.ndarray,
    words: np.ndarray,
) -> None:
    """The week of every alliance in ``running`` (running when the week starts): its numbers
    of the week are drawn into its record of ``by_alliance`` (from its own stream, see
    :mod:`sim.draws`; those read every week for a chunk of alliances at once, in
    ``counters`` and ``words``), its partners' values copied into its own record, and it goes
    through the week's phases. Alliances read the firms but write only their own records, so
    blocks of them may run in any order, or at once on several threads (each with its own
    ``counters`` and ``words``)."""
    n_partners = by_alliance[0].contact_u.shape[0]
    per = start_blocks(n_partners)
    chunk = words.shape[1] // per
    for first in range(0, running.shape[0], chunk):
        some = running[first : first + chunk]
        start_words(key, c.t, some, n_partners, counters, words)
        for j in range(some.shape[0]):
            i = some[j]
            place_start(by_alliance[i], key, i, c.t, words, j * per)
            a = alliances[i]
            bring_partner_values(a, firms)
            alliance_week(a, by_alliance[i], c, p)


@mechanism
def end_cohort_week(
    alliances: np.ndarray,
    firms: np.ndarray,
    running: np.ndarray,
    key: np.ndarray,
    prepare: bool,
    c: Context,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
    loads: np.ndarray,
    sums: np.ndarray,
    strategy_noise: np.ndarray,
    culture_noise: np.ndarray,
    settled: int,
) -> tuple[int, int]:
    """After the alliances acted: exits and collapses reach the firms, events the log, firms
    settle reputation, and the week's means are recorded.

    Only the alliances in ``running`` acted, so only they can have events. Those still
    running move, in their order, to the front of ``running``: the alliances of next week.
    With ``prepare``, the firms also start next week here, in the same pass (what
    :func:`start_cohort_week` does): each drifts by its noise of next week, and its running
    alliances are counted (nothing reads a firm's strategy, culture or count between now and
    then). ``loads`` and ``sums`` are room for the counts and the means, ``strategy_noise``
    and ``culture_noise`` for the firms' noise. Firms ``0`` to ``settled - 1`` are settled
    here (:func:`settle_firms`); the others are left to the caller, which may settle them on
    two threads at once (each firm's settling reads and writes that firm alone).
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
    settle_firms(firms, key, prepare, c, p, loads, strategy_noise, culture_noise, 0, settled)
    means = means_of(sums, alliances.shape[0])
    for k in range(4):
        series[c.t, k] = means[k]
    return used, kept


@mechanism
def settle_firms(
    firms: np.ndarray,
    key: np.ndarray,
    prepare: bool,
    c: Context,
    p: Params,
    loads: np.ndarray,
    strategy_noise: np.ndarray,
    culture_noise: np.ndarray,
    first: int,
    last: int,
) -> None:
    """Firms ``first`` to ``last - 1`` settle the week's reputation and, with ``prepare``,
    start next week: each drifts by its noise of next week and takes its count of running
    alliances from ``loads``."""
    if prepare:
        fill_firm_draws_between(key, c.t + 1, strategy_noise, culture_noise, first, last)
    for f in range(first, last):
        firm = firms[f]
        settle_reputation(firm, p)
        if prepare:
            drift_firm(firm, strategy_noise[:, f], culture_noise[:, f], c.next_volatility, p)
            firm.load = loads[f]


@mechanism
def cohort_week(
    alliances: np.ndarray,
    firms: np.ndarray,
    key: np.ndarray,
    by_alliance: np.ndarray,
    running: np.ndarray,
    c: Context,
    p: Params,
    series: np.ndarray,
    log: np.ndarray,
    used: int,
    loads: np.ndarray,
    sums: np.ndarray,
    strategy_noise: np.ndarray,
    culture_noise: np.ndarray,
    counters: np.ndarray,
    words: np.ndarray,
) -> tuple[int, int]:
    """A whole week of a cohort stepped on one thread, in one compiled call (the three calls
    it makes, in their order, each cost a dispatch that outweighs a small cohort's week)."""
    start_cohort_week(alliances, firms, key, running, c, p, strategy_noise, culture_noise)
    run_alliances(alliances, firms, key, by_alliance, running, c, p, counters, words)
    return end_cohort_week(
        alliances,
        firms,
        running,
        key,
        False,
        c,
        p,
        series,
        log,
        used,
        loads,
        sums,
        strategy_noise,
        culture_noise,
        firms.shape[0],
    )


def run_weeks(
    alliances: np.ndarray,
    firms: np.ndarray,
    key: np.ndarray,
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
    strategy_noise: np.ndarray,
    culture_noise: np.ndarray,
    counters: np.ndarray,
    words: np.ndarray,
) -> tuple[int, int]:
    """Several weeks in one compiled call, one ``cohort_week`` each, ``contexts`` their
    contexts. Returns the rows of ``log`` used and how many alliances run on."""
    for w in range(contexts.shape[0]):
        used, n_running = cohort_week(
            alliances,
            firms,
            key,
            by_alliance,
            running[:n_running],
            contexts[w],
            p,
            series,
            log,
            used,
            loads,
            sums,
            strategy_noise,
            culture_noise,
            counters,
            words,
        )
    return used, n_running


def close_cohort(alliances: np.ndarray, c: Context) -> None:
    for i in range(alliances.shape[0]):
        if alliances[i].alive:
            close_at_horizon(alliances[i], c)


MIN_HELPED = 2000
"""Fewest alliances for which a second thread pays for its handoffs (:class:`Helper`):
smaller cohorts run on one thread, several weeks per compiled call."""

DRAW_CHUNK = 256
"""Alliances whose numbers read every week are drawn at once (room for them: a few
kilobytes per thread, in the processor's cache)."""

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


def draw_room(n_partners: int) -> tuple[np.ndarray, np.ndarray]:
    """Room for the counters and the words of ``DRAW_CHUNK`` alliances' start blocks."""
    columns = DRAW_CHUNK * start_blocks(n_partners)
    return np.zeros((3, columns), dtype=np.uint32), np.zeros((4, columns), dtype=np.uint32)


class Failed:
    """What the helper hands over instead of a result when it failed."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Helper:
    """The second thread of a large cohort's run.

    In week ``t`` the calling thread hands the helper the last ``share`` of the running
    alliances, steps the others itself, waits for the helper's share and closes the week,
    which also starts the firms on week ``t + 1`` (see ``end_cohort_week``). Each alliance
    draws its own numbers from its own stream and writes only its own records, so the
    results are the same whatever the share (``tests/test_cell_worker.py`` and
    ``tests/test_engines.py`` check it).

    The share is sized each week from measured times so that both threads finish together,
    the helper a margin early.
    """

    def __init__(self, run: CohortRun) -> None:
        self.jobs: queue.SimpleQueue[tuple[Any, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[float, float] | Failed] = queue.SimpleQueue()
        self.share = 0
        self.stepped = 0  # alliance-weeks the helper stepped, in all
        self.main_s = 0.0  # seconds per alliance the calling thread took last week
        self.helper_s = 0.0  # the same for the helper, besides the cost of its call
        self.scratch = draw_room(run.shape.n_partners)  # the helper's own room for draws
        self.step = run._run_alliances
        thread = threading.Thread(target=self._work, name="alliance-sim-helper", daemon=True)
        # a run given up before its horizon tells its helper to stop once it is collected
        weakref.finalize(run, self.jobs.put, None)
        thread.start()

    def _work(self) -> None:
        try:
            while (job := self.jobs.get()) is not None:
                function, args = job
                began = time.perf_counter()
                function(*args)
                self.done.put((began, time.perf_counter()))
        except BaseException as error:  # handed to the calling thread, which raises it
            self.done.put(Failed(error))

    def hand_over(
        self,
        running: np.ndarray,
        args: Callable[[np.ndarray, tuple[np.ndarray, np.ndarray]], tuple[Any, ...]],
    ) -> np.ndarray:
        """Give the helper its share of the week's alliances (stepped with
        ``args(share, its room for draws)``); returns the others."""
        n = len(running)
        self.share = self.plan(n)
        self.stepped += self.share
        self.jobs.put((self.step, args(running[n - self.share :], self.scratch)))
        return running[: n - self.share]

    def plan(self, n: int) -> int:
        """Alliances for the helper this week: both threads should finish together, the
        helper a margin early."""
        main = self.main_s
        if main == 0.0:
            return n // 2  # nothing measured yet
        helper = self.helper_s or main
        spare = main * n - HELPER_CALL_S - HANDOFF_MARGIN_S
        return min(n, max(0, int(spare / (main + helper))))

    def both(self, function: Any, theirs: tuple[Any, ...], mine: tuple[Any, ...]) -> None:
        """``function(*theirs)`` on the helper and ``function(*mine)`` here, at once."""
        self.jobs.put((function, theirs))
        function(*mine)
        got = self.done.get()
        if isinstance(got, Failed):
            raise got.error

    def wait(self, mine: int, mine_s: float) -> None:
        """Wait for the helper's share of the week; learn both threads' speed."""
        got = self.done.get()
        if isinstance(got, Failed):
            raise got.error
        began, finished = got
        if mine:
            self.main_s = mine_s / mine
        if self.share >= MIN_MEASURED_SHARE:
            self.helper_s = max(0.0, finished - began - HELPER_CALL_S) / self.share


class CohortRun:
    """A cohort stepped week by week by the compiled loop."""

    def __init__(self, config: SimulationConfig, start: CohortStart | None = None) -> None:
        self.config = config
        self.key = stream_key(config.seed)
        self.start = start if start is not None else build_cohort(config, cohort_stream(config.seed))
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
        # room for the firms' noise of a week, firm axis last
        self._noise = (np.zeros((N_OBJECTIVES, self.shape.n_firms)), np.zeros((N_TRAITS, self.shape.n_firms)))
        self._room = draw_room(self.shape.n_partners)  # for the calling thread's draws
        self._log_room = self.shape.n_alliances * events_per_week(self.shape.n_partners)
        self.environment = MarketPath(config.scenario)
        self._context = week_context(0, config, touchpoints(0, config), MarketPath(config.scenario).week(0))
        layout = self.state.alliances.dtype
        self._start_week = compiled_for(start_cohort_week, layout)
        self._run_alliances = compiled_for(run_alliances, layout)
        self._end_week = compiled_for(end_cohort_week, layout)
        self._settle_firms = compiled_for(settle_firms, layout)
        self._run_weeks = compiled_for(run_weeks, layout)
        self._close = compiled_for(close_cohort, layout)
        self._by_alliance = alliance_draws_table(self.shape.n_alliances, self.shape.n_partners)
        self._helped = self.shape.n_alliances >= MIN_HELPED and threads() > 1
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
        if self.logged + weeks * self._log_room > len(self.log):
            grown = np.zeros(max(2 * len(self.log), self.logged + weeks * self._log_room), dtype=LOG_DTYPE)
            grown[: self.logged] = self.log[: self.logged]
            self.log = grown.view(np.recarray)

    def step(self) -> None:
        """One week of every running alliance."""
        if not self._helped:
            self._run_many(1)
            return
        t = self.week_index
        running = self._running[: self._n_running]
        c = self._contexts(1)[0]
        self._make_room(1)
        s, p, key = self.state, self.params, self.key
        if self._helper is None:
            self._start_week(s.alliances, s.firms, key, running, c, p, *self._noise)
            self._helper = Helper(self)

        def args(block: np.ndarray, room: tuple[np.ndarray, np.ndarray]) -> tuple[Any, ...]:
            return (s.alliances, s.firms, key, self._by_alliance, block, c, p, *room)

        mine = self._helper.hand_over(running, args)
        began = time.perf_counter()
        self._run_alliances(*args(mine, self._room))
        self._helper.wait(len(mine), time.perf_counter() - began)
        prepare = t + 1 < self.config.horizon_weeks
        self.logged, self._n_running = self._end_week(
            s.alliances,
            s.firms,
            running,
            key,
            prepare,
            c,
            p,
            self.series,
            self.log,
            self.logged,
            self._loads,
            self._sums,
            *self._noise,
            0,
        )
        # each firm's settling touches that firm alone: half the firms on each thread
        n_firms = self.shape.n_firms
        half = n_firms // 2
        common = (s.firms, key, prepare, c, p, self._loads, *self._noise)
        self._helper.both(self._settle_firms, (*common, half, n_firms), (*common, 0, half))
        self._advance(1)

    def run(self, progress: ProgressHook | None = None) -> CohortRun:
        """Step to the horizon: a small cohort several weeks per compiled call, a large one
        week by week on two threads."""
        horizon = self.config.horizon_weeks
        while self.running:
            if self._helped:
                self.step()
            else:
                self._run_many(min(WEEKS_PER_CALL, horizon - self.week_index))
            if progress is not None:
                progress(self.week_index, horizon)
        return self

    def _run_many(self, weeks: int) -> None:
        s = self.state
        contexts = self._contexts(weeks)
        self._make_room(weeks)
        self.logged, self._n_running = self._run_weeks(
            s.alliances,
            s.firms,
            self.key,
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
            *self._noise,
            *self._room,
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
