"""A hand-computed cost fixture: mixed severities, each incident costed once at its highest."""

import numpy as np
from svsim.model.outcomes import Severity, incident_costs
from svsim.model.params import CostParams


def test_hand_computed_costs():
    c = CostParams()
    sev = np.array(
        [
            Severity.MINOR,
            Severity.SERIOUS,
            Severity.INJURY,
            Severity.KNIFE_INJURY,
            Severity.ADMISSION,
            Severity.HOMICIDE,
            Severity.INJURY,
        ]
    )
    # by hand, Home Office 2015/16 unit costs: 2 x 5,930 (no injury) + 4 x 14,050 (injury,
    # knife injury, admission, injury) + 1 x 3,217,740 (homicide), nothing counted twice
    expected = 2 * 5_930 + 4 * 14_050 + 3_217_740
    assert incident_costs(sev, c).sum() == expected == 3_285_800
