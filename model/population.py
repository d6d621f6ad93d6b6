"""The people of an area as columns of NumPy arrays, one row per person, and how they are made.

Synthesis builds whole households community by community: adults (single or couples close in age)
with dependent children and some young adults attached to family households; risk and protective
factors are drawn with the correlations the strategy's ecological model implies (community
deprivation -> family risk -> individual risk; protection inversely related to risk).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .area import PHASE_AGES, PHASES, Area
from .params import PopulationParams

WEEKS_PER_YEAR = 52
NEVER = np.iinfo(np.int32).max
FACTORS = ("individual_risk", "individual_protective", "family_risk", "family_protective")


@dataclass
class People:
    """Struct of arrays. Ids are row numbers and never change; the dead keep their rows."""

    birth_week: np.ndarray  # int32, model week of birth (negative for people born before start)
    male: np.ndarray  # bool
    community: np.ndarray  # int16
    household: np.ndarray  # int32
    primary_school: np.ndarray  # int32, -1 if none
    secondary_school: np.ndarray  # int32, -1 if none
    individual_risk: np.ndarray  # float32, SD units
    individual_protective: np.ndarray  # float32, SD units
    family_risk: np.ndarray  # float32, SD units, shared in a household
    family_protective: np.ndarray  # float32, SD units, shared in a household
    referred_at_start: np.ndarray  # bool, a child already known to services at week 0 (the
    # referral process's initial stock; model/model.py `_refer` makes referrals after that)
    death_week: np.ndarray  # int32, NEVER while alive
    partner: np.ndarray  # int32, current partner's id, -1 if none (a couple share a household
    # when formed at synthesis; partnerships formed later need not)

    def __len__(self) -> int:
        return len(self.birth_week)

    def append(self, other: People) -> None:
        """Add people at the end; existing ids are untouched."""
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def age_years(self, week: int) -> np.ndarray:
        return (week - self.birth_week) // WEEKS_PER_YEAR


def _draw_ages(area: Area, n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages in whole years from the area's 5-year band shares (the last band spans 15 years)."""
    starts = np.array([b for b, _ in area.age_structure])
    shares = np.array([s for _, s in area.age_structure])
    widths = np.diff(np.append(starts, max(starts[-1] + 15, 100)))
    band = rng.choice(len(starts), size=n, p=shares / shares.sum())
    return starts[band] + np.floor(rng.random(n) * widths[band]).astype(np.int64)


def _households(
    ages: np.ndarray, p: PopulationParams, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Household number (0..H-1) for each person of one community, from their ages, and each
    person's partner (local index, -1 if none): the two adults of a couple household."""
    n = len(ages)
    hh = np.full(n, -1, dtype=np.int64)
    dependant = (ages < 18) | ((ages < 22) & (rng.random(n) < 0.5))
    adults = np.flatnonzero(~dependant)
    single = rng.random(len(adults)) < p.single_adult_share / (2 - p.single_adult_share)
    singles, paired = adults[single], adults[~single]
    paired = paired[np.argsort(ages[paired] + rng.normal(0, 3, len(paired)))]
    n_single, n_couple = len(singles), (len(paired) + 1) // 2
    hh[singles] = np.arange(n_single)
    hh[paired] = n_single + np.arange(len(paired)) // 2
    partner = np.full(n, -1, dtype=np.int64)
    whole = paired[: len(paired) // 2 * 2].reshape(-1, 2)
    partner[whole[:, 0]], partner[whole[:, 1]] = whole[:, 1], whole[:, 0]
    head_age = np.full(n_single + n_couple, 99)
    head_age[hh[adults]] = ages[adults]
    eligible = np.flatnonzero((head_age >= 20) & (head_age < 55))
    if len(eligible) == 0:
        eligible = np.arange(len(head_age))
    n_family = max(1, round(len(eligible) * p.family_household_share))
    families = rng.choice(eligible, size=min(n_family, len(eligible)), replace=False)
    deps = np.flatnonzero(dependant)
    hh[deps] = families[rng.integers(0, len(families), len(deps))]
    return hh, partner


def _individual(
    family_risk: np.ndarray, p: PopulationParams, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Individual risk and protection, given each person's family risk."""
    ind_risk = _mix(family_risk, p.family_individual_corr, rng)
    return {
        "individual_risk": ind_risk,
        "individual_protective": _mix(-ind_risk, p.risk_protective_corr, rng),
    }


def _mix(driver: np.ndarray, r: float, rng: np.random.Generator) -> np.ndarray:
    """A standard normal variable with correlation r to the (standard normal) driver."""
    return r * driver + np.sqrt(1 - r * r) * rng.standard_normal(len(driver))


def _factors(
    dep_z: np.ndarray, household: np.ndarray, p: PopulationParams, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Correlated risk and protective factors for people with household numbers 0..H-1."""
    hh_dep = np.zeros(household.max() + 1 if len(household) else 0)
    hh_dep[household] = dep_z
    fam_risk = _mix(hh_dep, p.deprivation_family_corr, rng)
    fam_prot = _mix(-fam_risk, p.risk_protective_corr, rng)
    return {
        "family_risk": fam_risk[household],
        "family_protective": fam_prot[household],
        **_individual(fam_risk[household], p, rng),
    }


def _deprivation_z(area: Area) -> np.ndarray:
    """Community deprivation standardised over residents."""
    dep = np.array([c.deprivation for c in area.communities])
    pop = np.array([c.population for c in area.communities], dtype=float)
    mean = np.average(dep, weights=pop)
    sd = np.sqrt(np.average((dep - mean) ** 2, weights=pop))
    return (dep - mean) / (sd if sd > 0 else 1.0)


def _assign_schools(area: Area, community: np.ndarray, rng: np.random.Generator):
    """Each pupil's school of each age phase, among those serving the home community, with
    probability in proportion to their rolls; a pupil at an all-through school stays there."""
    out = {}
    for phase in PHASE_AGES:
        school = np.full(len(community), -1, dtype=np.int32)
        for c, comm in enumerate(area.communities):
            serving = [
                i
                for i, s in enumerate(area.schools)
                if phase in PHASES[s.phase] and comm.name in s.communities
            ]
            members = np.flatnonzero(community == c)
            roll = np.array([area.schools[i].roll for i in serving])
            if np.all(roll == roll[0]):  # equal shares (kept as the draw it always was)
                pick = rng.integers(0, len(serving), len(members))
            else:
                cdf = np.cumsum(roll) / roll.sum()
                pick = np.minimum(
                    np.searchsorted(cdf, rng.random(len(members)), "right"), len(serving) - 1
                )
            school[members] = np.array(serving)[pick]
        out[phase] = school
    through = np.array([s.phase == "all_through" for s in area.schools] + [False])
    stays = through[out["primary"]]  # index -1 reads the trailing False
    out["secondary"][stays] = out["primary"][stays]
    return out


def _referred(
    ages: np.ndarray, ind_risk: np.ndarray, p: PopulationParams, rng: np.random.Generator
) -> np.ndarray:
    """Children (0-17) already known to services when the run starts, more often at higher
    individual risk. One uniform per person whatever the ages, so the draws after it in the
    population stream do not depend on who is a child."""
    logit = (
        np.log(p.referral_rate_young / (1 - p.referral_rate_young))
        if 0 < p.referral_rate_young < 1
        else (-np.inf if p.referral_rate_young == 0 else np.inf)
    )
    prob = 1 / (1 + np.exp(-(logit + p.referral_risk_log_or * ind_risk)))
    return (rng.random(len(ages)) < prob) & (ages < 18)


def synthesise(
    area: Area,
    p: PopulationParams,
    scale: float,
    rng: np.random.Generator,
    sample_rng: np.random.Generator,
) -> People:
    """Make the people of the area at week 0, keeping whole households with probability `scale`."""
    dep_z = _deprivation_z(area)
    parts = []
    hh_offset = n_before = 0
    for c, comm in enumerate(area.communities):
        ages = _draw_ages(area, comm.population, rng)
        hh, partner = _households(ages, p, rng)
        factors = _factors(np.full(len(hh), dep_z[c]), hh, p, rng)
        keep_hh = sample_rng.random(hh.max() + 1) < scale
        order = np.argsort(hh, kind="stable")
        order = order[keep_hh[hh[order]]]
        position = np.full(len(hh), -1, dtype=np.int64)
        position[order] = np.arange(len(order))
        kept_partner = partner[order]  # couples share a household, so both are kept or neither
        parts.append(
            {
                "partner": np.where(kept_partner >= 0, position[kept_partner] + n_before, -1),
                "ages": ages[order],
                "household": hh[order] + hh_offset,
                "community": np.full(len(order), c),
                **{k: v[order] for k, v in factors.items()},
            }
        )
        hh_offset += hh.max() + 1
        n_before += len(order)
    col = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    # renumber households 0..H-1 in order of appearance
    _, household = np.unique(col["household"], return_inverse=True)
    people = _make_people(area, p, col["ages"], col["community"], household, col, 0, rng)
    people.partner[:] = col["partner"]
    _couple_sexes(people, col["ages"], p, rng)
    return people


def _couple_sexes(people: People, ages: np.ndarray, p: PopulationParams, rng) -> None:
    """Couples are of opposite sex but for `same_sex_couple_share`; in opposite-sex couples the
    man is the elder with probability `older_man_share`."""
    first = np.flatnonzero(people.partner > np.arange(len(people)))
    second = people.partner[first]
    u = rng.random((3, len(first)))
    same = u[0] < p.same_sex_couple_share
    elder_first = (ages[first] > ages[second]) | ((ages[first] == ages[second]) & (u[1] < 0.5))
    man_is_elder = u[2] < p.older_man_share
    first_male = np.where(same, u[2] < 0.5, elder_first == man_is_elder)
    people.male[first] = first_male
    people.male[second] = np.where(same, first_male, ~first_male)


def _make_people(
    area: Area,
    p: PopulationParams,
    ages: np.ndarray,
    community: np.ndarray,
    household: np.ndarray,
    factors: dict,
    week: int,
    rng: np.random.Generator,
) -> People:
    n = len(ages)
    schools = _assign_schools(area, community, rng)
    birth_week = week - ages * WEEKS_PER_YEAR - rng.integers(0, WEEKS_PER_YEAR, n)
    return People(
        birth_week=birth_week.astype(np.int32),
        male=rng.random(n) >= area.female_share,
        community=community.astype(np.int16),
        household=household.astype(np.int32),
        primary_school=schools["primary"],
        secondary_school=schools["secondary"],
        **{k: np.asarray(factors[k], dtype=np.float32) for k in FACTORS},
        referred_at_start=_referred(ages, factors["individual_risk"], p, rng),
        death_week=np.full(n, NEVER, dtype=np.int32),
        partner=np.full(n, -1, dtype=np.int32),
    )


def arrivals(
    area: Area, people: People, p: PopulationParams, n: int, week: int, rng: np.random.Generator
) -> People:
    """n newcomers at `week`: babies born into family households, and young adult migrants
    setting up single households, in communities in proportion to their population."""
    n_birth = round(n * p.birth_share_of_arrivals)
    n_migrant = n - n_birth
    age = people.age_years(week)
    alive = people.death_week > week
    parents = np.flatnonzero(alive & (age >= 20) & (age < 45))
    if len(parents) == 0:
        parents = np.flatnonzero(alive)
    mother = parents[rng.integers(0, len(parents), n_birth)]
    pop = np.array([c.population for c in area.communities], dtype=float)
    mig_comm = rng.choice(len(pop), size=n_migrant, p=pop / pop.sum())
    first_new = int(people.household.max()) + 1
    household = np.concatenate([people.household[mother], first_new + np.arange(n_migrant)])
    community = np.concatenate([people.community[mother], mig_comm])
    ages = np.concatenate([np.zeros(n_birth, int), rng.integers(18, 36, n_migrant)])
    babies = {
        "family_risk": people.family_risk[mother],
        "family_protective": people.family_protective[mother],
        **_individual(people.family_risk[mother], p, rng),
    }
    migrants = _factors(_deprivation_z(area)[mig_comm], np.arange(n_migrant), p, rng)
    factors = {k: np.concatenate([babies[k], migrants[k]]) for k in FACTORS}
    new = _make_people(area, p, ages, community, household, factors, week, rng)
    new.birth_week[:n_birth] = week
    new.referred_at_start[:] = False  # known to services only through referral
    return new


def update_partnerships(
    people: People, week: int, p: PopulationParams, rng: np.random.Generator
) -> None:
    """A year of partnerships (scenario-invariant: homicides are ignored, as in demography):
    some end, and single adults aged 18-59 pair up with someone of the other sex in their
    community, matched by rank of age."""
    n = len(people)
    alive = people.death_week > week
    ids = np.arange(n)
    has = people.partner >= 0
    widowed = np.flatnonzero(has & ~alive[np.maximum(people.partner, 0)])
    people.partner[people.partner[widowed]] = -1
    people.partner[widowed] = -1
    first = np.flatnonzero((people.partner > ids) & alive)
    ends = first[rng.random(len(first)) < p.separation_per_year]
    people.partner[people.partner[ends]] = -1
    people.partner[ends] = -1
    age = people.age_years(week)
    single = alive & (people.partner < 0) & (age >= 18) & (age < 60)
    seeking = np.flatnonzero(single & (rng.random(n) < p.partnering_per_year))
    key = age[seeking] + rng.random(len(seeking))
    men = seeking[people.male[seeking]]
    women = seeking[~people.male[seeking]]
    men = men[np.lexsort((key[people.male[seeking]], people.community[men]))]
    women = women[np.lexsort((key[~people.male[seeking]], people.community[women]))]
    for c in np.unique(people.community[seeking]):
        m = men[people.community[men] == c]
        w = women[people.community[women] == c]
        k = min(len(m), len(w))
        if k == 0:
            continue
        # match by rank of age: the i-th of k men with the woman at the same age quantile
        mi = m[np.floor(np.arange(k) * len(m) / k).astype(np.int64)]
        wi = w[np.floor(np.arange(k) * len(w) / k).astype(np.int64)]
        people.partner[mi], people.partner[wi] = wi, mi
