"""Calibration: targets and free sets validated, resumable studies, and parameter recovery."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing

import numpy as np
import pytest
import yaml
from svsim.experiments.calibration.calibrate import (
    finish,
    free_parameters,
    open_study,
    run_trials,
)
from svsim.experiments.calibration.targets import evaluate, targets_from_dict
from svsim.experiments.calibration.trial import Setup
from svsim.experiments.config import ConfigError

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
TRUE = {
    "params.offending.base_hazard": 4e-4,
    "params.offending.exposure_log_rr": 0.3,
    "params.offending.deprivation_log_rr": 0.3,
    "params.offending.society_log_rr": 0.0,
    "params.severity.serious_no_injury_prob": 0.6,
    "params.severity.knife_prob": 0.012,
    "params.severity.other_death_prob": 1.5e-4,
    "params.justice.record_injury": 0.6,
    "params.night_time.rate_ratio": 0.5,
    "csp_hazard_multiplier.Northside": 1.2,
}


def _recovery_free() -> dict:
    """The real calibration's free set (conf/calibrate.yaml) on test_town, its Northside CSP in
    Swindon's place, plus society_log_rr: with base_hazard a deliberately redundant pair."""
    from svsim.experiments.config import CONF_DIR

    spec = yaml.safe_load((CONF_DIR / "calibrate.yaml").read_text())["free"]
    spec["csp_hazard_multiplier"] = {"Northside": spec["csp_hazard_multiplier"].pop("Swindon")}
    spec["params"]["offending"]["society_log_rr"] = {"low": -0.7, "high": 0.7}
    return spec


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
    from svsim.experiments.calibration.calibrate import load_targets
    from svsim.experiments.config import CONF_DIR, run_config

    area = run_config([]).area
    targets = load_targets("wiltshire_swindon", area)
    assert {t.kind for t in targets} >= {"count", "poisson", "band", "ratio_above", "rank"}
    spec = yaml.safe_load((CONF_DIR / "calibrate.yaml").read_text())["free"]
    assert len(free_parameters(spec, [])) >= 8


def _synthetic_targets(setup: Setup, seeds: range) -> list:
    """Targets of the real kinds made by the model itself at TRUE (seeds calibration never
    uses): recorded violence with injury per CSP, serious violence, all violence, expected
    admissions and homicides (10% tolerance), and the rank of the communities."""
    from svsim.experiments.calibration.trial import one_run

    runs = [one_run(setup, TRUE, s) for s in seeds]

    def mean(get):
        return float(np.mean([get(r) for r in runs]))

    def count(name, measure, get, where=None):
        value = mean(get)
        return {"name": name, "kind": "count", "measure": measure, "where": where or {},
                "value": value, "tolerance": 0.10, "source": "synthetic"}  # fmt: skip

    vwi = "violence_with_injury_recorded"
    t = [count(f"vwi_{c}", vwi, lambda r, c=c: r["by_csp"][vwi][c], {"csp": c}) for c in CSPS]
    for m in ("serious_violence_recorded", "incidents_recorded"):
        t.append(count(m, m, lambda r, m=m: r["area"][m]))
    for m in ("admissions_expected", "homicides_expected"):
        t.append(count(m, m, lambda r, m=m: r["area"][m]))
    inc = "incidents_recorded"
    places = {p: mean(lambda r, p=p: r["by_community"][inc][p]) for p in sorted(PLACES)}
    t.append({"name": "places", "kind": "rank", "measure": inc, "places": places, "source": "s"})
    return targets_from_dict({"targets": t}, PLACES, CSPS)


@pytest.mark.slow
@pytest.mark.xfail(
    reason="the free set of conf/calibrate.yaml was chosen for the violence process before the "
    "setting processes: on them only other_death_prob is identified (knife_prob acts through "
    "non-carriers only; society_log_rr also scales abuse onsets, so it no longer pairs exactly "
    "with base_hazard). The joint calibration (issue 14) chooses the new free set and its "
    "recovery test",
    strict=False,
)
def test_recovers_known_parameters_and_flags_the_redundant_pair(tmp_path):
    """Recovery on test_town with the real calibration's free set plus society_log_rr, which
    with base_hazard is a deliberately redundant pair (only their product matters).

    Stated tolerance: every parameter the analysis reports identified has its true value inside
    its reported 90% interval, which spans at most half its prior range; at least two are
    identified, so the check is not empty. The redundant pair is reported not identified and
    as trading off with each other. 5 projection years and 4 replicates keep the replicate
    noise of a 6,000-person town (CV about 5% on the counts) below the 10% tolerance."""
    import pandas as pd

    base = [*BASE[:1], "years=5", *BASE[2:]]
    free = free_parameters(_recovery_free(), base)
    targets = _synthetic_targets(Setup(base, free, [], 0, 1), range(900, 906))
    setup = Setup(base=base, free=free, targets=targets, seed=1000, replicates=4)
    study = open_study("recovery", tmp_path / "studies", 1000)
    run_trials(study, setup, 200, 2)
    folder = tmp_path / "out"
    folder.mkdir()
    r = {
        "rescore": {"top": 5, "replicates": 4, "seed": 3000},
        "identify": {"replicates": 3, "seed": 4000},
        "jobs": 2,
        "plausible_factor": 2.0,
        "targets_file": "synthetic",
        "population_scale": 1.0,
        "replicates": 4,
    }
    finish(study, setup, r, folder)
    ident = pd.read_csv(folder / "identification.csv").set_index("parameter")
    ident["true"] = pd.Series(TRUE)
    print(ident.to_string())  # the figures behind the closing note
    found = ident[ident.identified]
    assert len(found) >= 2, ident
    assert ((found.low_90 <= found.true) & (found.true <= found.high_90)).all(), found
    pair = ("params.offending.base_hazard", "params.offending.society_log_rr")
    assert not ident.loc[list(pair), "identified"].any()
    assert pair[1] in str(ident.loc[pair[0], "trades_off_with"])
    assert pair[0] in str(ident.loc[pair[1], "trades_off_with"])


def _complete(db, name):
    """Trials per state, read-only: an observer must not create the schema that the running
    `svsim calibrate` is creating (opening it with Optuna raced the subprocess's own set-up)."""
    from optuna.trial import TrialState

    states = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.FAIL)
    counts = dict.fromkeys(states, 0)
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as con:
            rows = con.execute(
                "SELECT t.state, COUNT(*) FROM trials t JOIN studies s USING (study_id)"
                " WHERE s.study_name = ? GROUP BY t.state",
                (name,),
            ).fetchall()
    except sqlite3.OperationalError:  # no file or no tables yet: the study is still being made
        return counts
    for state, n in rows:
        counts[TrialState[state]] = n
    return counts


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
        "~free.params.night_time",
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


def _rank(name, measure, places):
    return {"name": name, "kind": "rank", "measure": measure, "places": places, "source": "s"}


def test_union_of_place_lists_ranks_each_place_on_its_own_lists_measure():
    lists = [
        _rank("a", "serious_violence_recorded", {"Old Town": 30, "Riverside": 20}),
        _rank("b", "incidents_recorded", {"Riverside": 50, "Meadows": 10}),
    ]
    union = {"name": "u", "kind": "rank", "union": ["a", "b"], "overlap": "b", "source": "s"}
    t = targets_from_dict({"targets": [*lists, union]}, PLACES, CSPS)[-1]
    assert t.places == {"Old Town": 30, "Riverside": 50, "Meadows": 10}
    assert t.place_measures == {
        "Old Town": "serious_violence_recorded",
        "Riverside": "incidents_recorded",
        "Meadows": "incidents_recorded",
    }
    by = {"Old Town": 3.0, "Riverside": 1.0, "Meadows": 0.0}
    runs = [
        {
            "by_community": {
                "serious_violence_recorded": {**by, "Old Town": 3.0},
                "incidents_recorded": {**by, "Old Town": 0.0, "Riverside": 4.0},
            }
        }
    ]
    _, rows = evaluate([t], runs)
    assert rows[0]["model"] == pytest.approx(1.0)  # 4 > 3 > 0 on the right measures
    for bad, msg in (
        ({**union, "union": ["a", "nope"]}, r"^targets\[u\]\.union: 'nope' is not an earlier"),
        ({**union, "overlap": "c"}, r"^targets\[u\]\.overlap='c': must be one of"),
    ):
        with pytest.raises(ConfigError, match=msg):
            targets_from_dict({"targets": [*lists, bad]}, PLACES, CSPS)


def test_local_identification_flags_a_redundant_pair_and_identifies_a_lone_parameter():
    """base_hazard and society_log_rr only act through their product: with a tight target on
    the level, each is unidentified and they trade off (posterior correlation near -1), while
    base_hazard alone is identified and its interval holds the value that made the target."""
    from svsim.experiments.calibration import identification
    from svsim.experiments.calibration.trial import one_run

    base = ["area=test_town", "years=1", "burn_in_years=1", "start_year=2021"]
    pair = free_parameters(
        {
            "params": {
                "offending": {
                    "base_hazard": {"low": 1.5e-4, "high": 8e-4, "log": True},
                    "society_log_rr": {"low": -0.7, "high": 0.7},
                }
            }
        },
        base,
    )
    truth = {"params.offending.base_hazard": 4e-4, "params.offending.society_log_rr": 0.0}
    level = np.mean(
        [one_run(Setup(base, pair, [], 0, 1), truth, s)["area"]["incidents_true"] for s in (7, 8)]
    )
    target = {
        "name": "level",
        "kind": "count",
        "measure": "incidents_true",
        "value": float(level),
        "tolerance": 0.01,
        "source": "s",
    }
    targets = targets_from_dict({"targets": [target]}, PLACES, CSPS)
    ident = identification.analyse(Setup(base, pair, targets, 0, 2), truth, 7, 2, 2)
    assert not ident.identified.any()
    assert "society_log_rr" in ident.trades_off_with[0]
    assert "base_hazard" in ident.trades_off_with[1]
    alone = Setup(base, pair[:1], targets, 0, 2)
    one = identification.analyse(alone, {pair[0].path: 4e-4}, 7, 2, 2).iloc[0]
    assert one.identified and one.low_90 < 4e-4 < one.high_90


def test_a_new_study_starts_from_the_shipped_calibration(tmp_path, shipped_calibration):
    """start_from_shipped enqueues conf/calibrated/<area>.yaml's free values as trial 0."""
    from svsim.experiments.calibration.calibrate import start_from_shipped
    from svsim.experiments.config import CONF_DIR, flatten

    spec = yaml.safe_load((CONF_DIR / "calibrate.yaml").read_text())["free"]
    free = free_parameters(spec, [])
    study = open_study("shipped", tmp_path, 1)
    start_from_shipped(study, free, "wiltshire_swindon")
    shipped = flatten(
        yaml.safe_load((CONF_DIR / "calibrated" / "wiltshire_swindon.yaml").read_text())
    )
    (first,) = study.get_trials(deepcopy=False)
    assert first.system_attrs["fixed_params"] == {f.path: shipped[f.path] for f in free}
