"""What is counted, and by whom: the scopes the model's figures are compared in.

Every published figure was counted by someone in some scope (the Crime Survey, the police,
hospitals, the justice system); every model measure belongs to exactly one scope, so that a run is
compared with a survey rate, a police count and a hospital count without mixing them (model/ODD.md
section 7.11).
"""

from __future__ import annotations

from dataclasses import dataclass

from .outcomes import MEASURES


@dataclass(frozen=True)
class Scope:
    name: str
    counter: str  # who counts: survey, police, hospital, justice, model, valuation
    population: str  # whose incidents are in it
    unit: str  # what one count is
    measures: tuple[str, ...]  # the model measures in this scope; () if not simulated
    note: str = ""
    simulated: bool = True


SCOPES = (
    Scope(
        "model_true",
        "model",
        "everyone in the area, all ages, every setting",
        "incidents (people for offenders and victims)",
        (
            "incidents_true",
            "serious_violence_true",
            "violence_with_injury_true",
            "knife_injuries_true",
            "offenders",
            "victims",
            "cost_of_crime",
        ),
        "what happened, counted by no one; anchored only through the scopes below",
    ),
    Scope(
        "survey_face_to_face",
        "survey",
        "adults 16+ in households (the model has no communal establishments)",
        "incidents, at most survey_series_cap per victim a year; victims for prevalence",
        ("survey_incidents", "survey_victims"),
        "CSEW violence (face to face): domestic incidents are seldom disclosed here",
    ),
    Scope(
        "survey_self_completion_domestic",
        "survey",
        "adults 16+ in households, domestic setting",
        "victims a year (prevalence)",
        ("survey_domestic_victims",),
        "CSEW self-completion domestic abuse; the published rates include non-violent abuse, "
        "which the model does not simulate",
    ),
    Scope(
        "police_incidents",
        "police",
        "all ages and settings, incidents the police come to know about",
        "incidents (one per incident, whatever the crimes recorded)",
        (
            "reported",
            "incidents_recorded",
            "violence_with_injury_recorded",
            "knife_injuries_recorded",
            "cost_recorded",
        ),
        "the scope of the shipped calibration targets; reported -> recorded by the audit rates",
    ),
    Scope(
        "police_vap_crimes",
        "police",
        "all ages and settings (under-16 victims, third-party reports included)",
        "crimes under the Home Office Counting Rules (an incident may be several crimes)",
        ("vap_crimes_recorded", "vwi_crimes_recorded"),
        "violence against the person with and without injury and homicide; stalking and "
        "harassment are a separate scope, not simulated",
    ),
    Scope(
        "police_stalking_harassment",
        "police",
        "all ages",
        "crimes",
        (),
        "21% of VAP nationally (YE Mar 2018); not simulated: compare VAP without it",
        simulated=False,
    ),
    Scope(
        "sna_serious_violence",
        "police",
        "all ages; the SNA's local definition (WHO-based; most are assault with injury)",
        "recorded incidents",
        ("serious_violence_recorded",),
        "the SNA's offence list is not published [NV]; the model's serious level stands in",
    ),
    Scope(
        "homicide_index",
        "police",
        "all ages",
        "victims",
        ("homicides", "homicides_expected"),
        "every homicide is recorded",
    ),
    Scope(
        "hospital_admissions",
        "hospital",
        "all ages, admitted patients (HES admission episodes, ICD-10 X85-Y09)",
        "admission episodes, by mechanism: sharp object (X99) and other",
        ("admissions", "admissions_expected", "admissions_other"),
        "one episode per admission (transfers between consultants are not simulated)",
    ),
    Scope(
        "ae_attendances",
        "hospital",
        "all ages, A&E attendances for assault",
        "attendances",
        ("ae_attendances",),
        "knife injuries always attend; other injuries with hospital_attendance_prob",
    ),
    Scope(
        "justice_outcomes",
        "justice",
        "recorded incidents and their offenders",
        "incidents (arrests, suspects, charges, disposals); people (custody)",
        ("arrests", "suspects_identified", "charges", "out_of_court_disposals", "in_custody"),
        "Home Office outcome groups: charged, out-of-court, no suspect identified",
    ),
    Scope(
        "proven_reoffending",
        "justice",
        "offenders with a charge or out-of-court disposal (index: the disposal, or release)",
        "share of the cohort with a proven reoffence within 12 months",
        (),
        "from the incidents table (svsim.model.measurement.proven_reoffending), not weekly",
    ),
    Scope(
        "pupil_knife_carrying",
        "survey",
        "pupils 13-17 (self-report)",
        "share who carried a knife or weapon in the past year",
        (),
        "not simulated: the model has no carrying state (knife_prob is per incident)",
        simulated=False,
    ),
    Scope(
        "priced",
        "valuation",
        "victims aged priced_min_age+, and homicides at any age",
        "GBP 2015/16 (Home Office unit costs)",
        ("cost_stated_basis",),
        "the stated basis for harm (model/ODD.md 7.11)",
    ),
)
SCOPE = {s.name: s for s in SCOPES}
MEASURE_SCOPE = {m: s.name for s in SCOPES for m in s.measures}

_ALL = [m for s in SCOPES for m in s.measures]
if sorted(_ALL) != sorted(MEASURES):  # pragma: no cover
    raise ImportError("every measure must belong to exactly one scope (model/scopes.py)")
