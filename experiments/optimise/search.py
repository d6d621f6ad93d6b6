"""The search, honest about noise (issue 19, part 3): screen on few replicates, confirm on fresh.

Screening evaluates the baseline (the commitments) and each option alone at a few amounts on the
screening replicates, fits a saturating curve per option to the paired differences, and derives
a short list of candidate mixes from the curves. Confirmation evaluates the candidates and the
comparators on replicates the screening never saw, and only its values are reported: a mix chosen
on the screening replicates is partly chosen for fitting those replicates' noise.

Candidate j is derived from (seed, j, the screening before it): the curves' best mix, the best
without each option it funds, the best at the neighbouring budgets, then the best mixes of curves
refitted to resamples of the screening replicates (numpy Generator [seed, j]). So a search resumed
from saved screening results gives the same candidates, and the same recommendation.

The recommendation is the mix of best confirmation mean, comparators included (keeping today's
programmes can be the answer). Regret is against the best confirmed mix of each replicate, and a
mix is indistinguishable from the recommended one when the 90% interval (Student's t) of its
mean paired shortfall includes 0: a statement about means, where P(beats) and regret describe
single replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from scipy import stats
from svsim.scenarios.library import quote

from .allocate import best_mix
from .curves import Curves, fit_curves
from .mix import Mix, Problem, baseline


class Evaluator(Protocol):
    def evaluate(self, mixes: Sequence[Mix], replicates: Sequence[int]) -> np.ndarray:
        """Net benefit [len(mixes), len(replicates)]; replicate r is the same draw of every
        uncertain input for every mix (common random numbers), so differences are paired."""


@dataclass(frozen=True)
class Design:
    """How the search spends evaluations; screening and confirmation replicates never overlap."""

    seed: int
    screening: tuple[int, ...] = tuple(range(8))
    confirmation: tuple[int, ...] = tuple(range(1000, 1040))
    levels: int = 5  # amounts per option when screening, geometric up to its top
    resamples: int = 8  # candidates from curves refitted to resampled screening replicates
    budget_shares: tuple[float, ...] = (0.8, 0.9)  # neighbouring budgets, as shares of the budget
    # net benefit lost per pound a year spent, when known exactly (the present value of the funded
    # years, as the money is counted in net benefit); None: fitted per option
    cost_per_pound: float | None = None

    def __post_init__(self):
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed={quote(self.seed)}: must be a whole number >= 0")
        for field in ("screening", "confirmation"):
            reps = getattr(self, field)
            ok = isinstance(reps, tuple) and all(isinstance(r, int) and r >= 0 for r in reps)
            if not (ok and len(set(reps)) == len(reps) >= 2):
                raise ValueError(f"{field}={quote(reps)}: needs 2 or more distinct replicates >= 0")
        if shared := sorted(set(self.screening) & set(self.confirmation)):
            raise ValueError(f"confirmation={quote(shared)}: replicates the screening used")
        if not isinstance(self.levels, int) or self.levels < 3:
            raise ValueError(f"levels={quote(self.levels)}: needs 3 or more to fit a curve")
        if not isinstance(self.resamples, int) or self.resamples < 0:
            raise ValueError(f"resamples={quote(self.resamples)}: must be a whole number >= 0")
        shares = self.budget_shares
        if not (isinstance(shares, tuple) and all(0 < b < 1 for b in shares)):
            raise ValueError(f"budget_shares={quote(shares)}: each must be in (0, 1)")
        c = self.cost_per_pound
        if c is not None and not (isinstance(c, int | float) and 0 <= c < np.inf):
            raise ValueError(f"cost_per_pound={quote(c)}: must be a number >= 0, or None")


@dataclass(frozen=True, eq=False)
class Screening:
    """What screening evaluated (row 0 the baseline) and the values per screening replicate."""

    replicates: tuple[int, ...]
    amounts: np.ndarray  # [mixes, options]
    values: np.ndarray  # [mixes, replicates]


@dataclass(frozen=True)
class Confirmed:
    """One mix on the confirmation replicates; differences are paired."""

    mix: Mix
    role: str  # "candidate" or "comparator"
    mean: float
    p10: float  # 10th percentile across replicates
    p_beats: float  # share of replicates it beats the comparator
    regret: float  # mean shortfall from the best confirmed mix of each replicate
    gap_low: float  # 90% interval of the mean paired shortfall from the recommended mix
    gap_high: float
    indistinguishable: bool  # the interval includes 0


@dataclass(frozen=True, eq=False)
class Result:
    recommended: Mix
    rows: tuple[Confirmed, ...]  # candidates, then comparators
    comparator: Mix
    curves: Curves
    screening: Screening
    values: np.ndarray  # confirmation values [rows, confirmation replicates]


def _evaluate(evaluator: Evaluator, mixes: list[Mix], replicates: tuple[int, ...]) -> np.ndarray:
    values = np.asarray(evaluator.evaluate(mixes, replicates), float)
    if values.shape != (len(mixes), len(replicates)) or not np.isfinite(values).all():
        raise ValueError(
            f"evaluate={values.shape}: needs finite values [{len(mixes)}, {len(replicates)}]"
        )
    return values


def tops(problem: Problem) -> np.ndarray:
    """Each option's highest screened amount: its capacity, at most twice the budget (the
    frontier's range), less what the other options' commitments take."""
    f = np.array(problem.commitments)
    return np.minimum(problem.upper, 2 * problem.budget - (f.sum() - f))


def screening_mixes(problem: Problem, levels: int) -> list[Mix]:
    """The baseline, then each option alone at `levels` amounts from its base up to its top."""
    base = np.array(problem.commitments)
    mixes = [baseline(problem)]
    wide = replace(problem, budget=2 * problem.budget)
    for i, (lo, top) in enumerate(zip(problem.lower, tops(problem), strict=True)):
        if top < lo or top <= base[i]:
            continue  # cannot be funded, or committed to its top already
        first = max(lo - base[i], (top - base[i]) / 2 ** (levels - 1))
        for x in np.unique(np.floor(base[i] + np.geomspace(first, top - base[i], levels))):
            amounts = base.copy()
            amounts[i] = max(x, lo)
            mixes.append(Mix.of(wide, amounts))
    return mixes


def screen(problem: Problem, evaluator: Evaluator, design: Design) -> Screening:
    """Evaluate the screening mixes on the screening replicates."""
    mixes = screening_mixes(problem, design.levels)
    values = _evaluate(evaluator, mixes, design.screening)
    return Screening(design.screening, np.array([m.amounts for m in mixes]), values)


def curves_of(
    problem: Problem, screening: Screening, design: Design, reps: np.ndarray | None = None
) -> Curves:
    """The curves fitted to the screening (or to the replicate columns `reps` of it)."""
    values = screening.values if reps is None else screening.values[:, reps]
    x0, top = np.array(problem.commitments), tops(problem)
    return fit_curves(screening.amounts, values, x0, top, design.cost_per_pound)


def candidates(problem: Problem, curves: Curves, screening: Screening, design: Design) -> list[Mix]:
    """The short list from the curves fitted to `screening`, in order, without repeats (see the
    module's docstring)."""
    best = best_mix(problem, curves)
    out = [best]
    for i in np.flatnonzero((best.array > 0) & ~problem.committed):
        out.append(best_mix(problem, curves, off=(int(i),)))
    for share in design.budget_shares:
        budget = np.floor(problem.budget * share)
        if budget >= sum(problem.commitments):
            out.append(best_mix(replace(problem, budget=budget), curves))
    k = len(screening.replicates)
    for _ in range(design.resamples):
        reps = np.random.default_rng([design.seed, len(out)]).integers(0, k, k)
        out.append(best_mix(problem, curves_of(problem, screening, design, reps)))
    unique = []
    for m in (Mix.of(problem, m.amounts) for m in out):  # all at the full budget
        if m not in unique:
            unique.append(m)
    return unique


def confirm(
    candidates: list[Mix], comparators: list[Mix], evaluator: Evaluator, design: Design
) -> tuple[np.ndarray, list[Confirmed], Mix]:
    """Evaluate on the confirmation replicates; the first comparator is the one to beat."""
    mixes = candidates + comparators
    values = _evaluate(evaluator, mixes, design.confirmation)
    means = values.mean(axis=1)
    best = int(np.argmax(means))
    regret = (values.max(axis=0) - values).mean(axis=1)
    gap = values[best] - values
    n = values.shape[1]
    half = stats.t.ppf(0.95, n - 1) * gap.std(axis=1, ddof=1) / np.sqrt(n)
    low, high = gap.mean(axis=1) - half, gap.mean(axis=1) + half
    beats = (values > values[len(candidates)]).mean(axis=1)
    rows = []
    for j, m in enumerate(mixes):
        role = "candidate" if j < len(candidates) else "comparator"
        stats_j = (means[j], np.quantile(values[j], 0.1), beats[j], regret[j], low[j], high[j])
        rows.append(Confirmed(m, role, *map(float, stats_j), bool(low[j] <= 0 <= high[j])))
    return values, rows, mixes[best]


def optimise(
    problem: Problem,
    evaluator: Evaluator,
    design: Design,
    comparators: Sequence[Mix] = (),
    screening: Screening | None = None,
    extra: Sequence[Mix] = (),
) -> Result:
    """Screen (or reuse a saved screening), derive candidates, confirm, recommend the best mean.

    Without comparators the baseline (the commitments alone) is the one to beat. `extra`:
    further candidates, confirmed after the curves' own (other objectives' best mixes)."""
    if any(m.problem.options != problem.options for m in comparators):
        raise ValueError("comparators: must be mixes of the problem's options")
    if screening is None:
        screening = screen(problem, evaluator, design)
    expected = np.array([m.amounts for m in screening_mixes(problem, design.levels)])
    if screening.replicates != design.screening or not np.array_equal(screening.amounts, expected):
        raise ValueError("screening: was not made by this problem and design")
    curves = curves_of(problem, screening, design)
    found = candidates(problem, curves, screening, design)
    found += [m for m in (Mix.of(problem, m.amounts) for m in extra) if m not in found]
    others = list(comparators) or [baseline(problem)]
    values, rows, best = confirm(found, others, evaluator, design)
    return Result(best, tuple(rows), others[0], curves, screening, values)
