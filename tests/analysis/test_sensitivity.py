"""svsim sensitivity: the chunked pipeline end to end (local and SLURM), the Ishigami self-check,
order independence, and refusal of bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import manifests, require_slurm, svsim, town_plan
from svsim.experiments import chunks as ch
from svsim.experiments.analysis import sensitivity as sa


def town_args(tmp_path: Path, out: Path, *extra: str) -> list[str]:
    plan = town_plan(
        tmp_path,
        "Mentoring and focused deterrence across the test town.",
        300000,
        {"mentoring": 200000, "focused_deterrence": 100000},
    )
    return [
        "area=test_town",
        "experiment=test_town",
        f"experiment.scenario={plan}",
        "method=sobol",
        "N=4",
        "replicates=2",
        "years=1",
        "burn_in_years=1",
        "population_scale=1",
        "chunks=4",
        "resamples=200",
        f"out={out}",
        *extra,
    ]


def indices(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "analysis" / "indices.csv")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sa-local")
    out = tmp / "local"
    r = svsim("sensitivity", *town_args(tmp, out))
    assert r.returncode == 0, r.stderr[-3000:]
    return tmp, out


def test_small_sobol_end_to_end_with_the_local_launcher(local_run):
    _tmp, out = local_run
    t = indices(out)
    assert set(t.input) == {"mentoring_effect", "mentoring_cost", "contagion"}
    assert {"S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "flag"} <= set(t.columns)
    assert {"net_social_benefit", "violence_with_injury_true_averted"} <= set(t.output)
    noise = pd.read_csv(out / "analysis" / "noise.csv")
    assert noise.noise_share.between(0, 1).all() or noise.noise_share.isna().any()
    for f in ("report.html", "manifest.json", "points.parquet"):
        assert (out / "analysis" / f).is_file(), f
    assert list((out / "analysis").glob("sobol-*.png"))
    ms = manifests(out)
    assert len(ms) == 4 and all(m["sample_hash"] == ms[0]["sample_hash"] for m in ms)
    assert all(m["host"] and m["slurm_job_id"] is None for m in ms)
    assert (out / "logs" / "sensitivity.log").is_file()
    assert (out / "logs" / "launcher.log").is_file()
    # the comparator's runs are cached and reused
    assert list((out / "cache").glob("baseline-*.npz"))


def test_rerun_skips_finished_chunks_and_gives_the_same_indices(local_run):
    tmp, out = local_run
    before = {m["chunk"]: m["launch"] for m in manifests(out)}
    first = indices(out)
    r = svsim("sensitivity", *town_args(tmp, out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert {m["chunk"]: m["launch"] for m in manifests(out)} == before
    pd.testing.assert_frame_equal(indices(out), first)


def test_chunks_finishing_in_another_order_give_the_same_result(local_run):
    tmp, out = local_run
    other = tmp / "reversed"
    r = svsim("sensitivity", *town_args(tmp, other, "stage=prepare"))
    assert r.returncode == 0, r.stderr[-3000:]
    for i in reversed(range(4)):  # in process, last chunk first
        ch.run_chunk(other, i)
    r = svsim("sensitivity", *town_args(tmp, other, "stage=analyze"))
    assert r.returncode == 0, r.stderr[-3000:]
    pd.testing.assert_frame_equal(indices(other), indices(out))


def test_a_missing_or_failed_chunk_is_named_not_dropped(local_run):
    tmp, out = local_run
    other = tmp / "holey"
    shutil.copytree(out, other)
    shutil.rmtree(other / "chunks" / "chunk-0002")
    (other / "chunks" / "chunk-0002.failed.txt").write_text("Traceback: boom\n")
    r = svsim("sensitivity", *town_args(tmp, other, "stage=analyze"))
    assert r.returncode == 2
    line = r.stderr.strip().splitlines()[-1]
    assert "chunk-0002" in line and "failed" in line, r.stderr


def test_ishigami_self_check_reproduces_the_analytic_indices(tmp_path):
    out = tmp_path / "ishigami"
    r = svsim(
        "sensitivity", "experiment=ishigami", "N=4096", "replicates=1", "chunks=4",
        "resamples=200", f"out={out}",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    t = indices(out).set_index("input")
    exact = sa.ishigami_analytic()
    for key in ("S1", "ST"):
        for x, v in exact[key].items():
            assert abs(t.loc[x, key] - v) <= 0.05, (key, x, t.loc[x, key], v)


def test_analytic_ishigami_values():
    exact = sa.ishigami_analytic()
    assert exact["S1"]["x1"] == pytest.approx(0.3139, abs=1e-3)
    assert exact["S1"]["x2"] == pytest.approx(0.4424, abs=1e-3)
    assert exact["ST"]["x1"] == pytest.approx(0.5576, abs=1e-3)
    assert exact["ST"]["x3"] == pytest.approx(0.2437, abs=1e-3)


@pytest.mark.parametrize(
    "extra, names",
    [
        (["experiment.inputs.contagion.bounds=[0.7,0.2]"], "lower bound above upper"),
        (
            ["+experiment.inputs.bogus={kind:param,path:offending.no_such,bounds:[0,1]}"],
            "params.offending.no_such': unknown parameter path",
        ),
        (["experiment.inputs.mentoring_effect.path=mentoring.colour"], "mentoring.colour"),
        (["N=6"], "N=6: Sobol sampling needs a power of two"),
        (["method=morris", "levels=3"], "levels=3"),
        (["method=tornado"], "method='tornado'"),
    ],
)
def test_bad_input_is_refused_with_one_line(tmp_path, extra, names):
    out = tmp_path / "bad"
    r = svsim("sensitivity", *town_args(tmp_path, out, *extra), timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and names in lines[0], r.stderr
    assert not out.exists()


def test_a_chunk_folder_holding_another_sample_is_refused(local_run, tmp_path):
    _, out = local_run
    r = svsim("sensitivity", *town_args(tmp_path, out, "seed=5"), timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds another sample" in lines[0], r.stderr


def test_an_absent_calibration_is_skipped_with_a_note():
    inputs, notes = sa.build_inputs(
        {
            "inputs": {
                "a": {"kind": "value", "path": "a", "bounds": [0, 1]},
                "b": {"kind": "value", "path": "b", "bounds": [0, 1]},
                "cal": {"kind": "calibrated", "file": "calibrated/no_such_area.yaml"},
            },
            "model": "ishigami",
        },
        None,
        None,
    )
    assert [i["name"] for i in inputs] == ["a", "b"]
    assert "not found" in notes[0]


def test_a_calibrated_input_picks_members_of_the_plausible_set(tmp_path):
    from svsim.experiments.config import ConfigError

    path = tmp_path / "cal.yaml"
    path.write_text(
        "params: {offending: {base_hazard: 3.0e-5}}\n"
        "plausible_set:\n"
        "  - {offending: {base_hazard: 2.0e-5}}\n"
        "  - {offending: {base_hazard: 3.0e-5}}\n"
        "  - {offending: {base_hazard: 4.0e-5}}\n"
    )
    from dataclasses import asdict

    from svsim.model import Params

    base = asdict(Params())
    exp = {
        "inputs": {
            "cal": {"kind": "calibrated", "file": str(path)},
            "contagion": {"kind": "param", "path": "offending.exposure_log_rr", "bounds": [0, 1]},
        }
    }
    inputs, notes = sa.build_inputs(exp, base, {})
    assert not notes and inputs[0]["kind"] == "calibrated"
    u = np.array([[0.0, 0.5], [0.34, 0.5], [0.99, 0.5], [1.0, 0.5]])
    assert sa.transform(inputs, u)[:, 0].tolist() == [0, 1, 2, 2]
    # the form svsim calibrate writes: members keyed by params and csp_hazard_multiplier
    path.write_text(
        "params: {}\ncalibration:\n  plausible_set:\n"
        "    - {params: {offending: {base_hazard: 2.0e-5}},\n"
        "       csp_hazard_multiplier: {Northside: 1.1}}\n"
        "    - {params: {offending: {base_hazard: 4.0e-5}}}\n"
    )
    inputs, _ = sa.build_inputs(exp, base, {})
    assert inputs[0]["members"][0]["csp"] == {"Northside": 1.1}
    assert inputs[0]["members"][1]["params"] == {"offending": {"base_hazard": 4.0e-5}}
    exp_twice = {
        "inputs": {
            **exp["inputs"],
            "hazard": {"kind": "param", "bounds": [1e-5, 5e-5], "path": "offending.base_hazard"},
        }
    }
    with pytest.raises(ConfigError, match="varies only jointly"):
        sa.build_inputs(exp_twice, base, {})
    path.write_text("plausible_set:\n  - {offending: {no_such: 1}}\n")
    with pytest.raises(ConfigError, match="unknown parameter path"):
        sa.build_inputs(exp, base, {})


@pytest.mark.slow
def test_the_slurm_launcher_gives_identical_indices_and_records_job_ids(local_run):
    require_slurm()
    tmp, out = local_run
    slurm_out = tmp / "slurm"
    r = svsim(
        "sensitivity",
        *town_args(tmp, slurm_out),
        "hydra/launcher=submitit_slurm",
        "hydra.launcher.partition=debug",
        "hydra.launcher.timeout_min=20",
        "hydra.launcher.mem_gb=1",
        timeout=1200,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    ms = manifests(slurm_out)
    assert len(ms) == 4 and all(m["slurm_job_id"] for m in ms), ms
    pd.testing.assert_frame_equal(indices(slurm_out), indices(out))
