"""`svsim voi`: the value of information for the choice between funding scenarios.

Each draw is one `svsim compare` replicate (a joint draw of every intervention's effect chain,
uptake, completion and unit cost, and one member of the calibration's plausible set), with every
scenario run on it with common random numbers. The draws are cut into chunks
(experiments/chunks.py), so the job resumes and runs on local cores or SLURM. The analysis
regresses each scenario's net benefit on the drawn inputs (analysis/voi.py), so replicate noise
is not counted as information, and writes the EVPI, the EVPPI of every input and group with
bootstrap intervals, and the draws as a table R's voi and BCEA read (README, "Value of
information").
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf
from svsim.scenarios import voi

from .. import chunks as ch
from ..compare.compare import VOI_KEY, compare_config, run_replicate, summarise, tables
from ..config import ConfigError, compose, run_config
from ..runfolder import run_folder, write_manifest

log = logging.getLogger("svsim.voi")

STAGES = ("all", "prepare", "run", "analyze")
OUTCOMES = {  # outcome averted per draw, over the horizon: compare's measure names
    "admissions_averted": "admissions_expected",
    "homicides_averted": "homicides_expected",
    "violence_with_injury_averted": "violence_with_injury_true",
}


def configure(overrides: list[str]) -> tuple[dict, np.ndarray, dict]:
    """Compose and validate conf/voi.yaml; (design, sample of draw numbers, settings)."""
    r = OmegaConf.to_container(compose("voi", overrides), resolve=True)  # schema-checked
    draws, n_chunks, jobs, boot, k = (
        r[x] for x in ("draws", "chunks", "jobs", "boot", "multiplier")
    )
    names = r["scenarios"]
    if len(names) < 2:
        raise ConfigError(f"scenarios={names!r}: must list at least two scenarios")
    run_config(overrides, config_name="voi")  # validates area, params and settings
    cmp_ov = [
        *ch.passed_overrides(overrides),
        f"scenarios=[{','.join(map(str, names))}]",
        f"comparator={r['comparator']}",
        f"replicates={draws}",
        "uncertainty=true",
        "parameter_uncertainty=true",
        "decompose=false",
        "jobs=1",
        *(f"{x}={r[x]}" for x in ("years", "burn_in_years", "seed", "population_scale")),
        f"start_year={r['start_year']}",
    ]
    cfg, _ = compare_config(cmp_ov, sizes=False)  # refuses unknown scenarios and a bad comparator
    design = {
        "job": "voi",
        "evaluator": "svsim.experiments.analysis.voi_job:evaluate_chunk",
        "area": cfg.run.area.name,
        "scenarios": [s.name for s in cfg.scenarios],
        "comparator": cfg.comparator,
        "draws": draws,
        "seed": r["seed"],
        "population_scale": cfg.run.settings.population_scale,
        "years": cfg.run.settings.years,
        "compare_overrides": cmp_ov,
    }
    sample = np.arange(draws, dtype=float)[:, None]
    design["chunks"] = ch.cut(draws, n_chunks)
    settings = {"stage": r["stage"], "out": r.get("out"), "jobs": jobs, "boot": boot,
                "multiplier": float(k), "n_chunks": len(design["chunks"])}  # fmt: skip
    return design, sample, settings


def evaluate_chunk(design: dict, rows: np.ndarray, folder: Path, tmp: Path) -> None:
    """The chunk job's work: run its draws (every scenario each) and write economics.csv, one row
    per draw and scenario other than the comparator, and inputs.csv, every input's value per
    draw as it ran."""
    cfg, _ = compare_config(design["compare_overrides"], sizes=False)
    reps = rows[:, 0].astype(int)
    results = [run_replicate(cfg, int(r)) for r in reps]
    sub = replace(cfg, replicates=len(reps))
    t = tables(sub, results)
    _, _, per_rep = summarise(sub, t)
    totals = (
        t["by_year"][t["by_year"].measure.isin(list(OUTCOMES.values()))]
        .groupby(["scenario", "replicate", "measure"], observed=True)["value"]
        .sum()
        .unstack("measure")
    )
    comp = totals.xs(cfg.comparator, level="scenario")
    for label, measure in OUTCOMES.items():
        per_rep[label] = [
            comp.at[r, measure] - totals.at[(s, r), measure]
            for s, r in zip(per_rep.scenario, per_rep.replicate, strict=True)
        ]
    per_rep["replicate"] = reps[per_rep.replicate.to_numpy()]
    per_rep.to_csv(tmp / "economics.csv", index=False)
    t["inputs"].assign(replicate=reps).to_csv(tmp / "inputs.csv", index=False)


def gather(folder: Path):
    """(design, economics of every draw, inputs of every draw) from the finished chunks."""
    import pandas as pd

    design, _sample, dirs = ch.finished_chunks(folder)
    econ = pd.concat([pd.read_csv(d / "economics.csv") for d in dirs], ignore_index=True)
    return design, econ, pd.concat([pd.read_csv(d / "inputs.csv") for d in dirs], ignore_index=True)


def export_table(econ, inputs, design: dict, multiplier: float):
    """The draws as one tidy table (draw x scenario, the comparator's rows all 0): cost, harm
    averted, outcomes averted, net benefit, then every input's drawn value (input.<name>); the
    layout R's BCEA (e, c by draw and option) and voi (outputs and inputs by draw) read."""
    import pandas as pd

    comp = econ[econ.scenario == econ.scenario.iloc[0]].copy()
    comp["scenario"] = design["comparator"]
    for col in comp.columns.drop(["scenario", "replicate"]):
        comp[col] = 0.0
    both = pd.concat([comp, econ], ignore_index=True)
    out = pd.DataFrame(
        {
            "draw": both.replicate,
            "scenario": pd.Categorical(both.scenario, design["scenarios"]),
            "cost": both.spend_pv,
            "harm_averted": both.harm_averted_pv,
            **{k: both[k] for k in OUTCOMES},
            "net_benefit": multiplier * both.harm_averted_pv - both.spend_pv,
        }
    )
    ins = inputs.set_index("replicate").add_prefix("input.").rename_axis("draw").reset_index()
    return out.merge(ins, on="draw").sort_values(["draw", "scenario"]).reset_index(drop=True)


def analyze(folder: Path, boot: int, multiplier: float) -> dict:
    """EVPI, EVPPI table and export; writes <folder>/analysis/ atomically."""
    design, econ, inputs = gather(folder)
    nb, options, draws = voi.net_benefit(
        econ, design["scenarios"], design["comparator"], multiplier
    )
    x = inputs.set_index("replicate").loc[draws].reset_index(drop=True)
    rng = np.random.default_rng([design["seed"], VOI_KEY])
    table, summary = voi.analyse(nb, options, x, boot, rng, multiplier)
    target = folder / "analysis"
    with run_folder(target, replace=True) as tmp:
        table.to_csv(tmp / "evppi.csv", index=False)
        export_table(econ, inputs, design, multiplier).to_csv(tmp / "psa.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
        write_manifest(tmp, job="voi", design_hash=design["sample_hash"], **summary)
    return {"folder": target, **summary}


def default_folder(design: dict) -> Path:
    label = f"{design['area']}-D{design['draws']}-{design['sample_hash'][:8]}"
    return Path.cwd() / "results" / f"voi-{label}"


def main(overrides: list[str]) -> int:
    job_ov, hydra_ov = ch.split_hydra(overrides)
    start = time.perf_counter()
    design, sample, st = configure(job_ov)
    out = ch.chunk_folder("voi", design, sample, st["out"], st["stage"], default_folder)
    with ch.job_log(out, "voi"):
        log.info("voi: %d draws x %d scenarios in %d chunk(s) -> %s",
                 design["draws"], len(design["scenarios"]), st["n_chunks"], out)  # fmt: skip
        if not ch.run_stage(out, st["n_chunks"], hydra_ov, st["jobs"], st["stage"], "voi"):
            return 0
        res = analyze(out, st["boot"], st["multiplier"])
        log.info("analysis written to %s in %.1f s", res["folder"], time.perf_counter() - start)
        if res["computed"]:
            found = f"EVPI {res['evpi']:,.0f} GBP per decision ({res['draws']} draws)"
        else:
            found = f"value of information not estimated: {res['reason']}"
        print(f"voi folder: {out}\n{found}; evppi: {res['folder'] / 'evppi.csv'}")
        return 0
