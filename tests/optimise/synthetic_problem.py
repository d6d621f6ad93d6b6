"""A synthetic problem with known concave, saturating responses and noise larger than the
differences between good mixes (test_optimise_search states the ratio), and its true optimum
found independently of the code under test (every set of options on, each solved exactly)."""

from __future__ import annotations

import itertools

import numpy as np
from svsim.experiments.optimise.mix import Option, Problem

# per option: benefit at saturation A (£), its scale S (£ a year), minimum and maximum (£ a year)
A = np.array([900e3, 700e3, 420e3, 1400e3, 520e3, 110e3, 360e3, 90e3])
S = np.array([60e3, 120e3, 40e3, 450e3, 90e3, 10e3, 70e3, 100e3])
MINIMUM = np.array([20e3, 30e3, 15e3, 60e3, 30e3, 5e3, 20e3, 10e3])
MAXIMUM = np.array([150e3, 300e3, 100e3, 500e3, 240e3, 30e3, 200e3, 200e3])
BUDGET = 250_000.0
INPUT_SD = 0.3  # each option's effect varies by this share between replicates (shared by mixes)
SHIFT_SD = 1e6  # a replicate's common shift (cancels in paired differences)
NOISE_SD = 40e3  # each mix's own noise on each replicate (does not cancel)


def problem(budget: float = BUDGET, commitments: tuple[float, ...] = ()) -> Problem:
    options = tuple(Option(f"option_{i}", ("all",), float(lo), float(hi))
                    for i, (lo, hi) in enumerate(zip(MINIMUM, MAXIMUM, strict=True)))  # fmt: skip
    return Problem(options, budget, commitments)


def true_value(x) -> np.ndarray:
    """Expected net benefit of amounts x (last axis options): benefit less the money."""
    x = np.asarray(x, float)
    return (A * -np.expm1(-x / S)).sum(axis=-1) - x.sum(axis=-1)


class Synthetic:
    """Evaluator: replicate r draws each option's effect and a shift (shared by every mix); each
    (mix, replicate) adds its own noise, keyed by the amounts, so a re-evaluation repeats it."""

    def __init__(self, seed: int, noise_sd: float = NOISE_SD):
        self.seed, self.noise_sd, self.calls = seed, noise_sd, 0

    def evaluate(self, mixes, replicates) -> np.ndarray:
        x = np.array([m.amounts for m in mixes])
        out = np.empty((len(mixes), len(replicates)))
        for j, r in enumerate(replicates):
            rng = np.random.default_rng([self.seed, r])
            theta = rng.lognormal(-(INPUT_SD**2) / 2, INPUT_SD, len(A))
            shift = rng.normal(0, SHIFT_SD)
            own = [np.random.default_rng([self.seed, r, *m.astype(np.int64)]).normal() for m in x]
            benefit = (theta * A * -np.expm1(-x / S)).sum(axis=1) - x.sum(axis=1)
            out[:, j] = benefit + shift + self.noise_sd * np.array(own)
        self.calls += len(mixes) * len(replicates)
        return out


def true_optimum(budget: float = BUDGET) -> tuple[np.ndarray, float]:
    """The best amounts and their value, independently of the code under test: every set of
    options on, each set's amounts from the conditions for a maximum (all marginal returns
    equal to 1 + lam, lam >= 0 found by bisection, each amount within its bounds)."""
    on = np.array(list(itertools.product([False, True], repeat=len(A))))  # [sets, options]
    lo, hi = MINIMUM * on, np.minimum(MAXIMUM, budget) * on
    feasible = lo.sum(axis=1) <= budget

    def amounts(lam):  # lam per set: where A/S exp(-x/S) = 1 + lam
        x = S * np.log(A / (S * (1 + lam[:, None])))
        return np.clip(x, lo, hi)

    low, high = np.zeros(len(on)), np.full(len(on), (A / S).max())
    for _ in range(200):  # spend falls as lam rises: bisect to the budget (or lam = 0)
        mid = (low + high) / 2
        over = amounts(mid).sum(axis=1) > budget
        low, high = np.where(over, mid, low), np.where(over, high, mid)
    x = amounts(high)
    values = np.where(feasible, true_value(x), -np.inf)
    best = int(np.argmax(values))
    return x[best], float(values[best])
