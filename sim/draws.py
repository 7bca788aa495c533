"""The random numbers of one simulated week, drawn as arrays of fixed shape.

Every week both engines call :func:`draw_week` exactly once, before any
mechanism runs. The shapes depend only on the cohort's size (firms, alliances,
partner slots), never on the state or on the governance design, and the arrays
are drawn in a fixed order. Consequences:

* common random numbers: two designs run from the same seed see the same
  firms, the same shocks and the same uniforms for every issue, departure and
  opportunistic temptation, so their difference is the design's effect alone;
* the reference engine (one Mesa agent at a time) and the vectorized engine
  (all alliances at once) read the same numbers, so their trajectories match.

Every stochastic event is decided by comparing one of these uniforms with a
probability computed from the state (inverse-CDF sampling); no mechanism calls
the generator itself.

Arrays put the firm or alliance axis last, so that the vectorized engine works
on contiguous rows; the reference engine reads them per alliance through
:class:`sim.model.WeekLists`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.mechanics import ISSUE_CAPACITY, MAX_NEW_ISSUES, N_OBJECTIVES, N_TRAITS


@dataclass(frozen=True)
class CohortShape:
    """Sizes that fix the shape of every draw."""

    n_firms: int
    n_alliances: int
    n_partners: int


@dataclass(frozen=True)
class WeekDraws:
    """One week's random numbers. ``F`` firms, ``N`` alliances, ``P`` partner slots, ``K`` objectives."""

    strategy_noise: np.ndarray  # (K, F) standard normal
    culture_noise: np.ndarray  # (traits, F) standard normal
    incentive_noise: np.ndarray  # (K, P, N) standard normal
    expectation_noise: np.ndarray  # (P, N) standard normal
    shock_u: np.ndarray  # (N,) uniform: does a shock arrive?
    shock_size: np.ndarray  # (N,) standard exponential: its size before scaling
    shock_kind_u: np.ndarray  # (N,) uniform: which kind
    shock_direction: np.ndarray  # (K, P, N) uniform on [-1, 1]: how it moves incentives
    issue_u: np.ndarray  # (N,) uniform: how many issues arise
    severity_u: np.ndarray  # (MAX_NEW_ISSUES, N) uniform: is each new issue small?
    resolve_u: np.ndarray  # (ISSUE_CAPACITY, N) uniform: is the issue in each slot settled?
    contact_u: np.ndarray  # (P, N) uniform: does each partner's key contact leave?
    opportunism_u: np.ndarray  # (P, N) uniform: does each partner act opportunistically?
    value_noise: np.ndarray  # (N,) standard normal: week-to-week luck in realised value


def draw_week(rng: np.random.Generator, shape: CohortShape) -> WeekDraws:
    """Draw one week's numbers from the replication's stream, always in this order."""
    f, n, p = shape.n_firms, shape.n_alliances, shape.n_partners
    return WeekDraws(
        strategy_noise=rng.standard_normal((N_OBJECTIVES, f)),
        culture_noise=rng.standard_normal((N_TRAITS, f)),
        incentive_noise=rng.standard_normal((N_OBJECTIVES, p, n)),
        expectation_noise=rng.standard_normal((p, n)),
        shock_u=rng.random(n),
        shock_size=rng.standard_exponential(n),
        shock_kind_u=rng.random(n),
        shock_direction=2.0 * rng.random((N_OBJECTIVES, p, n)) - 1.0,
        issue_u=rng.random(n),
        severity_u=rng.random((MAX_NEW_ISSUES, n)),
        resolve_u=rng.random((ISSUE_CAPACITY, n)),
        contact_u=rng.random((p, n)),
        opportunism_u=rng.random((p, n)),
        value_noise=rng.standard_normal(n),
    )
