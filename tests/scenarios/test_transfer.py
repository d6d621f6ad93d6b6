"""Transfer chains: each rule's arithmetic, the loader's refusals, and the shipped library."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml
from svsim.experiments.compare.compare import _load_library
from svsim.experiments.config import CONF_DIR
from svsim.scenarios import transfer as tr
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import ScenarioError, intervention_from_dict


def rule(name, x, v=0.0):
    return float(tr.RULES[name].apply(np.asarray(x, float), v))


def test_conversions_match_their_published_formulas():
    assert rule("d_to_log_odds", 0.25) == pytest.approx(-0.25 * math.pi / math.sqrt(3))
    oratio, p0 = 0.41, 0.10
    assert math.exp(rule("odds_to_risk_ratio", math.log(oratio), p0)) == pytest.approx(
        oratio / (1 - p0 + p0 * oratio)
    )
    assert math.exp(rule("percent_to_ratio", -14)) == pytest.approx(0.86)
    assert math.exp(rule("concentration", math.log(0.8), 0.25)) == pytest.approx(0.95)
    assert math.exp(rule("spillover", math.log(0.95), 0.2)) == pytest.approx(1 - 1.2 * 0.05)
    assert rule("outcome", -0.4, 0.5) == pytest.approx(-0.2)


def raw(name: str) -> dict:
    return yaml.safe_load((CONF_DIR / "intervention" / f"{name}.yaml").read_text())


def refused(data: dict) -> str:
    with pytest.raises(ScenarioError) as exc:
        intervention_from_dict(data, "intervention t")
    return str(exc.value)


def test_loader_refuses_chains_that_do_not_lead_to_the_lever():
    d = raw("social_skills_schools")
    swapped = copy.deepcopy(d)
    t = swapped["effect"]["transfers"]
    t[0], t[2] = t[2], t[0]  # the outcome factor before d is converted
    msg = refused(swapped)
    assert "effect.transfers[0].rule='outcome': reads log_rr, but the chain holds d here" in msg
    no_outcome = copy.deepcopy(d)
    del no_outcome["effect"]["transfers"][2]
    msg = refused(no_outcome)
    assert "effect.estimand.outcome='antisocial_behaviour'" in msg and "violent_offending" in msg
    long = copy.deepcopy(d)
    long["effect_weeks"] = 104
    assert "effect_weeks=104: exceeds the study's follow-up (52 weeks)" in refused(long)
    unknown = copy.deepcopy(d)
    unknown["effect"]["transfers"][1]["rule"] = "magic"
    assert "effect.transfers[1].rule='magic': must be one of" in refused(unknown)
    lost = copy.deepcopy(d)
    del lost["effect"]["transfers"][1]["value"]
    assert "effect.transfers[1].rule='odds_to_risk_ratio': needs its baseline_risk" in refused(lost)
    for line in refused(swapped).splitlines():
        assert line.startswith("intervention t.")


def test_no_evidence_must_be_mean_zero():
    d = raw("knife_crime_education")
    tilted = copy.deepcopy(d)
    tilted["effect"]["estimand"]["low"] = -5  # the old -5% to +10%: a mean above zero
    assert "evidence 'none' needs value 0, low = -high" in refused(tilted)
    lib = _load_library()
    none = [n for n, s in lib.items() if s.evidence == "none"]
    assert len(none) == 7  # five, and the youth court and police-schools panel (issue 15, part 7)
    for n in none:
        draws = lib[n].chain.draw(np.random.default_rng(4), 40_000)
        r = lib[n].chain.reduction(draws)
        # PERT on [-10%, 10%] has SD about 3.8%: the mean of 40,000 draws has SE 0.0002
        assert abs(r.mean()) < 0.0015, n
        assert r.min() < -0.05 and r.max() > 0.05, n  # harm and benefit both possible


def test_shipped_chains_give_their_model_effect_by_hand():
    spec = _load_library()["social_skills_schools"]
    log_or = -0.25 * math.pi / math.sqrt(3)
    oratio, p0 = math.exp(log_or), 0.16
    log_rr = math.log(oratio / (1 - p0 + p0 * oratio)) * 0.5 * 0.5
    assert spec.effect.value == pytest.approx(-math.expm1(log_rr))
    assert spec.effect.value < 0.15  # not the Toolkit's 32% on every pupil
    hot = _load_library()["hot_spots_policing"]
    by_hand = 1 - (1 + 0.1) * 0.25 * (1 - 0.86**0.8)
    assert 1 - hot.effect.value == pytest.approx(by_hand)


def test_replicate_draws_are_the_chain_of_their_drawn_inputs():
    lib = _load_library()
    a = draw_inputs(lib, 11, 3)
    assert a == draw_inputs(lib, 11, 3)
    assert a != draw_inputs(lib, 11, 4)
    for n, d in a.items():
        assert d.reduction == pytest.approx(float(lib[n].chain.reduction(list(d.chain))))
    modes = draw_inputs(lib, 11, 3, uncertain=False)
    for n, d in modes.items():
        assert d.reduction == pytest.approx(lib[n].effect.value)


def test_assumed_share_splits_the_variance_by_source():
    sourced = tr.Uncertain(-20, -30, -10, "a study")
    assumed = tr.Uncertain(0.5, 0.2, 1.0, "assumed, because")
    est = tr.Estimand(
        "violent_offending",
        "targeted",
        (10, 17),
        "UK",
        "person",
        "usual_services",
        "rct",
        52,
        "percent_change",
        sourced,
    )
    only = tr.Chain(est, (tr.Transfer("percent_to_ratio", None),))
    assert tr.summarise(only).assumed_share == 0
    both = tr.Chain(
        est, (tr.Transfer("percent_to_ratio", None), tr.Transfer("setting", assumed, "a", "b"))
    )
    share = tr.summarise(both).assumed_share
    assert 0.3 < share < 0.95
    fixed = tr.Chain(
        est,
        (
            tr.Transfer("percent_to_ratio", None),
            tr.Transfer("setting", tr.Uncertain(0.5, 0.5, 0.5, "assumed"), "a", "b"),
        ),
    )
    assert tr.summarise(fixed).assumed_share < 1e-12  # a point assumption adds no variance


def test_every_shipped_chain_runs_backwards_to_its_published_estimate():
    for name, spec in _load_library().items():
        chain = spec.chain
        log_rr = float(chain.log_ratio(chain.modes()))
        assert chain.backwards(log_rr) == pytest.approx(chain.estimand.estimate.value, abs=1e-9), (
            name
        )


def test_an_interventions_draws_do_not_depend_on_the_rest_of_the_library():
    lib = _load_library()
    some = {n: lib[n] for n in sorted(lib)[::2]}
    whole, part = draw_inputs(lib, 3, 2), draw_inputs(some, 3, 2)
    assert all(part[n] == whole[n] for n in some)
