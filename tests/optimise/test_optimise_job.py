"""`svsim optimise` on the model: options derived from the test town and the library (their
capacity is what delivery spends), a tiny end-to-end run writing every output, its recommended
mix run by `svsim compare`, a lost chunk recomputed to the same answer, bad input refused in one
line, and the same answer on SLURM (slow tier)."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import make_model, require_slurm, svsim, town_plan
from svsim.experiments import cli
from svsim.experiments.compare.compare import _load_library, load_prices
from svsim.experiments.config import CONF_DIR
from svsim.experiments.optimise import job
from svsim.experiments.optimise import options as op
from svsim.experiments.optimise.evaluate import cut_by_replicate
from svsim.scenarios.delivery import Portfolio, age_share
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import Allocation, Scenario

YEAR = 2024
CAPACITY = {
    k: yaml.safe_load((CONF_DIR / "optimise.yaml").read_text())[k]
    for k in ("minimum_people", "identified_per_year")
}
TINY = [
    "area=test_town",
    "years=1",
    "burn_in_years=1",
    "population_scale=0.25",
    "screening.population_scale=0.25",
    "screening.replicates=2",
    "screening.levels=3",
    "confirmation.replicates=3",
    "resamples=2",
    "frontier.levels=11",
    "chunks=2",
    "jobs=1",
    "interventions=[hot_spots_policing,mentoring]",
    "places=[[all]]",
    "budget=80000",
    "objective=serious_violence_averted",
]  # counts: the town is too small to repay money


@pytest.fixture(scope="module")
def town():
    from conftest import load_area

    return load_area("test_town"), _load_library(), load_prices()


def test_options_for_the_test_town_are_each_intervention_in_each_csp(town):
    area, library, prices = town
    sets = op.place_sets(area, None)
    assert sets == [("Northside",), ("Southside",)]
    derived, left_out = op.derive(area, library, prices, YEAR, sorted(library), sets, CAPACITY)
    got = {(d.option.intervention, d.option.places[0]): d.option for d in derived}
    by_place = [
        n for n, s in library.items() if s.unit != "participant" or s.mechanism == "engagement"
    ]
    assert all((n, p) in got for n in by_place for (p,) in sets)  # schools, places, workforce
    # people programmes find few in a town of 6,000: those below 10 a year are left out, said why
    assert len(left_out) == 2 * len(library) - len(derived) > 0
    assert all(" a year is below its minimum £" in line for line in left_out), left_out
    north = sum(c.population for c in area.communities if c.csp == "Northside")
    # places: one place-year per community of the CSP (3 in Northside), the minimum one
    assert (
        got["hot_spots_policing", "Northside"].minimum,
        got["hot_spots_policing", "Northside"].maximum,
    ) == (30_000, 90_000)
    # people: residents of its ages x the share found a year x unit cost; minimum 10 people
    m, spec = got["cbt_young_people", "Northside"], library["cbt_young_people"]
    cost = spec.unit_cost.value * prices.uprate(spec.unit_cost_price_year, YEAR)
    found = north * age_share(area, spec.ages) * CAPACITY["identified_per_year"]["referral"]
    assert m.minimum == pytest.approx(10 * cost, abs=1) and m.minimum.is_integer()
    assert m.maximum == pytest.approx(found * cost, abs=1) and m.maximum.is_integer()
    # workforce training: delivery's 1,000 practitioners
    t = got["trauma_informed_practice", "Southside"]
    assert t.maximum == np.ceil(1000 * library["trauma_informed_practice"].unit_cost.value)


@pytest.mark.parametrize(
    "name",
    ["social_skills_schools", "knife_crime_education", "hot_spots_policing", "safety_at_night"],
)
def test_capacity_is_what_delivery_spends(town, name):
    """Funded above its maximum, a school or place programme spends its maximum (to the pound
    rounded up) and no more: the capacity is the delivery rules', not a guess."""
    area, library, prices = town
    derived, _ = op.derive(area, library, prices, YEAR, [name], [("Northside",)], CAPACITY)
    option = derived[0].option
    alloc = Allocation(name, option.maximum + 50_000, ("Northside",), YEAR, YEAR)
    scenario = Scenario("s", "s", "", 1e9, YEAR, (alloc,), "")
    draws = draw_inputs(library, 1, 0, False)  # central unit costs
    portfolio = Portfolio(scenario, library, draws, area, prices, YEAR, 0.25, 1)
    model = make_model(area, interventions=[portfolio], burn_in_years=0, population_scale=0.25)
    model.step()
    spent = sum(row["spent"] for row in portfolio.spending())
    assert option.maximum - 1 < spent <= option.maximum


def test_an_option_that_cannot_reach_its_minimum_is_left_out_and_said_why(town):
    area, library, prices = town
    few = {**CAPACITY, "identified_per_year": {**CAPACITY["identified_per_year"], "referral": 1e-4}}
    derived, left_out = op.derive(area, library, prices, YEAR, ["mentoring"], [("Meadows",)], few)
    assert derived == [] and left_out[0].startswith("mentoring in Meadows: capacity £")


def test_interventions_reaching_the_model_mostly_through_assumptions_are_marked(town):
    """A strong study can reach the model mostly through assumed transfers: social skills
    training's effect owes 88% of its variance to them (antisocial behaviour at 4-11 to violent
    offending at 11-16), mentoring's 25%; the report counts the first, whatever its grade."""
    from types import SimpleNamespace

    _, library, _ = town
    names = sorted(library)
    options = [SimpleNamespace(intervention=n) for n in names]
    c = {"library": library, "problem": SimpleNamespace(options=options)}
    marked = dict(zip(names, job.assumed_options(c), strict=True))
    assert library["social_skills_schools"].evidence == "strong"
    assert marked["social_skills_schools"]
    assert not marked["mentoring"] and not marked["out_of_court_disposals"]
    assert marked["street_doctors"]  # no evidence: all of its effect's variance assumed


def test_today_is_among_the_options_and_can_be_committed(town):
    area, library, prices = town
    sets = [("all",)]
    derived, _ = op.derive(area, library, prices, YEAR, ["mentoring"], sets, CAPACITY)
    today = Scenario(
        "t",
        "t",
        "",
        30_000,
        YEAR,
        (
            Allocation("mentoring", 20_000, ("all",), YEAR, YEAR),
            Allocation("hot_spots_policing", 30_000, ("Old Town",), YEAR, YEAR),
        ),
        "",
    )
    derived, amounts = op.with_today(derived, today, area, library, prices, YEAR, CAPACITY)
    assert [d.option.label for d in derived] == [
        "mentoring in all",
        "hot_spots_policing in Old Town",
    ]
    assert amounts == (20_000, 30_000)
    problem = op.problem_of(derived, 80_000, amounts, commit=True)
    assert list(problem.lower) == [20_000, 30_000]
    with pytest.raises(ValueError, match=r"^budget=40000: is below the commitments' 50000$"):
        op.problem_of(derived, 40_000, amounts, commit=True)


@pytest.mark.parametrize(
    ("replicates", "mixes", "chunks"), [(8, 156, 50), (40, 17, 50), (3, 5, 2), (2, 7, 2), (2, 1, 9)]
)
def test_chunks_hold_whole_replicates_or_parts_of_one(replicates, mixes, chunks):
    cut = cut_by_replicate(replicates, mixes, chunks)
    assert cut[0][0] == 0 and cut[-1][1] == replicates * mixes and len(cut) <= chunks
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(cut))  # contiguous, every row once
    for a, b in cut:  # within one replicate, or whole ones
        assert a // mixes == (b - 1) // mixes or (a % mixes == 0 and b % mixes == 0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny optimisation of the test town, run once: its folder and its command."""
    tmp = tmp_path_factory.mktemp("optimise")
    today = town_plan(tmp, "Mentoring across the town.", 20_000, {"mentoring": 20_000})
    args = [*TINY, f"today={today}", "pareto=[admissions_averted]", f"out={tmp / 'opt'}"]
    r = svsim("optimise", *args)
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp / "opt", args, today


def test_a_tiny_optimisation_writes_every_output(tiny):
    out, _, _ = tiny
    a = out / "analysis"
    for name in (
        "recommended.yaml",
        "candidates.csv",
        "frontier.csv",
        "options.csv",
        "curves.csv",
        "evidence.csv",
        "pareto.csv",
        "report.md",
        "manifest.json",
    ):
        assert (a / name).is_file(), name
    cand = pd.read_csv(a / "candidates.csv")
    for col in (
        "mean",
        "p10",
        "p_beats_today",
        "regret",
        "indistinguishable",
        "weak_or_no_evidence_share",
        "assumed_transfer_share",
        "vs_today_low",
        "vs_today_high",
    ):
        assert col in cand.columns, col
    assert list(cand.role.unique()) == ["candidate", "comparator"]
    assert cand.name.iloc[-2] == "today (town_plan)" and cand.recommended.sum() >= 1
    best = cand[cand.recommended].iloc[0]
    assert best["mean"] == cand["mean"].max()
    front = pd.read_csv(a / "frontier.csv")
    assert list(front.budget) == list(np.linspace(0, 160_000, 11))  # 0 to twice the budget
    assert (front.step == 10_000).all()
    report = (a / "report.md").read_text()
    assert report.startswith("# The best mix for £80,000 a year: Test town")
    assert "## The decision" in report and "Indistinguishable from the recommended" in report
    assert "evidence: not estimated: 3 confirmation replicates" in report  # too few draws
    pareto = pd.read_csv(a / "pareto.csv")
    assert len(pareto) == len(cand) and pareto.pareto.any()
    for obj in ("serious_violence_averted", "admissions_averted"):
        assert (pareto[f"{obj}_low"] <= pareto[obj]).all() and (
            pareto[obj] <= pareto[f"{obj}_high"]
        ).all()
    assert np.allclose(pareto.serious_violence_averted, cand["mean"])  # the same confirmation
    assert "The Pareto set on the confirmation means" in report
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["job"] == "optimise" and set(manifest["seconds"]) == {
        "screening",
        "confirmation",
    }
    # the confirmation replicates are fresh: numbered from 100000, never screened
    conf = pd.concat(pd.read_csv(p) for p in out.glob("confirmation/chunks/*/values.csv"))
    assert sorted(conf.replicate.unique()) == [100_000, 100_001, 100_002]


def test_the_recommended_mix_is_a_scenario_compare_runs(tiny, tmp_path):
    out, _, today = tiny
    rec = out / "analysis" / "recommended.yaml"
    data = yaml.safe_load(rec.read_text())
    cand = pd.read_csv(out / "analysis" / "candidates.csv")
    best = cand[cand.recommended].iloc[0]
    funded = {
        f"{a['intervention']} in {', '.join(a['places'])}": a["amount_per_year"]
        for a in data["allocations"]
    }
    labels = [c for c in cand.columns if " in " in c]
    assert funded == {k: best[k] for k in labels if best[k] > 0}
    r = svsim(
        "compare",
        "area=test_town",
        "years=1",
        "burn_in_years=1",
        "population_scale=0.25",
        "replicates=2",
        "jobs=1",
        f"scenarios=[{today},{rec}]",
        "comparator=town_plan",
        f"out={tmp_path / 'cmp'}",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "optimised" in set(pd.read_csv(tmp_path / "cmp" / "economics.csv").scenario)


def test_a_lost_chunk_is_recomputed_to_the_same_answer(tiny):
    out, args, _ = tiny
    before = {n: (out / "analysis" / n).read_text() for n in ("recommended.yaml", "candidates.csv")}
    kept = json.loads((out / "screening/chunks/chunk-0000/manifest.json").read_text())
    shutil.rmtree(out / "confirmation" / "chunks" / "chunk-0001")
    r = svsim("optimise", *args)
    assert r.returncode == 0, r.stderr[-3000:]
    again = json.loads((out / "screening/chunks/chunk-0000/manifest.json").read_text())
    assert again["launch"] == kept["launch"]  # not re-run
    assert (out / "confirmation/chunks/chunk-0001/manifest.json").is_file()
    for name, text in before.items():
        assert (out / "analysis" / name).read_text() == text, name


BAD = [
    (["budget=-1"], "budget=-1: must be a finite number in [0, 10000000000]"),
    (["objective=most"], "objective='most': must be one of net_social_benefit"),
    (["interventions=[nope]"], "interventions: unknown intervention 'nope'"),
    (["places=[[Nowhere]]"], "places[0]='Nowhere': is not a community or CSP of this area"),
    (["confirmation.replicates=1"], "confirmation.replicates=1: must be a whole number in"),
    (["today=missing_plan"], "scenarios: unknown scenario 'missing_plan'"),
    (["shares=[{tier:fourth}]"], "shares[0].tier='fourth': must be one of primary, secondary"),
    (["pareto=[net_social_benefit]"], "pareto='net_social_benefit': must be one of"),
    (["pareto=[most]"], "pareto='most': must be one of net_social_benefit"),
    (["shares=[{csp:Northside,min:0.9,max:0.1}]"], "shares[0]: shares[csp Northside].low=0.9"),
]


@pytest.mark.parametrize(("words", "expected"), BAD, ids=[e for _, e in BAD])
def test_bad_input_is_one_line_and_writes_nothing(capsys, tmp_path, words, expected):
    code = cli.main(
        ["optimise", "area=test_town", "today=no_new_funding", *words, f"out={tmp_path / 'o'}"]
    )
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"svsim optimise: error: {expected}"), err
    assert not (tmp_path / "o").exists()


def test_commitments_above_the_budget_are_refused(capsys, tmp_path):
    today = town_plan(tmp_path, "Mentoring.", 50_000, {"mentoring": 50_000})
    code = cli.main(
        [
            "optimise",
            "area=test_town",
            f"today={today}",
            "commit_today=true",
            "budget=40000",
            f"out={tmp_path / 'o'}",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == [
        "svsim optimise: error: budget=40000: is below the commitments' 50000"
    ]


@pytest.mark.slow
def test_optimise_on_slurm_gives_the_local_answer(tiny, tmp_path):
    """The same tiny optimisation as SLURM array jobs: every chunk has a job id, and the
    recommendation and confirmation table are the local run's."""
    require_slurm()
    local, args, _ = tiny
    cluster = tmp_path / "slurm"
    slurm = [
        "hydra/launcher=submitit_slurm",
        "hydra.launcher.partition=debug",
        "hydra.launcher.timeout_min=20",
        "hydra.launcher.mem_gb=1",
    ]
    r = svsim(
        "optimise",
        *[a for a in args if not a.startswith("out=")],
        f"out={cluster}",
        *slurm,
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    manifests = [json.loads(p.read_text()) for p in cluster.glob("*/chunks/*/manifest.json")]
    assert len(manifests) == 4 and all(m["slurm_job_id"] for m in manifests), manifests
    for name in ("recommended.yaml", "candidates.csv", "frontier.csv"):
        assert (cluster / "analysis" / name).read_text() == (local / "analysis" / name).read_text()


def test_the_evidence_that_would_change_the_recommendation_is_found(tmp_path):
    """Confirmation values where mentoring's mix beats today's programmes only when mentoring's
    drawn estimate is favourable: its effect inputs carry the value of information, hot spots'
    inputs (funded by a rival mix, but never deciding) no more than the noise floor."""
    from svsim.experiments.compare.compare import replicate_inputs
    from svsim.experiments.optimise.mix import Mix
    from svsim.experiments.optimise.search import Confirmed, Result

    c = job.configure([*TINY, "today=no_new_funding", "confirmation.replicates=150",
                       "budget=300000", f"out={tmp_path / 'o'}"])  # fmt: skip
    p, reps, s = c["problem"], c["design"].confirmation, c["settings"]
    cmp = c["compare"]
    draws = [draw_inputs(cmp.library, s["seed"], r, s["uncertainty"]) for r in reps]
    x = pd.DataFrame(
        [replicate_inputs(cmp, r, d, {"mentoring"}) for r, d in zip(reps, draws, strict=True)]
    )["mentoring.estimate"].to_numpy()
    z = (x - x.mean()) / x.std()
    rng = np.random.default_rng(5)

    def only(name: str) -> Mix:  # the named intervention at its minimum, nothing else
        return Mix.of(p, [o.minimum * (o.intervention == name) for o in p.options])

    mentoring, hot_spots, today = only("mentoring"), only("hot_spots_policing"), only("")
    values = np.vstack([-1_000 * z + 100, np.full(len(reps), -50.0), np.zeros(len(reps))])
    values = values + rng.normal(0, 300, values.shape)
    roles = ("candidate", "candidate", "comparator")
    rows = tuple(
        Confirmed(m, role, float(v.mean()), 0, 0, 0, 0, 0, False)
        for m, role, v in zip((mentoring, hot_spots, today), roles, values, strict=True)
    )
    result = Result(mentoring, rows, today, None, None, values)
    table, summary = job.evidence_sensitivity(c, result, ["today", "nothing"])
    assert summary["computed"] and summary["draws"] == 150
    assert summary["options"] == ["today", "candidate-01", "candidate-02"]
    inputs = table[table.kind == "input"].set_index("input")
    assert inputs.evppi.idxmax() == "mentoring.estimate"
    assert inputs.loc["mentoring.estimate", "low"] > summary["noise_floor"]
    hot = inputs[inputs.index.str.startswith("hot_spots_policing.")]
    assert len(hot) and (hot.evppi < inputs.loc["mentoring.estimate", "low"]).all()


def test_an_evppi_above_the_evpi_is_called_an_upper_bound():
    """A partial value of information cannot exceed the whole; when the regressions say it
    does (too few replicates), the report says so instead of ranking inputs on it."""
    import pandas as pd
    from svsim.experiments.optimise.report import overstated

    top = pd.DataFrame({"input": ["a", "b", "c"], "evppi": [361_000.0, 70_000.0, 10.0]})
    said = overstated(top, {"evpi": 69_629.0})
    assert said.startswith(" 2 of these 3 exceed") and "upper bounds" in said
    assert overstated(top, {"evpi": 400_000.0}) == ""
