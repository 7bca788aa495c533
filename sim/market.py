"""The market and the cohort at signing: firms, who allies with whom, and starting states.

Both engines start from the same :class:`CohortStart`, built from the
replication's random stream before the first week. Nothing here reads the
governance design, the launch mode or the scenario, so every design is tried on
the very same firms and alliances (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import special, stats

from sim.draws import CohortShape
from sim.mechanics import EXPECTATION_FLOOR, N_OBJECTIVES, N_TRAITS
from sim.mechanics import commitment as committed
from sim.params import SimulationConfig


@dataclass(frozen=True)
class CohortStart:
    """Initial state of a cohort. ``F`` firms, ``N`` alliances, ``P`` partner slots.

    Slot 0 of every alliance is its focal firm: the hub of an ecosystem, the
    initiating partner of a dyad.
    """

    shape: CohortShape
    market: nx.Graph  # firms as nodes; edge attribute ``experience`` = past joint alliances
    strategy: np.ndarray  # (F, objectives) in [0, 1]: what each firm's strategy prioritises
    culture: np.ndarray  # (F, traits) in [0, 1]
    reputation: np.ndarray  # (F,) in [0, 1]
    capacity: np.ndarray  # (F,) resources a firm can commit to alliances in all
    outside_option: np.ndarray  # (F,) weekly value a firm earns without an alliance
    firm_of: np.ndarray  # (N, P) int: which firm fills each partner slot
    incentives: np.ndarray  # (N, P, objectives): a partner's priorities in this alliance
    expectation: np.ndarray  # (N, P): weekly net value each partner expects
    results_week: np.ndarray  # (N, P) int: week by which each partner expects results
    measurement: np.ndarray  # (N,) in [0, 1]: how differently the partners count success
    experience: np.ndarray  # (N,) mean past joint alliances between hub and partners
    trust: np.ndarray  # (N,) trust at signing
    commitment: np.ndarray  # (N, P) resources each partner commits at signing


def cohort_shape(config: SimulationConfig) -> CohortShape:
    """Firms in the market: enough that each holds ``alliances_per_firm`` alliances on average."""
    n = config.n_alliances
    p = config.alliance.n_partners
    n_firms = max(p + 1, math.ceil(n * p / config.market.alliances_per_firm))
    return CohortShape(n_firms=n_firms, n_alliances=n, n_partners=p)


def build_market(n_firms: int, degree: int, rewiring: float, seed: int) -> nx.Graph:
    """A small-world market: firms know a few neighbours and some far-away firms."""
    k = min(degree, n_firms - 1)
    if k < 2:
        return nx.complete_graph(n_firms)
    return nx.watts_strogatz_graph(n_firms, k, rewiring, seed=seed)


def poisson_ppf(q: np.ndarray, mu: float) -> np.ndarray:
    """``scipy.stats.poisson.ppf(q, mu)`` as integers, from a table of the CDF.

    The smallest ``k`` with ``P(X <= k) >= q``, the CDF taken from ``scipy.special.pdtr``
    at 0, 1, 2, ...; ``q == 0`` gives -1, as in scipy. One table lookup per value
    instead of scipy's per-value inversion (``tests/test_market.py`` checks the two agree).
    """
    if len(q) == 0:
        return np.zeros(0, dtype=np.int64)
    top = 1
    while special.pdtr(top, mu) < q.max():
        top *= 2
    cdf = special.pdtr(np.arange(top + 1), mu)
    return np.where(q == 0.0, -1, np.searchsorted(cdf, q, side="left")).astype(np.int64)


def _clip01(a: np.ndarray) -> np.ndarray:
    return np.clip(a, 0.0, 1.0)


def form_alliances(market: nx.Graph, focal: np.ndarray, keys: np.ndarray, n_partners: int) -> np.ndarray:
    """Each focal firm allies with partners it knows, chosen at random among its neighbours.

    ``keys`` holds one uniform per (alliance, neighbour rank); the neighbours
    with the smallest keys are chosen. A firm with too few neighbours fills the
    remaining slots with the next firms by index (firms it would meet through
    the market at large), so every alliance has distinct partners.
    """
    n_firms = market.number_of_nodes()
    need = n_partners - 1
    # each firm's neighbours in ascending order, one row per firm, padded
    width = keys.shape[1]
    table = np.zeros((n_firms, width), dtype=np.int64)
    degree = np.zeros(n_firms, dtype=np.int64)
    for node, nbrs in market.adjacency():
        ordered = sorted(nbrs)
        table[node, : len(ordered)] = ordered
        degree[node] = len(ordered)
    # rank every alliance's keys among its focal firm's neighbours at once: keys past the
    # firm's degree are set above any uniform, and a stable sort keeps ties in neighbour order
    known = np.arange(width) < degree[focal][:, None]
    order = np.argsort(np.where(known, keys, np.inf), axis=1, kind="stable")[:, :need]
    firm_of = np.empty((len(focal), n_partners), dtype=np.int64)
    firm_of[:, 0] = focal
    firm_of[:, 1:] = np.take_along_axis(table[focal], order, axis=1)
    for a in np.flatnonzero(degree[focal] < need).tolist():
        f = int(focal[a])
        chosen = table[f, : degree[f]].tolist()
        step = 1
        while len(chosen) < need:
            candidate = (f + step) % n_firms
            if candidate != f and candidate not in chosen:
                chosen.append(candidate)
            step += 1
        firm_of[a, 1:] = chosen
    return firm_of


def build_cohort(config: SimulationConfig, rng: np.random.Generator) -> CohortStart:
    """Draw the market and the cohort at signing from the replication's stream."""
    shape = cohort_shape(config)
    m, d = config.market, config.dynamics
    f, n, p = shape.n_firms, shape.n_alliances, shape.n_partners

    market = build_market(f, m.degree, m.rewiring, seed=int(rng.integers(2**31 - 1)))
    edges = list(market.edges())
    # Inverse-CDF sampling consumes one uniform per value whatever the parameters, so
    # changing a market parameter changes only what it governs (common random numbers).
    past = poisson_ppf(rng.random(len(edges)), m.prior_experience)
    nx.set_edge_attributes(market, dict(zip(edges, past.tolist(), strict=True)), "experience")

    strategy = _clip01(0.5 + m.strategy_spread * rng.standard_normal((f, N_OBJECTIVES)))
    culture = _clip01(0.5 + m.culture_spread * rng.standard_normal((f, N_TRAITS)))
    reputation = stats.beta.ppf(rng.random(f), m.reputation_alpha, m.reputation_beta)
    capacity = np.clip(1.0 + m.capacity_sd * rng.standard_normal(f), 0.3, 3.0)
    outside = np.maximum(0.0, m.outside_option_mean + m.outside_option_sd * rng.standard_normal(f))

    focal = rng.integers(f, size=n)
    max_degree = max((deg for _, deg in market.degree()), default=0)
    keys = rng.random((n, max(max_degree, 1)))
    firm_of = form_alliances(market, focal, keys, p)

    incentives = _clip01(strategy[firm_of] + 0.05 * rng.standard_normal((n, p, N_OBJECTIVES)))
    optimism = d.optimism + d.optimism_sd * rng.standard_normal((n, p))
    results_lag = rng.random((n, p))
    measurement = config.dynamics.measurement_spread * rng.random(n)

    load = np.bincount(firm_of.ravel(), minlength=f)
    commitment = committed(capacity[firm_of], load[firm_of].astype(float), d.load_dilution)
    a = config.alliance
    planned = (
        a.complementarity * d.value_per_partner * (d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust)
    )
    projected = planned - d.contribution_cost * commitment
    expectation = np.maximum(EXPECTATION_FLOOR, projected * (1.0 + optimism))
    launch = d.discovery_weeks + d.alignment_weeks + d.design_weeks
    results_week = launch + np.rint(d.results_weeks * (0.5 + results_lag)).astype(np.int64)

    experience = np.zeros(n)
    shared = {(min(u, v), max(u, v)): e for (u, v), e in zip(edges, past.tolist(), strict=True)}
    for slot in range(1, p):
        hub, spoke = firm_of[:, 0].tolist(), firm_of[:, slot].tolist()
        experience += np.array(
            [shared.get((min(u, v), max(u, v)), 0) for u, v in zip(hub, spoke, strict=True)], dtype=float
        )
    experience /= p - 1
    mean_reputation = reputation[firm_of].mean(axis=1)
    typical_reputation = m.reputation_alpha / (m.reputation_alpha + m.reputation_beta)
    trust = _clip01(
        d.initial_trust
        + d.reputation_trust * (mean_reputation - typical_reputation)
        + d.experience_trust * np.minimum(experience, 2.0) / 2.0
    )
    return CohortStart(
        shape=shape,
        market=market,
        strategy=strategy,
        culture=culture,
        reputation=reputation,
        capacity=capacity,
        outside_option=outside,
        firm_of=firm_of,
        incentives=incentives,
        expectation=expectation,
        results_week=results_week,
        measurement=measurement,
        experience=experience,
        trust=trust,
        commitment=commitment,
    )
