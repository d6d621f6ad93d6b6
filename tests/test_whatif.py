"""The workshop page's engine: budget and input checks with plain messages, and the promise that
a what-if exported as YAML gives exactly the page's numbers when `svsim compare` runs it."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from svsim.experiments import whatif
from svsim.experiments.compare import _run_all, compare_config

SMALL = [
    "area=test_town",
    "comparator=no_new_funding",
    "start_from=no_new_funding",
    "population_scale=1.0",
    "replicates=2",
    "years=2",
    "burn_in_years=1",
    "budget_per_year=100000",
]


@pytest.fixture(scope="module")
def ws():
    return whatif.workshop_config(SMALL)


def plan(ws, **amounts):
    p = whatif.start_plan(ws)
    p.amounts.update(amounts)
    return p


def test_total_against_budget(ws):
    p = plan(ws, mentoring=30000, hot_spots_policing=60000)
    assert p.total() == 90000 and p.budget == 100000
    assert whatif.check_plan(ws, p) == []
    p.amounts["cbt_young_people"] = 20000
    msgs = whatif.check_plan(ws, p)
    assert msgs == [
        "Over budget: £110,000 a year allocated against £100,000 - take £10,000 off somewhere."
    ]
    with pytest.raises(whatif.WhatIfError):
        whatif.build(ws, p)


def test_negative_and_unknown_place_refused_in_one_line(ws):
    p = plan(ws, mentoring=-5000)
    (msg,) = whatif.check_plan(ws, p)
    assert msg == "Youth engagement and mentoring: an amount cannot be negative (got -£5,000)."
    p = plan(ws, mentoring=5000)
    p.places["mentoring"] = "Old Town, Narnia"
    (msg,) = whatif.check_plan(ws, p)
    assert "'Narnia' is not a place in this area" in msg and "\n" not in msg
    p.places["mentoring"] = ""
    assert whatif.check_plan(ws, p) == [
        "Youth engagement and mentoring: choose at least one place, or 'all'."
    ]


@pytest.mark.parametrize(
    ("allocation", "budget", "expect"),
    [
        ({"intervention": "mentoring", "amount_per_year": -1000}, 100000, "cannot be negative"),
        (
            {"intervention": "mentoring", "amount_per_year": 1000, "places": ["Atlantis"]},
            100000,
            "'Atlantis' is not a place",
        ),
        ({"intervention": "mentoring", "amount_per_year": 200000}, 100000, "Over budget"),
        ({"intervention": "unicorns", "amount_per_year": 1}, 100000, "not an intervention"),
    ],
)
def test_loaded_yaml_refused_with_message(ws, allocation, budget, expect):
    text = yaml.safe_dump({"name": "x", "budget_per_year": budget, "allocations": [allocation]})
    with pytest.raises(whatif.WhatIfError) as err:
        whatif.from_yaml(ws, text)
    assert any(expect in m for m in err.value.messages)
    assert all("\n" not in m and "Traceback" not in m for m in err.value.messages)


def test_malformed_yaml_refused(ws):
    with pytest.raises(whatif.WhatIfError) as err:
        whatif.from_yaml(ws, "name: [unclosed\nbudget_per_year: 1")
    assert err.value.messages[0].startswith("The file is not valid YAML (line")


def test_export_round_trip_matches_compare_exactly(ws, tmp_path):
    """The page's CSV == the numbers `svsim compare` computes from the exported YAML."""
    p = plan(ws, social_skills_schools=50000, hot_spots_policing=50000)
    p.places["hot_spots_policing"] = "Old Town, Riverside"
    engine = whatif.Engine(ws)
    scenario = whatif.build(ws, p)
    result = engine.run(scenario)
    page = pd.read_csv(io.StringIO(result.csv()))
    text = whatif.to_yaml(ws, p, ws.quick)
    data = yaml.safe_load(text)
    run = data.pop("run")
    assert run == {
        "area": "test_town",
        "seed": 0,
        "population_scale": 1.0,
        "replicates": 2,
        "years": 2,
        "burn_in_years": 1,
        "start_year": 2024,
        "comparator": "no_new_funding",
        "uncertainty": True,
    }
    # loading the export back gives the same plan
    back, run_back = whatif.from_yaml(ws, text)
    assert run_back == run and back.total() == p.total()
    # `svsim compare` applies the file's run: block itself
    path = tmp_path / "whatif.yaml"
    path.write_text(text)
    overrides = [f"scenarios=[{run['comparator']},{path}]", "jobs=1"]
    cfg, _ = compare_config(overrides)
    summary, econ, _, places, _ = whatif.compare_numbers(cfg, _run_all(cfg))
    expected = whatif.tidy(summary, econ, places, run)
    assert list(page.columns) == list(expected.columns)
    assert len(page) == len(expected)
    key = ["place", "measure", "statistic"]
    merged = page.merge(expected, on=key, suffixes=("_page", "_compare"))
    assert len(merged) == len(page)
    both_nan = merged.value_page.isna() & merged.value_compare.isna()
    assert ((merged.value_page == merged.value_compare) | both_nan).all()
    # and the what-if did something
    sv = page[(page.place == "all") & (page.measure == "violence_with_injury_true")]
    stat = dict(zip(sv.statistic, sv.value, strict=True))
    assert stat["scenario_mean"] < stat["comparator_mean"]


def test_cached_comparator_matches_compare_replicate(ws):
    """The cache changes nothing: the comparator's runs equal compare.run_replicate's."""
    from svsim.experiments.compare import run_replicate

    engine = whatif.Engine(ws)
    scenario = whatif.build(ws, plan(ws, mentoring=40000))
    cfg = engine.compare_config(ws.quick, (ws.comparator, scenario))
    reps = engine.baseline(ws.quick)
    t = time.perf_counter()
    result = engine.run(scenario)
    assert time.perf_counter() - t < 30
    for r in range(ws.quick.replicates):
        ref = run_replicate(cfg, r)
        assert np.array_equal(ref["yearly"][ws.comparator.name], reps[r].yearly)
        by = result.by_year
        mine = by[(by.scenario == scenario.name) & (by.replicate == r)]
        assert np.isclose(mine.value.sum(), ref["yearly"][scenario.name].sum(), rtol=0, atol=1e-9)
