"""The measurement layer, scope by scope: each weekly measure equals the count of its flag in the
incidents table (so no scope is mis-wired), and each flag is as frequent as the stated
probabilities say. Statistical checks use a fixed seed and allow 4 binomial SDs (+1): a false
failure has probability ~1e-4 per check."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import make_model
from svsim.model import Params
from svsim.model import outcomes as oc
from svsim.model.measurement import MEASURED, proven_reoffending, reported_given_unrecorded
from svsim.model.scopes import MEASURE_SCOPE, SCOPE, SCOPES

P = Params()
M = P.measurement


def close(observed: float, p: np.ndarray) -> bool:
    """observed is a sum of Bernoulli(p) within 4 SDs (+1)."""
    p = np.asarray(p, dtype=float)
    return abs(observed - p.sum()) <= 4 * np.sqrt((p * (1 - p)).sum()) + 1


@pytest.fixture(scope="module")
def run(test_town):
    params = replace(P, measurement=replace(M, survey_series_cap=1000))
    r = make_model(test_town, params, seed=3, years=3, burn_in_years=1).run()
    return r, r.weekly.groupby("measure", observed=True)["value"].sum(), r.incidents


def codes(frame, col):
    return frame[col].cat.codes.to_numpy()


def test_every_measure_has_one_scope_and_every_scope_says_who_counts():
    assert set(MEASURE_SCOPE) == set(oc.MEASURES)
    assert {s.counter for s in SCOPES} <= {
        "model",
        "survey",
        "police",
        "hospital",
        "justice",
        "valuation",
    }
    assert all(s.measures or not s.simulated or s.name == "proven_reoffending" for s in SCOPES)
    assert set(MEASURED) <= set(oc.MEASURES)


def test_true_and_homicide_scopes(run):
    _, total, inc = run
    assert total["incidents_true"] == len(inc)
    assert total["homicides"] == (inc.severity == "homicide").sum()


def test_survey_face_to_face_captures_adults_at_the_stated_rates(run):
    _, total, inc = run
    assert total["survey_incidents"] == inc.survey.sum()
    eligible = (inc.victim_age >= M.survey_min_age) & (inc.severity != "homicide")
    assert not inc.survey[~eligible].any()
    dom = inc.domestic
    p = np.where(dom, M.survey_domestic_capture, M.survey_capture)[eligible]
    assert close(inc.survey[eligible].sum(), p)
    # prevalence: a victim counts once a year
    years = inc.week // 52
    assert (
        total["survey_victims"] == inc[inc.survey].assign(y=years).groupby(["victim", "y"]).ngroups
    )


def test_survey_series_cap(test_town):
    capped = replace(
        P,
        measurement=replace(
            M, survey_capture=1.0, survey_domestic_capture=1.0, survey_series_cap=1
        ),
    )
    r = make_model(test_town, capped, seed=3, years=2, burn_in_years=1).run()
    inc, t = r.incidents, r.totals().sum()
    adult = inc[(inc.victim_age >= 16) & (inc.severity != "homicide")]
    victim_years = adult.assign(y=adult.week // 52).groupby(["victim", "y"]).ngroups
    assert t["survey_incidents"] == t["survey_victims"] == victim_years < len(adult)


def test_self_completion_domestic_prevalence(run):
    _, total, inc = run
    dom = inc[inc.domestic & (inc.victim_age >= 16) & (inc.severity != "homicide")]
    k = dom.assign(y=dom.week // 52).groupby(["victim", "y"]).size().to_numpy()
    assert close(total["survey_domestic_victims"], 1 - (1 - M.self_completion_capture) ** k)


def test_police_reported_then_recorded_by_the_audit_rates(run):
    _, total, inc = run
    assert total["reported"] == inc.reported.sum()
    assert not (inc.recorded & ~inc.reported).any()
    sev, setting = codes(inc, "severity"), codes(inc, "setting")
    p_rec = oc.recording_probability(
        sev, setting, inc.victim_sex.eq("male").to_numpy(), inc.victim_age.to_numpy(), P.justice
    )
    q = reported_given_unrecorded(p_rec, setting, sev, M)
    assert close(inc.recorded.sum(), p_rec)
    unrec = ~inc.recorded.to_numpy()
    assert close(inc.reported[unrec].sum(), q[unrec])
    assert total["incidents_recorded"] == inc.recorded.sum()
    serious = sev >= int(oc.Severity.SERIOUS)
    assert total["serious_violence_recorded"] == (inc.recorded & serious).sum()


def test_police_vap_crimes_count_more_than_one_crime_per_incident(run):
    _, total, inc = run
    assert total["vap_crimes_recorded"] == inc.crimes.sum()
    assert (inc.crimes[~inc.recorded] == 0).all()
    rec = inc[inc.recorded]
    assert close((rec.crimes == 2).sum(), np.full(len(rec), M.extra_crime_prob))
    injury = rec.severity.isin(["injury", "knife_injury", "admission"])
    assert total["vwi_crimes_recorded"] == rec.crimes[injury].sum()


def test_justice_outcomes(run):
    _, total, inc = run
    arrested = inc.disposal != "none"
    assert total["arrests"] == arrested.sum()
    assert total["charges"] == (inc.disposal == "charged").sum()
    assert total["out_of_court_disposals"] == (inc.disposal == "out_of_court").sum()
    assert total["suspects_identified"] == inc.suspect_identified.sum()
    assert inc.suspect_identified[arrested].all()
    others = (inc.recorded & ~arrested).to_numpy()
    assert close(
        inc.suspect_identified[others].sum(), np.full(others.sum(), M.suspect_identified_prob)
    )
    assert not inc.suspect_identified[~inc.recorded].any()


def test_hospital_attendances_and_admissions(run):
    _, total, inc = run
    assert total["ae_attendances"] == inc.ae_attendance.sum()
    knife = inc.severity.isin(["knife_injury", "admission"])
    assert inc.ae_attendance[knife].all()
    injury = (inc.severity == "injury").to_numpy()
    assert close(
        inc.ae_attendance[injury].sum(), np.full(injury.sum(), P.justice.hospital_attendance_prob)
    )
    other = inc.admitted & (inc.severity != "admission")
    assert total["admissions_other"] == other.sum()
    assert total["admissions"] == (inc.severity == "admission").sum()
    attended = (injury & inc.ae_attendance).to_numpy()
    assert close(other.sum(), np.full(attended.sum(), M.other_admission_prob))
    assert not other[~attended].any()


def test_priced_and_recorded_harm(run):
    _, total, inc = run
    cost = oc.incident_costs(codes(inc, "severity"), P.cost)
    priced = (inc.victim_age >= P.cost.priced_min_age) | (inc.severity == "homicide")
    assert total["cost_stated_basis"] == pytest.approx(cost[priced].sum())
    assert total["cost_recorded"] == pytest.approx(cost[inc.recorded].sum())
    assert total["cost_recorded"] <= total["cost_stated_basis"] <= total["cost_of_crime"]


def test_proven_reoffending_counts_from_the_disposal_or_release():
    def row(offender, week, disposal, custody=0):
        return {"offender": offender, "week": week, "disposal": disposal, "custody_weeks": custody}

    inc = pd.DataFrame(
        [
            row(1, 0, "charged"),
            row(1, 30, "out_of_court"),  # reoffends within a year
            row(2, 0, "charged", 40),
            row(2, 30 + 40, "charged"),  # within a year of release
            row(3, 0, "out_of_court"),
            row(3, 60, "charged"),  # too late
            row(4, 5, "out_of_court"),
            row(4, 20, "none"),  # a further offence, not proven
            row(5, 100, "charged"),  # follow-up not complete: not in the cohort
            row(6, 120, "none"),
        ]
    )
    assert proven_reoffending(inc) == {"cohort": 4, "reoffenders": 2, "rate": 0.5}
    assert SCOPE["proven_reoffending"].counter == "justice"


def test_the_weekly_table_names_each_measure_scope(run):
    r, _, _ = run
    pairs = r.weekly[["measure", "scope"]].drop_duplicates().astype(str)
    assert dict(zip(pairs.measure, pairs.scope, strict=True)) == MEASURE_SCOPE
