"""scenarios.delivery's reach: capacity that does not shrink with the population scale, schools
bought by phase at their rolls, the reach audit, and the refusal of allocations that reach no one.

Funded is driven here by a fake `observed` (plain arrays) and a stand-in intervention holding
only the fields delivery reads, so the tests pin delivery, not the library's schema."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from svsim.model.area import PHASES, School, SchoolRegister
from svsim.model.randomness import Streams
from svsim.scenarios.delivery import (
    WEEKS,
    Funded,
    Portfolio,
    pupils_of_ages,
    reach_problems,
    school_places,
)
from svsim.scenarios.library import Allocation, Scenario, ScenarioError
from svsim.scenarios.prices import Prices

FLAT = Prices({2024: 1.0, 2025: 1.0}, 0.0, 2024, "flat, undiscounted")
YEAR = 2024


def spec(**kw) -> SimpleNamespace:
    """An intervention as delivery reads it: found in place, ages 15-24, costs £1,000 a head."""
    base = dict(
        name="x", tier="secondary", evidence="strong", unit="participant",
        mechanism="person_hazard", identification="place", ages=(15, 24), lookback_weeks=0,
        unit_cost_price_year=2024, applies_to="participants", onset_weeks=0, effect_weeks=52,
        half_life_weeks=26.0,
    )  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def draw(unit_cost=1000.0, uptake=1.0) -> SimpleNamespace:
    return SimpleNamespace(reduction=0.5, uptake=uptake, completion=1.0, unit_cost=unit_cost)


def observed(n=60, age=18, school=None, community=0) -> SimpleNamespace:
    """n people, all alive, free, in community 0, never arrested (every field delivery reads)."""
    never = np.full(n, -(10**6))
    return SimpleNamespace(
        n=n, age=np.broadcast_to(age, n).copy(), alive=np.ones(n, bool),
        in_custody=np.zeros(n, bool), community=np.broadcast_to(community, n).copy(),
        school=np.full(n, -1) if school is None else np.asarray(school),
        referred=np.ones(n, bool), last_arrest_week=never, last_out_of_court_week=never,
        last_hospital_week=never, last_chargeable_week=never.copy(),
        last_scheme_diversion_week=never.copy(),
    )  # fmt: skip


def funded(s, amount, scale, seed=0, d=None, places=(0,), schools=(), served=None) -> Funded:
    alloc = Allocation(s.name, amount, ("all",), YEAR, YEAR)
    return Funded(
        s, alloc, d or draw(), 0, np.array(places), served or [], FLAT, YEAR, scale,
        Streams(seed), schools,
    )  # fmt: skip


def one_year(f: Funded, obs) -> dict:
    for week in range(WEEKS):
        f.enrol(week, obs, 1.0)
    return f.spend[YEAR]


# ---- capacity at any population scale ----------------------------------------------------------


@pytest.mark.parametrize(("units", "scale"), [(3.0, 0.25), (1.4, 0.05), (1.4, 1.0), (7.3, 0.25)])
def test_expected_reach_is_what_the_money_buys_at_any_scale(units, scale):
    """A year of weekly enrolment with plenty of eligible people, over 400 seeds: the mean
    real-equivalent reach equals the units bought. Each seed reaches floor(u·s)/s or one more
    simulated person (1/s real ones) with probability frac(u·s), so the SD of the mean is
    sqrt(p(1-p))/s/sqrt(400); 4 SDs is the tolerance (the old floor(u·s) reached nobody at
    0.75 or 0.07 simulated people, 4.3 and 6.7 SDs away; seeds fixed, so deterministic)."""
    reached = np.array(
        [one_year(funded(spec(), units * 1000.0, scale, seed), observed())["participants"]
         for seed in range(400)]
    )  # fmt: skip
    want = units * scale
    assert set(np.round(reached * scale)) <= {np.floor(want), np.floor(want) + 1}
    p = want - np.floor(want)
    sd = np.sqrt(p * (1 - p)) / scale / np.sqrt(len(reached))
    assert abs(reached.mean() - units) <= 4 * sd + 1e-9, (reached.mean(), units, sd)


def test_weekly_pacing_fills_the_capacity_and_spends_no_more_than_the_money():
    """Enrolled by week w is floor(capacity (w+1) / 52); the year ends at capacity, with the
    money spent and nothing more; where too few are eligible, spending is their share."""
    f = funded(spec(), 26_000.0, 1.0)  # 26 places
    obs = observed()
    for week in range(WEEKS):
        f.enrol(week, obs, 1.0)
        assert len(f.people) == 26 * (week + 1) // WEEKS
    acc = f.spend[YEAR]
    assert (acc["participants"], acc["reached"], acc["spent"]) == (26.0, 26.0, 26_000.0)
    assert acc["eligible"] == 60.0  # everyone could have been offered a place
    scarce = funded(spec(), 26_000.0, 0.25)  # 6.5 simulated places: 6 or 7
    acc = one_year(scarce, observed(n=3))
    cap = scarce.capacity(YEAR)
    assert cap in (6, 7) and acc["participants"] == 3 / 0.25 and acc["eligible"] == 12.0
    assert acc["spent"] == pytest.approx(26_000.0 * 3 / cap) and acc["spent"] < acc["budget"]


def test_a_capacity_rounded_to_nobody_spends_only_if_anyone_was_eligible():
    """At scale 0.05, £1,000 buys 0.05 simulated places: mostly none. The money stands for the
    place the run is too small to show if someone could have taken it, and is short if not."""
    seed = next(s for s in range(100) if funded(spec(), 1000.0, 0.05, s).capacity(YEAR) == 0)
    acc = one_year(funded(spec(), 1000.0, 0.05, seed), observed())
    assert acc["participants"] == 0 and acc["spent"] == 1000.0
    acc = one_year(funded(spec(), 1000.0, 0.05, seed), observed(age=70))
    assert acc["eligible"] == 0 and acc["spent"] == 0.0


def test_capacity_is_common_to_scenarios_and_grows_with_money():
    """The rounding draw is keyed by seed, intervention and year only: the same amount gives the
    same capacity whatever else a scenario funds, and more money never gives fewer places
    (amounts buying 0.25, 0.75, 1.25 and 1.75 simulated places, so every one is rounded)."""
    for seed in range(50):
        caps = [funded(spec(), a, 0.05, seed).capacity(YEAR) for a in (5e3, 15e3, 25e3, 35e3)]
        assert caps == sorted(caps)
        again = funded(spec(), 25e3, 0.05, seed)
        again.enrol(0, observed(), 1.0)  # enrolling first changes nothing
        assert again.capacity(YEAR) == caps[2]


def test_capacity_is_shared_between_portfolios_that_differ_elsewhere(test_town):
    lib = {"a": spec(name="a"), "b": spec(name="b", ages=(30, 40))}
    draws = {"a": draw(), "b": draw()}
    alone = Scenario(
        "one", "", "", 1e9, 2024, (Allocation("a", 30_000.0, ("all",), 2024, 2025),), ""
    )
    both = dataclasses.replace(
        alone, allocations=(Allocation("b", 9_000.0, ("all",), 2024, 2025), *alone.allocations)
    )
    for seed in range(10):  # 1.5 simulated places a year: 1 or 2, by the keyed draw
        caps = []
        for sc in (alone, both):
            p = Portfolio(sc, lib, draws, test_town, FLAT, 2024, 0.05, seed=seed)
            f = next(f for f in p.funded if f.spec.name == "a")
            caps.append([f.capacity(y) for y in (2024, 2025)])
        assert caps[0] == caps[1]


# ---- schools by phase and roll ---------------------------------------------------------------


def town_with_through_school(town):
    """The test town plus an all-through school for Old Town (two real schools, 2,800 pupils)."""
    through = School("Old Town Through", "all_through", ("Old Town",), 2800.0, 2)
    return dataclasses.replace(town, schools=(*town.schools, through))


def pupils_at_every_school(area, age):
    """Ten pupils of `age` at each school, living in its first community."""
    school = np.repeat(np.arange(len(area.schools)), 10)
    home = [area.community_index(area.schools[i].communities[0]) for i in school]
    return observed(n=len(school), age=age, school=school, community=np.array(home))


@pytest.mark.parametrize(("ages", "phase"), [((11, 16), "secondary"), ((5, 9), "primary")])
def test_a_school_programme_buys_only_schools_of_its_phase(test_town, ages, phase):
    area = town_with_through_school(test_town)
    s = spec(unit="pupil", identification="school", ages=ages)
    all_places = tuple(range(len(area.communities)))
    f = funded(s, 1e9, 1.0, places=all_places, schools=area.schools, served=school_places(area))
    obs = pupils_at_every_school(area, ages[0])
    f.enrol(0, obs, 1.0)
    bought = {area.schools[i].phase for i in obs.school[f.people]}
    assert bought == {p for p, teaches in PHASES.items() if phase in teaches}


def test_schools_cost_their_roll_of_the_programmes_ages_and_the_last_is_bought_in_part(test_town):
    """Every grouping here holds two real schools of 1,000 pupils aged 11-17, so 6/7 of them are
    aged 11-16: £10 a pupil makes a grouping £17,143 and a real school £8,571. £30,000 buys the
    first grouping in the keyed order and one of the next one's two real schools (half its
    pupils, by keyed draw), spending £25,714; the rest buys nothing."""
    schools = tuple(School(f"S{i}", "secondary", ("Old Town",), 2000.0, 2) for i in range(3))
    area = dataclasses.replace(test_town, schools=schools)
    assert pupils_of_ages(schools[0], (11, 16)) == pytest.approx(2000 * 6 / 7)
    s = spec(unit="pupil", identification="school", ages=(11, 16))
    f = funded(s, 30_000.0, 1.0, d=draw(10.0), schools=schools, served=school_places(area))
    school = np.repeat([0, 1, 2], 400)
    obs = observed(n=len(school), age=13, school=school)
    f.enrol(0, obs, 1.0)
    acc = f.spend[YEAR]
    assert acc["spent"] == pytest.approx(1.5 * 2000 * 6 / 7 * 10)
    assert acc["units"] == pytest.approx(1.5 * 2000 * 6 / 7)
    first, second, third = f.school_order
    covered = np.bincount(school[f.people], minlength=3)
    assert covered[first] == 400 and covered[third] == 0
    # half the second grouping's 400 pupils, binomial: 4 SDs is 40
    assert abs(covered[second] - 200) <= 40
    assert acc["eligible"] == 1200 and acc["reached"] == covered.sum()


def test_more_money_covers_the_same_schools_and_more(test_town):
    area = dataclasses.replace(
        test_town,
        schools=tuple(School(f"S{i}", "secondary", ("Old Town",), 1000.0, 1) for i in range(6)),
    )
    s = spec(unit="pupil", identification="school", ages=(11, 16))
    school = np.repeat(np.arange(6), 20)
    sets, orders = [], set()
    for amount, n in ((9_000.0, 1), (20_000.0, 2), (40_000.0, 4)):  # £8,571 a school
        f = funded(s, amount, 1.0, d=draw(10.0), schools=area.schools, served=school_places(area))
        f.enrol(0, observed(n=len(school), age=12, school=school), 1.0)
        sets.append(set(school[f.people].tolist()))
        orders.add(tuple(f.school_order))
        assert sets[-1] == set(f.school_order[:n].tolist())
        assert f.spend[YEAR]["spent"] <= amount
    assert len(orders) == 1 and sets[0] < sets[1] < sets[2]


# ---- refusing what can reach no one --------------------------------------------------------


def one_allocation(intervention: str, places=("all",)) -> Scenario:
    return Scenario(
        "plan", "", "", 1e9, 2024,
        (Allocation("fine", 1.0, ("all",), 2024, 2024),
         Allocation(intervention, 5_000.0, places, 2024, 2024)), "",
    )  # fmt: skip


def test_allocations_that_reach_no_one_are_refused_in_one_line_each(test_town):
    primary_only = dataclasses.replace(
        test_town, schools=tuple(s for s in test_town.schools if s.phase == "primary")
    )
    lib = {
        "fine": spec(name="fine"),
        "lessons": spec(name="lessons", unit="pupil", identification="school", ages=(11, 16)),
        "college": spec(name="college", unit="pupil", identification="school", ages=(19, 25)),
        "centenarians": spec(name="centenarians", ages=(101, 110)),
        "backwards": spec(name="backwards", ages=(12, 10)),
        "patrols": spec(name="patrols", unit="place_year", ages=(101, 110)),
    }
    no_rolls = dataclasses.replace(
        test_town,
        school_register=SchoolRegister(),
        schools=tuple(dataclasses.replace(s, roll=1.0) for s in test_town.schools),
    )
    cases = {
        ("lessons", primary_only): "no secondary or all-through school serves its places ('all')",
        ("lessons", no_rolls): "the area gives no school rolls to price pupils",
        ("college", test_town): "ages 19-25 are taught in no school phase",
        ("centenarians", test_town): "nobody aged 101-110 lives in the area",
        ("backwards", test_town): "ages=(12, 10) is an empty or unknown age range",
    }
    for (name, area), reason in cases.items():
        problems = reach_problems(one_allocation(name), lib, area)
        assert len(problems) == 1 and "\n" not in problems[0], problems
        assert problems[0].startswith(
            f"scenario plan.allocations[1].intervention='{name}': reaches no one: {reason}"
        ), problems
        with pytest.raises(ScenarioError, match="reaches no one"):
            Portfolio(one_allocation(name), lib, {n: draw() for n in lib}, area, FLAT, 2024, 1.0, 0)
    for name in ("fine", "lessons", "patrols"):  # places, and the right phase, are fine
        assert reach_problems(one_allocation(name), lib, test_town) == []
    # a school programme's phase is judged in its own places
    some = dataclasses.replace(
        test_town, schools=tuple(s for s in test_town.schools if s.name != "Meadows High")
    )
    assert reach_problems(one_allocation("lessons", ("Old Town",)), lib, some) == []
    assert len(reach_problems(one_allocation("lessons", ("Hillcrest", "Meadows")), lib, some)) == 1


# ---- the pathway lever: a diversion scheme ---------------------------------------------------


def test_a_diversion_scheme_offers_chargeable_arrests_and_enrols_whom_it_diverted():
    s = spec(identification="diversion", ages=(10, 17))
    f = funded(s, 52_000.0, 1.0, d=draw(uptake=0.75))  # 52 places a year, one a week paced
    obs = observed(n=60, age=np.r_[np.full(50, 15), np.full(10, 30)])
    f.enrol(0, obs, 1.0)
    assert f.divert_offer == 0.75  # the share who admit the offence and accept
    assert set(f.divert_ids) == set(range(50))  # its ages only
    obs.last_chargeable_week[:8] = 1  # eight chargeable arrests in week 1, five diverted
    obs.last_scheme_diversion_week[:5] = 1
    f.enrol(1, obs, 1.0)
    assert sorted(f.people) == [0, 1, 2, 3, 4]
    acc = f.spend[YEAR]
    assert acc["eligible"] == 8 and acc["participants"] == 5
    assert acc["spent"] == pytest.approx(52_000.0 * 5 / 52)
    assert f.divert_offer == 0  # five enrolled against two places paced to week 1: closed
    f.enrol(5, obs, 1.0)  # six places paced by week 5: open again, not to those already in
    assert f.divert_offer == 0.75 and not set(f.divert_ids) & set(range(5))


def test_a_diversion_scheme_never_spends_past_its_money():
    f = funded(spec(identification="diversion", ages=(10, 17)), 2_000.0, 1.0)  # two places
    obs = observed(n=60, age=15)
    obs.last_chargeable_week[:] = 30
    obs.last_scheme_diversion_week[:] = 30  # a week's diversions overshoot the two places
    f.enrol(30, obs, 1.0)
    assert f.spend[YEAR]["participants"] == 60 and f.spend[YEAR]["spent"] == 2_000.0
    assert f.divert_offer == 0
