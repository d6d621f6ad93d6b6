"""svsim sweep: a grid through the chunk machinery; killed half-way, a re-run computes only the
missing chunks; bad input refused."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import SVSIM, manifests, town_plan


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
        (["grid={params.offending.no_such:[1,2]}"], "params.offending.no_such"),
        (["grid={budget_scale:[]}"], "grid.budget_scale"),
        (["grid={budget_scale:[-1]}"], "budget_scale=-1"),
        (["replicates=1"], "replicates=1"),
    ],
)
def test_bad_sweeps_are_refused_with_one_line(tmp_path, extra, names):
    out = tmp_path / "bad"
    r = subprocess.run(
        [*SVSIM, *args(tmp_path, out, *extra)], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], r.stderr
    assert not out.exists()


def test_a_sweep_over_scenarios_runs_as_the_readme_shows(tmp_path):
    """grid={scenario:[...]} (the README's example, here on the test town): one row per
    scenario and budget scale, each labelled by its point, none failed."""
    plans = []
    for name, amount in (("mentor", 150000), ("cbt", 150000)):
        folder = tmp_path / name
        folder.mkdir()
        plan = town_plan(folder, f"{name} across the test town.", 200000, {"mentoring": amount})
        plans.append(plan.rename(folder / f"{name}.yaml"))
    out = tmp_path / "sweep"
    r = subprocess.run(
        [*SVSIM, "sweep", "area=test_town", "comparator=no_new_funding",
         f"alternative={plans[0]}",
         f"grid={{budget_scale:[0.5,1],scenario:[{plans[0]},{plans[1]}]}}",
         "replicates=2", "years=1", "burn_in_years=1", "chunks=2", "jobs=1", f"out={out}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    table = pd.read_csv(out / "analysis" / "economics.csv")
    assert sorted(zip(table.scenario, table.budget_scale, strict=True)) == [
        ("cbt", 0.5),
        ("cbt", 1.0),
        ("mentor", 0.5),
        ("mentor", 1.0),
    ]
