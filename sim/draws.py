"""The random numbers of one simulated week, drawn as arrays of fixed shape.

Every week both engines call :func:`draw_week` exactly once, before any
mechanism runs. The shapes depend only on the cohort's size (firms, alliances,
partner slots), never on the state or on the governance design, and the arrays
are drawn in a fixed order. Consequences:

* common random numbers: two designs run from the same seed see the same
  firms, the same shocks and the same uniforms for every issue, departure and
  opportunistic temptation, so their difference is the design's effect alone;
* the Mesa engine (one agent at a time) and the cohort engine (a compiled loop
  over every alliance) read the same numbers, so their trajectories match.

Every stochastic event is decided by comparing one of these uniforms with a
probability computed from the state (inverse-CDF sampling); no mechanism calls
the generator itself.

Arrays put the firm or alliance axis last, so that one week's draws for all
alliances are a few contiguous blocks; both engines read them at an alliance's
column. ``WeekDraws`` is a named tuple so that compiled code can read it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, cast

import numpy as np

from sim.vocabulary import ISSUE_CAPACITY, MAX_NEW_ISSUES, N_OBJECTIVES, N_TRAITS

if TYPE_CHECKING:
    from sim.state import AllianceDraws
from sim.mechanisms import mechanism


def cohort_stream(seed: int) -> np.random.Generator:
    """The replication's random stream: everything random in a cohort comes from it.

    SFC64 (numpy's small fast chaotic generator, which passes the standard
    statistical test batteries) draws doubles about 1.7x faster than the
    default PCG64 here, and draws are a large share of a vectorized run.
    """
    return np.random.Generator(np.random.SFC64(seed))


@dataclass(frozen=True)
class CohortShape:
    """Sizes that fix the shape of every draw."""

    n_firms: int
    n_alliances: int
    n_partners: int


class WeekDraws(NamedTuple):
    """One week's random numbers. ``F`` firms, ``N`` alliances, ``P`` partner slots, ``K`` objectives."""

    strategy_noise: np.ndarray  # (K, F) unit-variance noise
    culture_noise: np.ndarray  # (traits, F) unit-variance noise
    incentive_noise: np.ndarray  # (K, P, N) unit-variance noise
    expectation_noise: np.ndarray  # (P, N) unit-variance noise
    value_noise: np.ndarray  # (N,) unit-variance noise: week-to-week luck in realised value
    shock_direction: np.ndarray  # (K, P, N) uniform on [-1, 1]: how it moves incentives
    shock_size: np.ndarray  # (N,) standard exponential: its size before scaling
    shock_u: np.ndarray  # (N,) uniform: does a shock arrive?
    shock_kind_u: np.ndarray  # (N,) uniform: which kind
    issue_u: np.ndarray  # (N,) uniform: how many issues arise
    severity_u: np.ndarray  # (MAX_NEW_ISSUES, N) uniform: is each new issue small?
    resolve_u: np.ndarray  # (ISSUE_CAPACITY, N) uniform: is the issue in each slot settled?
    contact_u: np.ndarray  # (P, N) uniform: does each partner's key contact leave?
    opportunism_u: np.ndarray  # (P, N) uniform: does each partner act opportunistically?
    walkaway_u: np.ndarray  # (P, N) uniform: does each partner walk away while it tests the fit?


SQRT3 = float(np.sqrt(3.0))

NOISE = ("strategy_noise", "culture_noise", "incentive_noise", "expectation_noise", "value_noise")
"""Drift and luck increments: uniform on [-sqrt(3), sqrt(3)], i.e. mean 0 and variance 1.
Sums of many such increments are close to Gaussian; a uniform costs a quarter of a normal."""


@functools.cache
def _layout(shape: CohortShape) -> tuple[tuple[str, tuple[int, ...], int, int], ...]:
    """Every array of the week in drawing order: name, dimensions, start and end in the block.

    The noise arrays come first, so that one operation turns them all into unit-variance noise.
    """
    f, n, p = shape.n_firms, shape.n_alliances, shape.n_partners
    dims = [
        ("strategy_noise", (N_OBJECTIVES, f)),
        ("culture_noise", (N_TRAITS, f)),
        ("incentive_noise", (N_OBJECTIVES, p, n)),
        ("expectation_noise", (p, n)),
        ("value_noise", (n,)),
        ("shock_direction", (N_OBJECTIVES, p, n)),
        ("shock_size", (n,)),
        ("shock_u", (n,)),
        ("shock_kind_u", (n,)),
        ("issue_u", (n,)),
        ("severity_u", (MAX_NEW_ISSUES, n)),
        ("resolve_u", (ISSUE_CAPACITY, n)),
        ("contact_u", (p, n)),
        ("opportunism_u", (p, n)),
        ("walkaway_u", (p, n)),
    ]
    out, start = [], 0
    for name, shape_ in dims:
        size = math.prod(shape_)
        out.append((name, shape_, start, start + size))
        start += size
    return tuple(out)


def draw_week(rng: np.random.Generator, shape: CohortShape, reuse: WeekDraws | None = None) -> WeekDraws:
    """Draw one week's numbers from the replication's stream: one block of uniforms, always
    laid out in the same order, then transformed (noise to unit variance, shock directions to
    [-1, 1], shock sizes to standard exponentials by inverse CDF).

    ``reuse``, the draws this function returned last week for the same shape, is refilled
    in place and returned: the same numbers as fresh arrays, without allocating the block
    every week. Only a caller that keeps nothing of a week's draws past the week may pass it.
    """
    layout = _layout(shape)
    block: np.ndarray
    if reuse is None:
        block = rng.random(layout[-1][3])  # one block; the named arrays are views of it
        draws = WeekDraws(**{name: block[start:end].reshape(dims) for name, dims, start, end in layout})
    else:
        draws = reuse
        block = cast(np.ndarray, draws.strategy_noise.base)  # the block every array views
        rng.random(out=block)
    _transform(block.reshape(1, -1), layout)
    return draws


def draw_weeks(
    rng: np.random.Generator, shape: CohortShape, weeks: int, reuse: WeekDraws | None = None
) -> WeekDraws:
    """The numbers of the next ``weeks`` weeks at once: every array has a leading axis of
    weeks, and ``week_of(draws, w)`` is what ``draw_week`` would give for week ``w`` (the same
    numbers, in the stream's order: week after week, each one block laid out as in
    ``draw_week``). ``reuse`` as in ``draw_week``, for the same shape and number of weeks."""
    layout = _layout(shape)
    block: np.ndarray
    if reuse is None or reuse.value_noise.shape[0] != weeks:
        block = rng.random((weeks, layout[-1][3]))
        draws = WeekDraws(
            **{name: block[:, start:end].reshape((weeks, *dims)) for name, dims, start, end in layout}
        )
    else:
        draws = reuse
        block = cast(np.ndarray, draws.strategy_noise.base)
        rng.random(out=block)
    _transform(block, layout)
    return draws


def _transform(block: np.ndarray, layout: tuple[tuple[str, tuple[int, ...], int, int], ...]) -> None:
    """Turn the uniforms of a (weeks, block) array into each array's distribution, in place:
    noise to unit variance and shock directions to [-1, 1] in compiled code (which holds no
    lock a second thread would wait for; the arithmetic of (2u - 1)·√3 and 2u - 1, step by
    step), shock sizes by numpy's log1p."""
    from sim.compiled import compiled

    noise_end = layout[len(NOISE) - 1][3]
    spans = {name: (start, end) for name, _, start, end in layout}
    compiled(centre_uniforms)(block, noise_end, *spans["shock_direction"])
    size = block[:, slice(*spans["shock_size"])]
    np.negative(size, out=size)
    np.log1p(size, out=size)
    np.negative(size, out=size)


def centre_uniforms(block: np.ndarray, noise_end: int, start: int, end: int) -> None:
    """Uniforms to unit-variance noise, ``(2u - 1)·√3``, up to column ``noise_end``, and to
    shock directions, ``2u - 1``, from column ``start`` to ``end``, in every row."""
    for w in range(block.shape[0]):
        for i in range(noise_end):
            block[w, i] = ((block[w, i] * 2.0) - 1.0) * SQRT3
        for i in range(start, end):
            block[w, i] = (block[w, i] * 2.0) - 1.0


@mechanism
def week_of(weeks: WeekDraws, w: int) -> WeekDraws:
    """Week ``w`` of draws made by :func:`draw_weeks`."""
    return WeekDraws(
        weeks.strategy_noise[w],
        weeks.culture_noise[w],
        weeks.incentive_noise[w],
        weeks.expectation_noise[w],
        weeks.value_noise[w],
        weeks.shock_direction[w],
        weeks.shock_size[w],
        weeks.shock_u[w],
        weeks.shock_kind_u[w],
        weeks.issue_u[w],
        weeks.severity_u[w],
        weeks.resolve_u[w],
        weeks.contact_u[w],
        weeks.opportunism_u[w],
        weeks.walkaway_u[w],
    )


ALLIANCE_DRAWS = (
    "incentive_noise",
    "expectation_noise",
    "value_noise",
    "shock_direction",
    "shock_size",
    "shock_u",
    "shock_kind_u",
    "issue_u",
    "severity_u",
    "resolve_u",
    "contact_u",
    "opportunism_u",
    "walkaway_u",
)
"""The week's draws that belong to one alliance, in the order of ``sim.state.AllianceDraws``."""


def alliance_draws_table(n_alliances: int, n_partners: int) -> np.ndarray:
    """An empty table of one record of draws per alliance (filled by :func:`split_draws`)."""
    from sim.state import AllianceDraws, record_dtype

    return np.zeros(n_alliances, dtype=record_dtype(AllianceDraws, n_partners)).view(np.recarray)


@mechanism
def draws_of(w: WeekDraws, i: int, r: AllianceDraws) -> None:
    """Copy alliance ``i``'s numbers of the week into its record ``r``."""
    for k in range(w.incentive_noise.shape[0]):
        for slot in range(w.incentive_noise.shape[1]):
            r.incentive_noise[k, slot] = w.incentive_noise[k, slot, i]
            r.shock_direction[k, slot] = w.shock_direction[k, slot, i]
    for slot in range(w.expectation_noise.shape[0]):
        r.expectation_noise[slot] = w.expectation_noise[slot, i]
        r.contact_u[slot] = w.contact_u[slot, i]
        r.opportunism_u[slot] = w.opportunism_u[slot, i]
        r.walkaway_u[slot] = w.walkaway_u[slot, i]
    r.value_noise = w.value_noise[i]
    r.shock_size = w.shock_size[i]
    r.shock_u = w.shock_u[i]
    r.shock_kind_u = w.shock_kind_u[i]
    r.issue_u = w.issue_u[i]
    for j in range(w.severity_u.shape[0]):
        r.severity_u[j] = w.severity_u[j, i]
    for q in range(w.resolve_u.shape[0]):
        r.resolve_u[q] = w.resolve_u[q, i]


@mechanism
def split_draws(w: WeekDraws, out: np.ndarray) -> None:
    """Copy the week's draws into one record per alliance (``out``), the form the mechanisms read."""
    for i in range(out.shape[0]):
        draws_of(w, i, out[i])
