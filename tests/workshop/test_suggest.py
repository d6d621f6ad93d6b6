"""The page's "suggest a mix": a frontier svsim optimise computed ahead, checked when the page
starts, and the best mix within the room's budget turned into the page's amounts and places."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from svsim.experiments.config import ConfigError
from svsim.experiments.workshop import whatif
from svsim.experiments.workshop.suggest import load_frontier, suggested

SMALL = ["area=test_town", "comparator=no_new_funding", "start_from=no_new_funding",
         "population_scale=0.25", "replicates=2", "years=2", "burn_in_years=1",
         "budget_per_year=100000"]  # fmt: skip
OPTIONS = [
    ("mentoring", "Northside"),
    ("mentoring", "Southside"),
    ("hot_spots_policing", "Old Town"),
]
LEVELS = [  # budget, then one amount per option: the best mix at each level
    (0, 0, 0, 0),
    (50_000, 0, 0, 40_000),
    (100_000, 30_000, 20_000, 45_000),
    (150_000, 60_000, 40_000, 50_000),
]


def frontier_folder(tmp_path, area="test_town", options=OPTIONS, job="optimise"):
    """An optimise folder as svsim optimise writes it: frontier, options and manifest."""
    a = tmp_path / "opt" / "analysis"
    a.mkdir(parents=True)
    labels = [f"{n} in {p}" for n, p in options]
    rows = [{"budget": b, "fitted_value": 0.0, "mix": "", **dict(zip(labels, x, strict=False))}
            for b, *x in LEVELS]  # fmt: skip
    pd.DataFrame(rows).to_csv(a / "frontier.csv", index=False)
    pd.DataFrame([{"intervention": n, "places": p} for n, p in options]).to_csv(
        a / "options.csv", index=False
    )
    (a / "manifest.json").write_text(json.dumps({"job": job, "area": area}))
    return tmp_path / "opt"


def test_the_best_mix_within_the_budget_fills_the_page(tmp_path):
    ws = whatif.workshop_config([*SMALL, f"suggest_from={frontier_folder(tmp_path)}"])
    assert ws.frontier.budgets == (0, 50_000, 100_000, 150_000)
    plan, note = whatif.suggest_plan(ws, 120_000)  # the level within it: 100,000
    assert plan.total() == 95_000 and plan.budget == 120_000
    assert plan.amounts["mentoring"] == 50_000  # two place sets: their sum, over both
    assert plan.places["mentoring"] == ["Northside", "Southside"]
    assert plan.amounts["hot_spots_policing"] == 45_000
    assert plan.places["hot_spots_policing"] == ["Old Town"]
    assert {n for n, v in plan.amounts.items() if v} == {"mentoring", "hot_spots_policing"}
    assert whatif.check_plan(ws, plan) == []  # the page can run it
    assert "for £100,000 a year" in note and "within the budget of £120,000" in note
    assert suggested(ws.frontier, 49_999)[1] == {}  # below the first level: nothing funded
    assert suggested(ws.frontier, 1e9)[0] == 150_000


def test_without_suggest_from_there_is_no_frontier():
    assert whatif.workshop_config(SMALL).frontier is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"area": "wiltshire_swindon"},
            "its frontier is for area 'wiltshire_swindon', not 'test_town'",
        ),
        ({"job": "compare"}, "not a finished svsim optimise folder"),
        ({"options": [("juggling", "Northside")]}, "option juggling in Northside is not in this"),
        ({"options": [("mentoring", "Atlantis")]}, "option mentoring in Atlantis is not in this"),
    ],
)
def test_a_frontier_that_does_not_fit_is_refused_in_one_line(tmp_path, change, message):
    folder = frontier_folder(tmp_path, **change)
    with pytest.raises(ConfigError) as err:
        whatif.workshop_config([*SMALL, f"suggest_from={folder}"])
    text = str(err.value)
    assert text.startswith(f"suggest_from='{folder}': ") and message in text
    assert "\n" not in text


def test_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not a finished svsim optimise folder"):
        load_frontier(tmp_path / "nothing", "test_town", {}, ["all"])


def test_switching_the_page_to_another_area_drops_the_frontier(tmp_path):
    folder = frontier_folder(tmp_path, area="wiltshire_swindon")
    ws = whatif.workshop_config([*SMALL, f"suggest_from={folder}"], fallback=True)
    assert ws.frontier is None
