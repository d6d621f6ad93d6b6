"""The decision of `svsim optimise`: options (an intervention in a set of places), the constraints
on a mix of them, and a mix written as a scenario file's data.

Each option's minimum viable amount and maximum (its capacity in pounds a year) are given here;
options.py derives them from the area and the delivery rules (scenarios/delivery.py). Amounts are
whole pounds a year.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from svsim.scenarios.library import quote


def _fail(field: str, value, rule: str) -> ValueError:
    return ValueError(f"{field}={quote(value)}: {rule}")


def _pounds(field: str, value) -> float:
    """A whole, finite, non-negative number of pounds, or a one-line error."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value >= 0 and float(value).is_integer()):
        raise _fail(field, value, "must be a whole number of pounds >= 0")
    return float(value)


@dataclass(frozen=True)
class Option:
    """An intervention in a set of places, funded at 0 or from `minimum` to `maximum` a year."""

    intervention: str
    places: tuple[str, ...]  # community names, CSP names, or ("all",)
    minimum: float  # the smallest viable amount a year
    maximum: float  # capacity a year: what its eligible people, schools or places absorb

    def __post_init__(self):
        if not isinstance(self.intervention, str) or not self.intervention.strip():
            raise _fail("intervention", self.intervention, "must be non-empty text")
        places = self.places
        if not (isinstance(places, tuple) and places and all(isinstance(p, str) and p.strip()
                                                             for p in places)):  # fmt: skip
            raise _fail("places", places, "must be a non-empty tuple of place names")
        _pounds("minimum", self.minimum)
        if _pounds("maximum", self.maximum) <= 0 or self.maximum < self.minimum:
            raise _fail(
                "maximum", self.maximum, f"must be positive and >= minimum {self.minimum:g}"
            )

    @property
    def label(self) -> str:
        return f"{self.intervention} in {', '.join(self.places)}"


@dataclass(frozen=True)
class Share:
    """Bounds on the share of a mix's money that goes to a group of options (a tier or a CSP)."""

    label: str  # what the group is, e.g. "tier primary" or "CSP Swindon"
    members: tuple[bool, ...]  # one per option of the problem
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        for field in ("low", "high"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                raise _fail(f"shares[{self.label}].{field}", v, "must be a share from 0 to 1")
        if self.low > self.high:
            raise _fail(f"shares[{self.label}].low", self.low, f"is above high {self.high:g}")
        if not any(self.members):
            raise _fail("shares", self.label, "holds no option")

    def of(self, amounts) -> float:
        """The group's share of the mix's money (0 when nothing is spent)."""
        x = np.asarray(amounts, float)
        total = x.sum()
        return float(x[np.array(self.members)].sum() / total) if total > 0 else 0.0


@dataclass(frozen=True)
class Problem:
    """Options, the budget a year, commitments (per option a floor every mix keeps, 0: none),
    and bounds on the shares of the money that groups of options get."""

    options: tuple[Option, ...]
    budget: float
    commitments: tuple[float, ...] = ()  # () for none; else one amount per option
    shares: tuple[Share, ...] = ()

    def __post_init__(self):
        if not (isinstance(self.options, tuple) and self.options
                and all(isinstance(o, Option) for o in self.options)):  # fmt: skip
            raise _fail("options", self.options, "must be a non-empty tuple of Option")
        labels = [o.label for o in self.options]
        for label in labels:
            if labels.count(label) > 1:
                raise _fail("options", label, "appears twice")
        _pounds("budget", self.budget)
        if self.commitments == ():
            object.__setattr__(self, "commitments", (0.0,) * len(self.options))
        if not isinstance(self.commitments, tuple) or len(self.commitments) != len(self.options):
            raise _fail("commitments", self.commitments, f"needs {len(self.options)} amounts")
        for o, f in zip(self.options, self.commitments, strict=True):
            field = f"commitments[{o.label}]"
            if _pounds(field, f) and not o.minimum <= f <= o.maximum:
                raise _fail(field, f, f"must be 0 or from {o.minimum:g} to {o.maximum:g}")
        if sum(self.commitments) > self.budget:
            raise _fail(
                "budget", self.budget, f"is below the commitments' {sum(self.commitments):g}"
            )
        for share in self.shares:
            if not isinstance(share, Share) or len(share.members) != len(self.options):
                raise _fail("shares", share, f"must be a Share over {len(self.options)} options")

    @property
    def lower(self) -> np.ndarray:
        """Each option's smallest amount when on: its minimum, or its commitment if larger."""
        return np.maximum([o.minimum for o in self.options], self.commitments)

    @property
    def upper(self) -> np.ndarray:
        return np.array([o.maximum for o in self.options])

    @property
    def committed(self) -> np.ndarray:
        return np.array(self.commitments) > 0


@dataclass(frozen=True)
class Mix:
    """Amounts a year per option of a problem, each 0 or within its bounds, within the budget."""

    problem: Problem
    amounts: tuple[float, ...]

    def __post_init__(self):
        p, x = self.problem, self.amounts
        if not isinstance(x, tuple) or len(x) != len(p.options):
            raise _fail("amounts", x, f"needs {len(p.options)} amounts, one per option")
        for o, lo, f, a in zip(p.options, p.lower, p.commitments, x, strict=True):
            field = f"amounts[{o.label}]"
            if _pounds(field, a) and not lo <= a <= o.maximum:
                raise _fail(field, a, f"must be 0 or from {lo:g} to {o.maximum:g}")
            if a < f:
                raise _fail(field, a, f"drops the commitment of {f:g}")
        if self.total > p.budget:
            raise _fail("amounts", f"total {self.total:g}", f"exceeds the budget {p.budget:g}")

    @classmethod
    def of(cls, problem: Problem, amounts) -> Mix:
        """A mix from any sequence of amounts (numpy or not)."""
        return cls(problem, tuple(float(a) for a in amounts))

    @property
    def array(self) -> np.ndarray:
        return np.array(self.amounts)

    @property
    def total(self) -> float:
        return float(sum(self.amounts))


def baseline(problem: Problem) -> Mix:
    """The commitments alone: what every other mix is measured against when screening."""
    return Mix(problem, problem.commitments)


def scenario_dict(
    mix: Mix, name: str, label: str, description: str, years: tuple[int, int], price_year: int
) -> dict:
    """The mix as a scenario file's data (conf/scenario/*.yaml), funded options only."""
    allocations = [
        {
            "intervention": o.intervention,
            "amount_per_year": a,
            "places": list(o.places),
            "start_year": years[0],
            "end_year": years[1],
        }
        for o, a in zip(mix.problem.options, mix.amounts, strict=True)
        if a > 0
    ]
    return {
        "name": name,
        "label": label,
        "description": description,
        "budget_per_year": mix.problem.budget,
        "price_year": price_year,
        "allocations": allocations,
    }
