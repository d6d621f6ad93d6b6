"""Population scale: per-capita weekly rates at s = 0.25 and s = 1 agree within sampling error."""

import numpy as np
from conftest import make_model
from scipy import stats


def test_per_capita_rates_agree_across_scales(test_town):
    """Weighted counts per represented person, summed over seeds. Under equal rates, the number
    of simulated incidents at s = 0.25 out of the total is Binomial(n, p0) with
    p0 = people(0.25) / (people(0.25) + people(1)); we require a two-sided p-value above 0.001
    (deterministic with fixed seeds; a real scaling error of 25% fails it)."""
    counts, people = {}, {}
    for s in (0.25, 1.0):
        counts[s], people[s] = 0, 0
        for seed in range(6):
            m = make_model(test_town, seed=100 + seed, population_scale=s, years=2)
            r = m.run()
            counts[s] += len(r.incidents)
            people[s] += m.initial_population
            # the weekly table carries the weight: its totals are per whole population
            total = r.weekly.loc[r.weekly.measure == "incidents_true", "value"].sum()
            assert np.isclose(total, len(r.incidents) / s)
    p0 = people[0.25] / (people[0.25] + people[1.0])
    n = counts[0.25] + counts[1.0]
    assert stats.binomtest(counts[0.25], n, p0).pvalue > 0.001
    rate = {s: counts[s] / people[s] for s in counts}
    assert abs(rate[0.25] / rate[1.0] - 1) < 0.25
