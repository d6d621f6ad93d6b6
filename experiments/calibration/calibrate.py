"""`svsim calibrate`: history matching of the free parameters to the fitted rows, in waves of
chunked, resumable Hydra jobs (the same machinery as sensitivity analysis: experiments/chunks.py).

    svsim calibrate                                   # waves on this machine's cores
    svsim calibrate hydra/launcher=submitit_slurm hydra.launcher.partition=compute   # on SLURM

Each wave's design is written once to <out>/wave-N (a chunk folder) and kept, with its finished
chunks and its emulators, so a re-run continues where a killed one stopped (a later wave's design
is drawn again, and discarded, only to keep the random stream of a fresh run). After the last
wave: the plausible set (simulated points no fitted row rules out), each parameter's plausible
range and whether it is identified, the rows that are structural misfit, a recovery check at
known points, and best.yaml (the plausible set, which compare, the page and sensitivity analysis
sample per replicate).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import chunks as ch
from .. import stopping
from ..config import CONF_DIR, ConfigError, compose, load_yaml, run_config, set_path
from ..runfolder import run_folder, write_manifest
from . import history as hm
from .targets import observation, rows_from_dict, run_values, table

log = logging.getLogger("svsim.calibrate")
RUN_KEYS = ("years", "burn_in_years", "population_scale", "start_year")


def load_rows(name: str, area) -> list:
    path = Path(name) if name.endswith((".yaml", ".yml")) else CONF_DIR / "targets" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"targets_file={name!r}: no such targets file")
    return rows_from_dict(load_yaml(path, "targets"), {c.name for c in area.communities})


def _leaves(spec, prefix: str = "") -> dict:
    """Flatten the nested free set to {dotted path: bounds}; a leaf is a mapping with 'low'."""
    if isinstance(spec, dict) and ("low" in spec or "high" in spec):
        return {prefix: spec}
    if not isinstance(spec, dict) or not spec:
        where = f"free.{prefix}" if prefix else "free"
        raise ConfigError(f"{where}={spec!r}: must be bounds {{low, high}} or a mapping")
    out = {}
    for k, v in spec.items():
        out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def free_parameters(spec, check_overrides: list[str]) -> tuple:
    """Validate the free set: bounds in order, a source for each, every path a real key."""
    out = []
    for path, b in _leaves(spec).items():
        if "low" not in b or "high" not in b:
            raise ConfigError(f"free.{path}={b!r}: needs low and high")
        lo, hi = b["low"], b["high"]
        for k, v in (("low", lo), ("high", hi)):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"free.{path}.{k}={v!r}: must be a number")
        if lo >= hi:
            raise ConfigError(f"free.{path}: lower bound {lo} is not below upper bound {hi}")
        if b.get("log") and lo <= 0:
            raise ConfigError(f"free.{path}.low={lo}: a log-scale bound must be positive")
        if not path.startswith(("params.", "csp_hazard_multiplier.")):
            raise ConfigError(
                f"free.{path}: unknown parameter (free parameters are params.* "
                "or csp_hazard_multiplier.<CSP>)"
            )
        out.append(
            hm.Free(path, float(lo), float(hi), bool(b.get("log")), str(b.get("source", "")))
        )
    try:  # an unknown name or a bound outside a parameter's range is refused here
        for end in ("low", "high"):
            run_config(
                [*check_overrides]
                + [f"{f.path}={getattr(f, end)}" for f in out if f.path.startswith("params.")]
                + [f"++{f.path}={getattr(f, end)}" for f in out if not f.path.startswith("params.")]
            )
    except ConfigError as exc:
        raise ConfigError(f"free: {exc}") from None
    return tuple(out)


def point_overrides(base: list[str], values: dict) -> list[str]:
    return [*base, *(f"++{k}={v!r}" for k, v in values.items())]


def uncalibrated(overrides: list[str]):
    """The run configuration without a shipped calibration (conf/calibrated/<area>.yaml): a
    point is the uncalibrated defaults plus its own values, whatever is shipped."""
    try:
        return run_config([*overrides, "~calibrated"])
    except ConfigError as exc:
        if "'calibrated' does not exist" not in str(exc):
            raise
        return run_config(overrides)


def run_point(base: list[str], values: dict, seed: int) -> dict:
    """One model run at a parameter set, measured for the rows."""
    from svsim.model import ViolenceModel

    from .targets import statistics

    cfg = uncalibrated(point_overrides(base, values))
    model = ViolenceModel(cfg.area, cfg.params, replace(cfg.settings, seed=seed))
    return statistics(model, model.run())


def evaluate_chunk(design: dict, rows: np.ndarray, folder: Path, tmp: Path) -> None:
    """A chunk of a wave: each row of the sample is (point index, unit coordinates...)."""
    free = tuple(hm.Free(**f) for f in design["free"])
    out = []
    for row in rows:
        i = int(row[0])
        values = hm.values_at(free, row[1:])
        seed = int(design["seed"]) + i
        out.append({"point": i, "seed": seed, **run_point(design["base"], values, seed)})
    (tmp / "runs.json").write_text(json.dumps(out))


def gather(folder: Path) -> list[dict]:
    design, _ = ch.load_design(folder)
    n = len(design["chunks"])
    _done, failed, missing = ch.status(folder, n)
    if missing:
        raise ConfigError(ch.describe_missing(folder, missing, failed))
    runs = []
    for i in range(n):
        runs += json.loads((ch.chunk_dir(folder, i) / "runs.json").read_text())
    return sorted(runs, key=lambda r: r["point"])


def run_wave(
    folder: Path, design: dict, x: np.ndarray, first: int, n_chunks: int, hyd, jobs
) -> list[dict]:
    """Write the wave's design (once), run its missing chunks, gather its runs."""
    sample = np.column_stack([np.arange(first, first + len(x)), x])
    if (folder / "sample.npy").is_file():
        held = np.load(folder / "sample.npy")
        if len(held) != len(x) or held[0, 0] != first:
            raise ConfigError(
                f"waves: {folder.name} already holds {len(held)} runs from point {held[0, 0]:.0f} "
                f"(asked {len(x)} from {first}); keep the earlier waves as they were"
            )
    else:
        design = {**design, "chunks": ch.cut(len(sample), n_chunks)}
        ch.prepare(folder, design, sample)
    n = len(json.loads((folder / "design.json").read_text())["chunks"])
    if ch.execute(folder, n, hyd, jobs):
        _done, failed, missing = ch.status(folder, n)
        raise ConfigError(ch.describe_missing(folder, missing, failed) + "; re-run the command")
    return gather(folder)


def outputs(rows: list, runs: list[dict]) -> np.ndarray:
    """runs x fitted rows: each fitted (non-rank) row's statistic."""
    return np.array([[run_values(r, [run])[0] for r in rows] for run in runs], float)


def observations(rows: list) -> tuple:
    obs = [observation(r) for r in rows]
    return tuple(np.array(v) for v in zip(*obs, strict=True))


def setup_key(base: list[str], free: tuple, seed: int, fitted: list) -> str:
    """What makes two calibrations the same (and a folder continuable): the run, free set,
    seed and fitted rows; not the wave sizes, so that a wave can be added."""
    text = json.dumps(
        [base, [f.__dict__ for f in free], seed, [x.name for x in fitted]], default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def configure(overrides: list[str]) -> dict:
    from omegaconf import OmegaConf

    r = OmegaConf.to_container(compose("calibrate", overrides), resolve=True)
    waves = r["waves"]
    if (
        not isinstance(waves, list)
        or not waves
        or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 10 for w in waves)
    ):
        raise ConfigError(f"waves={waves!r}: must be a list of whole numbers >= 10 (runs a wave)")
    return r


def main(overrides: list[str]) -> int:
    job_ov, hyd = ch.split_hydra(overrides)
    r = configure(job_ov)
    passed = ch.passed_overrides(job_ov)
    base = [*passed, *(f"{k}={r[k]}" for k in RUN_KEYS), "write_incidents=true"]
    run = run_config(base)
    rows = load_rows(str(r["targets_file"]), run.area)
    free = free_parameters(r["free"], base)
    fitted = [x for x in rows if x.fitted and x.kind != "rank"]
    key = setup_key(base, free, r["seed"], fitted)
    out = Path(r["out"] or Path.cwd() / "results" / f"calibration-{run.area.name}-{key}").resolve()
    ch.claim_job_folder(out, key, "calibration.json", "a calibration")
    handler = ch.file_logger(out, "calibrate")
    start = time.perf_counter()
    try:
        design = {
            "job": "calibrate",
            "evaluator": "svsim.experiments.calibration.calibrate:evaluate_chunk",
            "free": [f.__dict__ for f in free],
            "base": base,
            "seed": int(r["seed"]),
        }
        raw_obs = observations(fitted)
        d, rng = len(free), np.random.default_rng(int(r["seed"]))
        runs, xs, emulators, waves_info, keep = [], [], [], [], np.ones(len(fitted), bool)
        scale, obs = None, None  # chosen on the first wave
        for w, n in enumerate(r["waves"], start=1):
            if w == 1:
                x, info = hm.latin_hypercube(n, d, int(r["seed"])), {"design": "Latin hypercube"}
            else:
                x, info = hm.sample_space(emulators, obs, keep, d, n, rng)
            new = run_wave(out / f"wave-{w}", design, x, len(runs), r["chunks"], hyd, r["jobs"])
            x = np.load(out / f"wave-{w}" / "sample.npy")[:, 1:]  # as written (a resumed wave)
            if w == 1:
                scale = choose_scale(out, fitted, outputs(fitted, new), raw_obs)
                obs = scale.observations(raw_obs)
            y_new = scale.outputs(outputs(fitted, new))
            if emulators:  # how well the last wave's emulators predicted this wave's runs
                mean, ve, vr = emulators[-1].predict(x)
                e = (y_new - mean) / np.sqrt(ve + vr)
                info["emulator_within_3sd"] = float(np.nanmean(np.abs(e) <= 3))
            runs += new
            xs.append(x)
            # each wave's emulators are fitted on its own runs and the wave before's: the space
            # still in play, where they must be accurate (earlier waves' emulators rule out the
            # rest), at a cost that does not grow with the waves
            recent = runs[len(runs) - sum(len(v) for v in xs[-2:]) :]
            y = scale.outputs(outputs(fitted, recent))
            em = fit_emulator(out / f"wave-{w}", np.vstack(xs[-2:]), y, fitted, w, r["jobs"])
            emulators.append(em)
            mean, ve, vr = em.predict(rng.random((20_000, d)))
            imp = hm.implausibility(mean, ve + vr, *obs)
            if w == 1:
                keep = ~hm.structural_misfits(imp)
            info |= {"wave": w, "runs": n, "rows_kept": int(keep.sum())}
            waves_info.append(info)
            log.info("wave %d: %s", w, info)
        x_all = np.vstack(xs)
        finish(
            out, r, free, fitted, rows, runs, x_all, emulators, scale, keep, waves_info, hyd, start
        )
    except stopping.Interrupted:  # in a wave's chunks: it says which were kept (and scancel)
        raise
    except KeyboardInterrupt:  # between chunks, e.g. fitting emulators (joblib ends its workers)
        raise stopping.Interrupted(kept(out)) from None
    finally:
        logging.getLogger("svsim").removeHandler(handler)
        handler.close()
    if r["promote"]:
        promote(out / "analysis", run.area.name)
    print(f"calibration folder: {out}")
    return 0


def kept(out: Path) -> str:
    """The line a calibration interrupted outside a wave's chunks ends with: what each wave has
    kept in its folder (finished chunks, fitted emulators), which a re-run does not redo."""
    parts = []
    for folder in sorted(out.glob("wave-*"), key=lambda f: int(f.name.split("-")[1])):
        try:
            n = len(json.loads((folder / "design.json").read_text())["chunks"])
        except (OSError, ValueError, KeyError):
            continue
        text = f"{folder.name} {len(ch.status(folder, n)[0])} of {n} chunks finished"
        if (folder / "emulator.joblib").is_file():
            text += " and its emulators fitted"
        parts.append(text)
    return (
        f"interrupted; kept in {out}: {', '.join(parts) or 'no runs yet'}; "
        "run the same command again to continue"
    )


def _nested(values: dict) -> dict:
    """{'params': {...}, 'csp_hazard_multiplier': {...}} from dotted free-parameter paths."""
    out: dict = {"params": {}, "csp_hazard_multiplier": {}}
    for path, v in values.items():
        set_path(out, path, float(v))
    return out


def fit_emulator(folder: Path, x: np.ndarray, y: np.ndarray, fitted: list, w: int, jobs: int):
    """The wave's emulators, fitted on the runs given (its own and the wave before's); kept in
    the wave's folder with the hash of what they were fitted on, so a re-run does not refit."""
    import joblib

    path, digest = (
        folder / "emulator.joblib",
        ch.design_hash({"rows": [f.name for f in fitted]}, np.hstack([x, y])),
    )
    if path.is_file():
        held = joblib.load(path)
        if held["hash"] == digest:
            return held["emulator"]
    em = hm.Emulator.fit(x, y, [f.name for f in fitted], seed=w, jobs=jobs)
    tmp = path.with_suffix(".incomplete")
    joblib.dump({"hash": digest, "emulator": em}, tmp)
    tmp.rename(path)
    return em


def choose_scale(out: Path, fitted: list, y: np.ndarray, obs: tuple) -> hm.Scale:
    """The rows emulated on the log scale, chosen on the first wave and kept in scale.json."""
    path = out / "scale.json"
    if path.is_file():
        held = json.loads(path.read_text())
        return hm.Scale(np.array([bool(held.get(f.name, False)) for f in fitted]))
    scale = hm.Scale.choose(y, obs)
    path.write_text(
        json.dumps(dict(zip([f.name for f in fitted], scale.log.tolist(), strict=True)))
    )
    return scale


def finish(out, r, free, fitted, rows, runs, x, emulators, scale, keep, waves_info, hyd, start):
    """The plausible set, parameter ranges, misfits, recovery, fit table, best.yaml and
    summary.json, written together to <out>/analysis."""
    import pandas as pd
    import yaml

    obs = scale.observations(observations(fitted))
    y = scale.outputs(outputs(fitted, runs))
    _mean, _ve, var_run = emulators[-1].predict(x)
    imp = hm.implausibility(y, var_run, *obs)  # simulated values: no emulator variance
    worst = np.nanmax(np.where(keep, imp, 0.0), axis=1)
    ok = np.flatnonzero(worst <= hm.CUTOFF)
    rng = np.random.default_rng(int(r["seed"]) + 1)
    fallback = len(ok) < 10
    chosen = np.argsort(worst)[:20] if fallback else rng.permutation(ok)[: r["plausible_max"]]
    chosen = chosen[np.argsort(worst[chosen])]
    plaus_x = x[chosen]
    ranges = pd.DataFrame(hm.parameter_ranges(free, plaus_x))
    relevance = emulators[-1].relevance()
    pulls = []
    for k in range(len(free)):
        top = np.argsort(relevance[:, k])[::-1][:3]
        pulls.append(", ".join(fitted[j].name for j in top if relevance[j, k] > 0.05))
    ranges["rows_that_move_it"] = pulls
    ranges.loc[ranges.on_bound != "", "note"] = (
        "structural misfit: the plausible set presses on this bound (rows that pull it: see "
        "rows_that_move_it); widen it to the source's range and refit"
    )
    misfit = pd.DataFrame(
        {
            "row": [f.name for f in fitted],
            "structural_misfit": ~keep,
            "min_implausibility_in_design": np.nanmin(imp, axis=0),
            "moved_by": [
                ", ".join(
                    free[k].path
                    for k in np.argsort(relevance[j])[::-1][:3]
                    if relevance[j, k] > 0.05
                )
                for j in range(len(fitted))
            ],
        }
    )
    members = [_nested(hm.values_at(free, xi)) for xi in plaus_x]
    recovery = recover(out, r, free, fitted, emulators, scale, obs, keep, plaus_x, ranges, hyd)
    fit_rows = pd.DataFrame(table(rows, [runs[i] for i in chosen]))
    target = out / "analysis"
    with run_folder(target, replace=True) as tmp:
        ranges.to_csv(tmp / "parameters.csv", index=False)
        misfit.to_csv(tmp / "misfit.csv", index=False)
        recovery.to_csv(tmp / "recovery.csv", index=False)
        fit_rows.drop(columns=["places"], errors="ignore").to_csv(tmp / "rows.csv", index=False)
        pd.DataFrame(waves_info).to_csv(tmp / "waves.csv", index=False)
        best = {
            **copy.deepcopy(members[0]),  # a copy: no YAML alias to the set's first member
            "calibration": {
                "method": "history matching with Gaussian-process emulators (history.py)",
                "targets": str(r["targets_file"]),
                "waves": r["waves"],
                "runs": len(runs),
                "population_scale": r["population_scale"],
                "years": r["years"],
                "seed": r["seed"],
                "structural_misfit_rows": [
                    f.name for f, k in zip(fitted, keep, strict=True) if not k
                ],
                "plausible_set_is_least_implausible_fallback": bool(fallback),
                "plausible_set": members,
            },
        }
        (tmp / "best.yaml").write_text(
            "# @package _global_\n" + yaml.safe_dump(best, sort_keys=False)
        )
        summary = {
            "runs": len(runs),
            "plausible": len(chosen),
            "plausible_from_fallback": bool(fallback),
            "simulated_points_not_ruled_out": len(ok),
            "structural_misfit_rows": best["calibration"]["structural_misfit_rows"],
            "identified": ranges.loc[ranges.identified, "parameter"].tolist(),
            "on_bound": ranges.loc[ranges.on_bound != "", "parameter"].tolist(),
            "waves": waves_info,
            "wall_seconds": round(time.perf_counter() - start, 1),
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        write_manifest(tmp, job="calibrate", stage="analyze", runs=len(runs), waves=r["waves"])


def recover(out, r, free, fitted, emulators, scale, obs, keep, plaus_x, ranges, hyd):
    """Synthetic targets from fresh runs at known plausible points: history-match them with
    every wave's emulators and the same tolerances; a parameter is recovered when its truth
    lies in the 5-95% range of the points not ruled out. History matching's own check is
    given beside it: the truth itself is not ruled out (its implausibility at most CUTOFF),
    which also holds for a truth on a prior bound, where no 5-95% range can reach."""
    import pandas as pd

    n = min(int(r["recovery_truths"]), len(plaus_x))
    if n == 0:
        return pd.DataFrame()
    truths = plaus_x[:: max(1, len(plaus_x) // n)][:n]
    design = {
        "job": "calibrate-recovery",
        "evaluator": "svsim.experiments.calibration.calibrate:evaluate_chunk",
        "free": [f.__dict__ for f in free],
        "base": json.loads((out / "wave-1" / "design.json").read_text())["base"],
        "seed": int(r["seed"]) + 500_000,  # seeds no wave used
    }
    runs = run_wave(out / "recovery", design, truths, 0, min(n, r["chunks"]), hyd, r["jobs"])
    y = scale.outputs(outputs(fitted, runs))
    rng = np.random.default_rng(int(r["seed"]) + 2)
    lines = []
    for t, (xt, yt) in enumerate(zip(truths, y, strict=True)):
        synth = (yt, obs[1], obs[2])
        rows = keep & np.isfinite(yt)
        pts, info = hm.sample_space(emulators, synth, rows, len(free), 400, rng, candidates=10_000)
        at_truth = float(hm.max_implausibility(emulators, synth, rows, xt[None, :])[0])
        for k, f in enumerate(free):
            lo, hi = np.quantile(pts[:, k], [0.05, 0.95])
            lines.append(
                {
                    "truth": t,
                    "parameter": f.path,
                    "true_value": hm.from_unit(f, xt[k]),
                    "low_90": hm.from_unit(f, lo),
                    "high_90": hm.from_unit(f, hi),
                    "recovered": bool(lo <= xt[k] <= hi),
                    "share_of_prior_range": float(hi - lo),
                    "identified_in_fit": bool(ranges.loc[k, "identified"]),
                    "points_not_ruled_out": info["not_ruled_out"],
                    "truth_implausibility": at_truth,
                    "truth_not_ruled_out": at_truth <= hm.CUTOFF,
                }
            )
    return pd.DataFrame(lines)


def promote(folder: Path, area: str) -> Path:
    target = CONF_DIR / "calibrated" / f"{area}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((folder / "best.yaml").read_text())
    print(f"promoted: {target}")
    return target
