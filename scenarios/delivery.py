"""Funded interventions acting on the model through its hook: who is reached, when, and what
reaching them does.

One `Portfolio` per scenario run is the model's intervention. Each week it lets every funded
intervention enrol people (or cover schools or places) within the capacity its money buys, then
combines effects by a stated rule - on one person or place, several effects of the same kind give
the strongest, not the product - and sets the model's levers.

Rules that keep the arithmetic honest:
- reduction r becomes the weekly hazard multiplier 1 - r·g(t) for the people it applies to,
  g(t) = 0 before onset, 1 for effect_weeks, then halving every half_life_weeks;
- an ITT effect ("participants") applies to everyone who takes the intervention up, and is not
  discounted again by completion; a per-completer effect applies to completers only;
- an area-level effect (place_hazard) acts on the places and scales the exposure their incidents
  give by 1/m, so contagion does not count the published effect a second time;
- capacity: money / unit cost (in that year's prices) units a year, times the population scale for
  people; never more.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from svsim.model.randomness import Streams

from .library import Allocation, Intervention, Scenario
from .prices import Prices

WEEKS = 52
WORKFORCE = 1000  # practitioners a trained workforce covers; assumed, for engagement coverage


@dataclass(frozen=True)
class Draw:
    """One replicate's values of an intervention's uncertain inputs (same for all scenarios)."""

    reduction: float
    uptake: float
    completion: float
    unit_cost: float


def pert(rng: np.random.Generator, low: float, mode: float, high: float) -> float:
    """A draw from the PERT distribution on [low, high] with the given mode."""
    if high <= low:
        return mode
    a = 1 + 4 * (mode - low) / (high - low)
    b = 1 + 4 * (high - mode) / (high - low)
    return low + (high - low) * rng.beta(a, b)


def draw_inputs(
    library: dict[str, Intervention], seed: int, replicate: int, uncertain: bool = True
) -> dict[str, Draw]:
    """Draw every intervention's effect, uptake, completion and unit cost for one replicate."""
    out = {}
    for i, name in enumerate(sorted(library)):
        spec = library[name]
        if not uncertain:
            out[name] = Draw(
                spec.effect.value, spec.uptake.value, spec.completion.value, spec.unit_cost.value
            )
            continue
        rng = np.random.default_rng([seed, 7_001, replicate, i])
        out[name] = Draw(
            *(
                pert(rng, e.low, e.value, e.high)
                for e in (spec.effect, spec.uptake, spec.completion, spec.unit_cost)
            )
        )
    return out


def _profile(t: np.ndarray, spec: Intervention) -> np.ndarray:
    """g(t): share of the full effect t weeks after enrolment (or the start of funding)."""
    after = t - spec.onset_weeks - spec.effect_weeks
    return np.where(
        t < spec.onset_weeks,
        0.0,
        np.where(after < 0, 1.0, 0.5 ** (np.maximum(after, 0) / spec.half_life_weeks)),
    )


class Funded:
    """One allocation of one intervention in one scenario run."""

    def __init__(
        self,
        spec: Intervention,
        alloc: Allocation,
        draw: Draw,
        index: int,
        places: np.ndarray,
        school_places: list[np.ndarray],
        prices: Prices,
        start_year: int,
        scale: float,
        streams: Streams,
    ):
        self.spec, self.alloc, self.draw = spec, alloc, draw
        self.stream = 100 + index  # a stream per intervention, the same in every scenario
        self.places = places  # community indices targeted
        self.school_places = school_places
        self.prices, self.start_year, self.scale, self.streams = prices, start_year, scale, streams
        self.enrol_week = np.zeros(0, dtype=np.int64)  # per participant
        self.people = np.zeros(0, dtype=np.int64)
        self.effective = np.zeros(0, dtype=bool)  # participants the effect applies to
        self.offered = np.zeros(0, dtype=bool)  # per person: offered already
        self.spend: dict[int, dict] = {}  # year -> accounting
        self.place_coverage = 0.0
        self.place_since = None  # week funding of places began
        self.place_until = None  # last funded week

    # ---- money --------------------------------------------------------------------------
    def unit_cost(self, year: int) -> float:
        return self.draw.unit_cost * self.prices.uprate(self.spec.unit_cost_price_year, year)

    def units_bought(self, year: int) -> float:
        cost = self.unit_cost(year)
        return self.alloc.amount_per_year / cost if cost > 0 else 0.0

    def funded(self, year: int) -> bool:
        return (
            self.alloc.start_year <= year <= self.alloc.end_year and self.alloc.amount_per_year > 0
        )

    def _account(self, year: int) -> dict:
        return self.spend.setdefault(
            year,
            {"budget": self.alloc.amount_per_year, "spent": 0.0, "units": 0.0, "participants": 0.0},
        )

    # ---- weekly -------------------------------------------------------------------------
    def enrol(self, week: int, observed, uptake_factor: float) -> None:
        """Find and enrol people (or cover places) within this year's capacity."""
        year = self.start_year + week // WEEKS
        if not self.funded(year):
            return
        if self.spec.unit == "place_year" or (
            self.spec.unit == "participant" and self.spec.mechanism == "engagement"
        ):
            self._fund_places(week, year)
        elif self.spec.unit == "school":
            if week % WEEKS == 0 or not self.spend.get(year):
                self._cover_schools(week, year, observed, uptake_factor)
        else:
            self._enrol_people(week, year, observed, uptake_factor)

    def _eligible(self, week: int, observed) -> np.ndarray:
        s = self.spec
        age = observed.age
        ok = observed.alive & ~observed.in_custody & (age >= s.ages[0]) & (age <= s.ages[1])
        ok &= np.isin(observed.community, self.places)
        if s.identification == "arrest":
            ok &= week - observed.last_arrest_week <= s.lookback_weeks
        elif s.identification == "out_of_court":
            ok &= week - observed.last_out_of_court_week <= s.lookback_weeks
        elif s.identification == "hospital":
            ok &= week - observed.last_hospital_week <= s.lookback_weeks
        elif s.identification == "referral":
            ok &= observed.referred
        elif s.identification == "school":
            ok &= observed.school >= 0
        if len(self.offered) < len(ok):
            self.offered = np.concatenate(
                [self.offered, np.zeros(len(ok) - len(self.offered), bool)]
            )
        return np.flatnonzero(ok & ~self.offered)

    def _take_up(
        self, week: int, candidates: np.ndarray, allow: int, uptake_factor: float
    ) -> np.ndarray:
        """Offer places in a fixed random order until `allow` people have accepted."""
        if allow <= 0 or len(candidates) == 0:
            return np.zeros(0, dtype=np.int64)
        order = self.streams.keyed(self.stream, 0, candidates, 0)
        candidates = candidates[np.argsort(order, kind="stable")]
        accept = (
            self.streams.keyed(self.stream, 0, candidates, 1) < self.draw.uptake * uptake_factor
        )
        taken = np.cumsum(accept)
        considered = (
            candidates[: np.searchsorted(taken, allow) + 1] if taken[-1] >= allow else candidates
        )
        self.offered[considered] = True
        return considered[accept[: len(considered)]][:allow]

    def _add_participants(self, week: int, ids: np.ndarray) -> None:
        complete = self.streams.keyed(self.stream, 0, ids, 2) < self.draw.completion
        applies = complete if self.spec.applies_to == "completers" else np.ones(len(ids), bool)
        self.people = np.concatenate([self.people, ids])
        self.enrol_week = np.concatenate([self.enrol_week, np.full(len(ids), week)])
        self.effective = np.concatenate([self.effective, applies])

    def _enrol_people(self, week: int, year: int, observed, uptake_factor: float) -> None:
        acc = self._account(year)
        capacity = int(np.floor(self.units_bought(year) * self.scale))  # simulated people a year
        allowed_so_far = int(np.floor(capacity * ((week % WEEKS) + 1) / WEEKS))
        enrolled = round(acc["participants"] * self.scale)
        new = self._take_up(
            week, self._eligible(week, observed), allowed_so_far - enrolled, uptake_factor
        )
        if len(new):
            self._add_participants(week, new)
            acc["participants"] += len(new) / self.scale
            acc["units"] = acc["participants"]
            acc["spent"] = acc["participants"] * self.unit_cost(year)

    def _cover_schools(self, week: int, year: int, observed, uptake_factor: float) -> None:
        acc = self._account(year)
        n_schools = int(np.floor(self.units_bought(year)))
        serving = np.array(
            [i for i, comms in enumerate(self.school_places) if np.isin(comms, self.places).any()],
            dtype=np.int64,
        )
        if n_schools <= 0 or len(serving) == 0:
            return
        order = self.streams.keyed(self.stream, 0, serving, 3)
        covered = serving[np.argsort(order, kind="stable")][:n_schools]
        age = observed.age
        pupils = np.flatnonzero(
            np.isin(observed.school, covered)
            & observed.alive
            & (age >= self.spec.ages[0])
            & (age <= self.spec.ages[1])
        )
        take = self.streams.keyed(self.stream, year, pupils, 4) < self.draw.uptake * uptake_factor
        self._add_participants(week, pupils[take])
        acc["units"] = len(covered)
        acc["participants"] += take.sum() / self.scale
        acc["spent"] = len(covered) * self.unit_cost(year)

    def _fund_places(self, week: int, year: int) -> None:
        acc = self._account(year)
        units = self.units_bought(year)
        if self.spec.mechanism == "engagement":
            used, coverage = units, min(1.0, units / WORKFORCE)
        else:
            used = min(float(np.floor(units)), float(len(self.places)))
            coverage = used / len(self.places) if len(self.places) else 0.0
        self.place_coverage = coverage
        if self.place_since is None:
            self.place_since = week
        self.place_until = week
        acc["units"] = used
        acc["spent"] = used * self.unit_cost(year)

    # ---- effects ------------------------------------------------------------------------
    def person_multipliers(self, week: int) -> tuple[np.ndarray, np.ndarray]:
        """(people, hazard or fatality multiplier) for participants the effect applies to."""
        if len(self.people) == 0:
            return self.people, np.zeros(0)
        g = _profile(week - self.enrol_week, self.spec)
        live = self.effective & (g > 0)
        return self.people[live], 1 - self.draw.reduction * g[live]

    def place_multiplier(self, week: int) -> float:
        """Multiplier for the targeted places (or, for engagement, of others' uptake)."""
        if self.place_since is None:
            return 1.0
        since = week - self.place_since
        after = max(0, week - self.place_until - 1)
        g = float(_profile(np.array(since), self.spec)) if since >= 0 else 0.0
        if after > 0:
            g *= 0.5 ** (after / self.spec.half_life_weeks)
        return 1 - self.draw.reduction * self.place_coverage * g


class Portfolio:
    """A scenario's funded interventions, as one intervention on the model's hook."""

    def __init__(
        self,
        scenario: Scenario,
        library: dict[str, Intervention],
        draws: dict[str, Draw],
        area,
        prices: Prices,
        start_year: int,
        scale: float,
        seed: int,
    ):
        self.scenario = scenario
        names = [c.name for c in area.communities]
        csp_of = {c.name: c.csp for c in area.communities}
        order = {n: i for i, n in enumerate(sorted(library))}
        school_places = [np.array([names.index(c) for c in s.communities]) for s in area.schools]
        streams = Streams(seed)
        self.funded = []
        for alloc in scenario.allocations:
            if alloc.amount_per_year <= 0:
                continue
            places = np.array(
                sorted(
                    {
                        names.index(n)
                        for n in names
                        for p in alloc.places
                        if p in ("all", n, csp_of[n])
                    }
                ),
                dtype=np.int64,
            )
            self.funded.append(
                Funded(
                    library[alloc.intervention],
                    alloc,
                    draws[alloc.intervention],
                    order[alloc.intervention],
                    places,
                    school_places,
                    prices,
                    start_year,
                    scale,
                    streams,
                )
            )
        self.n_communities = len(names)

    def apply(self, week: int, observed, levers) -> None:
        uptake_factor = 1.0
        for f in self.funded:
            if f.spec.mechanism == "engagement":
                f.enrol(week, observed, 1.0)
                uptake_factor *= 1 / f.place_multiplier(week)  # 1 + r·coverage, as 1/(1 - ...)
        for f in self.funded:
            if f.spec.mechanism != "engagement":
                f.enrol(week, observed, uptake_factor)
        self._set_levers(week, observed, levers)

    def _set_levers(self, week: int, observed, levers) -> None:
        n = observed.n
        person = {"person_hazard": None, "fatality_people": None}
        place = {
            "place_hazard": np.ones(self.n_communities),
            "fatality": np.ones(self.n_communities),
        }
        for f in self.funded:
            mech = f.spec.mechanism
            if mech == "person_hazard" or (mech == "fatality" and f.spec.unit == "participant"):
                ids, m = f.person_multipliers(week)
                key = "person_hazard" if mech == "person_hazard" else "fatality_people"
                if len(ids):
                    best = person[key] if person[key] is not None else np.ones(n)
                    np.minimum.at(best, ids, m)
                    person[key] = best
            elif mech in ("place_hazard", "fatality"):
                m = f.place_multiplier(week)
                place[mech][f.places] = np.minimum(place[mech][f.places], m)
        if person["person_hazard"] is not None:
            ids = np.flatnonzero(person["person_hazard"] != 1)
            levers.scale_hazard(ids, person["person_hazard"][ids])
        changed = np.flatnonzero(place["place_hazard"] != 1)
        if len(changed):
            m = place["place_hazard"][changed]
            levers.scale_community_hazard(changed, m)
            levers.scale_exposure(changed, np.where(m > 0, 1 / np.maximum(m, 1e-12), 1.0))
        fatality = place["fatality"]
        if person["fatality_people"] is not None:
            # trained young people make a place's injuries less often fatal in proportion to
            # the share of its residents trained (coverage), strongest rule per person
            fatality = fatality * self._trained_share(person["fatality_people"], observed.community)
        changed = np.flatnonzero(fatality != 1)
        if len(changed):
            levers.scale_fatality(changed, fatality[changed])

    def _trained_share(self, per_person: np.ndarray, community: np.ndarray) -> np.ndarray:
        effect = np.bincount(community, weights=1 - per_person, minlength=self.n_communities)
        people = np.bincount(community, minlength=self.n_communities)
        return 1 - effect / np.maximum(people, 1)

    def spending(self) -> list[dict]:
        """Rows: year, intervention, tier, evidence, budget, spent, units, participants."""
        rows = []
        for f in self.funded:
            for year in range(f.alloc.start_year, f.alloc.end_year + 1):
                acc = f.spend.get(year)
                if acc is None:
                    continue
                rows.append(
                    {
                        "year": year,
                        "intervention": f.spec.name,
                        "tier": f.spec.tier,
                        "evidence": f.spec.evidence,
                        **acc,
                        "unspent": acc["budget"] - acc["spent"],
                    }
                )
        return rows
