"""The intervention library and funding scenarios as typed, validated objects.

Validation collects every error in a file before refusing it, so a scenario can be checked on
its own and fixed in one go (`svsim compare check=true scenarios=[./my_plan.yaml]`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

TIERS = ("primary", "secondary", "tertiary")
EVIDENCE = ("none", "weak", "moderate", "strong")
UNITS = ("participant", "school", "place_year")
IDENTIFICATION = ("arrest", "out_of_court", "hospital", "referral", "school", "place")
MECHANISMS = ("person_hazard", "place_hazard", "fatality", "engagement")
APPLIES_TO = ("participants", "completers")


class ScenarioError(ValueError):
    """Bad intervention or scenario input: one line per problem, each naming field and value."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Estimate:
    """A value with an interval (low <= value <= high) and its source."""

    value: float
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class Intervention:
    name: str
    label: str
    tier: str
    evidence: str
    description: str
    unit: str
    unit_cost: Estimate
    unit_cost_price_year: int
    identification: str
    ages: tuple[int, int]
    lookback_weeks: int
    programme_weeks: int
    uptake: Estimate
    completion: Estimate
    mechanism: str
    effect: Estimate  # proportional reduction (increase of uptake, for engagement)
    estimand: str
    applies_to: str
    onset_weeks: int
    effect_weeks: int
    half_life_weeks: float
    notes: str


@dataclass(frozen=True)
class Allocation:
    intervention: str
    amount_per_year: float
    places: tuple[str, ...]  # community names, CSP names, or ("all",)
    start_year: int
    end_year: int


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    description: str
    budget_per_year: float
    price_year: int
    allocations: tuple[Allocation, ...]
    assumptions: str


QUOTE_CHARS = 60  # the most of any value a message quotes


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """repr(value), cut to `limit` characters: a message quotes a value, never a whole file."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Checker:
    """Collects errors instead of stopping at the first."""

    def __init__(self, where: str):
        self.where, self.errors = where, []

    def fail(self, field: str, value: Any, rule: str) -> None:
        field = field if len(field) <= QUOTE_CHARS else field[: QUOTE_CHARS - 3] + "..."
        self.errors.append(f"{self.where}.{field}={quote(value)}: {rule}")

    def keys(self, field: str, data: Any, required: set, optional: set = frozenset()) -> dict:
        if not isinstance(data, dict):
            self.fail(field, data, "must be a mapping")
            return {}
        for k in data:
            if k not in required | optional:
                self.fail(f"{field}.{k}".lstrip("."), data[k], "unknown field")
        for k in sorted(required - set(data)):
            self.errors.append(f"{self.where}.{field}.{k}".replace("..", ".") + ": missing")
        return data

    def number(self, field: str, value: Any, lo=-math.inf, hi=math.inf, integer=False):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and lo <= value <= hi
        if ok and integer:
            ok = float(value).is_integer()
        if not ok:
            kind = "a whole number" if integer else "a number"
            self.fail(field, value, f"must be {kind} in [{lo}, {hi}]")
            return lo if math.isfinite(lo) else 0
        return int(value) if integer else float(value)

    def choice(self, field: str, value: Any, options: tuple) -> str:
        if value not in options:
            self.fail(field, value, f"must be one of {', '.join(options)}")
            return options[0]
        return value

    def text(self, field: str, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(field, value, "must be non-empty text")
            return ""
        return value

    def estimate(self, field: str, data: Any, lo: float, hi: float, key: str = "value"):
        d = self.keys(
            field, data, {key, "low", "high", "source"}, {"price_year", "estimand", "applies_to"}
        )
        if not d:
            return Estimate(0.0, 0.0, 0.0, "")
        v = self.number(f"{field}.{key}", d.get(key), lo, hi)
        low = self.number(f"{field}.low", d.get("low"), lo, hi)
        high = self.number(f"{field}.high", d.get("high"), lo, hi)
        if not low <= v <= high:
            self.fail(field, [low, v, high], f"needs low <= {key} <= high")
        return Estimate(v, low, high, self.text(f"{field}.source", d.get("source")))


INTERVENTION_FIELDS = {
    "name",
    "label",
    "tier",
    "evidence",
    "description",
    "unit",
    "unit_cost",
    "identification",
    "ages",
    "lookback_weeks",
    "programme_weeks",
    "uptake",
    "completion",
    "mechanism",
    "effect",
    "onset_weeks",
    "effect_weeks",
    "half_life_weeks",
    "notes",
}


def intervention_from_dict(data: Any, where: str) -> Intervention:
    """Validate one intervention; raise ScenarioError listing every problem."""
    c = _Checker(where)
    d = c.keys("", data, INTERVENTION_FIELDS)
    if not d:
        raise ScenarioError(c.errors or [f"{where}: empty"])
    cost = c.estimate("unit_cost", d.get("unit_cost"), 0, 1e9)
    price_year = c.number(
        "unit_cost.price_year",
        (d.get("unit_cost") or {}).get("price_year"),
        1990,
        2100,
        integer=True,
    )
    effect_d = d.get("effect") if isinstance(d.get("effect"), dict) else {}
    effect = c.estimate("effect", effect_d, -1.0, 1.0, key="reduction")
    ages = d.get("ages")
    if not (
        isinstance(ages, list)
        and len(ages) == 2
        and all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
        and 0 <= ages[0] <= ages[1] <= 120
    ):
        c.fail("ages", ages, "must be [min, max] whole years, 0 <= min <= max <= 120")
        ages = [0, 0]
    spec = Intervention(
        name=c.text("name", d.get("name")),
        label=c.text("label", d.get("label")),
        tier=c.choice("tier", d.get("tier"), TIERS),
        evidence=c.choice("evidence", d.get("evidence"), EVIDENCE),
        description=c.text("description", d.get("description")),
        unit=c.choice("unit", d.get("unit"), UNITS),
        unit_cost=cost,
        unit_cost_price_year=price_year,
        identification=c.choice("identification", d.get("identification"), IDENTIFICATION),
        ages=(ages[0], ages[1]),
        lookback_weeks=c.number("lookback_weeks", d.get("lookback_weeks"), 0, 520, True),
        programme_weeks=c.number("programme_weeks", d.get("programme_weeks"), 1, 520, True),
        uptake=c.estimate("uptake", d.get("uptake"), 0, 1),
        completion=c.estimate("completion", d.get("completion"), 0, 1),
        mechanism=c.choice("mechanism", d.get("mechanism"), MECHANISMS),
        effect=effect,
        estimand=c.text("effect.estimand", effect_d.get("estimand")),
        applies_to=c.choice("effect.applies_to", effect_d.get("applies_to"), APPLIES_TO),
        onset_weeks=c.number("onset_weeks", d.get("onset_weeks"), 0, 520, True),
        effect_weeks=c.number("effect_weeks", d.get("effect_weeks"), 0, 1040, True),
        half_life_weeks=c.number("half_life_weeks", d.get("half_life_weeks"), 0.1, 5200),
        notes=str(d.get("notes", "")),
    )
    if c.errors:
        raise ScenarioError(c.errors)
    return spec


def scenario_from_dict(
    data: Any,
    where: str,
    library: dict[str, Intervention],
    places: set[str],
    projection_years: tuple[int, int],
) -> Scenario:
    """Validate a funding portfolio against the library and the area; every error at once."""
    c = _Checker(where)
    d = c.keys(
        "",
        data,
        {"name", "budget_per_year", "allocations"},
        {"label", "description", "price_year", "assumptions", "run"},
    )
    if not d:
        raise ScenarioError(c.errors or [f"{where}: empty"])
    budget = c.number("budget_per_year", d.get("budget_per_year"), 0, 1e10)
    allocations = []
    raw = d.get("allocations")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        c.fail("allocations", raw, "must be a list")
        raw = []
    first, last = projection_years
    for i, a in enumerate(raw):
        f = f"allocations[{i}]"
        a = c.keys(f, a, {"intervention", "amount_per_year"}, {"places", "start_year", "end_year"})
        if not a:
            continue
        name = a.get("intervention")
        if name not in library:
            c.fail(
                f"{f}.intervention",
                name,
                f"unknown intervention (known: {', '.join(sorted(library))})",
            )
        amount = c.number(f"{f}.amount_per_year", a.get("amount_per_year"), 0, 1e10)
        where_ = a.get("places", ["all"])
        if not isinstance(where_, list) or not where_:
            c.fail(f"{f}.places", where_, "must be a non-empty list of places")
            where_ = ["all"]
        for p in where_:
            if p != "all" and p not in places:
                c.fail(f"{f}.places", p, "is not a community or CSP of this area")
        start = c.number(f"{f}.start_year", a.get("start_year", first), first, last, True)
        end = c.number(f"{f}.end_year", a.get("end_year", last), first, 2100, True)
        if end < start:
            c.fail(f"{f}.end_year", end, f"is before start_year {start}")
        allocations.append(Allocation(str(name), amount, tuple(where_), start, end))
    total = sum(a.amount_per_year for a in allocations)
    if total > budget + 1e-6:
        c.fail(
            "allocations", f"£{total:,.0f} a year", f"spends over budget_per_year £{budget:,.0f}"
        )
    if c.errors:
        raise ScenarioError(c.errors)
    return Scenario(
        name=str(d["name"]),
        label=str(d.get("label", d["name"])),
        description=str(d.get("description", "")),
        budget_per_year=budget,
        price_year=int(d.get("price_year", first)),
        allocations=tuple(allocations),
        assumptions=str(d.get("assumptions", "")),
    )
