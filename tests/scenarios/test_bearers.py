"""Who pays and who gains (scenarios/bearers.py, conf/bearers.yaml; compare's who_pays)."""

from __future__ import annotations

import copy
import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from svsim.experiments.compare.compare import who_pays
from svsim.experiments.config import CONF_DIR
from svsim.model.params import CostParams
from svsim.scenarios import bearers as br
from svsim.scenarios.library import ScenarioError
from svsim.scenarios.prices import prices_from_dict

RAW = yaml.safe_load((CONF_DIR / "bearers.yaml").read_text())
PRICES = prices_from_dict(yaml.safe_load((CONF_DIR / "prices.yaml").read_text()))


def test_the_shipped_split_covers_each_unit_cost_once_and_cites_every_share():
    b = br.bearers_from_dict(RAW)
    for offence in br.OFFENCES:
        parts = [p for p in b.parts if p.offence == offence]
        assert sum(p.share for p in parts) == pytest.approx(1.0, abs=1e-12)
        assert all(0 <= p.share <= 1 and p.source for p in parts)
    assert RAW["offences"]["homicide"]["unit_cost"] == CostParams().homicide
    assert RAW["offences"]["other_violence"]["unit_cost"] == CostParams().violence_with_injury
    homicide = {p.item: p.share for p in b.parts if p.offence == "homicide"}
    assert homicide["police"] == pytest.approx(11_960 / 3_217_740)  # EVIDENCE.md 2.1
    unsourced = [p for p in b.parts if "EVIDENCE.md 2.1 (homicide" not in p.source]
    assert all(("assumed" in p.source) or ("remainder" in p.source) for p in unsourced)
    assert b.funder == "home_office"


def test_a_split_adds_back_to_the_harm_it_splits():
    b = br.bearers_from_dict(RAW)
    hom, other = np.array([3e6, 0.0, -1e6]), np.array([1e5, 2e5, 0.0])
    parts = br.split(b, hom, other)
    assert np.allclose(np.sum(list(parts.value), axis=0), hom + other)
    rows = br.agency_rows(b, "plan", hom, other, np.full(3, 50.0))
    gained = sum(r["harm_averted_pv_mean"] for r in rows)
    assert gained == pytest.approx((hom + other).mean())
    paid = {r["bearer"]: r["programme_cost_pv_mean"] for r in rows}
    assert paid["home_office"] == 50.0 and sum(paid.values()) == 50.0


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["offences"]["homicide"]["components"][0].update(bearer="army"), "bearer"),
        (lambda d: d["offences"]["homicide"]["components"][0].update(amount=math.nan), "amount"),
        (lambda d: d["offences"]["homicide"]["components"][0].update(amount=9e9), "components"),
        (lambda d: d["offences"]["other_violence"]["components"][0].update(source=""), "source"),
        (lambda d: d["offences"]["other_violence"]["components"][6].update(amount=5), "rest"),
        (lambda d: d["programmes"].update(funder="nobody"), "programmes.funder"),
        (lambda d: d["offences"].pop("homicide"), "offences"),
    ],
)
def test_a_bad_split_is_refused_naming_the_field(edit, field):
    data = copy.deepcopy(RAW)
    edit(data)
    with pytest.raises(ScenarioError) as exc:
        br.bearers_from_dict(data)
    assert field in str(exc.value).splitlines()[0]


def test_payback_is_the_first_year_cumulative_benefit_reaches_cost():
    cost = np.array([[100.0, 0.0, 0.0, 0.0]] * 2)
    benefit = np.array([[10.0, 40.0, 60.0, 10.0], [30.0, 60.0, 40.0, 10.0]])  # mean 20, 50, 50
    assert br.payback_year(benefit, cost, 2024) == 2026
    assert math.isnan(br.payback_year(benefit / 10, cost, 2024))
    assert math.isnan(br.payback_year(benefit, 0 * cost, 2024))


def test_who_pays_splits_compares_harm_and_prices_homicides_from_expectations():
    """Hand-built tables: the plan averts 0.5 expected homicides and 1,000 of other harm a year,
    at 100 a year, with no discounting or inflation."""
    n, years, first = 3, 2, 2024
    unit = CostParams()
    rows = []
    for name, expected, other in (("comp", 1.0, 5000.0), ("plan", 0.5, 4000.0)):
        for r in range(n):
            for y in range(first, first + years):
                values = {"homicides": 0.0, "homicides_expected": expected}
                # incidents that may kill are priced as injuries; summarise adds the deaths' premium
                values["cost_stated_basis"] = other + expected * unit.violence_with_injury
                rows += [
                    {"scenario": name, "replicate": r, "year": y, "measure": m, "value": v}
                    for m, v in values.items()
                ]
    spend = pd.DataFrame(
        [
            {"scenario": "plan", "replicate": r, "year": y, "budget": 100.0}
            for r in range(n)
            for y in range(first, first + years)
        ]
    )
    flat = dataclasses.replace(PRICES, index={2015: 1.0, 2024: 1.0, 2025: 1.0}, discount_rate=0.0)
    cfg = SimpleNamespace(
        run=SimpleNamespace(
            settings=SimpleNamespace(start_year=first, years=years),
            params=SimpleNamespace(cost=unit),
        ),
        replicates=n,
        comparator="comp",
        scenarios=(SimpleNamespace(name="comp"), SimpleNamespace(name="plan")),
        prices=flat,
    )
    b = br.bearers_from_dict(RAW)
    agencies, returns = who_pays(cfg, {"by_year": pd.DataFrame(rows), "spend": spend}, b)
    got = agencies.set_index("bearer").harm_averted_pv_mean
    share = {(p.offence, p.bearer): p.share for p in b.parts if p.item == "police"}
    police = 2 * (
        0.5 * unit.homicide * share["homicide", "police"] + 1000 * share["other_violence", "police"]
    )
    assert got["police"] == pytest.approx(police)
    assert got[list(br.BEARERS)].sum() == pytest.approx(2 * (0.5 * unit.homicide + 1000))
    r = returns.iloc[0]
    fiscal = got[list(br.FISCAL)].sum()
    assert r.fiscal_benefit_pv_mean == pytest.approx(fiscal)
    assert r.fiscal_roi == pytest.approx(fiscal / 200 - 1)
    assert r.payback_year_social == 2024  # the first year's harm averted already exceeds 100
