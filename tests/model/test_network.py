"""The peer network: degree and homophily as configured; symmetric; household ties apart."""

import dataclasses

import numpy as np
import pytest
from conftest import make_model
from svsim.model import Params


@pytest.fixture(scope="module")
def model(test_town):
    return make_model(test_town, seed=4)


def test_degree_and_symmetry(model):
    adj = model.network
    assert (adj != adj.T).nnz == 0
    assert adj.diagonal().sum() == 0
    age = model.people.age_years(0)
    members = age >= model.params.network.min_age
    deg = np.diff(adj.indptr)
    assert deg[~members].sum() == 0
    target = model.params.network.mean_degree
    assert abs(deg[members].mean() - target) < 0.1 * target


def test_homophily_by_community_and_age(model):
    adj = model.network.tocoo()
    rows, cols = adj.row, adj.col
    comm = model.people.community
    same = (comm[rows] == comm[cols]).mean()
    # ties within community: by design at least community_homophily of non-school ties,
    # plus chance matches of area-wide ties; school ties are mostly local too
    assert same > model.params.network.community_homophily - 0.05
    age = model.people.age_years(0)
    gap = np.abs(age[rows] - age[cols])
    rng = np.random.default_rng(0)
    members = np.flatnonzero(age >= 10)
    random_gap = np.abs(age[rng.choice(members, 20000)] - age[rng.choice(members, 20000)])
    assert np.median(gap) <= 3
    assert np.median(random_gap) > 5 * max(np.median(gap), 1)


def test_mean_degree_is_configurable(test_town):
    p = Params()
    p = dataclasses.replace(p, network=dataclasses.replace(p.network, mean_degree=4.0))
    m = make_model(test_town, params=p, seed=4)
    deg = np.diff(m.network.indptr)[m.people.age_years(0) >= 10]
    assert abs(deg.mean() - 4.0) < 0.4


def test_household_ties_are_not_peer_ties(model):
    adj = model.network.tocoo()
    hh = model.people.household
    same_household = (hh[adj.row] == hh[adj.col]).mean()
    assert same_household < 0.05


def test_ties_are_mostly_same_sex_at_the_stated_homophily(test_town):
    """With sex_homophily h a tie is held to the sender's sex, else falls to a random sex, so
    the same-sex share is h + (1 - h) / 2 = 0.85 at h = 0.7 (tolerance: a few thousand ties,
    SD of the share < 0.01; 0.03 allows for school and age groups with few of one sex)."""
    from conftest import make_model

    m = make_model(test_town, seed=2)
    rows, cols = m.network.nonzero()
    same = (m.people.male[rows] == m.people.male[cols]).mean()
    h = m.params.network.sex_homophily
    assert abs(same - (h + (1 - h) / 2)) < 0.03
