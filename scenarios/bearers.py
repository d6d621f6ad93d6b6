"""Who pays and who gains: harm averted split into the Home Office cost components and by bearer
(conf/bearers.yaml), the fiscal return to each agency, the return on investment and the payback
year, as the Greater Manchester cost-benefit model reports them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .library import ScenarioError

COMPONENTS = ("anticipation", "consequence", "response")
FISCAL = ("police", "nhs", "criminal_justice", "council")  # public money
BEARERS = (*FISCAL, "victims_and_society")
FUNDERS = ("home_office", *FISCAL)
OFFENCES = ("homicide", "other_violence")


@dataclass(frozen=True)
class Part:
    """One cost component of one offence, its bearer and its share of the unit cost."""

    offence: str
    component: str
    item: str
    bearer: str
    share: float
    source: str


@dataclass(frozen=True)
class Bearers:
    parts: tuple[Part, ...]
    funder: str
    funder_source: str


def bearers_from_dict(data: dict, where: str = "bearers") -> Bearers:
    """Validate conf/bearers.yaml: every offence's parts name a component and a bearer, amounts
    are finite and non-negative, and 'rest' (exactly one per offence) is what remains."""
    errors: list[str] = []

    def bad(field: str, value, why: str) -> None:
        errors.append(f"{where}.{field}={value!r}: {why}")

    offences = data.get("offences") if isinstance(data, dict) else None
    if not isinstance(offences, dict) or set(offences) != set(OFFENCES):
        raise ScenarioError([f"{where}.offences: must hold exactly {', '.join(OFFENCES)}"])
    parts = []
    for name, spec in offences.items():
        unit = spec.get("unit_cost") if isinstance(spec, dict) else None
        if isinstance(unit, bool) or not isinstance(unit, int | float) or not unit > 0:
            bad(f"offences.{name}.unit_cost", unit, "must be a positive number")
            continue
        rows = spec.get("components") or []
        rests = [i for i, r in enumerate(rows) if r.get("amount") == "rest"]
        if len(rests) != 1:
            bad(f"offences.{name}.components", len(rests), "need exactly one amount: rest")
        used = 0.0
        for i, r in enumerate(rows):
            f = f"offences.{name}.components[{i}]"
            if r.get("component") not in COMPONENTS:
                bad(f + ".component", r.get("component"), f"must be one of {', '.join(COMPONENTS)}")
            if r.get("bearer") not in BEARERS:
                bad(f + ".bearer", r.get("bearer"), f"must be one of {', '.join(BEARERS)}")
            if not str(r.get("source") or "").strip():
                bad(
                    f + ".source",
                    r.get("source"),
                    "every share needs a source or 'assumed, because'",
                )
            a = r.get("amount")
            if a == "rest":
                continue
            if (
                isinstance(a, bool)
                or not isinstance(a, int | float)
                or not math.isfinite(a)
                or a < 0
            ):
                bad(f + ".amount", a, "must be a finite number >= 0 or 'rest'")
                continue
            used += a
        if used > unit:
            bad(f"offences.{name}.components", used, f"the amounts exceed the unit cost {unit}")
        if errors:
            continue
        for r in rows:
            share = 1 - used / unit if r["amount"] == "rest" else r["amount"] / unit
            parts.append(
                Part(name, r["component"], str(r.get("item", "")), r["bearer"], share, r["source"])
            )
    prog = data.get("programmes") or {}
    if prog.get("funder") not in FUNDERS:
        bad("programmes.funder", prog.get("funder"), f"must be one of {', '.join(FUNDERS)}")
    if errors:
        raise ScenarioError(errors)
    return Bearers(tuple(parts), prog["funder"], str(prog.get("source", "")))


def load_bearers(path: Path) -> Bearers:
    import yaml

    return bearers_from_dict(yaml.safe_load(path.read_text()), "bearers")


def split(bearers: Bearers, homicide: np.ndarray, other: np.ndarray) -> pd.DataFrame:
    """Harm averted (any shape, e.g. replicates) split into rows of offence, component, item,
    bearer and value: homicide harm by homicide's shares, the rest by other violence's."""
    by = {"homicide": np.asarray(homicide, float), "other_violence": np.asarray(other, float)}
    return pd.DataFrame(
        [
            {
                "offence": p.offence,
                "component": p.component,
                "item": p.item,
                "bearer": p.bearer,
                "fiscal": p.bearer in FISCAL,
                "share": p.share,
                "value": by[p.offence] * p.share,
                "source": p.source,
            }
            for p in bearers.parts
        ]
    )


def payback_year(benefit: np.ndarray, cost: np.ndarray, first_year: int) -> float:
    """The first year in which cumulative expected benefit reaches cumulative expected cost (both
    discounted, replicates x years); NaN if not within the horizon or nothing is spent."""
    b, c = np.cumsum(np.mean(benefit, axis=0)), np.cumsum(np.mean(cost, axis=0))
    if c[-1] <= 0:
        return math.nan
    hit = np.flatnonzero(b >= c)
    return float(first_year + hit[0]) if len(hit) else math.nan


def agency_rows(
    bearers: Bearers,
    scenario: str,
    homicide_pv: np.ndarray,
    other_pv: np.ndarray,
    cost_pv: np.ndarray,
) -> list[dict]:
    """Per bearer: harm averted it would have borne (present value, mean and 90% interval over
    replicates), the programme money it pays, and its net fiscal return."""
    parts = split(bearers, homicide_pv, other_pv)
    rows = []
    for bearer in BEARERS:
        gain = np.sum([v for v in parts.value[parts.bearer == bearer]], axis=0)
        pays = cost_pv if bearer == bearers.funder else np.zeros_like(cost_pv)
        rows.append(_row(scenario, bearer, bearer in FISCAL, gain, pays))
    if bearers.funder not in BEARERS:
        rows.append(_row(scenario, bearers.funder, True, np.zeros_like(cost_pv), cost_pv))
    return rows


def _row(scenario: str, bearer: str, fiscal: bool, gain: np.ndarray, pays: np.ndarray) -> dict:
    net = gain - pays
    return {
        "scenario": scenario,
        "bearer": bearer,
        "fiscal": fiscal,
        "harm_averted_pv_mean": float(np.mean(gain)),
        "harm_averted_pv_p05": float(np.quantile(gain, 0.05)),
        "harm_averted_pv_p95": float(np.quantile(gain, 0.95)),
        "programme_cost_pv_mean": float(np.mean(pays)),
        "net_return_pv_mean": float(np.mean(net)),
        "net_return_pv_p05": float(np.quantile(net, 0.05)),
        "net_return_pv_p95": float(np.quantile(net, 0.95)),
    }
