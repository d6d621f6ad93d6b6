"""People reached a year by each person-level allocation of a scenario, at several population
scales: the mean and SD over replicates, and the share of replicate-years reaching no one.

Delivery rounds a programme's simulated capacity (places bought x scale) up or down at random, so
its expected real-equivalent reach is what the money buys at any scale; the SD shows where a
programme becomes too small to read in one run (each simulated person stands for 1/scale real
ones). One scenario, run as `svsim compare` runs it (run_replicate), with fixed inputs
(uncertainty=false) so the spread is delivery's alone.

    .venv/bin/python -m svsim.experiments.bench.reach_by_scale [scenario=svd_allocation]
        [scales=1,0.25,0.05] [replicates=6] [any compare override, e.g. area=test_town years=2]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from ..compare.compare import compare_config, run_replicate, scenario_file
from ..config import ConfigError

DEFAULTS = {"scenario": "svd_allocation", "scales": "1,0.25,0.05", "replicates": "6"}
RUN = {"years": "2", "burn_in_years": "1", "uncertainty": "false", "parameter_uncertainty": "false"}
PERSON_UNITS = ("people", "pupils")  # reach counted in simulated people, weighted up


def parse(argv: list[str]) -> tuple[dict, list[str]]:
    """This script's settings, and the rest as compare overrides (key=value each)."""
    mine, rest = dict(DEFAULTS), dict(RUN)
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq:
            raise ConfigError(f"{arg!r}: give settings as key=value")
        (mine if key in DEFAULTS else rest)[key] = value
    try:
        scales = [float(x) for x in mine["scales"].split(",")]
        replicates = int(mine["replicates"])
    except ValueError:
        raise ConfigError(
            f"scales={mine['scales']!r} or replicates={mine['replicates']!r}: numbers needed"
        ) from None
    if not scales or not all(0 < x <= 1 for x in scales) or replicates < 2:
        raise ConfigError(f"scales={scales}: each in (0, 1]; replicates={replicates}: at least 2")
    mine.update(scales=scales, replicates=replicates)
    return mine, [f"{k}={v}" for k, v in rest.items()]


def reach_at(scale: float, settings: dict, overrides: list[str]) -> dict:
    """Per person-level allocation: reached a year per replicate-year, and what was bought."""
    given = settings["scenario"]
    is_file = given.endswith((".yaml", ".yml")) or "/" in given
    name = scenario_file(Path(given))["name"] if is_file else given
    cfg, _ = compare_config(
        [*overrides, f"population_scale={scale}", f"scenarios=[{given}]", f"comparator={name}",
         f"replicates={settings['replicates']}", "jobs=1"]
    )  # fmt: skip
    scenario = cfg.scenarios[0]
    out: dict[str, dict] = {}
    for r in range(settings["replicates"]):
        for row in run_replicate(cfg, r)["spend"][scenario.name]:
            if row["reach_unit"] not in PERSON_UNITS:
                continue
            spec = cfg.library[row["intervention"]]
            cost = spec.unit_cost.value * cfg.prices.uprate(spec.unit_cost_price_year, row["year"])
            entry = out.setdefault(
                row["intervention"], {"reached": [], "bought": [], "unit": row["reach_unit"]}
            )
            entry["reached"].append(row["reached"])
            entry["bought"].append(row["budget"] / cost)
    return out


def table(results: dict[float, dict], settings: dict) -> str:
    """Markdown: one row per intervention, per scale the mean, SD and share reaching no one."""
    scales = list(results)
    names = sorted({n for r in results.values() for n in r})
    head = "| intervention | bought a year | " + " | ".join(
        f"scale {x:g}: mean (SD), none" for x in scales
    )
    lines = [
        f"# People reached a year, {Path(settings['scenario']).stem} "
        f"({settings['replicates']} replicates per scale)",
        "",
        head + " |",
        "|---|---|" + "---|" * len(scales),
    ]
    for n in names:
        cells, bought, unit = [], np.nan, ""
        for x in scales:
            e = results[x].get(n)
            if e is None:
                cells.append("n/a")
                continue
            reached = np.array(e["reached"])
            bought, unit = float(np.mean(e["bought"])), e["unit"]
            cells.append(
                f"{reached.mean():.1f} ({reached.std(ddof=1):.1f}), {np.mean(reached == 0):.0%}"
            )
        lines.append(f"| {n} ({unit}) | {bought:.1f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean and SD over replicate-years of the real-equivalent number reached; 'none' is the "
        "share of replicate-years in which the run reached nobody. A programme is too small to "
        "read at a scale where its SD is about its mean or more, or it often reaches nobody.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    settings, overrides = parse(argv)
    results = {}
    for x in settings["scales"]:
        start = time.perf_counter()
        results[x] = reach_at(x, settings, overrides)
        print(f"scale {x:g}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print(table(results, settings), end="")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ConfigError as exc:
        print(f"reach_by_scale: error: {exc}", file=sys.stderr)
        sys.exit(2)
