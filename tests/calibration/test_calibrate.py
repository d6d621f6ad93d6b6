"""Calibration: rows marked and validated, their tests, history matching on a known function, and
`svsim calibrate` end to end (resuming a wave whose chunk was lost)."""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import SVSIM, require_slurm
from svsim.experiments.calibration import history as hm
from svsim.experiments.calibration.calibrate import free_parameters, load_rows
from svsim.experiments.calibration.targets import Row, passes, rows_from_dict, table
from svsim.experiments.config import CONF_DIR, ConfigError, run_config

PLACES = {"Old Town", "Riverside", "Hillcrest", "Market Square", "Meadows"}
SMALL = ["years=1", "burn_in_years=1", "population_scale=0.02", "start_year=2021"]
# the held-out rows issue 14 names (victim sex of admissions and homicides, under-16 share,
# A&E per admission, knife carrying, offenders 65+, ward ranks)
MUST_HOLD_OUT = {
    "male_share_of_admissions",
    "male_share_of_homicide_victims",
    "under16_share_of_recorded_victims",
    "ae_attendances_per_admission",
    "knife_carrying_pupils",
    "offenders_65_plus",
    "wards_serious_violence",
    "towns_violent_offences",
    "named_places",
}


def _row(**kw) -> dict:
    return {"name": "r", "use": "fit", "scope": "model_true", "statistic": "s", "source": "x", **kw}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"rows": [_row(kind="ratio", value=1)]}, "rows[r].kind='ratio'"),
        ({"rows": [_row(kind="band", low=1, high=2, use="maybe")]}, "rows[r].use='maybe'"),
        ({"rows": [_row(kind="z", value=0.5)]}, "rows[r].se: missing"),
        ({"rows": [_row(kind="z", value=0.5, se=-1)]}, "rows[r].se=-1"),
        ({"rows": [_row(kind="band", low=3, high=2)]}, "rows[r].low=3.0: above high=2.0"),
        ({"rows": [_row(kind="band", low=1, high=2, sd=1)]}, "rows[r]: unknown field(s) sd"),
        ({"rows": [_row(kind="count", value=5, tolerance=0.1)] * 2}, "rows[r].name='r': used"),
        (
            {"rows": [_row(kind="rank", statistic="incidents_recorded", places={"Nowhere": 1})]},
            "rows[r].places: must name three",
        ),
        ({"rows": [_row(kind="band", low=1, high=2, scope="gossip")]}, "rows[r].scope='gossip'"),
        ({"targets": []}, "rows: the targets file must have a 'rows' list"),
    ],
)
def test_bad_rows_are_refused_in_one_line(bad, message):
    with pytest.raises(ConfigError) as err:
        rows_from_dict(bad, PLACES)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("free", "message"),
    [
        ({"params": {"offending": {"base_hazard": {"low": 5e-4, "high": 1e-4}}}}, "not below"),
        (
            {"params": {"offending": {"base_hazard": {"low": 0.0, "high": 1e-4, "log": True}}}},
            "log",
        ),
        ({"params": {"offending": {"no_such": {"low": 0.1, "high": 0.2}}}}, "free:"),
        ({"params": {"justice": {"record_injury": {"low": 0.5, "high": 1.5}}}}, "free:"),
        ({"speed": {"low": 1, "high": 2}}, "free.speed: unknown parameter"),
    ],
)
def test_bad_free_sets_are_refused_in_one_line(free, message):
    with pytest.raises(ConfigError) as err:
        free_parameters(free, ["area=test_town", *SMALL])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_shipped_rows_are_marked_and_every_statistic_is_reported():
    """Every row is marked; the rows issue 14 names are held out; one small run reports every
    row's statistic (so no row can silently measure nothing)."""
    from dataclasses import replace

    from svsim.experiments.calibration.targets import statistics
    from svsim.model import ViolenceModel

    cfg = run_config([*SMALL, "write_incidents=true"])
    rows = load_rows("wiltshire_swindon", cfg.area)
    use = {r.name: r.use for r in rows}
    assert {n for n, u in use.items() if u == "held_out"} >= MUST_HOLD_OUT
    assert sum(u == "fit" for u in use.values()) >= 20
    model = ViolenceModel(cfg.area, cfg.params, replace(cfg.settings, seed=3))
    lines = table(rows, [statistics(model, model.run())])
    assert len(lines) == len(rows)
    assert all(math.isfinite(line["model"]) for line in lines), [
        line["row"] for line in lines if not math.isfinite(line["model"])
    ]
    spec = yaml.safe_load((CONF_DIR / "calibrate.yaml").read_text())
    free = free_parameters(spec["free"], [*SMALL])
    assert len(free) >= 20 and all(f.source for f in free)


def test_each_kind_of_row_passes_and_fails_where_it_should():
    z = Row("z", "fit", "survey", "z", "s", "x", value=0.02, se=0.001)
    assert passes(z, 0.0219)[0] and not passes(z, 0.0221)[0]  # |z| < 2 with no model noise
    assert passes(z, 0.0221, model_se=0.001)[0]  # the model's own SE widens it
    count = Row("c", "fit", "police", "count", "s", "x", value=1000, tolerance=0.1)
    assert passes(count, 1099)[0] and not passes(count, 1101)[0]
    poisson = Row("h", "fit", "homicide_index", "poisson", "s", "x", value=6, years=2)
    lo, hi = poisson.interval()
    assert lo == pytest.approx(1.3065, abs=1e-3) and hi == pytest.approx(5.9212, abs=1e-3)
    assert passes(poisson, 5.9)[0] and not passes(poisson, 6.0)[0]
    above = Row("a", "fit", "x", "above", "s", "x", value=1.2)
    assert passes(above, 1.21)[0] and not passes(above, 1.19)[0]
    assert not passes(above, math.nan)[0]


def test_rank_rows_use_each_places_own_measure():
    runs = [
        {
            "scalars": {},
            "by_community": {
                "incidents_recorded": {
                    "Old Town": 3.0,
                    "Riverside": 2.0,
                    "Hillcrest": 1.0,
                    "Meadows": 9.0,
                },
                "admissions": {"Old Town": 0.0, "Riverside": 0.0, "Hillcrest": 0.0, "Meadows": 0.5},
            },
        }
    ]
    lists = [
        _row(
            name="one",
            kind="rank",
            statistic="incidents_recorded",
            places={"Old Town": 3, "Riverside": 2, "Hillcrest": 1},
        ),
        _row(
            name="two",
            kind="rank",
            statistic="admissions",
            places={"Meadows": 0.5, "Riverside": 9, "Hillcrest": 0.1},
        ),
    ]
    union = _row(name="u", kind="rank", union=["one", "two"], overlap="two", minimum=0.9)
    rows = rows_from_dict({"rows": [*lists, union]}, PLACES)
    u = rows[-1]
    assert u.place_statistics == {
        "Old Town": "incidents_recorded",
        "Riverside": "admissions",
        "Hillcrest": "admissions",
        "Meadows": "admissions",
    }
    line = table([u], runs)[0]
    assert line["places"]["Old Town"]["model"] == 3.0 and line["places"]["Meadows"]["model"] == 0.5


def _toy(x: np.ndarray, rng) -> np.ndarray:
    """Three rows of a noisy known function: x0 and x1 identified, x2 never matters."""
    y = np.column_stack([x[:, 0] + 0.5 * x[:, 1], x[:, 0] - x[:, 1], np.sin(3 * x[:, 0])])
    return y + rng.normal(0, 0.01, y.shape)


def test_history_matching_recovers_a_known_point_and_names_a_structural_misfit():
    """Two waves on a known function: the truth is not ruled out, x0 and x1 are identified
    and contain the truth, x2 (which moves nothing) is not identified, and a row no point can
    meet is called structural misfit instead of ruling out everything."""
    rng = np.random.default_rng(0)
    truth = np.array([0.3, 0.6, 0.5])
    centre = np.append(_toy(truth[None], np.random.default_rng(1))[0], 5.0)  # row 4: impossible
    sd = np.array([0.02, 0.02, 0.02, 0.02])
    obs = (centre, sd, np.zeros(4, bool))

    def outputs(x):
        return np.column_stack([_toy(x, rng), x[:, 0]])

    x1 = hm.latin_hypercube(60, 3, seed=2)
    em1 = hm.Emulator.fit(x1, outputs(x1), list("abcd"))
    probe = rng.random((20_000, 3))
    mean, ve, vr = em1.predict(probe)
    keep = ~hm.structural_misfits(hm.implausibility(mean, ve + vr, *obs))
    assert keep.tolist() == [True, True, True, False]
    x2, info = hm.sample_space([em1], obs, keep, 3, 40, rng)
    assert not info["design_from_least_implausible"]
    x = np.vstack([x1, x2])
    em2 = hm.Emulator.fit(x, outputs(x), list("abcd"))
    pts, _ = hm.sample_space([em1, em2], obs, keep, 3, 400, rng)
    ranges = {r["parameter"]: r for r in hm.parameter_ranges(_free3(), pts)}
    for k, name in enumerate(("x0", "x1")):
        r = ranges[name]
        assert r["identified"] and r["low_90"] <= truth[k] <= r["high_90"], r
    assert not ranges["x2"]["identified"]
    assert (em2.relevance()[0, :2] > 0.2).all() and em2.relevance()[0, 2] < 0.2
    # history matching's own recovery check: the truth is not ruled out, a far point is
    at = hm.max_implausibility([em1, em2], obs, keep, np.array([truth, [0.9, 0.1, 0.5]]))
    assert at[0] <= hm.CUTOFF < at[1]


def _free3():
    return tuple(hm.Free(f"x{k}", 0.0, 1.0, False) for k in range(3))


def test_unit_scale_round_trips_on_log_and_linear_priors():
    f = hm.Free("p", 1e-4, 1e-2, True)
    assert hm.from_unit(f, 0.5) == pytest.approx(1e-3)
    assert hm.to_unit(f, hm.from_unit(f, 0.3)) == pytest.approx(0.3)
    g = hm.Free("q", 2.0, 4.0, False)
    assert hm.from_unit(g, 0.25) == 2.5 and hm.from_unit(g, 1.7) == 4.0


def _small_calibration(out, *extra) -> list[str]:
    """Two free parameters, two small waves, one recovery truth, at population scale 0.02."""
    return [
        *SVSIM,
        "calibrate",
        *SMALL,
        "~free",
        "+free={params:{offending:{base_hazard:{low:2e-4,high:8e-4,log:true}},"
        "justice:{record_injury:{low:0.3,high:0.6}}}}",
        "waves=[12,10]",
        "chunks=2",
        "recovery_truths=1",
        f"out={out}",
        *extra,
    ]


@pytest.fixture(scope="module")
def small_local(tmp_path_factory):
    """The small calibration run once on local cores, shared by the resume and SLURM tests."""
    out = tmp_path_factory.mktemp("calibrate") / "cal"
    r = subprocess.run(_small_calibration(out), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def test_calibrate_runs_waves_as_chunks_and_resumes_a_lost_chunk(small_local):
    """`svsim calibrate` with two free parameters at a small scale: waves written as chunk
    folders, the analysis files, and a second run that recomputes only a deleted chunk."""
    out = small_local
    args = _small_calibration(out)
    analysis = out / "analysis"
    for name in ("parameters.csv", "misfit.csv", "recovery.csv", "rows.csv", "best.yaml"):
        assert (analysis / name).is_file(), name
    rec = pd.read_csv(analysis / "recovery.csv")
    assert {"recovered", "truth_implausibility", "truth_not_ruled_out"} <= set(rec.columns)
    assert (rec.truth_not_ruled_out == (rec.truth_implausibility <= hm.CUTOFF)).all()
    best = yaml.safe_load((analysis / "best.yaml").read_text())
    members = best["calibration"]["plausible_set"]
    assert members and set(members[0]["params"]) == {"offending", "justice"}
    summary = json.loads((analysis / "summary.json").read_text())
    assert summary["runs"] == 22
    lost = out / "wave-2" / "chunks" / "chunk-0001"
    kept = json.loads((out / "wave-2" / "chunks" / "chunk-0000" / "manifest.json").read_text())
    import shutil

    shutil.rmtree(lost)
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    again = json.loads((out / "wave-2" / "chunks" / "chunk-0000" / "manifest.json").read_text())
    assert again["launch"] == kept["launch"]  # not re-run
    redone = json.loads((lost / "manifest.json").read_text())
    assert redone["launch"] != kept["launch"]
    assert yaml.safe_load((analysis / "best.yaml").read_text()) == best  # same seeds, same answer


@pytest.mark.slow
def test_calibrate_on_slurm_gives_the_local_answer_and_records_job_ids(tmp_path, small_local):
    """The same calibration as SLURM jobs: every chunk has a job id; best.yaml is identical."""
    require_slurm()
    local, cluster = small_local, tmp_path / "slurm"
    slurm = [
        "hydra/launcher=submitit_slurm",
        "hydra.launcher.partition=debug",
        "hydra.launcher.timeout_min=20",
        "hydra.launcher.mem_gb=1",
    ]
    r = subprocess.run(
        _small_calibration(cluster, *slurm), capture_output=True, text=True, timeout=1800
    )
    assert r.returncode == 0, r.stderr[-3000:]
    manifests = [json.loads(p.read_text()) for p in cluster.glob("wave-*/chunks/*/manifest.json")]
    assert len(manifests) == 4 and all(m["slurm_job_id"] for m in manifests), manifests
    best = "analysis/best.yaml"
    assert yaml.safe_load((cluster / best).read_text()) == yaml.safe_load(
        (local / best).read_text()
    )


def test_calibration_points_ignore_a_shipped_calibration():
    """A point is the uncalibrated defaults plus its own values, whatever is shipped."""
    from svsim.experiments.calibration.calibrate import uncalibrated

    path = CONF_DIR / "calibrated" / "test_town.yaml"
    assert not path.exists()
    default = run_config(["area=test_town"]).params.offending.base_hazard
    path.parent.mkdir(exist_ok=True)
    made_folder = not any(path.parent.iterdir())
    path.write_text("# @package _global_\nparams: {offending: {base_hazard: 0.000123}}\n")
    try:
        assert run_config(["area=test_town"]).params.offending.base_hazard == 0.000123
        assert uncalibrated(["area=test_town"]).params.offending.base_hazard == default
    finally:
        path.unlink()
        if made_folder:
            path.parent.rmdir()
    assert uncalibrated(["area=test_town"]).params.offending.base_hazard == default
