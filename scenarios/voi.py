"""The value of information from probabilistic draws: EVPI and EVPPI by regression.

The inputs are `nb`, draws x options of net benefit, and `inputs`, draws x uncertain inputs (the
values each draw sampled). A draw's net benefit also carries simulation (replicate) noise, which
no study could remove and so is not information. The raw estimator mean_i max_d nb[i, d] -
max_d mean_i nb[i, d] (`naive_evpi`) counts that noise as value. Here, as in R's voi and dampack,
each option's net benefit is first regressed on the inputs of interest, and the value of knowing
them is computed from the fitted conditional means g_d(x) = E[NB_d | x]:

    EVPPI(x) = mean_i max_d g_d(x_i) - max_d mean_i g_d(x_i)

What is regressed is the incremental net benefit nb[:, d] - nb[:, 0] (d >= 1): noise shared by
all options (common random numbers) cancels before the fit, and the value depends only on these
differences. Two smoothers: "gam", an additive penalised regression spline (P-splines: a cubic
B-spline basis per input with a second-difference penalty, the smoothing chosen by efficient
leave-one-out cross-validation in scikit-learn's RidgeCV), and "gp", a Gaussian process with an
ARD squared-exponential kernel plus white noise on standardised inputs. Bootstrap intervals
resample the draws and refit with the smoothing (alpha, or the GP's hyperparameters) chosen on
the full sample, which keeps them cheap and avoids the undersmoothing that cross-validation
suffers on resamples with repeated rows.

All values are in the units of `nb` (e.g. GBP per draw of one decision); the caller scales them
to a population or a number of decisions.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import SplineTransformer

METHODS = ("gam", "gp")
KNOTS_SINGLE = 20  # spline knots for one input (22 cubic B-splines)
KNOTS_ADDITIVE = 10  # per input in an additive model of several
KNOTS_TENSOR = 4  # per margin of the pairwise tensor term (6 x 6 B-splines)
DRAWS_PER_TERM = 10  # draws needed for each freely estimated term (linear or spline knot)
MIN_KNOTS = 4  # fewer knots than this and an input enters linearly only
GP_MIN_DRAWS = 100  # a group's default smoother is a Gaussian process from this many draws
MIN_DRAWS = 100  # fewer draws and `analyse` estimates nothing: a regression would fit the noise
ALPHAS = np.logspace(-6, 4, 41)  # ridge grid, times the penalised block's mean squared column norm
GP_MAX_FIT = 1000  # a Gaussian process is fitted to at most this many draws
GP_JITTER = 1e-10  # scikit-learn's default `alpha`, added to the GP kernel's diagonal


# -- validation ------------------------------------------------------------------------------


def _finite(name: str, a: np.ndarray, cols=None) -> None:
    """Refuse NaN or infinite values, naming the first one, since a regression cannot use them."""
    bad = ~np.isfinite(a)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        col = repr(cols[j]) if cols is not None else j
        raise ValueError(f"{name}[{i}, {col}]={a[i, j]}: must be finite ({int(bad.sum())} are not)")


def _as_nb(nb) -> np.ndarray:
    """nb as a float array, draws x options, checked, since every estimator needs that shape."""
    try:
        a = np.asarray(nb, dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"nb={type(nb).__name__}: must be a numeric array ({e})") from None
    if a.ndim != 2:
        raise ValueError(f"nb.shape={a.shape}: must be 2-D, draws x options")
    if a.shape[1] < 2:
        raise ValueError(f"nb.shape={a.shape}: needs at least 2 options (columns)")
    if a.shape[0] < 2:
        raise ValueError(f"nb.shape={a.shape}: needs at least 2 draws (rows)")
    _finite("nb", a)
    return a


def _as_inputs(x, n: int, name: str) -> tuple[np.ndarray, list]:
    """(draws x columns float array, column names) from an array, Series or DataFrame."""
    if isinstance(x, pd.Series):
        x = x.to_frame()
    if isinstance(x, pd.DataFrame):
        for c in x.columns:
            if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c]):
                raise ValueError(f"{name}[{c!r}].dtype={x[c].dtype}: must be numeric")
        names, a = list(x.columns), x.to_numpy(dtype=float)
    else:
        try:
            a = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name}={type(x).__name__}: must be a numeric array ({e})") from None
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2:
            raise ValueError(f"{name}.shape={a.shape}: must be 1-D or 2-D, draws x inputs")
        names = list(range(a.shape[1]))
    if a.shape[0] != n:
        raise ValueError(f"{name}.shape={a.shape}: must have one row per draw of nb ({n})")
    if a.shape[1] == 0:
        raise ValueError(f"{name}.shape={a.shape}: needs at least one column")
    _finite(name, a, names)
    return a, names


def _method(method, columns: int, draws: int) -> str:
    """The smoother: "gam" for one column, and for several "gp" when there are enough draws to
    fit its length scales (else the additive "gam"), unless chosen."""
    if method is None:
        return "gp" if columns > 1 and draws >= GP_MIN_DRAWS else "gam"
    if method not in METHODS:
        raise ValueError(f"method={method!r}: must be one of {', '.join(map(repr, METHODS))}")
    return method


def _check_boot(boot, rng, level=0.9) -> None:
    """Refuse a bad bootstrap request: the count, the Generator and the interval level."""
    if isinstance(boot, bool) or not isinstance(boot, int | np.integer) or boot < 0:
        raise ValueError(f"boot={boot!r}: must be a whole number >= 0")
    if boot > 0 and not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng={rng!r}: must be a numpy Generator (np.random.default_rng(seed))")
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be a number in (0, 1)")


# -- smoothers -------------------------------------------------------------------------------


def _varying(x: np.ndarray) -> np.ndarray:
    """The columns that vary; a constant input carries no information and is left out."""
    return x[:, np.ptp(x, axis=0) > 0]


def _spline_basis(col: np.ndarray, knots: int) -> np.ndarray:
    """Cubic B-splines on equally spaced knots over the column's range (draws x basis)."""
    nk = int(min(knots, max(2, np.unique(col).size)))
    grid = np.linspace(col.min(), col.max(), nk)[:, None]
    st = SplineTransformer(knots=grid, degree=3, extrapolation="linear")
    return st.fit_transform(col[:, None])


def _wiggles(basis: np.ndarray) -> np.ndarray:
    """The basis reparametrised so a second-difference (P-spline) penalty is a plain ridge.

    With uniform knots the penalty's null space (constant and linear coefficient sequences) spans
    1 and x, which enter unpenalised; D'(DD')^-1 maps the differences back to coefficients."""
    d = np.diff(np.eye(basis.shape[1]), n=2, axis=0)
    return basis @ (d.T @ np.linalg.inv(d @ d.T))


def _tensor(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise tensor product of two bases: a smooth interaction surface."""
    return (a[:, :, None] * b[:, None, :]).reshape(len(a), -1)


@dataclass
class _Gam:
    """An additive penalised spline regression (optionally a pairwise tensor term) of several
    targets at once; the smoothing is chosen once per target, refits reuse it."""

    fixed: np.ndarray  # intercept and standardised linear terms: unpenalised
    pen: np.ndarray  # spline wiggles (and tensor term): ridge-penalised
    alpha: np.ndarray = field(default_factory=lambda: np.empty(0))
    design: np.ndarray = field(init=False)
    penalty: np.ndarray = field(init=False)

    def __post_init__(self):
        self.design = np.column_stack([self.fixed, self.pen])
        self.penalty = np.diag(np.r_[np.zeros(self.fixed.shape[1]), np.ones(self.pen.shape[1])])

    @classmethod
    def build(cls, x: np.ndarray, interactions: bool) -> _Gam:
        """Basis matrices for the columns of x; built once and reused by every refit. The basis
        grows with the draws (DRAWS_PER_TERM a term): with few draws an input gets no spline,
        and linear terms too many to estimate freely are shrunk (penalised) instead, so that a
        regression never interpolates noise and counts it as value."""
        n, p = x.shape
        knots = min(KNOTS_SINGLE if p == 1 else KNOTS_ADDITIVE, n // (DRAWS_PER_TERM * p))
        lin = (x - x.mean(axis=0)) / x.std(axis=0)
        pen = [_wiggles(_spline_basis(c, knots)) for c in x.T] if knots >= MIN_KNOTS else []
        if interactions and p == 2 and n >= DRAWS_PER_TERM * (KNOTS_TENSOR + 2) ** 2:
            t = _tensor(*(_spline_basis(c, KNOTS_TENSOR) for c in x.T))
            pen.append(t - t.mean(axis=0))
        fixed = [np.ones((n, 1))]
        (fixed if DRAWS_PER_TERM * (1 + p) <= n else pen).insert(0, lin)
        return cls(np.column_stack(fixed), np.column_stack(pen) if pen else np.empty((n, 0)))

    def fit(self, y: np.ndarray) -> np.ndarray:
        """Choose each target's ridge penalty by efficient leave-one-out CV, then fit."""
        if self.pen.shape[1] == 0:  # a plain least-squares line
            self.alpha = np.zeros(y.shape[1])
            return self.refit(y, np.ones(len(y)))
        q, _ = np.linalg.qr(self.fixed)
        z = self.pen - q @ (q.T @ self.pen)  # Frisch-Waugh: partial out the unpenalised terms
        r = y - q @ (q.T @ y)
        scale = max(float(np.mean(np.sum(z**2, axis=0))), np.finfo(float).tiny)
        cv = RidgeCV(alphas=ALPHAS * scale, fit_intercept=False, alpha_per_target=True)
        self.alpha = np.atleast_1d(cv.fit(z, r).alpha_).astype(float)
        return self.refit(y, np.ones(len(y)))

    def refit(self, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Fitted values at every draw from a fit weighted by w (bootstrap counts)."""
        x = self.design
        xtw = x.T * w
        gram, rhs = xtw @ x, xtw @ y
        ridge = 1e-10 * np.trace(gram) / len(gram)  # keeps the unpenalised block solvable
        a = gram + np.eye(len(gram)) * ridge + self.alpha[:, None, None] * self.penalty
        coef = np.linalg.solve(a, rhs.T[:, :, None])[:, :, 0]
        return x @ coef.T


def _spaced(n: int, most: int) -> np.ndarray:
    """At most `most` evenly spaced positions of n (draws are exchangeable, so no RNG needed)."""
    return np.arange(n) if n <= most else np.unique(np.linspace(0, n - 1, most).round().astype(int))


def _gp_kernel(dims: int):
    """Signal variance x ARD squared-exponential plus white noise, in standardised units."""
    rbf = RBF(length_scale=np.ones(dims), length_scale_bounds=(1e-2, 1e3))
    return ConstantKernel(1.0, (1e-3, 1e3)) * rbf + WhiteKernel(0.5, (1e-6, 1e1))


@dataclass
class _Gp:
    """A Gaussian-process regression per target on standardised inputs, hyperparameters fitted
    by maximum marginal likelihood on at most GP_MAX_FIT draws; refits keep them."""

    x: np.ndarray
    kernels: list = field(default_factory=list)

    @classmethod
    def build(cls, x: np.ndarray, interactions: bool) -> _Gp:
        """Standardise the inputs (the kernel's length scales are then per standard deviation)."""
        return cls((x - x.mean(axis=0)) / x.std(axis=0))

    def fit(self, y: np.ndarray) -> np.ndarray:
        """Fit each target's hyperparameters and return the posterior mean at every draw."""
        rows = _spaced(len(y), GP_MAX_FIT)
        out = []
        for t in range(y.shape[1]):
            gp = GaussianProcessRegressor(_gp_kernel(self.x.shape[1]), normalize_y=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(self.x[rows], y[rows, t])
            self.kernels.append(gp.kernel_)
            out.append(gp.predict(self.x))
        return np.column_stack(out)

    def refit(self, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Posterior means at the draws with w > 0, the weights being repeat counts.

        Repeated draws are merged: c copies of a point with noise s2 act as one observation of
        their mean with noise s2 / c, so the Cholesky factor is of the distinct draws only."""
        u = np.flatnonzero(w > 0)
        f = u[_spaced(len(u), GP_MAX_FIT)]
        out = np.zeros((len(w), y.shape[1]))
        for t, kern in enumerate(self.kernels):
            m = np.average(y[:, t], weights=w)
            k_ff = kern.k1(self.x[f]) + np.diag((kern.k2.noise_level + GP_JITTER) / w[f])
            beta = cho_solve(cho_factor(k_ff, lower=True), y[f, t] - m)
            out[u, t] = m + kern.k1(self.x[u], self.x[f]) @ beta
        return out


# -- the estimators --------------------------------------------------------------------------


class _Regression:
    """One input's (or group's) regression of the incremental net benefit, refittable on
    bootstrap weights; options identical to the comparator are not fitted."""

    def __init__(self, nb: np.ndarray, x: np.ndarray, method: str, interactions: bool | None):
        self.nb, self.inc = nb, nb[:, 1:] - nb[:, :1]
        self.vary = np.ptp(self.inc, axis=0) > 0
        xv = _varying(x)
        if interactions is None:
            interactions = method == "gam" and xv.shape[1] == 2
        self.smoother = None
        if xv.shape[1] and self.vary.any():
            smoother = _Gam if method == "gam" else _Gp
            self.smoother = smoother.build(xv, interactions)
        self.fitted = self._means(np.ones(len(nb)), full=True)

    def _means(self, w: np.ndarray, full: bool = False) -> np.ndarray:
        """Conditional means (draws x options) under weights w: the comparator's mean plus the
        fitted incremental net benefit (its weighted mean where it is not fitted)."""
        inc = np.broadcast_to(np.average(self.inc, axis=0, weights=w), self.inc.shape).copy()
        if self.smoother is not None:
            y = self.inc[:, self.vary]
            fit = self.smoother.fit(y) if full else self.smoother.refit(y, w)
            inc[:, self.vary] = fit
        base = np.average(self.nb[:, 0], weights=w)
        return base + np.column_stack([np.zeros(len(inc)), inc])

    def value(self, w: np.ndarray | None = None) -> float:
        """EVPPI on the full sample (w None) or on a bootstrap resample given by its counts."""
        if w is None:
            return _value(self.fitted)
        return _value(self._means(w), w)


def _value(g: np.ndarray, w: np.ndarray | None = None) -> float:
    """mean_i max_d g[i, d] - max_d mean_i g[i, d], weighted; >= 0 by Jensen's inequality."""
    if w is None:
        w = np.ones(len(g))
    keep = w > 0
    g, w = g[keep], w[keep] / w[keep].sum()
    return max(float(w @ g.max(axis=1) - (w @ g).max()), 0.0)


def conditional_means(nb, x, method: str | None = None, *, interactions: bool | None = None):
    """Fitted E[NB_d | x] per draw and option (draws x options), by regressing each option's net
    benefit less the comparator's (column 0) on x and adding back column 0's mean, so replicate
    noise is smoothed away; column 0 is that constant, which leaves every value unchanged.

    method: "gam" (penalised additive splines, the default for one column) or "gp" (Gaussian
    process, the default for several); interactions: a pairwise tensor term in "gam" for two
    columns (the default there)."""
    nb = _as_nb(nb)
    xs, _ = _as_inputs(x, len(nb), "x")
    return _Regression(nb, xs, _method(method, xs.shape[1], len(xs)), interactions).fitted


def evppi(nb, x, method: str | None = None) -> float:
    """The expected value of perfect information on x (one input or a group), from the fitted
    conditional means, so replicate noise is not counted as value."""
    nb = _as_nb(nb)
    xs, _ = _as_inputs(x, len(nb), "x")
    return _Regression(nb, xs, _method(method, xs.shape[1], len(xs)), None).value()


def evpi(nb, inputs, method: str = "gam") -> float:
    """The EVPI: the value of knowing every input, from one regression on all of them, so
    replicate noise is removed. With "gam" the model is additive (no interaction terms), which
    suits ~50 inputs and a few hundred draws but misses value that arises only from inputs'
    interactions; "gp" models those, for a handful of inputs."""
    nb = _as_nb(nb)
    xs, _ = _as_inputs(inputs, len(nb), "inputs")
    return _Regression(nb, xs, _method(method, xs.shape[1], len(xs)), False).value()


def naive_evpi(nb) -> float:
    """mean_i max_d nb[i, d] - max_d mean_i nb[i, d]: the raw estimator, which also counts
    replicate noise as information, so overstates the EVPI (kept as a warning and a check)."""
    return _value(_as_nb(nb))


def _frame(inputs, n: int) -> pd.DataFrame:
    """inputs as a DataFrame with named columns (x0, x1, ... for an array)."""
    a, names = _as_inputs(inputs, n, "inputs")
    if not isinstance(inputs, pd.DataFrame | pd.Series):
        names = [f"x{j}" for j in names]
    return pd.DataFrame(a, columns=names)


def _items(frame: pd.DataFrame, groups) -> list[tuple[str, str, list]]:
    """(name, kind, columns) for every input and every named group, groups checked."""
    items = [(c, "input", [c]) for c in frame.columns]
    for g, cols in (groups or {}).items():
        if isinstance(cols, str) or not list(cols):
            raise ValueError(f"groups[{g!r}]={cols!r}: must be a non-empty list of input names")
        unknown = [c for c in cols if c not in frame.columns]
        if unknown:
            raise ValueError(f"groups[{g!r}]={list(cols)!r}: unknown input(s) {unknown!r}")
        items.append((g, "group", list(cols)))
    return items


def _boot_weights(rng: np.random.Generator, n: int, boot: int) -> np.ndarray:
    """boot x n repeat counts of draws resampled with replacement."""
    idx = rng.integers(0, n, size=(boot, n)) + n * np.arange(boot)[:, None]
    return np.bincount(idx.ravel(), minlength=n * boot).reshape(boot, n).astype(float)


def _bootstrap(regs: list[_Regression], weights: np.ndarray) -> np.ndarray:
    """boot x items EVPPI, each resample refitted with the full sample's smoothing."""
    return np.array([[r.value(w) for r in regs] for w in weights]).reshape(len(weights), len(regs))


def evppi_table(nb, inputs, groups=None, boot: int = 200, rng=None, level: float = 0.9):
    """EVPPI of every input and every named group with bootstrap percentile intervals, to rank
    what is worth learning: columns input, kind ("input"/"group"), evppi, low, high (NaN when
    boot=0). Singles use "gam", groups of several inputs "gp"."""
    nb = _as_nb(nb)
    _check_boot(boot, rng, level)
    frame = _frame(inputs, len(nb))
    items = _items(frame, groups)
    regs = [
        _Regression(nb, frame[cols].to_numpy(), _method(None, len(cols), len(nb)), None)
        for _, _, cols in items
    ]
    est = np.array([r.value() for r in regs])
    low = high = np.full(len(items), np.nan)
    if boot:
        vals = _bootstrap(regs, _boot_weights(rng, len(nb), boot))
        low, high = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2], axis=0)
    table = pd.DataFrame(
        {
            "input": [name for name, _, _ in items],
            "kind": [kind for _, kind, _ in items],
            "evppi": est,
            "low": low,
            "high": high,
        }
    )
    return table.sort_values(["kind", "evppi"], ascending=[False, False], ignore_index=True)


def top_k_stability(nb, inputs, *, rng=None, boot: int = 200, k: int = 3) -> float:
    """The share of bootstrap resamples whose top k single inputs by EVPPI are, as a set, the
    full sample's: how far the ranking can be trusted (NaN when boot=0)."""
    nb = _as_nb(nb)
    _check_boot(boot, rng)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k={k!r}: must be a whole number >= 1")
    frame = _frame(inputs, len(nb))
    if boot == 0:
        return math.nan
    if frame.shape[1] <= k:
        return 1.0
    regs = [_Regression(nb, frame[[c]].to_numpy(), "gam", None) for c in frame.columns]
    top = set(np.argsort([-r.value() for r in regs], kind="stable")[:k])
    vals = _bootstrap(regs, _boot_weights(rng, len(nb), boot))
    tops = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    return float(np.mean([set(t) == top for t in tops]))


def draws_for_stability(table: pd.DataFrame, draws: int, k: int = 3) -> int | None:
    """A rough number of draws at which the k-th and (k+1)-th inputs' intervals would stop
    overlapping, if interval widths shrink as 1/sqrt(draws); None when not estimable (no
    intervals, or a tie). A guide for planning a larger run, not a guarantee."""
    singles = table[table.kind == "input"].sort_values("evppi", ascending=False)
    if len(singles) <= k:
        return int(draws)
    a, b = singles.iloc[k - 1], singles.iloc[k]
    gap = a.evppi - b.evppi
    half = (a.evppi - a.low) + (b.high - b.evppi)
    if not (np.isfinite(half) and gap > 0):
        return None
    return math.ceil(draws * max(half, 0.0) ** 2 / gap**2)


# -- the decision's value of information, from compare's replicates ---------------------------

CALIBRATION_GROUP = "calibrated parameters"
CALIBRATED_PREFIXES = ("params", "csp_hazard_multiplier")


def net_benefit(per_rep: pd.DataFrame, scenarios: list[str], comparator: str, multiplier=1.0):
    """(draws x options net benefit, options, replicate numbers) from compare's
    economics_by_replicate rows: multiplier x harm averted - extra money committed, present
    values; the comparator is column 0 with net benefit 0."""
    wide = per_rep.pivot(index="replicate", columns="scenario")
    others = [s for s in scenarios if s != comparator]
    cols = [multiplier * wide["harm_averted_pv"][s] - wide["spend_pv"][s] for s in others]
    nb = np.column_stack([np.zeros(len(wide)), *cols])
    return nb, [comparator, *others], wide.index.to_numpy()


DELIVERY = ("uptake", "completion", "unit_cost")  # an intervention's inputs outside its chain
EFFECT_GROUP = ".effect"  # suffix of the group of an intervention's effect chain


def groups_of(columns) -> dict[str, list[str]]:
    """Inputs grouped for EVPPI: each intervention's effect chain ('<name>.effect': the
    published estimate and every transfer rule's parameter), each intervention as a whole
    ('<name>': its chain, uptake, completion and unit cost), and the calibrated parameters;
    inputs are named '<intervention>.<input>'. A group of one input is that input."""
    groups: dict[str, list[str]] = {}
    for col in columns:
        head, _, rest = col.partition(".")
        if head in CALIBRATED_PREFIXES:
            groups.setdefault(CALIBRATION_GROUP, []).append(col)
            continue
        groups.setdefault(head, []).append(col)
        if rest not in DELIVERY:
            groups.setdefault(head + EFFECT_GROUP, []).append(col)
    return {g: cols for g, cols in groups.items() if len(cols) > 1}


NOISE_KEY = 4_242  # the stream of the stand-in input that measures the noise floor


def noise_floor(nb, rng: np.random.Generator) -> float:
    """The EVPPI of a stand-in input that has nothing to do with net benefit (a standard normal
    draw per draw): what these draws' noise alone is worth to the estimator. Inputs worth no
    more than this cannot be told from nothing."""
    return evppi(nb, rng.standard_normal(len(nb)))


def analyse(nb, options: list[str], inputs: pd.DataFrame, boot: int, rng, multiplier=1.0):
    """The decision's value of information: (EVPPI table of every varying input and group with
    bootstrap intervals, summary with the EVPI, the naive estimate and the top three's
    stability). Inputs that never vary carry no information and are left out. With fewer than
    MIN_DRAWS draws nothing is estimated (the table is empty and the summary says why): a
    regression on so few noisy draws fits the noise, and every input would look valuable."""
    inputs = inputs.loc[:, inputs.nunique() > 1]
    summary = {
        "draws": len(nb),
        "options": options,
        "multiplier": multiplier,
        "best_on_average": options[int(np.asarray(nb).mean(axis=0).argmax())],
    }
    if len(nb) < MIN_DRAWS:
        reason = (
            f"{len(nb)} draws: the value of information needs at least {MIN_DRAWS} "
            "(svsim voi draws=1000)"
        )
        empty = pd.DataFrame(columns=["input", "kind", "evppi", "low", "high"])
        return empty, {**summary, "computed": False, "reason": reason}
    table = evppi_table(nb, inputs, groups_of(inputs.columns), boot=boot, rng=rng)
    summary |= {
        "computed": True,
        "evpi": evpi(nb, inputs),
        "naive_evpi_counting_noise": naive_evpi(nb),
        "noise_floor": noise_floor(nb, np.random.default_rng([len(nb), NOISE_KEY])),
        "top_three": list(table[table.kind == "input"].nlargest(3, "evppi").input),
        "top_three_stability": top_k_stability(nb, inputs, rng=rng, boot=boot, k=3),
        "draws_for_stable_top_three": draws_for_stability(table, len(nb), k=3),
        "per": "the whole area's decision over the horizon, present values in base-year GBP",
    }
    return table, summary
