"""The patterns table (model/patterns.py): complete on a small town; and, in the slow tier, the
whole area at a quarter scale produces the patterns the setting processes are built for."""

import math

import pytest
from conftest import load_area, make_model
from svsim.model.params import Params
from svsim.model.patterns import patterns, table


def test_every_pattern_row_is_computed_in_its_scope(test_town):
    m = make_model(test_town, seed=2, years=2)
    rows = patterns(m, m.run())
    names = [r.name for r in rows]
    assert len(names) == len(set(names))
    for r in rows:
        assert r.scope and r.published and r.moved_by, r.name
        if not r.name.startswith("median km"):  # test_town may have no night-time incident
            assert math.isfinite(r.value), r.name
    assert set(table(rows).columns) >= {"pattern", "scope", "model", "published", "met"}
    # every parameter a row names exists (a wildcard names a whole group)
    for r in rows:
        for name in (x.strip() for x in r.moved_by.split(",")):
            if "." not in name or name.startswith("*"):
                continue
            group, _, field = name.partition(".")
            section = getattr(Params(), group)
            if "*" not in field:
                assert hasattr(section, field), (r.name, name)


# the patterns the processes are built to produce, at the hand-set defaults (model/ODD.md 7.13);
# one seed of the whole area at scale 0.25 over 3 years: the ranges are the published figures'
# (survey rows within 2 SE), so a process that lost its pattern fails
BUILT_FOR = (
    "domestic share of recorded violence against the person (crimes)",
    "female share of recorded domestic-abuse victims",
    "survey domestic-abuse prevalence, women 16+",
    "survey domestic-abuse prevalence, men 16+",
    "domestic-abuse victims with more than one incident within a year",
    "survey prevalence 25-34 relative to 16-24",
    "survey prevalence, male 16+",
    "share of survey-counted incidents experienced by repeat victims",
    "male share of homicide victims (expected)",
    "under-16 share of recorded violence victims",
    "knife carrying among pupils aged 11-16 (end of run)",
    "street-group members among 10-17s (end of run)",
    "knife used in survey-counted incidents",
    "offenders aged 65+, share of recorded incidents",
)


@pytest.mark.slow
def test_the_whole_area_produces_the_patterns_it_is_built_for():
    m = make_model(
        load_area("wiltshire_swindon"), seed=3, years=3, burn_in_years=3, population_scale=0.25
    )
    rows = {r.name: r for r in patterns(m, m.run())}
    missed = [
        f"{n}: {rows[n].value:.4f} not in [{rows[n].low}, {rows[n].high}]"
        for n in BUILT_FOR
        if not rows[n].met
    ]
    assert not missed, missed
    # sharp-object admissions: mostly male (published ~92%; the model is short of it, 7.13)
    assert rows["male share of sharp-object admissions (expected)"].value > 0.8
    # night-time victims come from nearby: a local catchment, not the whole CSP
    assert rows["median km from a night-time victim's home to the venue"].value < 15


def test_lifetime_conviction_concentration_follows_the_spread_of_persistent_risk(test_town):
    """The CSDD row (7% of men hold half of lifetime convictions): 42% ever convicted by
    construction; with no spread of persistent risk it is Poisson luck alone, and it falls as
    individual risk spreads wider."""
    from dataclasses import replace

    import numpy as np
    from svsim.model.patterns import lifetime_conviction_concentration

    def share(model, **offending):
        m = model
        if offending:
            p = replace(m.params, offending=replace(m.params.offending, **offending))
            m = make_model(test_town, seed=2, years=1, params=p)
        return lifetime_conviction_concentration(m, m.alive() & m.people.male.astype(bool))

    m = make_model(test_town, seed=2, years=1)
    flat = share(m, individual_risk_log_rr=0.0, individual_protective_log_rr=0.0,
                 family_risk_log_rr=0.0, family_protective_log_rr=0.0)  # fmt: skip
    # community factors alone: close to equal means, so Poisson luck alone: walk down the
    # Poisson(lam) counts (42% convicted) until the men taken hold half the convictions
    from scipy.stats import poisson

    lam, held, poisson_only = -np.log(1 - 0.42), 0.0, 0.0
    for k in range(40, 0, -1):
        take = min(poisson.pmf(k, lam), (lam / 2 - held) / k)
        held, poisson_only = held + take * k, poisson_only + take
    assert abs(flat - poisson_only) < 0.03, (flat, poisson_only)
    shares = [share(m, individual_risk_log_rr=b) for b in (0.6, 1.0, 1.4)]
    assert shares[0] > shares[1] > shares[2], shares
    assert share(m) == share(m)  # keyed: the same model gives the same value
