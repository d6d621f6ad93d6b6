"""The school register: rolls (given, or schools x the assumed roll of the phase), pupils
assigned by phase and home area in proportion to rolls, all-through schools for both phases."""

import copy
import re

import numpy as np
import pytest
from conftest import load_area, make_model
from svsim.model import ParameterError, area_from_dict


def town(data, **edits):
    d = copy.deepcopy(data)
    for key, value in edits.items():
        d[key] = value
    return area_from_dict(d)


def test_shipped_areas_carry_the_register():
    for name in ("wiltshire_swindon", "test_town"):
        area = load_area(name)
        assert area.school_register.source
        assert dict(area.school_register.assumed_roll) == {
            "primary": 280,
            "secondary": 1000,
            "all_through": 1400,
        }
    ws = load_area("wiltshire_swindon")
    n = {p: sum(s.schools for s in ws.schools if s.phase == p) for p in ("primary", "secondary")}
    assert n == {"primary": 221, "secondary": 60}
    assert all(s.roll == s.schools * (280 if s.phase == "primary" else 1000) for s in ws.schools)


def test_pupils_go_to_schools_in_proportion_to_their_rolls(test_town_data):
    schools = copy.deepcopy(test_town_data["schools"])
    # a second primary for the first grouping's communities, three times its roll
    schools.append(
        {
            "name": "Big Primary",
            "phase": "primary",
            "schools": 3,
            "communities": list(schools[0]["communities"]),
        }
    )
    area = town(test_town_data, schools=schools)
    m = make_model(area, seed=2)
    p = m.people
    served = np.isin(p.community, [area.community_index(c) for c in schools[0]["communities"]])
    first, big = 0, len(schools) - 1
    n_first = (p.primary_school[served] == first).sum()
    n_big = (p.primary_school[served] == big).sum()
    share = n_big / (n_first + n_big)
    n = n_first + n_big
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / n)  # 4 SE
    assert not np.isin(p.primary_school[~served], [first, big]).any()


def test_all_through_schools_keep_their_pupils(test_town_data):
    schools = copy.deepcopy(test_town_data["schools"])
    schools.append(
        {
            "name": "All-through Academy",
            "phase": "all_through",
            "roll": 5000,
            "communities": ["Meadows"],
        }
    )
    area = town(test_town_data, schools=schools)
    m = make_model(area, seed=4)
    p, at = m.people, len(schools) - 1
    meadows = p.community == area.community_index("Meadows")
    prim = p.primary_school == at
    assert prim.any() and (p.secondary_school[prim] == at).all()
    assert not prim[~meadows].any()
    # a Meadows child of secondary age is at the all-through school or at Meadows High
    kids = meadows & (p.age_years(0) >= 11) & (p.age_years(0) < 18)
    assert (m.current_school()[kids] == at).mean() > 0.5


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"phase": "middle"}, "phase='middle': must be primary, secondary or all_through"),
        ({"roll": -3}, "roll=-3: must be a number"),
        ({"schools": 1.5}, "schools=1.5: must be an integer"),
    ],
)
def test_bad_schools_are_refused_in_one_line(test_town_data, edit, message):
    schools = copy.deepcopy(test_town_data["schools"])
    schools[0].update(edit)
    with pytest.raises(ParameterError, match=re.escape(message)):
        town(test_town_data, schools=schools)


def test_register_needs_a_source(test_town_data):
    with pytest.raises(ParameterError, match=r"school_register\.source"):
        town(test_town_data, school_register={"source": " "})
