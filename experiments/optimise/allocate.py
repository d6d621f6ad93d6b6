"""The best mix for a budget on fitted curves: which options are on, then how much each gets.

Which options are on is a mixed-integer programme (scipy.optimize.milp): each option is off or
on, and on it buys at least its lower bound, then its concave curve in straight segments (filled in
order because their slopes fall). Given the options on, the amounts are then solved exactly by
equalising marginal returns (the water level found with scipy.optimize.brentq). The either-or of
minimum viable sizes is exact; only the choice among near-tied sets of options rests on the
segments (SEGMENTS per option). Bounds on the share of the money a group of options gets (a tier,
a CSP) are linear in the amounts: rows of the programme, and, when any is given, constraints of
the exact concave fill (scipy.optimize.minimize, SLSQP, from the programme's amounts) in place of
the water level, which also fills a blend of several objectives' curves.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, brentq, milp, minimize

from .curves import Blend, Curves
from .mix import Mix, Problem

SEGMENTS = 32  # straight pieces per curve when choosing which options are on


def _share_rows(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The share bounds as rows A x with lower <= A x <= upper over amounts x: for a group G
    with shares [low, high], x_G - low * total >= 0 and x_G - high * total <= 0."""
    rows, lower, upper = [], [], []
    for share in problem.shares:
        member = np.array(share.members, float)
        rows += [member - share.low, member - share.high]
        lower += [0.0, -np.inf]
        upper += [np.inf, 0.0]
    n = len(problem.options)
    return np.reshape(rows, (-1, n)), np.array(lower), np.array(upper)


def _on_set(
    problem: Problem, curves: Curves | Blend, allowed: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which options are on in the best mix of the segmented curves, and its amounts."""
    n, k, lo = len(hi), SEGMENTS, problem.lower
    edges = lo[:, None] + (hi - lo)[:, None] * np.linspace(0, 1, k + 1)  # [n, k + 1]
    g = curves.gain(edges.T).T  # gain at every edge, per option
    widths = np.diff(edges, axis=1)
    slopes = np.divide(np.diff(g, axis=1), widths, out=np.zeros_like(widths), where=widths > 0)
    cost = -np.concatenate([g[:, 0], slopes.ravel()])  # variables: z (n), then y (n x k)
    seg_of = np.repeat(np.arange(n), k)
    amount = np.zeros((n, n + n * k))  # each option's amount from the variables
    amount[np.arange(n), np.arange(n)] = lo
    amount[seg_of, n + np.arange(n * k)] = 1.0
    a_fill = amount.copy()
    a_fill[np.arange(n), np.arange(n)] = -(hi - lo)  # segments of option i <= its room, if on
    constraints = [
        LinearConstraint(amount.sum(axis=0)[None, :], -np.inf, problem.budget),
        LinearConstraint(a_fill, -np.inf, 0.0),
    ]
    if problem.shares:
        rows, lower, upper = _share_rows(problem)
        constraints.append(LinearConstraint(rows @ amount, lower, upper))
    res = milp(
        cost,
        constraints=constraints,
        integrality=np.concatenate([np.ones(n), np.zeros(n * k)]),
        bounds=Bounds(
            np.concatenate([problem.committed.astype(float), np.zeros(n * k)]),
            np.concatenate([allowed.astype(float), widths.ravel()]),
        ),
    )
    if res.x is None:
        raise ValueError(f"budget={problem.budget:g}: no feasible mix ({res.message})")
    return res.x[:n] > 0.5, amount @ res.x


def _fill_concave(
    problem: Problem, curves: Curves | Blend, on: np.ndarray, lo, hi, start: np.ndarray
) -> np.ndarray:
    """Amounts of the options on that maximise the curves' value within the budget and the
    share bounds (a concave programme, solved from the segmented programme's feasible amounts,
    which are kept if the solver fails)."""
    lo, hi = np.where(on, lo, 0.0), np.where(on, hi, 0.0)
    rows, lower, upper = _share_rows(problem)
    constraints = [
        {
            "type": "ineq",
            "fun": lambda x: problem.budget - x.sum(),
            "jac": lambda x: -np.ones_like(x),
        },
        *(
            {"type": "ineq", "fun": lambda x, r=r, b=b: r @ x - b, "jac": lambda x, r=r: r}
            for r, b in zip(rows, lower, strict=True)
            if np.isfinite(b)
        ),
        *(
            {"type": "ineq", "fun": lambda x, r=r, b=b: b - r @ x, "jac": lambda x, r=r: -r}
            for r, b in zip(rows, upper, strict=True)
            if np.isfinite(b)
        ),
    ]
    scale = max(problem.budget, 1.0)  # amounts in budgets, so the solver's steps are well sized
    res = minimize(
        lambda u: -curves.value(u * scale) / scale,
        np.clip(start, lo, hi) / scale,
        jac=lambda u: -np.where(on, curves.marginal(u * scale), 0.0),
        bounds=list(zip(lo / scale, hi / scale, strict=True)),
        constraints=[
            {**c, "fun": (lambda u, f=c["fun"]: f(u * scale) / scale), "jac": c["jac"]}
            for c in constraints
        ],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    x = res.x * scale if res.success else start
    return np.where(on, np.clip(x, lo, hi), 0.0)


def _fill(curves: Curves, on: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: float):
    """Amounts of the options on that equalise marginal returns (water level lam >= 0)."""
    a, s, c = (np.array(v) for v in (curves.a, curves.s, curves.c))

    def spend(lam: float) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = s * np.log(a / (s * (lam + c)))  # where the marginal return equals lam
        return np.where(on, np.clip(np.nan_to_num(x, nan=-np.inf), lo, hi), 0.0)

    if spend(0.0).sum() <= budget:
        return spend(0.0)
    top = float(curves.marginal(lo)[on].max())  # at this level every option sits at lo
    return spend(brentq(lambda lam: spend(lam).sum() - budget, 0.0, top, xtol=1e-15))


def best_mix(problem: Problem, curves: Curves | Blend, off: tuple[int, ...] = ()) -> Mix:
    """The best mix of the fitted curves (or a blend of several objectives' curves) within the
    problem's budget and share bounds, options in `off` kept off."""
    allowed = np.ones(len(problem.options), bool)
    allowed[list(off)] = False
    if (problem.committed & ~allowed).any():
        raise ValueError(f"off={off!r}: a committed option cannot be off")
    lo = problem.lower
    hi = np.minimum(problem.upper, problem.budget)
    allowed &= lo <= problem.budget
    on, start = _on_set(problem, curves, allowed, np.maximum(hi, lo))
    if problem.shares or not isinstance(curves, Curves):
        x = _fill_concave(problem, curves, on, lo, hi, start)
    else:
        x = _fill(curves, on, lo, hi, problem.budget)
    return Mix.of(problem, np.where(on, np.floor(x + 1e-6), 0.0))
