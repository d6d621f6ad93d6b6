"""Several objectives at once (issue 19, part 2): candidates from blends of the objectives' curves,
and the Pareto set of the confirmed mixes.

Each objective's curves are fitted to the same screening runs (the evaluator values every mix on
every objective). A blend weighs each objective by a point of a simplex grid, divided by the
value of that objective's own best mix on its curves, so pounds and counts mix on one scale; the
best mix of each blend is a candidate, the grid's corners being each objective's own best. Only
the confirmation decides: the Pareto set is the confirmed mixes no other confirmed mix matches or
beats on every objective's confirmation mean.
"""

from __future__ import annotations

import itertools

import numpy as np

from .allocate import best_mix
from .curves import Blend, Curves
from .mix import Mix, Problem

STEPS = 4  # the weight grid's steps between 0 and 1 (two objectives: 0, 1/4, ..., 1)


def weight_grid(objectives: int, steps: int = STEPS) -> np.ndarray:
    """Every weight vector of `objectives` multiples of 1/steps summing to 1, corners first."""
    if objectives < 1 or steps < 1:
        raise ValueError(f"objectives={objectives}, steps={steps}: need 1 or more of each")
    grid = [
        np.array(c) / steps
        for c in itertools.product(range(steps + 1), repeat=objectives)
        if sum(c) == steps
    ]
    return np.array(sorted(grid, key=lambda w: (-w.max(), int(np.argmax(w)))), float)


def blended_candidates(problem: Problem, curves: list[Curves], steps: int = STEPS) -> list[Mix]:
    """The best mix of each blend of the objectives' curves on the weight grid, without repeats;
    an objective whose own best mix gains nothing on its curves is left out of the blends."""
    scales = []
    for c in curves:
        own = best_mix(problem, c)
        scales.append(c.value(own.array) - c.value(np.array(problem.commitments)))
    kept = [k for k, v in enumerate(scales) if v > 0]
    out: list[Mix] = []
    for w in weight_grid(len(kept), steps) if kept else []:
        if w.max() == 1:  # a corner: that objective's own curves, filled exactly
            mix = best_mix(problem, curves[kept[int(np.argmax(w))]])
        else:
            weights = tuple(float(wk / scales[k]) for wk, k in zip(w, kept, strict=True))
            mix = best_mix(problem, Blend(tuple(curves[k] for k in kept), weights))
        if mix not in out:
            out.append(mix)
    return out


def front(means: np.ndarray) -> np.ndarray:
    """Which rows of means [mixes, objectives] (higher is better) no other row matches or beats
    on every objective while beating it on one: the Pareto set."""
    m = np.asarray(means, float)
    ge = (m[:, None, :] >= m[None, :, :]).all(axis=2)  # [i, j]: i at least j everywhere
    gt = (m[:, None, :] > m[None, :, :]).any(axis=2)
    dominated = (ge & gt).any(axis=0)
    return ~dominated
