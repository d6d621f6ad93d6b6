"""History matching with Gaussian-process emulators (model/ODD.md section 8).

Why this method: with ~20 free parameters, ~40 rows and a stochastic model costing seconds a run,
an optimiser (the retired Optuna fit) returns one point and says nothing of which others the data
equally support. History matching (Craig et al. 1997; Vernon et al. 2010; Andrianakis et al.
2015, an HIV model) rules out the parameter space where any fitted row is implausible, in waves:
each wave runs the model on a space-filling design of the space not yet ruled out, fits one
emulator per row, and rules out more. What is left is the plausible set.

Implausibility of row i at x: I_i(x) = |E[f_i(x)] - z_i| / sqrt(V_obs,i + V_run,i + V_em,i(x)),
where V_obs is the published figure's variance, V_run the model's run-to-run variance (the
emulator's fitted nugget) and V_em the emulator's own uncertainty. A point is ruled out when any
fitted row has I > 3 (Pukelsheim's 3-sigma rule). A row that no point in the prior space meets
(min I > 3 over a large sample) is structural misfit: reported, and left out of the cutoff, so
that one conflict does not rule out everything.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

CUTOFF = 3.0  # Pukelsheim (1994): 95% of any unimodal distribution lies within 3 SD
IDENTIFIED_SHARE = 0.5  # identified: the plausible set's 5-95% range <= this share of the prior


@dataclass(frozen=True)
class Free:
    """A free parameter: its path, uniform prior bounds (log: uniform on the log scale), source."""

    path: str
    low: float
    high: float
    log: bool
    source: str = ""


def to_unit(f: Free, value: float) -> float:
    tr = np.log if f.log else float
    return float((tr(value) - tr(f.low)) / (tr(f.high) - tr(f.low)))


def from_unit(f: Free, x: float) -> float:
    x = min(max(float(x), 0.0), 1.0)
    if f.log:
        return float(np.exp(np.log(f.low) + x * (np.log(f.high) - np.log(f.low))))
    return float(f.low + x * (f.high - f.low))


def values_at(free: tuple, x: np.ndarray) -> dict:
    return {f.path: from_unit(f, x[k]) for k, f in enumerate(free)}


@dataclass(frozen=True)
class Scale:
    """Which rows are emulated on the log scale: positive two-sided rows whose first-wave
    outputs span more than a factor of 4 (counts from a few thousand to tens of thousands are
    far from a stationary Gaussian process on their own scale). The observation moves with
    them: log of the centre, and its SD relative to the centre (the delta method)."""

    log: np.ndarray

    @classmethod
    def choose(cls, y: np.ndarray, obs: tuple) -> Scale:
        lo, hi = np.nanmin(y, axis=0), np.nanmax(y, axis=0)
        positive = (lo > 0) & (obs[0] > 0) & ~obs[2]
        return cls(positive & (hi > 4 * np.where(positive, lo, 1.0)))

    def outputs(self, y: np.ndarray) -> np.ndarray:
        return np.where(self.log, np.log(np.maximum(y, 1e-12)), y)

    def observations(self, obs: tuple) -> tuple:
        centre, sd, one_sided = obs
        c = np.where(self.log, centre, 1.0)
        return np.where(self.log, np.log(c), centre), np.where(self.log, sd / c, sd), one_sided


def latin_hypercube(n: int, d: int, seed: int) -> np.ndarray:
    """A space-filling design on the unit cube (scipy's optimised Latin hypercube)."""
    from scipy.stats import qmc

    return qmc.LatinHypercube(
        d=d, optimization="random-cd", rng=np.random.default_rng(seed)
    ).random(n)


@dataclass
class Emulator:
    """One Gaussian process per row over the unit cube: mean, emulator variance, run variance."""

    gps: list
    names: list[str]

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0, jobs: int = 1
    ) -> Emulator:
        """Fit on finite outputs, rows in parallel; a row with no spread gets a constant."""
        from joblib import Parallel, delayed

        gps = Parallel(n_jobs=jobs)(
            delayed(_fit_one)(x, y[:, j], seed + j) for j in range(y.shape[1])
        )
        return cls(gps, list(names))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, emulator variance, run-to-run variance), each points x rows."""
        n, m = len(x), len(self.gps)
        mean, var_em, var_run = np.zeros((n, m)), np.zeros((n, m)), np.zeros((n, m))
        for j, (kind, gp) in enumerate(self.gps):
            if kind == "const":
                mean[:, j] = gp
                continue
            mu, sd = gp.predict(x, return_std=True)
            noise = gp.kernel_.k2.noise_level * gp._y_train_std**2
            mean[:, j] = mu
            var_run[:, j] = noise
            var_em[:, j] = np.maximum(sd**2 - noise, 0.0)  # sklearn's std includes the nugget
        return mean, var_em, var_run

    def relevance(self) -> np.ndarray:
        """rows x parameters: 1 / length-scale, each row scaled to sum to 1 (0 for constants)."""
        out = []
        for kind, gp in self.gps:
            if kind == "const":
                out.append(None)
                continue
            inv = 1 / np.asarray(gp.kernel_.k1.k2.length_scale, float)
            out.append(inv / inv.sum())
        d = next((len(r) for r in out if r is not None), 0)
        return np.array([r if r is not None else np.zeros(d) for r in out])


def _fit_one(x: np.ndarray, y: np.ndarray, seed: int) -> tuple:
    """A GP with a constant times an anisotropic RBF kernel plus a nugget (run-to-run noise)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    ok = np.isfinite(y)
    if ok.sum() < 5 or np.ptp(y[ok]) == 0:
        return ("const", float(np.mean(y[ok])) if ok.any() else math.nan)
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(
        np.full(x.shape[1], 0.5), (0.05, 100.0)
    ) + WhiteKernel(0.1, (1e-6, 1.0))
    gp = GaussianProcessRegressor(
        kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed
    )
    with warnings.catch_warnings():  # a parameter that does not move a row hits the
        warnings.simplefilter("ignore", ConvergenceWarning)  # length-scale bound
        gp.fit(x[ok], y[ok])
    return ("gp", gp)


def implausibility(
    mean: np.ndarray, var: np.ndarray, centre: np.ndarray, sd: np.ndarray, one_sided: np.ndarray
) -> np.ndarray:
    """points x rows; a one-sided row ('above') is implausible only below its value."""
    diff = mean - centre
    diff = np.where(one_sided, np.minimum(diff, 0.0), diff)
    return np.abs(diff) / np.sqrt(sd**2 + var)


def structural_misfits(imp: np.ndarray) -> np.ndarray:
    """Rows no sampled point meets (min I over the sample above the cutoff)."""
    return np.nanmin(imp, axis=0) > CUTOFF


def not_ruled_out(imp: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Points whose largest implausibility over the kept rows is at most the cutoff."""
    return np.nanmax(np.where(keep, imp, 0.0), axis=1) <= CUTOFF


def max_implausibility(
    emulators: list[Emulator], obs: tuple, keep_rows: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """Each point's largest implausibility over the kept rows and every wave's emulator: a
    point is ruled out when it exceeds CUTOFF."""
    centre, sd, one_sided = obs
    worst = np.zeros(len(x))
    for em in emulators:
        mean, var_em, var_run = em.predict(x)
        imp = implausibility(mean, var_em + var_run, centre, sd, one_sided)
        worst = np.maximum(worst, np.nanmax(np.where(keep_rows, imp, 0.0), axis=1))
    return worst


def sample_space(
    emulators: list[Emulator],
    obs: tuple,
    keep_rows: np.ndarray,
    d: int,
    n: int,
    rng: np.random.Generator,
    candidates: int = 50_000,
    rounds: int = 4,
) -> tuple[np.ndarray, dict]:
    """n points of the space not ruled out by any wave's emulator (each wave's rows are kept
    in turn); when too few of a uniform sample survive, the survivors (or the least implausible
    points) seed Gaussian steps for a few rounds. Returns the points and a summary."""

    def max_imp(x):
        return max_implausibility(emulators, obs, keep_rows, x)

    x = rng.random((candidates, d))
    worst = max_imp(x)
    share = float((worst <= CUTOFF).mean())
    step = 0.08
    for _ in range(rounds):
        if (worst <= CUTOFF).sum() >= 4 * n:
            break
        seeds = x[np.argsort(worst)[: max(50, int((worst <= CUTOFF).sum()))]]
        new = np.clip(
            seeds[rng.integers(len(seeds), size=candidates)] + rng.normal(0, step, (candidates, d)),
            0,
            1,
        )
        x, worst = np.vstack([x, new]), np.concatenate([worst, max_imp(new)])
        step /= 1.5
    ok = np.flatnonzero(worst <= CUTOFF)
    enough = len(ok) >= n
    pick = rng.choice(ok, size=n, replace=False) if enough else np.argsort(worst)[:n]
    return x[pick], {
        "uniform_share_not_ruled_out": share,
        "candidates": len(x),
        "not_ruled_out": len(ok),
        "design_from_least_implausible": bool(len(ok) < n),
    }


def _on_bound(col: np.ndarray) -> str:
    """'low' or 'high' when the plausible points pile against that bound (median in its outer
    fifth and the 5% or 95% quantile within 2% of it)."""
    med, lo, hi = np.median(col), *np.quantile(col, [0.05, 0.95])
    if med < 0.2 and lo < 0.02:
        return "low"
    if med > 0.8 and hi > 0.98:
        return "high"
    return ""


def parameter_ranges(free: tuple, x: np.ndarray) -> list[dict]:
    """Per parameter, over the plausible points: 5-95% range, its share of the prior range,
    whether it is identified, and whether it presses on a bound."""
    out = []
    for k, f in enumerate(free):
        col = x[:, k]
        lo, hi = np.quantile(col, [0.05, 0.95])
        share = float(hi - lo)
        out.append(
            {
                "parameter": f.path,
                "median": from_unit(f, float(np.median(col))),
                "low_90": from_unit(f, float(lo)),
                "high_90": from_unit(f, float(hi)),
                "prior_low": f.low,
                "prior_high": f.high,
                "share_of_prior_range": share,
                "identified": bool(share <= IDENTIFIED_SHARE),
                "on_bound": _on_bound(col),
                "source": f.source,
            }
        )
    return out
