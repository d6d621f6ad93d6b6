"""`svsim bench`: speed and memory of the full area, and the vectorised step against an idiomatic
per-agent Mesa implementation of the same rule subset (experiments/bench/reference_mesa.py).

Full-area runs are separate `svsim run` processes, timed from start to exit (people, network,
burn-in, projection and writing the outputs) with the process's own peak resident memory (from
wait4). The Mesa comparison runs in this process: construction is timed apart from stepping, and
agent-weeks per second count every person in every week. Medians over `repeats`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config import ConfigError, compose, run_config
from ..runfolder import default_out, run_folder, write_manifest
from .reference_mesa import make_fast, make_reference


def _positive_int(cfg, key: str) -> int:
    value = cfg
    for part in key.split("."):
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}={value!r}: must be a whole number >= 1")
    return value


def full_area_once(settings: dict, workdir: Path, i: int) -> dict:
    """One `svsim run` in a fresh process: wall seconds and peak memory (MB)."""
    out = workdir / f"run-{i}"
    args = [
        sys.executable,
        "-m",
        "svsim.experiments.cli",
        "run",
        *(f"{k}={v}" for k, v in settings.items()),
        f"out={out}",
    ]
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"svsim run failed ({proc.returncode}): {err.strip()[-500:]}")
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "seconds": seconds,
        "peak_mb": usage.ru_maxrss / 1024,
        "people": manifest["population_simulated_start"],
        "inner_seconds": manifest["seconds"],
    }


def _time_steps(model, weeks: int) -> float:
    start = time.perf_counter()
    for _ in range(weeks):
        model.step()
    return time.perf_counter() - start


def mesa_comparison_once(overrides: list[str], weeks: int) -> dict:
    """Construct and step each implementation once; seconds and agent-weeks per second."""
    cfg = run_config(overrides)
    out = {}
    builders = {
        "mesa_idiomatic": lambda: make_reference(cfg.area, cfg.params, cfg.settings, 1),
        "mesa_cached_static": lambda: make_reference(
            cfg.area, cfg.params, cfg.settings, 1, cache_static=True
        ),
        "vectorised_subset": lambda: make_fast(cfg.area, cfg.params, cfg.settings, weeks),
    }
    for name, build in builders.items():
        start = time.perf_counter()
        model = build()
        built = time.perf_counter() - start
        people = len(model.persons) if hasattr(model, "persons") else len(model.people)
        stepped = _time_steps(model, weeks)
        out[name] = {
            "people": people,
            "build_seconds": built,
            "step_seconds": stepped,
            "agent_weeks_per_second": people * weeks / stepped,
        }
    return out


def _median_table(runs: list[dict]) -> dict:
    return {
        name: {k: statistics.median(r[name][k] for r in runs) for k in runs[0][name]}
        for name in runs[0]
    }


def main(overrides: list[str]) -> int:
    cfg = compose("bench", overrides)
    repeats = _positive_int(cfg, "repeats")
    weeks = _positive_int(cfg, "mesa_comparison.weeks")
    full = {k: cfg.full_area[k] for k in cfg.full_area}
    mc = cfg.mesa_comparison
    mesa_overrides = [
        f"area={mc.area}",
        f"population_scale={mc.population_scale}",
        f"seed={mc.seed}",
    ]
    run_config([f"{k}={v}" for k, v in full.items()])  # refuse bad settings before timing
    out = Path(cfg.out) if cfg.out else default_out("bench", str(full["area"]))
    with run_folder(out) as folder, tempfile.TemporaryDirectory() as work:
        full_runs, mesa_runs = [], []
        for i in range(repeats):
            full_runs.append(full_area_once(full, Path(work), i))
            print(
                f"full area run {i + 1}/{repeats}: {full_runs[-1]['seconds']:.1f} s, "
                f"{full_runs[-1]['peak_mb']:.0f} MB",
                flush=True,
            )
            mesa_runs.append(mesa_comparison_once(mesa_overrides, weeks))
            r = mesa_runs[-1]
            print(
                f"mesa comparison {i + 1}/{repeats}: "
                + ", ".join(
                    f"{k} {v['agent_weeks_per_second']:,.0f} agent-weeks/s" for k, v in r.items()
                ),
                flush=True,
            )
        med = _median_table(mesa_runs)
        ratios = {
            f"vectorised_subset / {ref}": med["vectorised_subset"]["agent_weeks_per_second"]
            / med[ref]["agent_weeks_per_second"]
            for ref in ("mesa_idiomatic", "mesa_cached_static")
        }
        result = {
            "full_area": {
                "settings": full,
                "runs": full_runs,
                "median_seconds": statistics.median(r["seconds"] for r in full_runs),
                "median_peak_mb": statistics.median(r["peak_mb"] for r in full_runs),
            },
            "mesa_comparison": {
                "settings": dict(mc),
                "weeks": weeks,
                "runs": mesa_runs,
                "medians": med,
                "ratios_of_medians": ratios,
            },
        }
        (folder / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
        table = report(result, repeats)
        (folder / "bench.md").write_text(table)
        write_manifest(folder, job="bench", overrides=overrides)
    print(table)
    print(f"bench folder: {out}")
    return 0


def report(result: dict, repeats: int) -> str:
    f, m = result["full_area"], result["mesa_comparison"]
    lines = [
        f"# svsim bench (medians of {repeats})",
        "",
        f"Full area {f['settings']}: {f['median_seconds']:.1f} s wall, "
        f"{f['median_peak_mb']:.0f} MB peak (targets: 30 s, 1,500 MB)",
        "",
        f"Per-agent Mesa vs vectorised, {m['medians']['vectorised_subset']['people']:,} "
        f"people, {m['weeks']} weeks, same rule subset:",
        "",
        "| implementation | build s | step s | agent-weeks/s |",
        "|---|---|---|---|",
    ]
    for name, v in m["medians"].items():
        lines.append(
            f"| {name} | {v['build_seconds']:.3f} | {v['step_seconds']:.3f} | "
            f"{v['agent_weeks_per_second']:,.0f} |"
        )
    lines += [""] + [f"- {k}: {v:.1f}x (target 50x)" for k, v in m["ratios_of_medians"].items()]
    return "\n".join(lines) + "\n"
