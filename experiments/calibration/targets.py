"""Calibration targets: validated from conf/targets/<area>.yaml, measured on model runs, scored.

Every target is against the model's recorded measures, per year, averaged over the projection.
The loss is a weighted sum of squared, tolerance-scaled misses; it is averaged over replicates
(the model's mean over replicates is scored), so that noise is not mistaken for fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from svsim.model import outcomes as oc
from svsim.model.outcomes import MEASURE_INDEX, MEASURES

from ..config import ConfigError

KINDS = ("count", "poisson", "band", "ratio_above", "rank")
PATTERN_KINDS = ("peak_band", "band")


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    weight: float
    source: str
    period: str = ""
    measure: str = ""
    where: dict = field(default_factory=dict)
    value: float = math.nan
    tolerance: float = math.nan
    years: int = 1
    low: float = math.nan
    high: float = math.nan
    minimum: float = math.nan
    places: dict = field(default_factory=dict)
    place_measures: dict = field(default_factory=dict)  # rank: the measure each place is on
    allowed: tuple = ()


def _union(w: str, t: dict, earlier: list[Target]) -> dict:
    """A rank target over the places of earlier rank targets, each place on its own list's
    measure; where lists overlap, the list named in `overlap` gives the figure."""
    ranks = {e.name: e for e in earlier if e.kind == "rank"}
    names = t["union"]
    if not isinstance(names, list) or len(names) < 2:
        raise ConfigError(f"{w}.union={names!r}: must list two or more earlier rank targets")
    for n in names:
        if n not in ranks:
            raise ConfigError(f"{w}.union: {n!r} is not an earlier rank target")
    if t.get("overlap") not in names:
        raise ConfigError(f"{w}.overlap={t.get('overlap')!r}: must be one of {names}")
    places, measures = {}, {}
    for n in [*(n for n in names if n != t["overlap"]), t["overlap"]]:  # overlap list last wins
        places.update(ranks[n].places)
        measures.update(ranks[n].place_measures)
    return {"places": places, "place_measures": measures, "measure": ranks[t["overlap"]].measure}


def _num(where: str, value: Any, lo=-math.inf, hi=math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{where}={value!r}: must be a number in [{lo}, {hi}]")
    return float(value)


def targets_from_dict(data: Any, places: set[str], csps: set[str]) -> list[Target]:
    """Validate the targets file; one-line errors naming the target and field."""
    if not isinstance(data, dict) or "targets" not in data:
        raise ConfigError("targets: the file must have a 'targets' list")
    out: list[Target] = []
    for i, t in enumerate(data["targets"] or []):
        w = f"targets[{t.get('name', i) if isinstance(t, dict) else i}]"
        if not isinstance(t, dict):
            raise ConfigError(f"{w}={t!r}: must be a mapping")
        kind = t.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{w}.kind={kind!r}: must be one of {', '.join(KINDS)}")
        if kind == "rank" and "union" in t:
            t = {**t, **_union(w, t, out)}
        if t.get("measure") not in MEASURES:
            raise ConfigError(f"{w}.measure={t.get('measure')!r}: not a model measure")
        for key in ("name", "source"):
            if not t.get(key):
                raise ConfigError(f"{w}.{key}: missing")
        needs = {
            "count": ("value", "tolerance"),
            "poisson": ("value", "years"),
            "band": ("low", "high"),
            "ratio_above": ("value",),
            "rank": ("places",),
        }[kind]
        for key in needs:
            if t.get(key) is None:
                raise ConfigError(f"{w}.{key}: missing (a {kind} target needs it)")
        kw = {k: t[k] for k in ("period",) if k in t}
        if kind in ("count", "poisson", "ratio_above"):
            kw["value"] = _num(f"{w}.value", t["value"], 0)
        if kind == "count":
            kw["tolerance"] = _num(f"{w}.tolerance", t["tolerance"], 1e-6, 10)
        if kind == "poisson":
            kw["years"] = int(_num(f"{w}.years", t["years"], 1, 100))
        if kind == "band":
            kw["low"], kw["high"] = _num(f"{w}.low", t["low"], 0), _num(f"{w}.high", t["high"], 0)
            if kw["low"] > kw["high"]:
                raise ConfigError(f"{w}.low={kw['low']}: above high={kw['high']}")
        if kind == "rank":
            kw["places"] = {
                str(k): _num(f"{w}.places[{k}]", v, 0) for k, v in (t["places"] or {}).items()
            }
            for p in kw["places"]:
                if p not in places:
                    raise ConfigError(f"{w}.places: {p!r} is not a community of this area")
            kw["place_measures"] = t.get("place_measures") or dict.fromkeys(
                kw["places"], t["measure"]
            )
            kw["minimum"] = _num(f"{w}.minimum", t.get("minimum", 0.5), -1, 1)
        where = t.get("where") or {}
        for k, v in where.items():
            if k != "csp" or v not in csps:
                raise ConfigError(f"{w}.where.{k}={v!r}: only csp=<a CSP of this area>")
        out.append(
            Target(
                name=str(t["name"]),
                kind=kind,
                measure=t["measure"],
                where=where,
                weight=_num(f"{w}.weight", t.get("weight", 1.0), 0),
                source=str(t["source"]),
                **kw,
            )
        )
    for i, p in enumerate(data.get("patterns") or []):
        w = f"patterns[{p.get('name', i)}]"
        if p.get("kind") not in PATTERN_KINDS:
            raise ConfigError(f"{w}.kind={p.get('kind')!r}: must be peak_band or band")
        kw = {}
        if p["kind"] == "band":
            kw["low"], kw["high"] = (
                _num(f"{w}.low", p.get("low"), 0),
                _num(f"{w}.high", p.get("high"), 0),
            )
        else:
            kw["allowed"] = tuple(p.get("allowed") or ())
        out.append(
            Target(
                name=str(p["name"]),
                kind="pattern_" + p["kind"],
                weight=_num(f"{w}.weight", p.get("weight", 0.2), 0),
                source=str(p.get("source", "")),
                **kw,
            )
        )
    return out


def measure_run(model) -> dict:
    """Everything the targets need from one finished run (small, picklable)."""
    w = model._weekly  # weeks x groups x measures (weighted)
    years = w.shape[0] / 52
    n_bands = len(oc.AGE_BANDS)
    per_group = w.sum(axis=0) / years  # groups x measures, per year
    comm = np.arange(per_group.shape[0]) // (2 * n_bands)
    band = (np.arange(per_group.shape[0]) // 2) % n_bands
    male = np.arange(per_group.shape[0]) % 2
    names = [c.name for c in model.area.communities]
    csp_of = np.array([c.csp for c in model.area.communities])
    out = {"by_community": {}, "by_csp": {}, "area": {}}
    for m, j in MEASURE_INDEX.items():
        by_comm = np.bincount(comm, weights=per_group[:, j], minlength=len(names))
        out["by_community"][m] = dict(zip(names, by_comm.tolist(), strict=True))
        out["by_csp"][m] = {c: float(by_comm[csp_of == c].sum()) for c in set(csp_of)}
        out["area"][m] = float(by_comm.sum())
    off = per_group[:, MEASURE_INDEX["offenders"]]
    age = model.people.age_years(model.week)
    alive = model.alive()
    pop_band = np.bincount(oc.age_band(age[alive]), minlength=n_bands) * model.weight
    rate = np.bincount(band, weights=off, minlength=n_bands) / np.maximum(pop_band, 1)
    out["offending_rate_by_band"] = dict(zip(oc.AGE_BAND_LABELS, rate.tolist(), strict=True))
    out["male_female_offender_ratio"] = float(
        off[male == 1].sum() / max(off[male == 0].sum(), 1e-9)
    )
    inc = model.incident_table()
    if len(inc):
        counts = np.sort(inc.groupby("victim").size().to_numpy())[::-1]
        top = max(1, math.ceil(0.04 * len(counts)))
        out["top4_victims_share"] = float(counts[:top].sum() / counts.sum())
    else:
        out["top4_victims_share"] = 0.0
    out["population_by_csp"] = {c.name: c.population for c in model.area.csps}
    return out


def _mean_dict(runs: list[dict], path: tuple) -> Any:
    vals = []
    for r in runs:
        v = r
        for p in path:
            v = v[p]
        vals.append(v)
    return float(np.mean(vals))


def model_value(t: Target, runs: list[dict]) -> Any:
    """The model's value for a target: the mean over replicates (and their spread)."""
    if t.kind in ("count", "poisson", "band"):
        if t.where.get("csp"):
            vals = [r["by_csp"][t.measure][t.where["csp"]] for r in runs]
        else:
            vals = [r["area"][t.measure] for r in runs]
        return float(np.mean(vals)), vals
    if t.kind == "ratio_above":
        vals = []
        for r in runs:
            rates = {
                c: r["by_csp"][t.measure][c] / r["population_by_csp"][c]
                for c in r["population_by_csp"]
            }
            vals.append(rates.get("Swindon", np.nan) / max(rates.get("Wiltshire", np.nan), 1e-12))
        return float(np.mean(vals)), vals
    if t.kind == "rank":
        places = list(t.places)
        model_counts = [
            float(np.mean([r["by_community"][t.place_measures[p]][p] for r in runs]))
            for p in places
        ]
        rho = stats.spearmanr(model_counts, [t.places[p] for p in places]).statistic
        return float(rho), dict(zip(places, model_counts, strict=True))
    if t.kind == "pattern_peak_band":
        rates = {
            b: np.mean([r["offending_rate_by_band"][b] for r in runs])
            for b in runs[0]["offending_rate_by_band"]
        }
        return max(rates, key=rates.get), rates
    if t.name == "male_female_offender_ratio":
        vals = [r["male_female_offender_ratio"] for r in runs]
        return float(np.mean(vals)), vals
    vals = [r[t.name] for r in runs]
    return float(np.mean(vals)), vals


def poisson_interval(count: float, years: int) -> tuple[float, float]:
    """Exact (Garwood) 90% interval of a Poisson count, per year."""
    lo = stats.chi2.ppf(0.05, 2 * count) / 2 if count > 0 else 0.0
    hi = stats.chi2.ppf(0.95, 2 * (count + 1)) / 2
    return float(lo / years), float(hi / years)


SMOOTH_KINDS = ("count", "poisson", "band", "pattern_band", "ratio_above")


def residual(t: Target, value: Any) -> float:
    """The signed miss whose square is the target's loss (0 inside an interval or band)."""
    if t.kind == "count":
        return (value - t.value) / (t.tolerance * t.value)
    if t.kind == "poisson":
        lo, hi = poisson_interval(t.value, t.years)
        return 4 * (value - min(max(value, lo), hi)) / (t.value / t.years)
    if t.kind in ("band", "pattern_band"):
        return 4 * (value - min(max(value, t.low), t.high)) / max(t.high, 1e-9)
    if t.kind == "ratio_above":
        return 10 * min(value - t.value, 0)
    if t.kind == "rank":
        return 1 - (value if np.isfinite(value) else 0.0)
    if t.kind == "pattern_peak_band":
        return 0.0 if value in t.allowed else 1.0
    raise ValueError(t.kind)


def score(t: Target, value: Any) -> tuple[float, bool]:
    """(loss contribution before weighting, whether the target is met)."""
    r = residual(t, value)
    if t.kind == "count":
        return r * r, abs(r) <= 1
    if t.kind == "rank":
        return r * r, 1 - r >= t.minimum
    return r * r, r == 0


def evaluate(targets: list[Target], runs: list[dict]) -> tuple[float, list[dict]]:
    """Total weighted loss and one row per target (for the fit table)."""
    rows, total = [], 0.0
    for t in targets:
        value, spread = model_value(t, runs)
        loss, met = score(t, value)
        total += t.weight * loss
        row = {
            "target": t.name,
            "kind": t.kind,
            "measure": t.measure,
            "weight": t.weight,
            "model": value,
            "met": met,
            "loss": t.weight * loss,
            "period": t.period,
            "source": t.source,
        }
        if (
            isinstance(spread, list)
            and len(spread) > 1
            and all(isinstance(x, int | float) for x in spread)
        ):
            row["model_p05"], row["model_p95"] = (
                float(np.quantile(spread, 0.05)),
                float(np.quantile(spread, 0.95)),
            )
        row["target_value"] = {
            "count": t.value,
            "poisson": t.value / t.years if t.kind == "poisson" else None,
            "ratio_above": t.value,
            "rank": t.minimum,
        }.get(t.kind)
        if t.kind == "poisson":
            row["target_value"] = t.value / t.years
            row["interval"] = poisson_interval(t.value, t.years)
        if t.kind in ("band", "pattern_band"):
            row["interval"] = (t.low, t.high)
        if t.kind == "count":
            row["interval"] = (t.value * (1 - t.tolerance), t.value * (1 + t.tolerance))
        if t.kind == "rank":
            row["places"] = {p: {"model": m, "recorded": t.places[p]} for p, m in spread.items()}
        rows.append(row)
    return total, rows
