"""The best mix on given curves: the true optimum of the synthetic problem at every budget of the
frontier (found independently, synthetic_problem.true_optimum), and every constraint held on
random problems."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize
from svsim.experiments.optimise.allocate import best_mix
from svsim.experiments.optimise.curves import Curves, fit_curves
from svsim.experiments.optimise.frontier import frontier
from svsim.experiments.optimise.mix import Option, Problem
from synthetic_problem import BUDGET, MAXIMUM, MINIMUM, A, S, problem, true_optimum, true_value

TRUE = Curves(tuple(A), tuple(S), (1.0,) * len(A), (0.0,) * len(A))  # the synthetic truth


def test_the_independent_true_optimum_agrees_with_slsqp():
    """The oracle itself: SLSQP from 5 random starts on its options finds no more (to 1e-5)."""
    x, best = true_optimum()
    on = np.flatnonzero(x > 0)
    assert len(on) == 6 and x.sum() == pytest.approx(BUDGET)  # the budget binds; 2 options off
    bounds = list(zip(MINIMUM[on], MAXIMUM[on], strict=True))
    budget = [{"type": "ineq", "fun": lambda y: BUDGET - y.sum()}]

    def loss(y):
        return -true_value(np.bincount(on, y, len(A)))

    found = []
    for start in np.random.default_rng(1).uniform(MINIMUM[on], MAXIMUM[on] / 2, (5, len(on))):
        res = minimize(loss, start, method="SLSQP", bounds=bounds, constraints=budget, tol=1e-12)
        found.append(-res.fun)
    assert max(found) == pytest.approx(best, rel=1e-5) and max(found) <= best + 1


def test_the_frontier_on_the_true_curves_is_the_true_optimum_at_every_budget():
    points = frontier(problem(), TRUE, levels=21)
    budgets = [p.budget for p in points]
    assert budgets == list(np.linspace(0, 2 * BUDGET, 21))  # 0 to twice the budget
    for p in points:
        x, best = true_optimum(p.budget)
        # whole pounds cost at most a pound a funded option at a marginal return below 3 a pound
        assert true_value(p.mix.array) == pytest.approx(best, abs=3 * len(A)), p.budget
        assert p.value == pytest.approx(true_value(p.mix.array))  # baseline 0: gains are values
        assert set(np.flatnonzero(p.mix.array)) == set(np.flatnonzero(x > 0)), p.budget
        extra = true_optimum(p.budget + 10_000)[1] - best  # what the next £10k buys
        assert p.marginal == pytest.approx(extra, abs=6 * len(A)), p.budget
    assert points[0].mix.total == 0 and points[-1].marginal < points[5].marginal  # it saturates


def test_frontier_below_the_commitments_has_no_mix():
    p = problem(commitments=(0, 0, 0, 0, 0, 0, 0, 60_000))
    points = frontier(p, TRUE, levels=11)
    assert [q.mix is None for q in points[:3]] == [True, True, False]  # 0, 50k: below 60k
    assert np.isnan(points[0].value) and points[2].mix.amounts[7] >= 60_000
    with pytest.raises(ValueError, match="levels=10: needs at least 11 budgets"):
        frontier(p, TRUE, levels=10)


def random_problem(rng: np.random.Generator) -> tuple[Problem, Curves]:
    """Up to 9 options with random bounds, curves (some not worth funding), budget and
    commitments."""
    n = int(rng.integers(1, 10))
    lo = rng.integers(0, 80, n) * 1000.0
    hi = lo + rng.integers(1, 300, n) * 1000.0
    options = tuple(Option(f"o{i}", ("all",), lo[i], hi[i]) for i in range(n))
    committed = rng.random(n) < 0.3
    commitments = np.where(committed, np.floor(rng.uniform(lo, hi)), 0.0)
    budget = float(commitments.sum() + rng.integers(0, 400) * 1000)
    x0 = tuple(commitments)
    curves = Curves(tuple(rng.uniform(0, 2e6, n)), tuple(rng.uniform(5e3, 5e5, n)),
                    tuple(rng.uniform(0, 3, n)), x0)  # fmt: skip
    return Problem(options, budget, tuple(commitments)), curves


def test_every_constraint_holds_on_random_problems():
    rng = np.random.default_rng(19)
    for _ in range(60):
        p, curves = random_problem(rng)
        for off in [(), (int(np.argmin(p.committed)),)]:
            if p.committed[list(off)].any():
                continue
            x = best_mix(p, curves, off).array  # Mix checks every rule again
            on = x > 0
            assert x.sum() <= p.budget
            assert (x[on] >= p.lower[on]).all() and (x <= p.upper).all()  # either-or, capacity
            assert (x >= np.array(p.commitments)).all()  # commitments kept
            assert (x[list(off)] == 0).all()
            # the conditions for a maximum, given which options are on and whole pounds: the
            # exact amounts lie within a pound above x, where marginal returns fall
            m, m_next = curves.marginal(x), curves.marginal(x + 1)
            inside = on & (x > p.lower) & (x < p.upper)
            level = m_next[inside].max(initial=-np.inf), m[inside].min(initial=np.inf)
            assert level[0] <= level[1] + 1e-12  # one water level for the options inside
            assert (m[on & (x == p.lower)] <= level[1] + 1e-12).all()  # would want less
            assert (m_next[on & (x == p.upper)] >= level[0] - 1e-12).all()  # would want more
            if x.sum() <= p.budget - len(x):  # money left over: no funded pound loses
                assert (m_next[on & (x < p.upper)] <= 1e-12).all()


def test_a_committed_option_cannot_be_left_out():
    p = problem(commitments=(20_000, 0, 0, 0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match=r"^off=\(0,\): a committed option cannot be off$"):
        best_mix(p, TRUE, off=(0,))


def test_curves_fitted_to_exact_responses_recover_them():
    """Noise-free gains at five levels per option give back a, s and c."""
    amounts = np.zeros((1 + 5 * len(A), len(A)))
    top = np.full(len(A), 2 * BUDGET)
    for i in range(len(A)):
        amounts[1 + 5 * i : 6 + 5 * i, i] = np.geomspace(top[i] / 16, top[i], 5)
    values = true_value(amounts)[:, None] + np.array([0.0, 5e5])  # a shift per replicate cancels
    fitted = fit_curves(amounts, values, np.zeros(len(A)), top)
    assert np.allclose(fitted.a, A, rtol=1e-3) and np.allclose(fitted.s, S, rtol=1e-3)
    assert np.allclose(fitted.c, 1.0, rtol=1e-3)
