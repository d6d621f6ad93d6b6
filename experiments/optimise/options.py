"""The options of `svsim optimise`, derived from the area and the intervention library: each
intervention in each place set, funded from a minimum viable amount to its capacity a year.

Capacity follows what delivery (scenarios/delivery.py) can reach, at the central unit cost in
the first projection year's prices:
- school programmes (unit pupil): every school of its phase serving the places, each at its roll
  of the programme's ages; the minimum is the cheapest single real school;
- place programmes (unit place_year): every community of the places; the minimum one place;
- workforce training (mechanism engagement): delivery's WORKFORCE practitioners (coverage stops
  there); the minimum `minimum_people` practitioners;
- people programmes: the residents of its ages in the places times the share its identification
  route finds in a year (`identified_per_year`, assumed in conf/optimise.yaml: delivery finds
  them week by week in the model, so no figure exists before a run); the minimum
  `minimum_people` people.
An option that can reach no one there (delivery.reach_problems), or whose capacity is below its
minimum, is left out and said why. Today's programmes are options too (their own place sets), so
they can be kept as commitments and confirmed as the mix to beat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from svsim.scenarios.delivery import (
    WORKFORCE,
    age_share,
    place_indices,
    pupils_of_ages,
    reach_problems,
    school_places,
    serving_schools,
)
from svsim.scenarios.library import TIERS, Allocation, Scenario, quote

from ..config import ConfigError
from .mix import Mix, Option, Problem, Share


@dataclass(frozen=True)
class Derived:
    """An option and how its bounds were found (for options.csv)."""

    option: Option
    basis: str  # what the capacity counts
    units: float  # how many of them (people, pupils, places, practitioners) a year


def place_sets(area, given: list | None) -> list[tuple[str, ...]]:
    """The place sets options target: each CSP of the area, or the given lists of places."""
    if given is None:
        return [(c.name,) for c in area.csps]
    known = {c.name for c in area.communities} | {c.name for c in area.csps} | {"all"}
    out = []
    for i, places in enumerate(given):
        if not (isinstance(places, list) and places and all(isinstance(p, str) for p in places)):
            raise ConfigError(f"places[{i}]={quote(places)}: must be a non-empty list of places")
        for p in places:
            if p not in known:
                raise ConfigError(f"places[{i}]={quote(p)}: is not a community or CSP of this area")
        out.append(tuple(places))
    return out


def chosen(library: dict, given: list | None) -> list[str]:
    """The interventions options are made of: every one in the library, or the given names."""
    if given is None:
        return sorted(library)
    for name in given:
        if name not in library:
            known = ", ".join(sorted(library))
            raise ConfigError(f"interventions: unknown intervention {quote(name)} (known: {known})")
    return list(dict.fromkeys(given))


def _unit_cost(spec, prices, year: int) -> float:
    return spec.unit_cost.value * prices.uprate(spec.unit_cost_price_year, year)


def bounds(spec, places: tuple[str, ...], area, prices, year: int, capacity: dict) -> tuple:
    """(minimum, maximum, basis, units) in pounds a year of one intervention in one place set."""
    cost = _unit_cost(spec, prices, year)
    idx = place_indices(places, area)
    people = capacity["minimum_people"]
    if spec.unit == "pupil":
        served = serving_schools(spec.ages, idx, school_places(area), area.schools)
        pupils = np.array([pupils_of_ages(area.schools[i], spec.ages) for i in served])
        each = pupils / np.array([area.schools[i].schools for i in served])
        return (
            each.min() * cost,
            pupils.sum() * cost,
            "pupils of its ages, serving schools",
            pupils.sum(),
        )
    if spec.unit == "place_year":
        return cost, len(idx) * cost, "communities of its places", len(idx)
    if spec.mechanism == "engagement":
        return people * cost, WORKFORCE * cost, "practitioners (delivery.WORKFORCE)", WORKFORCE
    residents = sum(area.communities[i].population for i in idx) * age_share(area, spec.ages)
    share = capacity["identified_per_year"].get(spec.identification)
    if share is None:
        raise ConfigError(
            f"identified_per_year.{spec.identification}: missing ({spec.name} finds "
            "people this way)"
        )
    found = residents * share
    return people * cost, found * cost, f"residents of its ages found: {spec.identification}", found


def _whole(x: float) -> float:
    return float(math.ceil(x - 1e-9))


def derive(
    area, library: dict, prices, year: int, names: list[str], sets: list, capacity: dict
) -> tuple[list[Derived], list[str]]:
    """(options, one line per intervention and place set left out and why)."""
    out, left_out = [], []
    for name in names:
        spec = library[name]
        for places in sets:
            label = f"{name} in {', '.join(places)}"
            probe = Scenario(
                "probe", "", "", 1.0, year, (Allocation(name, 1.0, places, year, year),), ""
            )
            if why := reach_problems(probe, library, area):
                left_out.append(f"{label}: {why[0].split(': reaches no one: ')[-1]}")
                continue
            lo, hi, basis, units = bounds(spec, places, area, prices, year, capacity)
            if _whole(hi) < max(_whole(lo), 1):
                left_out.append(
                    f"{label}: capacity £{hi:,.0f} a year is below its minimum £{lo:,.0f}"
                )
                continue
            out.append(Derived(Option(name, places, _whole(lo), _whole(hi)), basis, float(units)))
    return out, left_out


def with_today(
    derived: list[Derived],
    today: Scenario,
    area,
    library: dict,
    prices,
    year: int,
    capacity: dict,
) -> tuple[list[Derived], tuple[float, ...]]:
    """The options with today's allocations among them (an option of the same intervention and
    places widened to hold today's amount), and today's amount per option."""
    derived = list(derived)
    amounts = [0.0] * len(derived)
    for a in today.allocations:
        if a.amount_per_year <= 0:
            continue
        key = (a.intervention, frozenset(a.places))
        at = next(
            (
                i
                for i, d in enumerate(derived)
                if (d.option.intervention, frozenset(d.option.places)) == key
            ),
            None,
        )
        if at is None:
            lo, hi, basis, units = bounds(
                library[a.intervention], a.places, area, prices, year, capacity
            )
            derived.append(
                Derived(
                    Option(a.intervention, a.places, _whole(lo), _whole(hi)), basis, float(units)
                )
            )
            amounts.append(0.0)
            at = len(derived) - 1
        amounts[at] += a.amount_per_year
        o = derived[at].option
        total = amounts[at]
        if not (o.minimum <= total <= o.maximum):
            widened = Option(
                o.intervention, o.places, min(o.minimum, float(total)), max(o.maximum, float(total))
            )
            derived[at] = Derived(
                widened, derived[at].basis + " (widened to today's amount)", derived[at].units
            )
    return derived, tuple(amounts)


def shares(given: list, options: tuple[Option, ...], library: dict, area) -> tuple[Share, ...]:
    """The share bounds of conf/optimise.yaml (`shares`), each over a tier or a CSP: a tier
    holds the options of its interventions; a CSP the options whose every place lies in it (an
    option over the whole area, or over both CSPs, counts towards neither)."""
    csp_of = {c.name: c.csp for c in area.communities} | {c.name: c.name for c in area.csps}
    out = []
    for i, item in enumerate(given or []):
        field = f"shares[{i}]"
        if not isinstance(item, dict) or len(set(item) & {"tier", "csp"}) != 1:
            raise ConfigError(f"{field}={quote(item)}: must name one tier or one csp")
        if unknown := set(item) - {"tier", "csp", "min", "max"}:
            raise ConfigError(f"{field}.{sorted(unknown)[0]}: unknown key (tier, csp, min, max)")
        kind = "tier" if "tier" in item else "csp"
        name = item[kind]
        known = TIERS if kind == "tier" else tuple(c.name for c in area.csps)
        if name not in known:
            raise ConfigError(f"{field}.{kind}={quote(name)}: must be one of {', '.join(known)}")
        if kind == "tier":
            members = tuple(library[o.intervention].tier == name for o in options)
        else:
            members = tuple(all(csp_of.get(p) == name for p in o.places) for o in options)
        label = f"{kind} {name}"
        for bound in ("min", "max"):
            v = item.get(bound, 0.0 if bound == "min" else 1.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                raise ConfigError(f"{field}.{bound}={quote(v)}: must be a share from 0 to 1")
        try:
            out.append(Share(label, members, float(item.get("min", 0)), float(item.get("max", 1))))
        except ValueError as exc:
            raise ConfigError(f"{field}: {exc}") from None
    return tuple(out)


def problem_of(
    derived: list[Derived], budget: float, today: tuple, commit: bool, bounds=()
) -> Problem:
    """The decision: the options, the budget a year, today's amounts as floors when committed,
    and the share bounds."""
    return Problem(tuple(d.option for d in derived), budget, today if commit else (), bounds)


def today_mix(problem: Problem, today: tuple) -> Mix:
    """Today's programmes as a mix of the problem's options, under no floors or budget (so it can
    be confirmed beside every candidate whatever the budget)."""
    free = Problem(problem.options, max(problem.budget, float(sum(today))))
    return Mix.of(free, today)
