"""Referral as an agency process (model/ODD.md section 7.5b): who is referred, when, and that it
follows only observed events, changes no violence and is the same in every scenario."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from conftest import load_area, make_model
from svsim.experiments.config import CONF_DIR
from svsim.model import Params
from svsim.model.hooks import Observed
from svsim.model.model import CHILD_MAX_AGE, LONG_AGO, REFERRAL_EVENTS
from svsim.model.randomness import Process, Streams
from svsim.scenarios.delivery import Funded

REFERRAL_INTERVENTIONS = {  # shipped interventions that find people by referral, and their ages
    "parenting_programmes": (4, 12),
    "mentoring": (10, 17),
    "cbt_young_people": (12, 24),
    "street_doctors": (11, 25),
}


def referral(stock: bool = True, **changes) -> Params:
    """Default parameters with these referral parameters changed; stock=False: no one is known
    to services at the start, so every referral is the process's."""
    p = Params()
    p = dataclasses.replace(p, referral=dataclasses.replace(p.referral, **changes))
    if stock:
        return p
    return dataclasses.replace(
        p, population=dataclasses.replace(p.population, referral_rate_young=0.0)
    )


def no_referral() -> Params:
    return referral(
        stock=False, arrest_prob=0.0, hospital_prob=0.0, victim_prob=0.0, household_abuse_prob=0.0
    )


def events_this_week(m) -> np.ndarray:
    """n x 4: did each person have each referral event (REFERRAL_EVENTS order) in the week just
    stepped, by the state the model keeps."""
    s, w = m.state, m.week - 1
    return np.stack(
        [
            s.last_arrest == w,
            s.last_hospital == w,
            s.last_victim_recorded == w,
            s.last_household_abuse == w,
        ],
        axis=1,
    )


def newly_referred(m) -> np.ndarray:
    return m.state.referred_week == m.week - 1


@pytest.fixture(scope="module")
def county():
    return load_area("wiltshire_swindon")


def test_the_pool_after_burn_in_holds_every_referral_interventions_ages(county):
    """At projection week 0 (wiltshire_swindon, scale 0.05, seed 1, two years of burn-in) people
    referred in the last 52 weeks - all by the process, none from the initial stock of week 0 -
    exist at the ages of each shipped referral intervention."""
    m = make_model(county, seed=1, population_scale=0.05, burn_in_years=2)
    while m.week < m.burn_in_weeks:
        m.step()
    obs = Observed(m, m.week)
    age, alive = obs.age, obs.alive
    pool = alive & (0 - obs.referred_week <= 52)
    assert np.array_equal(pool, alive & obs.referred)  # known_weeks is 52 too
    assert (m.state.referred_week[pool] > 0).all()  # made during the burn-in
    for name, (lo, hi) in REFERRAL_INTERVENTIONS.items():
        band = (age >= lo) & (age <= hi)
        assert (pool & band).sum() >= 20, (name, int((pool & band).sum()))
    referred_at = (m.state.referred_week - m.people.birth_week) // 52
    assert referred_at[pool].max() <= m.params.referral.max_age  # their age when referred


def test_the_shipped_referral_interventions_look_back_a_year():
    for name in REFERRAL_INTERVENTIONS:
        spec = yaml.safe_load((CONF_DIR / "intervention" / f"{name}.yaml").read_text())
        assert spec["identification"] == "referral"
        assert spec["lookback_weeks"] == 52, name


def test_an_intervention_finds_only_people_referred_within_its_lookback(test_town):
    m = make_model(test_town, seed=2, burn_in_years=2)
    while m.week < m.burn_in_weeks + 10:
        m.step()
    obs = Observed(m, m.week)
    week = m.week - m.burn_in_weeks
    for lookback in (0, 13, 52):
        spec = SimpleNamespace(ages=(0, 24), identification="referral", lookback_weeks=lookback)
        funded = SimpleNamespace(
            spec=spec, places=np.arange(m.n_communities), offered=np.zeros(0, bool)
        )
        funded.in_scope = lambda o, ids=None, f=funded: Funded.in_scope(f, o, ids)
        found = Funded._eligible(funded, week, obs)
        expected = np.flatnonzero(
            obs.alive & ~obs.in_custody & (obs.age <= 24) & (week - obs.referred_week <= lookback)
        )
        assert np.array_equal(found, expected)
        assert len(found) > 0 or lookback == 0


class LowerRisk:
    """Test double: halve the hazard of everyone aged 10-24 each week (it changes violence)."""

    def apply(self, week, observed, levers):
        age = observed.age
        levers.scale_hazard(np.flatnonzero((age >= 10) & (age < 25)), 0.5)


class Watcher:
    """Test double: reads the referral pool every week, as an agency would; changes nothing."""

    def __init__(self):
        self.sizes = []

    def apply(self, week, observed, levers):
        self.sizes.append(int((observed.referred & observed.alive).sum()))


def test_referrals_are_the_same_in_two_scenarios_with_the_same_seed(test_town):
    """Common random numbers. A scenario that only looks gets exactly the comparator's referrals;
    one that changes violence gets them in the burn-in, and in the projection for everyone whose
    events (and survival) that week are the same in both runs."""
    base = make_model(test_town, seed=3, years=2)
    looking = make_model(test_town, seed=3, years=2, interventions=[watcher := Watcher()])
    treated = make_model(test_town, seed=3, years=2, interventions=[LowerRisk()])
    runs = (base, looking, treated)
    for m in runs:
        while m.week < m.burn_in_weeks:
            m.step()
    assert (base.state.referred_week > 0).any()
    for m in runs[1:]:
        assert np.array_equal(base.state.referred_week, m.state.referred_week)
    same = differ = compared = 0
    while base.week < base.total_weeks:
        for m in runs:
            m.step()
        assert np.array_equal(base.state.referred_week, looking.state.referred_week)
        w = base.week - 1
        n = len(base.people)
        ev_b, ev_t = events_this_week(base), events_this_week(treated)
        alive_b = base.state.killed_week > w + 1
        alive_t = treated.state.killed_week > w + 1
        alike = (ev_b == ev_t).all(axis=1) & ev_b.any(axis=1) & (alive_b == alive_t)
        differ += int(((ev_b != ev_t).any(axis=1)).sum())
        compared += int(alike.sum())
        ref_b, ref_t = newly_referred(base)[:n], newly_referred(treated)[:n]
        assert np.array_equal(ref_b[alike], ref_t[alike]), w
        same += int(ref_b[alike].sum())
    assert len(watcher.sizes) == 104 and min(watcher.sizes) > 0
    assert differ > 0 and compared > 50 and same > 10, (differ, compared, same)


def test_referral_probability_zero_gives_an_empty_pool_and_the_same_violence(test_town):
    none = make_model(test_town, params=no_referral(), seed=4, years=2)
    default = make_model(test_town, seed=4, years=2)
    r_none, r_default = none.run(), default.run()
    assert (none.state.referred_week == LONG_AGO).all()
    assert not Observed(none, none.week - 1).referred.any()
    assert (default.state.referred_week > 0).any()  # the default does refer people
    # referral only changes whom interventions can find: the violence and every other state
    # (exposure, trauma, justice, groups, carrying, abuse) are identical
    assert r_none.incidents.equals(r_default.incidents)
    assert r_none.weekly.equals(r_default.weekly)
    for f in dataclasses.fields(none.state):
        if f.name != "referred_week":
            a, b = getattr(none.state, f.name), getattr(default.state, f.name)
            assert np.array_equal(a, b), f.name


def test_no_referral_without_an_event_and_no_draw_over_everyone(test_town, monkeypatch):
    """Each week the newly referred all had an observed event that week; the referral stream is
    drawn only for the week's events (a handful), never for the whole population."""
    sizes = []
    keyed, full = Streams.keyed, Streams.full

    def spy_keyed(self, process, week, ids, slot=0):
        if process == Process.REFERRAL:
            sizes.append(np.size(ids))
        return keyed(self, process, week, ids, slot)

    def spy_full(self, process, week, n):
        assert process != Process.REFERRAL, "a referral draw over the whole population"
        return full(self, process, week, n)

    monkeypatch.setattr(Streams, "keyed", spy_keyed)
    monkeypatch.setattr(Streams, "full", spy_full)
    m = make_model(test_town, params=referral(False, young_adult_rr=1.0), seed=5, years=2)
    referred = 0
    while m.week < m.total_weeks:
        m.step()
        new = newly_referred(m)
        assert events_this_week(m)[new].any(axis=1).all(), m.week - 1
        referred += int(new.sum())
    assert referred > 50
    assert len(sizes) >= m.total_weeks * len(REFERRAL_EVENTS)  # it ran every week, burn-in too
    assert max(sizes) < 0.02 * len(m.people), max(sizes)


PROBS = {"arrest": 0.5, "hospital": 0.4, "victim": 0.6, "household_abuse": 0.8}
YOUNG_ADULT_RR = 0.5


def test_referrals_per_event_match_the_probabilities(county):
    """Each person-week's chance of referral is 1 - prod(1 - p_e) over its events e (p x
    young_adult_rr from 18 to max_age; household abuse for children only; no one older).
    Observed and expected referrals, by the person-week's single event (or several), agree
    within 4 binomial standard errors (wiltshire_swindon at scale 0.25, seed 6, a year of
    burn-in and two of projection: 900-2,700 person-weeks a group). A correct process falls
    outside that band with probability ~6e-5 a group (and the seed is fixed, so the test is
    deterministic); an arrest probability wrong by 0.1 moves the arrest count by ~5 standard
    errors (arrests are the smallest group; checked), so it fails."""
    params = referral(
        stock=False,
        **{f"{e}_prob": p for e, p in PROBS.items()},
        young_adult_rr=YOUNG_ADULT_RR,
        capacity_per_10k=1e5,
    )
    m = make_model(county, params=params, seed=6, population_scale=0.25, years=2)
    max_age = m.params.referral.max_age
    p = np.array(list(PROBS.values()))
    groups = {g: np.zeros(4) for g in (*REFERRAL_EVENTS, "several", "too old")}
    while m.week < m.total_weeks:
        m.step()
        age = m.people.age_years(m.week - 1)  # as the week's referral saw it
        ev = events_this_week(m)
        alive = (m.state.killed_week > m.week) & (m.people.death_week > m.week)  # next week
        who = np.flatnonzero(ev.any(axis=1) & alive)
        ev, a = ev[who], age[who]
        child, young = a <= CHILD_MAX_AGE, a <= max_age
        adult = np.where(child, 1.0, YOUNG_ADULT_RR)
        rr = np.stack([adult, adult, adult, child], axis=1)  # household abuse: children only
        expected = 1 - np.prod(1 - np.where(ev, p * rr * young[:, None], 0.0), axis=1)
        got = newly_referred(m)[who]
        single = ev.sum(axis=1) == 1
        selections = [single & ev[:, k] & young for k in range(len(REFERRAL_EVENTS))]
        for g, sel in zip(groups, [*selections, ~single & young, ~young], strict=True):
            e = expected[sel]
            groups[g] += [sel.sum(), got[sel].sum(), e.sum(), (e * (1 - e)).sum()]
    n, got, exp, var = groups.pop("too old")
    assert n > 100 and got == 0 and exp == 0  # no one older than max_age is referred
    for g, (n, got, exp, var) in groups.items():
        assert n >= 500, (g, n)  # enough person-weeks to mean something
        assert abs(got - exp) <= 4 * np.sqrt(var), (g, got, exp, np.sqrt(var))


def test_capacity_bounds_referrals_per_csp_and_year(county):
    """With capacity at 20 a year per 10,000 young residents the cap binds: each CSP's referrals
    in a model year never exceed floor(capacity), and reach it by the year end."""
    params = referral(stock=False, capacity_per_10k=20.0)
    m = make_model(county, params=params, seed=7, population_scale=0.05, years=1)
    n_csp = len(county.csps)
    made = np.zeros(n_csp, dtype=np.int64)
    while m.week < m.total_weeks:
        if m.week % 52 == 0:
            made[:] = 0
        m.step()
        new = np.flatnonzero(newly_referred(m))
        made += np.bincount(m.community_csp[m.people.community[new]], minlength=n_csp)
        assert (made <= np.floor(m._referral_capacity)).all()
        if (m.week - 1) % 52 == 51:
            assert (made == np.floor(m._referral_capacity)).all(), (made, m._referral_capacity)
    assert (m._referral_capacity > 5).all()


def test_the_initial_stock_is_children_known_at_the_start_and_no_arrival(test_town):
    m = make_model(test_town, seed=8, years=1)
    stock = m.people.referred_at_start.copy()
    age = m.people.age_years(0)
    assert stock.any() and (age[stock] <= CHILD_MAX_AGE).all()
    assert np.array_equal(m.state.referred_week == 0, stock)
    first = len(m.people)
    m.run()
    assert len(m.people) > first and not m.people.referred_at_start[first:].any()
    none = make_model(test_town, params=referral(stock=False), seed=8, years=1)
    assert not none.people.referred_at_start.any()
    assert np.array_equal(none.people.male, m.people.male[:first])  # population stream unshifted
