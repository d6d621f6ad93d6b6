"""The search on the synthetic problem (synthetic_problem.py): issue 19's acceptance check, the
greedy baseline it must beat, confirmation on replicates screening never saw, the reported
statistics, and the same answer when run again or resumed from saved screening results.

Noise against signal (measured over the 10 seeds on 400 further replicates): the true optimum is
worth £1.30m; the good mixes the search proposes (0.5% to 3% below it: £7k to £39k, 74 of them)
differ from it per replicate with an SD of £55k to £71k, 1.6 to 8.8 times their gaps and 2.1 to
2.7 times the 2% tolerance (£26k). Unpaired, one evaluation's SD is about £1.03m (79% of the
value); pairing removes the common shift, not each mix's own noise.
"""

from __future__ import annotations

import numpy as np
import pytest
from svsim.experiments.optimise.mix import Mix
from svsim.experiments.optimise.search import Design, Screening, confirm, optimise, screen
from synthetic_problem import BUDGET, Synthetic, problem, true_optimum, true_value

SEEDS = range(10)
_, BEST = true_optimum()


def design(seed: int) -> Design:
    """The defaults (8 screening replicates, 40 fresh ones to confirm); the synthetic evaluator
    counts each pound a year at exactly 1 in net benefit."""
    return Design(seed=seed, cost_per_pound=1.0)


def greedy_on_screening_means(screening: Screening) -> np.ndarray:
    """Spend the budget a screened step at a time on the step of best screening-mean gain per
    pound, without fitted curves or confirmation (the naive use of the same screening runs)."""
    gains = (screening.values[1:] - screening.values[0]).mean(axis=1)
    steps = screening.amounts[1:]
    n = steps.shape[1]
    levels = [(steps[steps[:, i] > 0, i], gains[steps[:, i] > 0]) for i in range(n)]
    at, spent = [-1] * n, 0.0
    while True:
        moves = []
        for i, (amounts, gain) in enumerate(levels):
            if at[i] + 1 < len(amounts):
                x0, g0 = (amounts[at[i]], gain[at[i]]) if at[i] >= 0 else (0.0, 0.0)
                dx, dg = amounts[at[i] + 1] - x0, gain[at[i] + 1] - g0
                if spent + dx <= BUDGET and dg > 0:
                    moves.append((dg / dx, i, dx))
        if not moves:
            return np.array([levels[i][0][at[i]] if at[i] >= 0 else 0.0 for i in range(n)])
        _, i, dx = max(moves)
        at[i], spent = at[i] + 1, spent + dx


@pytest.fixture(scope="module")
def runs() -> list[tuple]:
    """Per seed: the search's result, its recommendation's true value, the greedy's, and the true
    value of the candidate with the best screening mean, each as a share of the true optimum."""
    out = []
    for seed in SEEDS:
        evaluator = Synthetic(seed)
        result = optimise(problem(), evaluator, design(seed))
        found = [r.mix for r in result.rows if r.role == "candidate"]
        by_screening = found[
            int(np.argmax(evaluator.evaluate(found, design(seed).screening).mean(1)))
        ]
        shares = [true_value(m) / BEST for m in (result.recommended.array,
                  greedy_on_screening_means(result.screening), by_screening.array)]  # fmt: skip
        out.append((result, *shares))
    return out


def test_the_chosen_mix_is_within_2_percent_of_the_true_optimum_in_9_of_10_seeds(runs):
    chosen = np.array([r[1] for r in runs])
    assert (chosen >= 0.98).sum() >= 9, chosen.round(4)
    assert chosen.min() > 0.9  # and the worst seed is no disaster


def test_greedy_allocation_on_screening_means_does_measurably_worse(runs):
    """The same screening runs, spent greedily on their means: worse in every seed, by far more
    than its seed-to-seed spread (a paired t statistic above 5); with the exact means the same
    greedy steps would be within 2%, so the loss is the noise's, not the coarse steps'."""
    chosen, greedy = np.array([r[1] for r in runs]), np.array([r[2] for r in runs])
    assert (greedy >= 0.98).sum() <= (chosen >= 0.98).sum() - 5, greedy.round(4)
    d = chosen - greedy
    assert (d > 0).all() and d.mean() / (d.std(ddof=1) / np.sqrt(len(d))) > 5, d.round(4)
    exact = runs[0][0].screening
    exact = Screening(exact.replicates, exact.amounts, true_value(exact.amounts)[:, None] + [0, 0])
    assert true_value(greedy_on_screening_means(exact)) / BEST >= 0.98


def test_confirmation_uses_only_replicates_screening_never_saw():
    seen = []

    class Recording(Synthetic):
        def evaluate(self, mixes, replicates):
            seen.append(tuple(replicates))
            return super().evaluate(mixes, replicates)

    d = design(3)
    optimise(problem(), Recording(3), d)
    assert seen == [d.screening, d.confirmation]
    assert not set(d.screening) & set(d.confirmation)


def test_reported_values_are_the_confirmation_values(runs):
    result = runs[0][0]
    values = result.values
    assert values.shape == (len(result.rows), 40)
    for j, row in enumerate(result.rows):
        assert row.mean == pytest.approx(values[j].mean())
        assert row.p10 == pytest.approx(np.quantile(values[j], 0.1))
        assert row.regret == pytest.approx((values.max(axis=0) - values[j]).mean())
        assert row.regret >= 0 and 0 <= row.p_beats <= 1
    best = max(result.rows, key=lambda r: r.mean)
    assert best.mix == result.recommended and best.indistinguishable
    assert result.rows[-1].role == "comparator" and result.comparator.total == 0  # the baseline
    assert result.rows[0].p_beats == 1.0  # the curves' best beats spending nothing every time
    assert not all(r.indistinguishable for r in result.rows)  # dropping an option shows


def test_statistics_of_a_confirmation_by_hand():
    """Three mixes on 4 replicates: the second best by 1 on every replicate but one."""
    table = np.array([[10.0, 12.0, 11.0, 13.0], [9.0, 11.0, 10.0, 14.0], [0.0, 0.0, 0.0, 0.0]])

    class Fixed:
        def evaluate(self, mixes, replicates):
            return table

    p = problem()
    mixes = [Mix.of(p, np.eye(8)[i] * 30_000) for i in range(3)]
    d = Design(seed=0, screening=(0, 1), confirmation=(2, 3, 4, 5))
    _, rows, best = confirm(mixes[:2], mixes[2:], Fixed(), d)
    assert best == mixes[0]
    assert [r.mean for r in rows] == [11.5, 11.0, 0.0]
    assert [r.regret for r in rows] == [0.25, 0.75, 11.75]  # best per replicate: 10, 12, 11, 14
    assert [r.p_beats for r in rows] == [1.0, 1.0, 0.0]  # against the comparator (the third)
    assert rows[0].p10 == pytest.approx(10.3)  # numpy's linear quantile of 10, 11, 12, 13
    # shortfalls 1, 1, 1, -1: mean 0.5, sd 1, 90% t interval 0.5 -+ 2.353 / 2
    assert rows[1].gap_low == pytest.approx(0.5 - 2.3534 / 2, abs=1e-4)
    assert rows[1].gap_high == pytest.approx(0.5 + 2.3534 / 2, abs=1e-4)
    assert [r.indistinguishable for r in rows] == [True, True, False]


def test_same_seed_same_answer_and_a_resumed_search_agrees(runs, tmp_path):
    first = runs[4][0]
    again = optimise(problem(), Synthetic(4), design(4))
    assert again.recommended == first.recommended
    assert [r.mix for r in again.rows] == [r.mix for r in first.rows]
    assert np.array_equal(again.values, first.values)
    # interrupted after screening: the screening is saved, a fresh search takes it up
    path = tmp_path / "screening.npz"
    s = screen(problem(), Synthetic(4), design(4))
    np.savez(path, replicates=s.replicates, amounts=s.amounts, values=s.values)
    saved = np.load(path)
    loaded = Screening(
        tuple(int(r) for r in saved["replicates"]), saved["amounts"], saved["values"]
    )
    fresh = Synthetic(4)
    resumed = optimise(problem(), fresh, design(4), screening=loaded)
    assert resumed.recommended == first.recommended
    assert [r.mix for r in resumed.rows] == [r.mix for r in first.rows]
    assert fresh.calls == len(first.rows) * 40  # confirmation only: screening was not re-run
    # another seed's resamples give other candidates, from the same screening
    other = optimise(problem(), Synthetic(4), Design(seed=5, cost_per_pound=1.0), screening=loaded)
    assert [r.mix for r in other.rows] != [r.mix for r in first.rows]


def test_a_screening_of_another_design_or_a_bad_evaluator_is_refused(runs):
    s = runs[0][0].screening
    with pytest.raises(ValueError, match=r"^screening: was not made by this problem and design$"):
        optimise(problem(budget=200_000), Synthetic(0), design(0), screening=s)

    class Short:
        def evaluate(self, mixes, replicates):
            return np.zeros((len(mixes), len(replicates) - 1))

    with pytest.raises(ValueError, match=r"^evaluate=\(\d+, 7\): needs finite values \[\d+, 8\]$"):
        optimise(problem(), Short(), design(0))


def test_commitments_are_kept_and_comparators_confirmed():
    """Today's programme (option 3, the schools, at £60k) is kept in every mix it is offered."""
    p = problem(commitments=(0, 0, 0, 60_000, 0, 0, 0, 0))
    today = Mix(p, (40_000, 0, 0, 60_000, 0, 0, 0, 0))
    result = optimise(p, Synthetic(1), design(1), comparators=[today])
    assert result.comparator == today and result.rows[-1].mix == today
    for row in result.rows:
        x = row.mix.array
        assert x[3] >= 60_000 and x.sum() <= BUDGET
    assert result.recommended.array[3] >= 60_000
