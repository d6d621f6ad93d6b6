"""Severity levels, the measures the model reports, and what each incident costs.

Severity nests: incident > serious violence > violence with injury > knife or sharp-object injury >
hospital admission; homicide stands on its own. Each incident has one level, its highest, and is
costed once at that level.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from .params import CostParams, JusticeParams


class Severity(IntEnum):
    MINOR = 0  # violence without injury, not serious
    SERIOUS = 1  # serious violence without injury (weapon threat, robbery-like)
    INJURY = 2  # violence with injury, no knife
    KNIFE_INJURY = 3  # knife or sharp-object injury, not admitted
    ADMISSION = 4  # knife or sharp-object injury admitted to hospital
    HOMICIDE = 5


class Setting(IntEnum):
    """Where and between whom an incident happens (model/ODD.md section 7.3)."""

    PARTNER = 0  # domestic: partner abuse
    FAMILY = 1  # domestic: other family member in the household
    PEER = 2  # young people among peer ties
    GROUP = 3  # a street-group member against a rival group's member
    NIGHT_TIME = 4  # adults out in a town-centre night-time economy
    COMMUNITY = 5  # acquaintance or stranger, where people spend the day or at home
    RETALIATION = 6  # against a recent aggressor


# by setting code: is it domestic abuse (partner or family)?
IS_DOMESTIC = np.array([s in (Setting.PARTNER, Setting.FAMILY) for s in Setting])


AGE_BANDS = (0, 10, 15, 18, 25, 35, 50, 65)
AGE_BAND_LABELS = ("0-9", "10-14", "15-17", "18-24", "25-34", "35-49", "50-64", "65+")

# measure name -> description; incident measures count incidents at or above a level.
MEASURES = {
    "incidents_true": "violent incidents (all severities)",
    "incidents_recorded": "violent incidents recorded by the police",
    "serious_violence_true": "serious violence (serious, injury, knife, admission, homicide)",
    "serious_violence_recorded": "serious violence recorded by the police",
    "violence_with_injury_true": "violence with injury (injury, knife, admission; not homicide)",
    "violence_with_injury_recorded": "violence with injury recorded by the police",
    "knife_injuries_true": "knife or sharp-object injuries (incl. admissions; not homicide)",
    "knife_injuries_recorded": "knife or sharp-object injuries recorded by the police",
    "admissions": "hospital admissions for assault by a sharp object",
    "admissions_expected": "expected admissions: sum over incidents of P(admission)",
    "homicides": "homicides",
    "homicides_expected": "expected homicides: sum over incidents of P(death)",
    "offenders": "people who committed an incident this week",
    "victims": "people harmed this week",
    "arrests": "arrests",
    "in_custody": "people in custody (stock at the end of the week)",
    "cost_of_crime": "social cost of true incidents, GBP 2015/16 prices (Home Office)",
    # the measurement layer (model/measurement.py); each measure's scope is in model/scopes.py
    "survey_incidents": "incidents the face-to-face Crime Survey would count (adults 16+, capped)",
    "survey_victims": "adults 16+ with a first survey-counted incident this year (prevalence)",
    "survey_domestic_victims": "adults 16+ with a first self-completion domestic incident a year",
    "reported": "incidents the police come to know about (recorded or not)",
    "vap_crimes_recorded": "violence against the person crimes recorded (no stalking/harassment)",
    "vwi_crimes_recorded": "violence with injury crimes recorded (crimes, not incidents)",
    "suspects_identified": "recorded incidents with a suspect identified",
    "charges": "recorded incidents ending in a charge",
    "out_of_court_disposals": "recorded incidents ending in an out-of-court disposal",
    "ae_attendances": "A&E attendances for an assault injury (not homicide)",
    "admissions_other": "hospital admission episodes for assault by other means (not sharp)",
    "cost_stated_basis": "social cost on the stated basis (model/ODD.md 7.11), GBP 2015/16",
    "cost_recorded": "social cost of police-recorded incidents only, GBP 2015/16",
}
MEASURE_INDEX = {m: i for i, m in enumerate(MEASURES)}

# (measure prefix, lowest level, highest level) for the nested incident counts
NESTED = (
    ("incidents", Severity.MINOR, Severity.HOMICIDE),
    ("serious_violence", Severity.SERIOUS, Severity.HOMICIDE),
    ("violence_with_injury", Severity.INJURY, Severity.ADMISSION),
    ("knife_injuries", Severity.KNIFE_INJURY, Severity.ADMISSION),
)


def unit_costs(c: CostParams) -> np.ndarray:
    """Cost of one incident at each severity level (GBP, 2015/16 prices)."""
    return np.array(
        [
            c.violence_without_injury,
            c.violence_without_injury,
            c.violence_with_injury,
            c.violence_with_injury,
            c.violence_with_injury,
            c.homicide,
        ]
    )


def incident_costs(severity: np.ndarray, c: CostParams) -> np.ndarray:
    """The cost of each incident, at its highest severity only."""
    return unit_costs(c)[severity]


CHILD_AGE = 16  # the Crime Survey's lower age; ONS counts recorded victims under 16 apart


def recording_probability(
    severity: np.ndarray,
    setting: np.ndarray,
    victim_male: np.ndarray,
    victim_age: np.ndarray,
    j: JusticeParams,
) -> np.ndarray:
    """P(recorded by the police) by severity, lower for domestic incidents (not homicide):
    against adults by the partner-abuse disclosure factor, lower again for a man; against a
    child under 16 by the child factor (children's cases come through safeguarding referrals)."""
    by_level = np.array(
        [
            j.record_minor,
            j.record_serious,
            j.record_injury,
            j.record_knife,
            j.record_knife,
            j.record_homicide,
        ]
    )
    p = by_level[severity]
    domestic = IS_DOMESTIC[setting] & (severity != Severity.HOMICIDE)
    adult = j.domestic_record_factor * np.where(victim_male, j.male_victim_domestic_factor, 1.0)
    factor = np.where(victim_age < CHILD_AGE, j.child_domestic_record_factor, adult)
    return np.where(domestic, p * factor, p)


def age_band(age_years: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(AGE_BANDS), age_years, side="right") - 1
