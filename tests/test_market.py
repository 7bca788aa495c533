"""The cohort's market and weekly draws: the fast paths of set-up agree with their plain definitions."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from sim.market import build_market, form_alliances, market_graph, neighbour_table, poisson_ppf


@pytest.mark.parametrize("mu", [0.0, 0.05, 0.4, 1.0, 3.7, 10.0])
def test_poisson_ppf_is_scipys(mu):
    q = np.random.default_rng(7).random(200_000)
    q[:3] = [0.0, 0.5, np.nextafter(1.0, 0.0)]
    expected = stats.poisson.ppf(q, mu).astype(np.int64)
    np.testing.assert_array_equal(poisson_ppf(q, mu), expected)


def test_poisson_ppf_of_nothing():
    assert poisson_ppf(np.zeros(0), 0.4).shape == (0,)


def one_by_one(market: nx.Graph, focal: np.ndarray, keys: np.ndarray, n_partners: int) -> np.ndarray:
    """The definition: per alliance, the neighbours with the smallest keys, then the next firms."""
    n_firms = market.number_of_nodes()
    need = n_partners - 1
    firm_of = np.empty((len(focal), n_partners), dtype=np.int64)
    for a, f in enumerate(focal.tolist()):
        neighbours = sorted(market.neighbors(f))
        if len(neighbours) >= need:
            order = np.argsort(keys[a, : len(neighbours)], kind="stable")[:need]
            chosen = [neighbours[i] for i in order.tolist()]
        else:
            chosen, step = list(neighbours), 1
            while len(chosen) < need:
                candidate = (f + step) % n_firms
                if candidate != f and candidate not in chosen:
                    chosen.append(candidate)
                step += 1
        firm_of[a] = [f, *chosen]
    return firm_of


@pytest.mark.parametrize(
    ("n_firms", "degree", "rewiring", "seed"),
    [
        (1334, 6, 0.1, 5),
        (300, 6, 0.5, 1),
        (120, 4, 1.0, 2),
        (40, 2, 0.3, 3),
        (9, 8, 0.9, 4),
        (5, 1, 0.2, 6),
        (3, 6, 0.5, 7),
    ],
)
def test_the_market_is_networkxs_small_world(n_firms, degree, rewiring, seed):
    """Edge for edge and in the same order as networkx's generator (a complete graph below k = 2)."""
    k = min(degree, n_firms - 1)
    graph = nx.complete_graph(n_firms) if k < 2 else nx.watts_strogatz_graph(n_firms, k, rewiring, seed=seed)
    expected = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    np.testing.assert_array_equal(build_market(n_firms, degree, rewiring, seed), expected)


def test_a_market_replayed_from_too_few_numbers_or_too_short_rows_is_replayed():
    """The compiled replay says when its block of numbers ran out, or a firm outgrew its row
    of neighbours; build_market then replays with more, so the graph is networkx's whatever
    the first guess."""
    from sim.compiled import compiled
    from sim.market import FULL, RAN_OUT, random_words, small_world

    replay = compiled(small_world)
    edges = np.empty((30 * 3, 2), dtype=np.int64)
    assert replay(random_words(4, 10), 30, 6, 0.5, np.empty((30, 22), dtype=np.int64), edges) == RAN_OUT
    assert replay(random_words(4, 10_000), 30, 6, 0.5, np.empty((30, 7), dtype=np.int64), edges) == FULL
    assert replay(random_words(4, 10_000), 30, 6, 0.5, np.empty((30, 22), dtype=np.int64), edges) > 0
    expected = np.array(list(nx.watts_strogatz_graph(30, 6, 0.5, seed=4).edges()), dtype=np.int64)
    np.testing.assert_array_equal(edges, expected)


def test_the_market_graph_carries_the_experience_of_each_pair():
    edges = build_market(50, 4, 0.3, seed=8)
    experience = np.arange(len(edges))
    graph = market_graph(50, edges, experience)
    assert graph.number_of_nodes() == 50 and graph.number_of_edges() == len(edges)
    for (u, v), e in zip(edges.tolist(), experience.tolist(), strict=True):
        assert graph.edges[v, u]["experience"] == e


@pytest.mark.parametrize(
    ("n_firms", "degree", "n_partners"), [(300, 6, 2), (120, 4, 8), (40, 2, 5), (30, 2, 12)]
)
def test_form_alliances_matches_one_by_one(n_firms, degree, n_partners):
    edges = build_market(n_firms, degree, 0.3, seed=3)
    market = market_graph(n_firms, edges, np.zeros(len(edges)))
    table, degrees = neighbour_table(n_firms, edges)
    rng = np.random.default_rng(11)
    focal = rng.integers(n_firms, size=500)
    width = max(max(d for _, d in market.degree()), 1)
    keys = rng.random((500, width))
    keys[:, 1] = keys[:, 0]  # ties keep neighbour order
    np.testing.assert_array_equal(
        form_alliances(table, degrees, focal, keys, n_partners), one_by_one(market, focal, keys, n_partners)
    )
