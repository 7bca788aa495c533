"""The random numbers of the model: one counter-based stream per alliance and per firm.

Every random number of a run is a function of four things only: the replication's seed,
who draws it (an alliance or a firm, by its index), the week, and what it is for (a kind
and an index within the kind). The function is Philox4x32-10 (Salmon et al. 2011,
"Parallel random numbers: as easy as 1, 2, 3"), a counter-based generator: it turns a
128-bit counter (the index, the week, the index within the kind and the kind) and a 64-bit
key (derived from the seed) into four 32-bit words, each made a uniform on (0, 1). It is
the generator of the Random123 library and of numpy's, TensorFlow's and JAX's parallel
streams; ``tests/test_draws.py`` checks it against Random123's published known answers.

Consequences:

* common random numbers: two designs run from the same seed see the same firms, the same
  shocks and the same uniform for every issue, departure and opportunistic temptation, so
  their difference is the design's effect alone;
* no order to keep: an alliance's numbers do not depend on which other alliances run, on
  which thread steps it, or on what another alliance drew, so the two engines, any number
  of threads and any split of the cohort give the same results, bit for bit;
* an alliance draws only the numbers it uses: those it reads every week (noise, the
  uniforms for a shock, new issues, departures, temptation and walking away) when its week
  starts (:func:`start_draws`), the others (a shock's size and direction, new issues'
  severity, each block of four open issues' settlement) when a mechanism needs them
  (:func:`draw_shock`, :func:`draw_severity`, :func:`draw_resolve`).

Every stochastic event is decided by comparing one of these uniforms with a probability
computed from the state (inverse-CDF sampling). The numbers of an alliance's week live in
its record (:class:`sim.state.AllianceDraws`), where a test or the classroom may script an
event by editing a field once :func:`draw_all` has filled the record.

The market at signing (firms, partners, charters) is drawn once from the replication's
sequential stream, :func:`cohort_stream`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from sim.vocabulary import ISSUE_CAPACITY, MAX_NEW_ISSUES, N_OBJECTIVES, N_TRAITS

if TYPE_CHECKING:
    from sim.state import AllianceDraws
from sim.mechanisms import inlined, mechanism


def cohort_stream(seed: int) -> np.random.Generator:
    """The replication's sequential stream, for the market at signing (drawn once).

    SFC64 (numpy's small fast chaotic generator, which passes the standard statistical
    test batteries) draws doubles about 1.7x faster than the default PCG64.
    """
    return np.random.Generator(np.random.SFC64(seed))


KEY_DOMAIN = 0x57454B53
"""Mixed into the seed for the weekly streams' key, so that they never share the market's
seed material."""


def stream_key(seed: int) -> np.ndarray:
    """The key of the replication's weekly streams: two 32-bit words, derived from the seed
    by numpy's SeedSequence, which spreads any seed over the key."""
    return np.random.SeedSequence([int(seed), KEY_DOMAIN]).generate_state(2, np.uint32)


@dataclass(frozen=True)
class CohortShape:
    """Sizes that fix the shape of every table."""

    n_firms: int
    n_alliances: int
    n_partners: int


# Philox4x32-10: the multipliers and the key schedule's increments (Random123, philox.h).
PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
LOW32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)

# What a number is for: the last word of its counter.
ALLIANCE_WEEK = np.uint32(0)  # value noise, shock uniform, shock kind, issue uniform
INCENTIVE = np.uint32(1)  # one block per partner slot: incentive noise of objectives 0..3
PARTNER = np.uint32(2)  # one block per partner slot: expectation noise, contact, opportunism, walk away
SHOCK_DIRECTION = np.uint32(3)  # one block per partner slot: direction on objectives 0..3
SHOCK_SIZE = np.uint32(4)
SEVERITY = np.uint32(5)  # new issues 0..2
RESOLVE = np.uint32(6)  # one block per four issue slots
FIRM_STRATEGY = np.uint32(7)  # strategy noise of objectives 0..3
FIRM_CULTURE = np.uint32(8)  # culture noise of traits 0..2
ZERO = np.uint32(0)

# Which lazily drawn numbers an alliance's record holds this week (``AllianceDraws.drawn``).
DRAWN_SHOCK = 1
DRAWN_SEVERITY = 2
DRAWN_RESOLVE = 4  # shifted left by the block of four issue slots
RESOLVE_BLOCKS = (ISSUE_CAPACITY + 3) // 4
DRAWN_ALL = DRAWN_RESOLVE * (1 << RESOLVE_BLOCKS) - 1

# One block of four words holds every kind's numbers for one index.
if N_OBJECTIVES != 4 or N_TRAITS != 3 or MAX_NEW_ISSUES > 4:
    raise ImportError("sim.draws lays out four objectives, three traits and at most four new issues a block")

TWO_TO_MINUS_32 = 2.0**-32
SQRT3 = math.sqrt(3.0)


@inlined
def philox_round(
    x0: np.uint32, x1: np.uint32, x2: np.uint32, x3: np.uint32, k0: np.uint32, k1: np.uint32
) -> tuple[np.uint32, np.uint32, np.uint32, np.uint32]:
    """One round of Philox4x32: each product of two 32-bit words taken in 64 bits (it never
    overflows), so plain Python and compiled code compute the same words."""
    p0 = np.uint64(x0) * PHILOX_M0
    p1 = np.uint64(x2) * PHILOX_M1
    return (
        np.uint32((p1 >> SHIFT32) ^ np.uint64(x1) ^ np.uint64(k0)),
        np.uint32(p1 & LOW32),
        np.uint32((p0 >> SHIFT32) ^ np.uint64(x3) ^ np.uint64(k1)),
        np.uint32(p0 & LOW32),
    )


@inlined
def round_key(k: np.uint32, step: np.uint64, r: int) -> np.uint32:
    """The key word of round ``r``: ``k + r * step``, modulo 2**32 (added in 64 bits)."""
    return np.uint32((np.uint64(k) + np.uint64(r) * step) & LOW32)


@inlined
def philox(
    c0: np.uint32, c1: np.uint32, c2: np.uint32, c3: np.uint32, k0: np.uint32, k1: np.uint32
) -> tuple[np.uint32, np.uint32, np.uint32, np.uint32]:
    """Philox4x32-10 of the counter ``(c0, c1, c2, c3)`` under the key ``(k0, k1)``: four
    32-bit words, after ten rounds, the key bumped by the schedule's increments before each
    round but the first (written out round by round: no loop for compiled code to carry)."""
    x = philox_round(c0, c1, c2, c3, k0, k1)
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 1), round_key(k1, PHILOX_W1, 1))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 2), round_key(k1, PHILOX_W1, 2))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 3), round_key(k1, PHILOX_W1, 3))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 4), round_key(k1, PHILOX_W1, 4))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 5), round_key(k1, PHILOX_W1, 5))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 6), round_key(k1, PHILOX_W1, 6))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 7), round_key(k1, PHILOX_W1, 7))
    x = philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 8), round_key(k1, PHILOX_W1, 8))
    return philox_round(x[0], x[1], x[2], x[3], round_key(k0, PHILOX_W0, 9), round_key(k1, PHILOX_W1, 9))


@mechanism
def uniform(word: np.uint32) -> float:
    """A 32-bit word as a uniform on (0, 1), never 0 or 1: (word + 1/2) / 2**32."""
    return (float(word) + 0.5) * TWO_TO_MINUS_32


@mechanism
def noise(word: np.uint32) -> float:
    """A 32-bit word as unit-variance noise, uniform on [-sqrt(3), sqrt(3)] (mean 0, variance
    1; sums of many such increments are close to Gaussian)."""
    return ((uniform(word) * 2.0) - 1.0) * SQRT3


@mechanism
def block(w: AllianceDraws, index: int, kind: np.uint32) -> tuple[np.uint32, np.uint32, np.uint32, np.uint32]:
    """The four words of the alliance's week for ``kind`` and ``index``."""
    return philox(np.uint32(w.alliance), np.uint32(w.week), np.uint32(index), kind, w.key0, w.key1)


@mechanism
def start_blocks(n_partners: int) -> int:
    """Blocks an alliance's week starts with: the alliance-week block, then an incentive and a
    partner block per slot."""
    return 2 * n_partners + 1


@mechanism
def start_kind(b: int) -> tuple[int, np.uint32]:
    """Index and kind of block ``b`` of an alliance's start (see :func:`start_blocks`)."""
    if b == 0:
        return 0, ALLIANCE_WEEK
    if b % 2 == 1:
        return (b - 1) // 2, INCENTIVE
    return (b - 2) // 2, PARTNER


@mechanism
def start_words(
    key: np.ndarray,
    week: int,
    alliances: np.ndarray,
    n_partners: int,
    counters: np.ndarray,
    words: np.ndarray,
) -> None:
    """The start blocks of every alliance of ``alliances`` in week ``week``: alliance ``j``'s
    block ``b`` into column ``j * start_blocks(n_partners) + b`` of ``words`` (4 rows of
    uint32). The counters are laid out first (``counters``, 3 rows of uint32), then one loop
    computes every block, which compiled code runs several blocks at a time (Philox's rounds
    are a chain; independent blocks fill the vector lanes)."""
    per = start_blocks(n_partners)
    for j in range(alliances.shape[0]):
        for b in range(per):
            q = j * per + b
            index, kind = start_kind(b)
            counters[0, q] = np.uint32(alliances[j])
            counters[1, q] = np.uint32(index)
            counters[2, q] = kind
    k0, k1, t = key[0], key[1], np.uint32(week)
    for q in range(alliances.shape[0] * per):
        x0, x1, x2, x3 = philox(counters[0, q], t, counters[1, q], counters[2, q], k0, k1)
        words[0, q] = x0
        words[1, q] = x1
        words[2, q] = x2
        words[3, q] = x3


@mechanism
def place_start(
    w: AllianceDraws, key: np.ndarray, alliance: int, week: int, words: np.ndarray, first: int
) -> None:
    """Alliance ``alliance``'s numbers of the start of week ``week`` into its record ``w``,
    from its start blocks in ``words`` (columns ``first`` on, see :func:`start_words`); the
    others are drawn when needed."""
    w.key0 = key[0]
    w.key1 = key[1]
    w.alliance = alliance
    w.week = week
    w.drawn = 0
    w.value_noise = noise(words[0, first])
    w.shock_u = uniform(words[1, first])
    w.shock_kind_u = uniform(words[2, first])
    w.issue_u = uniform(words[3, first])
    for slot in range(w.contact_u.shape[0]):
        incentive = first + 1 + 2 * slot
        for k in range(4):
            w.incentive_noise[k, slot] = noise(words[k, incentive])
        partner = incentive + 1
        w.expectation_noise[slot] = noise(words[0, partner])
        w.contact_u[slot] = uniform(words[1, partner])
        w.opportunism_u[slot] = uniform(words[2, partner])
        w.walkaway_u[slot] = uniform(words[3, partner])


@mechanism
def start_draws(w: AllianceDraws, key: np.ndarray, alliance: int, week: int) -> None:
    """The numbers alliance ``alliance`` reads every week ``week``, into its record ``w``
    (one alliance's :func:`start_words` and :func:`place_start`)."""
    per = start_blocks(w.contact_u.shape[0])
    counters = np.empty((3, per), dtype=np.uint32)
    words = np.empty((4, per), dtype=np.uint32)
    alliances = np.empty(1, dtype=np.int64)
    alliances[0] = alliance
    start_words(key, week, alliances, w.contact_u.shape[0], counters, words)
    place_start(w, key, alliance, week, words, 0)


@mechanism
def draw_shock(w: AllianceDraws) -> None:
    """A shock's size (a standard exponential, by inverse CDF) and its direction on each
    partner's objectives (uniform on [-1, 1]), unless the record holds them already."""
    if w.drawn & DRAWN_SHOCK:
        return
    for slot in range(w.contact_u.shape[0]):
        x0, x1, x2, x3 = block(w, slot, SHOCK_DIRECTION)
        w.shock_direction[0, slot] = (uniform(x0) * 2.0) - 1.0
        w.shock_direction[1, slot] = (uniform(x1) * 2.0) - 1.0
        w.shock_direction[2, slot] = (uniform(x2) * 2.0) - 1.0
        w.shock_direction[3, slot] = (uniform(x3) * 2.0) - 1.0
    x0, _, _, _ = block(w, 0, SHOCK_SIZE)
    w.shock_size = -math.log1p(-uniform(x0))
    w.drawn |= DRAWN_SHOCK


@mechanism
def draw_severity(w: AllianceDraws) -> None:
    """The uniforms that tell whether each new issue of the week is small, unless held."""
    if w.drawn & DRAWN_SEVERITY:
        return
    x0, x1, x2, x3 = block(w, 0, SEVERITY)
    words = (x0, x1, x2, x3)
    for j in range(w.severity_u.shape[0]):
        w.severity_u[j] = uniform(words[j])
    w.drawn |= DRAWN_SEVERITY


@mechanism
def draw_resolve(w: AllianceDraws, q: int) -> None:
    """The uniforms that tell whether the issues in slots ``4b`` to ``4b + 3`` are settled this
    week, ``b`` being the block of slot ``q``, unless held."""
    b = q // 4
    bit = DRAWN_RESOLVE << b
    if w.drawn & bit:
        return
    x0, x1, x2, x3 = block(w, b, RESOLVE)
    words = (x0, x1, x2, x3)
    for j in range(4):
        if 4 * b + j < w.resolve_u.shape[0]:
            w.resolve_u[4 * b + j] = uniform(words[j])
    w.drawn |= bit


@mechanism
def draw_all(w: AllianceDraws, key: np.ndarray, alliance: int, week: int) -> None:
    """Every number of the alliance's week into its record, those drawn when needed too
    (the same numbers :func:`start_draws` and the lazy draws give)."""
    start_draws(w, key, alliance, week)
    draw_shock(w)
    draw_severity(w)
    for b in range(RESOLVE_BLOCKS):
        draw_resolve(w, 4 * b)


@mechanism
def draw_week_of_all(table: np.ndarray, key: np.ndarray, week: int) -> None:
    """Every alliance's numbers of week ``week`` into its record of ``table``."""
    for i in range(table.shape[0]):
        draw_all(table[i], key, i, week)


class FirmDraws(NamedTuple):
    """One week's firm noise, firm axis last: ``strategy_noise`` (K, F), ``culture_noise`` (T, F)."""

    strategy_noise: np.ndarray
    culture_noise: np.ndarray


@mechanism
def fill_firm_draws(key: np.ndarray, week: int, strategy: np.ndarray, culture: np.ndarray) -> None:
    """Every firm's noise of week ``week``, firm axis last: firm ``f``'s strategy noise, one
    per objective, into ``strategy[:, f]`` and its culture noise, one per trait, into
    ``culture[:, f]``."""
    fill_firm_draws_between(key, week, strategy, culture, 0, strategy.shape[1])


@mechanism
def fill_firm_draws_between(
    key: np.ndarray, week: int, strategy: np.ndarray, culture: np.ndarray, first: int, last: int
) -> None:
    """The noise of firms ``first`` to ``last - 1`` (see :func:`fill_firm_draws`). One loop
    over the firms, which compiled code runs several firms at a time."""
    t = np.uint32(week)
    for f in range(first, last):
        x0, x1, x2, x3 = philox(np.uint32(f), t, ZERO, FIRM_STRATEGY, key[0], key[1])
        strategy[0, f] = noise(x0)
        strategy[1, f] = noise(x1)
        strategy[2, f] = noise(x2)
        strategy[3, f] = noise(x3)
        y0, y1, y2, _ = philox(np.uint32(f), t, ZERO, FIRM_CULTURE, key[0], key[1])
        culture[0, f] = noise(y0)
        culture[1, f] = noise(y1)
        culture[2, f] = noise(y2)


def firm_week(key: np.ndarray, week: int, n_firms: int) -> FirmDraws:
    """Every firm's noise of week ``week`` as arrays (compiled)."""
    from sim.compiled import compiled

    out = FirmDraws(np.empty((N_OBJECTIVES, n_firms)), np.empty((N_TRAITS, n_firms)))
    compiled(fill_firm_draws)(key, week, *out)
    return out


def alliance_draws_table(n_alliances: int, n_partners: int) -> np.ndarray:
    """An empty table of one record of draws per alliance."""
    from sim.state import AllianceDraws, record_dtype

    return np.zeros(n_alliances, dtype=record_dtype(AllianceDraws, n_partners)).view(np.recarray)


def fill_week(table: np.ndarray, key: np.ndarray, week: int) -> None:
    """Every alliance's numbers of week ``week``, all of them, into ``table`` (compiled)."""
    from sim.compiled import compiled_for

    compiled_for(draw_week_of_all, table.dtype)(table, key, week)
