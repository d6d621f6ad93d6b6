"""svsim sweep: a grid through the chunk machinery; killed half-way, a re-run computes only the
missing chunks; sweeps over scenarios (files by path) labelled right; every bad grid value refused
in one line before anything is written."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SVSIM, manifests, town_plan
from svsim.experiments import chunks as ch
from svsim.experiments import cli
from svsim.experiments.analysis import sweep


def args(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    plan = town_plan(tmp_path, "Mentoring across the test town.", 200000, {"mentoring": 200000})
    return [
        "sweep",
        "area=test_town",
        "comparator=no_new_funding",
        f"alternative={plan}",
        "grid={budget_scale:[0.5,1,2],params.offending.exposure_log_rr:[0.3,0.6]}",
        "replicates=2",
        "years=1",
        "burn_in_years=1",
        "population_scale=1",
        "chunks=6",
        "jobs=1",
        f"out={out}",
        *extra,
    ]


def test_killed_half_way_a_rerun_computes_only_the_missing_chunks(tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.Popen(
        [*SVSIM, *args(tmp_path, out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline and len(manifests(out)) < 2 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the job, its launcher and its workers
    proc.wait()
    first = {m["chunk"]: m["launch"] for m in manifests(out)}
    assert 1 <= len(first) < 6, first
    assert not (out / "analysis").exists()

    r = subprocess.run([*SVSIM, *args(tmp_path, out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    after = {m["chunk"]: m["launch"] for m in manifests(out)}
    assert len(after) == 6
    assert {c: after[c] for c in first} == first  # finished chunks were not recomputed
    new = [c for c in after if c not in first]
    assert len(new) == 6 - len(first)
    assert len({after[c] for c in new}) == 1  # all computed by the second launch

    table = pd.read_csv(out / "analysis" / "sweep.csv")
    assert sorted(table.point.unique()) == list(range(6))
    assert {"budget_scale", "params.offending.exposure_log_rr", "measure", "averted_mean"} <= set(
        table.columns
    )
    econ = pd.read_csv(out / "analysis" / "economics.csv")
    assert len(econ) == 6 and "net_benefit_pv_mean" in econ
    assert (out / "analysis" / "sweep.png").stat().st_size > 1000
    # more money, more spending: the budget scale reaches the scenario
    spend = econ.groupby("budget_scale").spend_pv_mean.mean()
    assert spend[0.5] < spend[1] < spend[2]


@pytest.mark.parametrize(
    "extra, names",
    [
        (["grid={params.offending.no_such:[1,2]}"], "grid.params.offending.no_such=1: not a model"),
        (["grid={params.offending:[1]}"], "grid.params.offending=1: not a model parameter"),
        (["grid={budget_scale:[]}"], "grid.budget_scale=[]"),
        (["grid={budget_scale:[-1]}"], "grid.budget_scale=-1: must be a finite number >= 0"),
        (["grid={budget_scale:[1,nan]}"], "grid.budget_scale=nan: must be a finite number >= 0"),
        (["grid={budget_scale:[inf]}"], "grid.budget_scale=inf: must be a finite number >= 0"),
        (["grid={budget_scale:[half]}"], "grid.budget_scale='half': must be a finite number"),
        (["points=[{budget_scale:1},{budget_scale:nan}]"], "points[1].budget_scale=nan: must"),
        (["grid={params.offending.trauma_log_rr:[nan]}"], "trauma_log_rr=nan: must be a finite"),
        (["grid={params.offending.trauma_log_rr:[0.2,-5]}"], "trauma_log_rr=-5: must be in"),
        (["grid={scenario:[no_such]}"], "grid.scenario='no_such': unknown scenario 'no_such'"),
        (["grid={scenario:[no/such.yaml]}"], "grid.scenario='no/such.yaml': "),
        (["grid={uncertainty:[maybe]}"], "grid.uncertainty='maybe': must be true or false"),
        (["grid={scenarios:[[no_new_funding]]}"], "grid.scenarios=['no_new_funding']: sweep"),
        (["replicates=1"], "replicates=1"),
    ],
)
def test_bad_sweeps_are_refused_with_one_line(tmp_path, capsys, extra, names):
    """Each refused before any chunk runs: one line naming the field and value, exit code 2,
    no folder."""
    out = tmp_path / "bad"
    assert cli.main(args(tmp_path, out, *extra)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], lines
    assert not out.exists()


def two_plans(tmp_path: Path, monkeypatch) -> list[str]:
    """Two scenario files for the test town, named by relative paths from tmp_path: mentoring
    at 200,000 a year and CBT at 100,000 (different money, so a mislabelled row shows)."""
    monkeypatch.chdir(tmp_path)
    paths = []
    for name, intervention, amount in (
        ("mentor", "mentoring", 200000),
        ("cbt", "cbt_young_people", 100000),
    ):
        folder = tmp_path / name
        folder.mkdir()
        plan = town_plan(folder, f"{name} across the test town.", amount, {intervention: amount})
        plan.rename(folder / f"{name}.yaml")  # both files say name: town_plan; the path labels
        paths.append(f"{name}/{name}.yaml")
    return paths


def run_in_process(out: Path, grid: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small sweep on the test town, its chunks run here by the chunk job's own code (no
    launcher, to keep the fast tier fast); (sweep.csv, economics.csv)."""
    overrides = [
        "area=test_town", "comparator=no_new_funding", grid, "replicates=2", "years=1",
        "burn_in_years=1", "population_scale=1", "chunks=1", f"out={out}", "stage=prepare",
    ]  # fmt: skip
    assert sweep.main(overrides) == 0
    for i in range(len(ch.load_design(out)[0]["chunks"])):
        ch.run_chunk(out, i)
    target = sweep.analyze(out)
    return pd.read_csv(target / "sweep.csv"), pd.read_csv(target / "economics.csv")


def test_a_sweep_over_two_scenarios_gives_each_its_own_labelled_row(tmp_path, monkeypatch):
    """grid={scenario:[...]} with scenario files by path: one row per scenario, labelled by its
    file, and their results differ (the grid key stands for the results' scenario column)."""
    mentor, cbt = two_plans(tmp_path, monkeypatch)
    summary, econ = run_in_process(tmp_path / "sweep", f"grid={{scenario:[{mentor},{cbt}]}}")
    assert list(econ.columns[:3]) == ["point", "scenario", "comparator"]
    assert list(zip(econ.point, econ.scenario, strict=True)) == [(0, "mentor"), (1, "cbt")]
    assert set(econ.comparator) == {"no_new_funding"}
    assert summary.groupby("point").scenario.unique().map(list).tolist() == [["mentor"], ["cbt"]]
    by = econ.set_index("scenario")
    assert by.allocated_pv_mean["mentor"] == pytest.approx(2 * by.allocated_pv_mean["cbt"])
    assert by.harm_averted_pv_mean["mentor"] != by.harm_averted_pv_mean["cbt"]


def test_the_readme_sweep_over_budget_scale_and_scenario_has_a_row_per_cell(tmp_path, monkeypatch):
    """The README's grid={budget_scale:[...],scenario:[...]} on the test town: one row per cell,
    each scenario's money scaled by its own cell's budget scale."""
    mentor, cbt = two_plans(tmp_path, monkeypatch)
    grid = f"grid={{budget_scale:[0.5,1],scenario:[{mentor},{cbt}]}}"
    summary, econ = run_in_process(tmp_path / "sweep", grid)
    assert list(econ.columns[:3]) == ["point", "budget_scale", "scenario"]
    cells = list(zip(econ.budget_scale, econ.scenario, strict=True))
    assert cells == [(0.5, "mentor"), (0.5, "cbt"), (1.0, "mentor"), (1.0, "cbt")]
    assert len(summary) == 4 * summary.measure.nunique()
    money = econ.set_index(["scenario", "budget_scale"]).allocated_pv_mean
    assert money["mentor", 0.5] == pytest.approx(money["cbt", 1.0])
    assert money["mentor", 1.0] == pytest.approx(2 * money["mentor", 0.5])
    assert money["cbt", 1.0] == pytest.approx(2 * money["cbt", 0.5])
