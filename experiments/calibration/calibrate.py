"""`svsim calibrate`: fit the free parameters to the Strategic Needs Assessment with Optuna.

Resumable: the study lives in an SQLite file (storage_dir/<study>.db) that later runs continue;
a trial left running by a killed process is marked failed on restart. Trials are asked in
batches and evaluated in parallel processes; each scores the mean of `replicates` runs. At the
end the best few trials are re-scored on fresh seeds and the choice is made on those; trials
close to the chosen one form the plausible set (kept for compare's uncertainty and for
sensitivity analysis). Identification is judged at the chosen point (identification.py); what
one trial runs is in trial.py, shared by both.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ..config import CONF_DIR, ConfigError, compose, flatten, load_yaml, run_config
from ..runfolder import default_out, run_folder, write_manifest
from . import identification
from .targets import evaluate, targets_from_dict
from .trial import Free, Setup, one_run

log = logging.getLogger("svsim.calibrate")
RUN_KEYS = ("years", "burn_in_years", "population_scale", "start_year")


def load_targets(name: str, area) -> list:
    path = Path(name) if name.endswith((".yaml", ".yml")) else CONF_DIR / "targets" / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"targets_file={name!r}: no such targets file")
    places = {c.name for c in area.communities}
    return targets_from_dict(load_yaml(path, "targets"), places, {c.name for c in area.csps})


def _leaves(spec: Any, prefix: str = "") -> dict:
    """Flatten the nested free set to {dotted path: bounds}; a leaf is a mapping with 'low'."""
    if isinstance(spec, dict) and ("low" in spec or "high" in spec):
        return {prefix: spec}
    if not isinstance(spec, dict) or not spec:
        raise ConfigError(
            f"free.{prefix}={spec!r}: must be bounds {{low, high}} or a mapping".replace(
                "free.=", "free="
            )
        )
    out = {}
    for k, v in spec.items():
        out.update(_leaves(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def free_parameters(spec: Any, check_overrides: list[str]) -> tuple:
    """Validate the free set: bounds in order, and every path a real configuration key."""
    out = []
    for path, b in _leaves(spec).items():
        if "low" not in b or "high" not in b:
            raise ConfigError(f"free.{path}={b!r}: needs low and high")
        lo, hi = b["low"], b["high"]
        for k, v in (("low", lo), ("high", hi)):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"free.{path}.{k}={v!r}: must be a number")
        if lo > hi:
            raise ConfigError(f"free.{path}: lower bound {lo} is above upper bound {hi}")
        if b.get("log") and lo <= 0:
            raise ConfigError(f"free.{path}.low={lo}: a log-scale bound must be positive")
        if not path.startswith(("params.", "csp_hazard_multiplier.")):
            raise ConfigError(
                f"free.{path}: unknown parameter (free parameters are params.* "
                "or csp_hazard_multiplier.<CSP>)"
            )
        out.append(Free(str(path), float(lo), float(hi), bool(b.get("log", False))))
    # an unknown name is refused by composing the configuration with the lower bounds
    try:
        run_config(
            [*check_overrides, *(f"{f.path}={f.low}" for f in out if f.path.startswith("params."))]
            + [f"++{f.path}={f.low}" for f in out if not f.path.startswith("params.")]
        )
    except ConfigError as exc:
        raise ConfigError(f"free: {exc}") from None
    return tuple(out)


def evaluate_point(setup: Setup, values: dict, seed: int, replicates: int) -> tuple:
    """Loss and fit rows for one parameter set: the mean of `replicates` model runs."""
    return evaluate(setup.targets, [one_run(setup, values, seed + r) for r in range(replicates)])


def start_from_shipped(study, free: tuple, area: str) -> None:
    """Make the shipped calibrated set (where its values lie inside the bounds) the new
    study's first trial, so a refit after a model change starts from the last good fit."""
    path = CONF_DIR / "calibrated" / f"{area}.yaml"
    if not path.is_file():
        return
    shipped = flatten(load_yaml(path, "calibrated"))
    values = {}
    for f in free:
        v = shipped.get(f.path)
        if isinstance(v, int | float) and f.low <= v <= f.high:
            values[f.path] = float(v)
        else:
            log.warning("start_from_shipped: %s=%r is not inside its bounds; sampled", f.path, v)
    study.enqueue_trial(values)


def _distributions(free: tuple) -> dict:
    import optuna

    return {f.path: optuna.distributions.FloatDistribution(f.low, f.high, log=f.log) for f in free}


def open_study(name: str, storage_dir: Path, seed: int):
    """Create or continue a study; trials left running by a killed process become failed."""
    import optuna
    from optuna.trial import TrialState

    storage_dir.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(f"sqlite:///{storage_dir / (name + '.db')}")
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        load_if_exists=True,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=16, multivariate=True),
    )
    stale = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]
    for t in stale:
        storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
    if stale:
        log.warning("marked %d trial(s) left running by an earlier process as failed", len(stale))
    return study


def run_trials(study, setup: Setup, n_trials: int, jobs: int) -> None:
    """Ask, evaluate in parallel, tell, until the study has n_trials complete trials."""
    from optuna.trial import TrialState
    from tqdm import tqdm

    dists = _distributions(setup.free)

    def complete() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    bar = tqdm(total=n_trials, initial=min(complete(), n_trials), desc="calibration trials")
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        while complete() < n_trials:
            batch = [study.ask(dists) for _ in range(min(jobs, n_trials - complete()))]
            futures = [
                pool.submit(evaluate_point, setup, t.params, setup.seed, setup.replicates)
                for t in batch
            ]
            for trial, fut in zip(batch, futures, strict=True):
                try:
                    loss, rows = fut.result()
                except Exception as exc:  # a failed model run fails its trial, not the study
                    log.warning("trial %d failed: %s", trial.number, exc)
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                trial.set_user_attr("fit", _jsonable(rows))
                study.tell(trial, loss)
                bar.update()
            bar.set_postfix(best=f"{study.best_value:.3g}")
    bar.close()


def _jsonable(rows: list[dict]) -> list[dict]:
    return json.loads(
        json.dumps(rows, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    )


def plausible_ranges(plausible, free: tuple) -> list[float]:
    """Per parameter: the plausible set's range as a share of the prior range (descriptive)."""
    out = []
    for f in free:
        col = plausible[f"params_{f.path}"]
        tr = np.log if f.log else (lambda x: x)
        out.append(float((tr(col.max()) - tr(col.min())) / (tr(f.high) - tr(f.low))))
    return out


def _nested(values: dict) -> dict:
    out: dict = {}
    for path, v in values.items():
        node = out
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = float(v)
    return out


def main(overrides: list[str]) -> int:
    import pandas as pd

    cfg = compose("calibrate", overrides)
    from omegaconf import OmegaConf

    r = OmegaConf.to_container(cfg, resolve=True)
    for key, lo in (("trials", 1), ("jobs", 1), ("replicates", 1)):
        if isinstance(r[key], bool) or not isinstance(r[key], int) or r[key] < lo:
            raise ConfigError(f"{key}={r[key]!r}: must be a whole number >= {lo}")
    area_override = [o for o in overrides if o.startswith("area=")]
    base = [*area_override, *(f"{k}={r[k]}" for k in RUN_KEYS), "write_incidents=true"]
    base += [o for o in overrides if o.startswith(("params.", "csp_hazard_multiplier."))]
    run = run_config(base)
    targets = load_targets(str(r["targets_file"]), run.area)
    free = free_parameters(r["free"], base)
    setup = Setup(
        base=base, free=free, targets=targets, seed=int(r["seed"]), replicates=r["replicates"]
    )
    name = r["study"] or run.area.name
    out = Path(r["out"]) if r["out"] else default_out("calibrate", name)
    with run_folder(out) as folder:  # claimed before the trials, not after them
        study = open_study(name, Path(r["storage_dir"]), setup.seed)
        if r["start_from_shipped"] and not study.trials:
            start_from_shipped(study, free, run.area.name)
        start = time.perf_counter()
        run_trials(study, setup, r["trials"], r["jobs"])
        summary = finish(study, setup, r, folder)
        write_manifest(
            folder,
            job="calibrate",
            overrides=overrides,
            study=name,
            wall_seconds=round(time.perf_counter() - start, 1),
            **summary,
        )
        if r["promote"]:
            promote(folder, run.area.name)
    print(f"calibration folder: {out}")
    print(
        pd.read_csv(out / "fit.csv")[["target", "model", "target_value", "met"]].to_string(
            index=False
        )
    )
    return 0


def finish(study, setup: Setup, r: dict, folder: Path) -> dict:
    """Re-score the best trials on fresh seeds, choose, keep the plausible set, report."""
    import pandas as pd
    import yaml
    from optuna.trial import TrialState

    trials = study.trials_dataframe(
        attrs=("number", "value", "state", "params", "datetime_start", "datetime_complete")
    )
    trials.to_csv(folder / "trials.csv", index=False)
    done = trials[trials.state == TrialState.COMPLETE.name].sort_values("value")
    rs = r["rescore"]
    rescored = []
    for _, row in done.head(int(rs["top"])).iterrows():
        values = {f.path: row[f"params_{f.path}"] for f in setup.free}
        loss, fit = evaluate_point(setup, values, int(rs["seed"]), int(rs["replicates"]))
        rescored.append(
            {
                "trial": int(row["number"]),
                "calibration_loss": row["value"],
                "fresh_seed_loss": loss,
                "values": values,
                "fit": fit,
            }
        )
    chosen = min(rescored, key=lambda x: x["fresh_seed_loss"])
    pd.DataFrame(
        [{k: v for k, v in x.items() if k not in ("fit", "values")} for x in rescored]
    ).to_csv(folder / "rescored.csv", index=False)
    fit = pd.DataFrame(chosen["fit"])
    fit.to_csv(folder / "fit.csv", index=False)
    limit = float(r["plausible_factor"]) * chosen["fresh_seed_loss"] + 1.0
    plausible = done[done.value <= limit].head(50)
    if len(plausible) < 20:  # too few to judge identification: the best 20 trials
        plausible = done.head(20)
    idr = r["identify"]
    ident = identification.analyse(
        setup, chosen["values"], int(idr["seed"]), int(idr["replicates"]), int(r["jobs"])
    )
    ident["plausible_set_share_of_prior_range"] = plausible_ranges(plausible, setup.free)
    ident.to_csv(folder / "identification.csv", index=False)
    best = {
        "params": _nested(
            {k: v for k, v in chosen["values"].items() if k.startswith("params.")}
        ).get("params", {}),
        "csp_hazard_multiplier": {
            k.split(".", 1)[1]: float(v)
            for k, v in chosen["values"].items()
            if k.startswith("csp_hazard_multiplier.")
        },
        "calibration": {
            "study": study.study_name,
            "chosen_trial": chosen["trial"],
            "fresh_seed_loss": float(chosen["fresh_seed_loss"]),
            "trials": len(done),
            "targets": str(r["targets_file"]),
            "population_scale": r["population_scale"],
            "replicates": r["replicates"],
            "plausible_set": [
                _nested({f.path: row[f"params_{f.path}"] for f in setup.free})
                for _, row in plausible.iterrows()
            ],
        },
    }
    (folder / "best.yaml").write_text(
        "# @package _global_\n" + yaml.safe_dump(best, sort_keys=False)
    )
    report(folder, done, fit, ident)
    return {
        "chosen_trial": chosen["trial"],
        "chosen_loss": chosen["fresh_seed_loss"],
        "trials_complete": len(done),
        "plausible_set_size": len(plausible),
    }


def promote(folder: Path, area: str) -> Path:
    target = CONF_DIR / "calibrated" / f"{area}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text((folder / "best.yaml").read_text())
    print(f"promoted: {target}")
    return target


def report(folder: Path, done, fit, ident) -> None:
    """fit_report.html with the fit table, wards side by side, convergence, identification."""
    import base64
    import html
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figs = []
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(
        done.sort_values("number").number,
        done.sort_values("number").value.cummin(),
        color="#0072B2",
        lw=2,
    )
    ax.set_xlabel("trial")
    ax.set_ylabel("best loss so far")
    ax.set_yscale("log")
    ax.set_title("Optimiser convergence")
    figs.append(("Convergence: the best loss after each trial.", fig))
    for _, row in fit.iterrows():
        if row["kind"] == "rank" and isinstance(row.get("places"), dict):
            fig = Figure(figsize=(7, 5), layout="constrained")
            ax = fig.subplots()
            places = row["places"]
            rec = [v["recorded"] for v in places.values()]
            mod = [v["model"] for v in places.values()]
            ax.scatter(rec, mod, color="#D55E00", s=40)
            for name, x, y in zip(places, rec, mod, strict=True):
                ax.annotate(name, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel("recorded per year")
            ax.set_ylabel("model per year")
            ax.set_title(f"{row['target']}: Spearman {row['model']:.2f}")
            figs.append((f"{row['target']}: places side by side, model against recorded.", fig))
    blocks = []
    for caption, f in figs:
        buf = io.BytesIO()
        f.savefig(buf, format="png", dpi=100)
        data = base64.b64encode(buf.getvalue()).decode()
        blocks.append(
            f'<figure><img src="data:image/png;base64,{data}" alt="">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    cols = ["target", "kind", "model", "target_value", "met", "weight", "period", "source"]
    table = fit[[c for c in cols if c in fit.columns]].to_html(index=False, escape=True)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Calibration fit</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px}</style>"
        "</head><body><h1>Calibration fit</h1><h2>Targets</h2>"
        + table
        + "<h2>Identification</h2>"
        + ident.to_html(index=False)
        + "".join(blocks)
        + "</body></html>"
    )
    (folder / "fit_report.html").write_text(page)
