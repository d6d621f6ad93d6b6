"""Slow tier: `svsim validate` on the whole Wiltshire and Swindon population, at scale 1."""

import pytest
from conftest import SVSIM


@pytest.mark.slow
def test_validate_meets_the_acceptance_checks_on_fresh_seeds(tmp_path):
    """`svsim validate`: the shipped baseline (calibrated when a calibration is shipped), seeds
    calibration never used, scale 1. With no calibration shipped (the setting processes are
    hand-set until the joint calibration, model/ODD.md 8), the fit is held to the hand-set
    baseline's tolerance (30% per CSP, as test_baseline_slow), not the calibration's (15%)."""
    import ast
    import json
    import subprocess

    import pandas as pd
    from omegaconf import OmegaConf
    from scipy.stats import spearmanr
    from svsim.experiments.config import CONF_DIR

    out = tmp_path / "validate"
    r = subprocess.run(
        [*SVSIM, "validate", f"out={out}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    shipped = (CONF_DIR / "calibrated" / "wiltshire_swindon.yaml").exists()
    assert manifest["calibrated"] == shipped
    cal = OmegaConf.load(CONF_DIR / "calibrate.yaml")
    used = {cal.seed + i for i in range(cal.replicates)}
    for block in (cal.rescore, cal.identify):
        used |= {block.seed + i for i in range(block.replicates)}
    assert not used & set(manifest["seeds"])

    fit = pd.read_csv(out / "fit.csv").set_index("target")
    tolerance = 0.15 if shipped else 0.30
    for csp in ("swindon", "wiltshire"):  # near the recorded 2021/22 count per CSP
        row = fit.loc[f"vwi_{csp}_2021"]
        assert abs(float(row.model) / row.target_value - 1) <= tolerance, (csp, row.model)
    low, high = ast.literal_eval(fit.loc["homicides", "interval"])  # Poisson 90%, per year
    assert low <= float(fit.loc["homicides", "model"]) <= high
    assert float(fit.loc["swindon_rate_above_wiltshire", "model"]) > 1
    places = ast.literal_eval(fit.loc["named_places", "places"])
    rho = spearmanr([p["model"] for p in places.values()], [p["recorded"] for p in places.values()])
    assert len(places) == 17 and rho.statistic >= 0.5, rho
