"""Funding scenarios: delivery through the hook, common random numbers, money, and the job."""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, SVSIM, load_area, make_model, svsim
from svsim.experiments.compare.compare import SUMMARY_MEASURES, summarise
from svsim.experiments.config import CONF_DIR
from svsim.model import Params
from svsim.model.measurement import HARM_BASES
from svsim.scenarios import transfer as tr
from svsim.scenarios.delivery import Portfolio
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import Allocation, Estimate, Intervention, Scenario
from svsim.scenarios.prices import prices_from_dict

PRICES = prices_from_dict(yaml.safe_load((CONF_DIR / "prices.yaml").read_text()))
NO_CONTAGION = dataclasses.replace(
    Params(),
    offending=dataclasses.replace(Params().offending, exposure_log_rr=0.0, trauma_log_rr=0.0),
)


def direct(reduction: float) -> tr.Chain:
    """A chain whose model effect is `reduction` exactly: a percentage change, converted."""
    change = tr.Uncertain(-100 * reduction, -100 * reduction, -100 * reduction, "test")
    estimand = tr.Estimand(
        "violent_offending",
        "targeted",
        (15, 24),
        "UK",
        "person",
        "usual_services",
        "rct",
        520,
        "percent_change",
        change,
    )
    return tr.Chain(estimand, (tr.Transfer("percent_to_ratio", None),))


def control(reduction=0.5, cost=1000.0) -> Intervention:
    """Positive control: halves the hazard of every participant aged 15-24, found in place."""

    def est(v):
        return Estimate(v, v, v, "test")

    return Intervention(
        name="control",
        label="positive control",
        tier="secondary",
        evidence="strong",
        description="test",
        unit="participant",
        unit_cost=est(cost),
        unit_cost_price_year=2024,
        identification="place",
        ages=(15, 24),
        lookback_weeks=0,
        programme_weeks=52,
        uptake=est(1.0),
        completion=est(1.0),
        mechanism="person_hazard",
        chain=direct(reduction),
        effect=est(reduction),
        applies_to="participants",
        onset_weeks=0,
        effect_weeks=520,
        half_life_weeks=52,
        notes="",
    )


def scenario(amount, name="control", places=("all",)) -> Scenario:
    allocs = (Allocation(name, amount, places, 2024, 2028),) if amount is not None else ()
    return Scenario("s", "s", "", 1e9, 2024, allocs, "")


def portfolio(model, sc, library, seed=1) -> Portfolio:
    draws = draw_inputs(library, seed, 0, uncertain=False)
    return Portfolio(
        sc,
        library,
        draws,
        model.area,
        PRICES,
        model.settings.start_year,
        model.settings.population_scale,
        seed,
    )


def run_with(area, sc, library, seed, params=None, years=3):
    m = make_model(area, params=params, seed=seed, years=years, burn_in_years=1)
    p = portfolio(m, sc, library, seed)
    m.interventions = [p]
    r = m.run()
    return m, p, r


def vwi(results) -> float:
    w = results.weekly
    return float(w.loc[w.measure == "violence_with_injury_true", "value"].sum())


def test_positive_control_matches_its_analytic_expectation(test_town):
    """Halve the hazard of a fifth of 15-24 year olds (contagion off). The analytic expectation
    of violence with injury averted is the sum over treated person-weeks of
    (1 - e^-h) - (1 - e^-h/2), times the share of incidents that are violence with injury."""

    class HalveFifth:
        def __init__(self, ids):
            self.ids = ids

        def apply(self, week, observed, levers):
            levers.scale_hazard(self.ids, 0.5)

    p = dataclasses.replace(
        NO_CONTAGION,
        offending=dataclasses.replace(
            NO_CONTAGION.offending, base_hazard=3 * NO_CONTAGION.offending.base_hazard
        ),
    )
    diffs, expected = [], []
    for seed in range(8):
        base = make_model(test_town, params=p, seed=seed, years=3, burn_in_years=1)
        while base.week < base.burn_in_weeks:
            base.step()
        age = base.people.age_years(base.week)
        young = np.flatnonzero((age >= 15) & (age <= 24))
        treated_ids = young[young % 5 == 0]
        treated = copy.deepcopy(base)
        treated.interventions = [HalveFifth(treated_ids)]
        gap = 0.0
        first = True
        while base.week < base.total_weeks:
            if not first:  # the lever set in week t acts from week t + 1
                h = base._propensity()[treated_ids]
                alive = base.alive()[treated_ids] & (
                    base.state.custody_until[treated_ids] <= base.week
                )
                gap += float(((np.exp(-h / 2) - np.exp(-h)) * alive).sum())
            first = False
            base.step()
            treated.step()
        rb, rt = base.results(), treated.results()
        inc = rb.incidents
        share = (inc.severity.isin(["injury", "knife_injury", "admission"])).mean()
        expected.append(gap * share)
        diffs.append(vwi(rb) - vwi(rt))
    d, e = np.array(diffs), np.array(expected)
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert 0.5 * e.mean() <= d.mean() <= 1.5 * e.mean(), (d.mean(), e.mean())
    assert d.mean() >= 5 * se, (d.mean(), se)


def test_zero_money_or_zero_effect_is_identical_to_the_comparator(test_town):
    lib = {"control": control()}
    _, _, none = run_with(test_town, scenario(None), lib, seed=3)
    _, _, zero = run_with(test_town, scenario(0.0), lib, seed=3)
    _, _, no_effect = run_with(test_town, scenario(50_000), {"control": control(0.0)}, seed=3)
    _, _, some = run_with(test_town, scenario(50_000), lib, seed=3)
    assert none.weekly.equals(zero.weekly)
    assert none.weekly.equals(no_effect.weekly)
    assert not none.weekly["value"].equals(some.weekly["value"])


def test_one_step_on_a_frozen_state_changes_only_targeted_people(test_town):
    base = make_model(test_town, seed=4, years=2, burn_in_years=1)
    while base.week < base.burn_in_weeks:
        base.step()
    treated = copy.deepcopy(base)
    p = portfolio(treated, scenario(520_000), {"control": control()})  # 10 a week
    treated.interventions = [p]
    for m in (base, treated):
        m.step()  # levers are set at the end of this week
    differ = np.flatnonzero(base._propensity() != treated._propensity())
    targeted = p.funded[0].people
    assert len(targeted) > 0
    assert set(differ.tolist()) <= set(targeted.tolist())
    assert len(differ) > 0
    for name in ("exposure", "trauma", "custody_until", "last_arrest"):
        assert np.array_equal(getattr(base.state, name), getattr(treated.state, name))


def test_capacity_never_exceeds_what_money_buys(test_town):
    lib = {"control": control(cost=1500.0)}
    for amount in (0.0, 7_000.0, 40_000.0):
        _, p, _ = run_with(test_town, scenario(amount), lib, seed=5)
        for row in p.spending():
            assert row["spent"] <= row["budget"] + 1e-6
            # capacity (units x scale) is rounded up or down at random: at most the simulated
            # person the fraction pays for in part, never two
            scale = p.funded[0].scale
            assert row["participants"] <= np.ceil(amount / 1500.0 * scale) / scale + 1e-9
            assert row["unspent"] >= -1e-6


def test_more_money_never_gives_more_violence(test_town):
    """Paired over 6 replicates with contagion on; the tolerance is 2 paired standard errors
    (a real increase larger than that would be caught; noise alone exceeds it ~2% of the
    time, and the seeds are fixed, so the test is deterministic)."""
    lib = {"control": control()}
    amounts = (0.0, 20_000.0, 60_000.0, 150_000.0)
    table = np.array(
        [[vwi(run_with(test_town, scenario(a), lib, seed=s)[2]) for a in amounts] for s in range(6)]
    )
    for lo, hi in zip(range(len(amounts) - 1), range(1, len(amounts)), strict=True):
        d = table[:, hi] - table[:, lo]  # more money minus less money
        se = d.std(ddof=1) / np.sqrt(len(d))
        assert d.mean() <= 2 * se + 1e-9, (amounts[lo], amounts[hi], d)
    assert table[:, -1].mean() < table[:, 0].mean()


def _scenario_file(tmp_path, allocations, budget=100_000, name="mine"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump({"name": name, "budget_per_year": budget, "allocations": allocations})
    )
    return path


@pytest.mark.parametrize(
    ("alloc", "budget", "names"),
    [
        ([{"intervention": "magic_wand", "amount_per_year": 10}], 100, "intervention='magic_wand'"),
        ([{"intervention": "mentoring", "amount_per_year": -5}], 100, "amount_per_year=-5"),
        ([{"intervention": "mentoring", "amount_per_year": "lots"}], 100, "amount_per_year='lots'"),
        ([{"intervention": "mentoring", "amount_per_year": 500}], 100, "over budget_per_year"),
        (
            [{"intervention": "mentoring", "amount_per_year": 10, "places": ["Atlantis"]}],
            100,
            "places='Atlantis'",
        ),
        (
            [
                {
                    "intervention": "mentoring",
                    "amount_per_year": 10,
                    "start_year": 2026,
                    "end_year": 2025,
                }
            ],
            100,
            "end_year=2025",
        ),
    ],
)
def test_bad_scenarios_are_refused(tmp_path, alloc, budget, names):
    path = _scenario_file(tmp_path, alloc, budget)
    out = tmp_path / "out"
    r = subprocess.run(
        [*SVSIM, "compare", f"scenarios=[status_quo,{path}]", f"out={out}", "replicates=2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], r.stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_a_scenario_file_reports_every_error_at_once(tmp_path):
    path = _scenario_file(
        tmp_path,
        [
            {"intervention": "magic_wand", "amount_per_year": 10},
            {"intervention": "mentoring", "amount_per_year": -5, "places": ["Atlantis"]},
        ],
        100,
    )
    r = subprocess.run(
        [*SVSIM, "compare", "check=true", f"scenarios=[{path}]", "comparator=mine"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 3 and all(ln.startswith("svsim compare: error: ") for ln in lines)


def test_shipped_scenarios_are_valid():
    r = subprocess.run(
        [*SVSIM, "compare", "check=true"], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert "7 scenario(s) valid" in r.stdout


@pytest.mark.slow
def test_compare_end_to_end_and_report_in_chromium(tmp_path):
    from browser import open_in_chromium

    out = tmp_path / "cmp"
    r = subprocess.run(
        [
            *SVSIM,
            "compare",
            "population_scale=0.02",
            "replicates=2",
            "years=2",
            "burn_in_years=1",
            "scenarios=[status_quo,svd_allocation,no_new_funding]",
            f"out={out}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    for f in (
        "summary.csv",
        "economics.csv",
        "by_year.parquet",
        "spend.csv",
        "report.html",
        "meta.json",
        "manifest.json",
        "config.yaml",
    ):
        assert (out / f).exists(), f
    meta = json.loads((out / "meta.json").read_text())
    assert meta["replicates"] == 2 and meta["population_scale"] == 0.02
    seen = open_in_chromium(out / "report.html", screenshot=tmp_path / "report.png")
    assert seen["images"] >= 4 and seen["images_loaded"] == seen["images"]
    assert seen["blocked"] == []


def test_readme_main_job_is_compare():
    readme = (REPO / "README.md").read_text()
    assert ".venv/bin/svsim compare" in readme
    assert load_area("wiltshire_swindon").population == 743_695


def test_replicates_draw_the_calibrations_plausible_set_and_the_command_line_wins(
    shipped_calibration,
):
    """compare's replicate r runs member r mod n of the shipped plausible set; a parameter set
    on the command line stays fixed in every member; parameter_uncertainty=false uses one set."""
    from svsim.experiments.config import ConfigError, run_config

    cfg = run_config(["params.severity.knife_prob=0.02"], config_name="compare")
    plausible = cfg.resolved["calibration"]["plausible_set"]
    assert len(cfg.members) == len(plausible) >= 20
    hazards = {p.offending.base_hazard for _, p in cfg.members}
    assert hazards == {m["params"]["offending"]["base_hazard"] for m in plausible}
    assert {p.severity.knife_prob for _, p in cfg.members} == {0.02}
    swindon = [a.csps[0].hazard_multiplier for a, _ in cfg.members]
    assert swindon[3] == plausible[3]["csp_hazard_multiplier"]["Swindon"]
    assert cfg.for_replicate(len(plausible) + 3) == cfg.members[3]
    single = run_config(["parameter_uncertainty=false"], config_name="compare")
    assert single.members == () and single.for_replicate(5) == (single.area, single.params)
    with pytest.raises(ConfigError, match=r"^parameter_uncertainty='maybe': must be true or false"):
        run_config(["parameter_uncertainty=maybe"], config_name="compare")


def test_summarise_prices_committed_cash_and_expected_homicides():
    """compare's economics from hand-built tables: a scenario that commits 100 a year more, spends
    60 of it, and whose one fewer realised homicide is no fewer expected ones."""
    n, years, first = 4, 2, 2024
    rows = []
    for name, deaths in (("comp", 1.0), ("plan", 0.0)):
        for r in range(n):
            for y in range(first, first + years):
                values = {m: 1000.0 for m in (*HARM_BASES.values(), *SUMMARY_MEASURES)}
                values["homicides"] = deaths if (r, y) == (0, first) else 0.0
                values["homicides_expected"] = 0.25
                for m in HARM_BASES.values():
                    values[m] += values["homicides"] * 1e6
                rows += [
                    {"scenario": name, "replicate": r, "year": y, "measure": m, "value": v}
                    for m, v in values.items()
                ]
    by_year = pd.DataFrame(rows)
    spend = pd.DataFrame(
        [
            {"scenario": "plan", "replicate": r, "year": y, "budget": 100.0, "spent": 60.0}
            for r in range(n)
            for y in range(first, first + years)
        ],
        columns=["scenario", "replicate", "year", "budget", "spent"],
    )
    flat = dataclasses.replace(PRICES, index={2015: 1.0, 2024: 1.0, 2025: 1.0}, discount_rate=0.0)
    cost = SimpleNamespace(homicide=1e6, violence_with_injury=0.0)
    cfg = SimpleNamespace(
        run=SimpleNamespace(
            settings=SimpleNamespace(start_year=first, years=years, seed=0),
            params=SimpleNamespace(cost=cost),
        ),
        replicates=n,
        comparator="comp",
        scenarios=(SimpleNamespace(name="comp"), SimpleNamespace(name="plan")),
        prices=flat,
        prison_week_cost=1.0,
    )
    _, econ, per_rep = summarise(cfg, {"by_year": by_year, "spend": spend})
    e = econ.iloc[0]
    assert (e.spend_pv_mean, e.allocated_pv_mean, e.spent_pv_mean) == (200.0, 200.0, 120.0)
    assert e.shortfall_pv_mean == 80.0
    # the realised death is priced at its expectation: no harm averted on any basis
    for col in ("harm_averted_pv_mean", *(f"harm_averted_pv_{b}_mean" for b in HARM_BASES)):
        assert e[col] == 0.0
    assert (e.net_benefit_pv_mean, e.bcr_mean, e.prob_bcr_gt_1) == (-200.0, 0.0, 0.0)
    assert list(per_rep.spend_pv) == [200.0] * n


def test_a_comparison_of_the_comparator_alone_is_refused(tmp_path):
    """Nothing to compare (and nothing funded): one line, exit 2, no folder - not a traceback."""
    out = tmp_path / "out"
    r = svsim(
        "compare", "area=test_town", "comparator=no_new_funding", "scenarios=[no_new_funding]",
        "replicates=2", "years=1", "burn_in_years=1", f"out={out}",
    )  # fmt: skip
    assert r.returncode == 2 and not out.exists()
    assert r.stderr.strip().splitlines() == [
        "svsim compare: error: scenarios=[no_new_funding]: only the comparator; name at least "
        "one scenario to compare with it"
    ]
