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


def brief(value: Any) -> str:
    """A value as an error message shows it: its repr on one line, at most 60 characters."""
    text = repr(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


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
        0.00040,
        "offences per person-week",
        "the community setting's weekly hazard for a man at its peak age with average "
        "factors; every other non-partner setting is a rate ratio to it. Assumed, hand-set "
        "so recorded serious violence is near the SNA count (DOMAIN.md); refitted by calibration",
        0.0,
        1.0,
    )
    min_age: float = param(
        10.0, "years", "age of criminal responsibility in England and Wales", 0.0, 18.0
    )
    individual_risk_log_rr: float = param(
        0.60,
        "log RR per SD",
        "assumed, because a lognormal propensity with SD ~0.7 on the log "
        "scale with the other factors makes ~5% of people commit ~half the offences "
        "(CSDD: 7% of males, half of convictions; " + EVIDENCE + " 4.2); refitted by "
        "calibration from r8, with the CSDD row fitted",
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
    same_sex_couple_share: float = param(
        0.02,
        "fraction of couples",
        "assumed, because about 1-2% of couple families in E&W are same-sex (Census 2021, "
        "not retrieved)",
        **PROB,
    )
    older_man_share: float = param(
        0.7,
        "fraction of opposite-sex couples in which the man is the elder",
        "assumed, because husbands are on average about 2 years older (ONS marriages)",
        **PROB,
    )
    partnering_per_year: float = param(
        0.10,
        "probability a year that a single adult aged 18-59 forms a partnership",
        "assumed, so that young adults who come of age during a run have partners at "
        "about the rate of the synthesised population",
        **PROB,
    )
    separation_per_year: float = param(
        0.04,
        "probability a year that a partnership ends (not by death)",
        "assumed: about 2% of marriages end in divorce a year and cohabitations more often",
        **PROB,
    )
    referral_rate_young: float = param(
        0.04,
        "fraction of children 0-17 at average risk already known to services at the start "
        "(referred in week 0)",
        "assumed, because children in need were 346 per 10,000 children at 31 March 2014 "
        "(DfE children in need census); the initial stock of the referral process "
        "(params.referral), which the burn-in replaces",
        **PROB,
    )
    referral_risk_log_or: float = param(
        1.0,
        "log OR per SD of individual risk, of being known to services at the start",
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
    sex_homophily: float = param(
        0.7,
        "fraction of ties forced to the same sex (the rest fall at random)",
        "assumed, so that ~85% of ties are same-sex: school friendships are mostly same-sex "
        "(Shrum, Cheek and Hunter 1988)",
        **PROB,
    )
    age_sd: float = param(2.0, "years", "assumed, because peers are close in age", 0.1, 30.0)
    min_age: float = param(
        10.0, "years", "assumed: peer ties from age 10, when offending can start", 0.0, 18.0
    )

    def __post_init__(self) -> None:
        check_fields(self, "network")


@dataclass(frozen=True)
class PartnerParams:
    """Partner abuse: abusive relationships with onset, escalation and exit (model/ODD.md 7.3)."""

    onset_per_year: float = param(
        0.18,
        "abusive-relationship onsets per partnered man-year at the peak age, average factors",
        "assumed, hand-set so self-completion partner-abuse prevalence is near 4.0% of women "
        "and 2.1% of men a year (CSEW YE Mar 2023, " + EVIDENCE + " 7.2, S18) with mean_weeks",
        0.0,
        1.0,
    )
    peak_age: float = param(
        22.0,
        "years",
        "assumed, because partner-abuse victimisation is highest among women 16-19 and falls "
        "with age (CSEW 2014-17, " + EVIDENCE + " 7.2, S22), and partners are close in age",
        16.0,
        60.0,
    )
    rise_shape: float = param(
        8.0, "shape (log curve, below the peak)", "assumed: few abusers under 18", 0.0, 50.0
    )
    fall_shape: float = param(
        2.7,
        "shape (log curve, above the peak)",
        "assumed, because partner-abuse prevalence falls slowly with age, to about half by "
        "55-59 (" + EVIDENCE + " 7.2, S22)",
        0.0,
        50.0,
    )
    female_rr: float = param(
        0.4,
        "rate ratio, women to men",
        "assumed, hand-set so women are about 74% of recorded domestic-abuse victims "
        "(" + EVIDENCE + " 7.2, S19) and the survey's women-to-men prevalence ratio is ~1.9 "
        "(4.0% vs 2.1%, S18)",
        0.0,
        5.0,
    )
    incidents_per_week: float = param(
        0.013,
        "violent incidents per week in an abusive relationship, before escalation",
        "assumed: more than 30% of domestic-abuse victims have a repeat incident within a year "
        "(review 2019, " + EVIDENCE + " 7.2, S26); hand-set with base_hazard so domestic abuse "
        "is about 33% of recorded violence against the person (S21, S23)",
        0.0,
        1.0,
    )
    escalation: float = param(
        0.1,
        "rise in the incident rate per earlier incident in the pair (capped at 6)",
        "assumed, because abuse tends to escalate (the MARAC risk model; SafeLives, S25)",
        0.0,
        5.0,
    )
    mean_weeks: float = param(
        104.0,
        "weeks an abusive relationship lasts, mean of an exponential",
        "assumed, because most partner abuse stops within a few years (no local source)",
        1.0,
        2080.0,
    )
    injury_prob: float = param(
        0.25,
        "probability a partner-abuse incident without a knife injures",
        "assumed: 16.4% of all partner-abuse victims, violent abuse or not, were injured (CSEW "
        "YE Mar 2023, " + EVIDENCE + " 7.2, S18); a violent incident injures more often than "
        "that, and less often than violence at large (injury_prob)",
        **PROB,
    )
    arrest_exit_prob: float = param(
        0.30,
        "probability an arrest ends the abusive relationship",
        "assumed, because arrest, bail conditions and separation often end cohabitation",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "partner")


@dataclass(frozen=True)
class FamilyParams:
    """Other family violence in the household: adult child to parent, parent to child, siblings."""

    rate_ratio: float = param(
        0.8,
        "rate ratio to base_hazard, for people who live with family other than a partner",
        "assumed, because partner abuse is about 4.0% and family abuse 1.8% a year "
        "(CSEW YE Mar 2018, 16-59, " + EVIDENCE + " 7.2, S20)",
        0.0,
        10.0,
    )
    peak_age: float = param(
        30.0, "years", "assumed: parents and adult children, a broad adult peak", 10.0, 70.0
    )
    rise_shape: float = param(3.0, "shape below the peak", "assumed", 0.0, 50.0)
    fall_shape: float = param(
        5.0,
        "shape above the peak",
        "assumed, so that family violence by people over 80 is a few percent of its peak",
        0.0,
        50.0,
    )
    female_rr: float = param(
        0.6,
        "rate ratio, women to men",
        "assumed, because women are a larger share of family than of stranger violence",
        0.0,
        5.0,
    )

    def __post_init__(self) -> None:
        check_fields(self, "family")


@dataclass(frozen=True)
class YouthParams:
    """Peer and group violence among young people (model/ODD.md 7.3)."""

    rate_ratio: float = param(
        2.9,
        "rate ratio to base_hazard at the peak",
        "assumed, hand-set so under-16s are about 13% of recorded violence victims (ONS YE Mar "
        "2018, " + EVIDENCE + " 7.3, S27)",
        0.0,
        20.0,
    )
    peak_age: float = param(
        15.0,
        "years",
        "youth offending peaks in mid-adolescence (Peterborough cohort peak 15; YEF, "
        + EVIDENCE
        + " 7.3, S32)",
        10.0,
        30.0,
    )
    rise_shape: float = param(
        12.0, "shape below the peak", "assumed: steep rise from 10", 0.0, 80.0
    )
    fall_shape: float = param(
        12.0,
        "shape above the peak",
        "assumed, because peer violence gives way to adult settings in the early 20s "
        "(peak 18, falling after 21 as men leave violence; " + EVIDENCE + " 7.3, S34)",
        0.0,
        80.0,
    )
    female_rr: float = param(
        0.35,
        "rate ratio, girls to boys",
        "assumed: 16% of 13-17s perpetrated violence, mostly boys (YEF 2024, S47)",
        0.0,
        5.0,
    )
    group_rr: float = param(
        4.0,
        "rate ratio for a group member",
        "assumed, because gang members commit a large share of youth violence (Children's "
        "Commissioner 2019, " + EVIDENCE + " 7.7)",
        1.0,
        50.0,
    )
    rival_prob: float = param(
        0.5,
        "probability a group member's peer incident targets a rival group",
        "assumed: 17% of teenage perpetrators cite self-defence or gang, area or school "
        "rivalries (YEF 2024, " + EVIDENCE + " 7.7, S47)",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "youth")


@dataclass(frozen=True)
class NightTimeParams:
    """Violence among adults out in town-centre venues (model/ODD.md 7.3)."""

    rate_ratio: float = param(
        0.5,
        "rate ratio to base_hazard at the peak, for the average catchment",
        "assumed, hand-set toward 12% of incidents in or around a pub, bar or club "
        "(BCS, " + EVIDENCE + " 7.4, S13)",
        0.0,
        20.0,
    )
    min_age: float = param(18.0, "years", "the legal age for buying alcohol", 16.0, 30.0)
    peak_age: float = param(
        20.0,
        "years",
        "night-time ED assault presentations peak at 18 (Bellis et al. 2012, "
        + EVIDENCE
        + " 7.4, S46)",
        16.0,
        40.0,
    )
    rise_shape: float = param(20.0, "shape below the peak", "assumed", 0.0, 80.0)
    fall_shape: float = param(
        3.0,
        "shape above the peak",
        "assumed, because going out falls with age after the early 20s; hand-set with the "
        "other curves so that survey victims' ages follow the CSEW gradient (S5)",
        0.0,
        80.0,
    )
    female_rr: float = param(
        0.3,
        "rate ratio, women to men",
        "male OR 3.14 for night-time ED assault presentations (Bellis et al. 2012, S46)",
        0.0,
        5.0,
    )
    victim_female_rr: float = param(
        0.44,
        "rate ratio, women to men, of being a night-time victim among people out",
        "CSEW stranger violence at 16-24: women 1.62% vs men 3.69% (YE Dec 2018, "
        + EVIDENCE
        + " 7.1, S5)",
        0.0,
        5.0,
    )
    catchment_km: float = param(
        8.0,
        "km, the distance at which a centre's pull falls by 1/e",
        "assumed, because people go out in the nearest towns (no local survey found)",
        0.5,
        100.0,
    )
    centres: float = param(
        3, "town centres in a person's catchment (the nearest)", "assumed", 1, 50
    )

    def __post_init__(self) -> None:
        check_fields(self, "night_time")


@dataclass(frozen=True)
class CommunityParams:
    """Other community violence, acquaintance and stranger (model/ODD.md 7.3)."""

    peak_age: float = param(
        19.0,
        "years",
        "the age-crime curve peaks at 18-21 (" + EVIDENCE + " 7.3, S32, S34)",
        10.0,
        40.0,
    )
    rise_shape: float = param(6.0, "shape below the peak", "assumed", 0.0, 80.0)
    fall_shape: float = param(
        4.0,
        "shape above the peak",
        "assumed, so that offending falls to a few percent of the peak by 65 (violent offending "
        "falls steeply after the early 20s, " + EVIDENCE + " 7.3; MoJ age bands NV)",
        0.0,
        80.0,
    )
    female_rr: float = param(
        0.25,
        "rate ratio, women to men",
        "assumed, because men are ~4-5x as likely to offend violently (male RR 4.55, Long et "
        "al. 2016, " + EVIDENCE + " 4.3)",
        0.0,
        5.0,
    )
    day_share: float = param(
        0.5,
        "fraction of community incidents placed where the offender spends the day",
        "assumed, because half of violent incidents happen at the weekend (BCS, S13) and "
        "weekday violence happens around work, school and town centres",
        **PROB,
    )
    commute_share: float = param(
        0.6,
        "fraction of people aged 18-64 who spend the day in a town centre, not at home",
        "assumed, because about 60% of working-age adults are in work away from home "
        "(Census 2021 travel to work, not retrieved)",
        **PROB,
    )

    def __post_init__(self) -> None:
        check_fields(self, "community")


@dataclass(frozen=True)
class GroupParams:
    """Street groups: membership, recruitment through peers and drug markets, exit with age."""

    join_log_odds: float = param(
        -7.2,
        "log odds a year of joining, for an average young person with no member peers",
        "assumed, hand-set so about 0.5% of 10-17s are group members (27,000 children who "
        "identify as gang members in England, 2019, " + EVIDENCE + " 7.7, S53)",
        -20.0,
        5.0,
    )
    peer_log_or: float = param(
        1.2,
        "log OR per peer who is a member (up to 3)",
        "assumed, because recruitment runs through friends",
        0.0,
        5.0,
    )
    drug_log_or: float = param(
        3.0,
        "log OR, no to full local drug market",
        "assumed: local drug lines recruit local children (the strategy, DOMAIN.md)",
        0.0,
        10.0,
    )
    risk_log_or: float = param(1.0, "log OR per SD of individual risk", "assumed", 0.0, 5.0)
    female_log_or: float = param(
        -2.5,
        "log OR for girls and young women",
        "assumed, because nearly all gang members known to services are boys (Children's "
        "Commissioner 2019, " + EVIDENCE + " 7.7)",
        -10.0,
        0.0,
    )
    exit_per_year: float = param(
        0.25,
        "probability a year of leaving, at 18; doubling by 22",
        "assumed, because group membership is mostly short and ends in the early 20s",
        **PROB,
    )
    min_age: float = param(12.0, "years", "assumed", 10.0, 18.0)
    max_age: float = param(25.0, "years", "assumed: members leave by 25", 15.0, 40.0)

    def __post_init__(self) -> None:
        check_fields(self, "groups")
        if self.min_age >= self.max_age:
            raise ParameterError(
                f"groups.min_age={self.min_age}: must be below groups.max_age={self.max_age}"
            )


@dataclass(frozen=True)
class CarryingParams:
    """Knife carrying as a state of a person, ages 10-29 (model/ODD.md 7.3)."""

    start_log_odds: float = param(
        -4.6,
        "log odds a year of starting to carry, with no driver",
        "assumed, hand-set so about 3% of pupils 11-16 carry (Wiltshire pupils survey, "
        "DOMAIN.md; OCJS 2006 3%, " + EVIDENCE + " 7.6, S50)",
        -20.0,
        5.0,
    )
    victim_log_or: float = param(
        1.5,
        "log OR if victimised in the last year",
        "85% of carriers say they carry for protection (OCJS 2006, S50)",
        0.0,
        5.0,
    )
    group_log_or: float = param(
        2.5, "log OR for a group member", "assumed (Children's Commissioner 2019)", 0.0, 6.0
    )
    peer_log_or: float = param(
        4.0,
        "log OR per unit share of peers who carry",
        "assumed, because carrying follows friends' carrying (13% of 13-15s know a carrier, S51)",
        0.0,
        10.0,
    )
    norm_log_or: float = param(
        4.0,
        "log OR per unit perceived share of pupils who carry",
        "assumed: Wiltshire pupils believe 19% carry where 3% do (DOMAIN.md)",
        0.0,
        10.0,
    )
    perceived_share: float = param(
        0.19,
        "fraction of pupils believed to carry",
        "Wiltshire pupils survey (DOMAIN.md): 19% believed, 3% carry",
        **PROB,
    )
    female_log_or: float = param(
        -1.2,
        "log OR for girls and women",
        "assumed, because boys carry knives two to three times as often as girls (OCJS 2006, "
        "S50; YEF 2024, S47)",
        -10.0,
        0.0,
    )
    stop_per_year: float = param(
        0.5,
        "probability a year of stopping",
        "assumed, because most carrying is episodic (no longitudinal source; " + EVIDENCE + " "
        "7.6 NV)",
        **PROB,
    )
    min_age: float = param(10.0, "years", "assumed", 8.0, 18.0)
    max_age: float = param(30.0, "years", "assumed", 16.0, 60.0)

    def __post_init__(self) -> None:
        check_fields(self, "carrying")
        if self.min_age >= self.max_age:
            raise ParameterError(
                f"carrying.min_age={self.min_age}: must be below carrying.max_age={self.max_age}"
            )


@dataclass(frozen=True)
class VictimParams:
    """Who is harmed: persistent and recent victim risk, children, retaliation (community
    victims' age and sex follow the CSEW table in model/violence.py)."""

    frailty_shape: float = param(
        0.04,
        "gamma shape of persistent victim risk (mean 1)",
        "assumed, hand-set so repeat victims suffer about 57% of survey-counted incidents "
        "(CSEW YE Mar 2018, " + EVIDENCE + " 7.1, S2)",
        0.01,
        100.0,
    )
    child_rr: float = param(
        0.5,
        "rate ratio of a 10-15-year-old being a community victim, to the 16-24 band",
        "assumed, because the Crime Survey does not cover under-16s and most violence against "
        "them is among peers and in families (the youth and family settings)",
        0.0,
        5.0,
    )
    young_child_rr: float = param(
        0.03,
        "rate ratio of a child under 10 being a community victim, to the 16-24 band",
        "assumed, because young children are seldom out without adults",
        0.0,
        5.0,
    )
    youth_female_rr: float = param(
        0.45,
        "rate ratio, girls to boys, of being a peer victim",
        "assumed, because boys are most teenage violence victims (YEF 2024, S47)",
        0.0,
        5.0,
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
    overlap_log_rr: float = param(
        1.10,
        "log RR, lowest to highest risk percentile",
        "assumed, because victims and offenders overlap (DOMAIN.md; CSEW)",
        0.0,
        5.0,
    )
    repeat_log_rr: float = param(
        2.0,
        "log RR for a recent victim",
        "assumed: event dependence, 4% of victims suffer ~40% of crime (BCS 2000, "
        + EVIDENCE
        + " 4.2)",
        0.0,
        5.0,
    )
    max_candidates: float = param(
        64,
        "candidates per incident",
        "assumed: rejection sampling tries this many candidates (event dependence accepts a "
        "victim not recently harmed with probability exp(-repeat_log_rr)) before dropping it",
        1,
        1024,
    )

    def __post_init__(self) -> None:
        check_fields(self, "victim")


@dataclass(frozen=True)
class SeverityParams:
    """How serious an incident is: weapon, injury, knife injury, admission, death."""

    knife_prob: float = param(
        0.008,
        "probability a non-carrier uses a knife or sharp object (non-domestic incidents)",
        "assumed from local "
        "counts: ~300 knife offences a year among ~16,000 violence offences (DOMAIN.md, "
        + EVIDENCE
        + " 5.1), rising for the young and drug markets",
        **PROB,
    )
    carrier_knife_prob: float = param(
        0.6,
        "probability a knife carrier uses it in a non-domestic incident",
        "assumed, hand-set so a knife is used in about 5% of survey-counted incidents "
        "(BCS 2009/10, " + EVIDENCE + " 7.1, S7) and sharp-object admissions are ~92% male (S41)",
        **PROB,
    )
    female_victim_knife_rr: float = param(
        0.08,
        "rate ratio of a carrier using the knife when the victim is a woman or girl",
        "assumed, hand-set toward sharp-object admissions ~92% male (S41): knife fights are "
        "overwhelmingly between young men",
        **PROB,
    )
    domestic_knife_prob: float = param(
        0.002,
        "probability a knife or sharp object is used in a partner or family incident",
        "assumed, because weapons are used in a minority of domestic incidents (no source)",
        **PROB,
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
        0.62,
        "probability an uninjured incident is serious violence",
        "assumed from local "
        "counts: 12,900 serious violence a year vs 5,961 violence with injury (DOMAIN.md)",
        **PROB,
    )
    admission_prob: float = param(
        0.09,
        "probability a knife injury is admitted",
        "assumed, to give ~1 admission per "
        "6 knife offences, within the <=60/yr band (" + EVIDENCE + " 5.1)",
        **PROB,
    )
    knife_death_prob: float = param(
        0.004,
        "probability a knife injury is fatal",
        "assumed from local counts: ~1.2 knife "
        "homicides a year (3 homicides, ~40% by knife; " + EVIDENCE + " 5.2)",
        **PROB,
    )
    other_death_prob: float = param(
        0.0001,
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
        0.42,
        "P(recorded | violence with injury)",
        "assumed, hand-set so recorded violence with injury is near the SNA's 5,961 a year "
        "(DOMAIN.md); the retired calibration of the old process put it at 0.43",
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
    male_victim_domestic_factor: float = param(
        0.62,
        "multiplier on recording for domestic incidents against men",
        "derived: the survey's women-to-men domestic-abuse ratio is 1.78 (5.7% vs 3.2%, S17) "
        "but recorded victims are 74% women (ratio 2.85, S19), so men's incidents reach the "
        "record at 1.78/2.85 = 0.62 of women's (" + EVIDENCE + " 7.2)",
        **PROB,
    )
    domestic_record_factor: float = param(
        0.27,
        "multiplier on recording for domestic incidents",
        "hand-set so domestic abuse is ~33% of recorded VAP (S21, S23): only 18.9% of "
        "partner-abuse victims told the police (CSEW YE Mar 2023, " + EVIDENCE + " 7.2, S18)",
        **PROB,
    )
    child_domestic_record_factor: float = param(
        0.5,
        "multiplier on recording for family incidents against a child under 16",
        "assumed, because children's family violence reaches the police through safeguarding "
        "referrals (schools, health, children's social care) rather than the victim's own "
        "report, so the adult partner-abuse disclosure behind domestic_record_factor does not "
        "transfer; no figure found (" + EVIDENCE + " 7.3 gives only the 13% under-16 share of "
        "recorded victims, S27, which calibration holds out)",
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
    custody_prob: float = param(0.25, "P(custody | charged, non-fatal, adult)", "assumed", **PROB)
    child_custody_prob: float = param(
        0.06,
        "P(custody | charged, non-fatal, offender under 18)",
        "Youth Justice Statistics 2019/20 (" + EVIDENCE + " S33): 19,000 children cautioned or "
        "sentenced, about 780 in custody at any time, custodial sentences averaging 18.6 months; "
        "2018/19 (docslib.org/doc/404025): 28% of them on remand. So about 560 serving about 9.3 "
        "months: about 720 custodial sentences a year, about 4% of children cautioned or "
        "sentenced; 0.06 assumed for charged violence, which draws custody more",
        **PROB,
    )
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


CIN = "DfE children in need census"


@dataclass(frozen=True)
class ReferralParams:
    """Referral to children's and young people's services: a person with a new event an agency
    observes (arrest, A&E attendance for an assault, police-recorded victimisation, police-recorded
    domestic abuse in the household) is referred with a probability per event, within the
    services' capacity. Observation only: nothing here feeds back into the violence."""

    arrest_prob: float = param(
        0.5,
        "P(referral | arrest), under 18",
        "assumed, because an arrested child is notified to the youth offending service and "
        "often to children's social care; police make about a quarter of referrals to "
        "children's social care (24%, " + CIN + " 2013-14), no figure per arrest found",
        **PROB,
    )
    hospital_prob: float = param(
        0.4,
        "P(referral | A&E attendance for an assault injury), under 18",
        "assumed, because emergency departments share under-18s' assault attendances with "
        "safeguarding teams; health services make 14% of referrals (" + CIN + " 2013-14), "
        "no figure per attendance found",
        **PROB,
    )
    victim_prob: float = param(
        0.3,
        "P(referral | named as victim in a police-recorded incident), under 18",
        "assumed, because police refer child victims when they see a safeguarding concern, "
        "less often than arrested children (no figure per victim found)",
        **PROB,
    )
    household_abuse_prob: float = param(
        0.5,
        "P(referral | police-recorded partner or family abuse in the household), per child",
        "assumed, between two figures: police made 244,197 child-protection referrals for "
        "domestic abuse in E&W in 2020/21 (NSPCC analysis of HMICFRS data), ~190 per 10,000 "
        "children (~12.7 million under-18s, ONS, not retrieved), against ~300 children per "
        "10,000 a year in households with recorded domestic abuse here (wiltshire_swindon at "
        "the defaults), which would put it near 0.6 if every notification were a referral; "
        "but all the police referrals children's social care records are 24% of ~550 per "
        "10,000 (" + CIN + "), so some notifications are screened out; "
        "domestic abuse is the most common factor at assessment (49.6% of children in need, "
        "2016)",
        **PROB,
    )
    young_adult_rr: float = param(
        0.5,
        "rate ratio of referral at 18 to max_age, to under-18s (household abuse: 0)",
        "assumed, because services for young adults (youth justice transition, leaving care, "
        "early help) have no statutory route like children's social care; police "
        "notifications of domestic abuse are for children",
        **PROB,
    )
    max_age: float = param(
        24.0,
        "years (oldest age referred)",
        "children's social care to 17; care leavers keep a personal adviser to 25 (Children "
        "and Social Work Act 2017) and the local strategy speaks of under-25s (DOMAIN.md); "
        "assumed that youth, early-help and leaving-care services take referrals to 24",
        0.0,
        100.0,
    )
    capacity_per_10k: float = param(
        550.0,
        "referrals a year per 10,000 residents aged 0 to max_age, per CSP",
        "England's rate of referrals to children's social care: 548 per 10,000 children in "
        "2017/18, 553 in 2018/19 (" + CIN + ", as quoted by Shropshire Council); assumed to "
        "bound the young adults' services too. Referrals from every source count here, so "
        "the model's (police and hospital events only) use 40-50% of it at the defaults",
        0.0,
        1e5,
    )
    known_weeks: float = param(
        52.0,
        "weeks a referral keeps a person known to services (Observed.referred)",
        "a referral within 12 months of another is a re-referral (" + CIN + "): a referral "
        "stays current for a year",
        0.0,
        520.0,
    )

    def __post_init__(self) -> None:
        check_fields(self, "referral")


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
        0.06,
        "P(a survey-scope domestic incident is counted face to face)",
        "derived: domestic violence is seldom disclosed face to face: 0.23% of adults a year "
        "face to face against partner abuse 4.0% in self-completion (" + EVIDENCE + " 7.1, "
        "7.2), so about 0.23/4.0 = 0.06",
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
    partner: PartnerParams = field(default_factory=PartnerParams)
    family: FamilyParams = field(default_factory=FamilyParams)
    youth: YouthParams = field(default_factory=YouthParams)
    night_time: NightTimeParams = field(default_factory=NightTimeParams)
    community: CommunityParams = field(default_factory=CommunityParams)
    groups: GroupParams = field(default_factory=GroupParams)
    carrying: CarryingParams = field(default_factory=CarryingParams)
    victim: VictimParams = field(default_factory=VictimParams)
    severity: SeverityParams = field(default_factory=SeverityParams)
    justice: JusticeParams = field(default_factory=JusticeParams)
    referral: ReferralParams = field(default_factory=ReferralParams)
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
    if not isinstance(data, dict):
        raise ParameterError(f"params={brief(data)}: must be a mapping of parameter groups")
    groups = {f.name: f.type for f in fields(Params)}
    kwargs = {}
    for group, values in data.items():
        if group not in groups:
            raise ParameterError(f"params.{group}: unknown parameter group")
        if values is not None and not isinstance(values, dict):
            raise ParameterError(f"params.{group}={brief(values)}: must be a mapping")
        cls = globals()[groups[group]] if isinstance(groups[group], str) else groups[group]
        known = {f.name for f in fields(cls)}
        for name in values or {}:
            if name not in known:
                raise ParameterError(f"params.{group}.{name}: unknown parameter")
        kwargs[group] = cls(**(values or {}))
    return Params(**kwargs)
