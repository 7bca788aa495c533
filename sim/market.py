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
from numba.extending import register_jitable
from scipy import special

from sim.draws import CohortShape
from sim.mechanisms.value import commitment as committed
from sim.params import SimulationConfig
from sim.vocabulary import EXPECTATION_FLOOR, N_OBJECTIVES, N_TRAITS

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
    its ``edges()`` lists them. The generator's steps are replayed in compiled code
    (:func:`small_world`) on the same numbers: the raw output of the ``random.Random(seed)``
    that networkx draws from, taken in one block, turned into its ``random()`` and
    ``choice()`` values as CPython does. The cohort builds a networkx graph only when one is
    asked for (:attr:`CohortStart.market`), and ``tests/test_market.py`` checks the two agree
    edge for edge.
    """
    n = n_firms
    k = min(degree, n - 1)
    if k < 2:
        return np.array(list(itertools.combinations(range(n), 2)), dtype=np.int64).reshape(-1, 2)
    from sim.compiled import compiled

    replay = compiled(small_world)
    # two words per random(), and about two per choice() (one in two is rejected at worst)
    size = n * (k // 2) * (2 + 4 * rewiring) + 1024
    width = k + 16  # neighbours a firm can hold; few gain more than a handful by rewiring
    edges = np.empty((n * (k // 2), 2), dtype=np.int64)  # rewiring keeps the number of edges
    while True:
        table = np.empty((n, width), dtype=np.int64)
        used = replay(random_words(seed, int(size)), n, k, rewiring, table, edges)
        if used >= 0:
            return edges
        if used == RAN_OUT:
            size *= 2  # replay from a longer block
        else:
            width *= 2  # a firm outgrew its row: replay with wider ones


RAN_OUT = -1
"""What :func:`small_world` returns when its block of numbers ran out."""
FULL = -2
"""What :func:`small_world` returns when a firm had more neighbours than its row holds."""


def random_words(seed: int, count: int) -> np.ndarray:
    """The first ``count`` 32-bit outputs of ``random.Random(seed)``, in order (its
    ``getrandbits`` packs them least significant first)."""
    block = random.Random(seed).getrandbits(32 * count)
    return np.frombuffer(block.to_bytes(4 * count, "little"), dtype="<u4").astype(np.int64)


def small_world(
    words: np.ndarray, n: int, k: int, rewiring: float, neighbours: np.ndarray, edges: np.ndarray
) -> int:
    """networkx's Watts-Strogatz generator, step for step, drawing from ``words``.

    Each firm's neighbours are kept in its row of ``neighbours``, in the order they were
    added, as the graph's dictionaries keep them; ``edges`` receives the edges in
    ``Graph.edges()`` order. Returns the words used, or ``RAN_OUT`` if ``words`` ran out or
    ``FULL`` if a firm's row was too short, before the graph was done.
    """
    degree = np.zeros(n, dtype=np.int64)
    width = neighbours.shape[1]
    bits = 0
    while (1 << bits) <= n:
        bits += 1  # n.bit_length(): choice() takes that many high bits of a word
    half = k // 2
    for j in range(1, half + 1):
        for u in range(n):
            v = (u + j) % n
            if degree[u] == width or degree[v] == width:
                return FULL
            _link(neighbours, degree, u, v)
            _link(neighbours, degree, v, u)
    at = 0
    for j in range(1, half + 1):
        for u in range(n):
            if at + 2 > len(words):
                return RAN_OUT
            # random(): 53 bits from two words, as CPython's genrand_res53
            x = ((words[at] >> 5) * 67108864.0 + (words[at + 1] >> 6)) * (1.0 / 9007199254740992.0)
            at += 2
            if x >= rewiring:
                continue
            v = (u + j) % n
            w, at = _choice(words, at, n, bits)
            rewired = True
            while w == u or _knows(neighbours, degree, u, w):
                w, at = _choice(words, at, n, bits)
                if degree[u] >= n - 1:
                    rewired = False  # no free firm: the edge stays
                    break
            if w < 0:
                return RAN_OUT
            if rewired:
                if degree[w] == width:
                    return FULL
                _forget(neighbours, degree, u, v)
                _forget(neighbours, degree, v, u)
                _link(neighbours, degree, u, w)
                _link(neighbours, degree, w, u)
    e = 0
    for u in range(n):
        for i in range(degree[u]):
            if neighbours[u, i] > u:
                edges[e, 0] = u
                edges[e, 1] = neighbours[u, i]
                e += 1
    return at


@register_jitable
def _choice(words: np.ndarray, at: int, n: int, bits: int) -> tuple[int, int]:
    """CPython's ``choice(range(n))``: the top ``bits`` bits of a word, drawn again while they
    are ``n`` or more; ``-1`` if the words run out."""
    while at < len(words):
        r = words[at] >> (32 - bits)
        at += 1
        if r < n:
            return r, at
    return -1, at


@register_jitable
def _knows(neighbours: np.ndarray, degree: np.ndarray, u: int, w: int) -> bool:
    if w < 0:
        return False
    for i in range(degree[u]):  # noqa: SIM110 (compiled code takes no generator expression)
        if neighbours[u, i] == w:
            return True
    return False


@register_jitable
def _forget(neighbours: np.ndarray, degree: np.ndarray, u: int, v: int) -> None:
    """Remove ``v`` from ``u``'s neighbours, keeping the others in order."""
    d = degree[u]
    for i in range(d):
        if neighbours[u, i] == v:
            for m in range(i, d - 1):
                neighbours[u, m] = neighbours[u, m + 1]
            degree[u] = d - 1
            return


@register_jitable
def _link(neighbours: np.ndarray, degree: np.ndarray, a: int, b: int) -> None:
    """Add ``b`` last among ``a``'s neighbours (the caller checked there is room)."""
    neighbours[a, degree[a]] = b
    degree[a] += 1


def commitments(capacity: np.ndarray, load: np.ndarray, dilution: float) -> np.ndarray:
    """The commitment (``sim.mechanisms.value.commitment``) of each partner, elementwise."""
    out = np.empty_like(capacity)
    flat_out, flat_capacity, flat_load = out.reshape(-1), capacity.reshape(-1), load.reshape(-1)
    for i in range(flat_out.shape[0]):
        flat_out[i] = committed(flat_capacity[i], flat_load[i], dilution)
    return out


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
    from sim.compiled import compiled

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
    commitment = compiled(commitments)(capacity[firm_of], load[firm_of].astype(float), d.load_dilution)
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
