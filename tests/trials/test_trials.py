"""In-model trials of each intervention's evidence (experiments/trials.py): the estimator, the
blocked randomisation, the designs, and (slow tier) every trial at its shipped size."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import svsim
from svsim.experiments import trials as T
from svsim.experiments.compare.compare import _load_library


def test_blocked_randomisation_is_keyed_and_balanced():
    ids = np.arange(1000, 1300)
    score = np.random.default_rng(0).normal(size=300)
    arm, block = T._arms(5, 3, ids, score)
    assert np.bincount(arm, minlength=3).tolist() == [100, 100, 100]
    for b in range(100):  # each block holds one of each arm, and neighbours in score
        assert sorted(arm[block == b]) == [0, 1, 2]
    again, _ = T._arms(5, 3, ids[::-1], score[::-1])
    assert (again[::-1] == arm).all()  # the draw depends on the units, not their order
    other, _ = T._arms(6, 3, ids, score)
    assert (other != arm).any()


def test_group_randomisation_keeps_each_group_whole_and_its_arm_fixed():
    groups = np.repeat(np.arange(300), 4)  # 300 groups of four members
    arm, block = T._group_arms(5, groups)
    for g in range(300):
        assert len(set(arm[groups == g])) == 1  # no group split between arms
    assert (block == groups).all()
    later, _ = T._group_arms(5, groups[::7])  # the same group found again in a later week
    assert (later == arm[::7]).all()
    share = np.bincount(arm[::4], minlength=3) / 300  # about a third each: 3 SE is 0.08
    assert np.abs(share - 1 / 3).max() < 0.09


def test_adjusted_ratio_recovers_a_known_effect_with_an_honest_se():
    rng = np.random.default_rng(1)
    estimates, ses = [], []
    for _ in range(300):
        h = rng.gamma(0.5, 2.0, size=(400, 1)) * np.ones((1, 3))  # matched prognosis
        y = rng.poisson(h * np.array([0.8, 1.0, 1.0]))  # treated 20% fewer events
        est, se = T._adjusted_log_ratio(y.astype(float), h, 0)
        estimates.append(est)
        ses.append(se)
    estimates = np.array(estimates)
    # mean of 300 estimates: SE about 0.004, so 0.02 is five SE
    assert estimates.mean() == pytest.approx(math.log(0.8), abs=0.02)
    assert np.mean(ses) == pytest.approx(estimates.std(), rel=0.15)  # SE matches the spread


def test_every_intervention_with_evidence_has_a_design():
    lib = _load_library()
    designs = T.designs()
    with_evidence = {n for n, s in lib.items() if s.evidence != "none"}
    assert with_evidence == set(designs)
    for name, d in designs.items():
        assert d.outcome in T.OUTCOMES and d.unit in T.UNITS
        assert d.follow_up_weeks == lib[name].chain.estimand.follow_up_weeks, name
        assert d.tests and d.cannot_test


def test_trials_refuse_an_unknown_name():
    out = svsim("trials", "names=[nothing]")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("svsim trials: error: names=")


# Known at the shipped sizes (conf/trials.yaml; model/ODD.md 7.10b): parenting's ten-year trial
# passes at 30 runs (-5.1% against -5) but its MDE (5.3) is just above twice its tolerance, and
# it takes 17 minutes (issue 15 is open on it); the rest pass, and those not below cost more
# than CI's budget.
UNDERPOWERED = {"parenting_programmes"}
# the passing trials CI can afford; out-of-court disposals (40 runs, about 5 minutes) is the one
# that found a modelling error (children given adults' custody rates), so it stays in CI
SLOW_TIER = ("mentoring", "social_skills_schools", "out_of_court_disposals")


@pytest.mark.slow
def test_trials_meet_their_published_estimate_and_fail_with_the_lever_at_zero(tmp_path):
    """The positive controls CI runs, at their shipped sizes: each passes, and its placebo arm
    (the lever at zero) fails."""
    out = tmp_path / "trials.csv"
    run = svsim("trials", f"names=[{','.join(SLOW_TIER)}]", "jobs=2", f"out={out}", timeout=3000)
    import pandas as pd

    df = pd.read_csv(out).set_index("intervention")
    assert set(df.index) == set(SLOW_TIER), run.stderr[-2000:]
    assert not df.lever_zero_passes.any(), df.lever_zero
    assert df.passes.all(), df[["in_model", "published", "tolerance", "se"]]
    assert (df.mde_80 <= 2 * df.tolerance).all()


def test_the_known_failures_are_named_and_have_designs():
    assert UNDERPOWERED | set(SLOW_TIER) <= set(T.designs())


@pytest.mark.slow
def test_a_deliberately_wrong_transfer_fails(tmp_path):
    """Social skills with the old transfer (the Toolkit's -32% applied to every pupil's violent
    offending, no outcome or population rules) is far outside its tolerance even at a third of
    the shipped size: the trial can tell a wrong chain from the right one."""
    out = tmp_path / "wrong.csv"
    run = svsim("trials", "names=[social_skills_schools]", "effect=0.32", "runs=4", "jobs=2",
                f"out={out}", timeout=3000)  # fmt: skip
    import pandas as pd

    df = pd.read_csv(out)
    assert run.returncode == 1, run.stderr[-2000:]
    assert not df.passes.any()
    assert (df.in_model - df.published).abs().iloc[0] > 2 * df.tolerance.iloc[0]


def test_trials_refuse_a_bad_forced_effect():
    out = svsim("trials", "names=[mentoring]", "effect=nan")
    assert out.returncode == 2
    assert "effect='nan'" in out.stderr.strip().splitlines()[-1]
