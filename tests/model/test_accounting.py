"""The accounting worksheet: every row of the targets file names a scope the worksheet reads
it in, with its published figure as the file has it; ODD.md's worksheet is current (slow)."""

import math

import pytest
import yaml
from scipy import stats
from svsim.experiments import worksheet
from svsim.experiments.config import CONF_DIR
from svsim.model import accounting
from svsim.model.outcomes import MEASURES
from svsim.model.scopes import MEASURE_SCOPE, SCOPE

ROWS = yaml.safe_load((CONF_DIR / "targets" / "wiltshire_swindon.yaml").read_text())["rows"]
FIGURE = {f.name: f for f in accounting.FIGURES}


def _measure(row: dict) -> str | None:
    """The model measure a row reads (a CSP's share of it counts as the measure), if any."""
    if "union" in row:
        row = next(r for r in ROWS if r["name"] == row["overlap"])
    m = row["statistic"].split(":")[0]
    return m if m in MEASURES else None


def test_every_row_names_a_scope_and_a_figure_reads_it_in_that_scope():
    for row in ROWS:
        assert row.get("scope") in SCOPE, row["name"]
        if row.get("statistic") in FIGURE:
            assert FIGURE[row["statistic"]].scope == row["scope"], row["name"]
    assert all(f.scope in SCOPE and f.tier in accounting.TIERS for f in accounting.FIGURES)


def test_the_worksheet_holds_each_row_to_its_published_figure():
    """Where a row reads a worksheet figure, the worksheet accepts what the row passes."""
    checked = 0
    for row in ROWS:
        f = FIGURE.get(row["name"]) or FIGURE.get(row.get("statistic"))
        if f is None or math.isnan(f.low):
            continue
        checked += 1
        if row["kind"] == "count":
            expect = (row["value"] * (1 - row["tolerance"]), row["value"] * (1 + row["tolerance"]))
            assert (f.low, f.high) == pytest.approx(expect), row["name"]
        if row["kind"] == "band":
            assert (f.low, f.high) == (row["low"], row["high"]), row["name"]
        if row["kind"] == "poisson":
            lo = stats.chi2.ppf(0.05, 2 * row["value"]) / 2 / row["years"]
            hi = stats.chi2.ppf(0.95, 2 * (row["value"] + 1)) / 2 / row["years"]
            assert (f.low, f.high) == pytest.approx((lo, hi), abs=0.005), row["name"]
    assert checked >= 10


def test_rows_read_outside_their_scope_are_named():
    """A row whose measure is in another scope than its figure is listed, and nothing else."""
    out = {
        row["name"]
        for row in ROWS
        if _measure(row) is not None and MEASURE_SCOPE[_measure(row)] != row["scope"]
    }
    assert out == set(accounting.RESCOPE)


@pytest.mark.slow
def test_odd_worksheet_is_current():
    assert worksheet.main(["--check"]) == 0, "svsim worksheet --write"
