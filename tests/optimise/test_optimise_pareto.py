"""Several objectives at once: the weight grid, the Pareto set of confirmed means, and candidates
from blends of two objectives' curves that trace the trade-off between them."""

from __future__ import annotations

import numpy as np
import pytest
from svsim.experiments.optimise.allocate import best_mix
from svsim.experiments.optimise.curves import Curves
from svsim.experiments.optimise.pareto import blended_candidates, front, weight_grid
from synthetic_problem import A, S, problem

MONEY = Curves(tuple(A), tuple(S), (1.0,) * len(A), (0.0,) * len(A))  # benefit less the money
# a count objective (no money in it) that favours the options the first one funds least
COUNT = Curves(tuple(A[::-1] / 1e5), tuple(S[::-1]), (0.0,) * len(A), (0.0,) * len(A))


def test_the_weight_grid_is_the_simplex_corners_first():
    w = weight_grid(2)
    assert w.tolist()[:2] == [[1.0, 0.0], [0.0, 1.0]] and len(w) == 5
    assert np.allclose(w.sum(axis=1), 1) and len(weight_grid(3)) == 15
    assert np.allclose(weight_grid(1), [[1.0]])
    with pytest.raises(ValueError, match="objectives=0"):
        weight_grid(0)


def test_the_pareto_set_is_the_undominated_rows():
    means = np.array([[3, 1], [1, 3], [2, 2], [1, 1], [3, 1], [0, 4], [2, 1.5]])
    # [1, 1] and [2, 1.5] are beaten everywhere by [2, 2]; the tie [3, 1] twice stays
    assert front(means).tolist() == [True, True, True, False, True, True, False]
    assert front(np.array([[1.0], [2.0]])).tolist() == [False, True]


def test_blends_give_each_objective_its_own_best_and_the_trade_off_between():
    p = problem()
    mixes = blended_candidates(p, [MONEY, COUNT])
    assert mixes[0] == best_mix(p, MONEY) and best_mix(p, COUNT) in mixes  # the corners
    assert len(mixes) >= 3  # and at least one compromise
    values = np.array([[MONEY.value(m.array), COUNT.value(m.array)] for m in mixes])
    assert front(values).all()  # each best for some weighing: none dominated on the curves
    order = np.argsort(values[:, 0])
    assert (np.diff(values[order, 1]) <= 1e-6).all()  # more of one objective, less of the other


def test_an_objective_nothing_gains_is_left_out_of_the_blends():
    p = problem()
    flat = Curves((0.0,) * len(A), tuple(S), (0.0,) * len(A), (0.0,) * len(A))
    assert blended_candidates(p, [MONEY, flat]) == [best_mix(p, MONEY)]
