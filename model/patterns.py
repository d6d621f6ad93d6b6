"""The patterns of violence each setting process is built to produce, computed from one run in
the scope of the published figure they are compared with (model/ODD.md section 7.13).

Each row: the model's value, the published figure and the range that meets it (a survey row
within 2 standard errors), and the parameters that move it. Rows without a published figure are
reported with an empty range. `svsim patterns` (experiments/patterns.py) prints the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .model import Results, ViolenceModel
from .randomness import Process

SURVEY_BANDS = ((16, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 200))
# CSEW violence prevalence (%, SE) by band, all adults and by sex, YE Dec 2018 (EVIDENCE.md 7.1,
# S5; ../shared/data/csew_violence_prevalence_ye_dec2018.csv); 65+ pooled from 65-74 and 75+ by
# unweighted n


def _pool(a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float]:
    n = a[2] + b[2]
    return (a[0] * a[2] + b[0] * b[2]) / n, math.hypot(a[1] * a[2], b[1] * b[2]) / n


CSEW_BANDS = {
    "all": (
        (3.986, 0.482),
        (2.194, 0.244),
        (1.762, 0.187),
        (1.820, 0.203),
        (1.303, 0.162),
        _pool((0.434, 0.102, 5511), (0.232, 0.086, 4543)),
    ),
    "male": (
        (5.187, 0.779),
        (3.063, 0.432),
        (2.250, 0.316),
        (2.051, 0.299),
        (1.763, 0.289),
        _pool((0.533, 0.164, 2642), (0.168, 0.094, 2047)),
    ),
    "female": (
        (2.725, 0.530),
        (1.318, 0.212),
        (1.283, 0.205),
        (1.597, 0.280),
        (0.858, 0.155),
        _pool((0.341, 0.127, 2869), (0.282, 0.135, 2496)),
    ),
}
CSEW_SEX = {"male": (2.287, 0.156), "female": (1.230, 0.102)}
NTE_CENTRE = 0.5  # a community whose night-time economy is at least this is a town centre
# Cambridge Study in Delinquent Development (411 South London males to age 56; EVIDENCE.md 4.2):
# 42% convicted, and 7% of the males (about 29 of 411) held half of all convictions
CSDD_EVER_CONVICTED, CSDD_MEN = 0.42, 411
CSDD_HALF_SHARE = 0.07


@dataclass(frozen=True)
class Row:
    setting: str
    name: str
    scope: str
    value: float
    published: str
    low: float
    high: float
    moved_by: str

    @property
    def met(self) -> bool | None:
        if math.isnan(self.low):
            return None
        return bool(self.low <= self.value <= self.high)


def _share(a: float, b: float) -> float:
    return float(a) / float(b) if b else math.nan


def _ratio_se(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """a/b and its delta-method standard error."""
    r = a[0] / b[0]
    return r, r * math.hypot(a[1] / a[0], b[1] / b[0])


def _band(age: np.ndarray) -> np.ndarray:
    out = np.full(len(age), -1)
    for i, (lo, hi) in enumerate(SURVEY_BANDS):
        out[(age >= lo) & (age <= hi)] = i
    return out


def _binomial_band(p: float, n: int) -> tuple[float, float]:
    se = math.sqrt(p * (1 - p) / n)
    return p - 2 * se, p + 2 * se


def lifetime_conviction_concentration(model: ViolenceModel, who: np.ndarray) -> float:
    """How concentrated persistent offending risk is, in the CSDD's terms: each man's lifetime
    convictions Poisson with mean proportional to exp(his static log hazard), scaled so that
    the CSDD's 42% are ever convicted; the share of men holding half of all convictions. It
    checks the spread of persistent risk only: the age curve, contagion and groups are not in
    it (a lifetime cannot be simulated here)."""
    from scipy.optimize import brentq

    w = np.exp(model.static_log_hazard()[who].astype(np.float64))
    w /= w.mean()
    k = brentq(lambda k: -np.expm1(-k * w).mean() - CSDD_EVER_CONVICTED, 1e-9, 1e9)
    convictions = model.streams.generator(Process.PATTERNS).poisson(k * w)
    top = np.sort(convictions)[::-1].cumsum()
    return float((np.searchsorted(top, top[-1] / 2) + 1) / len(top))


def patterns(model: ViolenceModel, results: Results) -> list[Row]:
    """Every pattern row for one finished run (its projection years)."""
    inc, years, wt = results.incidents, model.settings.years, model.weight
    rec = inc[inc.recorded]
    survey = inc[inc.survey]
    rows: list[Row] = []
    nan = math.nan

    def add(setting, name, scope, value, published, low, high, moved_by):
        rows.append(Row(setting, name, scope, float(value), published, low, high, moved_by))

    # ---- domestic abuse
    dom = rec[rec.domestic]
    add(
        "domestic",
        "domestic share of recorded violence against the person (crimes)",
        "police_vap_crimes",
        _share(dom.crimes.sum(), rec.crimes.sum()),
        "33% (Apr-Sep 2015), 32% (YE Mar 2017); EVIDENCE 7.2 S21, S23",
        0.27,
        0.38,
        "partner.incidents_per_week, partner.onset_per_year, justice.domestic_record_factor",
    )
    add(
        "domestic",
        "female share of recorded domestic-abuse victims",
        "police_recorded",
        _share((dom.victim_sex == "female").sum(), len(dom)),
        "74-75% (YE Mar 2019-2022); EVIDENCE 7.2 S19",
        0.70,
        0.79,
        "partner.female_rr, family.female_rr",
    )
    # repeat victimisation within the pair: DA victims (true) with more than one incident a year
    da = inc[inc.domestic].groupby([inc.victim, inc.week // 52]).size()
    add(
        "domestic",
        "domestic-abuse victims with more than one incident within a year",
        "true",
        _share((da > 1).sum(), len(da)),
        "more than 30% (review 2019, international); EVIDENCE 7.2 S26",
        0.30,
        1.0,
        "partner.incidents_per_week, partner.escalation, partner.mean_weeks",
    )
    age = model.people.age_years(model.week)
    alive = model.alive()
    adult = alive & (age >= model.params.measurement.survey_min_age)
    male = model.people.male
    # self-completion domestic abuse (partner and family) by sex: any DA, YE Mar 2023 (S17)
    wk = results.weekly
    dv = wk[wk.measure == "survey_domestic_victims"].groupby("sex", observed=True)["value"].sum()
    for sex, pub, is_male in (("women", 5.7, False), ("men", 3.2, True)):
        n = (adult & (male == is_male)).sum() * wt
        add(
            "domestic",
            f"survey domestic-abuse prevalence, {sex} 16+",
            "survey_self_completion_domestic",
            _share(dv.get("male" if is_male else "female", 0.0) / years, n),
            f"{pub}% any domestic abuse (YE Mar 2023; partner abuse alone "
            f"{'2.1' if is_male else '4.0'}%); EVIDENCE 7.2 S17, S18; +-25% (no SE published)",
            pub / 100 * 0.75,
            pub / 100 * 1.25,
            "partner.onset_per_year, partner.mean_weeks, partner.female_rr, "
            "measurement.self_completion_capture",
        )
    # ---- survey victimisation by age and sex (face-to-face, all violence)
    vy = survey.assign(year=survey.week // 52).drop_duplicates(["victim", "year"])
    for who, bands in CSEW_BANDS.items():
        is_who = np.ones(len(vy), bool) if who == "all" else (vy.victim_sex == who).to_numpy()
        pop = adult if who == "all" else adult & (male == (who == "male"))
        band_v = np.bincount(_band(vy.victim_age.to_numpy()[is_who]) + 1, minlength=8)[1:7]
        band_n = np.bincount(_band(age[pop]) + 1, minlength=8)[1:7] * years
        prev = band_v / np.maximum(band_n, 1)
        suffix = "" if who == "all" else f", {'men' if who == 'male' else 'women'}"
        for i, (lo, hi) in enumerate(SURVEY_BANDS[1:], start=1):
            r, se = _ratio_se(bands[i], bands[0])
            label = f"{lo}+" if hi > 150 else f"{lo}-{hi}"
            add(
                "all",
                f"survey prevalence {label} relative to 16-24{suffix}",
                "survey_face_to_face",
                _share(prev[i], prev[0]),
                f"{r:.2f} (+-{se:.2f} SE); CSEW YE Dec 2018, EVIDENCE 7.1 S5",
                r - 2 * se,
                r + 2 * se,
                "night_time.rate_ratio, youth.rate_ratio, community.fall_shape, partner.fall_shape",
            )
    for sex, (pct, se) in CSEW_SEX.items():
        n = (adult & (male == (sex == "male"))).sum() * years
        add(
            "all",
            f"survey prevalence, {sex} 16+",
            "survey_face_to_face",
            _share((vy.victim_sex == sex).sum(), n),
            f"{pct}% (+-{se} SE); CSEW YE Dec 2018, EVIDENCE 7.1 S5",
            (pct - 2 * se) / 100,
            (pct + 2 * se) / 100,
            "offending.base_hazard, night_time.victim_female_rr, partner.female_rr",
        )
    # ---- repeats
    per_victim_year = survey.groupby([survey.victim, survey.week // 52]).size()
    add(
        "all",
        "share of survey-counted incidents experienced by repeat victims",
        "survey_face_to_face",
        _share(per_victim_year[per_victim_year > 1].sum(), per_victim_year.sum()),
        "57% (YE Mar 2018); EVIDENCE 7.1 S2",
        0.50,
        0.64,
        "victim.frailty_shape, victim.repeat_log_rr, partner.incidents_per_week",
    )
    men = alive & male
    add(
        "all",
        "share of men holding half of lifetime convictions (persistent risk)",
        "justice_outcomes",
        lifetime_conviction_concentration(model, men),
        f"{CSDD_HALF_SHARE:.0%} of males held half the convictions, {CSDD_EVER_CONVICTED:.0%} "
        f"convicted (CSDD, {CSDD_MEN} men to 56; EVIDENCE 4.2); +-2 binomial SE",
        *_binomial_band(CSDD_HALF_SHARE, CSDD_MEN),
        "offending.individual_risk_log_rr, offending.family_risk_log_rr, "
        "population.family_individual_corr",
    )
    # ---- severity: who is admitted and killed (expected, so rare events are not noise)
    for name, col, pub, lo, hi in (
        ("male share of sharp-object admissions", "p_admission", "~92% (2019/20); S41", 0.88, 0.95),
        ("male share of homicide victims", "p_death", "73%; EVIDENCE 5.2", 0.65, 0.80),
    ):
        w = inc[col].to_numpy()
        add(
            "all",
            name + " (expected)",
            "hospital_admissions" if col == "p_admission" else "homicide_index",
            _share(w[(inc.victim_sex == "male").to_numpy()].sum(), w.sum()),
            pub,
            lo,
            hi,
            "severity.carrier_knife_prob, carrying.*, victim.youth_female_rr, "
            "severity.domestic_knife_prob",
        )
    add(
        "youth",
        "under-16 share of recorded violence victims",
        "police_recorded",
        _share((rec.victim_age < 16).sum(), len(rec)),
        "13% (YE Mar 2018, 34 forces); EVIDENCE 7.3 S27",
        0.10,
        0.16,
        "youth.rate_ratio, youth.peak_age, family.rate_ratio",
    )
    # ---- knives
    pupils = alive & (age >= 11) & (age <= 16)
    add(
        "youth",
        "knife carrying among pupils aged 11-16 (end of run)",
        "pupils_survey",
        _share((model.state.carrying & pupils).sum(), pupils.sum()),
        "3% carry (Wiltshire pupils, DOMAIN.md; OCJS 2006 3%, S50)",
        0.02,
        0.04,
        "carrying.start_log_odds, carrying.peer_log_or, carrying.stop_per_year",
    )
    young = alive & (age >= 10) & (age <= 17)
    add(
        "youth",
        "street-group members among 10-17s (end of run)",
        "services_known",
        _share(((model.state.group >= 0) & young).sum(), young.sum()),
        "~0.5%: 27,000 children identify as gang members, England 2019; EVIDENCE 7.7 S53",
        0.003,
        0.008,
        "groups.join_log_odds, groups.peer_log_or, groups.drug_log_or",
    )
    add(
        "all",
        "knife used in survey-counted incidents",
        "survey_face_to_face",
        _share((survey.weapon == "knife").sum(), len(survey)),
        "5% (2009/10); EVIDENCE 7.1 S7",
        0.03,
        0.07,
        "severity.carrier_knife_prob, severity.knife_prob, carrying.*",
    )
    add(
        "all",
        "offenders aged 65+, share of recorded incidents",
        "police_recorded",
        _share((rec.offender_age >= 65).sum(), len(rec)),
        "assumed at most 2%: MoJ proven-offender age bands not verified (EVIDENCE 7.3 NV)",
        0.0,
        0.02,
        "*.fall_shape of each setting",
    )
    # ---- night-time economy: where victims come from
    d = model.area.distances_km()
    names = [c.name for c in model.area.communities]
    code = {n: i for i, n in enumerate(names)}
    night = inc[inc.setting == "night_time"]
    km = d[
        night.victim_home.map(code).to_numpy(int),
        night.community.map(code).to_numpy(int),
    ]
    add(
        "night_time",
        "median km from a night-time victim's home to the venue",
        "true",
        float(np.median(km)) if len(km) else nan,
        "no published figure; a local catchment (nearest centres), not the whole CSP",
        nan,
        nan,
        "night_time.catchment_km, night_time.centres",
    )
    nte = np.array([c.night_time_economy for c in model.area.communities])
    centre = inc[inc.community.map(code).map(lambda i: nte[i] >= NTE_CENTRE).astype(bool)]
    add(
        "night_time",
        "share of town-centre incidents whose victim lives elsewhere",
        "true",
        _share((centre.victim_home != centre.community).sum(), len(centre)),
        "no published figure (town centres draw visitors)",
        nan,
        nan,
        "night_time.rate_ratio, community.day_share, community.commute_share",
    )
    # ---- reported without a target
    for who in ("victim", "offender"):
        add(
            "all",
            f"median {who} age, recorded incidents",
            "police_recorded",
            float(rec[f"{who}_age"].median()) if len(rec) else nan,
            "no target",
            nan,
            nan,
            "each setting's curves",
        )
    per = rec.groupby("victim").size()
    add(
        "all",
        f"victims with more than one recorded incident over {years} years",
        "police_recorded",
        _share((per > 1).sum(), len(per)),
        "no target",
        nan,
        nan,
        "victim.frailty_shape, partner.*",
    )
    add(
        "all",
        "recorded incidents per victim",
        "police_recorded",
        _share(per.sum(), len(per)),
        "no target",
        nan,
        nan,
        "victim.frailty_shape, partner.*",
    )
    by_setting = inc.groupby("setting", observed=False).size() * wt / years
    params = {
        "peer": "youth.*",
        "group": "youth.*, groups.*",
        "retaliation": "victim.retaliation_*",
    }
    for s, n in by_setting.items():
        add(
            s,
            f"true incidents a year, {s}",
            "true",
            n,
            "no target",
            nan,
            nan,
            params.get(s, f"{s}.*"),
        )
    return rows


def table(rows: list[Row]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "setting": r.setting,
                "pattern": r.name,
                "scope": r.scope,
                "model": r.value,
                "published": r.published,
                "low": r.low,
                "high": r.high,
                "met": r.met,
                "moved_by": r.moved_by,
            }
            for r in rows
        ]
    )
