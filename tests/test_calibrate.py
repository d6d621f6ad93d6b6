"""Calibration: targets and free sets validated, resumable studies, and parameter recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from svsim.experiments.calibrate import (
    Setup,
    finish,
    free_parameters,
    open_study,
    run_trials,
)
from svsim.experiments.config import ConfigError
from svsim.experiments.targets import evaluate, targets_from_dict

BASE = [
    "area=test_town",
    "years=2",
    "burn_in_years=1",
    "population_scale=1.0",
    "start_year=2021",
    "write_incidents=true",
]
PLACES = {"Old Town", "Riverside", "Hillcrest", "Market Square", "Meadows"}
CSPS = {"Northside", "Southside"}
FREE = {
    "params": {
        "offending": {
            "base_hazard": {"low": 2e-5, "high": 1.2e-4, "log": True},
            "society_log_rr": {"low": -0.7, "high": 0.7},
        },
        "severity": {"serious_no_injury_prob": {"low": 0.3, "high": 0.9}},
    },
    "csp_hazard_multiplier": {"Northside": {"low": 0.5, "high": 2.0}},
}
TRUE = {
    "params.offending.base_hazard": 6e-5,
    "params.offending.society_log_rr": 0.0,
    "params.severity.serious_no_injury_prob": 0.6,
    "csp_hazard_multiplier.Northside": 1.4,
}


def test_bad_targets_and_free_sets_are_refused_in_one_line():
    good = {
        "name": "x",
        "kind": "count",
        "measure": "incidents_recorded",
        "value": 10,
        "tolerance": 0.1,
        "source": "s",
    }
    bad_target = {"targets": [{k: v for k, v in good.items() if k != "value"}]}
    with pytest.raises(ConfigError, match=r"^targets\[x\]\.value: missing"):
        targets_from_dict(bad_target, PLACES, CSPS)
    with pytest.raises(ConfigError, match="lower bound 2 is above upper bound 1"):
        free_parameters({"params": {"offending": {"base_hazard": {"low": 2, "high": 1}}}}, BASE)
    with pytest.raises(ConfigError, match=r"params\.offending\.no_such: unknown"):
        free_parameters({"params": {"offending": {"no_such": {"low": 0, "high": 1}}}}, BASE)
    for call in (
        lambda: targets_from_dict(bad_target, PLACES, CSPS),
        lambda: free_parameters(
            {"params": {"offending": {"no_such": {"low": 0, "high": 1}}}}, BASE
        ),
    ):
        with pytest.raises(ConfigError) as info:
            call()
        assert "\n" not in str(info.value)


def test_shipped_targets_and_free_set_are_valid():
    from svsim.experiments.calibrate import load_targets
    from svsim.experiments.config import CONF_DIR, run_config

    area = run_config([]).area
    targets = load_targets("wiltshire_swindon", area)
    assert {t.kind for t in targets} >= {"count", "poisson", "band", "ratio_above", "rank"}
    spec = yaml.safe_load((CONF_DIR / "calibrate.yaml").read_text())["free"]
    assert len(free_parameters(spec, [])) >= 8


def _synthetic_targets():
    """Targets made by the model itself at known parameter values (fresh seeds)."""
    import dataclasses

    from svsim.experiments.config import run_config
    from svsim.experiments.targets import measure_run
    from svsim.model import ViolenceModel

    cfg = run_config([*BASE, *(f"++{k}={v!r}" for k, v in TRUE.items())])
    runs = []
    for seed in range(900, 906):
        m = ViolenceModel(cfg.area, cfg.params, dataclasses.replace(cfg.settings, seed=seed))
        m.run()
        runs.append(measure_run(m))

    def mean(path):
        return float(
            np.mean(
                [
                    r[path[0]][path[1]][path[2]] if len(path) == 3 else r[path[0]][path[1]]
                    for r in runs
                ]
            )
        )

    t = [
        {
            "name": f"vwi_{c}",
            "kind": "count",
            "measure": "violence_with_injury_recorded",
            "where": {"csp": c},
            "value": mean(("by_csp", "violence_with_injury_recorded", c)),
            "tolerance": 0.05,
            "source": "synthetic",
        }
        for c in sorted(CSPS)
    ]
    t.append(
        {
            "name": "sv",
            "kind": "count",
            "measure": "serious_violence_recorded",
            "value": mean(("area", "serious_violence_recorded")),
            "tolerance": 0.05,
            "source": "synthetic",
        }
    )
    t.append(
        {
            "name": "incidents",
            "kind": "count",
            "measure": "incidents_recorded",
            "value": mean(("area", "incidents_recorded")),
            "tolerance": 0.05,
            "source": "synthetic",
        }
    )
    return targets_from_dict({"targets": t}, PLACES, CSPS)


@pytest.mark.slow
def test_recovers_known_parameters_and_flags_the_redundant_pair(tmp_path):
    """Recovery on test_town: base_hazard and society_log_rr are a deliberately redundant pair
    (only base_hazard x exp(society_log_rr) matters), so the pair must be reported as not
    identified while that product and the Northside multiplier are
    recovered within 20% (about the spread seed noise gives at 2 replicates of 6,000 people)."""
    targets = _synthetic_targets()
    free = free_parameters(FREE, BASE)
    setup = Setup(base=BASE, free=free, targets=targets, seed=1000, replicates=2)
    study = open_study("recovery", tmp_path / "studies", 1000)
    run_trials(study, setup, 100, 2)
    folder = tmp_path / "out"
    folder.mkdir()
    finish(
        study,
        setup,
        {
            "rescore": {"top": 3, "replicates": 2, "seed": 3000},
            "plausible_factor": 2.0,
            "targets_file": "synthetic",
            "population_scale": 1.0,
            "replicates": 2,
        },
        folder,
    )
    best = yaml.safe_load((folder / "best.yaml").read_text())
    off = best["params"]["offending"]
    product = off["base_hazard"] * np.exp(off["society_log_rr"])
    assert abs(product / TRUE["params.offending.base_hazard"] - 1) < 0.20, product
    assert abs(best["csp_hazard_multiplier"]["Northside"] / 1.4 - 1) < 0.20
    import pandas as pd

    ident = pd.read_csv(folder / "identification.csv").set_index("parameter")
    assert ident.loc["csp_hazard_multiplier.Northside", "identified"]
    # serious_no_injury_prob (true 0.6) is only weakly constrained by these targets at this
    # size; its recovered value is reported in identification.csv, not asserted (known gap)
    # the redundant pair is not identified (wide, or trading off with each other)
    assert not ident.loc["params.offending.base_hazard", "identified"]
    assert not ident.loc["params.offending.society_log_rr", "identified"]


def _complete(db, name):
    import optuna
    from optuna.trial import TrialState

    try:
        study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
    except KeyError:  # the file exists but the study is still being created
        return dict.fromkeys((TrialState.COMPLETE, TrialState.RUNNING, TrialState.FAIL), 0)
    return {
        s: len(study.get_trials(deepcopy=False, states=(s,)))
        for s in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.FAIL)
    }


@pytest.mark.slow
def test_interrupted_calibration_continues_from_stored_trials(tmp_path):
    """Kill `svsim calibrate` (SIGKILL) once it has stored trials, start it again: the trials
    it had are kept, the ones it was running are marked failed, and it continues."""
    from optuna.trial import TrialState

    targets = tmp_path / "targets.yaml"
    targets.write_text(
        yaml.safe_dump(
            {
                "targets": [
                    {
                        "name": "incidents",
                        "kind": "count",
                        "measure": "incidents_recorded",
                        "value": 100,
                        "tolerance": 0.1,
                        "source": "test",
                    }
                ]
            }
        )
    )
    studies = tmp_path / "studies"
    args = [
        sys.executable,
        "-m",
        "svsim.experiments.cli",
        "calibrate",
        "area=test_town",
        "years=1",
        "burn_in_years=1",
        f"targets_file={targets}",
        "replicates=1",
        "jobs=1",
        f"storage_dir={studies}",
        "study=resume",
        "~free.csp_hazard_multiplier",
        "~free.params.severity",
        "~free.params.justice",
        "~free.params.victim",
    ]
    proc = subprocess.Popen(
        [*args, "trials=200", f"out={tmp_path / 'never'}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = studies / "resume.db"
    deadline = time.time() + 240
    while time.time() < deadline:
        if db.exists() and _complete(db, "resume")[TrialState.COMPLETE] >= 3:
            break
        time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _complete(db, "resume")
    assert before[TrialState.COMPLETE] >= 3
    assert not (tmp_path / "never").exists()
    r = subprocess.run(
        [*args, f"trials={before[TrialState.COMPLETE] + 2}", f"out={tmp_path / 'done'}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    after = _complete(db, "resume")
    assert after[TrialState.COMPLETE] == before[TrialState.COMPLETE] + 2
    assert after[TrialState.RUNNING] == 0
    assert after[TrialState.FAIL] == before[TrialState.FAIL] + before[TrialState.RUNNING]
    assert (tmp_path / "done" / "fit_report.html").exists()


def test_loss_is_scored_on_the_mean_of_replicates():
    t = targets_from_dict(
        {
            "targets": [
                {
                    "name": "x",
                    "kind": "count",
                    "measure": "incidents_recorded",
                    "value": 100,
                    "tolerance": 0.1,
                    "source": "s",
                }
            ]
        },
        PLACES,
        CSPS,
    )
    runs = [{"area": {"incidents_recorded": v}} for v in (80.0, 120.0)]
    loss, rows = evaluate(t, runs)
    assert loss == 0.0 and rows[0]["model"] == 100.0 and rows[0]["met"]
