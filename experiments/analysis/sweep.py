"""`svsim sweep`: a grid or list sweep over any configuration keys, chunked and resumable.

    svsim sweep                                              # the grid in conf/sweep.yaml
    svsim sweep 'grid={budget_scale:[0.5,1,2],scenario:[svd_allocation,primary_heavy]}'
    svsim sweep 'grid={params.offending.exposure_log_rr:[0.3,0.45,0.6]}' replicates=8
    svsim sweep hydra/launcher=submitit_slurm hydra.launcher.partition=compute

Every point is a comparison (`svsim compare`'s engine: replicates with common random numbers,
paired against the comparator) with the point's keys set. Keys are any key of conf/compare.yaml
(params.*, population_scale, years, uncertainty, ...) plus two of the sweep's own:
`scenario` (the scenario compared with the comparator at that point) and `budget_scale` (every
allocation of the compared scenarios multiplied by it). Points are cut into chunks run as Hydra
jobs (local cores or SLURM), written atomically, skipped when done; the gathered result is one
tidy table (`sweep.csv`, `sweep.parquet`, `economics.csv`) and a plot (`sweep.png`).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from svsim.scenarios.library import ScenarioError

from .. import chunks as ch
from ..compare.compare import compare_config, run_replicate, summarise, tables
from ..config import ConfigError, compose, run_config
from ..runfolder import run_folder, write_manifest

log = logging.getLogger("svsim.sweep")

OWN_KEYS = ("scenario", "budget_scale")
BASE_KEYS = ("years", "burn_in_years", "seed", "population_scale", "start_year", "uncertainty")
PLOT_MEASURES = ("admissions_expected", "violence_with_injury_true")


def _fmt(v) -> str:
    """A value as a Hydra override value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "[" + ",".join(_fmt(x) for x in v) + "]"
    if v is None:
        return "null"
    return str(v)


def expand(grid, points) -> list[dict]:
    """The sweep's points: a list as given, or the cartesian product of a grid."""
    if points is not None:
        if (
            not isinstance(points, list)
            or not points
            or not all(isinstance(p, dict) for p in points)
        ):
            raise ConfigError(f"points={points!r}: must be a non-empty list of maps")
        return [dict(p) for p in points]
    if not isinstance(grid, dict) or not grid:
        raise ConfigError(f"grid={grid!r}: must be a non-empty map of key: [values]")
    for k, vals in grid.items():
        if not isinstance(vals, list) or not vals:
            raise ConfigError(f"grid.{k}={vals!r}: must be a non-empty list of values")
    keys = list(grid)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]


def point_overrides(design: dict, point: dict) -> list[str]:
    """The compare configuration of one point."""
    ov = [o for o in design["base_overrides"] if o.split("=", 1)[0].lstrip("+") not in point]
    scen = point.get("scenario", design["scenario"])
    ov.append(f"scenarios=[{design['comparator']},{scen}]")
    ov += [f"{k}={_fmt(v)}" for k, v in point.items() if k not in OWN_KEYS]
    return ov


def point_config(design: dict, point: dict):
    try:
        cfg, _ = compare_config(point_overrides(design, point))
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from None
    scale = point.get("budget_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or scale < 0:
        raise ConfigError(f"budget_scale={scale!r}: must be a number >= 0")
    if scale != 1.0:
        scaled = [cfg.scenarios[0]] + [
            replace(
                sc,
                budget_per_year=sc.budget_per_year * scale,
                allocations=tuple(
                    replace(a, amount_per_year=a.amount_per_year * scale) for a in sc.allocations
                ),
            )
            for sc in cfg.scenarios[1:]
        ]
        cfg = replace(cfg, scenarios=tuple(scaled))
    return cfg


def _take_grid(overrides: list[str]) -> tuple[list[str], dict]:
    """Take `grid=...` and `points=...` out of the overrides, parsed as Hydra values."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    rest, found = [], {}
    for o in overrides:
        key = o.split("=", 1)[0]
        if key in ("grid", "points"):
            try:
                found[key] = OverridesParser.create().parse_overrides([o])[0].value()
            except HydraException as exc:
                raise ConfigError(
                    f"{key}: cannot parse {o!r}: {str(exc).splitlines()[0]}"
                ) from None
        else:
            rest.append(o)
    return rest, found


def configure(overrides: list[str]) -> tuple[dict, np.ndarray, dict]:
    from omegaconf import OmegaConf

    overrides, replaced = _take_grid(overrides)
    cfg = compose("sweep", overrides)
    r = OmegaConf.to_container(cfg, resolve=True)
    if replaced:  # grid= or points= on the command line replaces the file's grid entirely
        r["grid"], r["points"] = None, None
        r.update(replaced)
    run_config(overrides, config_name="sweep")  # area, params and settings are valid
    for key, lo in (("replicates", 2), ("chunks", 1), ("jobs", 1)):
        v = r[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ConfigError(f"{key}={v!r}: must be a whole number >= {lo}")
    if r["stage"] not in ("all", "prepare", "run", "analyze"):
        raise ConfigError(f"stage={r['stage']!r}: must be one of all, prepare, run, analyze")
    points = expand(r.get("grid"), r.get("points"))
    passed = ch.passed_overrides(overrides)
    ref = lambda s: str(Path(s).resolve()) if str(s).endswith((".yaml", ".yml")) else str(s)  # noqa: E731
    design = {
        "job": "sweep",
        "evaluator": "svsim.experiments.analysis.sweep:evaluate_chunk",
        "comparator": ref(r["comparator"]),
        "scenario": ref(r["alternative"]),
        "replicates": r["replicates"],
        "seed": r["seed"],
        "keys": sorted(
            {k for p in points for k in p},
            key=lambda k: list(points[0]).index(k) if k in points[0] else 99,
        ),
        "points": [{k: ref(v) if k == "scenario" else v for k, v in p.items()} for p in points],
        "base_overrides": [
            *passed,
            f"comparator={r['comparator']}" if not ref(r["comparator"]).endswith(".yaml") else "",
            f"replicates={r['replicates']}",
            "jobs=1",
            *(f"{k}={_fmt(r[k])}" for k in BASE_KEYS),
        ],
    }
    design["base_overrides"] = [o for o in design["base_overrides"] if o]
    for i, p in enumerate(design["points"]):  # refuse a bad point before anything runs
        try:
            point_config(design, p)
        except ConfigError as exc:
            raise ConfigError(f"point {i} {json.dumps(p)}: {exc}") from None
    sample = np.arange(len(points), dtype=float)[:, None]
    design["chunks"] = ch.cut(len(points), r["chunks"])
    settings = {"stage": r["stage"], "out": r.get("out"), "jobs": r["jobs"]}
    return design, sample, settings


def evaluate_chunk(design: dict, rows: np.ndarray, folder: Path, tmp: Path) -> None:
    import pandas as pd

    summaries, econs = [], []
    for i in rows[:, 0].astype(int):
        point = design["points"][i]
        cfg = point_config(design, point)
        results = [run_replicate(cfg, r) for r in range(cfg.replicates)]
        summary, econ, _ = summarise(cfg, tables(cfg, results))
        for df in (summary, econ):
            df.insert(0, "point", i)
            for j, k in enumerate(design["keys"]):
                if k in df.columns:  # 'scenario': the point's label, as for every grid key
                    df[k] = _label(point.get(k))
                else:
                    df.insert(1 + j, k, _label(point.get(k)))
        summaries.append(summary)
        econs.append(econ)
    pd.concat(summaries).to_parquet(tmp / "summary.parquet", index=False)
    pd.concat(econs).to_parquet(tmp / "economics.parquet", index=False)


def _label(v):
    if isinstance(v, str) and v.endswith((".yaml", ".yml")):
        return Path(v).stem
    return v if isinstance(v, int | float | str) or v is None else json.dumps(v)


def gather(folder: Path):
    import pandas as pd

    design, _ = ch.load_design(folder)
    n = len(design["chunks"])
    _done, failed, missing = ch.status(folder, n)
    if missing:
        raise ConfigError(ch.describe_missing(folder, missing, failed))
    s = pd.concat([pd.read_parquet(ch.chunk_dir(folder, i) / "summary.parquet") for i in range(n)])
    e = pd.concat(
        [pd.read_parquet(ch.chunk_dir(folder, i) / "economics.parquet") for i in range(n)]
    )
    return design, s.reset_index(drop=True), e.reset_index(drop=True)


def analyze(folder: Path) -> Path:
    design, summary, econ = gather(folder)
    target = folder / "analysis"
    with run_folder(target, replace=True) as tmp:
        summary.to_parquet(tmp / "sweep.parquet", index=False)
        summary.to_csv(tmp / "sweep.csv", index=False)
        econ.to_csv(tmp / "economics.csv", index=False)
        _plot(design, summary, econ, tmp / "sweep.png")
        write_manifest(
            tmp, job="sweep", stage="analyze", sample_hash=design["sample_hash"],
            points=len(design["points"]), keys=design["keys"], chunks=len(design["chunks"]),
        )  # fmt: skip
    return target


def _plot(design: dict, summary, econ, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = design["keys"]
    x, others = keys[0], keys[1:]
    panels = [(m, summary[summary.measure == m], "averted") for m in PLOT_MEASURES]
    panels.append(("net social benefit (PV, £)", econ, "net_benefit_pv"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4))
    for ax, (title, df, col) in zip(axes, panels, strict=True):
        groups = df.groupby(others, dropna=False) if others else [((), df)]
        for name, g in groups:
            g = g.sort_values(x)
            mean, lo, hi = g[f"{col}_mean"], g[f"{col}_p05"], g[f"{col}_p95"]
            xs = g[x].astype(str) if g[x].dtype == object else g[x]
            label = ", ".join(map(str, name if isinstance(name, tuple) else (name,)))
            ax.errorbar(xs, mean, yerr=[mean - lo, hi - mean], marker="o", capsize=3, label=label)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel(x)
        ax.set_title(f"{title}: {col.replace('_', ' ')} (90% interval)", fontsize=9)
        if others:
            ax.legend(fontsize=7, title=", ".join(others), title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def default_folder(design: dict) -> Path:
    return (
        Path.cwd()
        / "results"
        / (
            f"sweep-{'-'.join(k.split('.')[-1] for k in design['keys'])}-"
            f"{len(design['points'])}pts-{design['sample_hash'][:8]}"
        )
    )


def main(overrides: list[str]) -> int:
    job_ov, hydra_ov = ch.split_hydra(overrides)
    start = time.perf_counter()
    design, sample, st = configure(job_ov)
    design["sample_hash"] = ch.design_hash(design, sample)
    out = Path(st["out"]) if st["out"] else default_folder(design)
    design.pop("sample_hash")
    if st["stage"] == "analyze":
        if not (out / "design.json").is_file():
            raise ConfigError(f"out={str(out)!r}: no sweep chunk folder there")
    else:
        ch.prepare(out, design, sample)
    out = out.resolve()
    handler = ch.file_logger(out, "sweep")
    try:
        n_chunks = len(design["chunks"])
        log.info("sweep: %d points in %d chunk(s) -> %s", len(sample), n_chunks, out)
        if not ch.run_stage(out, n_chunks, hydra_ov, st["jobs"], st["stage"], "sweep"):
            return 0
        target = analyze(out)
        log.info("sweep gathered in %s (%.1f s)", target, time.perf_counter() - start)
        print(f"sweep folder: {out}\ntable: {target / 'sweep.csv'}\nplot: {target / 'sweep.png'}")
        return 0
    finally:
        logging.getLogger("svsim").removeHandler(handler)
        handler.close()
