"""The efficient frontier on the fitted curves: the best mix at each budget from zero to twice the
given one, and what the next `step` pounds a year would buy there.

Values are the curves' (screening), not confirmed: the frontier shows the shape of the returns,
and the confirmed recommendation is the search's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .allocate import best_mix
from .curves import Curves
from .mix import Mix, Problem


@dataclass(frozen=True)
class Point:
    """The best mix at one budget; no mix (and NaN values) below the commitments' total."""

    budget: float
    mix: Mix | None
    value: float  # fitted net benefit over the baseline
    marginal: float  # fitted value of the best mix at budget + step, less value


def frontier(
    problem: Problem, curves: Curves, levels: int = 21, step: float = 10_000
) -> list[Point]:
    """The best mix at `levels` budgets evenly from 0 to twice the problem's budget."""
    if not isinstance(levels, int) or levels < 11:
        raise ValueError(f"levels={levels!r}: needs at least 11 budgets")
    if not (step > 0 and float(step).is_integer()):
        raise ValueError(f"step={step!r}: must be a whole number of pounds > 0")

    def best(budget: float) -> tuple[Mix | None, float]:
        if budget < sum(problem.commitments):
            return None, np.nan
        mix = best_mix(replace(problem, budget=budget), curves)
        return mix, curves.value(mix.array)

    points = []
    for budget in np.floor(np.linspace(0, 2 * problem.budget, levels)):
        mix, value = best(float(budget))
        points.append(Point(float(budget), mix, value, best(budget + step)[1] - value))
    return points
