"""An independent, idiomatic per-agent Mesa 3.3 implementation of a subset of the weekly rules.

It is a benchmark baseline (one Python object per person, one `step()` call per person per week)
and a statistical cross-check of the vectorised `svsim.model.ViolenceModel`: run with
`subset_params(params)` (and `subset_area(area)`), the fast model follows exactly these rules, so
the two must give the same weekly numbers of offenders within sampling error. No rule here comes
from `svsim.model.model` or `svsim.model.violence` (the fast model is imported only to run it);
the people, peer ties and persistent victim risks are made from the same functions or random
streams, so for one seed both models hold the same people, ties and victim risks.

The subset, week w = 0, 1, 2, ... (counted from 0 as in the fast model, no burn-in), model year
y = w // 52:

1. Age. A person's age in whole years is (w - birth_week) // 52; the settings' rate ratios use
   the age at the start of the model year, a = (52 y - birth_week) // 52.
2. Hazard. Each person's weekly hazard is
       h = base_hazard * (youth + community) * exp(static - exposure_log_rr * expm1(-exposure))
   with, in the parameters of `params.offending`,
       static = log(csp.hazard_multiplier)                  (h = 0 if the multiplier is 0)
                + deprivation_log_rr * deprivation + urban_log_rr * urban
                + drug_market_log_rr * drug_market + night_time_economy_log_rr * night_time_economy
                - cohesion_log_rr * cohesion + society_log_rr         (the person's community)
                + individual_risk_log_rr * individual_risk
                - individual_protective_log_rr * individual_protective
                + family_risk_log_rr * family_risk - family_protective_log_rr * family_protective
       youth = youth.rate_ratio * rr(a; youth.peak_age, youth.rise_shape, youth.fall_shape,
                                       youth.female_rr)
       community = rr(a; community.peak_age, community.rise_shape, community.fall_shape,
                         community.female_rr)
       rr(a; peak, rise, fall, female_rr) = 0 if a < offending.min_age, else
           exp(shape * (ln(x) + 1 - x)), x = max(a, 0.5) / peak, shape = rise if a < peak else
           fall, times female_rr for women,
   and `exposure` as it stood at the end of last week.
3. Offending. Each person offends with probability 1 - exp(-h), at most once a week.
4. Setting. The offence is a youth one with probability youth / (youth + community), else a
   community one.
5. Victim. Youth: a uniformly random peer (a neighbour in this year's peer network); an offender
   with no peers offends in the community instead. Community: a resident (any age) of the
   offender's home community drawn in proportion to persistent victim risk - gamma(frailty_shape)
   with mean 1, drawn for everyone from the FRAILTY stream of year 0 (numpy's gamma) - times
   the CSEW stranger-plus-acquaintance weight of their sex and age at the start of the model year
   (the table `svsim.model.violence.CSEW_NON_DOMESTIC` over men 16-24; ages 10-15 at
   victim.child_rr and under 10 at victim.young_child_rr of their sex's 16-24 value); a
   draw that is the offender is repeated, up to victim.max_candidates draws in all, and an
   offence with no victim after those is dropped (no incident, not counted).
6. Exposure: at the start of its step each person senses last week's peers (networkx
   neighbours): its exposure decays by the factor exp(-1 / exposure_mean_weeks) and gains +1 for
   each incident a peer was involved in last week (as offender or victim; once per incident per
   tie, so a person can get several). This is the fast model's rule (exposure pushed along the
   week's ties at the end of the week), written the way a per-agent model senses its
   neighbourhood.
7. Peer ties are rebuilt at the start of each model year (week 52 y, y > 0) by the fast model's
   network function and stream, from that week's ages and schools.

Left out (switched off in the fast model by `subset_params` and `subset_area`): partner abuse,
family and night-time violence, street groups (no effect on rates or victims) and rival-group
victims, retaliation, trauma, household exposure, victim age, sex, overlap and repeat terms
(every youth peer is accepted), the day place of community incidents (all at home), knife
carrying, severity and deaths, recording, arrest and custody, mortality and arrivals,
interventions.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import accumulate

import mesa
import networkx as nx
import numpy as np
from svsim.model.area import Area
from svsim.model.model import ViolenceModel
from svsim.model.network import build_peer_network
from svsim.model.params import Params, RunSettings
from svsim.model.population import FACTORS, WEEKS_PER_YEAR, synthesise
from svsim.model.randomness import Process, Streams
from svsim.model.violence import CSEW_BAND_STARTS, CSEW_NON_DOMESTIC  # data, not rules

PRIMARY_AGES = (4, 11)  # school phases, as in svsim.model.area.PHASE_AGES
SECONDARY_AGES = (11, 18)


def subset_params(params: Params) -> Params:
    """A copy of `params` with every process outside the subset switched off."""
    return replace(
        params,
        offending=replace(params.offending, trauma_log_rr=0.0, household_exposure_weight=0.0),
        partner=replace(params.partner, onset_per_year=0.0),
        family=replace(params.family, rate_ratio=0.0),
        night_time=replace(params.night_time, rate_ratio=0.0),
        youth=replace(params.youth, group_rr=1.0, rival_prob=0.0),
        community=replace(params.community, day_share=0.0),
        groups=replace(params.groups, join_log_odds=-20.0),
        victim=replace(
            params.victim,
            youth_female_rr=1.0,
            retaliation_prob=0.0,
            overlap_log_rr=0.0,
            repeat_log_rr=0.0,
        ),
        justice=replace(params.justice, arrest_prob=0.0, homicide_arrest_prob=0.0),
        severity=replace(params.severity, knife_death_prob=0.0, other_death_prob=0.0),
        population=replace(params.population, mortality_log_base=-20.0, mortality_log_slope=0.0),
    )


def subset_area(area: Area) -> Area:
    """The area without population growth: with no deaths, the fast model then adds no arrivals
    (it adds a year's arrivals at the start of each model year, week 0 included)."""
    return replace(area, population_growth_per_year=0.0)


def age_sex_rr(
    age: int, male: bool, peak: float, rise: float, fall: float, female_rr: float, min_age: float
) -> float:
    """A setting's rate ratio at a whole year of age: 1 for a man at the peak age, 0 below
    min_age, log RR = shape * (ln(x) + 1 - x) with x = age / peak (rise below, fall above)."""
    if age < min_age:
        return 0.0
    x = max(age, 0.5) / peak
    rr = math.exp((rise if age < peak else fall) * (math.log(x) + 1 - x))
    return rr if male else rr * female_rr


class ReferencePerson(mesa.Agent):
    """One person: own attributes, a reference to its community, and current exposure.

    Idiomatically, `step()` works out the person's propensity from their own attributes every
    week (factors can change). With `model.cache_static` the factor and community part is summed
    once at construction instead - a leaner variant, measured too by `svsim bench`.
    """

    def __init__(
        self,
        model: ReferenceModel,
        person: int,
        birth_week: int,
        community,
        male: bool,
        factors: dict[str, float],
    ):
        super().__init__(model)
        self.person = person  # node of the peer graph, and row of the fast model's arrays
        self.birth_week = birth_week
        self.community = community  # an svsim.model.area.Community
        self.male = male
        self.individual_risk = factors["individual_risk"]
        self.individual_protective = factors["individual_protective"]
        self.family_risk = factors["family_risk"]
        self.family_protective = factors["family_protective"]
        self.exposure = 0.0
        self.static_log_hazard = self.static_part() if model.cache_static else None

    def age(self) -> int:
        return (self.model.week - self.birth_week) // WEEKS_PER_YEAR

    def age_at_year_start(self) -> int:
        year_start = self.model.week // WEEKS_PER_YEAR * WEEKS_PER_YEAR
        return (year_start - self.birth_week) // WEEKS_PER_YEAR

    def static_part(self) -> float:
        """Log rate ratio from the person's factors and community (all four levels)."""
        o, c = self.model.params.offending, self.community
        csp = self.model.csp_multiplier[c.csp]
        if csp <= 0:
            return -math.inf
        return (
            math.log(csp)
            + o.deprivation_log_rr * c.deprivation
            + o.urban_log_rr * c.urban
            + o.drug_market_log_rr * c.drug_market
            + o.night_time_economy_log_rr * c.night_time_economy
            - o.cohesion_log_rr * c.cohesion
            + o.society_log_rr
            + o.individual_risk_log_rr * self.individual_risk
            - o.individual_protective_log_rr * self.individual_protective
            + o.family_risk_log_rr * self.family_risk
            - o.family_protective_log_rr * self.family_protective
        )

    def setting_rates(self) -> tuple[float, float]:
        """Youth and community rate ratios at the age at the start of the model year."""
        p, age = self.model.params, self.age_at_year_start()
        y, c = p.youth, p.community
        min_age = p.offending.min_age
        youth = y.rate_ratio * age_sex_rr(
            age, self.male, y.peak_age, y.rise_shape, y.fall_shape, y.female_rr, min_age
        )
        community = age_sex_rr(
            age, self.male, c.peak_age, c.rise_shape, c.fall_shape, c.female_rr, min_age
        )
        return youth, community

    def hazard(self) -> float:
        youth, community = self.setting_rates()
        static = self.static_log_hazard if self.model.cache_static else self.static_part()
        if youth + community <= 0.0 or static == -math.inf:
            return 0.0
        o = self.model.params.offending
        return (
            o.base_hazard
            * (youth + community)
            * math.exp(static - o.exposure_log_rr * math.expm1(-self.exposure))
        )

    def step(self) -> None:
        """Sense last week's violence among last week's peers; decide whether to offend this
        week; if so, choose the setting and a victim and record the incident."""
        involved = self.model.involved_last_week
        self.exposure = self.exposure * self.model.exposure_decay + sum(
            involved.get(peer, 0) for peer in self.model.ties_last_week.neighbors(self.person)
        )
        h = self.hazard()
        if h <= 0.0 or self.random.random() >= -math.expm1(-h):
            return
        youth, community = self.setting_rates()
        victim = None
        if self.random.random() * (youth + community) < youth:
            peers = list(self.model.network.neighbors(self.person))
            if peers:
                victim = self.random.choice(peers)
        if victim is None:
            victim = self.community_victim()
        if victim is not None:
            self.model.record_incident(self.person, victim)

    def community_victim(self) -> int | None:
        """A resident of the home community in proportion to persistent victim risk, not
        oneself; None if every one of max_candidates draws is oneself."""
        c = self.model.community_index[self.community.name]
        residents, cum = self.model.residents[c], self.model.residents_cum_risk[c]
        for _ in range(int(self.model.params.victim.max_candidates)):
            victim = self.random.choices(residents, cum_weights=cum)[0]
            if victim != self.person:
                return victim
        return None


class ReferenceModel(mesa.Model):
    """The people of an area as Mesa agents on a networkx peer graph, stepped weekly."""

    def __init__(
        self,
        area: Area,
        params: Params,
        settings: RunSettings,
        weekly_seed: int,
        cache_static: bool = False,
    ):
        super().__init__(rng=weekly_seed)
        self.area, self.params, self.settings = area, params, settings
        self.cache_static = cache_static
        self.week = 0
        self.streams = Streams(settings.seed)
        self.people = synthesise(
            area,
            params.population,
            settings.population_scale,
            self.streams.generator(Process.POPULATION),
            self.streams.generator(Process.SAMPLING),
        )
        people, n = self.people, len(self.people)
        self.network = self.peer_ties(0)
        self.ties_last_week = self.network

        self.csp_multiplier = {s.name: s.hazard_multiplier for s in area.csps}
        self.community_index = {c.name: i for i, c in enumerate(area.communities)}
        # persistent victim risk: gamma(shape), mean 1, the quantile of each person's uniform
        shape = params.victim.frailty_shape
        rng = self.streams.generator(Process.FRAILTY, 0)  # everyone is there from week 0
        self.victim_risk = rng.gamma(shape, 1.0 / shape, n).astype(np.float32).tolist()
        self.persons: list[ReferencePerson] = []
        self.residents: list[list[int]] = [[] for _ in area.communities]
        for i in range(n):
            c = int(people.community[i])
            factors = {f: float(getattr(people, f)[i]) for f in FACTORS}
            self.persons.append(
                ReferencePerson(
                    self,
                    i,
                    int(people.birth_week[i]),
                    area.communities[c],
                    bool(people.male[i]),
                    factors,
                )
            )
            self.residents[c].append(i)
        self.residents_cum_risk = self.community_victim_weights(0)

        self.exposure_decay = math.exp(-1.0 / params.offending.exposure_mean_weeks)
        self.week_incidents: list[tuple[int, int]] = []
        self.involved_last_week: dict[int, int] = {}  # person -> incidents last week
        self.incidents: list[tuple[int, int, int]] = []  # (week, offender, victim)
        self.datacollector = mesa.DataCollector(
            model_reporters={"offenders": lambda m: len(m.week_incidents)}
        )

    def community_victim_weights(self, year: int) -> list[list[float]]:
        """Per community, the running sum over its residents of persistent victim risk times the
        CSEW stranger-plus-acquaintance weight of their age (at the year's start) and sex."""
        v, week = self.params.victim, year * WEEKS_PER_YEAR
        top = CSEW_NON_DOMESTIC["male"][0]

        def csew(person: int) -> float:
            age = (week - int(self.people.birth_week[person])) // WEEKS_PER_YEAR
            sex = "male" if self.people.male[person] else "female"
            band = max(i for i, start in enumerate((0, *CSEW_BAND_STARTS[1:])) if age >= start)
            value = CSEW_NON_DOMESTIC[sex][band] / top
            if age < 10:
                return CSEW_NON_DOMESTIC[sex][0] / top * v.young_child_rr
            return value * v.child_rr if age < 16 else value

        return [
            list(accumulate(self.victim_risk[i] * csew(i) for i in residents))
            for residents in self.residents
        ]

    def peer_ties(self, year: int) -> nx.Graph:
        """The peer graph of a model year, from the ages and schools at its first week."""
        people, week = self.people, year * WEEKS_PER_YEAR
        age = people.age_years(week)
        school = np.where(
            (age >= PRIMARY_AGES[0]) & (age < PRIMARY_AGES[1]),
            people.primary_school,
            np.where(
                (age >= SECONDARY_AGES[0]) & (age < SECONDARY_AGES[1]), people.secondary_school, -1
            ),
        )
        adjacency = build_peer_network(
            age,
            people.community,
            school,
            people.death_week > week,
            self.params.network,
            self.streams.generator(Process.NETWORK, year),
            male=people.male,
        )
        n = len(people)
        rows = np.repeat(np.arange(n), np.diff(adjacency.indptr))  # CSR -> edge list
        cols = adjacency.indices.astype(np.int64)
        upper = rows < cols
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(zip(rows[upper].tolist(), cols[upper].tolist(), strict=True))
        return graph

    def record_incident(self, offender: int, victim: int) -> None:
        self.week_incidents.append((offender, victim))
        self.incidents.append((self.week, offender, victim))

    def step(self) -> None:
        if self.week % WEEKS_PER_YEAR == 0 and self.week > 0:
            self.network = self.peer_ties(self.week // WEEKS_PER_YEAR)
            self.residents_cum_risk = self.community_victim_weights(self.week // WEEKS_PER_YEAR)
        self.week_incidents = []
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
        self.involved_last_week = {}
        for offender, victim in self.week_incidents:
            for person in (offender, victim):
                self.involved_last_week[person] = self.involved_last_week.get(person, 0) + 1
        self.ties_last_week = self.network
        self.week += 1

    def weekly_offenders(self) -> np.ndarray:
        return self.datacollector.get_model_vars_dataframe()["offenders"].to_numpy(np.int64)


def make_reference(
    area: Area, params: Params, settings: RunSettings, weekly_seed: int, cache_static=False
) -> ReferenceModel:
    """The reference model for the subset, people and ties from settings.seed."""
    return ReferenceModel(
        subset_area(area), subset_params(params), settings, weekly_seed, cache_static
    )


def run_reference(
    area: Area, params: Params, settings: RunSettings, weeks: int, weekly_seed: int
) -> np.ndarray:
    """Weekly numbers of offenders of the reference model over `weeks` weeks from week 0."""
    model = make_reference(area, params, settings, weekly_seed)
    for _ in range(weeks):
        model.step()
    return model.weekly_offenders()


def make_fast(area: Area, params: Params, settings: RunSettings, weeks: int):
    """The fast model with the subset switched on, no burn-in, long enough for `weeks` weeks."""
    years = max(1, math.ceil(weeks / WEEKS_PER_YEAR))
    return ViolenceModel(
        subset_area(area), subset_params(params), replace(settings, burn_in_years=0, years=years)
    )


def fast_weekly_offenders(model, weeks: int) -> np.ndarray:
    """Distinct offenders per week from the fast model's incident table (0 for empty weeks)."""
    table = model.incident_table()
    if table.empty:
        return np.zeros(weeks, dtype=np.int64)
    per_week = table.groupby("week")["offender"].nunique()
    return per_week.reindex(range(weeks), fill_value=0).to_numpy(np.int64)


def run_fast(area: Area, params: Params, settings: RunSettings, weeks: int) -> np.ndarray:
    """Weekly numbers of offenders of the fast ViolenceModel run with the subset."""
    model = make_fast(area, params, settings, weeks)
    for _ in range(weeks):
        model.step()
    return fast_weekly_offenders(model, weeks)
