"""The one schema of every job's settings: each field's type, range and meaning.

`compose` (config.py) checks a job's composed configuration against its schema before the job
sees it: unknown keys, missing keys, wrong shapes, NaN and infinity, out-of-range values and
sizes that cannot fit in this computer's memory are refused in one line naming the field and the
value. Model parameters (`params.*`) have their own schema, the ranges in model/params.py; areas,
scenarios, targets and experiments are checked by their own loaders. `svsim JOB --help` prints
the job's schema, and tests/test_schema.py generates the bad-input cases from it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from svsim.model import outcomes as oc
from svsim.model.params import brief

NO_LIMIT = math.inf
YEAR_RANGE = (2000, 2100)  # assumed: the prices, populations and targets are of this century
SEED_MAX = 2**32 - 1  # assumed: the usual seed range; seed + replicate stays far inside int64


@dataclass(frozen=True)
class Field:
    """One setting: its kind, closed range [lo, hi] (lo open when lo_open), and meaning."""

    kind: str  # whole | number | bool | text | choice | list | map | path
    doc: str
    lo: float = -NO_LIMIT
    hi: float = NO_LIMIT
    lo_open: bool = False
    choices: tuple = ()
    null: bool = False  # may be null
    secret: bool = False  # never echo the value (a token)

    def rule(self) -> str:
        """The rule in words, as an error message ends."""
        if self.kind in ("whole", "number"):
            what = "a whole number" if self.kind == "whole" else "a finite number"
            lo, hi = _show(self.lo), _show(self.hi)
            if self.hi == NO_LIMIT:
                rule = f"{what} {'>' if self.lo_open else '>='} {lo}"
            else:
                rule = f"{what} in {'(' if self.lo_open else '['}{lo}, {hi}]"
        else:
            rule = {
                "bool": "true or false",
                "text": "a text",
                "choice": "one of " + ", ".join(map(str, self.choices)),
                "list": "a list",
                "map": "a mapping",
                "path": "a folder path",
            }[self.kind]
        return rule + (" or null" if self.null else "")


def _show(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _whole(doc: str, lo: float = 0, hi: float = NO_LIMIT) -> Field:
    return Field("whole", doc, lo, hi)


def _number(doc: str, lo: float = 0, hi: float = NO_LIMIT, lo_open: bool = False) -> Field:
    return Field("number", doc, lo, hi, lo_open)


MODEL = {  # every job that runs the model
    "area": Field("map", "the area (conf/area/<name>.yaml or a path); checked by its loader"),
    "params": Field("map", "model parameters; ranges in model/params.py (model/ODD.md 2)"),
    "calibration": Field("map", "the shipped calibration (conf/calibrated/<area>.yaml)"),
    "csp_hazard_multiplier": Field("map", "CSP name -> offending hazard multiplier in [0, 100]"),
    "years": _whole("projection years after burn-in", 1, 20),
    "burn_in_years": _whole("years simulated and discarded before the projection", 0, 20),
    "seed": _whole("the seed of every random stream; replicate r uses seed + r", 0, SEED_MAX),
    "population_scale": _number("fraction of households simulated", 0, 1, lo_open=True),
    "start_year": _whole("calendar year of the first projection week", *YEAR_RANGE),
    "out": Field("path", "output folder (default under results/)", null=True),
    "write_incidents": Field("bool", "also write incidents.parquet"),
}
JOBS_FIELD = _whole("local worker processes", 1, 1024)
STAGE = Field("choice", "which part runs", choices=("all", "prepare", "run", "analyze"))
CHUNKS = _whole("chunks the work is cut into, one Hydra job each", 1, 100_000)
SCENARIOS = Field("list", "scenario names (conf/scenario/) or scenario file paths")
COMPARATOR = Field("text", "the scenario every other is paired against")
PRISON = {
    "prison_place_per_year": Field("map", "custody cost a prison place a year"),
    "prison_place_per_year.value": _number("GBP a prison place a year", 0, 1e7),
    "prison_place_per_year.price_year": _whole("the price year of value", *YEAR_RANGE),
    "prison_place_per_year.source": Field("text", "where the value comes from"),
}
TARGETS = Field("text", "conf/targets/<name>.yaml, or a path to a YAML file")

SCHEMAS: dict[str, dict[str, Field]] = {
    "run": {
        **MODEL,
        "profile": Field("bool", "time each weekly process"),
        "funding": Field("text", "a funding scenario (name or file), or null for none", null=True),
    },
    "compare": {
        **MODEL,
        **PRISON,
        "scenarios": SCENARIOS,
        "comparator": COMPARATOR,
        "replicates": _whole("replicates, each a seed and a draw of uncertain inputs", 2),
        "uncertainty": Field("bool", "draw effect sizes, uptake, completion and unit costs"),
        "parameter_uncertainty": Field("bool", "replicate r runs plausible-set member r mod n"),
        "jobs": JOBS_FIELD,
        "check": Field("bool", "only validate the scenario files and show the run settings"),
        "decompose": Field("bool", "also run each scenario's interventions one at a time"),
    },
    "sweep": {
        **MODEL,
        "grid": Field("map", "key -> list of values; the cartesian product", null=True),
        "points": Field("list", "a list of maps, one per point (instead of grid)", null=True),
        "alternative": Field("text", "the scenario compared where a point names none"),
        "comparator": COMPARATOR,
        "replicates": _whole("replicates per point (common random numbers)", 2),
        "uncertainty": Field("bool", "draw effect sizes, uptake, completion and unit costs"),
        "chunks": CHUNKS,
        "jobs": JOBS_FIELD,
        "stage": STAGE,
    },
    "sensitivity": {
        **MODEL,
        "experiment": Field("map", "the inputs and output (conf/experiment/); own loader"),
        "method": Field("choice", "sobol or morris", choices=("sobol", "morris")),
        "N": _whole("sobol: base sample (a power of two); morris: trajectories", 2),
        "levels": _whole("morris grid levels (even)", 2, 1000),
        "replicates": _whole("seeds per point", 1),
        "chunks": CHUNKS,
        "jobs": JOBS_FIELD,
        "resamples": _whole("bootstrap resamples for the confidence intervals", 1, 1_000_000),
        "stage": STAGE,
    },
    "voi": {
        **MODEL,
        "scenarios": SCENARIOS,
        "comparator": COMPARATOR,
        "draws": _whole("joint draws of every uncertain input", 10),
        "chunks": CHUNKS,
        "jobs": JOBS_FIELD,
        "stage": STAGE,
        "boot": _whole("bootstrap resamples for the intervals", 0, 1_000_000),
        "multiplier": _number("value placed on harm: Home Office unit costs x this", 0, 1000),
    },
    "optimise": {
        **MODEL,
        "population_scale": _number("the confirmation's population scale", 0, 1, lo_open=True),
        "budget": _number("GBP a year, flat", 0, 1e10),
        "objective": Field(
            "choice",
            "what the mix maximises",
            choices=(
                "net_social_benefit",
                "admissions_averted",
                "homicides_averted",
                "serious_violence_averted",
            ),
        ),
        "pareto": Field("list", "further objectives: the Pareto set over them and objective"),
        "interventions": Field("list", "intervention names; null: the whole library", null=True),
        "places": Field("list", "lists of places, one per place set; null: each CSP", null=True),
        "today": Field("text", "today's programmes: a scenario name or path, the mix to beat"),
        "commit_today": Field("bool", "keep today's programmes as floors in every mix"),
        "shares": Field(
            "list", "bounds on a tier's or CSP's share of the money: {tier|csp, min, max}"
        ),
        "screening": Field("map", "the screening stage"),
        "screening.replicates": _whole("its replicates (0..n-1)", 2, 100_000),
        "screening.population_scale": _number("its population scale", 0, 1, lo_open=True),
        "screening.levels": _whole("amounts screened per option", 3, 100),
        "confirmation": Field("map", "the confirmation stage"),
        "confirmation.replicates": _whole("its fresh replicates (from 100000)", 2, 1_000_000),
        "resamples": _whole("candidates from resampled screening replicates", 0, 10_000),
        "frontier": Field("map", "the efficient frontier"),
        "frontier.levels": _whole("budgets from 0 to twice the budget", 11, 10_000),
        "frontier.step": _whole("GBP a year: the step whose worth each level shows", 1, 10**9),
        "minimum_people": _whole("people a year: the smallest viable caseload", 1, 10**6),
        "identified_per_year": Field("map", "share of residents each route finds a year"),
        **{
            f"identified_per_year.{route}": _number(f"{route}: share a year", 0, 1, True)
            for route in ("arrest", "group", "out_of_court", "diversion", "hospital", "referral")
        },
        "chunks": CHUNKS,
        "jobs": JOBS_FIELD,
        "uncertainty": Field("bool", "draw effect sizes, uptake, completion and unit costs"),
        "parameter_uncertainty": Field("bool", "replicate r runs plausible-set member r mod n"),
    },
    "calibrate": {
        **{k: v for k, v in MODEL.items() if k != "calibration"},
        "targets_file": TARGETS,
        "free": Field("map", "the free parameters and their priors; own loader"),
        "waves": Field("list", "model runs a wave (whole numbers >= 10)"),
        "chunks": CHUNKS,
        "jobs": JOBS_FIELD,
        "plausible_max": _whole("members kept in the plausible set", 2, 100_000),
        "recovery_truths": _whole("known points re-run as synthetic targets", 0, 1000),
        "promote": Field("bool", "copy best.yaml to conf/calibrated/<area>.yaml"),
    },
    "validate": {
        **MODEL,
        "targets_file": TARGETS,
        "members": _whole("plausible-set members run, one seed each", 1, 100_000),
        "jobs": JOBS_FIELD,
    },
    "workshop": {
        **MODEL,
        **PRISON,
        "host": Field("text", "address to listen on; 127.0.0.1 = this computer only"),
        "port": _whole("port; 0 = any free port", 0, 65535),
        "token": Field("text", "password the page asks for, or auto", null=True, secret=True),
        "scenario_folders": Field("list", "folders the page may load scenario files from"),
        "comparator": COMPARATOR,
        "start_from": Field("text", "the what-if's starting scenario (a name or path)"),
        "budget_per_year": _number("GBP a year the room can allocate", 0, 1e10),
        "suggest_from": Field(
            "path", "an svsim optimise folder whose frontier suggests a mix", null=True
        ),
        "step": _whole("GBP a slider step", 1, 10**10),
        "max_per_intervention": _number("GBP a year; the slider's range", 1, 1e10),
        "replicates": _whole("replicates a what-if", 2, 10_000),
        "uncertainty": Field("bool", "draw effect sizes, uptake, completion and unit costs"),
        "parameter_uncertainty": Field("bool", "replicate r runs plausible-set member r mod n"),
        "precise": Field("map", "the more-precise design"),
        "precise.population_scale": _number("its population scale", 0, 1, lo_open=True),
        "precise.replicates": _whole("its replicates", 2, 10_000),
        "prewarm": Field("bool", "simulate the comparator's runs when the server starts"),
    },
    "bench": {
        "repeats": _whole("fresh full-area runs timed", 1, 1000),
        "full_area": Field("map", "the full-area run"),
        "full_area.area": Field("text", "its area"),
        "full_area.population_scale": _number("its population scale", 0, 1, lo_open=True),
        "full_area.years": _whole("its projection years", 1, 20),
        "full_area.burn_in_years": _whole("its burn-in years", 0, 20),
        "full_area.seed": _whole("its seed", 0, SEED_MAX),
        "mesa_comparison": Field("map", "the per-agent Mesa comparison"),
        "mesa_comparison.area": Field("text", "its area"),
        "mesa_comparison.population_scales": Field("list", "its population scales, each (0, 1]"),
        "mesa_comparison.weeks": _whole("weeks timed", 1, 1040),
        "mesa_comparison.seed": _whole("its seed", 0, SEED_MAX),
        "profile_scenario": Field("text", "the scenario whose interventions are profiled"),
        "out": Field("path", "output folder (default under results/)", null=True),
    },
}
OPTIONAL = {"calibration", "csp_hazard_multiplier"}  # absent when no calibration is shipped


class SchemaError(ValueError):
    """A setting that breaks its job's schema; one line naming the field and the value."""


def shown(value, field: Field | None = None) -> str:
    """A value as an error message shows it: short, one line, never a secret."""
    return "..." if field is not None and field.secret else brief(value)


def _get(tree: dict, path: str):
    node = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return KeyError
        node = node[part]
    return node


def problem(value, f: Field) -> str | None:
    """Why value breaks f, or None."""
    if value is None:
        return None if f.null else "missing (null)"
    if f.kind in ("whole", "number"):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value):
            return f"must be {f.rule()}"
        if f.kind == "whole" and not isinstance(value, int):
            return f"must be {f.rule()}"
        too_low = value <= f.lo if f.lo_open else value < f.lo
        return f"must be {f.rule()}" if too_low or value > f.hi else None
    ok = {
        "bool": lambda v: isinstance(v, bool),
        "text": lambda v: isinstance(v, str) and v.strip() != "",
        "choice": lambda v: v in f.choices and not isinstance(v, bool),
        "list": lambda v: isinstance(v, list),
        "map": lambda v: isinstance(v, dict),
        "path": lambda v: isinstance(v, str) and v.strip() != "" and "\0" not in v,
    }[f.kind](value)
    if ok and f.kind == "path" and os.path.exists(value) and not os.path.isdir(value):
        return "exists and is not a folder"
    return None if ok else f"must be {f.rule()}"


def check(job: str, resolved: dict, sizes: bool = True) -> None:
    """Refuse the first setting of `resolved` (a composed configuration) that breaks the job's
    schema: unknown or missing keys, wrong types, NaN, infinity, out of range, or too big to
    fit in memory (unless sizes is False)."""
    schema = SCHEMAS[job]
    for key in resolved:
        if key not in schema and key != "hydra":
            raise SchemaError(f"{key}: unknown configuration key for svsim {job}")
    for path, f in schema.items():
        value = _get(resolved, path)
        if value is KeyError:
            if path.split(".")[0] in OPTIONAL:
                continue
            raise SchemaError(f"{path}: missing; must be {f.rule()}")
        why = problem(value, f)
        if why:
            raise SchemaError(f"{path}={shown(value, f)}: {why}")
    for path, f in schema.items():  # mappings whose keys the schema lists: no others
        sub = {p[len(path) + 1 :].split(".")[0] for p in schema if p.startswith(path + ".")}
        value = _get(resolved, path)
        if f.kind == "map" and sub and isinstance(value, dict):
            extra = sorted(set(value) - sub)
            if extra:
                raise SchemaError(f"{path}.{extra[0]}: unknown configuration key")
    if sizes:
        check_memory(job, resolved)


# ----------------------------------------------------------------------------- memory
# Measured here (svsim run at scales 0.05 and 0.25 of Wiltshire and Swindon, peak RSS 272 and
# 337 MB for 37,000 and 187,000 simulated people): a process ~260 MB, ~450 bytes a person.
PROCESS_BYTES = 260e6
PERSON_BYTES = 450
CELL_BYTES = 80  # a results cell (scenario x replicate x year x group x measure) in the tables
GROUPS_PER_COMMUNITY = len(oc.AGE_BANDS) * 2  # the model's result groups: age band x sex
ROW_BYTES = 1000  # a row of a chunk's table (about 100 numbers and labels)


def memory_parts(job: str, r: dict) -> dict[str, float]:
    """Bytes the job needs at once on this computer, roughly, by the setting that sizes each
    part: its concurrent model copies (jobs) and the results it holds. Sizes, not a fixed cap:
    a real 1,000-draw job fits."""
    area = r.get("area") or {}
    comms = area.get("communities") if isinstance(area, dict) else None
    comms = [c for c in comms if isinstance(c, dict)] if isinstance(comms, list) else []
    people = sum(_number_or_0(c.get("population")) for c in comms)  # checked by area_from_dict
    model = PROCESS_BYTES + PERSON_BYTES * people * float(r.get("population_scale") or 1)
    cells_a_run = int(r.get("years") or 1) * len(comms) * GROUPS_PER_COMMUNITY * len(oc.MEASURES)
    parts = {"jobs": int(r.get("jobs") or 1) * 2 * model}  # a burned-in model and its copy
    if job == "compare":
        parts["replicates"] = r["replicates"] * len(r["scenarios"]) * cells_a_run * CELL_BYTES
    elif job == "voi":  # a row of inputs and outcomes per draw and scenario
        parts["draws"] = r["draws"] * len(r["scenarios"]) * ROW_BYTES
    elif job == "sensitivity":  # the sample: N (D + 2) points of D inputs, and a row each
        d = len((r.get("experiment") or {}).get("inputs") or {}) or 1
        parts["N"] = r["N"] * (d + 2) * (d * 8 + ROW_BYTES * r["replicates"])
    return parts


def _number_or_0(x) -> float:
    ok = isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
    return float(x) if ok else 0.0


def memory_available() -> float:
    """This computer's physical memory in bytes."""
    return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def check_memory(job: str, r: dict) -> None:
    parts, have = memory_parts(job, r), memory_available()
    need = sum(parts.values())
    if need > have:
        size = max(parts, key=parts.get)
        raise SchemaError(
            f"{size}={shown(r.get(size, 1))}: needs about {need / 1e9:,.1f} GB of memory, this "
            f"computer has {have / 1e9:,.1f} GB; make it smaller"
        )


def help_text(job: str) -> str:
    """The job's settings, from its schema, as `svsim JOB --help` prints them."""
    lines = [f"usage: svsim {job} [key=value ...]", "", "Settings (conf/" + job + ".yaml):"]
    for path, f in SCHEMAS[job].items():
        lines.append(f"  {path:<30} {f.rule():<36} {f.doc}")
    if "params" in SCHEMAS[job]:
        lines.append("  params.<group>.<name>: model parameters, ranges in model/ODD.md section 2")
    return "\n".join(lines)
