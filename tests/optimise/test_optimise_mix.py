"""The decision: options, constraints and mixes refuse bad input in one line naming the field, and
a mix over shipped interventions is a scenario the library accepts and delivery can reach."""

from __future__ import annotations

import pytest
import yaml
from svsim.experiments.compare.compare import _load_library
from svsim.experiments.config import CONF_DIR
from svsim.experiments.optimise.mix import Mix, Option, Problem, baseline, scenario_dict
from svsim.experiments.optimise.search import Design
from svsim.model import area_from_dict
from svsim.scenarios.delivery import reach_problems
from svsim.scenarios.library import scenario_from_dict

YEARS = (2024, 2028)


def real_problem() -> Problem:
    """Four shipped interventions in places of Wiltshire and Swindon, today's navigators kept."""
    options = (
        Option("focused_deterrence", ("Devizes Town", "Central"), 20_000, 150_000),
        Option("mentoring", ("Central", "Walcot and Park North"), 30_000, 200_000),
        Option("ae_navigators", ("Swindon",), 15_000, 100_000),
        Option("social_skills_schools", ("Wiltshire",), 20_000, 400_000),
    )
    return Problem(options, 250_000, (0, 0, 40_000, 0))


def test_a_mix_is_a_scenario_the_library_accepts():
    area = area_from_dict(
        yaml.safe_load((CONF_DIR / "area" / "wiltshire_swindon.yaml").read_text())
    )
    places = {c.name for c in area.communities} | {c.name for c in area.csps}
    library = _load_library()
    mix = Mix(real_problem(), (75_000, 0, 45_000, 130_000))
    data = scenario_dict(mix, "optimised", "Optimised mix", "The search's best mix.", YEARS, 2024)
    scenario = scenario_from_dict(data, "scenario optimised", library, places, YEARS)
    assert scenario.budget_per_year == 250_000 and scenario.price_year == 2024
    assert [(a.intervention, a.amount_per_year, a.places) for a in scenario.allocations] == [
        ("focused_deterrence", 75_000, ("Devizes Town", "Central")),
        ("ae_navigators", 45_000, ("Swindon",)),
        ("social_skills_schools", 130_000, ("Wiltshire",)),
    ]  # the unfunded option is left out
    assert all((a.start_year, a.end_year) == YEARS for a in scenario.allocations)
    assert reach_problems(scenario, library, area, "scenario optimised") == []
    # and as the file a user would write
    again = yaml.safe_load(yaml.safe_dump(data))
    assert scenario_from_dict(again, "file", library, places, YEARS) == scenario


def test_constraints_of_a_mix():
    p = real_problem()
    assert baseline(p).amounts == (0, 0, 40_000, 0)
    assert Mix(p, (20_000, 0, 40_000, 190_000)).total == 250_000  # the budget exactly
    assert list(p.lower) == [20_000, 30_000, 40_000, 20_000]  # the commitment raises the minimum
    for amounts, message in [
        ((20_000, 0, 40_000, 190_001), "exceeds the budget 250000"),
        (
            (19_999, 0, 40_000, 0),
            "amounts[focused_deterrence in Devizes Town, Central]=19999: must be 0 or from 20000",
        ),
        ((0, 0, 39_000, 0), "must be 0 or from 40000 to 100000"),
        ((0, 0, 0, 0), "drops the commitment of 40000"),
        ((0, 0, 100_001, 0), "must be 0 or from 40000 to 100000"),
        ((0, 0, 40_000), "needs 4 amounts"),
        ((0.5, 0, 40_000, 0), "must be a whole number of pounds"),
    ]:
        with pytest.raises(ValueError, match=r"^[^\n]*$") as err:
            Mix(p, amounts)
        assert message in str(err.value)


FIELD_ERRORS = [
    (lambda: Option("", ("all",), 0, 1), "intervention=''"),
    (lambda: Option("x", (), 0, 1), "places=()"),
    (lambda: Option("x", ["all"], 0, 1), "places=['all']"),
    (lambda: Option("x", ("all",), -1, 1), "minimum=-1"),
    (lambda: Option("x", ("all",), float("nan"), 1), "minimum=nan"),
    (lambda: Option("x", ("all",), 5, 4), "maximum=4: must be positive and >= minimum 5"),
    (lambda: Option("x", ("all",), 0, 0), "maximum=0"),
    (lambda: Problem((), 1), "options=()"),
    (lambda: Problem((Option("x", ("all",), 0, 1),) * 2, 1), "options='x in all': appears twice"),
    (lambda: Problem((Option("x", ("all",), 0, 1),), True), "budget=True"),
    (lambda: Problem((Option("x", ("all",), 0, 9),), 9, (1, 2)), "commitments=(1, 2): needs 1"),
    (lambda: Problem((Option("x", ("all",), 5, 9),), 9, (3,)), "commitments[x in all]=3"),
    (lambda: Problem((Option("x", ("all",), 5, 9),), 6, (7,)), "budget=6: is below the commit"),
    (lambda: Design(seed=-1), "seed=-1"),
    (lambda: Design(seed=0, screening=(1,)), "screening=(1,): needs 2 or more"),
    (lambda: Design(seed=0, screening=(1, 1)), "screening=(1, 1)"),
    (lambda: Design(seed=0, confirmation=(3, 40)), "confirmation=[3]: replicates the screening"),
    (lambda: Design(seed=0, levels=2), "levels=2"),
    (lambda: Design(seed=0, resamples=-1), "resamples=-1"),
    (lambda: Design(seed=0, budget_shares=(1.0,)), "budget_shares=(1.0,)"),
    (lambda: Design(seed=0, cost_per_pound=-1.0), "cost_per_pound=-1.0"),
]


@pytest.mark.parametrize(("make", "message"), FIELD_ERRORS, ids=[m for _, m in FIELD_ERRORS])
def test_bad_input_is_refused_in_one_line_naming_the_field(make, message):
    with pytest.raises(ValueError) as err:
        make()
    assert message in str(err.value)
    assert "\n" not in str(err.value)
