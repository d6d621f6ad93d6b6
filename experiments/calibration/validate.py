"""`svsim validate`: the shipped calibrated baseline, on seeds calibration never used."""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from svsim.model import ViolenceModel

from ..config import ConfigError, compose, run_config
from ..runfolder import default_out, run_folder, write_manifest
from .calibrate import RUN_KEYS, load_targets
from .targets import evaluate, measure_run


def one_run(overrides: list[str], seed: int) -> dict:
    cfg = run_config(overrides)
    model = ViolenceModel(cfg.area, cfg.params, replace(cfg.settings, seed=seed))
    model.run()
    return measure_run(model)


def fit_table(overrides: list[str], targets_name: str, seed: int, replicates: int, jobs: int):
    """(loss, fit rows) of the configured baseline over `replicates` fresh seeds."""
    cfg = run_config(overrides)
    targets = load_targets(targets_name, cfg.area)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        runs = list(
            pool.map(one_run, [overrides] * replicates, [seed + r for r in range(replicates)])
        )
    return evaluate(targets, runs)


def main(overrides: list[str]) -> int:
    import pandas as pd
    import yaml
    from omegaconf import OmegaConf

    r = OmegaConf.to_container(compose("validate", overrides), resolve=True)
    for key in ("replicates", "jobs"):
        if isinstance(r[key], bool) or not isinstance(r[key], int) or r[key] < 1:
            raise ConfigError(f"{key}={r[key]!r}: must be a whole number >= 1")
    base = [
        o
        for o in overrides
        if o.split("=")[0] not in ("replicates", "jobs", "seed", "out", "targets_file")
    ]
    base += [f"{k}={r[k]}" for k in RUN_KEYS if not any(o.startswith(k + "=") for o in base)]
    calibrated = r.get("calibration") or {}
    # the calibrated file (if any) is loaded by the run configuration's defaults
    out = Path(r["out"]) if r["out"] else default_out("validate", str(r["area"]["name"]))
    start = time.perf_counter()
    with run_folder(out) as folder:  # an existing out= is refused before the runs
        loss, rows = fit_table(
            [*base, "write_incidents=true"],
            str(r["targets_file"]),
            int(r["seed"]),
            r["replicates"],
            r["jobs"],
        )
        fit = pd.DataFrame(rows)
        fit.to_csv(folder / "fit.csv", index=False)
        (folder / "config.yaml").write_text(yaml.safe_dump(r, sort_keys=False))
        write_manifest(
            folder,
            job="validate",
            overrides=overrides,
            loss=loss,
            seeds=[int(r["seed"]) + i for i in range(r["replicates"])],
            calibrated=bool(calibrated),
            wall_seconds=round(time.perf_counter() - start, 1),
        )
    cols = ["target", "model", "model_p05", "model_p95", "target_value", "met"]
    print(fit[[c for c in cols if c in fit.columns]].to_string(index=False))
    print(f"loss {loss:.3f}; validation folder: {out}")
    return 0
