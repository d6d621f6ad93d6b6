"""`svsim sensitivity`: Morris screening and Sobol indices (SALib), chunked and resumable.

    svsim sensitivity                                   # run every missing chunk, then analyze
    svsim sensitivity stage=analyze out=PATH            # gather the chunks of PATH, analyze
    svsim sensitivity method=morris N=20 experiment=svd_allocation
    svsim sensitivity hydra/launcher=submitit_slurm hydra.launcher.partition=compute

The uncertain inputs, with their bounds and distributions, are named in conf/experiment/*.yaml.
SALib samples the unit hypercube; each input maps its coordinate u to a value through its
distribution (so Morris effects are per whole range of each input). Intervention inputs
(effect, uptake, completion, unit cost) and model parameters vary on their own; calibrated
parameters vary only jointly, as member floor(u * n) of the calibration's plausible set.

Every point is evaluated on the same `replicates` seeds (common random numbers), each replicate
running the comparator, the scenario and the decision scenarios from one shared burn-in, with the
comparison engine of `svsim compare`. Comparator runs are cached (in memory and under
<out>/cache/) and reused whenever the inputs they depend on are unchanged.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from svsim.model import ParameterError, ViolenceModel, params_from_dict
from svsim.model.measurement import HARM_BASES
from svsim.model.outcomes import MEASURE_INDEX, MEASURES
from svsim.scenarios import appraisal as ap
from svsim.scenarios.delivery import Portfolio
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import ScenarioError

from .. import chunks as ch
from ..compare.compare import _load_library, compare_config
from ..config import (
    CONF_DIR,
    ConfigError,
    compose,
    flatten,
    load_yaml,
    run_config,
    set_path,
    with_csp_multipliers,
)
from ..runfolder import run_folder, write_manifest

log = logging.getLogger("svsim.sensitivity")

METHODS = ("sobol", "morris")
STAGES = ("all", "prepare", "run", "analyze")
DISTS = ("uniform", "log_uniform", "triangular", "pert")
INTERVENTION_FIELDS = {
    "effect": "reduction",
    "uptake": "uptake",
    "completion": "completion",
    "unit_cost": "unit_cost",
}
NOISE_FLAG = 0.30  # flag indices of outputs whose replicate noise exceeds this share of variance
WIDTH_FLAG = 0.20  # flag indices whose confidence interval is wider than this
CONF_LEVEL = 0.95
ISHIGAMI = {"a": 7.0, "b": 0.1}


def ishigami_analytic(a: float = 7.0, b: float = 0.1) -> dict:
    """First-order and total indices of the Ishigami function, x_i ~ U(-pi, pi)."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * 8 / 225
    v = v1 + v2 + v13
    return {
        "S1": {"x1": v1 / v, "x2": v2 / v, "x3": 0.0},
        "ST": {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v},
    }


# ----------------------------------------------------------------------------- configuration


def _num(field: str, v, lo=-math.inf, integer=False):
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= lo
    if ok and integer:
        ok = float(v).is_integer()
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{field}={v!r}: must be {kind} >= {lo}")
    return int(v) if integer else float(v)


def _get_path(tree: dict, path: str):
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(path)
        node = node[part]
    return node


def _merge(base: dict, extra: dict, where: str) -> None:
    for k, v in extra.items():
        if k not in base:
            raise ConfigError(f"{where}.{k}: unknown parameter path")
        if isinstance(v, dict):
            _merge(base[k], v, f"{where}.{k}")
        else:
            base[k] = v


def _check_params(params: dict, field: str) -> None:
    try:
        params_from_dict(params)
    except ParameterError as exc:
        raise ConfigError(f"{field}: {exc}") from None


def load_plausible_set(path: Path, field: str) -> list[dict] | None:
    """The calibration's plausible set, or None when the calibration has not been run.

    Each member becomes {"params": {...}, "csp_hazard_multiplier": {...}}. Accepted: the set
    under `calibration.plausible_set` (as `svsim calibrate` writes it, members keyed by
    `params` and `csp_hazard_multiplier`) or a top-level `plausible_set` of nested parameter maps.
    """
    if not path.is_file():
        return None

    data = load_yaml(path, field) or {}
    members = None
    if isinstance(data, dict):
        members = data.get("plausible_set")
        if members is None and isinstance(data.get("calibration"), dict):
            members = data["calibration"].get("plausible_set")
    if (
        not isinstance(members, list)
        or not members
        or not all(isinstance(m, dict) for m in members)
    ):
        raise ConfigError(f"{field}={str(path)!r}: plausible_set must be a non-empty list of maps")
    out = []
    for m in members:
        if set(m) <= {"params", "csp_hazard_multiplier"}:
            out.append(
                {"params": m.get("params") or {}, "csp": m.get("csp_hazard_multiplier") or {}}
            )
        else:
            out.append({"params": m, "csp": {}})
    return out


def build_inputs(exp: dict, base_params: dict | None, library: dict | None, area=None) -> tuple:
    """Validate the experiment's inputs; return (inputs, notes). Each input is a plain dict."""
    raw = exp.get("inputs")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"experiment.inputs={raw!r}: must be a non-empty map of inputs")
    model = exp.get("model", "svsim")
    out, notes = [], []
    for name, spec in raw.items():
        f = f"experiment.inputs.{name}"
        if not isinstance(spec, dict):
            raise ConfigError(f"{f}={spec!r}: must be a map")
        kind = spec.get("kind", "param")
        unknown = set(spec) - {"kind", "path", "bounds", "dist", "mode", "file", "label"}
        if unknown:
            raise ConfigError(f"{f}.{sorted(unknown)[0]}: unknown field")
        item = {"name": str(name), "kind": kind, "label": spec.get("label") or str(name)}
        if kind == "calibrated":
            file = spec.get("file")
            if not isinstance(file, str):
                raise ConfigError(f"{f}.file={file!r}: must name the calibration file")
            path = Path(file) if Path(file).is_absolute() else CONF_DIR / file
            members = load_plausible_set(path, f"{f}.file")
            if members is None:
                notes.append(
                    f"input {name!r} skipped: {path} not found (the calibration has not been "
                    "run), so the calibrated parameters stay at their defaults"
                )
                log.warning(notes[-1])
                continue
            for j, m in enumerate(members):
                trial = copy.deepcopy(base_params)
                _merge(trial, m["params"], f"{f}.plausible_set[{j}].params")
                _check_params(trial, f"{f}.plausible_set[{j}]")
                if m["csp"] and area is not None:
                    try:
                        with_csp_multipliers(area, m["csp"])
                    except ParameterError as exc:
                        raise ConfigError(f"{f}.plausible_set[{j}]: {exc}") from None
            item.update(file=str(path), members=members, dist="uniform", bounds=[0, len(members)])
            out.append(item)
            continue
        path = spec.get("path")
        if not isinstance(path, str) or not path:
            raise ConfigError(f"{f}.path={path!r}: must name what varies")
        item["path"] = path
        default = None
        if kind == "param":
            if model != "svsim":
                raise ConfigError(f"{f}.kind='param': only for the svsim model")
            try:
                default = _get_path(base_params, path)
            except KeyError:
                raise ConfigError(f"{f}.path='params.{path}': unknown parameter path") from None
            if isinstance(default, (dict, bool)):
                raise ConfigError(f"{f}.path='params.{path}': not a numeric parameter")
        elif kind == "intervention":
            iname, _, field = path.partition(".")
            if library is None or iname not in library:
                raise ConfigError(f"{f}.path={path!r}: unknown intervention {iname!r}")
            if field not in INTERVENTION_FIELDS:
                raise ConfigError(
                    f"{f}.path={path!r}: the field must be one of {', '.join(INTERVENTION_FIELDS)}"
                )
            est = getattr(library[iname], field)
            default = est.value
            spec = {"bounds": [est.low, est.high], **spec}
        elif kind == "value":
            if model == "svsim":
                raise ConfigError(f"{f}.kind='value': only for test functions (model: ishigami)")
        else:
            raise ConfigError(
                f"{f}.kind={kind!r}: must be one of param, intervention, calibrated, value"
            )
        bounds = spec.get("bounds")
        if not (isinstance(bounds, list | tuple) and len(bounds) == 2):
            raise ConfigError(f"{f}.bounds={bounds!r}: must be [lower, upper]")
        lo = _num(f"{f}.bounds", bounds[0])
        hi = _num(f"{f}.bounds", bounds[1])
        if lo > hi:
            raise ConfigError(f"{f}.bounds=[{lo}, {hi}]: lower bound above upper")
        dist = spec.get("dist", "uniform")
        if dist not in DISTS:
            raise ConfigError(f"{f}.dist={dist!r}: must be one of {', '.join(DISTS)}")
        mode = spec.get("mode", default)
        if dist in ("triangular", "pert"):
            mode = _num(f"{f}.mode", mode)
            if not lo <= mode <= hi:
                raise ConfigError(f"{f}.mode={mode}: must lie within bounds [{lo}, {hi}]")
        if dist == "log_uniform" and lo <= 0:
            raise ConfigError(f"{f}.bounds=[{lo}, {hi}]: log_uniform needs a lower bound > 0")
        if kind == "param":
            for v in (lo, hi):
                trial = copy.deepcopy(base_params)
                set_path(trial, path, v)
                _check_params(trial, f"{f}.bounds")
        item.update(bounds=[lo, hi], dist=dist, mode=mode, default=default)
        out.append(item)
    calibrated = {
        path
        for i in out
        if i["kind"] == "calibrated"
        for m in i["members"]
        for path in flatten(m["params"])
    }
    for i in out:
        if i["kind"] == "param" and i["path"] in calibrated:
            raise ConfigError(
                f"experiment.inputs.{i['name']}.path='params.{i['path']}': a calibrated "
                "parameter; it varies only jointly, through the calibrated input"
            )
    if len(out) < 2:
        raise ConfigError(f"experiment.inputs: {len(out)} usable input(s); need at least 2")
    return out, notes


def transform(inputs: list[dict], u: np.ndarray) -> np.ndarray:
    """Map unit-cube coordinates (rows x inputs) to input values through each distribution."""
    from scipy import stats

    x = np.empty_like(u, dtype=float)
    for j, inp in enumerate(inputs):
        lo, hi = inp["bounds"]
        uj = np.clip(u[:, j], 0.0, 1.0)
        if inp["kind"] == "calibrated":
            x[:, j] = np.minimum(np.floor(uj * len(inp["members"])), len(inp["members"]) - 1)
        elif hi == lo or inp["dist"] == "uniform":
            x[:, j] = lo + uj * (hi - lo)
        elif inp["dist"] == "log_uniform":
            x[:, j] = np.exp(np.log(lo) + uj * (np.log(hi) - np.log(lo)))
        elif inp["dist"] == "triangular":
            c = (inp["mode"] - lo) / (hi - lo)
            x[:, j] = stats.triang(c, loc=lo, scale=hi - lo).ppf(uj)
        else:  # pert
            a = 1 + 4 * (inp["mode"] - lo) / (hi - lo)
            b = 1 + 4 * (hi - inp["mode"]) / (hi - lo)
            x[:, j] = lo + (hi - lo) * stats.beta(a, b).ppf(uj)
    return x


def _problem(inputs: list[dict]) -> dict:
    return {
        "num_vars": len(inputs),
        "names": [i["name"] for i in inputs],
        "bounds": [[0.0, 1.0]] * len(inputs),
    }


def make_sample(method: str, inputs: list[dict], n: int, levels: int, seed: int) -> np.ndarray:
    problem = _problem(inputs)
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, n, num_levels=levels, seed=seed)


def runs_needed(method: str, n: int, d: int) -> int:
    """Sample points of a design: Sobol N (D + 2) (no second order), Morris N (D + 1)."""
    return n * (d + 2) if method == "sobol" else n * (d + 1)


def _scenario_name(ref: str) -> str:
    """A scenario's name: the file's `name` for a path, else the reference itself."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        data = load_yaml(Path(ref), "experiment.scenario")
        return str(data.get("name")) if isinstance(data, dict) else ref
    return ref


def _compare_overrides(r: dict, user: list[str], exp: dict) -> list[str]:
    """The `svsim compare` configuration each chunk rebuilds: area, params, scenarios, design."""
    refs = [exp["comparator"], exp["scenario"], *(exp.get("decision") or [])]
    refs = [str(Path(x).resolve()) if x.endswith((".yaml", ".yml")) else x for x in refs]
    seen = []
    for ref in refs:
        if _scenario_name(ref) not in [_scenario_name(x) for x in seen]:
            seen.append(ref)
    passed = ch.passed_overrides(user)
    return [
        *passed,
        f"scenarios=[{','.join(seen)}]",
        f"comparator={_scenario_name(seen[0])}",
        "replicates=2",
        "uncertainty=false",
        "parameter_uncertainty=false",  # calibrated parameters vary here as their own input
        "jobs=1",
        *(
            f"{k}={r[k]}"
            for k in ("years", "burn_in_years", "seed", "population_scale", "start_year")
        ),
    ]


def configure(overrides: list[str]) -> tuple[dict, np.ndarray, dict]:
    """Compose and validate; return (design, unit sample, settings)."""
    from omegaconf import OmegaConf

    cfg = compose("sensitivity", overrides)
    r = OmegaConf.to_container(cfg, resolve=True)
    exp = r.get("experiment") or {}
    model = exp.get("model", "svsim")
    if model not in ("svsim", "ishigami"):
        raise ConfigError(f"experiment.model={model!r}: must be svsim or ishigami")
    method = r["method"]
    if method not in METHODS:
        raise ConfigError(f"method={method!r}: must be one of {', '.join(METHODS)}")
    if r["stage"] not in STAGES:
        raise ConfigError(f"stage={r['stage']!r}: must be one of {', '.join(STAGES)}")
    n = _num("N", r["N"], 2, integer=True)
    if method == "sobol" and n & (n - 1):
        raise ConfigError(
            f"N={n}: Sobol sampling needs a power of two (e.g. {2 ** n.bit_length()})"
        )
    levels = _num("levels", r["levels"], 2, integer=True)
    if method == "morris" and levels % 2:
        raise ConfigError(f"levels={levels}: Morris needs an even number of levels")
    replicates = _num("replicates", r["replicates"], 1, integer=True)
    n_chunks = _num("chunks", r["chunks"], 1, integer=True)
    jobs = _num("jobs", r["jobs"], 1, integer=True)
    resamples = _num("resamples", r["resamples"], 10, integer=True)
    seed = _num("seed", r["seed"], 0, integer=True)
    design = {
        "job": "sensitivity",
        "evaluator": "svsim.experiments.analysis.sensitivity:evaluate_chunk",
        "experiment": exp.get("name", "experiment"),
        "model": model,
        "method": method,
        "N": n,
        "levels": levels,
        "replicates": replicates,
        "seed": seed,
    }
    if model == "svsim":
        run = run_config(overrides, config_name="sensitivity")  # validates area, params, settings
        for key in ("scenario", "comparator"):
            if not isinstance(exp.get(key), str):
                raise ConfigError(f"experiment.{key}={exp.get(key)!r}: must name a scenario")
        if exp["scenario"] == exp["comparator"]:
            raise ConfigError(f"experiment.scenario={exp['scenario']!r}: same as the comparator")

        outs = exp.get("outputs") or []
        for m in outs:
            if m not in MEASURES:
                raise ConfigError(f"experiment.outputs: unknown measure {m!r}")
        try:
            library = _load_library()
            cmp_ov = _compare_overrides(r, overrides, exp)
            cmp_cfg, _ = compare_config(cmp_ov, sizes=False)
        except ScenarioError as exc:
            raise ConfigError(str(exc)) from None
        inputs, notes = build_inputs(exp, run.resolved["params"], library, run.area)
        design.update(
            area=run.area.name,
            scenario=cmp_cfg.scenarios[1].name,
            comparator=cmp_cfg.comparator,
            decision=[_scenario_name(str(d)) for d in exp.get("decision") or []],
            outputs=list(outs),
            compare_overrides=cmp_ov,
            params=run.resolved["params"],
            population_scale=run.settings.population_scale,
            years=run.settings.years,
        )
    else:
        inputs, notes = build_inputs(exp, None, None)
        design.update(area=None, ishigami=ISHIGAMI)
    design["inputs"] = inputs
    design["notes"] = notes
    sample = make_sample(method, inputs, n, levels, seed)
    design["chunks"] = ch.cut(len(sample), n_chunks)
    settings = {
        "stage": r["stage"],
        "out": r.get("out"),
        "jobs": jobs,
        "resamples": resamples,
        "n_chunks": len(design["chunks"]),
    }
    return design, sample, settings


# ----------------------------------------------------------------------------- evaluation

_STATE: dict = {}


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _compare_cfg(design: dict):
    h = design["sample_hash"]
    if _STATE.get("hash") != h:
        cfg, _ = compare_config(design["compare_overrides"], sizes=False)
        _STATE.clear()
        _STATE.update(hash=h, cfg=cfg, burnin={}, baseline={})
    return _STATE["cfg"]


def _run_scenario(cfg, area, burnt, scenario, draws, seed: int) -> tuple[np.ndarray, float]:
    """Project one scenario from a burnt-in model; (years x measures totals, PV of the cash it
    commits)."""
    s = cfg.run.settings
    m = burnt.fork()
    portfolio = Portfolio(
        scenario, cfg.library, draws, area, cfg.prices, s.start_year,
        s.population_scale, seed,
    )  # fmt: skip
    m.interventions = [portfolio]
    while m.week < m.total_weeks:
        m.step()
    w = m._weekly
    yearly = w.reshape(s.years, 52, w.shape[1], w.shape[2]).sum(axis=(1, 2))
    rows = portfolio.spending()
    committed = ap.cash_pv(
        [r["budget"] for r in rows], [r["year"] for r in rows], cfg.prices, s.start_year
    )
    return yearly, float(committed.sum())


def _evaluate_point(design: dict, cfg, values: np.ndarray, folder: Path) -> tuple:
    """One sample point: arrays (replicates x outputs) and (replicates x decision scenarios)."""
    inputs = design["inputs"]
    params = copy.deepcopy(design["params"])
    changes: dict[str, dict] = {}
    csp: dict = {}
    for inp, v in zip(inputs, values, strict=True):
        if inp["kind"] == "calibrated":
            member = inp["members"][int(v)]
            _merge(params, member["params"], "params")
            csp.update(member["csp"])
        elif inp["kind"] == "param":
            set_path(params, inp["path"], float(v))
    for inp, v in zip(inputs, values, strict=True):
        if inp["kind"] == "intervention":
            iname, _, field = inp["path"].partition(".")
            changes.setdefault(iname, {})[INTERVENTION_FIELDS[field]] = float(v)
    p = params_from_dict(params)
    area = cfg.run.area
    if csp:
        area = with_csp_multipliers(area, csp)
    s = cfg.run.settings
    prices = cfg.prices
    premium = ap.homicide_premium(p.cost)
    harm_i = [MEASURE_INDEX[m] for m in (HARM_BASES["stated"], "homicides", "homicides_expected")]

    def harm_pv(yearly: np.ndarray) -> float:
        """PV of the stated-basis harm, homicides priced from their probabilities."""
        return float(ap.harm_pv(ap.expected_harm(*yearly[:, harm_i].T, premium), prices))

    by_name = {sc.name: sc for sc in cfg.scenarios}
    comp, scen = design["comparator"], design["scenario"]
    order = [comp, scen] + [d for d in design["decision"] if d not in (comp, scen)]
    outs = design["outputs"]
    n_out = 2 * len(outs) + 1
    y = np.zeros((design["replicates"], n_out))
    dec = np.zeros((design["replicates"], len(design["decision"])))
    cache_dir = folder / "cache"
    for rep in range(design["replicates"]):
        settings = replace(s, seed=s.seed + rep)
        draws = draw_inputs(cfg.library, s.seed, rep, False)
        for iname, fields in changes.items():
            draws[iname] = replace(draws[iname], **fields)
        bkey = _key(params, csp, rep, s.seed)
        burnt = _STATE["burnin"].get(bkey)
        if burnt is None:
            burnt = ViolenceModel(area, p, settings)
            while burnt.week < burnt.burn_in_weeks:
                burnt.step()
            if len(_STATE["burnin"]) > 4 * design["replicates"]:
                _STATE["burnin"].pop(next(iter(_STATE["burnin"])))
            _STATE["burnin"][bkey] = burnt
        res = {}
        for name in order:
            sc = by_name[name]
            if name == comp:
                used = sorted({a.intervention for a in sc.allocations})
                ckey = _key(  # "committed": the cached cost is the cash allocated, not spent
                    params, csp, rep, s.seed, [(u, draws[u].__dict__) for u in used], "committed"
                )
                path = cache_dir / f"baseline-{ckey}.npz"
                hit = _STATE["baseline"].get(ckey)
                if hit is None and path.is_file():
                    with np.load(path) as z:
                        hit = (z["yearly"], float(z["spend"]))
                if hit is None:
                    hit = _run_scenario(cfg, area, burnt, sc, draws, settings.seed)
                    cache_dir.mkdir(exist_ok=True)
                    tmp = cache_dir / f".{path.stem}.{os.getpid()}.npz"
                    np.savez(tmp, yearly=hit[0], spend=hit[1])
                    os.replace(tmp, path)
                _STATE["baseline"][ckey] = hit
                res[name] = hit
            else:
                res[name] = _run_scenario(cfg, area, burnt, sc, draws, settings.seed)
        cy, cspend = res[comp]
        charm = harm_pv(cy)

        def nsb(name: str, res=res, charm=charm, cspend=cspend) -> float:
            yy, sp = res[name]
            return charm - harm_pv(yy) - (sp - cspend)

        sy = res[scen][0]
        for k, m in enumerate(outs):
            a, b = cy[:, MEASURE_INDEX[m]].sum(), sy[:, MEASURE_INDEX[m]].sum()
            y[rep, 2 * k] = a - b
            y[rep, 2 * k + 1] = (a - b) / a if a > 0 else 0.0
        y[rep, -1] = nsb(scen)
        for k, d in enumerate(design["decision"]):
            dec[rep, k] = nsb(d)
    return y, dec


def output_names(design: dict) -> list[str]:
    if design["model"] == "ishigami":
        return ["ishigami"]
    names = []
    for m in design["outputs"]:
        names += [f"{m}_averted", f"{m}_averted_relative"]
    return [*names, "net_social_benefit"]


def evaluate_chunk(design: dict, u: np.ndarray, folder: Path, tmp: Path) -> None:
    """The chunk job's work: evaluate its rows, write Y.npy (rows x replicates x outputs)."""
    x = transform(design["inputs"], u)
    if design["model"] == "ishigami":
        a, b = design["ishigami"]["a"], design["ishigami"]["b"]
        y = np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])
        np.save(tmp / "Y.npy", y[:, None, None])
        np.save(tmp / "decision.npy", np.zeros((len(x), 1, 0)))
        return
    cfg = _compare_cfg(design)
    ys, ds = [], []
    for row in x:
        yy, dd = _evaluate_point(design, cfg, row, folder)
        ys.append(yy)
        ds.append(dd)
    np.save(tmp / "Y.npy", np.stack(ys))
    np.save(tmp / "decision.npy", np.stack(ds))


# ----------------------------------------------------------------------------- analysis


def gather(folder: Path) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """(design, unit sample, Y rows x reps x outputs, decision rows x reps x scenarios)."""
    design, sample, dirs = ch.finished_chunks(folder)
    ys = np.concatenate([np.load(d / "Y.npy") for d in dirs])
    return design, sample, ys, np.concatenate([np.load(d / "decision.npy") for d in dirs])


def crn_noise(y: np.ndarray) -> float:
    """The noise variance of the point means (points x replicates), with common random numbers.

    Every point runs on the same seeds, so a replicate's own level (b_r in y = m + a_p + b_r + e)
    moves all points alike and does not touch the indices; what blurs them is the interaction
    e, estimated by the two-way residual mean square; the noise of a point mean is that / R.
    """
    p, r = y.shape
    if r < 2 or p < 2:
        return 0.0
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    return float((resid**2).sum() / ((p - 1) * (r - 1)) / r)


def analyze(folder: Path, resamples: int = 1000) -> dict:
    """SALib analysis of the gathered chunks; writes <folder>/analysis/ atomically.

    Just over the project's guide of about 120 lines: one pass over the outputs (indices,
    noise, flags, tables, figures, report), each step a few lines; left whole for now."""
    import pandas as pd

    design, u, y, dec = gather(folder)
    names = output_names(design)
    inputs = design["inputs"]
    problem = _problem(inputs)
    notes = list(design.get("notes", []))
    if dec.shape[2] >= 2:
        mean_nsb = dec.mean(axis=(0, 1))
        best, second = np.argsort(mean_nsb)[::-1][:2]
        label = f"{design['decision'][best]} minus {design['decision'][second]}"
        y = np.concatenate([y, (dec[:, :, best] - dec[:, :, second])[:, :, None]], axis=2)
        names = [*names, "decision_margin"]
        notes.append(
            f"decision_margin = net social benefit of {label} (the two best of "
            f"{', '.join(design['decision'])} by mean over the sample); below zero the "
            "ranking flips"
        )
    ybar = y.mean(axis=1)
    reps = y.shape[1]
    rows, noise_rows = [], []
    for k, out in enumerate(names):
        total = float(np.var(ybar[:, k], ddof=1))
        noise = crn_noise(y[:, :, k])
        share = min(noise / total, 1.0) if total > 0 else float("nan")
        noise_rows.append(
            {
                "output": out,
                "mean": float(ybar[:, k].mean()),
                "variance": total,
                "noise_variance": noise,
                "noise_share": share,
                "replicates": reps,
                "noisy": bool(share > NOISE_FLAG) if total > 0 else True,
            }
        )
        if not total > 0:
            notes.append(f"{out}: no variation over the sample; no indices")
            continue
        noisy = share > NOISE_FLAG
        if design["method"] == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(
                problem, ybar[:, k], calc_second_order=False, num_resamples=resamples,
                conf_level=CONF_LEVEL, seed=design["seed"] + 1,  # SALib ignores seed 0
            )  # fmt: skip
            for j, inp in enumerate(inputs):
                s1, s1c = float(res["S1"][j]), float(res["S1_conf"][j])
                st, stc = float(res["ST"][j]), float(res["ST_conf"][j])
                rows.append(
                    {
                        "output": out, "input": inp["name"], "S1": s1, "S1_low": s1 - s1c,
                        "S1_high": s1 + s1c, "ST": st, "ST_low": st - stc, "ST_high": st + stc,
                        "noise_share": share,
                        "flag": "; ".join(
                            f for f in (
                                "noise > 30% of variance" if noisy else "",
                                "S1 interval wider than 0.2" if 2 * s1c > WIDTH_FLAG else "",
                                "ST interval wider than 0.2" if 2 * stc > WIDTH_FLAG else "",
                            ) if f
                        ),
                    }
                )  # fmt: skip
        else:
            from SALib.analyze import morris

            res = morris.analyze(
                problem, u, ybar[:, k], num_resamples=resamples, conf_level=CONF_LEVEL,
                num_levels=design["levels"], seed=design["seed"] + 1,
            )  # fmt: skip
            scale = max(float(np.max(res["mu_star"])), 1e-300)
            for j, inp in enumerate(inputs):
                ms, msc = float(res["mu_star"][j]), float(res["mu_star_conf"][j])
                rows.append(
                    {
                        "output": out, "input": inp["name"], "mu": float(res["mu"][j]),
                        "mu_star": ms, "mu_star_low": ms - msc, "mu_star_high": ms + msc,
                        "sigma": float(res["sigma"][j]), "mu_star_scaled": ms / scale,
                        "noise_share": share,
                        "flag": "; ".join(
                            f for f in (
                                "noise > 30% of variance" if noisy else "",
                                "mu* interval wider than 0.2 of the largest mu*"
                                if 2 * msc / scale > WIDTH_FLAG else "",
                            ) if f
                        ),
                    }
                )  # fmt: skip
    indices = pd.DataFrame(rows)
    noise_t = pd.DataFrame(noise_rows)
    x = transform(inputs, u)
    points = pd.DataFrame(x, columns=[i["name"] for i in inputs])
    for k, out in enumerate(names):
        points[out] = ybar[:, k]

    chunk_m = [
        json.loads((ch.chunk_dir(folder, i) / "manifest.json").read_text())
        for i in range(len(design["chunks"]))
    ]
    target = folder / "analysis"
    with run_folder(target, replace=True) as tmp:
        indices.to_csv(tmp / "indices.csv", index=False)
        noise_t.to_csv(tmp / "noise.csv", index=False)
        points.to_parquet(tmp / "points.parquet", index=False)
        figs = _figures(design, indices, tmp)
        _report(design, indices, noise_t, notes, figs, tmp)
        (tmp / "notes.json").write_text(json.dumps(notes, indent=2) + "\n")
        write_manifest(
            tmp,
            job="sensitivity",
            stage="analyze",
            sample_hash=design["sample_hash"],
            method=design["method"],
            N=design["N"],
            points=len(u),
            replicates=reps,
            chunks=len(chunk_m),
            chunk_wall_seconds=round(sum(m["wall_seconds"] for m in chunk_m), 1),
            slurm_job_ids=sorted({m["slurm_job_id"] for m in chunk_m if m.get("slurm_job_id")}),
        )
    return {"indices": indices, "noise": noise_t, "notes": notes, "folder": target}


def _figures(design: dict, indices, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    if indices.empty:
        return files
    for out, t in indices.groupby("output", sort=False):
        fig, ax = plt.subplots(figsize=(7, 0.45 * len(t) + 1.5))
        pos = np.arange(len(t))
        if design["method"] == "sobol":
            for off, key, colour in ((-0.2, "S1", "#1f77b4"), (0.2, "ST", "#d62728")):
                v = t[key].to_numpy()
                err = np.vstack([v - t[f"{key}_low"].to_numpy(), t[f"{key}_high"].to_numpy() - v])
                ax.barh(pos + off, v, 0.4, xerr=err, color=colour, label=key, capsize=2)
            ax.set_xlabel(f"Sobol index ({int(CONF_LEVEL * 100)}% bootstrap interval)")
            ax.axvline(0, color="k", lw=0.5)
        else:
            ax.errorbar(t["mu_star"], t["sigma"], xerr=(t["mu_star_high"] - t["mu_star"]), fmt="o")
            for _, r in t.iterrows():
                ax.annotate(r["input"], (r["mu_star"], r["sigma"]), fontsize=8)
            lim = max(t["mu_star"].max(), t["sigma"].max()) * 1.1 or 1
            ax.plot([0, lim], [0, lim], "k:", lw=0.7)
            ax.set_xlabel("mu* (mean |elementary effect| over each input's whole range)")
            ax.set_ylabel("sigma")
        if design["method"] == "sobol":
            ax.set_yticks(pos, t["input"])
            ax.invert_yaxis()
            ax.legend(loc="lower right")
        ax.set_title(out, fontsize=10)
        fig.tight_layout()
        name = f"{design['method']}-{out}.png"
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        files.append(name)
    return files


def _report(design, indices, noise, notes, figs, folder: Path) -> None:
    import html

    def img(name):
        data = base64.b64encode((folder / name).read_bytes()).decode()
        return (
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(name)}"></figure>'
        )

    inputs_t = "".join(
        f"<tr><td>{html.escape(i['name'])}</td><td>{i['kind']}</td>"
        f"<td>{html.escape(str(i.get('path', i.get('file', ''))))}</td>"
        f"<td>{i['bounds']}</td><td>{i['dist']}</td></tr>"
        for i in design["inputs"]
    )
    what = (
        f"<p>{html.escape(design['scenario'])} against {html.escape(design['comparator'])}, "
        f"area {design['area']} at population scale {design['population_scale']}, "
        f"{design['years']} years, {design['replicates']} replicate(s) per point on common "
        "seeds (common random numbers).</p>"
        if design["model"] == "svsim"
        else "<p>The Ishigami test function (self-check).</p>"
    )
    body = f"""<!doctype html><html><head><meta charset="utf-8">
<title>svsim sensitivity: {html.escape(design["experiment"])}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:0.85em}}td,th{{border:1px solid #ccc;padding:2px 6px}}
img{{max-width:100%}} .flag{{color:#b00}}</style></head><body>
<h1>Sensitivity analysis: {html.escape(design["experiment"])} ({design["method"]})</h1>
{what}
<p>N = {design["N"]}, {design["chunks"][-1][1]} sample points, sample hash
<code>{design["sample_hash"][:16]}</code>. Indices whose output's replicate noise exceeds 30% of its
variance, or whose {int(CONF_LEVEL * 100)}% interval is wider than 0.2, are flagged.</p>
<h2>Inputs</h2><table><tr><th>name</th><th>kind</th><th>what</th><th>bounds</th><th>dist</th></tr>
{inputs_t}</table>
<h2>How much of each output's variance is noise</h2>
{noise.to_html(index=False, float_format=lambda v: f"{v:.4g}")}
<h2>Indices</h2>
{indices.to_html(index=False, float_format=lambda v: f"{v:.3f}")}
<h2>Figures</h2>{"".join(img(f) for f in figs)}
<h2>Notes</h2><ul>{"".join(f"<li>{html.escape(n)}</li>" for n in notes)}</ul>
</body></html>"""
    (folder / "report.html").write_text(body)


# ----------------------------------------------------------------------------- the job


def default_folder(design: dict) -> Path:
    label = f"{design['method']}-{design['experiment']}"
    if design.get("area"):
        label += f"-{design['area']}"
    return (
        Path.cwd() / "results" / f"sensitivity-{label}-N{design['N']}-{design['sample_hash'][:8]}"
    )


def main(overrides: list[str]) -> int:
    job_ov, hydra_ov = ch.split_hydra(overrides)
    start = time.perf_counter()
    design, sample, st = configure(job_ov)
    out = ch.chunk_folder("sensitivity", design, sample, st["out"], st["stage"], default_folder)
    with ch.job_log(out, "sensitivity"):
        n_chunks = st["n_chunks"]
        log.info(
            "%s: %d points x %d replicate(s) in %d chunk(s) -> %s",
            design["method"], len(sample), design["replicates"], n_chunks, out,
        )  # fmt: skip
        if not ch.run_stage(out, n_chunks, hydra_ov, st["jobs"], st["stage"], "sensitivity"):
            return 0
        res = analyze(out, st["resamples"])
        log.info("analysis written to %s in %.1f s", res["folder"], time.perf_counter() - start)
        print(f"sensitivity folder: {out}\nreport: {res['folder'] / 'report.html'}")
        return 0
