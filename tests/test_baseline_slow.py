"""Slow tier: the whole Wiltshire and Swindon population, at scale 1."""

import pytest
from conftest import load_area, make_model

# Violence with injury recorded in 2021/22 (DOMAIN.md; Swindon Advertiser via EVIDENCE.md 5.1)
RECORDED_VWI = {"Swindon": 2251, "Wiltshire": 3710}


@pytest.mark.slow
def test_hand_set_baseline_within_30_percent_per_csp():
    model = make_model(load_area("wiltshire_swindon"), years=2, burn_in_years=3, seed=3)
    weekly = model.run().weekly
    vwi = weekly[weekly.measure == "violence_with_injury_recorded"]
    per_year = vwi.groupby(["year", "csp"], observed=True)["value"].sum().unstack()
    for csp, target in RECORDED_VWI.items():
        for year, value in per_year[csp].items():
            assert abs(value / target - 1) <= 0.30, (csp, year, value, target)
    # Swindon's rate per 1,000 people is above Wiltshire's (SNA 2022/23)
    assert per_year["Swindon"].mean() / 233_295 > per_year["Wiltshire"].mean() / 510_400


@pytest.mark.slow
def test_validate_meets_the_acceptance_checks_on_fresh_seeds(tmp_path):
    """`svsim validate`: the shipped calibration, seeds calibration never used, scale 1."""
    import ast
    import json
    import subprocess
    import sys

    import pandas as pd
    from omegaconf import OmegaConf
    from scipy.stats import spearmanr
    from svsim.experiments.config import CONF_DIR

    out = tmp_path / "validate"
    r = subprocess.run(
        [sys.executable, "-m", "svsim.experiments.cli", "validate", f"out={out}"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["calibrated"]
    cal = OmegaConf.load(CONF_DIR / "calibrate.yaml")
    used = {cal.seed + i for i in range(cal.replicates)}
    for block in (cal.rescore, cal.identify):
        used |= {block.seed + i for i in range(block.replicates)}
    assert not used & set(manifest["seeds"])

    fit = pd.read_csv(out / "fit.csv").set_index("target")
    for csp in ("swindon", "wiltshire"):  # within 15% of the recorded 2021/22 count per CSP
        row = fit.loc[f"vwi_{csp}_2021"]
        assert abs(float(row.model) / row.target_value - 1) <= 0.15, (csp, row.model)
    low, high = ast.literal_eval(fit.loc["homicides", "interval"])  # Poisson 90%, per year
    assert low <= float(fit.loc["homicides", "model"]) <= high
    assert float(fit.loc["swindon_rate_above_wiltshire", "model"]) > 1
    places = ast.literal_eval(fit.loc["named_places", "places"])
    rho = spearmanr([p["model"] for p in places.values()], [p["recorded"] for p in places.values()])
    assert len(places) == 17 and rho.statistic >= 0.5, rho
