"""A fixed-seed summary of test_town, pinned in tests/regression/, so that any change in the
model's behaviour is deliberate and shows in review. To accept a deliberate change:
    SVSIM_UPDATE_REGRESSION=1 pytest tests/model/test_regression.py
and commit the new CSV with the change that explains it."""

import os

import pandas as pd
from conftest import REPO, load_area, make_model

PINNED = REPO / "tests" / "regression" / "test_town_seed1.csv"


def summary() -> pd.DataFrame:
    r = make_model(load_area("test_town"), seed=1, years=3, burn_in_years=2).run()
    table = r.totals().round(6)
    table.columns = list(table.columns.astype(str))
    return table.reset_index()


def test_fixed_seed_summary_is_unchanged():
    now = summary()
    if os.environ.get("SVSIM_UPDATE_REGRESSION") == "1":
        now.to_csv(PINNED, index=False)
    pinned = pd.read_csv(PINNED)
    pd.testing.assert_frame_equal(now, pinned, check_dtype=False, rtol=1e-9, atol=1e-9)
