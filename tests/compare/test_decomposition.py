"""The decomposition of `svsim compare` (decompose=true): each intervention of a scenario run
alone in the same replicates, which must change no result of the comparison; and its arithmetic
(scenarios.appraisal.decompose)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import svsim.experiments.compare.compare as cmp
from svsim.experiments.config import ConfigError
from svsim.scenarios import appraisal as ap

# every result table compare writes, each of which decompose=true must leave byte for byte alone
TABLES = ("summary.csv", "economics.csv", "economics_by_replicate.csv", "acceptability.csv",
          "by_year.csv", "by_place.csv", "spend.csv", "shortfall.csv",
          "interventions.csv")  # fmt: skip
SMALL = ["area=test_town", "replicates=3", "years=3", "burn_in_years=1", "population_scale=1",
         "jobs=1"]  # fmt: skip
MIX = {  # intervention -> places, £60,000 a year each, 2024-2028
    "mentoring": ["all"],
    "hot_spots_policing": ["Old Town", "Riverside"],
    "focused_deterrence": ["all"],
}


def _plan(folder, name: str, interventions: list[str]):
    allocations = [
        {"intervention": i, "amount_per_year": 60_000, "places": MIX[i], "start_year": 2024,
         "end_year": 2028}
        for i in interventions
    ]  # fmt: skip
    path = folder / f"{name}.yaml"
    path.write_text(
        json.dumps(
            {"name": name, "label": name, "description": "test", "price_year": 2024,
             "budget_per_year": 60_000 * len(interventions), "allocations": allocations,
             "assumptions": "for tests"}
        )
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three comparisons of the test town (3 replicates, 3 years, every household): mix (three
    interventions) and fd (mix's focused deterrence alone) against no new funding, without and
    with the decomposition; and mix against fd, where no scenario funds nothing, decomposed."""
    tmp = tmp_path_factory.mktemp("decomposition")
    mix = _plan(tmp, "mix", list(MIX))
    fd = _plan(tmp, "fd", ["focused_deterrence"])
    common = [*SMALL, f"scenarios=[no_new_funding,{mix},{fd}]", "comparator=no_new_funding"]
    out = {}
    for key, extra in (
        ("off", [*common, "decompose=false"]),
        ("on", [*common, "decompose=true"]),
        ("funded", [*SMALL, f"scenarios=[{fd},{mix}]", "comparator=fd", "decompose=true"]),
    ):
        out[key] = tmp / key
        assert cmp.main([*extra, f"out={out[key]}"]) == 0
    return out


def test_decomposition_changes_no_result_of_the_comparison(runs):
    """Same seeds, same draws: every table the comparison wrote without the decomposition is
    written again byte for byte with it (the runs alone come after, from copies)."""
    off, on = runs["off"], runs["on"]
    for name in TABLES:
        assert (off / name).read_bytes() == (on / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(off / "outcomes.parquet"), pd.read_parquet(on / "outcomes.parquet")
    )
    assert not (off / "decomposition.csv").exists() and (on / "decomposition.csv").exists()
    meta = json.loads((on / "meta.json").read_text())
    assert meta["decompose"] is True and meta["decomposition_reference"].startswith("no_new_")
    seconds = meta["simulation_seconds"]
    assert seconds["decomposition"] > 0 and seconds["decomposition_runs_per_replicate"] == 3
    assert json.loads((off / "meta.json").read_text())["simulation_seconds"]["decomposition"] == 0


def test_an_intervention_alone_is_the_scenario_that_funds_only_it(runs):
    """mix's focused deterrence alone is fd, run in the same replicates with the same draws: its
    harm averted and money equal fd's against no new funding (nothing funded); mix's whole row
    is its own appraisal; the shares add to one and the interaction is whole minus the parts.
    Tolerance 1e-9 relative: the same sums added in another order."""
    d = pd.read_csv(runs["on"] / "decomposition.csv")
    econ = pd.read_csv(runs["on"] / "economics.csv").set_index("scenario")
    assert set(d.scenario) == {"mix"}  # fd funds one intervention; no_new_funding none
    rows = d.set_index("part")
    alone = d[d.kind == "alone"].set_index("part")
    assert list(alone.index) == list(MIX)
    assert (alone.harm_averted_pv_mean > 0).sum() >= 2  # not a vacuous decomposition
    fd = alone.loc["focused_deterrence"]
    for col in ("harm_averted_pv_mean", "harm_averted_pv_p05", "harm_averted_pv_p95", "bcr_mean"):
        assert fd[col] == pytest.approx(econ.loc["fd", col], rel=1e-9), col
    assert fd.allocated_pv_mean == pytest.approx(econ.loc["fd", "allocated_pv_mean"], rel=1e-12)
    whole = rows.loc["whole scenario"]
    assert whole.harm_averted_pv_mean == pytest.approx(
        econ.loc["mix", "harm_averted_pv_mean"], rel=1e-9
    )
    assert alone.share_of_parts.sum() == pytest.approx(1.0, rel=1e-12)
    parts = alone.harm_averted_pv_mean.sum()
    assert rows.loc["sum of the parts", "harm_averted_pv_mean"] == pytest.approx(parts, rel=1e-12)
    assert rows.loc["interaction", "harm_averted_pv_mean"] == pytest.approx(
        whole.harm_averted_pv_mean - parts, abs=1e-6 * abs(whole.harm_averted_pv_mean)
    )
    html = (runs["on"] / "report.html").read_text(encoding="utf-8")
    assert "Which interventions supply the harm averted" in html
    assert "Not computed in this run" in (runs["off"] / "report.html").read_text("utf-8")


def test_the_reference_is_run_when_no_scenario_funds_nothing(runs):
    """Against a funded comparator the nothing-funded reference is an extra run of the same
    replicate, and gives the decomposition it gave beside an unfunded scenario."""
    meta = json.loads((runs["funded"] / "meta.json").read_text())
    assert meta["decomposition_reference"] == "an extra run with nothing funded"
    assert meta["simulation_seconds"]["decomposition_runs_per_replicate"] == 4
    with_nothing = pd.read_csv(runs["on"] / "decomposition.csv")
    extra_run = pd.read_csv(runs["funded"] / "decomposition.csv")
    pd.testing.assert_frame_equal(with_nothing, extra_run, rtol=1e-9)


def test_decompose_arithmetic_on_hand_made_replicates():
    """Two parts of a whole over two replicates: 4+3 and 6+3 of 10 and 12 (interaction 3 each);
    shares are part means over the sum of part means, 5/8 and 3/8; costs 1 and 2 a part."""
    rng = np.random.default_rng(0)
    whole, parts = np.array([10.0, 12.0]), {"a": np.array([4.0, 6.0]), "b": np.array([3.0, 3.0])}
    costs = {"a": np.array([1.0, 1.0]), "b": np.array([2.0, 2.0])}
    t = ap.decompose(whole, parts, np.array([3.0, 3.0]), costs, rng).set_index("part")
    assert list(t.index) == ["a", "b", "sum of the parts", "interaction", "whole scenario"]
    assert list(t.share_of_parts.iloc[:3]) == [5 / 8, 3 / 8, 1.0]
    assert t.loc["interaction", "harm_averted_pv_mean"] == 3.0
    assert np.isnan(t.loc["interaction", "allocated_pv_mean"])
    assert list(t.bcr_mean.iloc[:3]) == [5.0, 1.5, 8 / 3]
    assert t.loc["whole scenario", "bcr_mean"] == 11 / 3
    # parts that avert nothing on average have no shares
    none = ap.decompose(whole, {"a": -parts["a"], "b": parts["b"] - 3}, whole, costs, rng)
    assert none.share_of_parts.isna().all()


def test_decompose_must_be_true_or_false():
    with pytest.raises(ConfigError) as err:
        cmp.compare_config(["area=test_town", "scenarios=[no_new_funding]",
                            "comparator=no_new_funding", "decompose=maybe"])  # fmt: skip
    assert str(err.value) == "decompose='maybe': must be true or false"
