"""The accounting worksheet: every target and pattern is in it with its scope, its published
figure as the targets file has it, and ODD.md's printed worksheet is current (slow)."""

import pytest
import yaml
from scipy import stats
from svsim.experiments import worksheet
from svsim.experiments.config import CONF_DIR
from svsim.model import accounting
from svsim.model.outcomes import MEASURES
from svsim.model.scopes import MEASURE_SCOPE, SCOPE

TARGETS = yaml.safe_load((CONF_DIR / "targets" / "wiltshire_swindon.yaml").read_text())
FIGURE = {f.name: f for f in accounting.FIGURES}


def entries():
    return [*TARGETS["targets"], *TARGETS["patterns"]]


def test_every_target_and_pattern_names_a_scope_and_is_in_the_worksheet():
    for t in entries():
        assert t.get("scope") in SCOPE, t["name"]
        scope = FIGURE[t["name"]].scope if t["name"] in FIGURE else accounting.RANKS[t["name"]]
        assert scope == t["scope"], t["name"]
    assert all(f.scope in SCOPE and f.tier in accounting.TIERS for f in accounting.FIGURES)


def test_the_worksheet_holds_each_target_to_its_published_figure():
    for t in TARGETS["targets"]:
        f = FIGURE.get(t["name"])
        if t["kind"] == "count" and t["weight"] > 0:
            assert (f.low, f.high) == pytest.approx(
                (t["value"] * (1 - t["tolerance"]), t["value"] * (1 + t["tolerance"]))
            )
        if t["kind"] == "band":
            assert (f.low, f.high) == (t["low"], t["high"])
        if t["kind"] == "poisson":
            lo = stats.chi2.ppf(0.05, 2 * t["value"]) / 2 / t["years"]
            hi = stats.chi2.ppf(0.95, 2 * (t["value"] + 1)) / 2 / t["years"]
            assert (f.low, f.high) == pytest.approx((lo, hi), abs=0.005)


def test_targets_fitted_outside_their_scope_are_named():
    """A target whose fitted measure is in another scope than its figure is listed for the
    recalibration, and nothing else is."""
    out = set()
    for t in entries():
        measure = t.get("measure")
        if measure is None and "union" in t:
            measure = next(u for u in TARGETS["targets"] if u["name"] == t["overlap"])["measure"]
        if measure in MEASURES and MEASURE_SCOPE[measure] != t["scope"]:
            out.add(t["name"])
        if measure is None and t["scope"] != "model_true":
            out.add(t["name"])  # patterns measured on true incidents
    assert out == set(accounting.RESCOPE)


@pytest.mark.slow
def test_odd_worksheet_is_current():
    assert worksheet.main(["--check"]) == 0, "svsim worksheet --write"
