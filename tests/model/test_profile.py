"""The model-side step profiler: every weekly process is timed when on, and timing changes
nothing the model computes."""

import numpy as np
import pandas as pd
import pytest
from conftest import make_model
from svsim.model import ParameterError, RunSettings

PROCESSES = {
    "active",
    "propensity",
    "offending",
    "victim_choice",
    "partner_abuse",
    "street_lever",
    "severity",
    "consequences",
    "referral",
}
YEARLY = {
    f"year:{k}"
    for k in (
        "demography",
        "partnerships",
        "network",
        "tables",
        "groups",
        "carrying",
        "abuse_onsets",
        "multipliers",
    )
}


class Nudge:
    """A small intervention, so that the hook is timed too."""

    name = "nudge"

    def apply(self, week, observed, levers):
        levers.scale_community_hazard(np.array([0]), 0.9)


def test_profile_records_every_process_and_changes_nothing(test_town):
    on = make_model(test_town, interventions=[Nudge()], profile=True, years=2)
    off = make_model(test_town, interventions=[Nudge()], years=2)
    r_on, r_off = on.run(), off.run()
    assert off.profile is None
    weeks = on.total_weeks
    assert on.profile["weeks"] == weeks
    expected = PROCESSES | YEARLY | {"measurement", "collect", "intervention:nudge"}
    assert set(on.profile) - {"weeks"} == expected
    assert all(on.profile[k] > 0 for k in expected)
    projection = on.settings.years * 52
    calls = {k: on.settings.years + on.settings.burn_in_years for k in YEARLY}
    calls |= {k: projection for k in ("measurement", "collect", "intervention:nudge")}
    assert dict(on.profile_calls) == {k: calls.get(k, weeks) for k in expected}
    pd.testing.assert_frame_equal(r_on.weekly, r_off.weekly, check_exact=True)
    pd.testing.assert_frame_equal(r_on.incidents, r_off.incidents, check_exact=True)


def test_profile_must_be_a_bool():
    with pytest.raises(ParameterError, match="profile=1: must be true or false"):
        RunSettings(profile=1)
