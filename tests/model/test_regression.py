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
