"""Cross-check of the fast vectorised model against the per-agent Mesa reference.

`experiments/bench/reference_mesa.py` implements a subset of the weekly rules (youth and community
settings with their age-sex rate ratios, peer contagion through exposure, peer victims and
community victims by persistent risk) one agent at a time, written independently of
`svsim.model.model`. Run with `subset_params`, the fast model follows the same rules, and for one
seed both hold the same people, peer ties and victim risks, so their weekly numbers of offenders
must agree within sampling error.

The test. For each of N_SEEDS population seeds, both models run WEEKS weeks from week 0 (the
reference with its own weekly seed, the fast model with its own streams, so the two runs are
independent given the people). Counts of offenders are treated as Poisson: a two-sample Poisson
test conditions on the sum, n = a + b, under which a ~ Binomial(n, 1/2) when the rates are equal
(scipy.stats.binomtest, two-sided). It is applied
- to the totals pooled over seeds and weeks (the main test: it resolves a ~2% difference);
- to each seed's totals, at a Bonferroni level 0.001 / N_SEEDS;
- week by week, pooled over seeds: sum over weeks of (a_w - b_w)^2 / (a_w + b_w) is chi-squared
  with WEEKS degrees of freedom under equal rates, which checks the build-up of contagion from zero
  exposure week by week, not just the total.
The Poisson assumption was checked: 120 reference runs of one population (seed 1, 26 weeks, the
boost below) gave a variance of the total of 1.07 times its mean (standard error of the ratio
~0.13; contagion's overdispersion about offsets the underdispersion of sums of Bernoulli draws).

Why p > 0.001. Each test is a sampling statement, so a correct pair of models fails it with
probability 0.001 (0.1%, the family of per-seed tests jointly at most 0.1%). The seeds are fixed,
so the outcome is deterministic: a seed set that passes keeps passing until either model changes,
and a change of random streams that makes an honest model fail is a 1-in-1000 event rather than
the 1-in-20 of p > 0.05. The level is still tight enough to matter: the power tests below show the
pooled test rejects a change of the contagion strength by a fifth (p < 0.001).

The base hazard of test_town gives a few offenders a week; it is raised 30-fold here so there are
~90 offenders a week and contagion adds about 45% to offending over the 52 weeks.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import yaml
from conftest import REPO
from scipy.stats import binomtest, chi2
from svsim.experiments.bench.reference_mesa import (
    make_fast,
    make_reference,
    run_fast,
    run_reference,
    subset_params,
)
from svsim.model import Params, RunSettings, area_from_dict

AREA_FILE = REPO / "conf" / "area" / "test_town.yaml"
SEEDS = tuple(range(10))
N_SEEDS = len(SEEDS)
WEEKS = 52
ALPHA = 0.001
HAZARD_BOOST = 30.0


def weekly_seed(seed: int, variant: int = 0) -> int:
    """The reference's weekly seed: fixed, and distinct from every population seed."""
    return 10_000 * (variant + 1) + seed


def poisson_test(a: int, b: int) -> float:
    """Two-sided p-value of equal Poisson rates given counts a and b (conditional binomial)."""
    return 1.0 if a + b == 0 else binomtest(int(a), int(a + b), 0.5).pvalue


@pytest.fixture(scope="module")
def area():
    return area_from_dict(yaml.safe_load(AREA_FILE.read_text()))


@pytest.fixture(scope="module")
def params() -> Params:
    p = Params()
    return replace(
        p, offending=replace(p.offending, base_hazard=p.offending.base_hazard * HAZARD_BOOST)
    )


@pytest.fixture(scope="module")
def fast(area, params) -> np.ndarray:
    """Weekly offenders of the fast model, seeds x weeks."""
    return np.array([run_fast(area, params, RunSettings(seed=s), WEEKS) for s in SEEDS])


@pytest.fixture(scope="module")
def reference(area, params) -> np.ndarray:
    """Weekly offenders of the reference model, seeds x weeks."""
    return np.array(
        [run_reference(area, params, RunSettings(seed=s), WEEKS, weekly_seed(s)) for s in SEEDS]
    )


def test_same_people_and_ties(area, params):
    """The premise of a paired comparison: same people, same peer ties, same initial hazards,
    same persistent victim risks (compared as each community's total)."""
    settings = RunSettings(seed=SEEDS[0])
    ref = make_reference(area, params, settings, weekly_seed(SEEDS[0]))
    fm = make_fast(area, params, settings, WEEKS)
    n = len(fm.people)
    assert len(ref.persons) == n
    deg = np.diff(fm.network.indptr)
    assert [ref.network.degree(i) for i in range(n)] == deg.tolist()
    fast_edges = {
        (i, int(j))
        for i in range(n)
        for j in fm.network.indices[fm.network.indptr[i] : fm.network.indptr[i + 1]]
    }
    assert fast_edges == {e for u, v in ref.network.edges() for e in ((u, v), (v, u))}
    h_ref = np.array([agent.hazard() for agent in ref.persons])
    h_fast = fm._propensity()
    np.testing.assert_allclose(h_ref, h_fast, rtol=1e-5)
    risk_ref = [cum[-1] if cum else 0.0 for cum in ref.residents_cum_risk]
    np.testing.assert_allclose(risk_ref, fm._victims_home.totals(), rtol=1e-5)
    assert fm.params == subset_params(params)


def test_offenders_agree(fast, reference):
    assert fast.shape == reference.shape == (N_SEEDS, WEEKS)
    assert fast.sum(axis=1).min() > 50 * WEEKS  # enough incidents for the test to have power
    per_seed = [poisson_test(a, b) for a, b in zip(reference.sum(1), fast.sum(1), strict=True)]
    pooled = poisson_test(reference.sum(), fast.sum())
    a, b = reference.sum(axis=0), fast.sum(axis=0)
    weekly = chi2.sf(float(((a - b) ** 2 / (a + b)).sum()), WEEKS)
    print(
        f"\nreference {reference.sum()} vs fast {fast.sum()} offenders: pooled p={pooled:.3g}, "
        f"weekly chi2 p={weekly:.3g}, per-seed p min={min(per_seed):.3g}"
    )
    assert pooled > ALPHA
    assert min(per_seed) > ALPHA / N_SEEDS
    assert weekly > ALPHA


@pytest.mark.parametrize("factor", [2.0, 1.2, 0.0])
def test_crosscheck_detects_a_different_contagion(area, params, fast, factor):
    """Power: the reference with exposure_log_rr times `factor` (doubled, a fifth stronger, or no
    contagion at all) against the fast model at the true value must be rejected."""
    o = params.offending
    changed = replace(params, offending=replace(o, exposure_log_rr=o.exposure_log_rr * factor))
    other = np.array(
        [
            run_reference(area, changed, RunSettings(seed=s), WEEKS, weekly_seed(s, variant=1))
            for s in SEEDS
        ]
    )
    pooled = poisson_test(other.sum(), fast.sum())
    print(
        f"\nexposure_log_rr x{factor}: reference {other.sum()} vs fast {fast.sum()}, "
        f"pooled p={pooled:.3g}"
    )
    assert pooled < ALPHA


def test_the_mesa_reference_is_frozen():
    """The benchmark's baseline changes only deliberately: its file matches the pinned hash."""
    from svsim.experiments.bench.bench import REFERENCE_SHA256, reference_hash

    assert reference_hash() == REFERENCE_SHA256, "update REFERENCE_SHA256 with the change"
