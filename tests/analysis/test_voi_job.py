"""svsim voi: draws are compare's replicates (same economics and inputs, common random numbers),
the job resumes chunk by chunk, its export is the tidy draw x scenario table R reads, and R's
mgcv recomputes its EVPPIs (slow tier)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import manifests, require_tool, svsim

DRAWS = 10
COMMON = ["area=test_town", "years=1", "burn_in_years=1", "population_scale=1", "seed=3"]


def plan(folder: Path, name: str, allocations: dict) -> Path:
    """A scenario file for the test town: each intervention's amount a year, the whole town."""
    lines = [f"name: {name}", f"label: {name}", "description: For tests.",
             "budget_per_year: 300000", "price_year: 2024", "allocations:"]  # fmt: skip
    for what, amount in allocations.items():
        lines.append(f"  - {{intervention: {what}, amount_per_year: {amount}, places: [all], "
                     "start_year: 2024, end_year: 2028}")  # fmt: skip
    path = folder / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def plans(folder: Path) -> str:
    """Two plans for the test town after the comparator, as a scenarios override."""
    a = plan(folder, "mentor_cbt", {"mentoring": 150000, "cbt_young_people": 150000})
    b = plan(folder, "deterrence", {"focused_deterrence": 300000})
    return f"scenarios=[no_new_funding,{a},{b}]"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A voi job of DRAWS draws in 2 chunks, and a compare of the same replicates."""
    tmp = tmp_path_factory.mktemp("voi")
    scen = plans(tmp)
    out = tmp / "voi"
    r = svsim("voi", *COMMON, scen, "comparator=no_new_funding", f"draws={DRAWS}", "chunks=2",
              "jobs=1", "boot=10", f"out={out}")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    cmp = tmp / "cmp"
    r = svsim("compare", *COMMON, scen, "comparator=no_new_funding", f"replicates={DRAWS}",
              "jobs=1", f"out={cmp}")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp, out, cmp


def test_each_draw_is_the_compare_replicate_of_the_same_number(runs):
    _, out, cmp = runs
    psa = pd.read_csv(out / "analysis" / "psa.csv")
    econ = pd.read_csv(cmp / "economics_by_replicate.csv")
    merged = econ.merge(psa, left_on=["scenario", "replicate"], right_on=["scenario", "draw"])
    assert len(merged) == len(econ) == DRAWS * 2
    np.testing.assert_allclose(merged.harm_averted_pv, merged.harm_averted, rtol=1e-9)
    np.testing.assert_allclose(merged.spend_pv, merged.cost, rtol=1e-9)
    inputs = pd.read_csv(cmp / "inputs.csv").set_index("replicate")
    drawn = psa.groupby("draw").first().filter(like="input.")
    drawn.columns = [c.removeprefix("input.") for c in drawn.columns]
    pd.testing.assert_frame_equal(
        drawn.sort_index(axis=1), inputs.sort_index(axis=1), check_names=False
    )


def test_export_is_one_row_per_draw_and_scenario_with_every_input(runs):
    _, out, _ = runs
    psa = pd.read_csv(out / "analysis" / "psa.csv")
    assert len(psa) == DRAWS * 3
    assert list(psa.columns[:8]) == ["draw", "scenario", "cost", "harm_averted",
        "admissions_averted", "homicides_averted", "violence_with_injury_averted",
        "net_benefit"]  # fmt: skip
    comp = psa[psa.scenario == "no_new_funding"]
    assert (comp[["cost", "harm_averted", "net_benefit"]] == 0).all().all()
    np.testing.assert_allclose(psa.net_benefit, psa.harm_averted - psa.cost)
    ins = [c for c in psa.columns if c.startswith("input.")]
    assert {"input.mentoring.estimate", "input.mentoring.setting", "input.cbt_young_people.outcome",
            "input.focused_deterrence.unit_cost"} <= set(ins)  # fmt: skip
    # the inputs are the draw's, the same on every scenario's row
    assert (psa.groupby("draw")[ins].nunique() == 1).all().all()
    summary = json.loads((out / "analysis" / "summary.json").read_text())
    assert summary["draws"] == DRAWS and summary["options"][0] == "no_new_funding"
    # ten draws are too few to estimate anything: said, not estimated (scenarios/voi.py)
    assert summary["computed"] is False and "at least 100" in summary["reason"]
    assert pd.read_csv(out / "analysis" / "evppi.csv").empty


def test_compare_writes_the_value_of_information_of_its_replicates(runs):
    _, _, cmp = runs
    table = pd.read_csv(cmp / "voi.csv")
    assert list(table.columns) == ["input", "kind", "evppi", "low", "high"] and table.empty
    summary = json.loads((cmp / "voi.json").read_text())
    assert summary["draws"] == DRAWS and summary["computed"] is False
    assert "not estimated" in (cmp / "report.html").read_text()


def test_a_rerun_skips_finished_chunks_and_a_lost_chunk_is_rerun(runs, tmp_path):
    tmp, out, _ = runs
    copy = tmp_path / "voi"
    shutil.copytree(out, copy)
    before = {m["chunk"]: m["wall_seconds"] for m in manifests(copy)}
    shutil.rmtree(copy / "chunks" / "chunk-0001")
    r = svsim("voi", *COMMON, plans(tmp), "comparator=no_new_funding", f"draws={DRAWS}",
              "chunks=2", "jobs=1", "boot=10", f"out={copy}")  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    after = {m["chunk"]: m["wall_seconds"] for m in manifests(copy)}
    assert after[0] == before[0] and set(after) == {0, 1}
    pd.testing.assert_frame_equal(
        pd.read_csv(copy / "analysis" / "psa.csv"), pd.read_csv(out / "analysis" / "psa.csv")
    )


@pytest.mark.parametrize(
    ("extra", "names"),
    [
        (["draws=3"], "draws=3"),
        (["chunks=0"], "chunks=0"),
        (["multiplier=-1"], "multiplier=-1"),
        (["scenarios=[status_quo]"], "scenarios="),
        (["stage=later"], "stage='later'"),
    ],
)
def test_bad_input_is_refused_with_one_line(tmp_path, extra, names):
    r = svsim("voi", *extra, f"out={tmp_path / 'x'}")
    assert r.returncode == 2, r.stderr
    assert names in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "x").exists()


R_EVPPI = """
psa <- read.csv(commandArgs(TRUE)[1], check.names = FALSE)
suppressMessages(library(mgcv))
opts <- levels(factor(psa$scenario))
wide <- reshape(psa[, c("draw", "scenario", "net_benefit")], idvar = "draw",
                timevar = "scenario", direction = "wide")
draws <- psa[!duplicated(psa$draw), ]
draws <- draws[order(draws$draw), ]
wide <- wide[order(wide$draw), ]
nb <- as.matrix(wide[, -1])
base <- nb[, 1]
evppi <- function(col) {
  x <- draws[[col]]
  g <- sapply(2:ncol(nb), function(d) fitted(gam((nb[, d] - base) ~ s(x), method = "REML")))
  g <- cbind(0, g)
  mean(apply(g, 1, max)) - max(colMeans(g))
}
for (col in commandArgs(TRUE)[-1]) cat(col, evppi(col), "\\n")
"""


@pytest.mark.slow
def test_r_reads_the_export_and_recomputes_two_evppis(tmp_path):
    """R (Debian's r-base-core and r-cran-mgcv) reads a psa.csv written by export_table from a
    problem with a known answer and recomputes two EVPPIs within 10% of ours."""
    import math

    from svsim.experiments.analysis import voi_job
    from svsim.scenarios import voi

    rscript = require_tool("Rscript")
    n, rng = 1000, np.random.default_rng(8)
    x = rng.standard_normal((n, 2))
    inb = 2.0 * x[:, 0] + 1.0 * x[:, 1] + rng.standard_normal(n) * math.sqrt(5)
    econ = pd.DataFrame({"scenario": "plan", "replicate": np.arange(n), "spend_pv": 1.0,
        "harm_averted_pv": inb + 1.0, **{k: 0.0 for k in voi_job.OUTCOMES}})  # fmt: skip
    inputs = pd.DataFrame({"replicate": np.arange(n), "plan.estimate": x[:, 0],
                           "plan.setting": x[:, 1]})  # fmt: skip
    design = {"scenarios": ["comp", "plan"], "comparator": "comp"}
    path = tmp_path / "psa.csv"
    voi_job.export_table(econ, inputs, design, 1.0).to_csv(path, index=False)
    script = tmp_path / "evppi.R"
    script.write_text(R_EVPPI)
    cols = ["input.plan.estimate", "input.plan.setting"]
    r = subprocess.run([rscript, str(script), str(path), *cols], capture_output=True,
                       text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    theirs = {line.split()[0]: float(line.split()[1]) for line in r.stdout.splitlines()}
    nb = np.column_stack([np.zeros(n), inb])
    for col, j in zip(cols, (0, 1), strict=True):
        ours = voi.evppi(nb, x[:, j])
        assert theirs[col] == pytest.approx(ours, rel=0.10), (col, theirs, ours)
