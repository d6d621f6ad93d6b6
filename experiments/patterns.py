"""`svsim patterns`: each setting's patterns of violence (model/patterns.py), in their scopes,
against the published figures, over a few seeds, and which parameter moves each.

svsim patterns                  # print the table (shipped point: scale 1, seeds 12-14, 3 years)
svsim patterns --moves          # also: each row's first named parameter x1.25, one run each
svsim patterns --write          # rewrite the tables in model/ODD.md section 7.13
svsim patterns seed=3 population_scale=0.25   # any run override; then not the shipped point
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from svsim.model import ViolenceModel
from svsim.model.odd import sync_block
from svsim.model.params import Params
from svsim.model.patterns import patterns, table

from .config import ConfigError, run_config
from .stopping import worker_pool

RUN = {"years": 3, "population_scale": 1.0}
SEEDS = (12, 13, 14)
MOVE = 1.25  # the factor each named parameter is moved by
ODD_START, ODD_END = "<!-- setting-patterns:start -->", "<!-- setting-patterns:end -->"


def one(overrides: list[str], seed: int, move: tuple[str, float] | None = None) -> pd.DataFrame:
    cfg = run_config(overrides)
    params = cfg.params
    if move is not None:
        params = _moved(params, *move)
    model = ViolenceModel(cfg.area, params, replace(cfg.settings, seed=seed))
    return table(patterns(model, model.run()))


def _moved(params: Params, path: str, factor: float) -> Params:
    group, name = path.split(".")
    section = getattr(params, group)
    return replace(params, **{group: replace(section, **{name: getattr(section, name) * factor})})


def _first_parameter(moved_by: str) -> str | None:
    first = moved_by.split(",")[0].strip()
    group, _, name = first.partition(".")
    ok = group in Params.__dataclass_fields__ and name and "*" not in name
    return first if ok else None


def summarise(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """Mean and range over seeds of each row; met judged on the mean."""
    base = runs[0].drop(columns=["model", "met"])
    values = np.array([r["model"].to_numpy(float) for r in runs])
    base["model"] = values.mean(axis=0)
    base["seed_low"], base["seed_high"] = values.min(axis=0), values.max(axis=0)
    base["met"] = [
        None if math.isnan(lo) else bool(lo <= v <= hi)
        for v, lo, hi in zip(base.model, base.low, base.high, strict=True)
    ]
    return base


def _fmt(x: float) -> str:
    if math.isnan(x):
        return ""
    return f"{x:.3f}" if abs(x) < 10 else f"{x:,.0f}"


def markdown(summary: pd.DataFrame, moves: pd.Series | None, label: str) -> str:
    lines = [
        f"Patterns at {label}mean of seeds {', '.join(map(str, SEEDS))} (range in brackets); "
        f"'moves' is the change when the row's first named parameter is x{MOVE} (one run, "
        "seed 12).",
        "",
        "| setting | pattern | scope | model | published | meets | moved by | moves |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in summary.iterrows():
        met = {True: "yes", False: "**no**", None: "-"}[r.met]
        rng = f" [{_fmt(r.seed_low)}-{_fmt(r.seed_high)}]"
        move = ""
        if moves is not None and not math.isnan(moves.iloc[i]):
            move = f"{moves.iloc[i]:+.3f}"
        band = "" if math.isnan(r.low) else f" ({_fmt(r.low)}-{_fmt(r.high)})"
        lines.append(
            f"| {r.setting} | {r.pattern} | {r.scope} | {_fmt(r.model)}{rng} | "
            f"{r.published}{band} | {met} | {r.moved_by} | {move} |"
        )
    n_met = sum(m is True for m in summary.met)
    n_rows = sum(m is not None for m in summary.met)
    lines += ["", f"{n_met} of {n_rows} rows with a published range are met."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    flags = {a for a in argv if a.startswith("--")}
    unknown = flags - {"--moves", "--write"}
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown flag (known: --moves, --write)")
    user = [a for a in argv if a not in flags]
    overrides = [f"{k}={v}" for k, v in RUN.items()] + user
    run_config(overrides)  # refuse bad overrides before any run
    with worker_pool(2) as pool:
        runs = list(pool.map(one, [overrides] * len(SEEDS), SEEDS))
        summary = summarise(runs)
        moves = None
        if "--moves" in flags:
            names = [_first_parameter(m) for m in summary.moved_by]
            todo = sorted({n for n in names if n})
            moved = dict(
                zip(
                    todo,
                    pool.map(
                        one,
                        [overrides] * len(todo),
                        [SEEDS[0]] * len(todo),
                        [(n, MOVE) for n in todo],
                    ),
                    strict=True,
                )
            )
            moves = pd.Series(
                [
                    moved[n]["model"].iloc[i] - runs[0]["model"].iloc[i] if n else math.nan
                    for i, n in enumerate(names)
                ]
            )
    label = "the shipped point (scale 1, 3 years after burn-in), " if not user else ""
    text = markdown(summary, moves, label)
    if "--write" not in flags:
        print(text)
        return 0
    return sync_block(ODD_START, ODD_END, text, True, "svsim patterns --moves --write")
