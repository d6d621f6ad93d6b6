"""scenarios.appraisal on small arrays whose answers can be worked by hand."""

import numpy as np
import pandas as pd
import pytest
from svsim.model.params import CostParams
from svsim.scenarios import appraisal as ap
from svsim.scenarios.prices import Prices

FLAT = Prices({2015: 1.0, 2024: 1.0, 2025: 1.0, 2026: 1.0}, 0.0, 2024, "flat, undiscounted")
REAL = Prices({2015: 80.0, 2024: 100.0, 2025: 110.0}, 0.1, 2024, "made up")


def rng():
    return np.random.default_rng([0, ap.BOOTSTRAP_KEY])


def spend_rows(replicates: int, budget: float, spent: float, years=(2024, 2025)) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"scenario": "s", "replicate": r, "year": y, "intervention": "x", "budget": budget,
             "spent": spent}
            for r in range(replicates)
            for y in years
        ]
    )  # fmt: skip


def test_paired_statistics_by_hand():
    out = ap.paired(np.array([10.0, 12.0, 14.0]), np.array([9.0, 10.0, 11.0]))
    assert out["averted_mean"] == 2.0  # differences 1, 2, 3
    assert out["scenario_mean"] == 10.0 and out["comparator_mean"] == 12.0
    assert out["prob_better"] == 1.0
    assert out["mde"] == pytest.approx(ap.Z_MDE * 1.0 / np.sqrt(3))  # sd of 1, 2, 3 is 1
    assert (out["averted_p05"], out["averted_p95"]) == pytest.approx((1.1, 2.9))
    # unpaired differences a_i - b_j, i != j: 0, -1, 3, 1, 5, 4
    assert (out["unpaired_p05"], out["unpaired_p95"]) == pytest.approx(
        tuple(np.quantile([0, -1, 3, 1, 5, 4], [0.05, 0.95]))
    )
    assert ap.paired(np.array([1.0, 2.0]), np.array([1.0, 3.0]))["prob_better"] == 0.0


def test_present_values_by_hand():
    # 110 in 2025 prices is 100 in 2024 prices, discounted one year at 10%
    assert ap.cash_pv([110.0, 50.0], [2025, 2024], REAL, 2024) == pytest.approx([100 / 1.1, 50])
    # 8 a year of harm at 2015 prices (index 80) is 10 in 2024 prices: 10 + 10 / 1.1
    assert ap.harm_pv(np.array([[8.0, 8.0]]), REAL) == pytest.approx([10 + 10 / 1.1])
    assert ap.discounted(np.array([1.0, 1.1, 1.21]), REAL) == pytest.approx(3.0)


def test_money_allocated_spent_and_short():
    m = ap.money(spend_rows(2, budget=100.0, spent=60.0), 2, FLAT, 2024)
    assert list(m["allocated"]) == [200.0, 200.0]
    assert list(m["spent"]) == [120.0, 120.0]
    assert list(m["shortfall"]) == [80.0, 80.0]
    table = ap.shortfall_by_allocation(spend_rows(2, 100.0, 60.0), FLAT)
    assert list(table.year) == [2024, 2025]
    assert list(table.allocated) == [100.0, 100.0]
    assert list(table.shortfall_mean) == [40.0, 40.0]
    assert set(table.price_year) == {2024}
    nothing = ap.shortfall_by_allocation(spend_rows(2, 100.0, 60.0).iloc[:0], FLAT)
    assert nothing.empty and list(nothing.columns) == list(table.columns)  # nothing funded


def test_homicides_are_priced_from_their_probabilities():
    c = CostParams()
    premium = ap.homicide_premium(c)
    assert premium == c.homicide - c.violence_with_injury
    # two replicates alike but for one realised death: the same expected harm
    deaths, expected = np.array([1.0, 0.0]), np.array([0.3, 0.3])
    realised = np.array([1_000_000.0, 1_000_000.0 - premium])
    harm = ap.expected_harm(realised, deaths, expected, premium)
    assert harm[0] == pytest.approx(harm[1])
    assert harm[0] == pytest.approx(1_000_000.0 - 0.7 * premium)


def test_ratio_of_means_and_its_bootstrap():
    benefit, cost = np.array([2.0, 4.0, 0.0, 6.0]), np.array([1.0, 1.0, 1.0, 1.0])
    ratio, lo, hi = ap.ratio_of_means(benefit, cost, rng())
    assert ratio == 3.0  # mean 3 over mean 1, not the mean of the ratios when costs differ
    assert 0.0 <= lo < ratio < hi <= 6.0
    assert ap.ratio_of_means(benefit, cost, rng()) == (ratio, lo, hi)  # seeded
    # a mean of per-replicate ratios would give (10 + 1) / 2 = 5.5; the ratio of means is 11/3
    assert ap.ratio_of_means(np.array([10.0, 1.0]), np.array([1.0, 2.0]), rng())[0] == 11 / 3
    assert np.isnan(ap.ratio_of_means(benefit, np.zeros(4), rng())[0])


def test_cost_per_averted_only_where_the_interval_excludes_zero():
    assert ap.cost_per_averted(100.0, np.array([1.0, 2.0, 3.0])) == 50.0
    assert np.isnan(ap.cost_per_averted(100.0, np.array([-1.0, 2.0, 3.0])))
    assert np.isnan(ap.cost_per_averted(0.0, np.array([1.0, 2.0, 3.0])))


def test_zero_effect_and_zero_extra_money_give_exactly_zero():
    """A scenario identical to its comparator, taken through every step: exactly zero."""
    n = 3
    g = np.random.default_rng(1)
    cost, deaths, expected = g.uniform(1e6, 2e6, (n, 5)), g.poisson(1, (n, 5)), g.random((n, 5))
    premium = ap.homicide_premium(CostParams())
    h = ap.harm_pv(ap.expected_harm(cost, deaths, expected, premium), REAL)
    spend = spend_rows(n, 250_000.0, 90_000.0)
    comp_money, scen_money = (ap.money(spend, n, REAL, 2024) for _ in range(2))
    extra = {k: scen_money[k] - comp_money[k] for k in comp_money}
    row = ap.appraise({"stated": h - h, "all_true": h - h}, extra, np.zeros(n), rng())
    for key in ("spend_pv", "spent_pv", "shortfall_pv", "harm_averted_pv", "net_benefit_pv"):
        assert (row[f"{key}_mean"], row[f"{key}_p05"], row[f"{key}_p95"]) == (0.0, 0.0, 0.0)
    assert np.isnan(row["bcr_mean"]) and np.isnan(row["prob_bcr_gt_1"])
    stats = ap.paired(cost.sum(axis=1), cost.sum(axis=1))
    assert stats["averted_mean"] == stats["averted_p05"] == stats["mde"] == 0.0


def test_unspendable_money_raises_cost_not_the_ratio():
    """Two scenarios buying the same delivery (same spend, same harm averted); one commits twice
    the cash, which delivery cannot use. Its cost doubles, its ratio halves, its shortfall shows."""
    n, harm = 4, np.full(4, 600.0)
    comp = ap.money(spend_rows(n, 0.0, 0.0), n, FLAT, 2024)
    rows = {}
    for name, budget in (("usable", 100.0), ("half_unspendable", 200.0)):
        m = ap.money(spend_rows(n, budget, 100.0), n, FLAT, 2024)
        extra = {k: m[k] - comp[k] for k in m}
        rows[name] = ap.appraise({"stated": harm}, extra, np.zeros(n), rng())
    a, b = rows["usable"], rows["half_unspendable"]
    assert a["spent_pv_mean"] == b["spent_pv_mean"] == 200.0
    assert (a["spend_pv_mean"], b["spend_pv_mean"]) == (200.0, 400.0)
    assert (a["shortfall_pv_mean"], b["shortfall_pv_mean"]) == (0.0, 200.0)
    assert (a["bcr_mean"], b["bcr_mean"]) == (3.0, 1.5)
    assert (a["net_benefit_pv_mean"], b["net_benefit_pv_mean"]) == (400.0, 200.0)


def test_acceptability_curve_picks_the_plan_with_the_highest_net_benefit():
    # plan a: harm 10, money 5; plan b: harm 4, money 1, in replicates 0-2; in replicate 3 plan
    # b's harm is 20, so it beats a at every positive multiplier there
    rows = [("a", r, 10.0, 5.0) for r in range(4)]
    rows += [("b", r, 20.0 if r == 3 else 4.0, 1.0) for r in range(4)]
    per = pd.DataFrame(rows, columns=["scenario", "replicate", "harm_averted_pv", "spend_pv"])
    acc = ap.acceptability(per, "status_quo", multipliers=(0.0, 0.3, 1.0))
    p = acc.set_index(["multiplier", "scenario"]).prob_best
    assert p[(0.0, "status_quo")] == 1.0  # nothing is worth paying for at 0
    assert p[(0.3, "b")] == 1.0  # a: 3 - 5 < 0; b: 1.2 - 1 > 0
    assert p[(1.0, "a")] == 0.75 and p[(1.0, "b")] == 0.25
    assert acc.groupby("multiplier").prob_best.sum().eq(1.0).all()
    nb = acc.set_index(["multiplier", "scenario"]).net_benefit_pv_mean
    assert nb[(1.0, "b")] == pytest.approx((3 + 3 + 3 + 19) / 4)


def test_acceptability_refuses_a_non_finite_replicate():
    per = pd.DataFrame(
        [("a", 0, float("nan"), 1.0)],
        columns=["scenario", "replicate", "harm_averted_pv", "spend_pv"],
    )
    with pytest.raises(ValueError, match="finite"):
        ap.acceptability(per, "status_quo")
