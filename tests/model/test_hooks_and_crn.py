"""The intervention hook, through test doubles, and common random numbers."""

import numpy as np
import pytest
from conftest import make_model
from svsim.model.hooks import Observed
from svsim.model.outcomes import Setting


class LowerRisk:
    """Test double: halve the hazard of everyone aged 15-24 each week."""

    def apply(self, week, observed, levers):
        age = observed.age
        levers.scale_hazard(np.flatnonzero((age >= 15) & (age < 25)), 0.5)


class TreatOne:
    """Test double: multiply one person's hazard by a factor, every projection week."""

    def __init__(self, person, factor):
        self.person, self.factor = person, factor

    def apply(self, week, observed, levers):
        levers.scale_hazard(np.array([self.person]), self.factor)


def test_hook_lowers_violence_when_it_lowers_risk(test_town):
    totals = {}
    for name, iv in (("base", []), ("treated", [LowerRisk()])):
        counts = [
            len(make_model(test_town, interventions=iv, seed=s, years=2).run().incidents)
            for s in range(4)
        ]
        totals[name] = sum(counts)
    assert totals["treated"] < totals["base"]


def test_observed_shows_no_hidden_propensity(test_town):
    m = make_model(test_town)
    seen = {n for n in dir(Observed) if not n.startswith("_")}
    assert not seen & {
        "individual_risk",
        "individual_protective",
        "family_risk",
        "family_protective",
        "exposure",
        "trauma",
        "hazard",
    }
    obs = Observed(m, 0)
    with pytest.raises(ValueError):
        obs.age[0] = 99  # read-only


def _graph_neighbours(models, person_ids):
    """Everyone one tie away, in either run: peers (this year's network), household members,
    partners, and, for a street-group member, every member of any group in their CSP (a rival
    incident draws from those groups)."""
    ids = np.asarray(sorted(person_ids), dtype=np.int64)
    out = set()
    if not len(ids):
        return out
    for m in models:
        out |= set(m.network[ids].indices.tolist())
        out |= set(np.flatnonzero(np.isin(m.people.household, m.people.household[ids])).tolist())
        partner = m.people.partner[ids]
        out |= set(partner[partner >= 0].tolist())
        grouped = ids[m.state.group[ids] >= 0]
        if len(grouped):
            csps = np.unique(m.community_csp[m.state.group[grouped]])
            members = np.flatnonzero(m.state.group >= 0)
            out |= set(members[np.isin(m.community_csp[m.state.group[members]], csps)].tolist())
    return out


def _week_table(model):
    """This week's incidents by (offender, is it partner abuse)."""
    d = model._incidents[-1]
    partner = d["setting"] == int(Setting.PARTNER)
    return {
        (int(o), bool(p)): (int(v), int(s), bool(r), int(st))
        for o, p, v, s, r, st in zip(
            d["offender"],
            partner,
            d["victim"],
            d["severity"],
            d["recorded"],
            d["setting"],
            strict=True,
        )
    }


STATE = ("exposure", "trauma", "custody_until", "abuse_until", "group", "carrying", "arrests")


def _state_differs(a, b):
    n = min(len(a.people), len(b.people))
    diff = np.zeros(n, bool)
    for name in STATE:
        diff |= getattr(a.state, name)[:n] != getattr(b.state, name)[:n]
    return set(np.flatnonzero(diff).tolist())


def test_one_persons_treatment_reaches_only_through_the_graphs(test_town):
    """Time-respecting check: every incident that differs between the two runs involves someone
    already reachable from the treated person, and every person whose state (exposure, trauma,
    custody, abuse, group, carrying) differs is reachable or one tie from it; the reachable set
    then grows by the people those incidents and states touch and everyone one tie from them
    (peer, household, partner and group ties). Demography, partnerships and networks are
    identical."""
    base = make_model(test_town, seed=5, years=2)
    age = base.people.age_years(base.burn_in_weeks)
    deg = np.diff(base.network.indptr)
    person = int(np.flatnonzero((age >= 16) & (age <= 22) & base.people.male & (deg > 3))[0])
    treated = make_model(test_town, seed=5, years=2, interventions=[TreatOne(person, 200.0)])
    reach, n_diff = {person}, 0
    while base.week < base.total_weeks:
        base.step()
        treated.step()
        assert (base.network != treated.network).nnz == 0
        assert np.array_equal(base.people.death_week, treated.people.death_week)
        assert np.array_equal(base.people.partner, treated.people.partner)
        if base.week <= base.burn_in_weeks:
            continue
        a, b = _week_table(base), _week_table(treated)
        touched = set()
        for key in set(a) | set(b):
            if a.get(key) == b.get(key):
                continue
            people = {key[0]} | {x[0] for x in (a.get(key), b.get(key)) if x is not None}
            assert people & reach, f"week {base.week}: incident of {key[0]} differs, unreachable"
            touched |= people
            n_diff += 1
        near = reach | _graph_neighbours((base, treated), reach)
        changed = _state_differs(base, treated)
        assert changed <= near | touched | _graph_neighbours((base, treated), touched), (
            f"week {base.week}: state differs for unreachable people"
        )
        grown = touched | changed
        reach |= grown | _graph_neighbours((base, treated), grown)
    assert n_diff > 0  # the treatment did change something
    assert len(reach) < len(base.people)  # and did not reach everyone


def test_draws_are_keyed_by_person():
    from svsim.model.randomness import Process, Streams

    s = Streams(3)
    ids = np.arange(1000)
    full = s.keyed(Process.VICTIM, 7, ids, 2)
    some = s.keyed(Process.VICTIM, 7, ids[::7], 2)
    assert np.array_equal(full[::7], some)
    assert not np.array_equal(full, s.keyed(Process.VICTIM, 8, ids, 2))
    assert not np.array_equal(full, Streams(4).keyed(Process.VICTIM, 7, ids, 2))
    # uniform: mean and variance within 5 SE
    assert abs(full.mean() - 0.5) < 5 * np.sqrt(1 / 12 / 1000)


def test_weekly_levers_are_restated_not_compounded(test_town):
    class EveryWeek:
        def apply(self, week, observed, levers):
            everywhere = np.arange(len(levers.community_exposure))
            for scale in (
                levers.scale_exposure,
                levers.scale_fatality,
                levers.scale_recording,
                levers.scale_community_detection,
            ):
                scale(everywhere, 2.0)
            levers.scale_community_hazard(everywhere, 0.5)
            levers.scale_hazard(np.arange(observed.n), 0.5)
            levers.scale_detection(np.arange(observed.n), 2.0)

    m = make_model(test_town, interventions=[EveryWeek()], years=2)
    m.run()
    lv = m.levers
    for a in (
        lv.community_exposure,
        lv.community_fatality,
        lv.community_recording,
        lv.community_detection,
        lv.person_detection,
    ):
        assert np.allclose(a, 2.0)
    assert np.allclose(lv.community_log_hazard, np.log(0.5))
    assert np.allclose(lv.person_log_hazard, np.log(0.5))


class Divert:
    """Test double: a diversion scheme offering share q of everyone's chargeable arrests."""

    def __init__(self, q):
        self.q = q

    def apply(self, week, observed, levers):
        levers.divert(np.arange(observed.n), self.q)


def test_the_pathway_lever_turns_chargeable_arrests_into_diversions(test_town):
    runs = {
        name: make_model(test_town, interventions=iv, seed=3, years=2).run().incidents
        for name, iv in (("base", []), ("none", [Divert(0.0)]), ("all", [Divert(1.0)]))
    }
    cols = ["offender", "week", "setting", "severity", "disposal"]
    # a share of zero changes nothing: the same incidents and disposals (common random numbers)
    assert runs["none"][cols].equals(runs["base"][cols])
    serious = lambda d: d.severity.isin(["knife_injury", "admission", "homicide"])  # noqa: E731
    base, everyone = runs["base"], runs["all"]
    charged = lambda d: d[(d.disposal == "charged") & (d.week >= 1)]  # noqa: E731
    assert (~serious(charged(base))).sum() > 20  # charges a scheme could have diverted
    # with every chargeable arrest offered and accepted, only what cannot be diverted is charged
    assert len(charged(everyone)) < len(charged(base)) / 4
    assert serious(charged(everyone)).all()
    assert (everyone.disposal == "out_of_court").sum() > (base.disposal == "out_of_court").sum()
    with pytest.raises(ValueError, match="diversion share"):
        make_model(test_town, interventions=[Divert(1.5)], years=1).run()


class Carry:
    """Test double: multiply everyone's odds of starting to carry a knife by a factor."""

    def __init__(self, factor):
        self.factor = factor

    def apply(self, week, observed, levers):
        levers.scale_carrying(np.arange(observed.n), self.factor)


def test_the_carrying_lever_moves_who_starts_to_carry_and_nothing_at_one(test_town):
    carriers = {}
    for name, iv in (("base", []), ("one", [Carry(1.0)]), ("more", [Carry(4.0)]),
                     ("fewer", [Carry(0.25)])):  # fmt: skip
        m = make_model(test_town, interventions=iv, seed=2, years=2)
        m.run()
        carriers[name] = int(m.state.carrying.sum())
    assert carriers["one"] == carriers["base"]  # a factor of 1 changes nothing
    assert carriers["fewer"] < carriers["base"] < carriers["more"]
