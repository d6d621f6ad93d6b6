"""Community locations: validated at the edge, and the distances between them (model/area.py)."""

import copy

import numpy as np
import pytest
from conftest import load_area
from svsim.model import ParameterError, area_from_dict


@pytest.mark.parametrize(
    "location",
    [[51.5, -1.8, 0.0], "51.5, -1.8", [40.7, -74.0]],
    ids=["wrong length", "a string", "outside Great Britain"],
)
def test_a_bad_location_is_refused_in_one_line_naming_the_field(test_town_data, location):
    data = copy.deepcopy(test_town_data)  # the fixture is shared by the session
    data["communities"][3]["location"] = location
    with pytest.raises(ParameterError) as err:
        area_from_dict(data)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"area.communities[3].location={location!r}: must be [latitude")


def test_a_missing_location_is_refused(test_town_data):
    data = copy.deepcopy(test_town_data)
    del data["communities"][0]["location"]
    with pytest.raises(ParameterError, match=r"^area\.communities\[0\]\.location: missing$"):
        area_from_dict(data)


def test_distances_are_symmetric_zero_on_the_diagonal_and_read_only():
    d = load_area("test_town").distances_km()
    assert d.shape == (5, 5)
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diag(d), 0.0)
    assert (d[~np.eye(5, dtype=bool)] > 0).all()
    with pytest.raises(ValueError):
        d[0, 1] = 0.0


def test_one_degree_of_latitude_is_111_km(test_town_data):
    # 2 * pi * 6371 km / 360 = 111.19 km along a meridian, at any longitude
    data = copy.deepcopy(test_town_data)
    data["communities"][0]["location"] = [51.0, -1.8]
    data["communities"][1]["location"] = [52.0, -1.8]
    d = area_from_dict(data).distances_km()
    assert d[0, 1] == pytest.approx(111.19, rel=0.01)


def test_the_shipped_wiltshire_places_are_where_they_should_be():
    area = load_area("wiltshire_swindon")
    d = area.distances_km()
    central = area.community_index("Central")
    swindon = [i for i, c in enumerate(area.communities) if c.csp == "Swindon"]
    assert len(swindon) == 12
    assert d[central, swindon].max() < 12, "every Swindon community within 12 km of Central"
    for name in ("Salisbury St Edmund's and City Centre", "Rest of Salisbury"):
        assert d[central, area.community_index(name)] > 40
