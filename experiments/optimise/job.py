"""`svsim optimise`: the best mix of interventions and places for a budget a year (issue 19).

Options come from the area and the library (options.py); the model with common random numbers is
the evaluator (evaluate.py); the search screens, fits curves, derives candidates and confirms them
on fresh replicates (search.py); the frontier comes from the curves (frontier.py). Both stages
are chunk folders under the optimise folder, so a killed run resumes to the same answer; the
outputs are written to <out>/analysis/ whole (report.md first).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf
from scipy import stats
from svsim.scenarios import appraisal as ap
from svsim.scenarios import transfer as tr
from svsim.scenarios.library import ScenarioError

from .. import chunks as ch
from ..compare.compare import VOI_BOOT, VOI_KEY, compare_config, replicate_inputs
from ..config import ConfigError, compose, run_config
from ..runfolder import run_folder, write_manifest
from . import options as op
from . import pareto, report
from .curves import fit_curves
from .evaluate import OBJECTIVES, REFERENCE, ModelEvaluator, Stage
from .frontier import frontier
from .mix import Mix, Problem, baseline, scenario_dict
from .search import Design, Result, optimise, screen, tops

log = logging.getLogger("svsim.optimise")

CONFIRMATION_FIRST = 100_000  # confirmation replicates are numbered from here: never screened
WEAK = ("weak", "none")  # evidence grades the report counts as weak or no evidence
ASSUMED = 0.5  # above this share of its variance from assumed inputs, an effect counts as assumed
RIVALS = 4  # the best candidates whose choice against today's programmes evidence could change


def configure(overrides: list[str]) -> dict:
    """Compose and validate conf/optimise.yaml; the problem, design, settings and the folder."""
    r = OmegaConf.to_container(compose("optimise", overrides), resolve=True)  # schema-checked
    run_config(overrides, config_name="optimise")  # the area, params and run settings
    today = str(r["today"])
    if today.endswith((".yaml", ".yml")) or "/" in today:
        today = str(Path(today).resolve())
    names = [REFERENCE] + ([today] if Path(today).stem != REFERENCE else [])
    passed = ch.passed_overrides(overrides)
    probe = [
        *passed,
        f"scenarios=[{','.join(names)}]",
        f"comparator={REFERENCE}",
        "replicates=2",
        *(f"{k}={r[k]}" for k in ("years", "start_year")),
    ]
    try:
        cmp, _ = compare_config(probe, sizes=False)  # the library, prices, and today checked
    except ScenarioError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    area, library, prices, first = cmp.run.area, cmp.library, cmp.prices, r["start_year"]
    capacity = {k: r[k] for k in ("minimum_people", "identified_per_year")}
    derived, left_out = op.derive(
        area,
        library,
        prices,
        first,
        op.chosen(library, r["interventions"]),
        op.place_sets(area, r["places"]),
        capacity,
    )
    derived, today_amounts = op.with_today(
        derived, cmp.scenarios[-1], area, library, prices, first, capacity
    )
    if not derived:
        raise ConfigError("interventions: no option can reach anyone in these places")
    try:
        options = tuple(d.option for d in derived)
        bounds = op.shares(r["shares"], options, library, area)
        problem = op.problem_of(derived, r["budget"], today_amounts, r["commit_today"], bounds)
        today_mix = op.today_mix(problem, today_amounts)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    objectives = [r["objective"], *(r["pareto"] or [])]
    for name in objectives[1:]:
        if name not in OBJECTIVES or objectives.count(name) > 1:
            raise ConfigError(
                f"pareto={name!r}: must be one of {', '.join(OBJECTIVES)}, once, and not the "
                f"objective {r['objective']!r}"
            )
    years = np.arange(first, first + r["years"])
    per_pound = float(ap.cash_pv(np.ones(len(years)), years, prices, first).sum())
    design = Design(
        seed=r["seed"],
        screening=tuple(range(r["screening"]["replicates"])),
        confirmation=tuple(
            range(CONFIRMATION_FIRST, CONFIRMATION_FIRST + r["confirmation"]["replicates"])
        ),
        levels=r["screening"]["levels"],
        resamples=r["resamples"],
        cost_per_pound=per_pound if r["objective"] == "net_social_benefit" else 0.0,
    )
    settings = {
        k: r[k]
        for k in (
            "objective",
            "pareto",
            "uncertainty",
            "parameter_uncertainty",
            "years",
            "burn_in_years",
            "seed",
            "start_year",
            "chunks",
            "jobs",
        )
    }
    settings["passed"] = passed
    stages = {
        design.screening: Stage("screening", r["screening"]["population_scale"]),
        design.confirmation: Stage("confirmation", r["population_scale"]),
    }
    key = hashlib.sha256(
        json.dumps(
            [
                [asdict(o) for o in problem.options],
                problem.budget,
                problem.commitments,
                [asdict(s) for s in problem.shares],
                asdict(design),
                {k: v for k, v in settings.items() if k != "jobs"},  # local cores: same answer
                [asdict(s) for s in stages.values()],
                today_mix.amounts,
            ],
            default=str,
        ).encode()
    ).hexdigest()[:8]
    out = r["out"] or Path.cwd() / "results" / f"optimise-{area.name}-{key}"
    return {
        "r": r,
        "problem": problem,
        "today": today_mix,
        "today_name": cmp.scenarios[-1].name,
        "design": design,
        "settings": settings,
        "stages": stages,
        "derived": derived,
        "left_out": left_out,
        "library": library,
        "compare": cmp,
        "objectives": objectives,
        "per_pound": per_pound,
        "area": area,
        "key": key,
        "out": Path(out).resolve(),
    }


def comparators(c: dict) -> tuple[list[Mix], list[str]]:
    """Today's programmes (the mix to beat), then the baseline if it differs; and their names."""
    today, base = c["today"], baseline(c["problem"])
    mixes, names = [today], [f"today ({c['today_name']})"]
    if base.amounts != today.amounts:
        mixes.append(base)
        names.append("commitments alone" if any(base.amounts) else "nothing funded")
    return mixes, names


def paired_interval(d: np.ndarray) -> tuple[float, float, float]:
    """Mean of paired differences and its 90% interval (Student's t), as search.confirm's."""
    half = stats.t.ppf(0.95, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def curve_share(result: Result, amounts, which: np.ndarray) -> float:
    """Share of a mix's benefit on the screening curves (each option's saturating benefit from
    nothing) that comes from the options marked in `which`."""
    a, s = np.array(result.curves.a), np.array(result.curves.s)
    benefit = a * -np.expm1(-np.asarray(amounts, float) / s)
    total = benefit.sum()
    return float(benefit[which].sum() / total) if total > 0 else float("nan")


def weak_options(c: dict) -> np.ndarray:
    """Options whose intervention's evidence is graded weak or none."""
    return np.array([c["library"][o.intervention].evidence in WEAK for o in c["problem"].options])


def assumed_options(c: dict) -> np.ndarray:
    """Options whose model effect owes more than half its variance to assumed (unsourced)
    inputs of its transfer chain (`svsim transfers`): a study graded strong can still reach the
    model mostly through assumptions, as social skills training does (antisocial behaviour in
    children 4-11 to violent offending at 11-16)."""
    share = {n: tr.summarise(c["library"][n].chain).assumed_share for n in c["library"]}
    return np.array([share[o.intervention] > ASSUMED for o in c["problem"].options])


def pareto_candidates(c: dict, evaluator: ModelEvaluator):
    """(the screening, the best mixes of blends of every objective's screening curves)."""
    p, d = c["problem"], c["design"]
    screening = screen(p, evaluator, d)
    curves = [
        fit_curves(
            screening.amounts,
            evaluator.matrix("screening", k, len(screening.amounts), d.screening),
            np.array(p.commitments),
            tops(p),
            c["per_pound"] if k == "net_social_benefit" else 0.0,
        )
        for k in c["objectives"]
    ]
    return screening, pareto.blended_candidates(p, curves)


def pareto_table(c: dict, result: Result, evaluator: ModelEvaluator, names: list[str]):
    """Every confirmed mix's mean of each objective with its 90% interval (Student's t), and
    whether it is in the Pareto set of the confirmation means."""
    import pandas as pd

    reps, n = c["design"].confirmation, len(result.rows)
    k = sum(r.role == "candidate" for r in result.rows)
    out = pd.DataFrame(
        {
            "name": [f"candidate-{j + 1:02d}" if j < k else names[j - k] for j in range(n)],
            "role": [r.role for r in result.rows],
        }
    )
    means = []
    for obj in c["objectives"]:
        v = evaluator.matrix("confirmation", obj, n, reps)
        half = stats.t.ppf(0.95, len(reps) - 1) * v.std(axis=1, ddof=1) / np.sqrt(len(reps))
        out[obj], out[f"{obj}_low"], out[f"{obj}_high"] = (
            v.mean(1),
            v.mean(1) - half,
            v.mean(1) + half,
        )
        means.append(v.mean(1))
    out["pareto"] = pareto.front(np.column_stack(means))
    out["mix"] = [describe(c["problem"], r.mix.amounts) for r in result.rows]
    return out


def describe(problem: Problem, amounts) -> str:
    parts = [f"{o.label} £{a:,.0f}" for o, a in zip(problem.options, amounts, strict=True) if a > 0]
    return "; ".join(parts) or "nothing"


def tables(c: dict, result: Result, evaluator: ModelEvaluator, names: list[str]) -> dict:
    """candidates, frontier, options and curves as DataFrames."""
    import pandas as pd

    p, objective = c["problem"], c["settings"]["objective"]
    labels = [o.label for o in p.options]
    spend = evaluator.values["confirmation"].groupby("mix")["spend_pv"].mean()
    k = sum(r.role == "candidate" for r in result.rows)
    weak, assumed = weak_options(c), assumed_options(c)
    rows = []
    for j, row in enumerate(result.rows):
        vs = paired_interval(result.values[j] - result.values[k])
        rows.append(
            {
                "name": f"candidate-{j + 1:02d}" if j < k else names[j - k],
                "role": row.role,
                "recommended": row.mix.amounts == result.recommended.amounts,
                "total_per_year": row.mix.total,
                "objective": objective,
                "mean": row.mean,
                "p10": row.p10,
                "p_beats_today": row.p_beats,
                "regret": row.regret,
                "vs_today_mean": vs[0],
                "vs_today_low": vs[1],
                "vs_today_high": vs[2],
                "shortfall_low": row.gap_low,
                "shortfall_high": row.gap_high,
                "indistinguishable": row.indistinguishable,
                "weak_or_no_evidence_share": curve_share(result, row.mix.amounts, weak),
                "assumed_transfer_share": curve_share(result, row.mix.amounts, assumed),
                "spend_pv_mean": float(spend.loc[j]),
                "mix": describe(p, row.mix.amounts),
                **dict(zip(labels, row.mix.amounts, strict=True)),
            }
        )
    points = frontier(p, result.curves, c["r"]["frontier"]["levels"], c["r"]["frontier"]["step"])
    front = pd.DataFrame(
        [
            {
                "budget": q.budget,
                "fitted_value": q.value,
                "step": c["r"]["frontier"]["step"],
                "next_step_buys": q.marginal,
                "mix": describe(p, q.mix.amounts) if q.mix else "",
                **dict(
                    zip(labels, q.mix.amounts if q.mix else [np.nan] * len(labels), strict=True)
                ),
            }
            for q in points
        ]
    )
    opts = pd.DataFrame(
        [
            {
                "intervention": d.option.intervention,
                "places": ", ".join(d.option.places),
                "tier": c["library"][d.option.intervention].tier,
                "evidence": c["library"][d.option.intervention].evidence,
                "minimum": d.option.minimum,
                "maximum": d.option.maximum,
                "capacity_basis": d.basis,
                "capacity_units": d.units,
                "today": t,
                "commitment": f,
            }
            for d, t, f in zip(c["derived"], c["today"].amounts, p.commitments, strict=True)
        ]
    )
    cv = result.curves
    curves = pd.DataFrame({"option": labels, "a": cv.a, "s": cv.s, "c": cv.c, "x0": cv.x0})
    return {"candidates": pd.DataFrame(rows), "frontier": front, "options": opts, "curves": curves}


def evidence_sensitivity(c: dict, result: Result, names: list[str]) -> tuple:
    """How far better evidence could change the recommendation: the value of information
    (scenarios/voi.py) of every uncertain input - each funded intervention's effect chain,
    uptake, completion and unit cost, and the calibrated parameters - over the confirmation
    replicates (each a joint draw of all of them, as the evaluator ran it), for the choice
    between today's programmes and the RIVALS candidates of best mean. (EVPPI table, summary);
    with too few replicates the summary says so and the table is empty."""
    import pandas as pd
    from svsim.scenarios import voi
    from svsim.scenarios.inputs import draw_inputs

    k = sum(r.role == "candidate" for r in result.rows)
    best = np.argsort([-r.mean for r in result.rows[:k]], kind="stable")[:RIVALS]
    cols = [k, *best.tolist()]  # today's programmes first: the comparator of the increments
    nb = (result.values[cols] - result.values[k]).T
    options = [names[0], *(f"candidate-{j + 1:02d}" for j in best)]
    funded = {
        o.intervention
        for j in cols
        for o, a in zip(c["problem"].options, result.rows[j].mix.amounts, strict=True)
        if a > 0
    }
    cmp, s = c["compare"], c["settings"]
    inputs = pd.DataFrame(
        [
            replicate_inputs(
                cmp, r, draw_inputs(cmp.library, s["seed"], r, s["uncertainty"]), funded
            )
            for r in c["design"].confirmation
        ]
    )
    rng = np.random.default_rng([s["seed"], VOI_KEY])
    return voi.analyse(nb, options, inputs, VOI_BOOT, rng)


def write_outputs(c: dict, result: Result, evaluator: ModelEvaluator, names, seconds) -> Path:
    """<out>/analysis/, whole: recommended.yaml, candidates.csv, frontier.csv, options.csv,
    curves.csv, evidence.csv (the value of information), pareto.csv (several objectives),
    report.md, manifest.json."""
    r = c["r"]
    t = tables(c, result, evaluator, names)
    t["evidence"], evidence = evidence_sensitivity(c, result, names)
    if len(c["objectives"]) > 1:
        t["pareto"] = pareto_table(c, result, evaluator, names)
    first = r["start_year"]
    data = scenario_dict(
        result.recommended,
        "optimised",
        f"Optimised mix (£{r['budget']:,.0f} a year)",
        f"The best mix svsim optimise found for {r['objective']} (key {c['key']}).",
        (first, first + r["years"] - 1),
        first,
    )
    data["assumptions"] = (
        "Amounts found by svsim optimise on the model; see its report.md for "
        "the confirmation values and options.csv for the capacities."
    )
    target = c["out"] / "analysis"
    with run_folder(target, replace=True) as tmp:
        (tmp / "recommended.yaml").write_text(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        )
        for name, df in t.items():
            df.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "report.md").write_text(report.write(c, t, seconds, evidence))
        best = t["candidates"][t["candidates"].recommended].iloc[0]
        write_manifest(
            tmp,
            job="optimise",
            area=c["area"].name,
            key=c["key"],
            objective=r["objective"],
            budget=r["budget"],
            recommended=best["name"],
            mean=best["mean"],
            seconds=seconds,
            options=len(c["problem"].options),
            candidates=int((t["candidates"].role == "candidate").sum()),
        )
    return target


def main(overrides: list[str]) -> int:
    job_ov, hydra_ov = ch.split_hydra(overrides)
    start = time.perf_counter()
    c = configure(job_ov)
    ch.claim_job_folder(c["out"], c["key"], "optimise.json", "an optimisation")
    evaluator = ModelEvaluator(c["out"], c["settings"], c["stages"], hydra_ov)
    mixes, names = comparators(c)
    with ch.job_log(c["out"], "optimise"):
        p, d = c["problem"], c["design"]
        log.info(
            "optimise: %d options, budget £%s a year, %s; %d screening and %d confirmation "
            "replicates -> %s",
            len(p.options),
            f"{p.budget:,.0f}",
            c["settings"]["objective"],
            len(d.screening),
            len(d.confirmation),
            c["out"],
        )
        screening, extra = None, []
        if len(c["objectives"]) > 1:
            screening, extra = pareto_candidates(c, evaluator)
        result = optimise(p, evaluator, d, comparators=mixes, screening=screening, extra=extra)
        target = write_outputs(c, result, evaluator, names, evaluator.seconds)
        log.info("optimise: done in %.1f s (%s)", time.perf_counter() - start, evaluator.seconds)
    print(
        f"optimise folder: {c['out']}\nrecommended: {target / 'recommended.yaml'}; "
        f"report: {target / 'report.md'}"
    )
    return 0
