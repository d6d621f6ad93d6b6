"""An independent, idiomatic per-agent Mesa 3.3 implementation of a subset of the weekly rules.

It is a benchmark baseline (one Python object per person, one `step()` call per person per week)
and a statistical cross-check of the vectorised `svsim.model.ViolenceModel`: run with
`subset_params(params)` (and `subset_area(area)`), the fast model follows exactly these rules, so
the two must give the same weekly numbers of offenders within sampling error. Nothing here comes
from `svsim.model.model`; the people and peer ties are made by the same functions with the same
random streams, so for one seed both models hold the same people and the same ties.

The subset, week w = 0, 1, 2, ... (counted from 0 as in the fast model, no burn-in):

1. Age. A person's age in whole years is (w - birth_week) // 52.
2. Hazard. Each person's weekly hazard is
       h = exp(static + age_curve(age) + exposure_log_rr * (1 - exp(-exposure)))
   with, in the parameters of `params.offending`,
       static = log(base_hazard * csp.hazard_multiplier)        (-inf if that product is 0)
                + deprivation_log_rr * deprivation + urban_log_rr * urban
                + drug_market_log_rr * drug_market + night_time_economy_log_rr * night_time_economy
                - cohesion_log_rr * cohesion + society_log_rr         (the person's community)
                + male_log_rr * male
                + individual_risk_log_rr * individual_risk
                - individual_protective_log_rr * individual_protective
                + family_risk_log_rr * family_risk - family_protective_log_rr * family_protective
       age_curve(a) = -inf if a < min_age, else
                      age_peak_log_rr * exp(-(a - age_peak)^2 / (2 sd^2)),
                      sd = age_rise_sd if a < age_peak else age_fall_sd,
   and `exposure` as it stood at the end of last week.
3. Offending. Each person offends with probability 1 - exp(-h), at most once a week.
4. Victim. The victim is a uniformly random peer (a neighbour in the peer network); if the
   offender has no peers, a uniformly random other resident (any age) of the offender's community.
5. Exposure: at the start of its step each person senses its peers (networkx neighbours): its
   exposure decays by the factor exp(-1 / exposure_mean_weeks) and gains +1 for each incident a
   peer was involved in last week (as offender or victim; once per incident per tie, so a person
   can get several). This is the fast model's rule (exposure pushed along ties at the end of the
   week), written the way a per-agent model senses its neighbourhood.

Left out (switched off in the fast model by `subset_params` and `subset_area`): trauma, household
exposure, domestic, community, night-time and retaliation settings, victim vulnerability
(acceptance is 1), severity and deaths, recording, arrest and custody, mortality and arrivals,
interventions.
"""

from __future__ import annotations

import math
from dataclasses import replace

import mesa
import networkx as nx
import numpy as np
from svsim.model.area import Area
from svsim.model.model import ViolenceModel
from svsim.model.network import build_peer_network
from svsim.model.params import Params, RunSettings
from svsim.model.population import FACTORS, WEEKS_PER_YEAR, synthesise
from svsim.model.randomness import Process, Streams

PRIMARY_AGES = (4, 11)  # school phases, as in svsim.model.area.PHASE_AGES
SECONDARY_AGES = (11, 18)


def subset_params(params: Params) -> Params:
    """A copy of `params` with every process outside the subset switched off."""
    return replace(
        params,
        offending=replace(params.offending, trauma_log_rr=0.0, household_exposure_weight=0.0),
        victim=replace(
            params.victim,
            domestic_share=0.0,
            peer_share=1.0,
            retaliation_prob=0.0,
            victim_age_log_rr=0.0,
            overlap_log_rr=0.0,
            repeat_log_rr=0.0,
        ),
        justice=replace(params.justice, arrest_prob=0.0, homicide_arrest_prob=0.0),
        severity=replace(params.severity, knife_death_prob=0.0, other_death_prob=0.0),
        population=replace(params.population, mortality_log_base=-20.0),
    )


def subset_area(area: Area) -> Area:
    """The area without population growth: with no deaths, the fast model then adds no arrivals
    (it adds a year's arrivals at the start of each model year, week 0 included)."""
    return replace(area, population_growth_per_year=0.0)


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

    def static_part(self) -> float:
        """Log hazard from the person's factors, sex and community (all four levels)."""
        o, c = self.model.params.offending, self.community
        base = o.base_hazard * self.model.csp_multiplier[c.csp]
        if base <= 0:
            return -math.inf
        return (
            math.log(base)
            + o.deprivation_log_rr * c.deprivation
            + o.urban_log_rr * c.urban
            + o.drug_market_log_rr * c.drug_market
            + o.night_time_economy_log_rr * c.night_time_economy
            - o.cohesion_log_rr * c.cohesion
            + o.society_log_rr
            + o.male_log_rr * self.male
            + o.individual_risk_log_rr * self.individual_risk
            - o.individual_protective_log_rr * self.individual_protective
            + o.family_risk_log_rr * self.family_risk
            - o.family_protective_log_rr * self.family_protective
        )

    def hazard(self) -> float:
        age_term = self.model.age_log_rr(self.age())
        if age_term == -math.inf:
            return 0.0
        static = self.static_log_hazard if self.model.cache_static else self.static_part()
        if static == -math.inf:
            return 0.0
        o = self.model.params.offending
        return math.exp(static + age_term - o.exposure_log_rr * math.expm1(-self.exposure))

    def step(self) -> None:
        """Sense last week's violence among peers; decide whether to offend this week; if so,
        pick a victim and record the incident."""
        involved = self.model.involved_last_week
        self.exposure = self.exposure * self.model.exposure_decay + sum(
            involved.get(peer, 0) for peer in self.model.network.neighbors(self.person)
        )
        h = self.hazard()
        if h <= 0.0 or self.random.random() >= -math.expm1(-h):
            return
        peers = list(self.model.network.neighbors(self.person))
        if peers:
            victim = self.random.choice(peers)
        else:
            residents = self.model.residents[self.model.community_index[self.community.name]]
            victim = self.person
            while victim == self.person:  # uniform over the other residents
                victim = self.random.choice(residents)
        self.model.record_incident(self.person, victim)


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
        streams = Streams(settings.seed)
        people = synthesise(
            area,
            params.population,
            settings.population_scale,
            streams.generator(Process.POPULATION),
            streams.generator(Process.SAMPLING),
        )
        n = len(people)
        age = people.age_years(0)
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
            people.death_week > 0,
            params.network,
            streams.generator(Process.NETWORK, 0),
        )
        rows = np.repeat(np.arange(n), np.diff(adjacency.indptr))  # CSR -> edge list
        cols = adjacency.indices.astype(np.int64)
        upper = rows < cols
        self.network = nx.Graph()
        self.network.add_nodes_from(range(n))
        self.network.add_edges_from(zip(rows[upper].tolist(), cols[upper].tolist(), strict=True))

        self.csp_multiplier = {s.name: s.hazard_multiplier for s in area.csps}
        self.community_index = {c.name: i for i, c in enumerate(area.communities)}
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

        self.exposure_decay = math.exp(-1.0 / params.offending.exposure_mean_weeks)
        self.week_incidents: list[tuple[int, int]] = []
        self.involved_last_week: dict[int, int] = {}  # person -> incidents last week
        self.incidents: list[tuple[int, int, int]] = []  # (week, offender, victim)
        self.datacollector = mesa.DataCollector(
            model_reporters={"offenders": lambda m: len(m.week_incidents)}
        )

    def age_log_rr(self, age: int) -> float:
        """Log rate ratio of offending at a whole year of age: an asymmetric bell."""
        o = self.params.offending
        if age < o.min_age:
            return -math.inf
        sd = o.age_rise_sd if age < o.age_peak else o.age_fall_sd
        return o.age_peak_log_rr * math.exp(-0.5 * ((age - o.age_peak) / sd) ** 2)

    def record_incident(self, offender: int, victim: int) -> None:
        self.week_incidents.append((offender, victim))
        self.incidents.append((self.week, offender, victim))

    def step(self) -> None:
        self.week_incidents = []
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)
        self.involved_last_week = {}
        for offender, victim in self.week_incidents:
            for person in (offender, victim):
                self.involved_last_week[person] = self.involved_last_week.get(person, 0) + 1
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
