"""The model's random numbers (sim.draws): Philox4x32-10 as published, uniforms and noise with
the right moments, one independent stream per alliance and firm, and numbers drawn when
needed equal to numbers drawn at once.

Run with: pytest tests/test_draws.py
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.compiled import compiled
from sim.draws import (
    DRAWN_ALL,
    RESOLVE_BLOCKS,
    alliance_draws_table,
    draw_all,
    draw_resolve,
    draw_severity,
    draw_shock,
    fill_week,
    firm_week,
    philox,
    start_draws,
    stream_key,
)

# Random123, tests/kat_vectors, the three "philox4x32 10" lines: counter, key, result.
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

ALLIANCE_FIELDS = (
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


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_philox_gives_random123s_known_answers_in_plain_python_and_compiled(counter, key, expected):
    args = [np.uint32(x) for x in (*counter, *key)]
    assert [int(x) for x in philox(*args)] == list(expected)
    assert [int(x) for x in compiled(philox)(*args)] == list(expected)


def a_week(n: int, p: int, seed: int, week: int) -> np.recarray:
    table = alliance_draws_table(n, p)
    fill_week(table, stream_key(seed), week)
    return table


def test_uniforms_noise_and_shock_sizes_have_their_distributions():
    """Over 20,000 alliances x 10 weeks: each uniform's mean 1/2 and variance 1/12, noise mean
    0 and variance 1, shock sizes mean 1 (standard exponential), within five standard errors."""
    tables = [a_week(20_000, 2, 7, week) for week in range(10)]
    uniforms = np.concatenate(
        [t[name].ravel() for t in tables for name in ("shock_u", "issue_u", "contact_u", "resolve_u")]
    )
    noise = np.concatenate([t[name].ravel() for t in tables for name in ("incentive_noise", "value_noise")])
    sizes = np.concatenate([t.shock_size for t in tables])
    for values, mean, var in ((uniforms, 0.5, 1 / 12), (noise, 0.0, 1.0), (sizes, 1.0, 1.0)):
        assert abs(values.mean() - mean) < 5 * math.sqrt(var / values.size)
    # the variance of a uniform's square has a closed form; 5 standard errors of the variance
    assert abs(uniforms.var() - 1 / 12) < 5 * math.sqrt((1 / 80 - 1 / 144) / uniforms.size)
    assert abs(noise.var() - 1.0) < 5 * math.sqrt((9 / 5 - 1) / noise.size)
    assert uniforms.min() > 0.0 and uniforms.max() < 1.0
    assert np.abs(noise).max() <= math.sqrt(3.0)


def test_streams_of_alliances_weeks_and_seeds_are_uncorrelated():
    """Neighbouring alliances, consecutive weeks and seeds one apart: correlations within five
    standard errors (1/sqrt(n)) of zero, and never the same numbers."""
    n = 20_000
    this, next_week, next_seed = a_week(n, 2, 7, 3), a_week(n, 2, 7, 4), a_week(n, 2, 8, 3)
    bound = 5 / math.sqrt(n - 1)
    for name in ("shock_u", "value_noise", "issue_u"):
        x = this[name]
        assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < bound, name
        assert abs(np.corrcoef(x, next_week[name])[0, 1]) < bound, name
        assert abs(np.corrcoef(x, next_seed[name])[0, 1]) < bound, name
        assert not np.array_equal(x, next_week[name])
    # the slots of one alliance, and the kinds of one block, are apart too
    assert abs(np.corrcoef(this.contact_u[:, 0], this.contact_u[:, 1])[0, 1]) < bound
    assert abs(np.corrcoef(this.contact_u[:, 0], this.opportunism_u[:, 0])[0, 1]) < bound


def test_an_alliances_numbers_do_not_depend_on_the_cohort_or_the_slots_around_it():
    """Alliance i's numbers in week t are the same in a cohort of 10 and of 1,000, and a
    partner slot's numbers the same whatever the number of slots (a dyad and an ecosystem
    with the same seed share their first slots' numbers)."""
    small, large = a_week(10, 2, 3, 5), a_week(1000, 2, 3, 5)
    assert small.tobytes() == large[:10].tobytes()
    dyad, ecosystem = a_week(50, 2, 3, 5), a_week(50, 5, 3, 5)
    for name in ("contact_u", "walkaway_u", "expectation_noise"):
        np.testing.assert_array_equal(dyad[name], ecosystem[name][:, :2], err_msg=name)
    np.testing.assert_array_equal(dyad.incentive_noise, ecosystem.incentive_noise[:, :, :2])
    np.testing.assert_array_equal(dyad.resolve_u, ecosystem.resolve_u)


def draw_in_order(table: np.ndarray, key: np.ndarray, week: int, order: np.ndarray) -> None:
    """Every alliance of ``table`` starts its week, then draws what ``order`` says, in its
    order: -1 a shock, -2 new issues' severity, q >= 0 the settlements of issue slot q."""
    for i in range(table.shape[0]):
        w = table[i]
        start_draws(w, key, i, week)
        for step in order:
            if step == -1:
                draw_shock(w)
            elif step == -2:
                draw_severity(w)
            else:
                draw_resolve(w, step)


@pytest.mark.parametrize("run", ["plain", "compiled"])
def test_numbers_drawn_when_needed_are_the_numbers_drawn_at_once(run):
    """start_draws, then the lazy draws in any order (some twice), give draw_all's record,
    in plain Python and compiled."""
    from sim.compiled import compiled_for

    key = stream_key(2026)
    eager, lazy = alliance_draws_table(4, 3), alliance_draws_table(4, 3)
    fill_week(eager, key, 9)
    assert (eager.drawn == DRAWN_ALL).all()
    order = np.random.default_rng(1).permutation(np.array([-1, -2, *range(20), -1, 3], dtype=np.int64))
    draw = draw_in_order if run == "plain" else compiled_for(draw_in_order, lazy.dtype)
    draw(lazy, key, 9, order)
    for name in ALLIANCE_FIELDS:
        np.testing.assert_array_equal(lazy[name], eager[name], err_msg=name)
    assert (lazy.drawn == DRAWN_ALL).all()


def test_a_record_scripted_by_hand_is_not_redrawn():
    """Once the lazy numbers are held (a test's or the classroom's scripted week), the
    mechanisms' draws leave them as they are."""
    table = a_week(1, 2, 1, 0)
    w = table[0]
    w.shock_size = 7.0
    w.resolve_u[:] = 0.25
    draw_shock(w)
    for q in range(20):
        draw_resolve(w, q)
    assert w.shock_size == 7.0 and (w.resolve_u == 0.25).all()
    assert w.resolve_u.shape[0] <= RESOLVE_BLOCKS * 4


def test_draw_all_matches_start_draws_for_the_numbers_read_every_week():
    key = stream_key(5)
    a, b = alliance_draws_table(1, 2), alliance_draws_table(1, 2)
    start_draws(a[0], key, 0, 3)
    draw_all(b[0], key, 0, 3)
    for name in ("incentive_noise", "expectation_noise", "value_noise", "shock_u", "contact_u"):
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_firm_noise_is_its_own_stream_per_firm_and_week():
    key = stream_key(11)
    week3, again, week4 = firm_week(key, 3, 500), firm_week(key, 3, 500), firm_week(key, 4, 500)
    assert week3.strategy_noise.tobytes() == again.strategy_noise.tobytes()
    assert firm_week(key, 3, 20).culture_noise.tobytes() == week3.culture_noise[:, :20].copy().tobytes()
    bound = 5 / math.sqrt(500)
    assert abs(np.corrcoef(week3.strategy_noise[0], week4.strategy_noise[0])[0, 1]) < bound
    assert abs(np.corrcoef(week3.strategy_noise[0], week3.strategy_noise[1])[0, 1]) < bound


def test_the_key_depends_on_the_seed_and_covers_both_words():
    keys = {tuple(int(x) for x in stream_key(seed)) for seed in range(1000)}
    assert len(keys) == 1000
    assert all(0 <= word < 2**32 for key in keys for word in key)
    assert tuple(stream_key(2**63 - 1)) != tuple(stream_key(0))
