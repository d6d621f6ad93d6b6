"""A fixed-seed summary of test_town, pinned in tests/regression/, so that any change in the
model's behaviour is deliberate and shows in review. To accept a deliberate change:
    SVSIM_UPDATE_REGRESSION=1 pytest tests/model/test_regression.py
and commit the new CSVs with the change that explains it. The measures of the measurement layer
(model/measurement.py) are pinned in their own file, so that adding them showed the existing
measures unchanged."""

import os

import pandas as pd
from conftest import REPO, load_area, make_model
from svsim.model.measurement import MEASURED

SCOPE_MEASURES = set(MEASURED)

PINNED = REPO / "tests" / "regression" / "test_town_seed1.csv"
PINNED_SCOPES = REPO / "tests" / "regression" / "test_town_seed1_scopes.csv"


def summary() -> pd.DataFrame:
    r = make_model(load_area("test_town"), seed=1, years=3, burn_in_years=2).run()
    table = r.totals().round(6)
    table.columns = list(table.columns.astype(str))
    return table.reset_index()


def test_fixed_seed_summary_is_unchanged():
    now = summary()
    scoped = ["year", *(m for m in now.columns if m in SCOPE_MEASURES)]
    if os.environ.get("SVSIM_UPDATE_REGRESSION") == "1":
        now.drop(columns=scoped[1:]).to_csv(PINNED, index=False)
        now[scoped].to_csv(PINNED_SCOPES, index=False)
    for path in (PINNED, PINNED_SCOPES):
        pinned = pd.read_csv(path)
        assert set(pinned.columns) <= set(now.columns), f"{path.name}: a measure disappeared"
        pd.testing.assert_frame_equal(
            now[pinned.columns], pinned, check_dtype=False, rtol=1e-9, atol=1e-9
        )
    assert set(now.columns) == set(pd.read_csv(PINNED).columns) | set(scoped), "unpinned"


PINNED_PLAN = REPO / "tests" / "regression" / "test_town_plan_seed1.csv"
PLAN = {  # one intervention of each way of reaching people: arrest, group, diversion, hospital,
    # referral, school, places, fatality training, workforce engagement
    "mentoring": 60000, "focused_deterrence": 60000, "out_of_court_disposals": 60000,
    "ae_navigators": 60000, "cbt_young_people": 60000, "social_skills_schools": 60000,
    "hot_spots_policing": 60000, "street_doctors": 30000, "trauma_informed_practice": 30000,
}  # fmt: skip


def plan_summary(tmp_path) -> pd.DataFrame:
    """A replicate of compare on the test town (two scenarios forked from one burn-in): each
    scenario's yearly totals of every measure."""
    from conftest import town_plan
    from svsim.experiments.compare.compare import compare_config, run_replicate
    from svsim.model.outcomes import MEASURES

    plan = town_plan(tmp_path, "Every way of reaching people.", 570000, PLAN)
    cfg, _ = compare_config(
        ["area=test_town", f"scenarios=[no_new_funding,{plan}]", "comparator=no_new_funding",
         "replicates=2", "years=3", "burn_in_years=2", "population_scale=1", "jobs=1"]
    )  # fmt: skip
    out = run_replicate(cfg, 1)
    rows = [
        {"scenario": name, "year": y, **dict(zip(MEASURES, yearly[y].sum(axis=0), strict=True))}
        for name, yearly in out["yearly"].items()
        for y in range(len(yearly))
    ]
    return pd.DataFrame(rows).round(6)


def test_a_funded_plan_on_the_test_town_is_unchanged(tmp_path):
    """Pins delivery and the hook as well as the model: a speed change that alters who is
    reached or what they get shows here."""
    now = plan_summary(tmp_path)
    assert (now[now.scenario == "town_plan"].iloc[:, 2:].values
            != now[now.scenario == "no_new_funding"].iloc[:, 2:].values).any()  # fmt: skip
    if os.environ.get("SVSIM_UPDATE_REGRESSION") == "1":
        now.to_csv(PINNED_PLAN, index=False)
    pinned = pd.read_csv(PINNED_PLAN)
    pd.testing.assert_frame_equal(now, pinned, check_dtype=False, rtol=1e-9, atol=1e-9)
