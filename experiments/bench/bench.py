"""`svsim bench`: speed and memory of the full area, and the vectorised step against an idiomatic
per-agent Mesa implementation of the same rule subset (experiments/bench/reference_mesa.py).

Full-area runs are separate `svsim run` processes, timed from start to exit (people, network,
burn-in, projection and writing the outputs) with the process's own peak resident memory (from
wait4). One more run, with the step profiler on, gives the time of each weekly process; the
heaviest shipped scenario, profiled in this process with each allocation on the hook on its own,
gives each intervention's. The Mesa comparison runs in this process at each of its population
scales: construction is timed apart from stepping, and agent-weeks per second count every person
in every week. Medians over `repeats`. The Mesa reference is frozen: its file's SHA-256 is pinned
here (REFERENCE_SHA256) and printed, and a test fails if the file changes without the pin.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from svsim.model import ViolenceModel
from svsim.scenarios.delivery import Portfolio
from svsim.scenarios.inputs import draw_inputs

from ..compare.compare import compare_config, portfolio_for
from ..config import ConfigError, compose, run_config
from ..run import profile_table
from ..runfolder import default_out, run_folder, write_manifest
from .reference_mesa import make_fast, make_reference

REFERENCE = Path(__file__).with_name("reference_mesa.py")
# the frozen reference's hash: change it only with a deliberate change of the reference
REFERENCE_SHA256 = "143faa9e03f599f10df18f9ae24e7a78bbb1d7861b94a7d3f081b78214e34be1"


TARGET_SECONDS, TARGET_MB = 6, 1000  # issue 18: a full-area run, one process


def reference_hash() -> str:
    return hashlib.sha256(REFERENCE.read_bytes()).hexdigest()


def _positive_int(cfg, key: str) -> int:
    value = cfg
    for part in key.split("."):
        value = value[part]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}={value!r}: must be a whole number >= 1")
    return value


def full_area_once(settings: dict, workdir: Path, name: str, *extra: str) -> dict:
    """One `svsim run` in a fresh process (its folder `run-<name>`): wall seconds and peak
    memory (MB)."""
    out = workdir / f"run-{name}"
    args = [
        sys.executable,
        "-m",
        "svsim.experiments.cli",
        "run",
        *(f"{k}={v}" for k, v in settings.items()),
        f"out={out}",
        *extra,
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
        **({"profile": manifest["profile"]} if "profile" in manifest else {}),
    }


class _Named:
    """One allocation's delivery on the hook under its own name, so the profiler times it."""

    def __init__(self, name: str, portfolio: Portfolio):
        self.name, self.portfolio = name, portfolio

    def apply(self, week, observed, levers):
        self.portfolio.apply(week, observed, levers)


def intervention_profile(full: dict, scenario: str) -> dict:
    """Profile one replicate of `scenario` at the full area's settings, each allocation as its
    own Portfolio (same money, same places), in this process."""
    keys = ("area", "population_scale", "years", "burn_in_years", "seed")
    cfg, _ = compare_config(
        [*(f"{k}={full[k]}" for k in keys), f"scenarios=[{scenario}]", f"comparator={scenario}",
         "replicates=2", "parameter_uncertainty=false"]
    )  # fmt: skip
    s = replace(cfg.run.settings, profile=True)
    sc = cfg.scenarios[0]
    draws = draw_inputs(cfg.library, s.seed, 0, cfg.uncertainty)
    hooks = [
        _Named(a.intervention, portfolio_for(cfg, replace(sc, allocations=(a,)), draws, s.seed))
        for a in sc.allocations
    ]
    model = ViolenceModel(cfg.run.area, cfg.run.params, s, hooks)
    model.run()
    return profile_table(model)


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


def _scales(mc) -> list[float]:
    scales = list(mc.population_scales)
    ok = scales and all(
        isinstance(x, int | float) and not isinstance(x, bool) and 0 < x <= 1 for x in scales
    )
    if not ok:
        raise ConfigError(f"mesa_comparison.population_scales={scales!r}: numbers in (0, 1]")
    return scales


def main(overrides: list[str]) -> int:
    cfg = compose("bench", overrides)
    repeats = _positive_int(cfg, "repeats")
    weeks = _positive_int(cfg, "mesa_comparison.weeks")
    full = {k: cfg.full_area[k] for k in cfg.full_area}
    mc = cfg.mesa_comparison
    scales = _scales(mc)
    run_config([f"{k}={v}" for k, v in full.items()])  # refuse bad settings before timing
    compare_config([f"scenarios=[{cfg.profile_scenario}]", f"comparator={cfg.profile_scenario}"])
    out = Path(cfg.out) if cfg.out else default_out("bench", str(full["area"]))
    print(f"frozen Mesa reference {REFERENCE.name}: sha256 {reference_hash()}", flush=True)
    with run_folder(out) as folder, tempfile.TemporaryDirectory() as work:
        full_runs, funded_runs, mesa_runs = [], [], {x: [] for x in scales}
        heaviest = (f"funding={cfg.profile_scenario}",)
        kinds = ((full_runs, (), "baseline"), (funded_runs, heaviest, cfg.profile_scenario))
        for i in range(repeats):
            for runs, extra, label in kinds:
                runs.append(full_area_once(full, Path(work), f"{label}-{i}", *extra))
                print(
                    f"full area run {i + 1}/{repeats}, {label}: {runs[-1]['seconds']:.1f} s, "
                    f"{runs[-1]['peak_mb']:.0f} MB",
                    flush=True,
                )
            for x in scales:
                mesa_overrides = [f"area={mc.area}", f"population_scale={x}", f"seed={mc.seed}"]
                mesa_runs[x].append(mesa_comparison_once(mesa_overrides, weeks))
                r = mesa_runs[x][-1]
                print(
                    f"mesa comparison {i + 1}/{repeats}, {r['vectorised_subset']['people']:,} "
                    "people: "
                    + ", ".join(
                        f"{k} {v['agent_weeks_per_second']:,.0f} agent-weeks/s"
                        for k, v in r.items()
                    ),
                    flush=True,
                )
        profiled = full_area_once(full, Path(work), "profiled", "profile=true")
        print(f"profiled baseline run: {profiled['seconds']:.1f} s", flush=True)
        by_intervention = intervention_profile(full, cfg.profile_scenario)
        print(f"profiled {cfg.profile_scenario}: done", flush=True)
        comparisons = []
        for x in scales:
            med = _median_table(mesa_runs[x])
            comparisons.append(
                {
                    "population_scale": x,
                    "people": med["vectorised_subset"]["people"],
                    "runs": mesa_runs[x],
                    "medians": med,
                    "ratios_of_medians": {
                        f"vectorised_subset / {ref}": med["vectorised_subset"][
                            "agent_weeks_per_second"
                        ]
                        / med[ref]["agent_weeks_per_second"]
                        for ref in ("mesa_idiomatic", "mesa_cached_static")
                    },
                }
            )
        result = {
            "full_area": {
                "settings": full,
                "runs": full_runs,
                "median_seconds": statistics.median(r["seconds"] for r in full_runs),
                "median_peak_mb": statistics.median(r["peak_mb"] for r in full_runs),
                "funded": {
                    "scenario": cfg.profile_scenario,
                    "runs": funded_runs,
                    "median_seconds": statistics.median(r["seconds"] for r in funded_runs),
                    "median_peak_mb": statistics.median(r["peak_mb"] for r in funded_runs),
                },
            },
            "profile": {
                "baseline": {**profiled["profile"], "people": profiled["people"]},
                "scenario": cfg.profile_scenario,
                "by_intervention": by_intervention,
            },
            "mesa_comparison": {
                "reference": REFERENCE.name,
                "reference_sha256": reference_hash(),
                "area": mc.area,
                "seed": mc.seed,
                "weeks": weeks,
                "scales": comparisons,
            },
        }
        (folder / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
        (folder / "profile.json").write_text(json.dumps(result["profile"], indent=2) + "\n")
        table = report(result, repeats)
        (folder / "bench.md").write_text(table)
        write_manifest(folder, job="bench", overrides=overrides)
    print(table)
    print(f"bench folder: {out}")
    return 0


def profile_rows(profile: dict, people: int) -> list[str]:
    """Markdown rows: ms a week (a call is a week; start_year is once a model year, shown
    per year and spread over the weeks), share of the step, agent-weeks per second."""
    procs = profile["processes"]
    weeks = profile["weeks"]
    total = sum(p["seconds"] for p in procs.values())
    rows = [
        "| process | ms a call | calls | ms a week (over all weeks) | share |",
        "|---|---|---|---|---|",
    ]
    for name, p in sorted(procs.items(), key=lambda kv: -kv[1]["seconds"]):
        rows.append(
            f"| {name} | {p['ms_per_call']:.2f} | {p['calls']} | "
            f"{1000 * p['seconds'] / weeks:.2f} | {p['seconds'] / total:.0%} |"
        )
    rows.append(f"| **whole step** | | {weeks} weeks | {1000 * total / weeks:.2f} | 100% |")
    rows += ["", f"{people:,} people: {people * weeks / total:,.0f} agent-weeks per second"]
    return rows


def report(result: dict, repeats: int) -> str:
    f, m, prof = result["full_area"], result["mesa_comparison"], result["profile"]
    base = prof["baseline"]
    lines = [
        f"# svsim bench (medians of {repeats})",
        "",
        f"Full area {f['settings']}, a fresh process each (targets: {TARGET_SECONDS} s, "
        f"{TARGET_MB:,} MB):",
        "",
        "| run | median s | range s | median peak MB |",
        "|---|---|---|---|",
        *(
            f"| {name} | {r['median_seconds']:.1f} | {min(x['seconds'] for x in r['runs']):.1f}"
            f"-{max(x['seconds'] for x in r['runs']):.1f} | {r['median_peak_mb']:.0f} |"
            for name, r in (("baseline", f), (f["funded"]["scenario"], f["funded"]))
        ),
        "",
        "## Time per weekly process, baseline (one profiled run)",
        "",
        *profile_rows(base, base["people"]),
        "",
        f"## Time per intervention, {prof['scenario']} (each allocation on its own)",
        "",
        *profile_rows(prof["by_intervention"], base["people"]),
        "",
        f"## Per-agent Mesa vs vectorised ({m['reference']} sha256 {m['reference_sha256'][:16]}"
        f"..., {m['weeks']} weeks, same rule subset)",
    ]
    for c in m["scales"]:
        lines += [
            "",
            f"{c['people']:,} people (population scale {c['population_scale']}):",
            "",
            "| implementation | build s | step s | agent-weeks/s |",
            "|---|---|---|---|",
        ]
        for name, v in c["medians"].items():
            lines.append(
                f"| {name} | {v['build_seconds']:.3f} | {v['step_seconds']:.3f} | "
                f"{v['agent_weeks_per_second']:,.0f} |"
            )
        lines += [""] + [f"- {k}: {v:.1f}x" for k, v in c["ratios_of_medians"].items()]
    return "\n".join(lines) + "\n"
