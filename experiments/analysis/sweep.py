"""`svsim sweep`: a grid or list sweep over any configuration keys, chunked and resumable.

    svsim sweep                                              # the grid in conf/sweep.yaml
    svsim sweep 'grid={budget_scale:[0.5,1,2],scenario:[svd_allocation,primary_heavy]}'
    svsim sweep 'grid={params.offending.exposure_log_rr:[0.3,0.45,0.6]}' replicates=8
    svsim sweep hydra/launcher=submitit_slurm hydra.launcher.partition=compute

Every point is a comparison (`svsim compare`'s engine: replicates with common random numbers,
paired against the comparator) with the point's keys set. Keys are any key of conf/compare.yaml
(params.*, population_scale, years, uncertainty, comparator, ...) plus two of the sweep's own:
`scenario` (the scenario compared with the comparator at that point: a shipped name or a file)
and `budget_scale` (every allocation of the compared scenario multiplied by it). Every value is
checked before anything runs. Points are cut into chunks run as Hydra jobs (local cores or
SLURM), written atomically, skipped when done; the gathered result is one tidy table
(`sweep.csv`, `sweep.parquet`, `economics.csv`: a row's point and its keys first, a key's value
standing for the results' own column of that name) and a plot (`sweep.png`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from svsim.scenarios.library import ScenarioError

from .. import chunks as ch
from ..compare.compare import compare_config, run_replicate, summarise, tables
from ..config import ConfigError, compose, flatten, parse_overrides, run_config
from ..runfolder import run_folder, write_manifest

log = logging.getLogger("svsim.sweep")

OWN_KEYS = ("scenario", "budget_scale")
COMPARED = ("comparator", "scenario")  # the two scenarios a point compares
SWEEP_WIDE = ("grid", "points", "chunks", "jobs", "stage", "out")  # the sweep's own
NO_EFFECT = ("check", "decompose", "write_incidents")  # compare keys a sweep does not use
NOT_SWEPT = {  # keys a point cannot set, and why
    **dict.fromkeys(("scenarios", "alternative"), "sweep `scenario` instead (one at each point)"),
    **dict.fromkeys(SWEEP_WIDE, "is set once for the whole sweep"),
    **dict.fromkeys(NO_EFFECT, "has no effect in a sweep"),
}
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


def _is_path(v) -> bool:
    """A scenario named by its file rather than by a shipped name (as `svsim compare` reads it)."""
    return isinstance(v, str) and (v.endswith((".yaml", ".yml")) or "/" in v)


def _ref(v):
    """A scenario as chunk jobs in another folder can find it: files made absolute."""
    return str(Path(v).resolve()) if _is_path(v) else v


def _compared(design: dict, point: dict) -> list:
    """The scenarios a point compares: its comparator, then its scenario."""
    return [str(point.get(k, design[k])) for k in COMPARED]


def point_overrides(design: dict, point: dict, scenarios: list | None = None) -> list[str]:
    """The compare configuration of one point (of `scenarios`, when given, not the point's)."""
    ov = [o for o in design["base_overrides"] if o.split("=", 1)[0].lstrip("+") not in point]
    ov.append(f"scenarios=[{','.join(scenarios or _compared(design, point))}]")
    ov += [f"{k}={_fmt(v)}" for k, v in point.items() if k not in OWN_KEYS]
    return ov


def _compare(design: dict, point: dict, scenarios: list | None = None):
    """The validated compare configuration of one point; scenario errors as a ConfigError."""
    try:
        return compare_config(point_overrides(design, point, scenarios), sizes=False)[0]
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from None


def budget_problem(value) -> str | None:
    """Why a value is no budget scale (NaN would fund nothing and look like a result), or None."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        return "must be a finite number >= 0"
    return None


def _scaled_scenario(sc, scale: float):
    """A scenario with its budget and every allocation times `scale`."""
    allocations = tuple(
        replace(a, amount_per_year=a.amount_per_year * scale) for a in sc.allocations
    )
    return replace(sc, budget_per_year=sc.budget_per_year * scale, allocations=allocations)


def scaled(cfg, scale):
    """A compare configuration with its compared scenario's money times `scale` (refused unless
    a finite number >= 0); the comparator keeps its own."""
    if why := budget_problem(scale):
        raise ConfigError(f"budget_scale={scale!r}: {why}")
    if scale == 1.0:
        return cfg
    rest = tuple(_scaled_scenario(sc, scale) for sc in cfg.scenarios[1:])
    return replace(cfg, scenarios=(cfg.scenarios[0], *rest))


def _composed(point: dict) -> tuple[dict, str]:
    """A point without budget_scale (which needs no composing) and its digest, so that points
    differing only in budget_scale are composed once."""
    composed = {k: v for k, v in point.items() if k != "budget_scale"}
    return composed, json.dumps(composed, sort_keys=True, default=str)


def _take_grid(overrides: list[str]) -> tuple[list[str], dict]:
    """Take `grid=...` and `points=...` out of the overrides, parsed as Hydra values."""
    rest, found = [], {}
    for o in overrides:
        key = o.split("=", 1)[0]
        if key in ("grid", "points"):
            found[key] = parse_overrides([o])[0].value()
        else:
            rest.append(o)
    return rest, found


def _field(form: str, index: int, key: str, value) -> str:
    """How a refusal names a value: grid.KEY=VALUE, or points[I].KEY=VALUE."""
    return f"{'grid' if form == 'grid' else f'points[{index}]'}.{key}={value!r}"


def _reason(exc: Exception, key: str) -> str:
    """An error in one line, without its own `key=value:` prefix (the caller names the field)."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    first = lines[0]
    if first.startswith(tuple(f"{k}{sep}" for k in (key, "scenarios") for sep in "=:")):
        first = first.split(": ", 1)[-1]
    return first + (f" (and {len(lines) - 1} more)" if len(lines) > 1 else "")


def _kind_problem(value, default) -> str | None:
    """Why a value cannot stand where the configuration holds `default` (same kind), or None."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be true or false"
    if isinstance(default, int | float):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return None if number else "must be a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "must be a string"
    return None


def value_problem(key: str, value, defaults: dict) -> str | None:
    """Why one value of a sweep key is refused before anything is composed, or None. `defaults`:
    the sweep's configuration flattened to dotted paths (its params are the real parameters)."""
    if key in NOT_SWEPT:
        return NOT_SWEPT[key]
    if key == "budget_scale":
        return budget_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if key in COMPARED:
        return None if isinstance(value, str) else "must name a shipped scenario or a scenario file"
    if key.startswith("params.") and key not in defaults:
        return "not a model parameter (their names are in model/ODD.md)"
    if key.startswith("params.") or key not in defaults:
        return None  # the parameter's own validation, or composing, decides
    return _kind_problem(value, defaults[key])


def check_values(points: list[dict], form: str, defaults: dict) -> None:
    """Refuse the first value that no point could hold, naming it (grid.KEY=VALUE: why)."""
    for i, point in enumerate(points):
        for key, value in point.items():
            if why := value_problem(key, value, defaults):
                raise ConfigError(f"{_field(form, i, key, value)}: {why}")
    for key in COMPARED:  # two files of one name would share their rows' label
        by_label = {}
        for i, p in enumerate(points):
            v = p.get(key)
            if by_label.setdefault(_label(v), _ref(v)) != _ref(v):
                raise ConfigError(
                    f"{_field(form, i, key, v)}: labelled {_label(v)!r} in the results, as is "
                    f"{by_label[_label(v)]!r}; rename one file"
                )


def _blame(design: dict, point: dict, given: dict, form: str, index: int) -> str | None:
    """The message naming the one value that makes a refused point fail on its own, if any:
    the comparator alone, then the scenario against it, then each other key beside them."""
    comparator, scenario = _compared(design, point)
    named = {"comparator": "comparator", "scenario": "alternative"}
    trials = [("comparator", {}, [comparator]), ("scenario", {}, [comparator, scenario])]
    trials += [(k, {k: v}, None) for k, v in point.items() if k not in (*OWN_KEYS, *COMPARED)]
    for key, alone, scenarios in trials:
        try:
            _compare(design, {**{k: point[k] for k in COMPARED if k in point}, **alone}, scenarios)
        except ConfigError as exc:
            if key in given:
                return f"{_field(form, index, key, given[key])}: {_reason(exc, key)}"
            return f"{named[key]}={design[key]!r}: {_reason(exc, key)}"
    return None


def check_points(design: dict, given: list[dict], form: str) -> None:
    """Compose every distinct point once (budget_scale aside, as it needs no composing) before
    anything runs; a refusal names the value at fault, or the point when only the mix fails."""
    seen = set()
    for i, (point, raw) in enumerate(zip(design["points"], given, strict=True)):
        composed, digest = _composed(point)
        if digest in seen:
            continue
        seen.add(digest)
        try:
            _compare(design, composed)
        except ConfigError as exc:
            why = _blame(design, composed, raw, form, i)
            raise ConfigError(why or f"point {i} {json.dumps(raw)}: {_reason(exc, '')}") from None


def configure(overrides: list[str]) -> tuple[dict, np.ndarray, dict]:
    """The sweep's design from the command line, every value checked before anything runs."""
    from omegaconf import OmegaConf

    overrides, replaced = _take_grid(overrides)
    cfg = compose("sweep", overrides)
    r = OmegaConf.to_container(cfg, resolve=True)
    if replaced:  # grid= or points= on the command line replaces the file's grid entirely
        r["grid"], r["points"] = None, None
        r.update(replaced)
    run_config(overrides, config_name="sweep")  # area, params and settings are valid
    points = expand(r.get("grid"), r.get("points"))
    form = "points" if r.get("points") is not None else "grid"
    check_values(points, form, flatten(r))
    passed = ch.passed_overrides(overrides)
    design = {
        "job": "sweep",
        "evaluator": "svsim.experiments.analysis.sweep:evaluate_chunk",
        "comparator": _ref(r["comparator"]),
        "scenario": _ref(r["alternative"]),
        "replicates": r["replicates"],
        "seed": r["seed"],
        "keys": sorted(
            {k for p in points for k in p},
            key=lambda k: list(points[0]).index(k) if k in points[0] else 99,
        ),
        "points": [{k: _ref(v) if k in COMPARED else v for k, v in p.items()} for p in points],
        "base_overrides": [
            *passed,
            "" if _is_path(r["comparator"]) else f"comparator={r['comparator']}",
            f"replicates={r['replicates']}",
            "jobs=1",
            *(f"{k}={_fmt(r[k])}" for k in BASE_KEYS),
        ],
    }
    design["base_overrides"] = [o for o in design["base_overrides"] if o]
    check_points(design, points, form)
    sample = np.arange(len(points), dtype=float)[:, None]
    design["chunks"] = ch.cut(len(points), r["chunks"])
    settings = {"stage": r["stage"], "out": r.get("out"), "jobs": r["jobs"]}
    return design, sample, settings


def _labelled(table, index: int, point: dict, keys: list[str]):
    """One point's results with its index and keys as the first columns; a key naming a column
    the results already have (scenario, comparator) stands for it, as it is what was set."""
    labels = {"point": index, **{k: _label(point.get(k)) for k in keys}}
    rest = table.drop(columns=[c for c in labels if c in table.columns])
    return rest.assign(**labels)[[*labels, *rest.columns]]


def evaluate_chunk(design: dict, rows: np.ndarray, folder: Path, tmp: Path) -> None:
    """A chunk's points, each a comparison, as two labelled tables (summary and economics)."""
    import pandas as pd

    summaries, econs, configs = [], [], {}
    for i in rows[:, 0].astype(int):
        point = design["points"][i]
        composed, digest = _composed(point)
        if digest not in configs:
            configs[digest] = _compare(design, composed)
        cfg = scaled(configs[digest], point.get("budget_scale", 1.0))
        results = [run_replicate(cfg, r) for r in range(cfg.replicates)]
        summary, econ, _ = summarise(cfg, tables(cfg, results))
        summaries.append(_labelled(summary, int(i), point, design["keys"]))
        econs.append(_labelled(econ, int(i), point, design["keys"]))
    pd.concat(summaries).to_parquet(tmp / "summary.parquet", index=False)
    pd.concat(econs).to_parquet(tmp / "economics.parquet", index=False)


def _label(v):
    """A value as a table cell: a scenario file by its name, a list or map as JSON."""
    if _is_path(v):
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
    out = ch.chunk_folder("sweep", design, sample, st["out"], st["stage"], default_folder)
    with ch.job_log(out, "sweep"):
        n_chunks = len(design["chunks"])
        log.info("sweep: %d points in %d chunk(s) -> %s", len(sample), n_chunks, out)
        if not ch.run_stage(out, n_chunks, hydra_ov, st["jobs"], st["stage"], "sweep"):
            return 0
        target = analyze(out)
        log.info("sweep gathered in %s (%.1f s)", target, time.perf_counter() - start)
        print(f"sweep folder: {out}\ntable: {target / 'sweep.csv'}\nplot: {target / 'sweep.png'}")
        return 0
