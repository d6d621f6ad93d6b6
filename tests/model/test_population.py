"""Synthetic people: marginals match the area file; households stay whole under scaling."""

import numpy as np
from conftest import make_model
from svsim.model.population import FACTORS


def test_community_populations_match_area_file(test_town):
    m = make_model(test_town)
    initial = m.people.community[: m.initial_population]  # before the first year's arrivals
    counts = np.bincount(initial, minlength=m.n_communities)
    assert counts.tolist() == [c.population for c in test_town.communities]


def test_age_and_sex_match_area_file(test_town):
    m = make_model(test_town, seed=3)
    n = len(m.people)
    age = m.people.age_years(0)
    starts = [b for b, _ in test_town.age_structure]
    shares = np.array([s for _, s in test_town.age_structure])
    observed = (
        np.bincount(np.searchsorted(starts, age, side="right") - 1, minlength=len(starts)) / n
    )
    se = np.sqrt(shares * (1 - shares) / n)
    assert np.all(np.abs(observed - shares) < 4 * se + 1e-9)  # 4 SE: a one-in-15,000 miss
    female = 1 - m.people.male.mean()
    assert abs(female - test_town.female_share) < 4 * np.sqrt(0.25 / n)


def test_scaled_population_keeps_whole_households(test_town):
    full = make_model(test_town, seed=5)
    part = make_model(test_town, seed=5, population_scale=0.25)
    assert part.weight == 4.0
    # whole households: every household keeps all its members or none
    sizes_full = np.bincount(full.people.household)
    assert len(part.people) < len(full.people)
    hh_sizes = np.bincount(part.people.household)
    assert hh_sizes.min() >= 1
    mean_full, mean_part = sizes_full.mean(), hh_sizes.mean()
    assert abs(mean_full - mean_part) < 0.15 * mean_full
    # scaled sizes within binomial error of households (variance inflated by household size)
    for c, comm in enumerate(test_town.communities):
        n_c = (part.people.community == c).sum()
        expected = 0.25 * comm.population
        sd = np.sqrt(0.25 * 0.75 * comm.population * mean_full)
        assert abs(n_c - expected) < 4 * sd


def test_factors_correlate_as_stated(test_town):
    m = make_model(test_town, seed=2)
    p = m.people
    dep = np.array([c.deprivation for c in test_town.communities])[p.community]
    assert np.corrcoef(dep, p.family_risk)[0, 1] > 0.1
    assert np.corrcoef(p.family_risk, p.individual_risk)[0, 1] > 0.2
    assert np.corrcoef(p.individual_risk, p.individual_protective)[0, 1] < -0.2
    for f in FACTORS:
        assert abs(getattr(p, f).std() - 1) < 0.1
    # family factors are shared within a household
    first = np.unique(p.household, return_index=True)[1]
    assert np.allclose(p.family_risk, p.family_risk[first][p.household])


def test_demography_follows_projection(test_town):
    m = make_model(test_town, years=2, burn_in_years=1)
    m.run()
    expected = m.initial_population * (1 + test_town.population_growth_per_year) ** 3
    assert abs(m.alive().sum() - expected) < 0.01 * expected
    assert (m.people.age_years(m.week) >= 0).all()
