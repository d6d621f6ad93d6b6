"""The svsim command: help answers fast; bad input gets one line, exit 2, no run folder."""

import json
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import REPO, svsim


def test_help_lists_jobs_fast():
    start = time.perf_counter()
    r = svsim("--help")
    assert r.returncode == 0
    for job in (
        "run",
        "bench",
        "compare",
        "calibrate",
        "validate",
        "sensitivity",
        "sweep",
        "workshop",
    ):
        assert job in r.stdout
    assert time.perf_counter() - start < 10  # generous: an interpreter start, no heavy imports
    assert (
        "mesa"
        not in subprocess.run(
            [sys.executable, "-c", "import sys, svsim.experiments.cli; print(list(sys.modules))"],
            capture_output=True,
            text=True,
        ).stdout
    )


def test_run_writes_a_complete_folder_and_is_reproducible(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        r = svsim("run", "area=test_town", "years=2", "seed=1", f"out={out}")
        assert r.returncode == 0, r.stderr
        outs.append(out)
    for f in ("weekly.parquet", "incidents.parquet"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes()
    manifest = json.loads((outs[0] / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["seed"] == 1
    assert manifest["population_scale"] == 1.0 and manifest["versions"]["mesa"]
    assert (outs[0] / "config.yaml").read_text().startswith("area:")
    weekly = pd.read_parquet(outs[0] / "weekly.parquet")
    n_groups = 5 * 8 * 2  # communities x age bands x sexes, zero rows kept
    assert len(weekly) == 104 * n_groups * weekly["measure"].nunique()
    inc = pd.read_parquet(outs[0] / "incidents.parquet")
    assert {
        "week",
        "offender",
        "victim",
        "setting",
        "weapon",
        "severity",
        "recorded",
        "weight",
        "community",
        "csp",
    } <= set(inc.columns)


def test_run_funds_a_scenario_and_writes_its_spending(tmp_path):
    """`funding=` puts a scenario's delivery on the hook: its spending is written and the
    projection differs from the same seed with nothing funded."""
    from conftest import town_plan

    plan = town_plan(tmp_path, "Mentoring and hot spots.", 300000,
                     {"mentoring": 150000, "hot_spots_policing": 150000})  # fmt: skip
    weekly = {}
    for name, extra in (("plan", [f"funding={plan}"]), ("none", [])):
        out = tmp_path / name
        r = svsim("run", "area=test_town", "years=2", "seed=3", f"out={out}", *extra)
        assert r.returncode == 0, r.stderr
        weekly[name] = pd.read_parquet(out / "weekly.parquet")
    manifest = json.loads((tmp_path / "plan" / "manifest.json").read_text())
    assert manifest["scenario"] == "town_plan"
    spend = pd.read_csv(tmp_path / "plan" / "spend.csv")
    assert set(spend.intervention) == {"mentoring", "hot_spots_policing"}
    assert (spend.spent > 0).all() and (spend.spent <= spend.budget).all()
    assert not (tmp_path / "none" / "spend.csv").exists()
    assert not weekly["plan"]["value"].equals(weekly["none"]["value"])


BAD = [
    (["area=atlantis"], "area='atlantis'"),
    (["area=test_town", "years=0"], "years=0"),
    (["area=test_town", "years=-2"], "years=-2"),
    (["area=test_town", "population_scale=0"], "population_scale=0"),
    (["area=test_town", "population_scale=1.5"], "population_scale=1.5"),
    (["area=test_town", "params.justice.arrest_prob=1.2"], "params.justice.arrest_prob=1.2"),
    (["area=test_town", "params.severity.knife_prob=-0.1"], "params.severity.knife_prob=-0.1"),
    (["area=test_town", "params.network.mean_degree=2000"], "params.network.mean_degree=2000"),
    (["area=test_town", "params.offending.no_such=1"], "params.offending.no_such"),
    (["area=test_town", "seed=abc"], "seed='abc'"),
    (["area=test_town", "funding=nonesuch"], "funding: unknown scenario 'nonesuch'"),
]


@pytest.mark.parametrize(("args", "names"), BAD)
def test_bad_input_is_refused_in_one_line(tmp_path, args, names):
    out = tmp_path / "run"
    r = svsim("run", *args, f"out={out}")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (lambda t: t.replace("population: 1500", "population: -1500"), "population=-1500"),
        (lambda t: t.replace("deprivation: 0.8", "deprivation: 1.8"), "deprivation=1.8"),
        (lambda t: t.replace('label: "Test town (made up)"', 'label: " "'), "area.label=' '"),
        (lambda t: t.replace("  - {name: Old Town", "  - {name: Old Town: ["), "not valid YAML"),
        (
            lambda t: t.replace(
                "csp: Southside, population: 1400", "csp: Nowhere, population: 1400"
            ),
            "csp='Nowhere'",
        ),
    ],
)
def test_bad_area_files_are_refused(tmp_path, edit, names):
    area = tmp_path / "area.yaml"
    area.write_text(edit((REPO / "conf" / "area" / "test_town.yaml").read_text()))
    out = tmp_path / "out"
    r = svsim("run", f"area={area}", f"out={out}")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], r.stderr
    assert not out.exists() and not list(tmp_path.glob(".out*"))


@pytest.mark.parametrize(
    "job",
    [
        ["run", "area=test_town", "years=1"],
        # jobs that run long before they write: refused first, or these would take hours
        ["validate", "years=1", "members=100000"],
        ["calibrate", "years=1", "waves=[100000]"],
    ],
    ids=lambda job: job[0],
)
def test_existing_out_folder_is_refused_before_any_work(tmp_path, job):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = [a.format(tmp=tmp_path) for a in job]
    r = svsim(*args, f"out={out}")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0], r.stderr
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no temporary left
