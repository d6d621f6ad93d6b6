"""`svsim validate`: every row (fit and held out) on the calibration's plausible set, one run per
member on seeds the calibration never used. Prints one table and writes it as validation.csv;
validation passes or fails on the held-out rows, and the fitted rows are reported as fit. Also
the true harm a year and the ratio of true to recorded violence across the plausible set."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..config import compose, flatten, run_config
from ..runfolder import default_out, run_folder, write_manifest
from ..stopping import worker_pool
from .calibrate import RUN_KEYS, load_rows, run_point
from .targets import table

HARM = (  # (label, numerator statistic, denominator statistic or None)
    ("true harm a year (GBP 2015/16, all true incidents)", "cost_of_crime", None),
    ("true violent incidents per police-recorded incident", "incidents_true", "incidents_recorded"),
    ("true serious violence per recorded", "serious_violence_true", "serious_violence_recorded"),
)


def member_values(member: dict) -> dict:
    """A plausible-set member as dotted overrides."""
    values = flatten({"params": member.get("params") or {}})
    values |= {
        f"csp_hazard_multiplier.{k}": v
        for k, v in (member.get("csp_hazard_multiplier") or {}).items()
    }
    return values


def harm(runs: list[dict]) -> list[dict]:
    out = []
    for label, num, den in HARM:
        vals = np.array(
            [r["scalars"][num] / (r["scalars"][den] if den else 1.0) for r in runs], float
        )
        out.append(
            {
                "figure": label,
                "mean": float(vals.mean()),
                "p05": float(np.quantile(vals, 0.05)),
                "p95": float(np.quantile(vals, 0.95)),
                "members": len(vals),
            }
        )
    return out


def main(overrides: list[str]) -> int:
    import pandas as pd
    import yaml
    from omegaconf import OmegaConf

    r = OmegaConf.to_container(compose("validate", overrides), resolve=True)  # schema-checked
    base = [
        o
        for o in overrides
        if o.split("=")[0] not in ("members", "jobs", "seed", "out", "targets_file")
    ]
    base += [f"{k}={r[k]}" for k in RUN_KEYS if not any(o.startswith(k + "=") for o in base)]
    base.append("write_incidents=true")
    cfg = run_config(base)
    rows = load_rows(str(r["targets_file"]), cfg.area)
    calibration = r.get("calibration") or {}
    members = (calibration.get("plausible_set") or [{}])[: r["members"]]
    seeds = [int(r["seed"]) + i for i in range(len(members))]
    out = Path(r["out"]) if r["out"] else default_out("validate", str(r["area"]["name"]))
    start = time.perf_counter()
    with run_folder(out) as folder:  # an existing out= is refused before the runs
        with worker_pool(r["jobs"]) as pool:
            runs = list(
                pool.map(run_point, [base] * len(members), map(member_values, members), seeds)
            )
        fit = pd.DataFrame(table(rows, runs))
        fit.drop(columns=["places"]).to_csv(folder / "validation.csv", index=False)
        places = fit.dropna(subset=["places"]) if "places" in fit else fit.iloc[:0]
        (folder / "places.yaml").write_text(
            yaml.safe_dump({row.row: row.places for row in places.itertuples()}, sort_keys=False)
        )
        harms = pd.DataFrame(harm(runs))
        harms.to_csv(folder / "harm.csv", index=False)
        (folder / "config.yaml").write_text(yaml.safe_dump(r, sort_keys=False))
        held = fit[fit.use == "held_out"]
        fitted = fit[fit.use == "fit"]
        write_manifest(
            folder,
            job="validate",
            overrides=overrides,
            seeds=seeds,
            members=len(members),
            calibrated=bool(calibration),
            fitted_rows_passing=f"{int(fitted.passes.sum())} of {len(fitted)}",
            held_out_rows_passing=f"{int(held.passes.sum())} of {len(held)}",
            wall_seconds=round(time.perf_counter() - start, 1),
        )
    show = fit[["row", "scope", "use", "model", "model_p05", "model_p95", "published"]].copy()
    show["passes_in"] = [
        f"[{a:.4g}, {b:.4g}]" for a, b in zip(fit.pass_low, fit.pass_high, strict=True)
    ]
    show["result"] = np.where(fit.passes, "pass", "FAIL")
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(show.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(harms.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(
        f"fitted rows passing: {int(fitted.passes.sum())} of {len(fitted)}; held-out rows "
        f"passing: {int(held.passes.sum())} of {len(held)} ({len(members)} plausible members, "
        f"seeds {seeds[0]}-{seeds[-1]}); validation folder: {out}"
    )
    return 0
