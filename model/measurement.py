"""The measurement layer: how the survey, the police, hospitals and the justice system each count
one week's incidents, and the harm on each valuation basis (model/ODD.md section 7.11).

Observation only: nothing here feeds back into the violence, and every draw comes from its own
keyed stream (Process.MEASUREMENT, by offender and week), so adding or changing a scope leaves
every other measure of a run exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .outcomes import IS_DOMESTIC, Severity, incident_costs
from .params import CostParams, MeasurementParams
from .population import WEEKS_PER_YEAR
from .randomness import Process, Streams

INJURY, ADMISSION, HOMICIDE = (
    int(Severity.INJURY),
    int(Severity.ADMISSION),
    int(Severity.HOMICIDE),
)
# the weekly measures this layer adds (after the model's own in outcomes.MEASURES)
MEASURED = (
    "survey_incidents",
    "survey_victims",
    "survey_domestic_victims",
    "reported",
    "vap_crimes_recorded",
    "vwi_crimes_recorded",
    "suspects_identified",
    "charges",
    "out_of_court_disposals",
    "ae_attendances",
    "admissions_other",
    "cost_stated_basis",
    "cost_recorded",
)
# harm basis -> the weekly measure that prices it; "stated" is the one compare should headline
HARM_BASES = {
    "stated": "cost_stated_basis",
    "recorded_only": "cost_recorded",
    "all_true": "cost_of_crime",
}


@dataclass
class Scoped:
    """One week's incidents as each counter sees them (one entry per incident)."""

    survey: np.ndarray  # counted by the face-to-face survey, within the series cap
    survey_first: np.ndarray  # the victim's first survey-counted incident this year
    domestic_first: np.ndarray  # the victim's first self-completion domestic incident this year
    reported: np.ndarray  # the police came to know of it (recorded ones always)
    crimes: np.ndarray  # VAP crimes recorded for it (0 if not recorded)
    suspect: np.ndarray  # recorded, with a suspect identified
    ae: np.ndarray  # the victim attended A&E (not homicide)
    admitted_other: np.ndarray  # admitted for a non-knife injury
    cost_stated: np.ndarray  # GBP 2015/16 on the stated basis


@dataclass
class Counters:
    """Per person, this survey year's counted incidents (reset at each model year)."""

    survey: np.ndarray
    domestic: np.ndarray

    @classmethod
    def empty(cls, n: int) -> Counters:
        return cls(np.zeros(n, np.int16), np.zeros(n, np.int16))

    def fit(self, n: int) -> None:
        """Room for arrivals (they start the year with no incidents)."""
        extra = n - len(self.survey)
        if extra > 0:
            self.survey = np.concatenate([self.survey, np.zeros(extra, np.int16)])
            self.domestic = np.concatenate([self.domestic, np.zeros(extra, np.int16)])


def _count_per_victim(victim: np.ndarray, mask: np.ndarray, counter: np.ndarray, cap: int):
    """Which masked incidents are counted under a cap of `cap` per victim a year, and which is
    the victim's first this year; advances the counter (incidents in index order)."""
    idx = np.flatnonzero(mask)
    order = idx[np.argsort(victim[idx], kind="stable")]
    vs = victim[order]
    before = counter[vs].astype(np.int64) + np.arange(len(vs)) - np.searchsorted(vs, vs, "left")
    counted, first = np.zeros(len(victim), bool), np.zeros(len(victim), bool)
    counted[order], first[order] = before < cap, before == 0
    # only the victims' entries move (the rest are at most cap already); the ones are of the
    # counter's type, which keeps np.add.at on its fast path
    np.add.at(counter, vs, np.ones(len(vs), counter.dtype))
    counter[vs] = np.minimum(counter[vs], cap)
    return counted, first


def reported_given_unrecorded(
    p_recorded: np.ndarray, setting: np.ndarray, severity: np.ndarray, m: MeasurementParams
) -> np.ndarray:
    """P(reported | not recorded), so that P(recorded) = P(reported) x the audit rate: the
    recording probabilities of JusticeParams are the product, the audits split them."""
    domestic = IS_DOMESTIC[setting] & (severity != HOMICIDE)
    audit = np.where(
        severity == HOMICIDE, 1.0, np.where(domestic, m.domestic_recording_audit, m.recording_audit)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        p_rep = np.where(audit > 0, np.minimum(p_recorded / audit, 1.0), 1.0)
        q = np.where(p_recorded < 1, (p_rep - p_recorded) / (1 - p_recorded), 0.0)
    return np.clip(q, 0.0, 1.0)


def observe(
    wk,
    age: np.ndarray,
    counters: Counters,
    m: MeasurementParams,
    cost: CostParams,
    streams: Streams,
    week: int,
) -> Scoped:
    """Each counter's view of this week's incidents (wk: the model's Week, after consequences)."""
    if week % WEEKS_PER_YEAR == 0:
        counters.survey[:] = 0
        counters.domestic[:] = 0
    v, sev, setting = wk.victim, wk.severity, wk.setting
    u_survey, u_self, u_report, u_crime, u_suspect, u_admit = streams.keyed(
        Process.MEASUREMENT, week, wk.key[:, None], np.arange(6)
    ).T
    in_survey = (age[v] >= m.survey_min_age) & (sev != HOMICIDE)
    domestic = IS_DOMESTIC[setting]
    p_capture = np.where(domestic, m.survey_domestic_capture, m.survey_capture)
    survey, survey_first = _count_per_victim(
        v, in_survey & (u_survey < p_capture), counters.survey, int(m.survey_series_cap)
    )
    _, domestic_first = _count_per_victim(
        v, in_survey & domestic & (u_self < m.self_completion_capture), counters.domestic, 1
    )
    q = reported_given_unrecorded(wk.p_recorded, setting, sev, m)
    priced = (age[v] >= cost.priced_min_age) | (sev == HOMICIDE)
    return Scoped(
        survey=survey,
        survey_first=survey_first,
        domestic_first=domestic_first,
        reported=wk.recorded | (u_report < q),
        crimes=(wk.recorded * (1 + (u_crime < m.extra_crime_prob))).astype(np.int8),
        suspect=wk.arrested | (wk.recorded & (u_suspect < m.suspect_identified_prob)),
        ae=wk.attends & (sev != HOMICIDE),
        admitted_other=(sev == INJURY) & wk.attends & (u_admit < m.other_admission_prob),
        cost_stated=incident_costs(sev, cost) * priced,
    )


def proven_reoffending(incidents: pd.DataFrame, follow_up_weeks: int = WEEKS_PER_YEAR) -> dict:
    """Proven reoffending as the justice system counts it: of offenders whose first disposal
    (charge or out-of-court) in the projection leaves a whole follow-up inside it, counted from
    the disposal or, after custody, from release, the share with a further offence that ends in
    a disposal within `follow_up_weeks` (MoJ: 12 months, proven then at once here)."""
    if incidents.empty:
        return {"cohort": 0, "reoffenders": 0, "rate": float("nan")}
    last_week = int(incidents["week"].max())
    d = incidents[incidents["disposal"] != "none"]
    d = d.sort_values(["offender", "week"], kind="stable")
    first = d.groupby("offender", sort=False).head(1)
    start = first["week"].to_numpy() + first["custody_weeks"].to_numpy()
    cohort = first.assign(start=start)[start + follow_up_weeks <= last_week]
    later = d.merge(cohort[["offender", "week", "start"]], on="offender", suffixes=("", "_0"))
    hit = later[
        (later["week"] > later["start"]) & (later["week"] <= later["start"] + follow_up_weeks)
    ]
    n, k = len(cohort), hit["offender"].nunique()
    return {"cohort": n, "reoffenders": k, "rate": k / n if n else float("nan")}
