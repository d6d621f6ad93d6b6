"""Which calibrated parameters the targets pin down, and which trade off.

A local, noise-aware Gauss-Newton analysis at the chosen point. Each free parameter is mapped
to [0, 1] over its prior range (on the log scale where it is sampled so); the Jacobian of the
targets' residuals is taken by central differences with common random numbers (the same seeds
at every point), and each residual is scaled by its tolerance and by the replicate noise of the
model's mean. With the uniform prior approximated by a normal of the same variance (1/12), the
posterior covariance is (J'WJ + 12 I)^-1. A parameter is identified when the targets shrink its
standard deviation to at most half the prior's and it has no trade-off partner: another
parameter to which the targets respond alike (Jacobian columns with |cosine| >= 0.9), so that
one can stand in for the other. The 90% intervals are local (Gaussian) approximations: for a
parameter that is not identified, read its whole prior range as plausible.
Rank targets are left out: a rank correlation has no useful derivative.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np

from .targets import SMOOTH_KINDS, model_value, residual
from .trial import one_run

PRIOR_PRECISION = 12.0  # 1 / variance of a uniform on [0, 1]
IDENTIFIED_SD_SHARE = 0.5  # posterior SD at most this share of the prior SD
TRADE_OFF_COSINE = 0.9  # |cosine| of two Jacobian columns at or above which they trade off
Z90 = 1.6449


def to_unit(f, value: float) -> float:
    tr = np.log if f.log else float
    return float((tr(value) - tr(f.low)) / (tr(f.high) - tr(f.low)))


def from_unit(f, x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    if f.log:
        return float(np.exp(np.log(f.low) + x * (np.log(f.high) - np.log(f.low))))
    return float(f.low + x * (f.high - f.low))


def _residuals(targets: list, runs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted residuals of the replicate mean, and each one's replicate noise (its SE)."""
    r, se = [], []
    for t in targets:
        if t.kind not in SMOOTH_KINDS or t.weight == 0:
            continue
        value, spread = model_value(t, runs)
        per_run = [residual(t, v) for v in spread]
        w = np.sqrt(t.weight)
        r.append(w * residual(t, value))
        se.append(w * np.std(per_run, ddof=1) / np.sqrt(len(per_run)) if len(runs) > 1 else 0.0)
    return np.array(r), np.array(se)


def analyse(setup, values: dict, seed: int, replicates: int, jobs: int, step: float = 0.1):
    """One row per free parameter: value, 90% interval, SD share of the prior, trade-offs."""
    import pandas as pd

    free = setup.free
    x0 = np.array([to_unit(f, values[f.path]) for f in free])
    points = [x0]
    for j in range(len(free)):
        for sign in (1, -1):
            x = x0.copy()
            x[j] = min(max(x0[j] + sign * step, 0.0), 1.0)
            points.append(x)
    jobs_list = [
        ({f.path: from_unit(f, x[k]) for k, f in enumerate(free)}, seed + rep)
        for x in points
        for rep in range(replicates)
    ]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(one_run, [setup] * len(jobs_list), *zip(*jobs_list, strict=True)))
    by_point = [runs[i * replicates : (i + 1) * replicates] for i in range(len(points))]
    r0, se = _residuals(setup.targets, by_point[0])
    scale = 1 / np.sqrt(1 + se**2)  # tolerance and replicate noise together
    jac = np.zeros((len(r0), len(free)))
    for j in range(len(free)):
        up, down = points[1 + 2 * j], points[2 + 2 * j]
        width = up[j] - down[j]
        if width > 0:
            jac[:, j] = (
                _residuals(setup.targets, by_point[1 + 2 * j])[0]
                - _residuals(setup.targets, by_point[2 + 2 * j])[0]
            ) / width
    jac *= scale[:, None]
    cov = np.linalg.inv(jac.T @ jac + PRIOR_PRECISION * np.eye(len(free)))
    sd = np.sqrt(np.diag(cov))
    share = sd * np.sqrt(PRIOR_PRECISION)
    norm = np.linalg.norm(jac, axis=0)
    cosine = (jac.T @ jac) / np.maximum(np.outer(norm, norm), 1e-12)
    rows = []
    for j, f in enumerate(free):
        partners = [
            f"{g.path} ({cosine[j, k]:+.2f})"
            for k, g in enumerate(free)
            if k != j and abs(cosine[j, k]) >= TRADE_OFF_COSINE
        ]
        rows.append(
            {
                "parameter": f.path,
                "value": values[f.path],
                "low_90": from_unit(f, x0[j] - Z90 * sd[j]),
                "high_90": from_unit(f, x0[j] + Z90 * sd[j]),
                "posterior_sd_share_of_prior": float(share[j]),
                "trades_off_with": "; ".join(partners),
                "identified": bool(share[j] <= IDENTIFIED_SD_SHARE and not partners),
            }
        )
    return pd.DataFrame(rows)
