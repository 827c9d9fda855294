"""The estimators' row order (fastlc/_shuffle.py): a seeded Fisher-Yates permutation from raw 64-bit draws,
the same from the Cython helper and its Numba fallback."""
import itertools

import numpy as np
import pytest

from fastlc._dispatch import available_backends
from fastlc._shuffle import permutation


def _helpers():
    from fastlc._numba._shuffle import shuffle_with_draws as numba_helper

    helpers = {"numba": numba_helper}
    if "cython" in available_backends():
        from fastlc._cython._shuffle import shuffle_with_draws as cython_helper

        helpers["cython"] = cython_helper
    return helpers


@pytest.mark.parametrize("name", ["numba", "cython"])
def test_a_worked_shuffle(name):
    helpers = _helpers()
    if name not in helpers:
        pytest.skip("fastlc's Cython build is missing here")
    # i = 2: j = floor(2**63 * 3 / 2**64) = 1, swap -> [0, 2, 1]; i = 1: j = floor(0 * 2 / 2**64) = 0 -> [2, 0, 1]
    order = np.arange(3, dtype=np.intp)
    helpers[name](order, np.array([2**63, 0], dtype=np.uint64))
    assert order.tolist() == [2, 0, 1]
    # the largest draw picks the largest index: no swap at all
    order = np.arange(3, dtype=np.intp)
    helpers[name](order, np.full(2, 2**64 - 1, dtype=np.uint64))
    assert order.tolist() == [0, 1, 2]


def test_cython_and_numba_give_the_same_order():
    helpers = _helpers()
    if len(helpers) < 2:
        pytest.skip("fastlc's Cython build is missing here: only the Numba helper to compare")
    draws = np.random.default_rng(1).bit_generator.random_raw(99_999)
    orders = []
    for helper in helpers.values():
        order = np.arange(100_000, dtype=np.intp)
        helper(order, draws)
        orders.append(order)
    np.testing.assert_array_equal(*orders)


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
def test_a_permutation_that_takes_n_minus_one_draws(n):
    generator, twin = np.random.default_rng(5), np.random.default_rng(5)
    order = permutation(generator, n)
    assert order.dtype == np.intp and sorted(order.tolist()) == list(range(n))
    twin.bit_generator.random_raw(max(n - 1, 0))
    assert generator.bit_generator.state == twin.bit_generator.state


def test_every_order_is_equally_likely():
    # 24 000 shuffles of 4 rows: a chi-square test of the 24 orders at the 0.1% level (23 degrees of
    # freedom). A swap index drawn from [0, i) instead of [0, i] (Sattolo's cycles) reaches only 6 orders.
    generator = np.random.default_rng(0)
    index = {order: k for k, order in enumerate(itertools.permutations(range(4)))}
    counts = np.zeros(24)
    for _ in range(24_000):
        counts[index[tuple(permutation(generator, 4).tolist())]] += 1
    chi_square = ((counts - 1000) ** 2 / 1000).sum()
    assert chi_square < 49.73, counts
