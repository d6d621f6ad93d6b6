"""Funded interventions acting on the model through its hook: who is reached, when, and what
reaching them does.

One `Portfolio` per scenario run is the model's intervention. Each week it lets every funded
intervention enrol people (or cover schools or places) within the capacity its money buys, then
combines effects by a stated rule - on one person or place, several effects of the same kind give
the strongest (furthest from 1, benefit or harm), not the product - and sets the model's levers.

Rules that keep the arithmetic honest:
- reduction r becomes the weekly hazard multiplier 1 - r·g(t) for the people it applies to,
  g(t) = 0 before onset, 1 for effect_weeks, then halving every half_life_weeks;
- an ITT effect ("participants") applies to everyone who takes the intervention up, and is not
  discounted again by completion; a per-completer effect applies to completers only;
- a place effect (place_incidents) removes or repeats street incidents at the places: the
  published effect is on crime there, which already includes any contagion;
- capacity: money / unit cost (in that year's prices) units a year. For people, times the
  population scale, rounded down and then up with probability equal to the fraction (one keyed
  draw per intervention and year), so the expected real-equivalent reach is what the money buys
  at any scale; each simulated place spends money / capacity, never more than the allocation;
- schools (unit "pupil") are bought whole, in a keyed random order among the schools of the
  programme's phase serving its places, each at its roll of the programme's ages times the cost
  a pupil, until the next grouping would exceed the money; of that one, as many of its real
  schools as the rest of the money buys (a keyed share of its pupils);
- an allocation that can reach no one (wrong phase, no one of its ages, no age range) is refused
  before any run (`reach_problems`).
"""

from __future__ import annotations

import numpy as np
from svsim.model.area import PHASE_AGES, PHASES, School
from svsim.model.randomness import Streams

from .inputs import Draw
from .library import Allocation, Intervention, Scenario, ScenarioError, quote
from .prices import Prices

WEEKS = 52
WORKFORCE = 1000  # practitioners a trained workforce covers; assumed, for engagement coverage
# keyed slots of an intervention's stream (0-4: offer order, acceptance, completion, school
# order, pupil take-up)
PART_SCHOOL_SLOT = 5  # key 0: which pupils of a partly bought grouping are covered
CAPACITY_SLOT = 6  # key year: rounds that year's simulated capacity up or down
REACH_UNIT = {"participant": "people", "pupil": "pupils", "place_year": "places"}


def place_indices(places: tuple[str, ...], area) -> np.ndarray:
    """Indices of the communities an allocation names (community, CSP or "all"), sorted."""
    return np.array(
        [
            i
            for i, c in enumerate(area.communities)
            if any(p in ("all", c.name, c.csp) for p in places)
        ],
        dtype=np.int64,
    )


def pupils_of_ages(school: School, ages: tuple[int, int]) -> float:
    """Pupils of these ages on a school's roll (real count): the roll times the share of the
    year groups it teaches (PHASE_AGES of its phases) that fall in the ages, year groups equal."""
    taught = [a for p in PHASES[school.phase] for a in range(*PHASE_AGES[p])]
    inside = sum(ages[0] <= a <= ages[1] for a in taught)
    return school.roll * inside / len(taught)


def school_places(area) -> list[np.ndarray]:
    """Per school, the indices of the communities it serves."""
    names = [c.name for c in area.communities]
    return [np.array([names.index(c) for c in s.communities], np.int64) for s in area.schools]


def serving_schools(
    ages: tuple[int, int], places: np.ndarray, served: list[np.ndarray], schools
) -> np.ndarray:
    """Schools a school programme can buy for these places: serving at least one of them and
    teaching some of its ages (so a secondary-age programme buys secondary or all-through)."""
    return np.array(
        [
            i
            for i, comms in enumerate(served)
            if np.isin(comms, places).any() and pupils_of_ages(schools[i], ages) > 0
        ],
        dtype=np.int64,
    )


def age_share(area, ages: tuple[int, int]) -> float:
    """Share of the area's residents aged ages[0] to ages[1], from its age bands as the
    population draws them (each band to the next start; the last 15 years, to at least 100)."""
    starts = np.array([b for b, _ in area.age_structure], dtype=float)
    shares = np.array([s for _, s in area.age_structure])
    ends = np.append(starts[1:], max(starts[-1] + 15, 100))
    inside = np.clip(np.minimum(ends, ages[1] + 1) - np.maximum(starts, ages[0]), 0, None)
    return float((shares * inside / (ends - starts)).sum())


def _no_reach(spec: Intervention, alloc: Allocation, area) -> str | None:
    """Why this allocation can reach no one, judged from the area and library alone, or None."""
    if spec.unit == "place_year" or spec.mechanism == "engagement":
        return None  # places, or practitioners: not the area's residents of an age
    ages = spec.ages
    ok = isinstance(ages, tuple | list) and len(ages) == 2
    ok = ok and all(isinstance(a, int | np.integer) and not isinstance(a, bool) for a in ages)
    if not ok or ages[0] > ages[1] or ages[0] < 0:
        return f"ages={quote(ages)} is an empty or unknown age range"
    if age_share(area, ages) <= 0:
        return f"nobody aged {ages[0]}-{ages[1]} lives in the area (its age_structure)"
    if spec.unit != "pupil":
        return None
    taught = [p for p, (lo, hi) in PHASE_AGES.items() if ages[0] < hi and ages[1] >= lo]
    if not taught:
        spans = ", ".join(f"{p} {lo}-{hi - 1}" for p, (lo, hi) in PHASE_AGES.items())
        return f"ages {ages[0]}-{ages[1]} are taught in no school phase ({spans})"
    if not area.school_register.assumed_roll and all(s.roll == 1.0 for s in area.schools):
        return "the area gives no school rolls to price pupils (school_register.assumed_roll)"
    places = place_indices(alloc.places, area)
    if len(serving_schools(ages, places, school_places(area), area.schools)) == 0:
        kinds = [k for k, phases in PHASES.items() if set(phases) & set(taught)]
        return (
            f"no {' or '.join(k.replace('_', '-') for k in kinds)} school serves its places "
            f"({quote(', '.join(alloc.places))})"
        )
    return None


def reach_problems(scenario: Scenario, library: dict, area, where: str | None = None) -> list[str]:
    """One line per funded allocation that can reach no one, naming the scenario, the
    allocation's index, its intervention and why; static (area and library), before any run."""
    where = where or f"scenario {scenario.name}"
    out = []
    for i, a in enumerate(scenario.allocations):
        if a.amount_per_year <= 0 or a.intervention not in library:
            continue  # nothing to deliver; unknown names are the validator's
        why = _no_reach(library[a.intervention], a, area)
        if why:
            out.append(
                f"{where}.allocations[{i}].intervention={quote(a.intervention)}: reaches no one: "
                f"{why}"
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


class Strongest:
    """Several multipliers of one kind on some people or places: the strongest wins (the one
    furthest from 1 on the log scale, the lower on a tie), whether it helps or harms. Kept as
    (id, multiplier) pairs, so the work scales with those reached, not with the population."""

    def __init__(self):
        self._ids: list[np.ndarray] = []
        self._m: list[np.ndarray] = []

    @property
    def touched(self) -> bool:
        return bool(self._ids)

    def add(self, ids: np.ndarray, m: np.ndarray) -> None:
        if len(ids):
            self._ids.append(np.asarray(ids, dtype=np.int64))
            self._m.append(np.asarray(m, dtype=float))

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids ascending, the winning multiplier of each) for every id given one."""
        if not self._ids:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        ids, m = np.concatenate(self._ids), np.concatenate(self._m)
        with np.errstate(divide="ignore"):
            strength = np.abs(np.log(m))
        order = np.lexsort((m, -strength, ids))  # by id, then strongest first, then lowest
        ids, m = ids[order], m[order]
        first = np.ones(len(ids), dtype=bool)
        np.not_equal(ids[1:], ids[:-1], out=first[1:])
        return ids[first], m[first]

    def dense(self, n: int) -> np.ndarray:
        """The winners as one multiplier per id 0..n-1 (1 where none was given)."""
        out = np.ones(n)
        ids, m = self.result()
        out[ids] = m
        return out


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
        schools: tuple[School, ...] = (),
    ):
        self.spec, self.alloc, self.draw = spec, alloc, draw
        self.stream = 100 + index  # a stream per intervention, the same in every scenario
        self.places = places  # community indices targeted
        self.school_places = school_places
        self.prices, self.start_year, self.scale, self.streams = prices, start_year, scale, streams
        # school programmes: eligible-phase schools serving the places, in a keyed order that is
        # the same in every scenario; each one's pupils of the programme's ages and real schools
        serving = np.zeros(0, dtype=np.int64)
        if spec.unit == "pupil":
            serving = serving_schools(spec.ages, places, school_places, schools)
        order = self.streams.keyed(self.stream, 0, serving, 3)
        self.school_order = serving[np.argsort(order, kind="stable")]
        self.school_pupils = np.array([pupils_of_ages(s, spec.ages) for s in schools])
        self.school_count = np.array([s.schools for s in schools], dtype=np.int64)
        self._capacity_of: dict[int, int] = {}  # year -> simulated places
        self._enrolled: dict[int, int] = {}  # year -> simulated people enrolled
        self._pool = np.zeros(0, dtype=bool)  # per person: offerable at some week this year
        self._pool_year = None
        self.enrol_week = np.zeros(0, dtype=np.int64)  # per participant
        self.people = np.zeros(0, dtype=np.int64)
        self.effective = np.zeros(0, dtype=bool)  # participants the effect applies to
        self.offered = np.zeros(0, dtype=bool)  # per person: offered already
        self.spend: dict[int, dict] = {}  # year -> accounting
        self.place_coverage = 0.0
        self.divert_offer, self.divert_ids = 0.0, np.zeros(0, dtype=np.int64)  # pathway lever
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
        """The year's money and reach, in real-population units: participants, reached and
        eligible are simulated counts / scale (places and practitioners are not scaled)."""
        return self.spend.setdefault(
            year,
            {
                "budget": self.alloc.amount_per_year,
                "spent": 0.0,
                "units": 0.0,
                "participants": 0.0,
                "reached": 0.0,
                "eligible": 0.0,
            },
        )

    @property
    def reach_unit(self) -> str:
        """What `reached` counts: people, pupils, places or practitioners."""
        return (
            "practitioners" if self.spec.mechanism == "engagement" else REACH_UNIT[self.spec.unit]
        )

    def capacity(self, year: int) -> int:
        """Simulated places this year: units bought x scale, rounded down, plus one with
        probability equal to the fraction (a keyed draw of this intervention's stream and the
        year), so capacity / scale has expectation the units bought at any scale, and is the same
        in every scenario funding the same amount."""
        if year not in self._capacity_of:
            want = self.units_bought(year) * self.scale
            whole = int(np.floor(want))
            u = self.streams.keyed(self.stream, year, np.zeros(1, np.int64), CAPACITY_SLOT)[0]
            self._capacity_of[year] = whole + int(u < want - whole)
        return self._capacity_of[year]

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
        elif self.spec.unit == "pupil":
            if week % WEEKS == 0 or not self.spend.get(year):
                self._cover_schools(week, year, observed, uptake_factor)
        elif self.spec.identification == "diversion":
            self._divert(week, year, observed, uptake_factor)
        else:
            self._enrol_people(week, year, observed, uptake_factor)

    def _divert(self, week: int, year: int, observed, uptake_factor: float) -> None:
        """A diversion scheme: enrol the people whose chargeable arrest it diverted this week
        (they admitted the offence and accepted: the scheme offered share `uptake`), then, while
        the year's places paced to this week are not all filled, offer the next week's
        chargeable arrests of its ages and places (the pathway lever, set in `divert_offer`).
        A week's diversions can fill a few places past capacity; spending stops at the money."""
        acc = self._account(year)
        capacity = self.capacity(year)
        ok = self.in_scope(observed)
        new = self._eligible(week, observed)  # (also makes room for newcomers)
        self._note_eligible(year, np.flatnonzero(ok & (observed.last_chargeable_week == week)), acc)
        if len(new):
            self.offered[new] = True
            self._add_participants(week, new)
            self._enrolled[year] = self._enrolled.get(year, 0) + len(new)
            acc["participants"] += len(new) / self.scale
        acc["reached"] = acc["participants"]
        enrolled = self._enrolled.get(year, 0)
        filled = min(1.0, enrolled / capacity) if capacity else 0.0
        acc["units"] = self.units_bought(year) * filled
        acc["spent"] = self.alloc.amount_per_year * filled
        open_places = capacity * ((week % WEEKS) + 1) // WEEKS > enrolled
        self.divert_offer = 0.0
        if open_places and self.funded(self.start_year + (week + 1) // WEEKS):
            self.divert_offer = min(1.0, self.draw.uptake * uptake_factor)
            ok[: len(self.offered)] &= ~self.offered  # a second diversion is not a new place
            self.divert_ids = np.flatnonzero(ok)

    def in_scope(self, observed, ids: np.ndarray | None = None) -> np.ndarray:
        """Per person (of `ids`, default everyone): alive, free, of the programme's ages and
        living in its places."""
        at = slice(None) if ids is None else ids
        age = observed.age[at]
        ok = observed.alive[at] & ~observed.in_custody[at]
        ok &= (age >= self.spec.ages[0]) & (age <= self.spec.ages[1])
        return ok & np.isin(observed.community[at], self.places, kind="table")

    def _eligible(self, week: int, observed) -> np.ndarray:
        """Whom the programme can offer a place this week: found by its identification, then
        in scope and not offered before, tested for those found only (the week's work scales
        with them, not with the population)."""
        s = self.spec
        ident, lookback = s.identification, s.lookback_weeks
        if ident == "arrest":
            ids = np.flatnonzero(week - observed.last_arrest_week <= lookback)
        elif ident == "group":  # every member of a group one of whom was arrested
            group = observed.group
            members = np.flatnonzero(group >= 0)
            hit = week - observed.last_arrest_week[members] <= lookback
            ids = members[np.isin(group[members], np.unique(group[members[hit]]))]
        elif ident == "out_of_court":
            ids = np.flatnonzero(week - observed.last_out_of_court_week <= lookback)
        elif ident == "diversion":  # diverted this week (the scheme's own doing)
            ids = np.flatnonzero(observed.last_scheme_diversion_week == week)
        elif ident == "hospital":
            ids = np.flatnonzero(week - observed.last_hospital_week <= lookback)
        elif ident == "referral":
            ids = np.flatnonzero(week - observed.referred_week <= lookback)
        elif ident == "school":
            ids = np.flatnonzero(observed.school >= 0)
        else:
            ids = np.arange(observed.n)
        ids = ids[self.in_scope(observed, ids)]
        if len(self.offered) < observed.n:
            self.offered = np.concatenate(
                [self.offered, np.zeros(observed.n - len(self.offered), bool)]
            )
        return ids[~self.offered[ids]]

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
        """Offer this week's share of the year's capacity (paced to fill it by week 52); each
        simulated place filled spends money / capacity, so spending never exceeds the money."""
        acc = self._account(year)
        capacity = self.capacity(year)
        allowed_so_far = capacity * ((week % WEEKS) + 1) // WEEKS
        candidates = self._eligible(week, observed)
        self._note_eligible(year, candidates, acc)
        enrolled = self._enrolled.get(year, 0)
        new = self._take_up(week, candidates, allowed_so_far - enrolled, uptake_factor)
        if len(new):
            self._add_participants(week, new)
            self._enrolled[year] = enrolled = enrolled + len(new)
            acc["participants"] += len(new) / self.scale
        acc["reached"] = acc["participants"]
        # a year whose capacity rounded to nobody spends its money if it found anyone to offer
        # a place to: that money stands for places the simulated population is too small to show
        filled = enrolled / capacity if capacity else float(acc["eligible"] > 0)
        acc["units"] = self.units_bought(year) * filled
        acc["spent"] = self.alloc.amount_per_year * filled

    def _note_eligible(self, year: int, ids: np.ndarray, acc: dict) -> None:
        """Count the distinct people offerable at some week of the year (real-equivalent)."""
        if self._pool_year != year:
            self._pool, self._pool_year = np.zeros(len(self.offered), dtype=bool), year
        if len(self._pool) < len(self.offered):
            self._pool = np.concatenate(
                [self._pool, np.zeros(len(self.offered) - len(self._pool), bool)]
            )
        fresh = ids[~self._pool[ids]]
        self._pool[fresh] = True
        acc["eligible"] += len(fresh) / self.scale

    def _cover_schools(self, week: int, year: int, observed, uptake_factor: float) -> None:
        """Buy whole schools in the keyed order while the money lasts, then as many real schools
        of the next grouping as the rest buys; offer every pupil of the ages in them."""
        acc = self._account(year)
        order = self.school_order
        cost = self.school_pupils[order] * self.unit_cost(year)  # a grouping's year, real money
        money = self.alloc.amount_per_year
        whole = int(np.searchsorted(np.cumsum(cost), money * (1 + 1e-12), side="right"))
        spent, paid = float(cost[:whole].sum()), float(self.school_pupils[order[:whole]].sum())
        part, share = -1, 0.0
        if whole < len(order):
            part = int(order[whole])
            per_school = cost[whole] / self.school_count[part]
            k = int(np.floor((money - spent) / per_school * (1 + 1e-12))) if per_school > 0 else 0
            share = k / self.school_count[part]
            spent += k * per_school
            paid += share * self.school_pupils[part]
        age, at = observed.age, observed.school
        in_ages = observed.alive & (age >= self.spec.ages[0]) & (age <= self.spec.ages[1])
        eligible = np.flatnonzero(in_ages & np.isin(at, order))
        covered = np.isin(at[eligible], order[:whole])
        if share > 0:
            draw = self.streams.keyed(self.stream, 0, eligible, PART_SCHOOL_SLOT)
            covered |= (at[eligible] == part) & (draw < share)
        pupils = eligible[covered]
        take = self.streams.keyed(self.stream, year, pupils, 4) < self.draw.uptake * uptake_factor
        self._add_participants(week, pupils[take])
        acc["units"] = paid  # pupils paid for
        acc["participants"] += take.sum() / self.scale
        acc["reached"] = acc["participants"]
        acc["eligible"] = len(eligible) / self.scale
        acc["spent"] = spent

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
        acc["units"] = acc["reached"] = used
        acc["eligible"] = float(
            WORKFORCE if self.spec.mechanism == "engagement" else len(self.places)
        )
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
        problems = reach_problems(scenario, library, area)
        if problems:  # the loaders refuse these first; a last guard for direct callers
            raise ScenarioError(problems)
        order = {n: i for i, n in enumerate(sorted(library))}
        served = school_places(area)
        streams = Streams(seed)
        self.funded = []
        for alloc in scenario.allocations:
            if alloc.amount_per_year <= 0:
                continue
            self.funded.append(
                Funded(
                    library[alloc.intervention],
                    alloc,
                    draws[alloc.intervention],
                    order[alloc.intervention],
                    place_indices(alloc.places, area),
                    served,
                    prices,
                    start_year,
                    scale,
                    streams,
                    area.schools,
                )
            )
        self.n_communities = len(area.communities)

    def apply(self, week: int, observed, levers) -> None:
        uptake_factor = 1.0
        for f in self.funded:
            if f.spec.mechanism == "engagement":
                f.enrol(week, observed, 1.0)
                uptake_factor *= f.place_multiplier(week)  # 1 + change x coverage
        for f in self.funded:
            if f.spec.mechanism != "engagement":
                f.enrol(week, observed, uptake_factor)
        self._set_levers(week, observed, levers)

    def _set_levers(self, week: int, observed, levers) -> None:
        kinds = ("person_hazard", "victim_risk", "knife_carrying", "fatality_people")
        person = {k: Strongest() for k in kinds}
        place = {k: Strongest() for k in ("place_incidents", "fatality")}
        for f in self.funded:
            mech = f.spec.mechanism
            if mech in ("person_hazard", "victim_risk", "knife_carrying") or (
                mech == "fatality" and f.spec.unit == "participant"
            ):
                ids, m = f.person_multipliers(week)
                person["fatality_people" if mech == "fatality" else mech].add(ids, m)
            elif mech in ("place_incidents", "fatality"):
                place[mech].add(f.places, np.full(len(f.places), f.place_multiplier(week)))
        for f in self.funded:  # diversion schemes: the strongest offer wins
            if f.spec.identification == "diversion" and f.divert_offer > 0:
                levers.divert(f.divert_ids, f.divert_offer)
        for kind, pull in (
            ("person_hazard", levers.scale_hazard),
            ("victim_risk", levers.scale_victim_risk),
            ("knife_carrying", levers.scale_carrying),
        ):
            ids, m = person[kind].result()
            changed = m != 1
            if changed.any():
                pull(ids[changed], m[changed])
        street = place["place_incidents"].dense(self.n_communities)
        changed = np.flatnonzero(street != 1)
        if len(changed):
            levers.scale_street_incidents(changed, street[changed])
        fatality = place["fatality"].dense(self.n_communities)
        trained = person["fatality_people"]
        if trained.touched:
            # trained young people make a place's injuries less often fatal in proportion to
            # the share of its residents trained (coverage), strongest rule per person
            fatality = fatality * self._trained_share(*trained.result(), observed.community)
        changed = np.flatnonzero(fatality != 1)
        if len(changed):
            levers.scale_fatality(changed, fatality[changed])

    def _trained_share(self, ids: np.ndarray, m: np.ndarray, community: np.ndarray) -> np.ndarray:
        effect = np.bincount(community[ids], weights=1 - m, minlength=self.n_communities)
        people = np.bincount(community, minlength=self.n_communities)
        return 1 - effect / np.maximum(people, 1)

    def spending(self) -> list[dict]:
        """Rows: year, intervention, tier, evidence, budget, spent, units (spent / unit cost),
        participants, reached and eligible (real-equivalent) with their reach_unit, unspent."""
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
                        "reach_unit": f.reach_unit,
                        "unspent": acc["budget"] - acc["spent"],
                    }
                )
        return rows
