"""The intervention library and funding scenarios as typed, validated objects.

Validation collects every error in a file before refusing it, so a scenario can be checked on
its own and fixed in one go (`svsim compare check=true scenarios=[./my_plan.yaml]`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from . import transfer as tr

TIERS = ("primary", "secondary", "tertiary")
EVIDENCE = ("none", "weak", "moderate", "strong")
UNITS = ("participant", "pupil", "place_year")
# diversion: the people whose chargeable arrest a funded scheme diverted (the pathway lever)
IDENTIFICATION = ("arrest", "group", "out_of_court", "diversion", "hospital", "referral", "school",
                  "place")  # fmt: skip
# Each lever, and the outcome it acts on (the outcome the transfer chain must end on).
LEVER_OUTCOME = {
    "person_hazard": "violent_offending",  # the participant's weekly offending hazard
    "place_incidents": "crime_at_place",  # street incidents at the funded places
    "victim_risk": "victimisation",  # the participant's chance of being chosen as a victim
    "fatality": "fatality",  # death given an injury, where trained people are
    "engagement": "uptake",  # other interventions' uptake
    "knife_carrying": "knife_carrying",  # the participant's odds of starting to carry
}
MECHANISMS = tuple(LEVER_OUTCOME)
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
    chain: tr.Chain  # what the source measured and the rules that make it a model effect
    effect: Estimate  # the chain's model effect: at its modes, 5th and 95th percentiles
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
        d = self.keys(field, data, {key, "low", "high", "source"}, {"price_year"})
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
    effect_d = c.keys("effect", d.get("effect"), {"estimand", "transfers", "applies_to"})
    chain = _chain(c, effect_d)
    ages = _ages(c, "ages", d.get("ages"))
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
        chain=chain,
        effect=Estimate(0.0, 0.0, 0.0, ""),  # set below, once the chain is valid
        applies_to=c.choice("effect.applies_to", effect_d.get("applies_to"), APPLIES_TO),
        onset_weeks=c.number("onset_weeks", d.get("onset_weeks"), 0, 520, True),
        effect_weeks=c.number("effect_weeks", d.get("effect_weeks"), 0, 1040, True),
        half_life_weeks=c.number("half_life_weeks", d.get("half_life_weeks"), 0.1, 5200),
        notes=str(d.get("notes", "")),
    )
    if not c.errors:
        for field, value, rule in tr.chain_errors(
            chain, LEVER_OUTCOME[spec.mechanism], spec.evidence
        ):
            c.fail(field, value, rule)
        if spec.effect_weeks > chain.estimand.follow_up_weeks:
            c.fail(
                "effect_weeks",
                spec.effect_weeks,
                f"exceeds the study's follow-up ({chain.estimand.follow_up_weeks} weeks): beyond"
                " it the effect decays (half_life_weeks)",
            )
    if c.errors:
        raise ScenarioError(c.errors)
    return replace(spec, effect=_model_effect(chain))


ESTIMAND_FIELDS = {
    "outcome",
    "population",
    "ages",
    "country",
    "unit",
    "comparator",
    "design",
    "follow_up_weeks",
    "metric",
    "value",
    "low",
    "high",
    "source",
}
METRIC_RANGE = {
    "percent_change": (-100.0, 1000.0),
    "d": (-5.0, 5.0),
    "odds_ratio": (1e-6, 1e6),
    "risk_ratio": (1e-6, 1e6),
}


def _uncertain(c: _Checker, field: str, d: dict, lo: float, hi: float) -> tr.Uncertain:
    v = c.number(f"{field}.value", d.get("value"), lo, hi)
    low = c.number(f"{field}.low", d.get("low"), lo, hi)
    high = c.number(f"{field}.high", d.get("high"), lo, hi)
    if not low <= v <= high:
        c.fail(field, [low, v, high], "needs low <= value <= high")
    return tr.Uncertain(v, low, high, c.text(f"{field}.source", d.get("source")))


def _ages(c: _Checker, field: str, ages: Any) -> tuple[int, int]:
    if not (
        isinstance(ages, list)
        and len(ages) == 2
        and all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
        and 0 <= ages[0] <= ages[1] <= 120
    ):
        c.fail(field, ages, "must be [min, max] whole years, 0 <= min <= max <= 120")
        return (0, 0)
    return (ages[0], ages[1])


def _chain(c: _Checker, effect: dict) -> tr.Chain:
    """The estimand and its transfer rules, from the `effect` block."""
    e = c.keys("effect.estimand", effect.get("estimand"), ESTIMAND_FIELDS)
    metric = c.choice("effect.estimand.metric", e.get("metric"), tr.METRICS)
    lo, hi = METRIC_RANGE[metric]
    estimand = tr.Estimand(
        outcome=c.choice("effect.estimand.outcome", e.get("outcome"), tr.OUTCOMES),
        population=c.choice("effect.estimand.population", e.get("population"), tr.POPULATIONS),
        ages=_ages(c, "effect.estimand.ages", e.get("ages")),
        country=c.text("effect.estimand.country", e.get("country")),
        unit=c.choice("effect.estimand.unit", e.get("unit"), tr.STUDY_UNITS),
        comparator=c.choice("effect.estimand.comparator", e.get("comparator"), tr.COMPARATORS),
        design=c.choice("effect.estimand.design", e.get("design"), tr.DESIGNS),
        follow_up_weeks=c.number(
            "effect.estimand.follow_up_weeks", e.get("follow_up_weeks"), 1, 1040, True
        ),
        metric=metric,
        estimate=_uncertain(c, "effect.estimand", e, lo, hi),
    )
    raw = effect.get("transfers")
    if not isinstance(raw, list):
        c.fail("effect.transfers", raw, "must be a list of rules")
        raw = []
    transfers = []
    for i, t in enumerate(raw):
        f = f"effect.transfers[{i}]"
        t = c.keys(f, t, {"rule"}, {"value", "low", "high", "source", "from", "to"})
        rule = tr.RULES.get(t.get("rule"))
        if rule is None:
            c.fail(f"{f}.rule", t.get("rule"), f"must be one of {', '.join(tr.RULES)}")
            continue
        parameter = None
        if "value" in t:
            lo, hi = tr.PARAMETER_RANGE.get(rule.parameter, (-math.inf, math.inf))
            parameter = _uncertain(c, f, t, lo, hi)
        from_, to = t.get("from", ""), t.get("to", "")
        if rule.name == "outcome":
            c.choice(f"{f}.to", to, tr.OUTCOMES)
        transfers.append(tr.Transfer(rule.name, parameter, str(from_), str(to)))
    return tr.Chain(estimand, tuple(transfers))


def _model_effect(chain: tr.Chain) -> Estimate:
    """The chain's model effect as an Estimate (modes; 5th and 95th percentiles)."""
    s = tr.summarise(chain, n=4000)
    return Estimate(s.at_modes, min(s.low, s.at_modes), max(s.high, s.at_modes), "transfer chain")


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
