"""The workshop page's engine: budget and input checks with plain messages, and the promise that
a what-if exported as YAML gives exactly the page's numbers when `svsim compare` runs it."""

from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from svsim.experiments.compare.compare import _run_all, compare_config
from svsim.experiments.workshop import whatif

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


@pytest.mark.parametrize(
    ("typed", "value"),
    [("50000", 50000), ("£50,000", 50000), ("-£5,000", -5000), (" 1250.5 ", 1250.5), ("", 0),
     ("lots", "lots"), ("nan", "nan"), ("-", "-")],
)  # fmt: skip
def test_typed_amounts(ws, typed, value):
    assert whatif.parse_amount(typed) == value
    msgs = whatif.check_plan(ws, plan(ws, mentoring=whatif.parse_amount(typed)))
    if isinstance(value, str):  # refused, naming what was typed
        assert msgs == [
            "Youth engagement and mentoring: the amount must be a number of pounds a year "
            f"(got {value!r})."
        ]


def test_money_has_no_minus_zero():
    assert whatif.money(-0.4) == "£0" and whatif.money(-5000) == "-£5,000"


def test_horizon_past_the_funding_is_said_plainly(ws):
    from svsim.experiments.workshop.page import with_horizon

    p = plan(ws, mentoring=30000)
    assert whatif.funding_note(ws, p) == ""  # the page's horizon is its funding period
    longer = with_horizon(ws, 4)
    note = whatif.funding_note(longer, p)
    assert "runs to 2027" in note and "this what-if is funded to 2025 only" in note
    assert "\n" not in note and "comparator" not in note  # no new funding: nothing to stop
    (a,) = whatif.plan_dict(longer, p)["allocations"]
    assert (a["start_year"], a["end_year"]) == (2024, 2025)
    assert whatif.funding_note(with_horizon(ws, 1), p) == ""


def test_starting_scenario_keeps_its_own_years_at_any_horizon(tmp_path):
    """Unchanged, the what-if is the starting scenario: at a longer horizon its money does not
    run on past the year its file says (the comparator's does not either)."""
    from svsim.experiments.workshop.page import with_horizon

    path = tmp_path / "today.yaml"
    today = {"intervention": "mentoring", "amount_per_year": 20000, "end_year": 2025}
    path.write_text(
        yaml.safe_dump({"name": "today", "budget_per_year": 50000, "allocations": [today]})
    )
    ws = with_horizon(
        whatif.workshop_config([*SMALL, f"comparator={path}", f"start_from={path}"]), 5
    )
    scenario = whatif.build(ws, whatif.start_plan(ws))
    assert [(a.intervention, a.amount_per_year, a.start_year, a.end_year)
            for a in scenario.allocations] == [("mentoring", 20000, 2024, 2025)]  # fmt: skip
    assert scenario.allocations == ws.comparator.allocations
    note = whatif.funding_note(ws, whatif.start_plan(ws))
    assert "this what-if is funded to 2025 only" in note
    assert "the comparator, 'today', is funded to 2025 only" in note


def test_loaded_file_is_funded_to_the_end_of_its_own_horizon(ws):
    """As `svsim compare` reads it: an allocation without end_year runs to the file's horizon."""
    alloc = {"intervention": "mentoring", "amount_per_year": 1000}
    text = yaml.safe_dump({"name": "x", "budget_per_year": 1000, "allocations": [alloc]})
    assert whatif.from_yaml(ws, text)[0].years["mentoring"] == (2024, 2025)
    text = yaml.safe_dump(
        {"name": "x", "budget_per_year": 1000, "allocations": [alloc], "run": {"years": 4}}
    )
    assert whatif.from_yaml(ws, text)[0].years["mentoring"] == (2024, 2027)


def test_page_runs_the_model_compare_runs():
    """The page loads the area's calibration as `svsim compare` does, so an export matches."""
    ws = whatif.workshop_config([])
    cfg, _ = compare_config(["scenarios=[status_quo]"])
    assert bool(ws.resolved.get("calibration")) == bool(cfg.resolved.get("calibration"))
    assert ws.run.params == cfg.run.params and ws.run.area == cfg.run.area


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
        "parameter_uncertainty": False,  # test_town has no calibration
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
    from svsim.experiments.compare.compare import run_replicate

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
        # equal up to summation order (pandas and numpy add the cells in different orders)
        assert np.isclose(mine.value.sum(), ref["yearly"][scenario.name].sum(), rtol=1e-12, atol=0)


def test_the_page_lists_areas_by_their_labels():
    from svsim.experiments.config import known_areas

    labels = whatif.areas()
    assert sorted(labels) == known_areas()
    assert labels["wiltshire_swindon"] == "Wiltshire and Swindon"
    assert len(set(labels.values())) == len(labels)  # the list maps a label back to one area


def test_the_page_says_what_its_runs_could_detect_when_it_cannot_tell():
    """A range that includes no change gets the smallest change the runs would reliably
    detect (appraisal.mde of the same paired differences); a clear answer does not."""
    from svsim.experiments.workshop.page import averted_words, fmt
    from svsim.scenarios import appraisal

    comparator, unclear = np.array([10.0, 12, 9, 11]), np.array([11.0, 10, 10, 12])
    detectable = appraisal.mde(comparator - unclear)  # 2.487 x SD 1.5 / 2 = 1.87
    _, small = averted_words(appraisal.paired(comparator, unclear), "admissions")
    assert small.endswith(f"reliably detect only a change of {fmt(detectable)} or more")
    clear = appraisal.paired(np.array([20.0, 22, 19, 21]), np.array([10.0, 11, 9, 10]))
    assert "detect" not in averted_words(clear, "admissions")[1]
