"""The market and the cohort at signing: firms, who allies with whom, and starting states.

Both engines start from the same :class:`CohortStart`, built from the
replication's random stream before the first week. Nothing here reads the
governance design, the launch mode or the scenario, so every design is tried on
the very same firms and alliances (common random numbers).
"""

from __future__ import annotations

import functools
import itertools
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from sim.draws import CohortShape
from sim.mechanics import EXPECTATION_FLOOR, N_OBJECTIVES, N_TRAITS
from sim.mechanisms.value import commitment as committed
from sim.params import SimulationConfig

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class CohortStart:
    """Initial state of a cohort. ``F`` firms, ``N`` alliances, ``P`` partner slots.

    Slot 0 of every alliance is its focal firm: the hub of an ecosystem, the
    initiating partner of a dyad.
    """

    shape: CohortShape
    edges: np.ndarray  # (E, 2) int: who knows whom in the market (see build_market)
    edge_experience: np.ndarray  # (E,) int: past joint alliances of each pair of firms
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

    @functools.cached_property
    def market(self) -> nx.Graph:
        """The market as a networkx graph: firms as nodes, edge attribute ``experience``.
        Built on first use: the engines need only the arrays."""
        return market_graph(self.shape.n_firms, self.edges, self.edge_experience)


def cohort_shape(config: SimulationConfig) -> CohortShape:
    """Firms in the market: enough that each holds ``alliances_per_firm`` alliances on average."""
    n = config.n_alliances
    p = config.alliance.n_partners
    n_firms = max(p + 1, math.ceil(n * p / config.market.alliances_per_firm))
    return CohortShape(n_firms=n_firms, n_alliances=n, n_partners=p)


def build_market(n_firms: int, degree: int, rewiring: float, seed: int) -> np.ndarray:
    """A small-world market: firms know a few neighbours and some far-away firms.

    The edges, as an ``(E, 2)`` array, of ``networkx.watts_strogatz_graph(n_firms, k, rewiring,
    seed)`` with ``k = min(degree, n_firms - 1)`` (a complete graph when ``k < 2``), in the order
    its ``edges()`` lists them. The generator's steps and random calls are replayed on plain
    dictionaries, which is several times faster than building the graph object; the cohort
    builds a networkx graph only when one is asked for (:attr:`CohortStart.market`), and
    ``tests/test_market.py`` checks the two agree edge for edge.
    """
    n = n_firms
    k = min(degree, n - 1)
    adjacency: list[dict[int, None]] = [{} for _ in range(n)]
    if k < 2:
        for u, v in itertools.combinations(range(n), 2):
            adjacency[u][v] = adjacency[v][u] = None
    else:
        for j in range(1, k // 2 + 1):
            for u in range(n):
                v = (u + j) % n
                adjacency[u][v] = adjacency[v][u] = None
        draw = random.Random(seed)
        nodes = list(range(n))
        for j in range(1, k // 2 + 1):
            for u in range(n):
                if draw.random() < rewiring:
                    v = (u + j) % n
                    w = draw.choice(nodes)
                    while w == u or w in adjacency[u]:
                        w = draw.choice(nodes)
                        if len(adjacency[u]) >= n - 1:
                            break  # no free node: keep the edge
                    else:
                        del adjacency[u][v], adjacency[v][u]
                        adjacency[u][w] = adjacency[w][u] = None
    return np.array(_listed_edges(adjacency), dtype=np.int64).reshape(-1, 2)


def _listed_edges(adjacency: list[dict[int, None]]) -> list[tuple[int, int]]:
    """Edges in networkx's ``Graph.edges()`` order: by node, then by when a neighbour was added."""
    seen: set[int] = set()
    edges: list[tuple[int, int]] = []
    for u, neighbours in enumerate(adjacency):
        edges.extend((u, v) for v in neighbours if v not in seen)
        seen.add(u)
    return edges


def market_graph(n_firms: int, edges: np.ndarray, experience: np.ndarray) -> nx.Graph:
    """The market as a networkx graph; edge attribute ``experience`` = past joint alliances."""
    import networkx as nx  # the engines need only the arrays

    graph = nx.empty_graph(n_firms)
    graph.add_edges_from(
        (u, v, {"experience": e}) for (u, v), e in zip(edges.tolist(), experience.tolist(), strict=True)
    )
    return graph


def neighbour_table(n_firms: int, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each firm's neighbours in ascending order, one row per firm padded with 0, and its degree."""
    ends = np.concatenate([edges, edges[:, ::-1]])
    ends = ends[np.lexsort((ends[:, 1], ends[:, 0]))]
    degree = np.bincount(ends[:, 0], minlength=n_firms)
    table = np.zeros((n_firms, max(int(degree.max(initial=0)), 1)), dtype=np.int64)
    first = np.cumsum(degree) - degree
    table[ends[:, 0], np.arange(len(ends)) - first[ends[:, 0]]] = ends[:, 1]
    return table, degree


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


def form_alliances(
    table: np.ndarray, degree: np.ndarray, focal: np.ndarray, keys: np.ndarray, n_partners: int
) -> np.ndarray:
    """Each focal firm allies with partners it knows, chosen at random among its neighbours.

    ``table`` and ``degree`` list each firm's neighbours (:func:`neighbour_table`).
    ``keys`` holds one uniform per (alliance, neighbour rank); the neighbours
    with the smallest keys are chosen. A firm with too few neighbours fills the
    remaining slots with the next firms by index (firms it would meet through
    the market at large), so every alliance has distinct partners.
    """
    n_firms = len(degree)
    need = n_partners - 1
    width = keys.shape[1]
    table = np.pad(table, ((0, 0), (0, max(0, width - table.shape[1]))))[:, :width]
    # rank every alliance's keys among its focal firm's neighbours at once: keys past the
    # firm's degree are set above any uniform, and a stable sort keeps ties in neighbour order
    known = np.arange(width) < degree[focal][:, None]
    order = np.argsort(np.where(known, keys, np.inf), axis=1, kind="stable")[:, :need]
    firm_of = np.empty((len(focal), n_partners), dtype=np.int64)
    firm_of[:, 0] = focal
    # with fewer neighbours than partners to find (order is narrower), the loop below fills all
    firm_of[:, 1 : 1 + order.shape[1]] = np.take_along_axis(table[focal], order, axis=1)
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

    edges = build_market(f, m.degree, m.rewiring, seed=int(rng.integers(2**31 - 1)))
    # Inverse-CDF sampling consumes one uniform per value whatever the parameters, so
    # changing a market parameter changes only what it governs (common random numbers).
    past = poisson_ppf(rng.random(len(edges)), m.prior_experience)

    strategy = _clip01(0.5 + m.strategy_spread * rng.standard_normal((f, N_OBJECTIVES)))
    culture = _clip01(0.5 + m.culture_spread * rng.standard_normal((f, N_TRAITS)))
    # the Beta prior's quantiles (scipy.stats.beta.ppf computes the same, by the same Boost routine)
    reputation = special.betaincinv(m.reputation_alpha, m.reputation_beta, rng.random(f))
    capacity = np.clip(1.0 + m.capacity_sd * rng.standard_normal(f), 0.3, 3.0)
    outside = np.maximum(0.0, m.outside_option_mean + m.outside_option_sd * rng.standard_normal(f))

    focal = rng.integers(f, size=n)
    table, degree = neighbour_table(f, edges)
    keys = rng.random((n, max(int(degree.max(initial=0)), 1)))
    firm_of = form_alliances(table, degree, focal, keys, p)

    incentives = _clip01(strategy[firm_of] + 0.05 * rng.standard_normal((n, p, N_OBJECTIVES)))
    optimism = d.optimism + d.optimism_sd * rng.standard_normal((n, p))
    results_lag = rng.random((n, p))
    measurement = config.dynamics.measurement_spread * rng.random(n)

    load = np.bincount(firm_of.ravel(), minlength=f)
    commitment = np.vectorize(committed, otypes=[float])(
        capacity[firm_of], load[firm_of].astype(float), d.load_dilution
    )
    a = config.alliance
    planned = (
        a.complementarity * d.value_per_partner * (d.trust_floor + (1.0 - d.trust_floor) * d.planning_trust)
    )
    projected = planned - d.contribution_cost * commitment
    expectation = np.maximum(EXPECTATION_FLOOR, projected * (1.0 + optimism))
    launch = d.discovery_weeks + d.alignment_weeks + d.design_weeks
    results_week = launch + np.rint(d.results_weeks * (0.5 + results_lag)).astype(np.int64)

    # past joint alliances between the hub and each partner: look each pair up among the edges
    pair_key = np.minimum(edges[:, 0], edges[:, 1]) * f + np.maximum(edges[:, 0], edges[:, 1])
    by_key = np.argsort(pair_key, kind="stable")
    sorted_keys = pair_key[by_key]
    hub, spokes = firm_of[:, :1], firm_of[:, 1:]
    wanted = np.minimum(hub, spokes) * f + np.maximum(hub, spokes)
    at = np.minimum(np.searchsorted(sorted_keys, wanted), max(len(sorted_keys) - 1, 0))
    if len(sorted_keys):
        found = sorted_keys[at] == wanted
        shared = np.where(found, past[by_key[at]], 0)
    else:
        shared = np.zeros_like(wanted)
    experience = np.zeros(n)
    for slot in range(p - 1):  # summed slot by slot, in the order the definition adds them
        experience += shared[:, slot].astype(float)
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
        edges=edges,
        edge_experience=past,
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
