"""The best mix on given curves: the true optimum of the synthetic problem at every budget of the
frontier (found independently, synthetic_problem.true_optimum), and every constraint held on
random problems."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import minimize
from svsim.experiments.config import ConfigError
from svsim.experiments.optimise import options as op
from svsim.experiments.optimise.allocate import best_mix
from svsim.experiments.optimise.curves import Curves, fit_curves
from svsim.experiments.optimise.frontier import frontier
from svsim.experiments.optimise.mix import Option, Problem, Share
from synthetic_problem import BUDGET, MAXIMUM, MINIMUM, A, S, problem, true_optimum, true_value

TRUE = Curves(tuple(A), tuple(S), (1.0,) * len(A), (0.0,) * len(A))  # the synthetic truth


@pytest.fixture(scope="module")
def town_options():
    """The test town's options (each intervention in each CSP, and over the whole town)."""
    from conftest import load_area
    from svsim.experiments.compare.compare import _load_library, load_prices

    area, library, prices = load_area("test_town"), _load_library(), load_prices()
    capacity = {"minimum_people": 10, "identified_per_year": dict.fromkeys(ROUTES, 0.01)}
    sets = [*op.place_sets(area, None), ("all",)]
    derived, _ = op.derive(area, library, prices, 2024, sorted(library), sets, capacity)
    return area, library, tuple(d.option for d in derived)


CSP = "Northside"  # a CSP of the test town
ROUTES = ("arrest", "group", "out_of_court", "diversion", "hospital", "referral")


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


def _shared(problem: Problem, group: np.ndarray, low: float, high: float = 1.0) -> Problem:
    return replace(problem, shares=(Share("group", tuple(bool(g) for g in group), low, high),))


def test_a_share_bound_binds_and_the_mix_is_the_constrained_optimum():
    """The unconstrained best gives options 4-7 a small share; asking at least 20 points more
    moves the money to exactly that share, and no independent SLSQP (5 random starts, same
    options on, the share as a constraint) beats the result by more than whole pounds cost."""
    group = np.arange(len(A)) >= 4
    free = best_mix(problem(), TRUE)
    low = Share("group", tuple(group)).of(free.amounts) + 0.2
    mix = best_mix(_shared(problem(), group, low), TRUE)
    x = mix.array
    got = x[group].sum() / x.sum()
    assert low - 1e-4 <= got <= low + 1e-3  # binds, to whole pounds
    assert true_value(x) < true_value(free.array) - 1_000  # the bound costs something
    on = np.flatnonzero(x > 0)
    member = group[on].astype(float)
    cons = [
        {"type": "ineq", "fun": lambda y: BUDGET - y.sum()},
        {"type": "ineq", "fun": lambda y: member @ y - low * y.sum()},
    ]
    bounds = list(zip(MINIMUM[on], MAXIMUM[on], strict=True))
    found = []
    for start in np.random.default_rng(2).uniform(MINIMUM[on], MAXIMUM[on] / 2, (5, len(on))):
        res = minimize(lambda y: -true_value(np.bincount(on, y, len(A))), start,
                       method="SLSQP", bounds=bounds, constraints=cons, tol=1e-12)  # fmt: skip
        if res.success and cons[1]["fun"](res.x) >= -1e-6 and res.x.sum() <= BUDGET + 1e-6:
            found.append(-res.fun)
    assert found and true_value(x) >= max(found) - 3 * len(A)


def test_an_upper_share_bound_holds_on_random_problems():
    rng = np.random.default_rng(21)
    checked = 0
    for _ in range(200):
        p, curves = random_problem(rng)
        if len(p.options) < 2 or p.committed.any():
            continue
        group = rng.random(len(p.options)) < 0.5
        if not group.any():
            continue
        high = float(rng.uniform(0.1, 0.6))
        x = best_mix(_shared(p, group, 0.0, high), curves).array
        if x.sum() > 0:  # whole pounds: a pound an option above the exact share at most
            assert x[group].sum() <= high * x.sum() + len(x)
        checked += 1
    assert checked > 30


def test_shares_of_conf_resolve_to_tiers_and_csps_and_refuse_bad_entries(town_options):
    area, library, options = town_options
    tier, csp = op.shares([{"tier": "primary", "min": 0.3}, {"csp": CSP, "max": 0.6}],
                          options, library, area)  # fmt: skip
    assert tier.members == tuple(library[o.intervention].tier == "primary" for o in options)
    assert csp.members == tuple(o.places == (CSP,) for o in options)
    assert (tier.low, tier.high, csp.low, csp.high) == (0.3, 1.0, 0.0, 0.6)
    bad = {
        "shares[0]={'min': 0.3}: must name one tier or one csp": [{"min": 0.3}],
        "shares[0].tier='fourth': must be one of primary, secondary, tertiary": [
            {"tier": "fourth"}
        ],
        "shares[0].max=1.5: must be a share from 0 to 1": [{"csp": CSP, "max": 1.5}],
        "shares[0].share: unknown key (tier, csp, min, max)": [{"csp": CSP, "share": 1}],
        "shares[0]: shares[tier primary].low=0.6: is above high 0.5": [
            {"tier": "primary", "min": 0.6, "max": 0.5}
        ],
    }
    for message, given in bad.items():
        with pytest.raises(ConfigError) as err:
            op.shares(given, options, library, area)
        assert str(err.value) == message


def test_the_report_states_each_share_bound_beside_the_mix_share():
    import pandas as pd
    from svsim.experiments.optimise.report import share_bounds

    p = _shared(problem(), np.arange(len(A)) >= 4, 0.25, 0.5)
    best = pd.Series({o.label: 0.0 for o in p.options})
    best[p.options[0].label], best[p.options[5].label] = 60_000.0, 20_000.0
    assert share_bounds({"problem": p}, best) == [
        "Within the share bounds asked: group 25% to 50% of the money (this mix 25%)."
    ]
    assert share_bounds({"problem": problem()}, best) == []
