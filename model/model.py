"""The Mesa model: people, places and peer network of an area, stepped weekly.

`ViolenceModel.step()` runs one week in the fixed order of model/ODD.md:
  1 propensity  2 offending  3 victim choice  4 severity  5 consequences  5b referral
  6 interventions  6b measurement (what each counter sees)  7 data collection
Every process is a small function over arrays; nothing in the step iterates over people.
"""

from __future__ import annotations

import copy
import gc
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd

from . import measurement
from . import outcomes as oc
from . import violence as vi
from .area import Area
from .hooks import Intervention, Levers, Observed
from .network import build_peer_network
from .outcomes import IS_DOMESTIC, MEASURE_INDEX, MEASURES, Setting, Severity
from .params import ParameterError, Params, RunSettings
from .population import (
    FACTORS,
    NEVER,
    WEEKS_PER_YEAR,
    arrivals,
    synthesise,
    update_partnerships,
)
from .randomness import Process, Streams
from .scopes import MEASURE_SCOPE, SCOPES
from .violence import MAX_AGE, WeightedIndex, group_index

LONG_AGO = -(10**6)
BAND_OF_AGE = oc.age_band(np.arange(MAX_AGE))
CLOSE_TRIES = 4  # household or peer candidates tried before an incident moves outdoors
CANDIDATE_ROUND = 8  # far candidates drawn per round, for the incidents still without a victim
ESCALATION_CAP = 6  # earlier incidents in a pair that raise its rate
PARTNER_KEY = np.uint64(1 << 40)  # keyed draws of a partner incident: offender id + this
REPEAT_KEY = np.uint64(1 << 41)  # keyed draws of a street incident repeated by a lever
CHILD_MAX_AGE = 17  # children's social care (Children Act 1989): under 18
# the events a referral can follow, in the order of their slots in the referral stream
REFERRAL_EVENTS = ("arrest", "hospital", "victim", "household_abuse")
# plain ints for the hot path (enum attribute access is slow)
PARTNER, FAMILY, PEER, GROUP, NIGHT_TIME, COMMUNITY, RETALIATION = (int(s) for s in Setting)
MINOR, SERIOUS, INJURY, KNIFE_INJURY, ADMISSION, HOMICIDE = (int(s) for s in Severity)
# severity level x nested measure: does an incident at this level count in it?
NESTED_FLAGS = np.array([[lo <= s <= hi for _, lo, hi in oc.NESTED] for s in range(6)])
NESTED_TRUE = np.array([MEASURE_INDEX[f"{name}_true"] for name, _, _ in oc.NESTED])
NESTED_RECORDED = np.array([MEASURE_INDEX[f"{name}_recorded"] for name, _, _ in oc.NESTED])
WEIGHTED = [
    MEASURE_INDEX[m]
    for m in (
        "admissions_expected",
        "homicides_expected",
        "cost_of_crime",
        "vap_crimes_recorded",
        "vwi_crimes_recorded",
        "cost_stated_basis",
        "cost_recorded",
    )
]
DISPOSALS = ("none", "out_of_court", "charged")
SCOPE_NAMES = [s.name for s in SCOPES]
SCOPE_OF_MEASURE = np.array([SCOPE_NAMES.index(MEASURE_SCOPE[m]) for m in MEASURES])


@dataclass
class State:
    """Histories: they start empty, which is why every run has a burn-in."""

    exposure: np.ndarray
    trauma: np.ndarray
    custody_until: np.ndarray
    last_arrest: np.ndarray
    last_out_of_court: np.ndarray
    last_chargeable: np.ndarray  # week of the last arrest police would charge but could divert
    last_scheme_diversion: np.ndarray  # week a funded scheme last diverted such an arrest
    last_hospital: np.ndarray
    last_victim_recorded: np.ndarray  # week a police-recorded incident last named them victim
    last_household_abuse: np.ndarray  # week a partner or family incident involving someone of
    # their household (victim or offender) was last recorded by police
    referred_week: np.ndarray  # week of the last referral to services (section 7.5b)
    arrests: np.ndarray
    last_aggressor: np.ndarray
    aggressor_week: np.ndarray
    killed_week: np.ndarray  # homicide victims; natural deaths are People.death_week
    abuse_from: np.ndarray  # week an abusive relationship (this person abusing their partner)
    abuse_until: np.ndarray  # starts and ends; active while abuse_from <= week < abuse_until
    abuse_incidents: np.ndarray  # incidents so far in the current abusive relationship
    group: np.ndarray  # street group (its community's index), -1 if none
    carrying: np.ndarray  # carries a knife

    @classmethod
    def empty(cls, n: int) -> State:
        long_ago = np.full(n, LONG_AGO, dtype=np.int32)
        return cls(
            abuse_from=long_ago.copy(),
            abuse_until=long_ago.copy(),
            abuse_incidents=np.zeros(n, np.int16),
            group=np.full(n, -1, np.int16),
            carrying=np.zeros(n, bool),
            exposure=np.zeros(n, np.float32),
            trauma=np.zeros(n, np.float32),
            custody_until=np.zeros(n, np.int32),
            last_arrest=long_ago.copy(),
            last_out_of_court=long_ago.copy(),
            last_chargeable=long_ago.copy(),
            last_scheme_diversion=long_ago.copy(),
            last_hospital=long_ago.copy(),
            last_victim_recorded=long_ago.copy(),
            last_household_abuse=long_ago.copy(),
            referred_week=long_ago.copy(),
            arrests=np.zeros(n, np.int16),
            last_aggressor=np.full(n, -1, np.int32),
            aggressor_week=long_ago.copy(),
            killed_week=np.full(n, NEVER, np.int32),
        )

    def extend(self, n_new: int) -> None:
        new = State.empty(n_new)
        for name in self.__dataclass_fields__:
            setattr(self, name, np.concatenate([getattr(self, name), getattr(new, name)]))


@dataclass
class Week:
    """The incidents of one week, one entry per incident."""

    offender: np.ndarray
    victim: np.ndarray
    setting: np.ndarray
    place: np.ndarray  # community where it happened
    key: np.ndarray = field(default=None)  # id of each incident's keyed draws
    knife: np.ndarray = field(default=None)
    severity: np.ndarray = field(default=None)
    p_death: np.ndarray = field(default=None)
    p_admission: np.ndarray = field(default=None)
    recorded: np.ndarray = field(default=None)
    p_recorded: np.ndarray = field(default=None)
    arrested: np.ndarray = field(default=None)
    attends: np.ndarray = field(default=None)  # A&E
    household: np.ndarray = field(default=None)  # ids in households of recorded domestic abuse
    diverted: np.ndarray = field(default=None)  # out-of-court disposal
    charged: np.ndarray = field(default=None)
    custody_weeks: np.ndarray = field(default=None)  # served, 0 if not jailed


def _csr_pick(
    indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """For each row (broadcast against u), the entry at position u in [0, 1) of that row, or -1
    if the row is empty."""
    rows, u = np.broadcast_arrays(rows, u)
    if len(indices) == 0:
        return np.full(rows.shape, -1, dtype=np.int64)
    start, deg = indptr[rows], indptr[rows + 1] - indptr[rows]
    pick = indices[np.minimum(start + (u * deg).astype(np.int64), len(indices) - 1)]
    return np.where(deg > 0, pick, -1)


def _csr_rows(
    indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """All entries of the given rows, concatenated (rows may repeat), and for each entry the
    position in `rows` it came from."""
    start = indptr[rows]
    lens = indptr[rows + 1] - start
    offsets = np.repeat(start - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
    return indices[offsets], np.repeat(np.arange(len(rows)), lens)


def _add_at(target: np.ndarray, ids: np.ndarray, values) -> None:
    """np.add.at for a float32 target on numpy's fast path, which needs values of the target's
    type: values that are all float32 numbers (1, 0.5: the usual case) are passed as float32,
    which changes nothing (a float32 sum rounded from float64 is the float32 sum); others take
    the mixed-type path, some 50 times slower."""
    values = np.broadcast_to(np.asarray(values), np.shape(ids))
    narrow = values.astype(target.dtype)
    np.add.at(target, ids, narrow if np.array_equal(narrow, values) else values)


class _AgesAt:
    """Whole-year ages at one week, worked out only for the people looked up (`ages[ids]`, the
    same values as people.age_years(week)[ids]): the weekly step needs a few thousand."""

    def __init__(self, birth_week: np.ndarray, week: int):
        self.birth_week, self.week = birth_week, week

    def __getitem__(self, ids) -> np.ndarray:
        return (self.week - self.birth_week[ids]) // WEEKS_PER_YEAR


def check_fits(area: Area, params: Params, settings: RunSettings) -> None:
    """Refuse parameters that cannot hold in this area at this scale."""
    smallest = min(area.communities, key=lambda c: c.population)
    size = smallest.population * settings.population_scale
    if params.network.mean_degree >= size:
        raise ParameterError(
            f"params.network.mean_degree={params.network.mean_degree}: not below the size of "
            f"community {smallest.name!r} ({size:.0f} people at scale "
            f"{settings.population_scale})"
        )


class ViolenceModel(mesa.Model):
    """Weekly serious violence in an area; see model/ODD.md for the full description."""

    def __init__(
        self,
        area: Area,
        params: Params | None = None,
        settings: RunSettings | None = None,
        interventions: Sequence[Intervention] = (),
    ):
        settings, params = settings or RunSettings(), params or Params()
        check_fits(area, params, settings)
        super().__init__(rng=settings.seed)
        self.area, self.params, self.settings = area, params, settings
        self.interventions = list(interventions)
        # seconds per process name, and "weeks" stepped; None unless settings.profile
        self.profile: dict[str, float] | None = defaultdict(float) if settings.profile else None
        self.profile_calls: dict[str, int] = defaultdict(int)  # weeks (or years) each ran
        self.streams = Streams(settings.seed)
        self.week = 0
        self.burn_in_weeks = settings.burn_in_years * WEEKS_PER_YEAR
        self.total_weeks = self.burn_in_weeks + settings.years * WEEKS_PER_YEAR
        self.weight = 1.0 / settings.population_scale

        comms = area.communities
        csp_names = [c.name for c in area.csps]
        self.community_csp = np.array([csp_names.index(c.csp) for c in comms], dtype=np.int16)
        self.n_communities = len(comms)
        self._community_log_rr = self._community_terms()
        self._drug = np.array([c.drug_market for c in comms])
        nt = params.night_time
        self._catchment, self._nte_access = vi.catchment(area, nt.catchment_km, nt.centres)
        self._school_community = vi.school_community(area)
        self._curves = self._setting_curves()

        self.people = synthesise(
            area,
            self.params.population,
            settings.population_scale,
            self.streams.generator(Process.POPULATION),
            self.streams.generator(Process.SAMPLING),
        )
        self.initial_population = len(self.people)
        self.state = State.empty(len(self.people))
        self.state.referred_week[self.people.referred_at_start] = 0  # the initial stock
        self.levers = Levers(len(self.people), self.n_communities, self._shift_factor)
        self._refresh_indexes()
        self._static_log_hazard = self._compute_static()
        self._bound_of: tuple | None = None  # arrays _hazard_bound's cache was made from
        # scenario-invariant state shared by this model's forks (year -> peer network); None
        # until the first fork, so a single run keeps no year it has left behind
        self._shared: dict[int, object] | None = None
        self._start_year()

        n_groups = self.n_communities * len(oc.AGE_BANDS) * 2
        self._weekly = np.zeros((settings.years * WEEKS_PER_YEAR, n_groups, len(MEASURES)))
        self._counters = measurement.Counters.empty(len(self.people))
        self._incidents: list[dict[str, np.ndarray]] = []
        self._agents: dict[int, mesa.Agent] = {}

    # ---- set-up helpers -------------------------------------------------------------------
    def _community_terms(self) -> np.ndarray:
        """Log rate ratio of offending by community (CSP multiplier and ecological terms)."""
        o = self.params.offending
        c = self.area.communities
        csp_mult = {s.name: s.hazard_multiplier for s in self.area.csps}
        return np.array(
            [np.log(csp_mult[x.csp]) if csp_mult[x.csp] > 0 else -np.inf for x in c]
        ) + np.array(
            [
                o.deprivation_log_rr * x.deprivation
                + o.urban_log_rr * x.urban
                + o.drug_market_log_rr * x.drug_market
                + o.night_time_economy_log_rr * x.night_time_economy
                - o.cohesion_log_rr * x.cohesion
                + o.society_log_rr
                for x in c
            ]
        )

    def _setting_curves(self) -> dict[str, np.ndarray]:
        """Rate ratios by [age, male] for each setting's offenders and victims."""
        p = self.params
        o = p.offending
        curve = vi.age_sex_curve
        nte = curve(
            p.night_time.peak_age,
            p.night_time.rise_shape,
            p.night_time.fall_shape,
            1.0,
            p.night_time.min_age,
        )
        return {
            "partner": curve(
                p.partner.peak_age,
                p.partner.rise_shape,
                p.partner.fall_shape,
                p.partner.female_rr,
                16,
            ),
            "family": p.family.rate_ratio
            * curve(
                p.family.peak_age,
                p.family.rise_shape,
                p.family.fall_shape,
                p.family.female_rr,
                o.min_age,
            ),
            "youth": p.youth.rate_ratio
            * curve(
                p.youth.peak_age,
                p.youth.rise_shape,
                p.youth.fall_shape,
                p.youth.female_rr,
                o.min_age,
            ),
            "night_time": p.night_time.rate_ratio * nte * [p.night_time.female_rr, 1.0],
            "community": curve(
                p.community.peak_age,
                p.community.rise_shape,
                p.community.fall_shape,
                p.community.female_rr,
                o.min_age,
            ),
            "victim": vi.community_victim_table(p.victim.child_rr, p.victim.young_child_rr),
            "going_out": nte * [p.night_time.victim_female_rr, 1.0],
        }

    def _compute_static(self) -> np.ndarray:
        """The part of each person's log hazard that changes only when factors change."""
        o, p = self.params.offending, self.people
        return (
            self._community_log_rr[p.community]
            + o.individual_risk_log_rr * p.individual_risk
            - o.individual_protective_log_rr * p.individual_protective
            + o.family_risk_log_rr * p.family_risk
            - o.family_protective_log_rr * p.family_protective
        ).astype(np.float32)

    def _shift_factor(self, ids: np.ndarray, factor: str, delta: float) -> None:
        getattr(self.people, factor)[ids] += np.float32(delta)
        self._static_log_hazard = self._compute_static()

    def _refresh_indexes(self) -> None:
        """Lookups that change only when people arrive: households, communities, CSPs."""
        p = self.people
        self._hh_ptr, self._hh_members = group_index(p.household, int(p.household.max()) + 1)
        self._comm_ptr, self._comm_members = group_index(
            p.community.astype(np.int64), self.n_communities
        )
        csp = self.community_csp[p.community].astype(np.int64)
        self._csp_ptr, self._csp_members = group_index(csp, len(self.area.csps))
        risk = p.individual_risk
        rank = np.empty(len(risk), np.float32)
        rank[np.argsort(risk)] = np.arange(len(risk), dtype=np.float32) / max(len(risk) - 1, 1)
        self._risk_pct = rank

    def fork(self) -> ViolenceModel:
        """A copy to project one scenario from this (burned-in) model, leaving it untouched. The
        copies share the scenario-invariant state they compute (each year's peer network, ODD
        3.1): the first fork to reach a year builds it, the others reuse it.

        A model is a reference cycle (Mesa keeps bound methods of the model on it), so a fork
        its caller has dropped waits for the cyclic collector; collecting first frees it before
        this copy is made, or a replicate's forks could all be alive at once."""
        if self._shared is None:
            self._shared = {}
        gc.collect()
        return copy.deepcopy(self, memo={id(self._shared): self._shared})

    def _peer_network(self):
        """This year's peer ties among the living (natural deaths only, so that the network is
        the same in every scenario): rebuilt each model year, so children who turn 10 and
        newcomers join, and friendships turn over as people change school. Forks of one model
        share it (fork)."""
        year = self.week // WEEKS_PER_YEAR
        if self._shared is not None and year in self._shared:
            return self._shared[year]
        network = build_peer_network(
            self.people.age_years(self.week),
            self.people.community,
            self.current_school(),
            self.people.death_week > self.week,
            self.params.network,
            self.streams.generator(Process.NETWORK, year),
            male=self.people.male,
        )
        if self._shared is not None:
            self._shared[year] = network
        return network

    def alive(self) -> np.ndarray:
        return (self.people.death_week > self.week) & (self.state.killed_week > self.week)

    def static_log_hazard(self) -> np.ndarray:
        """Each person's static log offending hazard (read-only): for analysis, such as an
        in-model trial's stratified randomisation; interventions never see it."""
        view = self._static_log_hazard.view()
        view.flags.writeable = False
        return view

    def current_school(self) -> np.ndarray:
        age = self.people.age_years(self.week)
        return np.where(
            (age >= 4) & (age < 11),
            self.people.primary_school,
            np.where((age >= 11) & (age < 18), self.people.secondary_school, -1),
        )

    # ---- demography -------------------------------------------------------------------------
    def _start_year(self) -> None:
        """At the start of each model year: demography, partnerships and this year's peer
        network (homicides are left out of all three, so they are the same in every scenario:
        common random numbers), the year's invariant tables, then the scenario-dependent yearly
        updates. Each part is timed in the profile as year:<part>."""
        t, year = self._timed, self.week // WEEKS_PER_YEAR
        t("year:demography", self._demography, year)
        t("year:partnerships", self._partnerships, year)
        self.network = t("year:network", self._peer_network)
        if self.people.age_years(self.week + WEEKS_PER_YEAR).max() >= MAX_AGE:
            raise ParameterError(f"an age of {MAX_AGE}+ would be reached: shorten the run")
        t("year:tables", self._year_tables)
        self._yearly_state()
        t("year:multipliers", self._multiplier)

    def _demography(self, year: int) -> None:
        """This year's natural deaths (in random weeks), and arrivals that keep the population
        on the area's projected path."""
        pp, p = self.params.population, self.people
        alive = p.death_week > self.week
        age = p.age_years(self.week)
        q = -np.expm1(-np.exp(pp.mortality_log_base + pp.mortality_log_slope * age))
        u = self.streams.full(Process.DEMOGRAPHY, year, 2 * len(p)).reshape(2, -1)
        dies = alive & (u[0] < q)
        p.death_week[dies] = self.week + (u[1][dies] * WEEKS_PER_YEAR).astype(np.int32)
        target = self.initial_population * (1 + self.area.population_growth_per_year) ** (year + 1)
        n_new = round(target - (p.death_week >= self.week + WEEKS_PER_YEAR).sum())
        if n_new > 0:
            rng = self.streams.generator(Process.DEMOGRAPHY, year, 1)
            p.append(arrivals(self.area, p, pp, n_new, self.week, rng))
            self.state.extend(n_new)
            self._refresh_indexes()
            self._static_log_hazard = self._compute_static()
            self.levers.extend(len(p))

    def _partnerships(self, year: int) -> None:
        """The year's partnerships (invariant); abuse is of one partner, so it ends when the
        partnership does."""
        p = self.people
        before = p.partner.copy()
        stream = self.streams.generator(Process.DEMOGRAPHY, year, 2)
        update_partnerships(p, self.week, self.params.population, stream)
        ended = (p.partner != before) & (self.state.abuse_until > self.week)
        self.state.abuse_until[ended] = self.week

    def _year_tables(self) -> None:
        """Scenario-invariant lookups for the year, from ages at its start: where each person
        spends the day, who lives with family other than a partner, and the weighted indexes
        victims are drawn from (persistent risk x age and sex by setting)."""
        p, year, n = self.people, self.week // WEEKS_PER_YEAR, len(self.people)
        age = p.age_years(self.week)
        self._year_age = np.minimum(age, MAX_AGE - 1)
        home = p.community.astype(np.int64)
        u = self.streams.full(Process.DAY, year, 2 * n).reshape(2, -1)
        commutes = np.flatnonzero(
            (age >= 18) & (age < 65) & (u[0] < self.params.community.commute_share)
        )
        work = vi.draw_rows(self._catchment, home[commutes], u[1][commutes])
        day = home.copy()
        day[commutes] = np.where(work >= 0, work, home[commutes])
        school = self.current_school()
        self.day_place = np.where(school >= 0, self._school_community[school], day)
        alive = p.death_week > self.week
        size = np.bincount(p.household, weights=alive, minlength=int(p.household.max()) + 1)
        partner = p.partner
        partner_home = (partner >= 0) & (p.household[np.maximum(partner, 0)] == p.household)
        self._has_family = (size[p.household] - 1 - partner_home) > 0
        v = self.params.victim
        old = len(getattr(self, "_frailty", ()))
        if old < n:  # persistent: drawn once, for each year's newcomers from that year's stream
            rng = self.streams.generator(Process.FRAILTY, year)
            new = rng.gamma(v.frailty_shape, 1 / v.frailty_shape, n - old).astype(np.float32)
            self._frailty = np.concatenate([getattr(self, "_frailty", new[:0]), new])
        base = self._frailty * np.exp(v.overlap_log_rr * (self._risk_pct - 1)) * alive
        cell = self._year_age * 2 + p.male  # [age, male] of a curve, flattened
        w_comm = base * self._curves["victim"].ravel()[cell]
        w_nte = base * self._curves["going_out"].ravel()[cell]
        nc = self.n_communities
        by_home = (self._comm_ptr, self._comm_members)
        day = self.day_place.astype(np.int16)  # int16: a radix sort
        by_day = group_index(day, nc)
        self._victims_home = WeightedIndex.build(home, w_comm, nc, by_home)
        self._victims_day = WeightedIndex.build(day, w_comm, nc, by_day)
        self._victims_out = WeightedIndex.build(home, w_nte, nc, by_home)
        # P(victim's home community | venue): catchment x the people going out there
        out = self._catchment * self._victims_out.totals()[:, None]
        total = out.sum(axis=0)
        self._venue_home = np.divide(
            out.T, total[:, None], out=np.zeros_like(out.T), where=total[:, None] > 0
        )
        # referral capacity this year (simulated people), by CSP, from the living young
        r = self.params.referral
        young = alive & (age <= r.max_age)
        count = np.bincount(self.community_csp[p.community[young]], minlength=len(self.area.csps))
        self._referral_capacity = r.capacity_per_10k * count / 1e4
        self._referrals_made = np.zeros(len(self.area.csps), dtype=np.int64)

    def _yearly_state(self) -> None:
        """Scenario-dependent yearly updates: street groups, knife carrying and the onset of
        abusive relationships (each person's draws keyed by person, so common random numbers
        hold whatever others do)."""
        year, n, s, p = self.week // WEEKS_PER_YEAR, len(self.people), self.state, self.people
        age, alive = self._year_age, self.alive()
        st = self.streams
        t = self._timed
        t(
            "year:groups",
            vi.update_groups,
            s.group,
            age,
            alive,
            p.community.astype(np.int16),
            self._drug,
            p.individual_risk,
            p.male,
            self.network,
            self.params.groups,
            st.full(Process.GROUPS, year, n),
        )
        victimised = s.aggressor_week >= self.week - WEEKS_PER_YEAR
        t(
            "year:carrying",
            vi.update_carrying,
            s.carrying,
            age,
            alive,
            victimised,
            s.group >= 0,
            p.male,
            self.network,
            self.params.carrying,
            st.full(Process.CARRYING, year, n),
            self.levers.person_carrying if self.levers.active else None,
        )
        t("year:abuse_onsets", self._onsets, year)
        self._abusers = np.flatnonzero(s.abuse_until > self.week)
        members = np.flatnonzero(s.group >= 0)
        self._group_ptr, self._group_members = group_index(
            s.group[members].astype(np.int64), self.n_communities
        )
        self._group_members = members[self._group_members]
        count = np.diff(self._group_ptr).astype(float)
        same_csp = self.community_csp[:, None] == self.community_csp[None, :]
        rival = same_csp * count[None, :] * (1 - np.eye(self.n_communities))
        total = rival.sum(axis=1, keepdims=True)
        self._rivals = np.divide(rival, total, out=np.zeros_like(rival), where=total > 0)

    def _onsets(self, year: int) -> None:
        """This year's new abusive relationships: a partnered person not already abusive starts
        abusing with probability 1 - exp(-rate), rate = onset_per_year x the partner curve x
        their static risk; the start week is uniform in the year and the length exponential."""
        pa, s, p = self.params.partner, self.state, self.people
        partnered = (p.partner >= 0) & self.alive() & (s.abuse_until <= self.week)
        ids = np.flatnonzero(partnered)
        rate = (
            pa.onset_per_year
            * self._curves["partner"][self._year_age[ids], p.male[ids].astype(np.int64)]
            * np.exp(self._static_log_hazard[ids])
        )
        # the onset draw (slot 0) for everyone; start and length (slots 1, 2) for onsets only
        u = self.streams.keyed(Process.PARTNER, year, ids[:, None], np.arange(1))[:, 0]
        new = ids[u < -np.expm1(-rate)]
        un = self.streams.keyed(Process.PARTNER, year, new[:, None], np.arange(3))
        start = self.week + (un[:, 1] * WEEKS_PER_YEAR).astype(np.int32)
        length = np.ceil(-pa.mean_weeks * np.log1p(-un[:, 2])).astype(np.int64)
        s.abuse_from[new] = start
        s.abuse_until[new] = np.minimum(start + np.maximum(length, 1), np.iinfo(np.int32).max)
        s.abuse_incidents[new] = 0

    def _multiplier(self) -> None:
        """Each person's setting rate ratios (family, youth, night-time, community: four arrays,
        stacked only for the week's offenders) and their sum times base_hazard, the weekly
        non-partner hazard before their own log terms (competing risks). Recomputed each year
        (ages, groups, households change yearly). The sum is taken left to right, as a row sum
        of the stacked n x 4 array is, without making that array."""
        c, p = self._curves, self.people
        cell = self._year_age * 2 + p.male  # [age, male] of a curve, flattened
        group = self.state.group >= 0
        self._rates = (
            c["family"].ravel()[cell] * self._has_family,
            c["youth"].ravel()[cell] * (1 + (self.params.youth.group_rr - 1) * group),
            c["night_time"].ravel()[cell] * self._nte_access[p.community],
            c["community"].ravel()[cell],
        )
        total = self._rates[0] + self._rates[1]
        total += self._rates[2]
        total += self._rates[3]
        self._mult = (self.params.offending.base_hazard * total).astype(np.float32)

    def _components(self, ids: np.ndarray) -> np.ndarray:
        """The setting rate ratios of these people, n x 4 (family, youth, night-time, community)."""
        return np.stack([r[ids] for r in self._rates], axis=1)

    # ---- the weekly process -----------------------------------------------------------------
    def _timed(self, name: str, fn: Callable, *args):
        """fn(*args), its wall time added to self.profile[name] when profiling."""
        if self.profile is None:
            return fn(*args)
        start = time.perf_counter()
        out = fn(*args)
        self.profile[name] += time.perf_counter() - start
        self.profile_calls[name] += 1
        return out

    def step(self) -> None:
        t = self._timed
        if self.week % WEEKS_PER_YEAR == 0 and self.week > 0:
            self._start_year()
        w, s = self.week, self.state
        projecting = w >= self.burn_in_weeks
        active = t("active", lambda: self.alive() & (s.custody_until <= w))
        age = _AgesAt(self.people.birth_week, w)
        bound = t("propensity", self._hazard_bound)
        offenders = t("offending", self._thinned_offending, bound, active)
        week = t("victim_choice", self._choose_victims, offenders, active)
        week = t("partner_abuse", self._partner_abuse, week, active)
        week = t("street_lever", self._street_lever, week)
        t("severity", self._severity, week)
        t("consequences", self._consequences, week, age)
        t("referral", self._refer, week, age)
        if projecting:
            self.levers.reset(len(self.people))
            observed = Observed(self, w)
            for intervention in self.interventions:
                name = f"intervention:{getattr(intervention, 'name', type(intervention).__name__)}"
                t(name, intervention.apply, w - self.burn_in_weeks, observed, self.levers)
            scoped = t("measurement", self._measure, week, age)
            t("collect", self._collect, week, age, scoped)
        if self.profile is not None:
            self.profile["weeks"] += 1
        self.week += 1

    def _own_log_hazard(self, ids=slice(None)) -> np.ndarray:
        """Each person's own log hazard terms: static factors, exposure, trauma and levers
        (values of last week's consequences: the one-week lag). Exposure and trauma act
        through 1 - exp(-x), so their effect saturates and contagion stays bounded."""
        o, s, lv = self.params.offending, self.state, self.levers
        log_h = (
            self._static_log_hazard[ids]
            - o.exposure_log_rr * np.expm1(-s.exposure[ids])
            - o.trauma_log_rr * np.expm1(-s.trauma[ids])
        )
        if lv.active:
            log_h += lv.person_log_hazard[ids] + lv.community_log_hazard[self.people.community[ids]]
        return log_h

    def _propensity(self) -> np.ndarray:
        """1. Weekly non-partner hazard: own log terms x the settings' summed rate ratios."""
        return np.exp(self._own_log_hazard()) * self._mult

    def _offending(self, hazard: np.ndarray, active: np.ndarray) -> np.ndarray:
        """2. Each active person offends at most once a week, with probability 1 - exp(-h)."""
        u = self.streams.full(Process.OFFEND, self.week, len(hazard))
        return np.flatnonzero(active & (np.expm1(-hazard) < -u))

    def _hazard_bound(self) -> np.ndarray:
        """1. (As run in the step.) Per person, a bound on this week's hazard: e^(static terms)
        x the settings' rate ratios x e^(largest exposure, trauma and lever terms), with a 1%
        margin for single-precision rounding (the hazard's, ~1e-6, and the bound's own: it is
        kept in float32). The part without levers is cached: it changes only with the static
        hazard or the yearly multipliers (both replaced, never edited)."""
        made_from = self._bound_of or (None, None)
        if made_from[0] is not self._static_log_hazard or made_from[1] is not self._mult:
            o = self.params.offending
            top = max(o.exposure_log_rr, 0.0) + max(o.trauma_log_rr, 0.0)
            static = self._static_log_hazard.astype(np.float64)
            with np.errstate(over="ignore"):  # float32 (compared with float32 uniforms: fast)
                self._bound = (np.exp(static + top) * self._mult * 1.01).astype(np.float32)
            self._bound_of = (self._static_log_hazard, self._mult)
        lv = self.levers
        if lv.active:
            lift = float(lv.person_log_hazard.max()) + float(lv.community_log_hazard.max())
            if lift > 0:
                with np.errstate(over="ignore"):
                    return self._bound * np.exp(lift)  # float64
        return self._bound

    def _thinned_offending(self, bound: np.ndarray, active: np.ndarray) -> np.ndarray:
        """2. (As run in the step.) The offenders of `_offending(_propensity(), active)`, by
        exact thinning: the same uniforms, but the hazard is computed only for the active
        people whose uniform falls under their bound (1 - e^(-h) <= h <= bound), a few percent
        of everyone; the float32 arithmetic per person is the same, so the result is too."""
        u = self.streams.full(Process.OFFEND, self.week, len(bound))
        ids = np.flatnonzero(u < bound)
        ids = ids[active[ids]]
        hazard = np.exp(self._own_log_hazard(ids)) * self._mult[ids]
        return ids[np.expm1(-hazard) < -u[ids]]

    def _acceptance(self, ids: np.ndarray) -> np.ndarray:
        """Chance a picked candidate is accepted as victim: event dependence (1 for someone
        just victimised, lower otherwise) times the interventions' victim-risk lever."""
        recent = 1 - np.exp(-self.state.trauma[ids])
        acc = np.exp(self.params.victim.repeat_log_rr * (recent - 1))
        return acc * self.levers.person_victim[ids] if self.levers.active else acc

    def _choose_victims(self, offenders: np.ndarray, active: np.ndarray) -> Week:
        """3. Setting, then victim. The setting is drawn in proportion to the offender's
        setting rate ratios (family, youth, night-time, community), unless they retaliate
        against a recent aggressor. Family: another household member, not the partner. Youth:
        a rival group's member (group members, rival_prob) or a peer. Night-time: someone out
        at a venue of the offender's catchment. Community: someone where the offender spends
        the day (day_share) or at home. Close choices that find no one move to the community."""
        v, w, st, p = self.params.victim, self.week, self.streams, self.people
        n = len(offenders)
        u = st.keyed(Process.SETTING, w, offenders[:, None], np.arange(6))
        comp = self._components(offenders)
        cum = np.cumsum(comp, axis=1)
        pick = (u[:, 0:1] * cum[:, -1:] >= cum).sum(axis=1)
        setting = np.array([FAMILY, PEER, NIGHT_TIME, COMMUNITY], np.int8)[np.minimum(pick, 3)]
        victim = np.full(n, -1, dtype=np.int64)
        home = p.community[offenders].astype(np.int64)
        place = home.copy()
        aggressor = self.state.last_aggressor[offenders]
        ret = (
            (aggressor >= 0)
            & (self.state.aggressor_week[offenders] >= w - v.retaliation_weeks)
            & (u[:, 2] < v.retaliation_prob)
        )
        ret[ret] = active[aggressor[ret]]
        if self.levers.active:  # a shielded target is retaliated against less often
            ret[ret] = u[ret, 2] < v.retaliation_prob * self.levers.person_victim[aggressor[ret]]
        victim[ret] = aggressor[ret]
        setting[ret] = RETALIATION

        rival = (
            ~ret
            & (setting == PEER)
            & (self.state.group[offenders] >= 0)
            & (u[:, 1] < self.params.youth.rival_prob)
        )
        if rival.any():
            own = self.state.group[offenders[rival]].astype(np.int64)
            other = vi.draw_rows(self._rivals, own, u[rival, 5])
            got = np.where(
                other >= 0,
                _csr_pick(self._group_ptr, self._group_members, np.maximum(other, 0), u[rival, 3]),
                -1,
            )
            got = np.where((got >= 0) & active[np.maximum(got, 0)], got, -1)
            if self.levers.active:  # u1 / rival_prob is uniform given a rival incident
                shield = self.levers.person_victim[np.maximum(got, 0)]
                got = np.where(u[rival, 1] / self.params.youth.rival_prob < shield, got, -1)
            victim[rival] = got
            setting[rival] = np.where(got >= 0, GROUP, PEER)

        close = np.flatnonzero((victim < 0) & ((setting == FAMILY) | (setting == PEER)))
        if len(close):
            o = offenders[close]
            fam = setting[close] == FAMILY
            uc = st.keyed(Process.VICTIM, w, o[:, None], np.arange(CLOSE_TRIES))
            cand = np.empty(uc.shape, dtype=np.int64)
            cand[fam] = _csr_pick(
                self._hh_ptr, self._hh_members, p.household[o[fam]][:, None], uc[fam]
            )
            cand[~fam] = _csr_pick(
                self.network.indptr, self.network.indices, o[~fam][:, None], uc[~fam]
            )
            ok = (cand >= 0) & (cand != o[:, None]) & active[cand]
            ok[fam] &= cand[fam] != p.partner[o[fam]][:, None]
            # peers are accepted by sex (girls less often) and recent victimisation
            acc = self._acceptance(cand) * np.where(p.male[cand], 1.0, v.youth_female_rr)
            ua = st.keyed(Process.ACCEPT, w, o[:, None], np.arange(CLOSE_TRIES))
            ok[~fam] &= ua[~fam] < acc[~fam]
            if self.levers.active:  # a shielded household member is picked less often
                ok[fam] &= ua[fam] < self.levers.person_victim[cand[fam]]
            got = self._first(cand, ok)
            victim[close] = got
            setting[close[got < 0]] = COMMUNITY

        night = (victim < 0) & (setting == NIGHT_TIME)
        place[night] = vi.draw_rows(self._catchment, home[night], u[night, 3])
        setting[night & (place < 0)] = COMMUNITY
        place[place < 0] = home[place < 0]
        community = (victim < 0) & (setting == COMMUNITY)
        at_day = community & (u[:, 4] < self.params.community.day_share)
        place[at_day] = self.day_place[offenders[at_day]]

        # candidates in rounds of CANDIDATE_ROUND, each round only for incidents still open
        far = np.flatnonzero(victim < 0)
        for first in range(0, int(v.max_candidates), CANDIDATE_ROUND):
            if not len(far):
                break
            k = CLOSE_TRIES + np.arange(first, min(first + CANDIDATE_ROUND, int(v.max_candidates)))
            victim[far] = self._far_victims(
                offenders[far], setting[far], place[far], at_day[far], active, k
            )
            far = far[victim[far] < 0]
        found = victim >= 0
        return Week(
            offender=offenders[found],
            victim=victim[found],
            setting=setting[found],
            place=place[found],
            key=offenders[found].astype(np.uint64),
        )

    def _far_victims(self, o, setting, place, at_day, active, k) -> np.ndarray:
        """Community and night-time victims for offenders o: candidates k (slots) drawn from the
        people at the place (night-time: out at the venue), the first accepted, or -1."""
        st, w = self.streams, self.week
        uv = st.keyed(Process.VICTIM, w, o[:, None], k)
        where = place[:, None]
        cand = np.empty(uv.shape, dtype=np.int64)
        night = setting == NIGHT_TIME
        home = ~night & ~at_day
        u2 = st.keyed(Process.VICTIM, w, o[night][:, None], k + 1024)
        from_home = vi.draw_rows(self._venue_home, where[night], u2)
        cand[night] = np.where(
            from_home >= 0, self._victims_out.draw(np.maximum(from_home, 0), uv[night]), -1
        )
        cand[at_day] = self._victims_day.draw(where[at_day], uv[at_day])
        cand[home] = self._victims_home.draw(where[home], uv[home])
        safe = np.maximum(cand, 0)
        ok = (cand >= 0) & (cand != o[:, None]) & active[safe]
        accept = st.keyed(Process.ACCEPT, w, o[:, None], k) < self._acceptance(safe)
        return self._first(cand, ok & accept)

    def _partner_abuse(self, wk: Week, active: np.ndarray) -> Week:
        """3b. Incidents in abusive relationships this week, added to the week's incidents:
        rate incidents_per_week x (1 + escalation x earlier incidents, capped) x the abuser's
        own dynamic terms and levers (so static risk acts through onset only); it pauses while
        either is dead or in custody, and ends when it runs out, at an arrest (arrest_exit_prob)
        or when the partnership ends (checked at the year start, when partnerships change)."""
        pa, s, w, p, o_par, lv = (
            self.params.partner,
            self.state,
            self.week,
            self.people,
            self.params.offending,
            self.levers,
        )
        # exact thinning: only abusers whose draw falls under the largest rate anyone could
        # have this week are looked at; for them the draw is compared with their own rate
        bound = o_par.exposure_log_rr + o_par.trauma_log_rr
        if lv.active:
            bound += float(lv.person_log_hazard.max()) + float(lv.community_log_hazard.max())
            bound += math.log(max(1.0, float(lv.person_victim.max())))
        top = pa.incidents_per_week * (1 + pa.escalation * ESCALATION_CAP) * np.exp(bound)
        u = self.streams.keyed(Process.PARTNER, w, self._abusers, 10)
        near = u < -np.expm1(-top)
        a, u = self._abusers[near], u[near]
        partner = p.partner[a]
        live = (s.abuse_from[a] <= w) & (s.abuse_until[a] > w) & (partner >= 0)
        live &= active[a] & active[np.maximum(partner, 0)]
        a, u = a[live], u[live]
        if len(a) == 0:
            return wk
        esc = 1 + pa.escalation * np.minimum(s.abuse_incidents[a], ESCALATION_CAP)
        rate = (
            pa.incidents_per_week
            * esc
            * np.exp(self._own_log_hazard(a) - self._static_log_hazard[a])
        )
        if lv.active:  # a shielded partner (safety planning) suffers fewer incidents
            rate = rate * lv.person_victim[p.partner[a]]
        o = a[u < -np.expm1(-rate)]
        s.abuse_incidents[o] += 1
        return Week(
            offender=np.concatenate([wk.offender, o]),
            victim=np.concatenate([wk.victim, p.partner[o].astype(np.int64)]),
            setting=np.concatenate([wk.setting, np.full(len(o), PARTNER, np.int8)]),
            place=np.concatenate([wk.place, p.community[o].astype(np.int64)]),
            key=np.concatenate([wk.key, o.astype(np.uint64) + PARTNER_KEY]),
        )

    def _street_lever(self, wk: Week) -> Week:
        """3c. Interventions' street-incident lever (place_incidents): each street incident at a
        place with factor m < 1 is removed with probability 1 - m; with m > 1 it happens again
        (same people, place and setting; its own draws) with probability m - 1."""
        if not self.levers.active:
            return wk
        m = self.levers.community_street[wk.place]
        street = ~IS_DOMESTIC[wk.setting]
        if not np.any(street & (m != 1)):
            return wk
        u = self.streams.keyed(Process.STREET, self.week, wk.key)
        keep = ~street | (m >= 1) | (u < m)
        again = street & (m > 1) & (u < m - 1)
        parts = [(f, getattr(wk, f)) for f in ("offender", "victim", "setting", "place", "key")]
        out = {f: np.concatenate([a[keep], a[again]]) for f, a in parts}
        out["key"][keep.sum() :] += REPEAT_KEY
        return Week(**out)

    @staticmethod
    def _first(candidates: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Per row, the first candidate that is ok, or -1."""
        col = ok.argmax(axis=1)
        rows = np.arange(len(candidates))
        return np.where(ok[rows, col], candidates[rows, col], -1)

    def _severity(self, wk: Week) -> None:
        """4. Weapon, injury, seriousness, death and admission; each incident gets one level."""
        sv, w, st = self.params.severity, self.week, self.streams
        o = wk.offender
        u_knife, u_injury, u_serious, u_death, u_admit, u_record = st.keyed(
            Process.SEVERITY, w, wk.key[:, None], np.arange(6)
        ).T
        # a knife: kitchen knives at home; otherwise mostly carried ones
        p_knife = np.where(
            IS_DOMESTIC[wk.setting],
            sv.domestic_knife_prob,
            np.where(
                self.state.carrying[o],
                sv.carrier_knife_prob
                * np.where(self.people.male[wk.victim], 1.0, sv.female_victim_knife_rr),
                sv.knife_prob,
            ),
        )
        wk.knife = u_knife < p_knife
        # partner abuse injures less often than violence at large (S18)
        bare = np.where(wk.setting == PARTNER, self.params.partner.injury_prob, sv.injury_prob)
        injured = u_injury < np.where(wk.knife, sv.knife_injury_prob, bare)
        serious = wk.knife | (u_serious < sv.serious_no_injury_prob)
        fatality = self.levers.community_fatality[wk.place]
        knife_death, other_death = sv.knife_death_prob * fatality, sv.other_death_prob * fatality
        dead = u_death < injured * np.where(wk.knife, knife_death, other_death)
        knife_injury = injured & wk.knife & ~dead
        # expected measures average over the weapon and injury draws too, so that every
        # incident averted moves them a little, not only the rare knife injuries
        knife_injured = p_knife * sv.knife_injury_prob
        wk.p_death = knife_injured * knife_death + (1 - p_knife) * bare * other_death
        wk.p_admission = knife_injured * (1 - knife_death) * sv.admission_prob
        admitted = knife_injury & (u_admit < sv.admission_prob)
        sev = np.full(len(o), MINOR, dtype=np.int8)
        sev[serious] = SERIOUS
        sev[injured] = INJURY
        sev[knife_injury] = KNIFE_INJURY
        sev[admitted] = ADMISSION
        sev[dead] = HOMICIDE
        wk.severity = sev
        p_rec = (
            oc.recording_probability(
                sev,
                wk.setting,
                self.people.male[wk.victim],
                (self.week - self.people.birth_week[wk.victim]) // WEEKS_PER_YEAR,
                self.params.justice,
            )
            * self.levers.community_recording[wk.place]
        )
        wk.recorded = u_record < p_rec
        wk.p_recorded = p_rec

    def _consequences(self, wk: Week, age: _AgesAt) -> None:
        """5. Trauma, exposure, retaliation targets, hospital attendance, arrest, disposal and
        custody; deaths. All take effect from next week."""
        o_par, j, w, st, s = (
            self.params.offending,
            self.params.justice,
            self.week,
            self.streams,
            self.state,
        )
        s.exposure *= np.float32(np.exp(-1 / o_par.exposure_mean_weeks))
        s.trauma *= np.float32(np.exp(-1 / o_par.trauma_mean_weeks))
        o, v, sev = wk.offender, wk.victim, wk.severity
        _add_at(s.trauma, v, 1)
        involved = np.concatenate([o, v])
        # the exposure an incident gives is weighted by the lever of the offender's community
        weight = self.levers.community_exposure[self.people.community[o]]
        rows, who = _csr_rows(self.network.indptr, self.network.indices, involved)
        _add_at(s.exposure, rows, np.concatenate([weight, weight])[who])
        rows, who = _csr_rows(self._hh_ptr, self._hh_members, self.people.household[v])
        _add_at(s.exposure, rows, o_par.household_exposure_weight * weight[who])
        s.last_aggressor[v] = o
        s.aggressor_week[v] = w
        injured = sev >= INJURY
        attends = injured & (
            (sev >= KNIFE_INJURY) | (st.keyed(Process.HOSPITAL, w, v) < j.hospital_attendance_prob)
        )
        s.last_hospital[v[attends & (sev != HOMICIDE)]] = w
        wk.attends = attends
        s.last_victim_recorded[v[wk.recorded]] = w
        abuse = wk.recorded & IS_DOMESTIC[wk.setting]
        homes = np.unique(self.people.household[np.concatenate([o[abuse], v[abuse]])])
        wk.household = _csr_rows(self._hh_ptr, self._hh_members, homes)[0]
        s.last_household_abuse[wk.household] = w
        dead = sev == HOMICIDE
        s.killed_week[v[dead]] = w + 1
        p_arrest = (
            np.where(dead, j.homicide_arrest_prob, j.arrest_prob)
            * self.levers.person_detection[o]
            * self.levers.community_detection[wk.place]
        )
        u_arrest, u_disp, u_custody, u_sentence, u_exit = st.keyed(
            Process.JUSTICE, w, wk.key[:, None], np.arange(5)
        ).T
        arrested = wk.recorded & (u_arrest < p_arrest)
        ends = arrested & (wk.setting == PARTNER) & (u_exit < self.params.partner.arrest_exit_prob)
        s.abuse_until[o[ends]] = w + 1
        wk.arrested = arrested
        s.arrests[o[arrested]] += 1
        s.last_arrest[o[arrested]] = w
        knife = sev >= KNIFE_INJURY
        divertible = arrested & ~dead & ~(knife & (sev != HOMICIDE))
        diverted = divertible & (u_disp < j.out_of_court_prob)
        chargeable = divertible & ~diverted
        s.last_chargeable[o[chargeable]] = w
        if self.levers.active:  # a funded diversion scheme takes share q of what would be charged
            p0, q = j.out_of_court_prob, self.levers.person_diversion[o]
            scheme = chargeable & (u_disp < p0 + (1 - p0) * q)
            s.last_scheme_diversion[o[scheme]] = w
            diverted = diverted | scheme
        s.last_out_of_court[o[diverted]] = w
        charged = arrested & ~diverted
        adult_custody = np.where(wk.knife, j.knife_custody_prob, j.custody_prob)
        child = age[o] <= CHILD_MAX_AGE
        p_custody = np.where(dead, 1.0, np.where(child, j.child_custody_prob, adult_custody))
        jailed = charged & (u_custody < p_custody)
        mean = np.where(wk.knife, j.knife_custody_mean_weeks, j.custody_mean_weeks)
        served = np.where(dead, j.homicide_custody_weeks, np.ceil(-mean * np.log1p(-u_sentence)))
        s.custody_until[o[jailed]] = np.maximum(
            s.custody_until[o[jailed]], w + 1 + served[jailed].astype(np.int64)
        )
        wk.diverted, wk.charged = diverted, charged
        wk.custody_weeks = np.where(jailed, served, 0).astype(np.int32)

    def _refer(self, wk: Week, age: np.ndarray) -> None:
        """5b. Referral to services (section 7.5b): only the people with a new event this week
        that an agency observes - arrest, A&E attendance for an assault, being named victim in
        a police-recorded incident, police-recorded partner or family abuse in the household
        (children only) - each referred with that event's probability (x young_adult_rr from
        18 to max_age), one keyed draw per person and event, so a referral is the same in
        every scenario where the event is. Within what is left of each CSP's capacity for the
        year, lowest keyed priority first. Referral changes no violence."""
        r, w, s, p = self.params.referral, self.week, self.state, self.people
        events = (
            wk.offender[wk.arrested],
            wk.victim[wk.attends & (wk.severity != HOMICIDE)],
            wk.victim[wk.recorded],
            wk.household,
        )
        probs = (r.arrest_prob, r.hospital_prob, r.victim_prob, r.household_abuse_prob)
        chosen = []
        for slot, (ids, prob) in enumerate(zip(events, probs, strict=True)):
            ids = np.unique(ids)
            a = age[ids]
            adult_rr = 0.0 if REFERRAL_EVENTS[slot] == "household_abuse" else r.young_adult_rr
            p_refer = prob * np.where(a <= CHILD_MAX_AGE, 1.0, adult_rr) * (a <= r.max_age)
            u = self.streams.keyed(Process.REFERRAL, w, ids, slot)
            chosen.append(ids[u < p_refer])
        ids = np.unique(np.concatenate(chosen))
        ids = ids[(p.death_week[ids] > w + 1) & (s.killed_week[ids] > w + 1)]  # alive next week
        if len(ids) == 0:
            return
        csp = self.community_csp[p.community[ids]].astype(np.int64)
        room = np.floor(self._referral_capacity) - self._referrals_made
        priority = self.streams.keyed(Process.REFERRAL, w, ids, len(REFERRAL_EVENTS))
        order = np.lexsort((priority, csp))
        ids, csp = ids[order], csp[order]
        rank = np.arange(len(ids)) - np.searchsorted(csp, csp)  # place in its CSP's queue
        taken = rank < room[csp]
        np.add.at(self._referrals_made, csp[taken], 1)
        s.referred_week[ids[taken]] = w

    def _measure(self, wk: Week, age: np.ndarray) -> measurement.Scoped:
        """6b. How the survey, police, hospitals and justice count this week (observation only)."""
        self._counters.fit(len(self.people))
        return measurement.observe(
            wk,
            age,
            self._counters,
            self.params.measurement,
            self.params.cost,
            self.streams,
            self.week,
        )

    # ---- 7. data collection -----------------------------------------------------------------
    def _group(self, ids: np.ndarray, age: np.ndarray, place: np.ndarray | None = None):
        comm = self.people.community[ids] if place is None else place
        band = BAND_OF_AGE[age[ids]]
        return (comm.astype(np.int64) * len(oc.AGE_BANDS) + band) * 2 + self.people.male[ids]

    def _collect(self, wk: Week, age: np.ndarray, sc: measurement.Scoped) -> None:
        """Counts by community x age band x sex, weighted back to the whole population.
        Incidents count where they happen, by the victim's age and sex."""
        t = self.week - self.burn_in_weeks
        acc = self._weekly[t]
        n_groups = acc.shape[0]
        g = self._group(wk.victim, age, wk.place)
        sev = wk.severity
        # nested incident measures: one row per (incident, level it counts in)
        i, k = np.nonzero(NESTED_FLAGS[sev])
        rec = wk.recorded[i]
        people = (
            (MEASURE_INDEX["offenders"], self._group(wk.offender, age)),
            (MEASURE_INDEX["victims"], self._group(np.unique(wk.victim), age)),
            (MEASURE_INDEX["arrests"], self._group(wk.offender[wk.arrested], age)),
            (
                MEASURE_INDEX["in_custody"],
                self._group(np.flatnonzero(self.state.custody_until > self.week + 1), age),
            ),
        )
        counts = np.concatenate(
            [
                NESTED_TRUE[k] * n_groups + g[i],
                NESTED_RECORDED[k[rec]] * n_groups + g[i[rec]],
                MEASURE_INDEX["admissions"] * n_groups + g[sev == ADMISSION],
                MEASURE_INDEX["homicides"] * n_groups + g[sev == HOMICIDE],
                *(j * n_groups + grp for j, grp in people),
                *(
                    MEASURE_INDEX[name] * n_groups + g[mask]
                    for name, mask in (
                        ("survey_incidents", sc.survey),
                        ("survey_victims", sc.survey_first),
                        ("survey_domestic_victims", sc.domestic_first),
                        ("reported", sc.reported),
                        ("suspects_identified", sc.suspect),
                        ("ae_attendances", sc.ae),
                        ("admissions_other", sc.admitted_other),
                    )
                ),
                MEASURE_INDEX["charges"] * n_groups + self._group(wk.offender[wk.charged], age),
                MEASURE_INDEX["out_of_court_disposals"] * n_groups
                + self._group(wk.offender[wk.diverted], age),
            ]
        )
        weighted = np.concatenate([j * n_groups + g for j in WEIGHTED])
        costs = oc.incident_costs(sev, self.params.cost)
        with_injury = (sev >= INJURY) & (sev <= ADMISSION)
        weights = np.concatenate(
            [
                wk.p_admission,
                wk.p_death,
                costs,
                sc.crimes,
                sc.crimes * with_injury,
                sc.cost_stated,
                costs * wk.recorded,
            ]
        )
        total = np.bincount(counts, minlength=acc.size) + np.bincount(
            weighted, weights, minlength=acc.size
        )
        acc += total.reshape(len(MEASURES), n_groups).T * self.weight
        self._incidents.append(
            {
                "week": np.full(len(sev), t, dtype=np.int32),
                "offender": wk.offender.astype(np.int64),
                "victim": wk.victim.astype(np.int64),
                "offender_age": age[wk.offender].astype(np.int16),
                "victim_age": age[wk.victim].astype(np.int16),
                "offender_male": self.people.male[wk.offender],
                "victim_male": self.people.male[wk.victim],
                "community": wk.place.astype(np.int16),
                "victim_home": self.people.community[wk.victim].astype(np.int16),
                "setting": wk.setting,
                "domestic": IS_DOMESTIC[wk.setting],
                "offender_carrying": self.state.carrying[wk.offender],
                "offender_in_group": self.state.group[wk.offender] >= 0,
                "knife": wk.knife,
                "severity": sev,
                "p_admission": wk.p_admission.astype(np.float32),
                "p_death": wk.p_death.astype(np.float32),
                "recorded": wk.recorded,
                "survey": sc.survey,
                "reported": sc.reported,
                "crimes": sc.crimes,
                "suspect_identified": sc.suspect,
                "disposal": (wk.diverted + 2 * wk.charged).astype(np.int8),
                "custody_weeks": wk.custody_weeks,
                "ae_attendance": sc.ae,
                "admitted": (sev == ADMISSION) | sc.admitted_other,
            }
        )

    # ---- running and results ----------------------------------------------------------------
    def run(self) -> Results:
        """Burn-in, then the projection; returns the tidy tables."""
        while self.week < self.total_weeks:
            self.step()
        return self.results()

    def results(self) -> Results:
        return Results(weekly=self.weekly_table(), incidents=self.incident_table())

    def weekly_table(self) -> pd.DataFrame:
        """Tidy: week x CSP x community x age band x sex x measure, with the measure's scope
        (model/scopes.py); zero rows kept."""
        n_weeks, n_groups, n_meas = self._weekly.shape
        n_bands = len(oc.AGE_BANDS)
        g = np.arange(n_groups)
        comm, band, male = g // (2 * n_bands), (g // 2) % n_bands, g % 2
        names = [c.name for c in self.area.communities]
        csps = [c.name for c in self.area.csps]
        week = np.repeat(np.arange(n_weeks), n_groups * n_meas)
        gi = np.tile(np.repeat(g, n_meas), n_weeks)
        mi = np.tile(np.arange(n_meas), n_weeks * n_groups)
        cat = pd.Categorical.from_codes
        return pd.DataFrame(
            {
                "week": week.astype(np.int32),
                "year": (self.settings.start_year + week // WEEKS_PER_YEAR).astype(np.int16),
                "csp": cat(self.community_csp[comm[gi]], csps),
                "community": cat(comm[gi], names),
                "age_band": cat(band[gi], list(oc.AGE_BAND_LABELS)),
                "sex": cat(male[gi], ["female", "male"]),
                "measure": cat(mi, list(MEASURES)),
                "scope": cat(SCOPE_OF_MEASURE[mi], SCOPE_NAMES),
                "value": self._weekly.reshape(-1),
            }
        )

    def incident_table(self) -> pd.DataFrame:
        """One row per incident of the projection, with its weight."""
        cols = {
            k: np.concatenate([d[k] for d in self._incidents]) if self._incidents else np.zeros(0)
            for k in (self._incidents[0] if self._incidents else {})
        }
        if not cols:
            return pd.DataFrame()
        names = [c.name for c in self.area.communities]
        csps = [c.name for c in self.area.csps]
        comm = cols.pop("community")
        home = cols.pop("victim_home")
        cat = pd.Categorical.from_codes
        frame = pd.DataFrame(cols)
        frame.insert(6, "community", cat(comm, names))
        frame.insert(7, "csp", cat(self.community_csp[comm], csps))
        frame.insert(8, "victim_home", cat(home, names))
        frame["offender_sex"] = np.where(frame.pop("offender_male"), "male", "female")
        frame["victim_sex"] = np.where(frame.pop("victim_male"), "male", "female")
        frame["setting"] = cat(frame["setting"], [s.name.lower() for s in Setting])
        frame["severity"] = cat(frame["severity"], [s.name.lower() for s in Severity])
        frame["disposal"] = cat(frame["disposal"], list(DISPOSALS))
        frame["weapon"] = np.where(frame.pop("knife"), "knife", "none")
        frame["weight"] = self.weight
        return frame

    # ---- looking at people as Mesa agents ---------------------------------------------------
    def agent(self, person: int) -> PersonAgent:
        """A Mesa agent view of one person, made on first request (never in the step)."""
        if person not in self._agents:
            self._agents[person] = PersonAgent(self, person)
        return self._agents[person]


class PersonAgent(mesa.Agent):
    """One person seen as a Mesa agent: reads the model's arrays, holds no state of its own."""

    def __init__(self, model: ViolenceModel, person: int):
        super().__init__(model)
        self.person = int(person)

    def __getattr__(self, name: str):
        m = self.__dict__.get("model")
        if m is not None and name in (
            *FACTORS,
            "male",
            "community",
            "household",
            "referred_at_start",
        ):
            return getattr(m.people, name)[self.person]
        raise AttributeError(name)

    @property
    def age(self) -> int:
        return int(self.model.people.age_years(self.model.week)[self.person])

    @property
    def alive(self) -> bool:
        return bool(self.model.alive()[self.person])

    @property
    def arrests(self) -> int:
        return int(self.model.state.arrests[self.person])


@dataclass
class Results:
    weekly: pd.DataFrame
    incidents: pd.DataFrame

    def totals(self) -> pd.DataFrame:
        """Summed values by year and measure (a compact summary)."""
        return self.weekly.groupby(["year", "measure"], observed=True)["value"].sum().unstack()


__all__ = ["NEVER", "PersonAgent", "Results", "ViolenceModel"]
