"""Typed model parameters: every default carries its unit, its source and its valid range.

The dataclasses here are the single home of the defaults; model/ODD.md's parameter table is
generated from them (`svsim.model.odd.parameter_table`) and a test keeps the two in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any


class ParameterError(ValueError):
    """A parameter value that is out of range or of the wrong type (one-line message)."""


def param(default: float, unit: str, source: str, lo: float = -math.inf, hi: float = math.inf):
    """A dataclass field with a default, a unit, a source and a closed valid range [lo, hi]."""
    return field(default=default, metadata={"unit": unit, "source": source, "lo": lo, "hi": hi})


def check_fields(obj: Any, prefix: str) -> None:
    """Refuse non-numeric or out-of-range values, naming the field and the value."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if "lo" not in f.metadata:
            continue
        name = f"{prefix}.{f.name}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{name}={value!r}: must be a number")
        if not math.isfinite(value) or not f.metadata["lo"] <= value <= f.metadata["hi"]:
            raise ParameterError(
                f"{name}={value!r}: must be in [{f.metadata['lo']}, {f.metadata['hi']}]"
            )


EVIDENCE = "shared/EVIDENCE.md"
PROB = {"lo": 0.0, "hi": 1.0}


@dataclass(frozen=True)
class OffendingParams:
    """Weekly offending hazard: log-linear in factors of the four ecological levels."""

    base_hazard: float = param(
        0.000040,
        "offences per person-week",
        "assumed, hand-set so recorded violence with injury "
        "per CSP is near the SNA counts (DOMAIN.md); refitted by calibration",
        0.0,
        1.0,
    )
    male_log_rr: float = param(
        1.50,
        "log rate ratio",
        "ln 4.5: male RR 4.55 (Long et al. 2016 BMJ Open), 5.59 (Bellis "
        "et al. 2008), " + EVIDENCE + " 4.3",
        0.0,
        5.0,
    )
    age_peak: float = param(
        17.0,
        "years",
        "offending peaks ~15-19 (YEF Key Facts; Encyclopedia of Criminology), " + EVIDENCE + " 4.3",
        10.0,
        40.0,
    )
    age_peak_log_rr: float = param(
        2.30,
        "log rate ratio",
        "ln 10: antisocial prevalence rises ~10-fold in adolescence "
        "(Moffitt 1993), " + EVIDENCE + " 4.3",
        0.0,
        6.0,
    )
    age_rise_sd: float = param(
        3.0,
        "years",
        "assumed, because the age-crime curve rises steeply from late childhood "
        "(asymmetric bell, " + EVIDENCE + " 4.3)",
        0.5,
        20.0,
    )
    age_fall_sd: float = param(
        9.0,
        "years",
        "assumed, because offending declines from the early 20s with a long tail "
        "(" + EVIDENCE + " 4.3)",
        0.5,
        40.0,
    )
    min_age: float = param(
        10.0, "years", "age of criminal responsibility in England and Wales", 0.0, 18.0
    )
    individual_risk_log_rr: float = param(
        0.60,
        "log RR per SD",
        "assumed, because a lognormal propensity with SD ~0.7 on the log "
        "scale with the other factors makes ~5% of people commit ~half the offences "
        "(CSDD: 7% of males, half of convictions; " + EVIDENCE + " 4.2)",
        0.0,
        3.0,
    )
    individual_protective_log_rr: float = param(
        0.25,
        "log RR per SD",
        "assumed, because protective factors are weaker than risk factors "
        "in the strategy's ecological model (DOMAIN.md)",
        0.0,
        3.0,
    )
    family_risk_log_rr: float = param(
        0.35,
        "log RR per SD",
        "assumed, because family risk (low income, family violence, "
        "parenting) is a strong relationship-level factor (DOMAIN.md)",
        0.0,
        3.0,
    )
    family_protective_log_rr: float = param(
        0.20, "log RR per SD", "assumed, as for individual protection", 0.0, 3.0
    )
    deprivation_log_rr: float = param(
        0.20,
        "log RR, least to most deprived community",
        "assumed, because most of the "
        "deprivation gradient (RR 3.6, Long et al. 2016, " + EVIDENCE + " 4.3) runs through "
        "family risk, cohesion and drug markets here; hand-set so Swindon's rate is ~1.3x "
        "Wiltshire's as in the SNA (DOMAIN.md)",
        0.0,
        3.0,
    )
    urban_log_rr: float = param(
        0.31,
        "log RR",
        "ln 1.37: cities vs villages (Long et al. 2016), " + EVIDENCE + " 4.3",
        0.0,
        2.0,
    )
    drug_market_log_rr: float = param(
        0.15,
        "log RR, none to full drug market",
        "assumed, because local drug lines drive knife crime in Swindon (DOMAIN.md)",
        0.0,
        3.0,
    )
    night_time_economy_log_rr: float = param(
        0.10,
        "log RR, none to full NTE",
        "assumed, because nightlife concentrates violence (Safety at Night charter, DOMAIN.md)",
        0.0,
        3.0,
    )
    cohesion_log_rr: float = param(
        0.20,
        "log RR, none to full cohesion (protective)",
        "assumed, because cohesion and belonging are protective (DOMAIN.md)",
        0.0,
        3.0,
    )
    society_log_rr: float = param(
        0.0,
        "log RR",
        "assumed 0: society-level norms and inequality are area-wide constants "
        "absorbed by base_hazard",
        -3.0,
        3.0,
    )
    exposure_log_rr: float = param(
        0.45,
        "log RR at saturation (1 - exp(-exposure))",
        "exposure ~doubles perpetration over 2 years "
        "(Bingenheimer et al. 2005); set below ln 2 because contagion here is per event, "
        + EVIDENCE
        + " 4.1",
        0.0,
        3.0,
    )
    exposure_mean_weeks: float = param(
        18.0,
        "weeks",
        "mean 125 days infector to infectee (Green et al. 2017), " + EVIDENCE + " 4.1",
        1.0,
        520.0,
    )
    household_exposure_weight: float = param(
        1.0,
        "exposure units per household event",
        "assumed, because witnessing violence at "
        "home is at least as harmful as among peers (DOMAIN.md: family violence)",
        0.0,
        5.0,
    )
    trauma_log_rr: float = param(
        0.40,
        "log RR at saturation (1 - exp(-trauma))",
        "assumed, because victimisation raises perpetration "
        "(victim-offender overlap; DOMAIN.md individual risk: history of abuse)",
        0.0,
        3.0,
    )
    trauma_mean_weeks: float = param(
        52.0, "weeks", "assumed, because trauma effects last months to years", 1.0, 1040.0
    )

    def __post_init__(self) -> None:
        check_fields(self, "offending")


@dataclass(frozen=True)
class PopulationParams:
    """Correlations of risk and protective factors, services contact, and demography."""

    deprivation_family_corr: float = param(
        0.35,
        "correlation",
        "assumed, because low family income clusters in deprived areas "
        "(DOMAIN.md relationship level)",
        0.0,
        0.95,
    )
    family_individual_corr: float = param(
        0.40,
        "correlation",
        "assumed, because family risk shapes individual risk (DOMAIN.md)",
        0.0,
        0.95,
    )
    risk_protective_corr: float = param(
        0.40,
        "correlation (negative)",
        "assumed, because risk and protective factors are inversely related but distinct",
        0.0,
        0.95,
    )
    single_adult_share: float = param(
        0.38,
        "fraction of households",
        "about 30% of E&W households are one person (Census 2021) plus lone parents; assumed",
        **PROB,
    )
    family_household_share: float = param(
        0.55,
        "fraction of multi-adult households with children",
        "assumed, because about a quarter of E&W households have dependent children (Census 2021)",
        **PROB,
    )
    referral_rate_young: float = param(
        0.04,
        "fraction of 10-17s known to services",
        "assumed, because children's services "
        "and schools know a few percent of children (children in need ~3%)",
        **PROB,
    )
    referral_risk_log_or: float = param(
        1.0,
        "log OR per SD of individual risk",
        "assumed, because referrals concentrate on children at risk",
        0.0,
        5.0,
    )
    mortality_log_base: float = param(
        -10.4,
        "log annual death probability at age 0",
        "Gompertz fit to E&W life tables (~1%/yr at 70, ~5% at 85); assumed",
        -20.0,
        0.0,
    )
    mortality_log_slope: float = param(
        0.092, "per year of age", "Gompertz slope, ~8-9%/yr (E&W life tables); assumed", 0.0, 0.3
    )
    birth_share_of_arrivals: float = param(
        0.65,
        "fraction",
        "assumed, because births exceed net migration in Wiltshire's "
        "growth (ONS mid-year components)",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "population")


@dataclass(frozen=True)
class NetworkParams:
    """Peer network: homophilous by age, community and school."""

    mean_degree: float = param(
        8.0,
        "peer ties per person aged 10+",
        "assumed, because adolescent friendship nominations average ~5-10 (Add Health)",
        0.0,
        200.0,
    )
    community_homophily: float = param(
        0.80,
        "fraction of ties within one's community",
        "assumed, because most youth ties are local",
        **PROB,
    )
    school_homophily: float = param(
        0.70,
        "fraction of a pupil's ties within their school",
        "assumed, because most adolescent friends are schoolmates (Add Health)",
        **PROB,
    )
    age_sd: float = param(2.0, "years", "assumed, because peers are close in age", 0.1, 30.0)
    min_age: float = param(
        10.0, "years", "assumed: peer ties from age 10, when offending can start", 0.0, 18.0
    )

    def __post_init__(self) -> None:
        check_fields(self, "network")


@dataclass(frozen=True)
class VictimParams:
    """Who is harmed: settings and victim vulnerability."""

    domestic_share: float = param(
        0.33,
        "fraction of incidents",
        "about a third of violence with injury is domestic "
        "abuse related (ONS domestic abuse statistics); assumed",
        **PROB,
    )
    peer_share: float = param(
        0.25,
        "fraction of incidents",
        "assumed, because much youth violence is among "
        "acquaintances (CSEW: ~half of violence by acquaintances)",
        **PROB,
    )
    night_time_share: float = param(
        0.15,
        "fraction of incidents by adults",
        "assumed, because weekend night peaks (Bellis et al. 2008)",
        **PROB,
    )
    retaliation_prob: float = param(
        0.10,
        "probability",
        "assumed, because retaliation drives group violence (focused "
        "deterrence literature, Braga et al. 2018)",
        **PROB,
    )
    retaliation_weeks: float = param(
        8.0,
        "weeks",
        "assumed: the heightened-risk window is months (Green et al. 2017)",
        0.0,
        104.0,
    )
    victim_age_log_rr: float = param(
        1.90,
        "log RR at the peak victim age",
        "ln 6.75: emergency admissions at 18-19 vs 10-14 (Long et al. 2016)",
        0.0,
        6.0,
    )
    victim_age_peak: float = param(
        20.0, "years", "victimisation peaks 15-29 (Bellis et al. 2008)", 10.0, 60.0
    )
    victim_age_sd: float = param(
        10.0, "years", "assumed, to give a peak 15-29 with a long adult tail", 1.0, 40.0
    )
    overlap_log_rr: float = param(
        1.10,
        "log RR, lowest to highest risk percentile",
        "assumed, because victims and offenders overlap (DOMAIN.md; CSEW)",
        0.0,
        5.0,
    )
    repeat_log_rr: float = param(
        1.40,
        "log RR for a recent victim",
        "assumed: 4% of victims suffer ~40% of crime (BCS 2000, " + EVIDENCE + " 4.2)",
        0.0,
        5.0,
    )
    max_candidates: float = param(
        64,
        "candidates per incident",
        "assumed: rejection sampling tries this many "
        "candidates before the incident is dropped (<0.1% at defaults)",
        1,
        1024,
    )

    def __post_init__(self) -> None:
        check_fields(self, "victim")
        if self.domestic_share + self.peer_share > 1:
            raise ParameterError(
                f"victim.domestic_share+peer_share={self.domestic_share + self.peer_share}: "
                "must be at most 1"
            )


@dataclass(frozen=True)
class SeverityParams:
    """How serious an incident is: weapon, injury, knife injury, admission, death."""

    knife_prob: float = param(
        0.012,
        "probability a weapon (knife or sharp object) is used",
        "assumed from local "
        "counts: ~300 knife offences a year among ~16,000 violence offences (DOMAIN.md, "
        + EVIDENCE
        + " 5.1), rising for the young and drug markets",
        **PROB,
    )
    knife_young_log_or: float = param(
        0.7,
        "log OR for offenders aged 14-25",
        "assumed, because local lines (14-25) drive knife crime (DOMAIN.md)",
        0.0,
        5.0,
    )
    knife_drug_log_or: float = param(
        0.7, "log OR, none to full drug market", "assumed, as above", 0.0, 5.0
    )
    injury_prob: float = param(
        0.42,
        "probability of injury without a weapon",
        "CSEW: wounding 24% + minor injury 21% of incidents (" + EVIDENCE + " 5.2)",
        **PROB,
    )
    knife_injury_prob: float = param(
        0.55,
        "probability of injury with a knife",
        "assumed, because a used knife injures more often than bodily force",
        **PROB,
    )
    serious_no_injury_prob: float = param(
        0.55,
        "probability an uninjured incident is serious violence",
        "assumed from local "
        "counts: 12,900 serious violence a year vs 5,961 violence with injury (DOMAIN.md)",
        **PROB,
    )
    admission_prob: float = param(
        0.12,
        "probability a knife injury is admitted",
        "assumed, to give ~1 admission per "
        "6 knife offences, within the <=60/yr band (" + EVIDENCE + " 5.1)",
        **PROB,
    )
    knife_death_prob: float = param(
        0.005,
        "probability a knife injury is fatal",
        "assumed from local counts: ~1.2 knife "
        "homicides a year (3 homicides, ~40% by knife; " + EVIDENCE + " 5.2)",
        **PROB,
    )
    other_death_prob: float = param(
        0.00015,
        "probability a non-knife injury is fatal",
        "assumed from local counts: ~1.8 "
        "non-knife homicides a year among ~9,000 injuries (DOMAIN.md)",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "severity")


@dataclass(frozen=True)
class JusticeParams:
    """Recording, detection and justice outcomes."""

    record_minor: float = param(
        0.35,
        "P(recorded | violence without injury)",
        "CSEW: 52% of violence reported to police (YE Mar 2016), less when minor; assumed",
        **PROB,
    )
    record_serious: float = param(
        0.50, "P(recorded | serious, no injury)", "CSEW 52% reported (" + EVIDENCE + " 5.2)", **PROB
    )
    record_injury: float = param(
        0.62,
        "P(recorded | violence with injury)",
        "assumed, because injuries are reported more often than the CSEW average of 52%",
        **PROB,
    )
    record_knife: float = param(
        0.80,
        "P(recorded | knife injury)",
        "assumed, because hospitals share knife-injury data with police",
        **PROB,
    )
    record_homicide: float = param(
        1.0, "P(recorded | homicide)", "homicides are all recorded", **PROB
    )
    domestic_record_factor: float = param(
        0.75,
        "multiplier on recording for domestic incidents",
        "assumed, because domestic abuse is under-reported",
        **PROB,
    )
    arrest_prob: float = param(
        0.20,
        "P(arrest | recorded, non-fatal)",
        "assumed, because ~7-10% of violence offences "
        "end in a charge in E&W (Home Office outcomes) and more in an arrest",
        **PROB,
    )
    homicide_arrest_prob: float = param(
        0.90, "P(arrest | homicide)", "assumed, because most homicides are solved", **PROB
    )
    out_of_court_prob: float = param(
        0.40, "P(out-of-court disposal | arrest, non-knife, non-fatal)", "assumed", **PROB
    )
    custody_prob: float = param(0.25, "P(custody | charged, non-fatal)", "assumed", **PROB)
    knife_custody_prob: float = param(
        0.55,
        "P(custody | charged, knife)",
        "assumed, because knife offences carry presumptive custody for repeat possession",
        **PROB,
    )
    custody_mean_weeks: float = param(
        26.0, "weeks served", "assumed: half of a one-year sentence", 1.0, 1040.0
    )
    knife_custody_mean_weeks: float = param(
        52.0, "weeks served", "assumed: half of a two-year sentence", 1.0, 1040.0
    )
    homicide_custody_weeks: float = param(
        780.0, "weeks served", "assumed: 15 years, a typical minimum term for murder", 1.0, 2600.0
    )
    hospital_attendance_prob: float = param(
        0.45,
        "P(A&E attendance | non-knife injury)",
        "assumed; knife injuries always attend",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "justice")


@dataclass(frozen=True)
class MeasurementParams:
    """How each counter sees an incident: the survey, the police, hospitals (model/scopes.py).
    Observation only: nothing here feeds back into the violence."""

    survey_min_age: float = param(
        16.0,
        "years",
        "the Crime Survey interviews adults 16+ in households (" + EVIDENCE + " 7.1)",
        0.0,
        100.0,
    )
    survey_capture: float = param(
        0.85,
        "P(a survey-scope non-domestic incident is counted face to face)",
        "assumed, because respondents forget or misdate some incidents in a 12-month recall "
        "(no figure found, " + EVIDENCE + " 7.1)",
        **PROB,
    )
    survey_domestic_capture: float = param(
        0.30,
        "P(a survey-scope domestic incident is counted face to face)",
        "assumed, because domestic violence is seldom disclosed face to face: the "
        "self-completion module finds far more (partner abuse 3.0% a year against domestic "
        "violence 0.23% face to face; " + EVIDENCE + " 7.1, 7.2)",
        **PROB,
    )
    self_completion_capture: float = param(
        0.80,
        "P(a domestic incident against an adult is disclosed in the self-completion module)",
        "assumed, because self-completion is confidential but still misses some abuse",
        **PROB,
    )
    survey_series_cap: float = param(
        5,
        "incidents per victim per year",
        "the CSEW's cap on a series of similar incidents (5; replaced from 2019 by a cap "
        "at the 98th percentile [UNVERIFIED])",
        1,
        1000,
    )
    recording_audit: float = param(
        0.877,
        "P(recorded | reported), violence",
        "HMICFRS crime data integrity, Wiltshire 2017: violence 12.3% under-recorded "
        "(" + EVIDENCE + " 7.8, S55)",
        **PROB,
    )
    domestic_recording_audit: float = param(
        0.83,
        "P(recorded | reported), domestic abuse",
        "HMICFRS Wiltshire 2017: 260 of 314 domestic abuse crimes recorded (" + EVIDENCE + " 7.8)",
        **PROB,
    )
    extra_crime_prob: float = param(
        0.10,
        "P(a recorded incident is recorded as two VAP crimes)",
        "assumed, because the counting rules record one crime per victim and per offence "
        "type; no local figure (" + EVIDENCE + " 7)",
        **PROB,
    )
    suspect_identified_prob: float = param(
        0.84,
        "P(suspect identified | recorded, not arrested)",
        "derived: Wiltshire 2017/18, 12.9% of VAP outcomes 'no suspect identified' (codes 14 "
        "and 18; " + EVIDENCE + " 7.3, S28), so (0.871 - arrest_prob 0.2) / 0.8",
        **PROB,
    )
    other_admission_prob: float = param(
        0.037,
        "P(admitted | non-knife injury attending A&E)",
        "hand-set so that sharp objects are 16.2% of assault admissions at the shipped point "
        "(England 2019/20, " + EVIDENCE + " 7.5): ~255 other admissions among ~6,800 "
        "non-knife attendances; the published admissions per attendance (0.22, S38) cannot "
        "also hold while A&E attendances are as many as here (model/ODD.md worksheet)",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "measurement")


@dataclass(frozen=True)
class CostParams:
    """Home Office unit costs of crime, 2015/16 prices (Heeks et al. 2018)."""

    homicide: float = param(
        3_217_740.0,
        "GBP (2015/16) per homicide",
        "Heeks et al. 2018 HO RR99 (" + EVIDENCE + " 2.1)",
        0.0,
        1e9,
    )
    violence_with_injury: float = param(
        14_050.0,
        "GBP (2015/16) per offence",
        "Heeks et al. 2018 HO RR99; includes health costs (" + EVIDENCE + " 2.1)",
        0.0,
        1e9,
    )
    violence_without_injury: float = param(
        5_930.0,
        "GBP (2015/16) per offence",
        "Heeks et al. 2018 HO RR99 [UNVERIFIED in " + EVIDENCE + " 2.1]",
        0.0,
        1e9,
    )
    priced_min_age: float = param(
        16.0,
        "years (victims younger are not priced on the stated basis, except homicide)",
        "Heeks et al. 2018 count crimes against individuals from the Crime Survey, adults 16+ "
        "(model/ODD.md section 7.11) [UNVERIFIED in " + EVIDENCE + " 2.1]",
        0.0,
        100.0,
    )

    def __post_init__(self) -> None:
        check_fields(self, "cost")


@dataclass(frozen=True)
class Params:
    """All model parameters, grouped by process."""

    offending: OffendingParams = field(default_factory=OffendingParams)
    population: PopulationParams = field(default_factory=PopulationParams)
    network: NetworkParams = field(default_factory=NetworkParams)
    victim: VictimParams = field(default_factory=VictimParams)
    severity: SeverityParams = field(default_factory=SeverityParams)
    justice: JusticeParams = field(default_factory=JusticeParams)
    cost: CostParams = field(default_factory=CostParams)
    measurement: MeasurementParams = field(default_factory=MeasurementParams)


@dataclass(frozen=True)
class RunSettings:
    """What to simulate: horizon, burn-in, seed and population scale."""

    years: int = 5
    burn_in_years: int = 3
    seed: int = 0
    population_scale: float = 1.0
    start_year: int = 2024
    profile: bool = False  # time each weekly process (ViolenceModel.profile)

    def __post_init__(self) -> None:
        checks = {
            "years": (self.years, isinstance(self.years, int) and 0 < self.years <= 20, "(0, 20]"),
            "burn_in_years": (
                self.burn_in_years,
                isinstance(self.burn_in_years, int) and 0 <= self.burn_in_years <= 20,
                "[0, 20]",
            ),
            "seed": (self.seed, isinstance(self.seed, int) and self.seed >= 0, ">= 0"),
            "population_scale": (
                self.population_scale,
                isinstance(self.population_scale, int | float) and 0 < self.population_scale <= 1,
                "(0, 1]",
            ),
            "start_year": (self.start_year, isinstance(self.start_year, int), "a year"),
            "profile": (self.profile, isinstance(self.profile, bool), "true or false"),
        }
        for name, (value, ok, rule) in checks.items():
            if (isinstance(value, bool) and name != "profile") or not ok:
                raise ParameterError(f"{name}={value!r}: must be {rule}")


def params_from_dict(data: dict[str, Any] | None) -> Params:
    """Build Params from nested plain data, refusing unknown groups or names."""
    data = data or {}
    groups = {f.name: f.type for f in fields(Params)}
    kwargs = {}
    for group, values in data.items():
        if group not in groups:
            raise ParameterError(f"params.{group}: unknown parameter group")
        cls = globals()[groups[group]] if isinstance(groups[group], str) else groups[group]
        known = {f.name for f in fields(cls)}
        for name in values or {}:
            if name not in known:
                raise ParameterError(f"params.{group}.{name}: unknown parameter")
        kwargs[group] = cls(**(values or {}))
    return Params(**kwargs)
