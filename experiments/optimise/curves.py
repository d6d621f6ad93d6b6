"""Saturating cost-response curves, one per option (the Atomica pattern: spend buys coverage,
coverage buys effect, with saturation), fitted to paired screening differences.

An option's net benefit over the baseline when it alone moves from its baseline amount x0 to x
is F(x) - F(x0), F(x) = a (1 - exp(-x / s)) - c x with a, s > 0 and c >= 0: concave, saturating
at a, less a cost per pound (c is about 1 when the evaluator counts the money, 0 when not).
Options are assumed to add up; confirmation of whole mixes is what checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar, nnls


@dataclass(frozen=True)
class Curves:
    """Fitted a, s, c per option, and each option's baseline amount x0."""

    a: tuple[float, ...]
    s: tuple[float, ...]
    c: tuple[float, ...]
    x0: tuple[float, ...]

    def gain(self, x) -> np.ndarray:
        """Per option (last axis), the net benefit over the baseline at amounts x."""
        a, s, c, x0 = (np.array(v) for v in (self.a, self.s, self.c, self.x0))
        x = np.asarray(x, float)
        return a * (np.exp(-x0 / s) - np.exp(-x / s)) - c * (x - x0)

    def marginal(self, x) -> np.ndarray:
        """Per option, the net benefit of the next pound at amounts x."""
        a, s, c = (np.array(v) for v in (self.a, self.s, self.c))
        return a / s * np.exp(-np.asarray(x, float) / s) - c

    def value(self, x) -> float:
        """The mix's fitted net benefit over the baseline: the options' gains added."""
        return float(self.gain(x).sum())


@dataclass(frozen=True)
class Blend:
    """Several objectives' curves over the same options as one: their weighted sum (a weight
    divided by its objective's scale, so that objectives in pounds and in counts can be mixed);
    concave, as each part is."""

    parts: tuple[Curves, ...]
    weights: tuple[float, ...]

    def gain(self, x) -> np.ndarray:
        return sum(w * c.gain(x) for c, w in zip(self.parts, self.weights, strict=True))

    def marginal(self, x) -> np.ndarray:
        return sum(w * c.marginal(x) for c, w in zip(self.parts, self.weights, strict=True))

    def value(self, x) -> float:
        return float(self.gain(x).sum())


SCALES = np.geomspace(0.01, 10, 31)  # saturation scales tried, as shares of the top amount


def fit_one(
    x: np.ndarray, gain: np.ndarray, x0: float, top: float, c: float | None = None
) -> tuple[float, float, float]:
    """Least-squares a, s, c of one option from (amount, paired gain) points; c as given when the
    money's weight in the objective is known. For a given s the fit is linear in a, c >= 0
    (scipy's nnls); s is the best of SCALES (top / 100 to 10 top, so a curve that never bends
    stays near its straight line), refined between its neighbours."""
    u, u0 = x / top, x0 / top

    def solve(s: float) -> tuple[np.ndarray, float]:
        design = np.column_stack([np.exp(-u0 / s) - np.exp(-u / s), u0 - u])
        if c is None:
            return nnls(design, gain)
        (a,), misfit = nnls(design[:, :1], gain - c * top * design[:, 1])
        return np.array([a, c * top]), misfit

    misfit = [solve(s)[1] for s in SCALES]
    k = int(np.argmin(misfit))
    lo, hi = SCALES[max(k - 1, 0)], SCALES[min(k + 1, len(SCALES) - 1)]
    s = minimize_scalar(lambda s: solve(s)[1], bounds=(lo, hi), method="bounded").x
    (a, c), _ = solve(s)
    return float(a), float(s * top), float(c / top)


def fit_curves(
    amounts: np.ndarray, values: np.ndarray, x0: np.ndarray, top: np.ndarray, c: float | None = None
) -> Curves:
    """Fit every option's curve from screening mixes (row 0 the baseline, each other row one
    option moved from x0) and their values per screening replicate (paired with row 0)."""
    gains = values[1:] - values[0]
    moved = amounts[1:] != x0
    fits = []
    for i in range(len(x0)):
        rows = moved[:, i]
        if not rows.any():  # nothing to learn: the option cannot move within the budget
            fits.append((0.0, max(top[i], 1.0), c or 0.0))
            continue
        reps = values.shape[1]
        x = np.repeat(amounts[1:][rows, i], reps)
        fits.append(fit_one(x, gains[rows].ravel(), float(x0[i]), float(top[i]), c))
    a, s, c = (tuple(v) for v in zip(*fits, strict=True))
    return Curves(a, s, c, tuple(float(v) for v in x0))
