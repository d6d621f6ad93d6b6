"""The model as the search's evaluator: each mix a scenario, run on `svsim compare`'s paired
replicates (compare.run_replicate: one burn-in per replicate, every scenario on the same draws and
random numbers) against nothing funded, valued by compare.summarise.

A stage (screening, confirmation) is a chunk folder (experiments/chunks.py) of rows (replicate,
mix), replicate by replicate, cut so that a chunk holds whole replicates or part of one: a chunk
pays one burn-in and one run of nothing funded per replicate it touches. So a stage runs on local
cores or SLURM with the same command, and a killed stage resumes where it stopped.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from svsim.scenarios.library import scenario_from_dict

from .. import chunks as ch
from ..compare.compare import compare_config, run_replicate, summarise, tables
from ..config import ConfigError
from .mix import Mix, scenario_dict

REFERENCE = "no_new_funding"  # the shipped scenario that funds nothing: every value is against it
OUTCOMES = {  # objective -> compare's measure, averted over the horizon
    "admissions_averted": "admissions_expected",
    "homicides_averted": "homicides_expected",
    "serious_violence_averted": "serious_violence_true",
}
OBJECTIVES = ("net_social_benefit", *OUTCOMES)
COLUMNS = ("spend_pv", "harm_averted_pv", "net_social_benefit", *OUTCOMES)


def cut_by_replicate(replicates: int, mixes: int, chunks: int) -> list[tuple[int, int]]:
    """Row ranges of at most `chunks` chunks over replicate-major rows: whole replicates, or each
    replicate cut in chunks // replicates parts (each part pays its own burn-in)."""
    per = chunks // replicates
    if per <= 1:
        return [(a * mixes, b * mixes) for a, b in ch.cut(replicates, chunks)]
    return [(r * mixes + a, r * mixes + b)
            for r in range(replicates) for a, b in ch.cut(mixes, per)]  # fmt: skip


def evaluate_chunk(design: dict, rows: np.ndarray, folder: Path, tmp: Path) -> None:
    """The chunk job's work: each of its replicates once, with its mixes and nothing funded;
    writes values.csv, a row per (replicate, mix) with every objective's value."""
    import pandas as pd

    cfg, _ = compare_config(design["compare_overrides"], sizes=False)
    s = cfg.run.settings
    places = {c.name for c in cfg.run.area.communities} | {c.name for c in cfg.run.area.csps}
    years = (s.start_year, s.start_year + s.years - 1)
    out = []
    for r, group in itertools.groupby(rows.astype(int), key=lambda row: int(row[0])):
        js = [int(j) for _, j in group]
        mixes = [
            scenario_from_dict(design["mixes"][j], f"mix {j}", cfg.library, places, years)
            for j in js
        ]
        sub = replace(cfg, scenarios=(cfg.scenarios[0], *mixes), replicates=2)
        result = run_replicate(sub, r)
        # summarise's intervals need two replicates: the one run is given twice, row 0 read
        t = tables(sub, [result, result])
        _, _, per_rep = summarise(sub, t)
        per_rep = per_rep[per_rep.replicate == 0].set_index("scenario")
        totals = (
            t["by_year"][
                (t["by_year"].replicate == 0) & t["by_year"].measure.isin(OUTCOMES.values())
            ]
            .groupby(["scenario", "measure"], observed=True)["value"]
            .sum()
        )
        for j, sc in zip(js, mixes, strict=True):
            row = per_rep.loc[sc.name]
            out.append(
                {
                    "replicate": r,
                    "mix": j,
                    "spend_pv": row.spend_pv,
                    "harm_averted_pv": row.harm_averted_pv,
                    "net_social_benefit": row.harm_averted_pv - row.spend_pv,
                    **{
                        k: totals[(REFERENCE, m)] - totals[(sc.name, m)]
                        for k, m in OUTCOMES.items()
                    },
                }
            )
    pd.DataFrame(out, columns=["replicate", "mix", *COLUMNS]).to_csv(
        tmp / "values.csv", index=False
    )


def gather(folder: Path):
    """Every (replicate, mix) row of a finished stage, in the stage's row order."""
    import pandas as pd

    _design, _sample, dirs = ch.finished_chunks(folder)
    return pd.concat([pd.read_csv(d / "values.csv") for d in dirs], ignore_index=True)


@dataclass(frozen=True)
class Stage:
    """One evaluation stage: its folder name and population scale."""

    name: str
    population_scale: float


class ModelEvaluator:
    """search.Evaluator on the model: each call a stage (by its replicates), a chunk folder under
    `out`, prepared once, its missing chunks run, its values read back."""

    def __init__(self, out: Path, settings: dict, stages: dict, hydra: list[str]):
        self.out, self.settings, self.stages, self.hydra = out, settings, stages, hydra
        self.values: dict[str, object] = {}  # stage name -> its gathered table
        self.seconds: dict[str, float] = {}  # stage name -> wall seconds this command spent

    def compare_overrides(self, stage: Stage) -> list[str]:
        s = self.settings
        return [
            *s["passed"],
            f"scenarios=[{REFERENCE}]",
            f"comparator={REFERENCE}",
            "replicates=2",
            f"uncertainty={str(s['uncertainty']).lower()}",
            f"parameter_uncertainty={str(s['parameter_uncertainty']).lower()}",
            "decompose=false",
            "jobs=1",
            f"years={s['years']}",
            f"burn_in_years={s['burn_in_years']}",
            f"seed={s['seed']}",
            f"start_year={s['start_year']}",
            f"population_scale={stage.population_scale}",
        ]

    def design(self, stage: Stage, mixes: Sequence[Mix], replicates: Sequence[int]) -> tuple:
        s = self.settings
        years = (s["start_year"], s["start_year"] + s["years"] - 1)
        data = [
            scenario_dict(
                m, f"mix-{j:04d}", f"Mix {j}", "A mix the search evaluates.", years, s["start_year"]
            )
            for j, m in enumerate(mixes)
        ]
        design = {
            "job": "optimise",
            "stage": stage.name,
            "evaluator": "svsim.experiments.optimise.evaluate:evaluate_chunk",
            "seed": s["seed"],
            "population_scale": stage.population_scale,
            "compare_overrides": self.compare_overrides(stage),
            "mixes": data,
            "chunks": cut_by_replicate(len(replicates), len(mixes), s["chunks"]),
        }
        sample = np.array(list(itertools.product(replicates, range(len(mixes)))), float)
        return design, sample

    def evaluate(self, mixes: Sequence[Mix], replicates: Sequence[int]) -> np.ndarray:
        stage = self.stages[tuple(replicates)]
        clock = time.perf_counter()
        folder = self.out / stage.name
        design, sample = self.design(stage, mixes, replicates)
        ch.prepare(folder, design, sample)
        n = len(design["chunks"])
        if ch.execute(folder, n, self.hydra, self.settings["jobs"]):
            _done, failed, missing = ch.status(folder, n)
            raise ConfigError(ch.describe_missing(folder, missing, failed) + "; re-run the command")
        self.values[stage.name] = gather(folder)
        self.seconds[stage.name] = round(time.perf_counter() - clock, 1)
        return self.matrix(stage.name, self.settings["objective"], len(mixes), replicates)

    def matrix(self, stage: str, objective: str, mixes: int, replicates) -> np.ndarray:
        """An evaluated stage's values of one objective [mixes, replicates]."""
        wide = self.values[stage].pivot(index="mix", columns="replicate", values=objective)
        return wide.loc[range(mixes), list(replicates)].to_numpy(float)
