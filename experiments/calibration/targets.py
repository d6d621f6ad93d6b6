"""The rows a calibration is judged on: validated from conf/targets/<area>.yaml, measured on model
runs, and tested (model/ODD.md section 8).

Each row names a statistic of one run (`statistics`), is marked fit or held out before any
calibration, and has an honest test: a survey row within 2 of its published standard error, a
count within its published or stated interval, a rare outcome on expected severities, a rank by
Spearman correlation. History matching (history.py) reads each row as an observation with a
standard deviation (`observation`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from svsim.model.accounting import FIGURES, tally
from svsim.model.outcomes import MEASURE_INDEX, MEASURES
from svsim.model.patterns import patterns
from svsim.model.scopes import SCOPE

from ..config import ConfigError

KINDS = ("count", "poisson", "z", "band", "above", "rank")
USES = ("fit", "held_out")
NEEDS = {
    "count": ("value", "tolerance"),
    "poisson": ("value", "years"),
    "z": ("value", "se"),
    "band": ("low", "high"),
    "above": ("value",),
    "rank": ("places",),
}
Z_PASS = 2.0  # a survey row passes at |z| < 2 (issue 14)


@dataclass(frozen=True)
class Row:
    name: str
    use: str
    scope: str
    kind: str
    statistic: str
    source: str
    period: str = ""
    value: float = math.nan
    tolerance: float = math.nan
    se: float = math.nan
    years: int = 1
    low: float = math.nan
    high: float = math.nan
    minimum: float = math.nan
    places: dict = field(default_factory=dict)
    place_statistics: dict = field(default_factory=dict)  # rank: the measure each place is on

    @property
    def fitted(self) -> bool:
        return self.use == "fit"

    def interval(self) -> tuple[float, float]:
        """The published value's range that passes (z rows: value +- 2 SE, without model noise)."""
        if self.kind == "count":
            return self.value * (1 - self.tolerance), self.value * (1 + self.tolerance)
        if self.kind == "poisson":
            return poisson_interval(self.value, self.years)
        if self.kind == "z":
            return self.value - Z_PASS * self.se, self.value + Z_PASS * self.se
        if self.kind == "band":
            return self.low, self.high
        if self.kind == "above":
            return self.value, math.inf
        return self.minimum, 1.0

    def published(self) -> float:
        """The published figure (the centre of a band, the rate of a pooled count)."""
        if self.kind == "poisson":
            return self.value / self.years
        if self.kind == "band":
            return (self.low + self.high) / 2
        if self.kind == "rank":
            return self.minimum
        return self.value


def poisson_interval(count: float, years: int) -> tuple[float, float]:
    """Exact (Garwood) 90% interval of a Poisson count, per year."""
    lo = stats.chi2.ppf(0.05, 2 * count) / 2 if count > 0 else 0.0
    hi = stats.chi2.ppf(0.95, 2 * (count + 1)) / 2
    return float(lo / years), float(hi / years)


def _num(where: str, value: Any, lo=-math.inf, hi=math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ConfigError(f"{where}={value!r}: must be a number in [{lo}, {hi}]")
    return float(value)


def _union(w: str, t: dict, earlier: list[Row]) -> dict:
    """A rank row over the places of earlier rank rows, each place on its own list's measure;
    where lists overlap, the list named in `overlap` gives the figure."""
    ranks = {e.name: e for e in earlier if e.kind == "rank"}
    names = t["union"]
    if not isinstance(names, list) or len(names) < 2:
        raise ConfigError(f"{w}.union={names!r}: must list two or more earlier rank rows")
    for n in names:
        if n not in ranks:
            raise ConfigError(f"{w}.union: {n!r} is not an earlier rank row")
    if t.get("overlap") not in names:
        raise ConfigError(f"{w}.overlap={t.get('overlap')!r}: must be one of {names}")
    places, measures = {}, {}
    for n in [*(n for n in names if n != t["overlap"]), t["overlap"]]:  # overlap list last wins
        places.update(ranks[n].places)
        measures.update(ranks[n].place_statistics)
    return {
        "places": places,
        "place_statistics": measures,
        "statistic": ranks[t["overlap"]].statistic,
    }


def rows_from_dict(data: Any, places: set[str]) -> list[Row]:
    """Validate the rows file; one-line errors naming the row and field."""
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ConfigError("rows: the targets file must have a 'rows' list")
    out: list[Row] = []
    for i, t in enumerate(data["rows"]):
        w = f"rows[{t.get('name', i) if isinstance(t, dict) else i}]"
        if not isinstance(t, dict):
            raise ConfigError(f"{w}={t!r}: must be a mapping")
        unknown = set(t) - {*Row.__dataclass_fields__, "union", "overlap"}
        if unknown:
            raise ConfigError(f"{w}: unknown field(s) {', '.join(sorted(unknown))}")
        kind = t.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{w}.kind={kind!r}: must be one of {', '.join(KINDS)}")
        if t.get("use") not in USES:
            raise ConfigError(f"{w}.use={t.get('use')!r}: must be fit or held_out")
        if kind == "rank" and "union" in t:
            t = {
                k: v for k, v in {**t, **_union(w, t, out)}.items() if k not in ("union", "overlap")
            }
        for key in ("name", "source", "scope", "statistic", *NEEDS[kind]):
            if t.get(key) in (None, ""):
                raise ConfigError(f"{w}.{key}: missing (a {kind} row needs it)")
        if t["scope"] not in SCOPE:
            raise ConfigError(f"{w}.scope={t['scope']!r}: not a scope (model/scopes.py)")
        if t["name"] in {r.name for r in out}:
            raise ConfigError(f"{w}.name={t['name']!r}: used twice")
        kw: dict = {k: str(t[k]) for k in ("name", "use", "scope", "kind", "statistic", "source")}
        kw["period"] = str(t.get("period", ""))
        if kind in ("count", "poisson", "z", "above"):
            kw["value"] = _num(f"{w}.value", t["value"], 0)
        if kind == "count":
            kw["tolerance"] = _num(f"{w}.tolerance", t["tolerance"], 1e-6, 10)
        if kind == "z":
            kw["se"] = _num(f"{w}.se", t["se"], 1e-12)
        if kind == "poisson":
            kw["years"] = int(_num(f"{w}.years", t["years"], 1, 100))
        if kind == "band":
            kw["low"], kw["high"] = _num(f"{w}.low", t["low"], 0), _num(f"{w}.high", t["high"], 0)
            if kw["low"] > kw["high"]:
                raise ConfigError(f"{w}.low={kw['low']}: above high={kw['high']}")
        if kind == "rank":
            if kw["statistic"] not in MEASURES:
                raise ConfigError(
                    f"{w}.statistic={kw['statistic']!r}: a rank needs a model measure"
                )
            if not isinstance(t["places"], dict) or len(t["places"]) < 3:
                raise ConfigError(f"{w}.places: must name three or more places with counts")
            kw["places"] = {str(k): _num(f"{w}.places[{k}]", v, 0) for k, v in t["places"].items()}
            for p in kw["places"]:
                if p not in places:
                    raise ConfigError(f"{w}.places: {p!r} is not a community of this area")
            kw["place_statistics"] = t.get("place_statistics") or dict.fromkeys(
                kw["places"], kw["statistic"]
            )
            kw["minimum"] = _num(f"{w}.minimum", t.get("minimum", 0.5), -1, 1)
        out.append(Row(**kw))
    return out


def slug(name: str) -> str:
    """A pattern row's statistic name: its label in lower_snake_case."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def statistics(model, results) -> dict:
    """Everything the rows need from one finished run (small, picklable): the worksheet's
    tally and figures, the setting patterns, and each measure by community, per year."""
    t = tally(model, results)
    scalars = {
        k: float(v) for k, v in t.items() if isinstance(v, int | float | np.integer | np.floating)
    }
    for f in FIGURES:
        scalars[f.name] = f.value(t)
    for r in patterns(model, results):
        scalars[slug(r.name)] = r.value
    # rare outcomes on expected severities (the sum of each incident's probability), so that
    # their rarity at a small population scale is not read as misfit
    scalars["sharp_share_of_assault_admissions_expected"] = t["admissions_expected"] / max(
        t["admissions_expected"] + t["admissions_other"], 1e-12
    )
    w = model._weekly
    per_group = w.sum(axis=0) / (w.shape[0] / 52)
    n_bands = per_group.shape[0] // (2 * len(model.area.communities))
    comm = np.arange(per_group.shape[0]) // (2 * n_bands)
    names = [c.name for c in model.area.communities]
    by_community = {
        m: dict(
            zip(
                names,
                np.bincount(comm, weights=per_group[:, j], minlength=len(names)).tolist(),
                strict=True,
            )
        )
        for m, j in MEASURE_INDEX.items()
    }
    return {"scalars": scalars, "by_community": by_community}


def run_values(row: Row, runs: list[dict]) -> list[float]:
    """The row's statistic in each run (a rank row: nothing per run; see model_value)."""
    out = []
    for r in runs:
        if row.statistic not in r["scalars"]:
            raise ConfigError(
                f"rows[{row.name}].statistic={row.statistic!r}: not a statistic the model reports"
            )
        out.append(float(r["scalars"][row.statistic]))
    return out


def model_value(row: Row, runs: list[dict]) -> tuple[float, dict]:
    """The model's value (the mean over runs) and its spread: 90% range of runs, SE of the mean."""
    if row.kind == "rank":
        places = list(row.places)
        counts = [
            float(np.mean([r["by_community"][row.place_statistics[p]][p] for r in runs]))
            for p in places
        ]
        rho = float(stats.spearmanr(counts, [row.places[p] for p in places]).statistic)
        return rho, {"places": dict(zip(places, counts, strict=True))}
    vals = np.array(run_values(row, runs))
    ok = vals[np.isfinite(vals)]
    if not len(ok):
        return math.nan, {}
    spread = {"model_p05": float(np.quantile(ok, 0.05)), "model_p95": float(np.quantile(ok, 0.95))}
    spread["model_se"] = float(ok.std(ddof=1) / math.sqrt(len(ok))) if len(ok) > 1 else 0.0
    return float(ok.mean()), spread


def passes(row: Row, value: float, model_se: float = 0.0) -> tuple[bool, float]:
    """(passes, z or signed miss): the row's test of the model's value."""
    if not math.isfinite(value):
        return False, math.nan
    if row.kind == "z":
        z = (value - row.value) / math.hypot(row.se, model_se)
        return abs(z) < Z_PASS, z
    lo, hi = row.interval()
    if row.kind == "rank":
        return value >= row.minimum, value - row.minimum
    if row.kind == "above":
        return value > row.value, value - row.value
    miss = value - min(max(value, lo), hi)
    return lo <= value <= hi, miss


def observation(row: Row) -> tuple[float, float, bool]:
    """(centre, standard deviation, one-sided) of the row read as an observation with error,
    for the implausibility of history matching: a z row its SE; a count its tolerance as two
    SDs; a band or Poisson interval centred, its half-width as two SDs (1.645 for the 90%
    Poisson interval); an 'above' row one-sided with an SD of 5% of its value."""
    if row.kind == "z":
        return row.value, row.se, False
    if row.kind == "count":
        return row.value, row.tolerance * row.value / 2, False
    if row.kind == "above":
        return row.value, 0.05 * row.value, True
    lo, hi = row.interval()
    half = (hi - lo) / 2
    return (lo + hi) / 2, half / (1.645 if row.kind == "poisson" else 2.0), False


def table(rows: list[Row], runs: list[dict]) -> list[dict]:
    """One line per row: scope, fit or held out, the model's value and interval, the published
    value and passing range, pass or fail."""
    out = []
    for row in rows:
        value, spread = model_value(row, runs)
        ok, z = passes(row, value, spread.get("model_se", 0.0))
        lo, hi = row.interval()
        line = {
            "row": row.name,
            "scope": row.scope,
            "use": row.use,
            "kind": row.kind,
            "model": value,
            "model_p05": spread.get("model_p05", math.nan),
            "model_p95": spread.get("model_p95", math.nan),
            "published": row.published(),
            "pass_low": lo,
            "pass_high": hi,
            "z_or_miss": z,
            "passes": ok,
            "period": row.period,
            "source": row.source,
        }
        if row.kind == "rank":
            line["places"] = {
                p: {"model": m, "recorded": row.places[p]} for p, m in spread["places"].items()
            }
        out.append(line)
    return out
