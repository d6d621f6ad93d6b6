"""The Mesa model: people, places and peer network of an area, stepped weekly.

`ViolenceModel.step()` runs one week in the fixed order of model/ODD.md:
  1 propensity  2 offending  3 victim choice  4 severity  5 consequences  6 interventions
  6b measurement (what each counter sees)  7 data collection
Every process is a small function over arrays; nothing in the step iterates over people.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import mesa
import numpy as np
import pandas as pd

from . import measurement
from . import outcomes as oc
from .area import Area
from .hooks import Intervention, Levers, Observed
from .network import build_peer_network
from .outcomes import MEASURE_INDEX, MEASURES, Setting, Severity
from .params import ParameterError, Params, RunSettings
from .population import FACTORS, NEVER, WEEKS_PER_YEAR, arrivals, synthesise
from .randomness import Process, Streams
from .scopes import MEASURE_SCOPE, SCOPES

LONG_AGO = -(10**6)
MAX_AGE = 256  # lookup tables by whole year of age (nobody simulated reaches it: checked yearly)
BAND_OF_AGE = oc.age_band(np.arange(MAX_AGE))
CLOSE_TRIES = 4  # household or peer candidates tried before an incident moves outdoors
# plain ints for the hot path (enum attribute access is slow)
DOMESTIC, PEER, COMMUNITY, NIGHT_TIME, RETALIATION = (int(s) for s in Setting)
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
    last_hospital: np.ndarray
    arrests: np.ndarray
    last_aggressor: np.ndarray
    aggressor_week: np.ndarray
    killed_week: np.ndarray  # homicide victims; natural deaths are People.death_week

    @classmethod
    def empty(cls, n: int) -> State:
        long_ago = np.full(n, LONG_AGO, dtype=np.int32)
        return cls(
            exposure=np.zeros(n, np.float32),
            trauma=np.zeros(n, np.float32),
            custody_until=np.zeros(n, np.int32),
            last_arrest=long_ago.copy(),
            last_out_of_court=long_ago.copy(),
            last_hospital=long_ago.copy(),
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
    knife: np.ndarray = field(default=None)
    severity: np.ndarray = field(default=None)
    p_death: np.ndarray = field(default=None)
    p_admission: np.ndarray = field(default=None)
    recorded: np.ndarray = field(default=None)
    p_recorded: np.ndarray = field(default=None)
    arrested: np.ndarray = field(default=None)
    attends: np.ndarray = field(default=None)  # A&E
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


def _group_index(values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style grouping: (indptr, members sorted by group)."""
    order = np.argsort(values, kind="stable")
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(values, minlength=n_groups), out=indptr[1:])
    return indptr, order


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
        # a night-time economy draws people from across its CSP, so its size, not its number
        # of residents, sets where night-time incidents happen
        self._nte_weight = np.array([c.night_time_economy for c in comms], dtype=float)
        self._drug = np.array([c.drug_market for c in comms])

        self.people = synthesise(
            area,
            self.params.population,
            settings.population_scale,
            self.streams.generator(Process.POPULATION),
            self.streams.generator(Process.SAMPLING),
        )
        self.initial_population = len(self.people)
        self.state = State.empty(len(self.people))
        self.levers = Levers(len(self.people), self.n_communities, self._shift_factor)
        self._age_log_rr = self._age_curve()
        self._refresh_indexes()
        self._static_log_hazard = self._compute_static()
        self._start_year()

        n_groups = self.n_communities * len(oc.AGE_BANDS) * 2
        self._weekly = np.zeros((settings.years * WEEKS_PER_YEAR, n_groups, len(MEASURES)))
        self._counters = measurement.Counters.empty(len(self.people))
        self._incidents: list[dict[str, np.ndarray]] = []
        self._agents: dict[int, mesa.Agent] = {}

    # ---- set-up helpers -------------------------------------------------------------------
    def _community_terms(self) -> np.ndarray:
        o = self.params.offending
        c = self.area.communities
        csp_mult = {s.name: s.hazard_multiplier for s in self.area.csps}
        return np.array(
            [
                np.log(o.base_hazard * csp_mult[x.csp])
                if o.base_hazard * csp_mult[x.csp] > 0
                else -np.inf
                for x in c
            ]
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

    def _age_curve(self) -> np.ndarray:
        """Log rate ratio of offending by whole year of age: an asymmetric bell."""
        o = self.params.offending
        a = np.arange(MAX_AGE, dtype=float)
        sd = np.where(a < o.age_peak, o.age_rise_sd, o.age_fall_sd)
        curve = o.age_peak_log_rr * np.exp(-0.5 * ((a - o.age_peak) / sd) ** 2)
        curve[a < o.min_age] = -np.inf
        return curve.astype(np.float32)  # the weekly hazard is computed in single precision

    def _compute_static(self) -> np.ndarray:
        """The part of each person's log hazard that changes only when factors change."""
        o, p = self.params.offending, self.people
        return (
            self._community_log_rr[p.community]
            + o.male_log_rr * p.male
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
        self._hh_ptr, self._hh_members = _group_index(p.household, int(p.household.max()) + 1)
        self._comm_ptr, self._comm_members = _group_index(
            p.community.astype(np.int64), self.n_communities
        )
        csp = self.community_csp[p.community].astype(np.int64)
        self._csp_ptr, self._csp_members = _group_index(csp, len(self.area.csps))
        risk = p.individual_risk
        self._risk_pct = (np.argsort(np.argsort(risk)) / max(len(risk) - 1, 1)).astype(np.float32)

    def _peer_network(self):
        """This year's peer ties among the living (natural deaths only, so that the network is
        the same in every scenario): rebuilt each model year, so children who turn 10 and
        newcomers join, and friendships turn over as people change school."""
        return build_peer_network(
            self.people.age_years(self.week),
            self.people.community,
            self.current_school(),
            self.people.death_week > self.week,
            self.params.network,
            self.streams.generator(Process.NETWORK, self.week // WEEKS_PER_YEAR),
        )

    def alive(self) -> np.ndarray:
        return (self.people.death_week > self.week) & (self.state.killed_week > self.week)

    def current_school(self) -> np.ndarray:
        age = self.people.age_years(self.week)
        return np.where(
            (age >= 4) & (age < 11),
            self.people.primary_school,
            np.where((age >= 11) & (age < 18), self.people.secondary_school, -1),
        )

    # ---- demography -------------------------------------------------------------------------
    def _start_year(self) -> None:
        """At the start of each model year: this year's natural deaths (in random weeks),
        arrivals that keep the population on the area's projected path, and this year's peer
        network. Homicides are left out of all three, so they are the same in every scenario
        (common random numbers)."""
        year = self.week // WEEKS_PER_YEAR
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
        self.network = self._peer_network()
        if self.people.age_years(self.week + WEEKS_PER_YEAR).max() >= MAX_AGE:
            raise ParameterError(f"an age of {MAX_AGE}+ would be reached: shorten the run")

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
            t("start_year", self._start_year)
        w, s = self.week, self.state
        projecting = w >= self.burn_in_weeks
        active = t("active", lambda: self.alive() & (s.custody_until <= w))
        age = self.people.age_years(w)
        hazard = t("propensity", self._propensity, age)
        offenders = t("offending", self._offending, hazard, active)
        week = t("victim_choice", self._choose_victims, offenders, active, age)
        t("severity", self._severity, week, age)
        t("consequences", self._consequences, week)
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

    def _propensity(self, age: np.ndarray) -> np.ndarray:
        """1. Weekly hazard: static factors, age curve, exposure, trauma and levers combine on
        the log scale (values of last week's consequences: the one-week lag). Exposure and
        trauma act through 1 - exp(-x), so their effect saturates and contagion stays bounded."""
        o, s, lv = self.params.offending, self.state, self.levers
        log_h = (
            self._static_log_hazard
            + self._age_log_rr[age]
            - o.exposure_log_rr * np.expm1(-s.exposure)
            - o.trauma_log_rr * np.expm1(-s.trauma)
        )
        if lv.active:
            log_h += lv.person_log_hazard + lv.community_log_hazard[self.people.community]
        return np.exp(log_h)

    def _offending(self, hazard: np.ndarray, active: np.ndarray) -> np.ndarray:
        """2. Each active person offends at most once a week, with probability 1 - exp(-h)."""
        u = self.streams.full(Process.OFFEND, self.week, len(hazard))
        return np.flatnonzero(active & (np.expm1(-hazard) < -u))

    def _acceptance(self, ids: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Victim vulnerability in (0, 1]: age, victim-offender overlap, recent victimisation."""
        v = self.params.victim
        bell = np.exp(-0.5 * ((age[ids] - v.victim_age_peak) / v.victim_age_sd) ** 2)
        recent = 1 - np.exp(-self.state.trauma[ids])
        return np.exp(
            v.victim_age_log_rr * (bell - 1)
            + v.overlap_log_rr * (self._risk_pct[ids] - 1)
            + v.repeat_log_rr * (recent - 1)
        )

    def _choose_victims(self, offenders: np.ndarray, active: np.ndarray, age: np.ndarray) -> Week:
        """3. Setting, then victim: retaliation against a recent aggressor; a household member;
        a peer; or a community or night-time-economy victim drawn by vulnerability. Domestic and
        peer choices fall back to the community when no one is available."""
        v, w, st = self.params.victim, self.week, self.streams
        n = len(offenders)
        setting = np.full(n, COMMUNITY, dtype=np.int8)
        victim = np.full(n, -1, dtype=np.int64)
        u = st.keyed(Process.SETTING, w, offenders[:, None], np.arange(4))
        u_set, u_nte, u_ret, u_place = u.T
        setting[u_set < v.domestic_share + v.peer_share] = PEER
        setting[u_set < v.domestic_share] = DOMESTIC
        nte = (setting == COMMUNITY) & (age[offenders] >= 18) & (u_nte < v.night_time_share)
        setting[nte] = NIGHT_TIME
        aggressor = self.state.last_aggressor[offenders]
        ret = (
            (aggressor >= 0)
            & (self.state.aggressor_week[offenders] >= w - v.retaliation_weeks)
            & (u_ret < v.retaliation_prob)
        )
        ret[ret] = active[aggressor[ret]]
        victim[ret] = aggressor[ret]
        setting[ret] = RETALIATION
        place = self.people.community[offenders].astype(np.int64)
        if nte.any():
            place[nte] = self._night_places(offenders[nte], u_place[nte])

        close = np.flatnonzero(~ret & ((setting == DOMESTIC) | (setting == PEER)))
        if len(close):
            o = offenders[close]
            dom = setting[close] == DOMESTIC
            u = st.keyed(Process.VICTIM, w, o[:, None], np.arange(CLOSE_TRIES))
            cand = np.empty(u.shape, dtype=np.int64)
            cand[dom] = _csr_pick(
                self._hh_ptr, self._hh_members, self.people.household[o[dom]][:, None], u[dom]
            )
            cand[~dom] = _csr_pick(
                self.network.indptr, self.network.indices, o[~dom][:, None], u[~dom]
            )
            got = self._first(cand, (cand >= 0) & (cand != o[:, None]) & active[cand])
            victim[close] = got
            setting[close[got < 0]] = COMMUNITY  # no one at home or among peers: outdoors

        far = np.flatnonzero(victim < 0)
        if len(far):
            o = offenders[far]
            k = np.arange(CLOSE_TRIES, CLOSE_TRIES + int(v.max_candidates))
            u = st.keyed(Process.VICTIM, w, o[:, None], k)
            night = setting[far] == NIGHT_TIME
            cand = np.empty(u.shape, dtype=np.int64)
            cand[night] = _csr_pick(
                self._csp_ptr,
                self._csp_members,
                self.community_csp[place[far[night]]].astype(np.int64)[:, None],
                u[night],
            )
            cand[~night] = _csr_pick(
                self._comm_ptr, self._comm_members, place[far[~night]][:, None], u[~night]
            )
            ok = (cand >= 0) & (cand != o[:, None]) & active[cand]
            accept = st.keyed(Process.ACCEPT, w, o[:, None], k) < self._acceptance(cand, age)
            victim[far] = self._first(cand, ok & accept)
        found = victim >= 0
        return Week(
            offender=offenders[found],
            victim=victim[found],
            setting=setting[found],
            place=place[found],
        )

    @staticmethod
    def _first(candidates: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """Per row, the first candidate that is ok, or -1."""
        col = ok.argmax(axis=1)
        rows = np.arange(len(candidates))
        return np.where(ok[rows, col], candidates[rows, col], -1)

    def _night_places(self, offenders: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Night-time incidents happen in the offender's CSP, in proportion to each NTE's size."""
        csp = self.community_csp[self.people.community[offenders]]
        out = self.people.community[offenders].astype(np.int64)
        for c in np.unique(csp):
            comms = np.flatnonzero(self.community_csp == c)
            wts = self._nte_weight[comms]
            if wts.sum() <= 0:
                continue
            cdf = np.cumsum(wts) / wts.sum()
            sel = csp == c
            out[sel] = comms[np.minimum(np.searchsorted(cdf, u[sel], side="right"), len(comms) - 1)]
        return out

    def _severity(self, wk: Week, age: np.ndarray) -> None:
        """4. Weapon, injury, seriousness, death and admission; each incident gets one level."""
        sv, w, st = self.params.severity, self.week, self.streams
        o = wk.offender
        young = (age[o] >= 14) & (age[o] <= 25)
        base = (
            np.log(sv.knife_prob / (1 - sv.knife_prob))
            if 0 < sv.knife_prob < 1
            else (np.inf if sv.knife_prob >= 1 else -np.inf)
        )
        logit = base + sv.knife_young_log_or * young + sv.knife_drug_log_or * self._drug[wk.place]
        u_knife, u_injury, u_serious, u_death, u_admit, u_record = st.keyed(
            Process.SEVERITY, w, o[:, None], np.arange(6)
        ).T
        p_knife = 1 / (1 + np.exp(-logit))
        wk.knife = u_knife < p_knife
        injured = u_injury < np.where(wk.knife, sv.knife_injury_prob, sv.injury_prob)
        serious = wk.knife | (u_serious < sv.serious_no_injury_prob)
        fatality = self.levers.community_fatality[wk.place]
        knife_death, other_death = sv.knife_death_prob * fatality, sv.other_death_prob * fatality
        dead = u_death < injured * np.where(wk.knife, knife_death, other_death)
        knife_injury = injured & wk.knife & ~dead
        # expected measures average over the weapon and injury draws too, so that every
        # incident averted moves them a little, not only the rare knife injuries
        knife_injured = p_knife * sv.knife_injury_prob
        wk.p_death = knife_injured * knife_death + (1 - p_knife) * sv.injury_prob * other_death
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
            oc.recording_probability(sev, wk.setting, self.params.justice)
            * self.levers.community_recording[wk.place]
        )
        wk.recorded = u_record < p_rec
        wk.p_recorded = p_rec

    def _consequences(self, wk: Week) -> None:
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
        np.add.at(s.trauma, v, 1)
        involved = np.concatenate([o, v])
        # the exposure an incident gives is weighted by the lever of the offender's community
        weight = self.levers.community_exposure[self.people.community[o]]
        rows, who = _csr_rows(self.network.indptr, self.network.indices, involved)
        np.add.at(s.exposure, rows, np.concatenate([weight, weight])[who])
        rows, who = _csr_rows(self._hh_ptr, self._hh_members, self.people.household[v])
        np.add.at(s.exposure, rows, o_par.household_exposure_weight * weight[who])
        s.last_aggressor[v] = o
        s.aggressor_week[v] = w
        injured = sev >= INJURY
        attends = injured & (
            (sev >= KNIFE_INJURY) | (st.keyed(Process.HOSPITAL, w, v) < j.hospital_attendance_prob)
        )
        s.last_hospital[v[attends & (sev != HOMICIDE)]] = w
        wk.attends = attends
        dead = sev == HOMICIDE
        s.killed_week[v[dead]] = w + 1
        p_arrest = (
            np.where(dead, j.homicide_arrest_prob, j.arrest_prob)
            * self.levers.person_detection[o]
            * self.levers.community_detection[wk.place]
        )
        u_arrest, u_disp, u_custody, u_sentence = st.keyed(
            Process.JUSTICE, w, o[:, None], np.arange(4)
        ).T
        arrested = wk.recorded & (u_arrest < p_arrest)
        wk.arrested = arrested
        s.arrests[o[arrested]] += 1
        s.last_arrest[o[arrested]] = w
        knife = sev >= KNIFE_INJURY
        diverted = arrested & ~dead & ~(knife & (sev != HOMICIDE)) & (u_disp < j.out_of_court_prob)
        s.last_out_of_court[o[diverted]] = w
        charged = arrested & ~diverted
        p_custody = np.where(dead, 1.0, np.where(wk.knife, j.knife_custody_prob, j.custody_prob))
        jailed = charged & (u_custody < p_custody)
        mean = np.where(wk.knife, j.knife_custody_mean_weeks, j.custody_mean_weeks)
        served = np.where(dead, j.homicide_custody_weeks, np.ceil(-mean * np.log1p(-u_sentence)))
        s.custody_until[o[jailed]] = np.maximum(
            s.custody_until[o[jailed]], w + 1 + served[jailed].astype(np.int64)
        )
        wk.diverted, wk.charged = diverted, charged
        wk.custody_weeks = np.where(jailed, served, 0).astype(np.int32)

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
                "setting": wk.setting,
                "knife": wk.knife,
                "severity": sev,
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
        cat = pd.Categorical.from_codes
        frame = pd.DataFrame(cols)
        frame.insert(6, "community", cat(comm, names))
        frame.insert(7, "csp", cat(self.community_csp[comm], csps))
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
        if m is not None and name in (*FACTORS, "male", "community", "household", "referred"):
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
