"""From a published estimate to a model effect: the estimand as data and named transfer rules.

A published figure is an effect on the outcome a study measured, in the population it studied,
against its comparator, over its follow-up (shared/EVIDENCE.md section 6). Each intervention
states that estimand and a chain of small named rules. The chain runs on a "metric" that each
rule reads and writes: a published d becomes a log odds ratio, a log odds ratio a log risk
ratio, a percentage change a log risk ratio; the rules that follow (outcome, population,
design, concentration, spill-over) act on the log risk ratio. The model effect is the
proportional reduction 1 - exp(log risk ratio) on the intervention's lever.

Every uncertain quantity (the estimate and each rule's parameter) is drawn per replicate from a
PERT distribution on its (low, value, high), on its own keyed stream, so each is an input of the
sensitivity and value-of-information analyses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The outcomes studies measure, and the one each lever acts on.
OUTCOMES = (
    "violent_offending",  # a person's violent offences (police-recorded or self-reported)
    "any_offending",  # all offences of a person
    "reoffending",  # proven reoffending of people already processed
    "antisocial_behaviour",  # aggression, conduct problems, delinquency scales
    "victimisation",  # violent re-victimisation or re-injury of a victim
    "crime_at_place",  # recorded crime at the treated places
    "knife_carrying",  # self-reported carrying
    "fatality",  # death given a penetrating injury
    "uptake",  # take-up of other services
)
POPULATIONS = ("universal", "targeted", "indicated")
STUDY_UNITS = ("person", "group", "micro_place", "area", "practitioner")
COMPARATORS = ("usual_services", "court", "no_patrol", "no_programme")
DESIGNS = ("meta_analysis", "rct", "quasi_experiment", "cohort", "before_after", "none")
METRICS = ("percent_change", "d", "odds_ratio", "risk_ratio")

# Where each chain's metric starts: the published metric.
_START = {
    "percent_change": "percent",
    "d": "d",
    "odds_ratio": "log_or",
    "risk_ratio": "log_rr",
}
PI_OVER_ROOT3 = math.pi / math.sqrt(3)  # d -> log odds ratio (Chinn 2000, Stat Med 19:3127)


@dataclass(frozen=True)
class Rule:
    """One step of the chain: reads metric `reads`, writes `writes`; `parameter` says what its
    drawn value means (None: an exact conversion, nothing to draw)."""

    name: str
    reads: str
    writes: str
    parameter: str | None
    doc: str

    def apply(self, x: np.ndarray, v: np.ndarray | float) -> np.ndarray:
        return _FUNCTIONS[self.name](x, v)

    def invert(self, y: np.ndarray | float, v: float) -> np.ndarray:
        """The rule run backwards: what it reads, given what it wrote (for in-model trials)."""
        return _INVERSES[self.name](np.asarray(y, dtype=float), v)


def _percent(x, v):
    return np.log1p(x / 100.0)  # -32 (% change) -> log(0.68)


def _d(x, v):
    return -x * PI_OVER_ROOT3  # positive d = less of the outcome -> a negative log odds ratio


def _odds_to_risk(x, p0):
    odds_ratio = np.exp(x)
    return np.log(odds_ratio / (1 - p0 + p0 * odds_ratio))  # Zhang and Yu 1998, JAMA 280:1690


def _scale(x, f):
    return x * f


def _concentration(x, share):
    return np.log1p(share * np.expm1(x))  # the effect reaches `share` of the lever's events


def _spillover(x, k):
    return np.log(np.maximum(1e-9, 1 + (1 + k) * np.expm1(x)))  # k: diffusion minus displacement


RULES = {
    r.name: r
    for r in (
        Rule("percent_to_ratio", "percent", "log_rr", None, "log(1 + change/100): exact"),
        Rule("d_to_log_odds", "d", "log_or", None, "log OR = -d x pi/sqrt(3) (Chinn 2000)"),
        Rule(
            "odds_to_risk_ratio",
            "log_or",
            "log_rr",
            "baseline_risk",
            "RR = OR / (1 - p0 + p0 OR), p0 the comparator's risk (Zhang and Yu 1998)",
        ),
        Rule("outcome", "log_rr", "log_rr", "factor", "log RR x f: measured outcome -> lever's"),
        Rule("population", "log_rr", "log_rr", "factor", "log RR x f: studied -> model's people"),
        Rule("design", "log_rr", "log_rr", "factor", "log RR x f: weaker designs overstate"),
        Rule(
            "comparator",
            "log_rr",
            "log_rr",
            "factor",
            "log RR x f: f, the share of the model's people whose alternative was the study's",
        ),
        Rule("setting", "log_rr", "log_rr", "factor", "log RR x f: another country or service"),
        Rule(
            "concentration",
            "log_rr",
            "log_rr",
            "share",
            "1 - s(1 - RR): the effect acts on share s of the lever's events (hot spots)",
        ),
        Rule(
            "spillover",
            "log_rr",
            "log_rr",
            "net_diffusion",
            "1 + (1 + k)(RR - 1): diffusion of benefit (k > 0) or displacement (k < 0)",
        ),
    )
}
_FUNCTIONS = {
    "percent_to_ratio": _percent,
    "d_to_log_odds": _d,
    "odds_to_risk_ratio": _odds_to_risk,
    "outcome": _scale,
    "population": _scale,
    "design": _scale,
    "comparator": _scale,
    "setting": _scale,
    "concentration": _concentration,
    "spillover": _spillover,
}
_INVERSES = {
    "percent_to_ratio": lambda y, v: 100.0 * np.expm1(y),
    "d_to_log_odds": lambda y, v: -y / PI_OVER_ROOT3,
    "odds_to_risk_ratio": lambda y, p0: np.log(np.exp(y) * (1 - p0) / (1 - p0 * np.exp(y))),
    "outcome": lambda y, f: y / f,
    "population": lambda y, f: y / f,
    "design": lambda y, f: y / f,
    "setting": lambda y, f: y / f,
    "comparator": lambda y, f: y / f,
    "concentration": lambda y, s: np.log1p(np.expm1(y) / s),
    "spillover": lambda y, k: np.log1p(np.expm1(y) / (1 + k)),
}
PARAMETER_RANGE = {
    "baseline_risk": (1e-6, 0.999),
    "factor": (0.0, 3.0),
    "share": (0.0, 1.0),
    "net_diffusion": (-1.0, 2.0),
}


@dataclass(frozen=True)
class Uncertain:
    """A value with an interval (low <= value <= high), drawn PERT, and its source."""

    value: float
    low: float
    high: float
    source: str

    @property
    def assumed(self) -> bool:
        """An unsourced figure: its source says "assumed" (the project's convention)."""
        return self.source.strip().lower().startswith("assumed")


@dataclass(frozen=True)
class Transfer:
    """One named rule of an intervention's chain, with its parameter (None for conversions)."""

    rule: str
    parameter: Uncertain | None
    from_: str = ""  # what was measured, or who was studied
    to: str = ""  # what the model needs

    @property
    def label(self) -> str:
        what = f" ({self.from_} -> {self.to})" if self.from_ or self.to else ""
        return f"{self.rule}{what}"


@dataclass(frozen=True)
class Estimand:
    """What the source measured: the outcome, in whom, of what unit, against what, how, for how
    long, and the estimate in its published metric."""

    outcome: str
    population: str
    ages: tuple[int, int]
    country: str
    unit: str
    comparator: str
    design: str
    follow_up_weeks: int
    metric: str
    estimate: Uncertain


@dataclass(frozen=True)
class Chain:
    """An estimand and the rules that turn it into a model effect on `lever_outcome`."""

    estimand: Estimand
    transfers: tuple[Transfer, ...]

    def describe(self) -> str:
        """One line: what was measured, in whom, how, and the rules applied."""
        e = self.estimand
        rules = ", ".join(t.rule for t in self.transfers)
        return (
            f"{e.metric} {e.estimate.value:g} ({e.estimate.low:g} to {e.estimate.high:g}) on"
            f" {e.outcome.replace('_', ' ')}; {e.population}, ages {e.ages[0]}-{e.ages[1]},"
            f" {e.country}; per {e.unit.replace('_', ' ')}; vs {e.comparator.replace('_', ' ')};"
            f" {e.design.replace('_', ' ')}; {e.follow_up_weeks} weeks. Rules: {rules}"
        )

    def uncertain(self) -> list[tuple[str, Uncertain]]:
        """The chain's uncertain inputs, in draw order: the estimate, then each rule's parameter."""
        out = [("estimate", self.estimand.estimate)]
        out += [(t.label, t.parameter) for t in self.transfers if t.parameter is not None]
        return out

    def log_ratio(self, values: list[np.ndarray | float]) -> np.ndarray:
        """The model's log risk ratio for given draws of `uncertain()` (arrays broadcast)."""
        x = np.asarray(values[0], dtype=float)
        if self.estimand.metric in ("odds_ratio", "risk_ratio"):
            x = np.log(x)  # a published ratio enters the chain on the log scale
        rest = iter(values[1:])
        for t in self.transfers:
            v = next(rest) if t.parameter is not None else 0.0
            x = RULES[t.rule].apply(x, v)
        return x

    def reduction(self, values: list[np.ndarray | float]) -> np.ndarray:
        """The model effect: the proportional reduction of the lever (negative: harm)."""
        return -np.expm1(self.log_ratio(values))

    def backwards(self, log_ratio: float, upto: int = 0) -> float:
        """A log risk ratio on the lever run back through the rules (at their modes) to the
        metric after rule `upto` (0: the published metric itself): the in-model trial's
        estimate in the source's terms."""
        x = float(log_ratio)
        for t in reversed(self.transfers[upto:]):
            v = t.parameter.value if t.parameter is not None else 0.0
            x = float(RULES[t.rule].invert(x, v))
        if upto == 0 and self.estimand.metric in ("odds_ratio", "risk_ratio"):
            x = math.exp(x)
        return x

    def modes(self) -> list[float]:
        return [u.value for _, u in self.uncertain()]

    def draw(self, rng: np.random.Generator, size: int | None = None) -> list:
        return [pert(rng, u.low, u.value, u.high, size) for _, u in self.uncertain()]


def pert(rng: np.random.Generator, low: float, mode: float, high: float, size=None):
    """Draws from the PERT distribution on [low, high] with the given mode."""
    if high <= low:
        return mode if size is None else np.full(size, float(mode))
    a = 1 + 4 * (mode - low) / (high - low)
    b = 1 + 4 * (high - mode) / (high - low)
    return low + (high - low) * rng.beta(a, b, size)


def chain_errors(chain: Chain, lever_outcome: str, evidence: str) -> list[tuple[str, object, str]]:
    """(field, value, rule) for every way the chain fails to lead from the estimate to the lever."""
    errors = []
    metric = _START.get(chain.estimand.metric)
    outcome = chain.estimand.outcome
    for i, t in enumerate(chain.transfers):
        rule = RULES.get(t.rule)
        f = f"effect.transfers[{i}].rule"
        if rule is None:
            errors.append((f, t.rule, f"must be one of {', '.join(RULES)}"))
            continue
        if metric != rule.reads:
            errors.append((f, t.rule, f"reads {rule.reads}, but the chain holds {metric} here"))
        metric = rule.writes
        if (rule.parameter is None) != (t.parameter is None):
            need = f"needs its {rule.parameter}" if rule.parameter else "takes no value"
            errors.append((f, t.rule, need))
        if t.rule == "outcome":
            if t.from_ != outcome:
                errors.append((f"effect.transfers[{i}].from", t.from_, f"the chain has {outcome}"))
            outcome = t.to
    if metric != "log_rr":
        errors.append(("effect.transfers", metric, "the chain must end on a log risk ratio"))
    if outcome != lever_outcome:
        errors.append(
            (
                "effect.estimand.outcome",
                outcome,
                f"the lever acts on {lever_outcome}: add an outcome transfer",
            )
        )
    if evidence == "none":
        e = chain.estimand.estimate
        if e.value != 0 or e.low != -e.high or any(t.parameter for t in chain.transfers):
            errors.append(
                (
                    "effect.estimand",
                    [e.low, e.value, e.high],
                    "evidence 'none' needs value 0, low = -high and no scaling transfers "
                    "(an effect of mean zero)",
                )
            )
    return errors


@dataclass(frozen=True)
class Summary:
    """A chain at its modes and across its uncertainty, and the share of its variance that
    comes from assumed (unsourced) inputs."""

    at_modes: float
    mean: float
    low: float  # 5th percentile
    high: float  # 95th percentile
    assumed_share: float
    steps: tuple[tuple[str, str, float, float, float, bool], ...]  # label, metric, v, low, high


def summarise(chain: Chain, n: int = 20_000, seed: int = 0) -> Summary:
    """Monte Carlo summary of the model effect, and its variance by input, one input at a time.

    The variance share is computed on the model's log risk ratio: each input varies alone with
    the others at their modes (a first-order, one-at-a-time split, exact when the chain is a
    product of factors on the log scale).
    """
    rng = np.random.default_rng(seed)
    draws = chain.draw(rng, n)
    r = chain.reduction(draws)
    modes = chain.modes()
    parts = []
    for i, (_, u) in enumerate(chain.uncertain()):
        values = list(modes)
        values[i] = draws[i]
        parts.append((float(np.var(chain.log_ratio(values))), u.assumed))
    total = sum(v for v, _ in parts)
    assumed = sum(v for v, a in parts if a) / total if total > 0 else 0.0
    steps = []
    metric = chain.estimand.metric
    e = chain.estimand.estimate
    steps.append(("published", metric, e.value, e.low, e.high, e.assumed))
    for t in chain.transfers:
        p = t.parameter
        if p is None:
            steps.append((t.label, RULES[t.rule].writes, math.nan, math.nan, math.nan, False))
        else:
            steps.append((t.label, RULES[t.rule].parameter, p.value, p.low, p.high, p.assumed))
    return Summary(
        at_modes=float(chain.reduction(modes)),
        mean=float(r.mean()),
        low=float(np.quantile(r, 0.05)),
        high=float(np.quantile(r, 0.95)),
        assumed_share=assumed,
        steps=tuple(steps),
    )
