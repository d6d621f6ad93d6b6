"""Forks of a burned-in model (one per scenario) share each year's peer network, and sharing it
changes no result."""

import copy

import numpy as np
from conftest import make_model


class Harm:
    """Test double: a harmful lever, +50% hazard for everyone aged 12-30, every week."""

    def apply(self, week, observed, levers):
        age = observed.age
        levers.scale_hazard(np.flatnonzero((age >= 12) & (age < 30)), 1.5)


def _project(model, interventions):
    model.interventions = list(interventions)
    while model.week < model.total_weeks:
        model.step()
    return model


def test_forks_share_each_years_network_and_match_a_run_that_builds_its_own(test_town):
    base = make_model(test_town, years=2, burn_in_years=1)
    while base.week < base.burn_in_weeks:
        base.step()
    alone = _project(copy.deepcopy(base), [Harm()])  # no sharing: builds every year's network
    assert base._shared is None
    first = _project(base.fork(), [])
    second = _project(base.fork(), [Harm()])
    assert sorted(base._shared) == [1, 2]  # the projection's two years, built once
    assert second.network is first.network
    assert (second.network != alone.network).nnz == 0
    # the harmful lever changed what happened, so the equality below is not trivial
    assert (second._weekly != first._weekly).any()
    np.testing.assert_array_equal(second._weekly, alone._weekly)
    np.testing.assert_array_equal(second.state.killed_week, alone.state.killed_week)


def test_a_dropped_fork_is_freed_before_the_next_is_made(test_town):
    """A model is a reference cycle, so a fork its caller dropped lives until the cyclic
    collector runs; fork() collects first, so a replicate's forks are never alive together
    (at scale 1 seven of them were 2.5 GB)."""
    import gc
    import weakref

    base = make_model(test_town, years=1, burn_in_years=1)
    while base.week < base.burn_in_weeks:
        base.step()
    gc.disable()  # when the automatic collector runs is luck; fork() must not rely on it
    try:
        first = _project(base.fork(), [])
        gone = weakref.ref(first)
        del first
        assert gone() is not None  # still alive: only the cyclic collector can free it
        second = base.fork()
        assert gone() is None
    finally:
        gc.enable()
    assert second.week == base.week
