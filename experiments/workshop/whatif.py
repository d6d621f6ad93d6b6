"""The engine behind `svsim workshop`: a what-if from amounts per intervention, run paired
against a cached comparator with the compare machinery, returned as tidy numbers.

A what-if is a `Scenario` like any in conf/scenario/, built from the page's amounts and places and
validated by `scenario_from_dict`. It runs exactly as `svsim compare` runs a scenario
(`compare.run_replicate`): replicate r has seed + r, its own draw of the uncertain inputs
(`draw_inputs`), the burn-in simulated once and copied, the funding applied through `Portfolio`;
the statistics are compare's own `tables` and `summarise`. The only difference is caching: the
burned-in model and the comparator's projection of each replicate are kept in memory per design
(scale, replicates, horizon), so a what-if costs one projection per replicate.
"""

from __future__ import annotations

import functools
import io
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from svsim.model import ViolenceModel
from svsim.scenarios.delivery import Portfolio, reach_problems
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import TIERS, ScenarioError, quote, scenario_from_dict

from ..compare.compare import (
    CompareConfig,
    _load_library,
    load_prices,
    load_scenarios,
    summarise,
    tables,
)
from ..config import CONF_DIR, ConfigError, area_labels, run_config
from ..userfiles import FileGate, UserFileError, parse_yaml, scenario_shape
from .suggest import Frontier, load_frontier, suggested

HEADLINE = {
    "admissions_expected": "Hospital admissions for assault with a knife or sharp object",
    "serious_violence_true": "Serious violence incidents",
    "homicides_expected": "Homicides",
}
ECONOMICS_LABELS = {
    "spend_pv": "extra money committed to the interventions, GBP present value (cash)",
    "allocated_pv": "extra money committed (allocated), GBP present value (cash)",
    "spent_pv": "of which delivery spent, GBP present value (cash)",
    "shortfall_pv": "of which delivery could not spend, GBP present value (cash)",
    "harm_averted_pv": "social cost of harm avoided, stated basis, GBP present value (NOT cash)",
    "harm_averted_pv_stated": "social cost of harm avoided, stated basis, GBP present value",
    "harm_averted_pv_recorded_only": "harm avoided, police-recorded incidents only, GBP PV",
    "harm_averted_pv_all_true": "harm avoided, all true incidents, GBP present value",
    "justice_cost_change_pv": "change in custody costs, GBP present value",
    "net_benefit_pv": "social cost of harm avoided minus extra money committed, GBP present value",
    "bcr": "benefit-cost ratio (mean harm avoided per mean extra pound committed)",
    "prob_bcr_gt_1": "share of replicates where the harm avoided exceeds the extra money committed",
    "cost_per_vwi_averted": "extra GBP per violence-with-injury incident averted",
    "cost_per_admission_averted": "extra GBP per admission averted",
    "cost_per_homicide_averted": "extra GBP per homicide averted",
}
WHATIF_NAME = "workshop_whatif"


class WhatIfError(ValueError):
    """Input the page refuses: one plain line per problem, for the room to read."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


class Cancelled(Exception):
    """A newer what-if replaced this one, or the server is stopping."""


# set when the server stops (Ctrl-C, SIGTERM): every run in progress ends within a few weeks' steps
STOP = threading.Event()
CHECK_WEEKS = 4  # how often a run asks whether to stop


def money(x: float) -> str:
    sign = "-" if round(x) < 0 else ""
    return f"{sign}£{abs(x):,.0f}"


@dataclass(frozen=True)
class Design:
    """How precisely a what-if is simulated."""

    population_scale: float
    replicates: int
    years: int


@dataclass(frozen=True)
class Workshop:
    """The validated configuration of the page (conf/workshop.yaml and overrides)."""

    run: Any  # RunConfig: area, params, settings
    area_ref: str  # the area as named on the command line (a conf name or a path)
    library: dict
    prices: Any
    prison_week_cost: float
    comparator: Any  # Scenario
    start: Any  # Scenario: the what-if's starting amounts and places
    budget: float
    quick: Design
    precise: Design
    uncertainty: bool
    step: int
    max_per_intervention: float
    host: str
    port: int
    gate: FileGate  # the folders scenario files may be loaded from
    token: str | None  # when set, the page answers only requests that carry it
    prewarm: bool
    resolved: dict
    funded_until: int  # last year the page's money is paid unless a file says otherwise
    note: str = ""  # e.g. the comparator had to change for this area
    frontier: Frontier | None = None  # "suggest a mix": an optimise frontier for this area

    @property
    def places(self) -> list[str]:
        return area_places(self.run.area)

    @property
    def projection_years(self) -> tuple[int, int]:
        s = self.run.settings
        return s.start_year, s.start_year + s.years - 1


def area_places(area) -> list[str]:
    """'all', then the CSPs, then the communities, in the area file's order."""
    return ["all", *(c.name for c in area.csps), *(c.name for c in area.communities)]


def _whole(r: dict, key: str, lo: int, hi: int | None = None) -> int:
    v = r
    for k in key.split("."):
        v = v[k]
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rule = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ConfigError(f"{key}={v!r}: must be a whole number {rule}")
    return v


def _number(r: dict, key: str, lo: float, hi: float, lo_open: bool = False) -> float:
    v = r
    for k in key.split("."):
        v = v[k]
    ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ok = ok and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        raise ConfigError(f"{key}={v!r}: must be a number in {'(' if lo_open else '['}{lo}, {hi}]")
    return float(v)


def _load_one(name: str, area, library: dict, years: tuple[int, int]):
    return load_scenarios([name], area, library, *years)[0]


def workshop_config(overrides: list[str], fallback: bool = False) -> Workshop:
    """Compose and validate conf/workshop.yaml with overrides.

    fallback=True (switching area on the page): a comparator or starting scenario that does not
    fit the area is replaced by no new funding, with a note, instead of refused."""
    run = run_config(overrides, config_name="workshop")
    r = run.resolved
    replicates = _whole(r, "replicates", 2)
    precise = Design(
        _number(r, "precise.population_scale", 0, 1, lo_open=True),
        _whole(r, "precise.replicates", 2),
        run.settings.years,
    )
    budget = _number(r, "budget_per_year", 0, 1e10)
    step = _whole(r, "step", 1)
    top = _number(r, "max_per_intervention", step, 1e10)
    port = _whole(r, "port", 0, 65535)
    host = r["host"]
    if not isinstance(host, str) or not host.strip():
        raise ConfigError(f"host={host!r}: must be an address such as 127.0.0.1")
    gate = scenario_gate(r.get("scenario_folders"))
    token = access_token(r.get("token"))
    library = _load_library()
    s = run.settings
    years = (s.start_year, s.start_year + s.years - 1)
    note = ""
    try:
        comparator = _load_one(str(r["comparator"]), run.area, library, years)
        start = _load_one(str(r["start_from"]), run.area, library, years)
    except ScenarioError as exc:
        if not fallback:
            raise ConfigError(str(exc)) from None
        comparator = _load_one("no_new_funding", run.area, library, years)
        start = comparator
        note = (
            f"The comparator '{r['comparator']}' does not fit this area (it names places "
            "elsewhere), so what-ifs here are compared with no new funding."
        )
    if comparator.name == WHATIF_NAME:
        raise ConfigError(f"comparator={comparator.name!r}: that name is the page's own")
    prices = load_prices()
    prison = r["prison_place_per_year"]
    week_cost = prison["value"] / 52 * prices.uprate(prison["price_year"], prices.base_year)
    area_ref = next(
        (o.split("=", 1)[1] for o in reversed(overrides) if o.startswith("area=")), run.area.name
    )
    frontier = None
    if r.get("suggest_from"):
        try:
            frontier = load_frontier(
                r["suggest_from"], run.area.name, library, area_places(run.area)
            )
        except ConfigError:
            if not fallback:
                raise  # switching area on the page: a frontier of another area is not offered
    return Workshop(
        run=run,
        area_ref=area_ref,
        library=library,
        prices=prices,
        prison_week_cost=week_cost,
        comparator=comparator,
        start=start,
        budget=budget,
        quick=Design(s.population_scale, replicates, s.years),
        precise=precise,
        uncertainty=bool(r["uncertainty"]),
        step=step,
        max_per_intervention=top,
        host=host.strip(),
        port=port,
        gate=gate,
        token=token,
        prewarm=bool(r.get("prewarm", True)),
        resolved=r,
        funded_until=years[1],
        note=note,
        frontier=frontier,
    )


def scenario_gate(folders) -> FileGate:
    """The folders the page may load scenario files from: those named, or by default the shipped
    scenarios (conf/scenario) and ./scenarios under the folder the page was started in."""
    if folders is None or folders == []:
        return FileGate.folders([CONF_DIR / "scenario", Path.cwd() / "scenarios"])
    if not isinstance(folders, list):
        raise ConfigError(f"scenario_folders={quote(folders)}: must be a list of folders")
    for i, f in enumerate(folders):
        if not isinstance(f, str) or not Path(f).expanduser().is_dir():
            raise ConfigError(f"scenario_folders[{i}]={quote(f)}: not a folder")
    return FileGate.folders(folders)


def access_token(token) -> str | None:
    """None (no token), a token of at least 8 characters, or 'auto': a fresh random one."""
    if token is None:
        return None
    if token == "auto":
        return secrets.token_urlsafe(16)
    ok = isinstance(token, str) and len(token) >= 8 and token.isprintable()
    if not ok or any(c.isspace() or c in "&#%;" for c in token):
        raise ConfigError(
            "token=...: must be 'auto' or at least 8 characters, without spaces or &#%;"
        )
    return token


@functools.cache
def areas() -> dict[str, str]:
    """Areas the page offers, name -> label; read once, as the area files do not change."""
    return area_labels()


# ---- building a what-if ---------------------------------------------------------------------


@dataclass
class Plan:
    """What the page holds: an amount, places and funded years per intervention."""

    amounts: dict[str, Any]  # name -> GBP a year (anything the room typed)
    places: dict[str, Any] = field(default_factory=dict)  # name -> list of places or "a, b"
    years: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (first, last)
    budget: float = 0.0
    name: str = WHATIF_NAME
    label: str = "Workshop what-if"

    def total(self) -> float:
        return sum(float(v) for v in self.amounts.values() if _is_number(v) and float(v) > 0)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse_amount(text: Any) -> Any:
    """A typed amount ('50000', '£50,000', '-5000'; empty = 0) as a number, else the text as
    typed, which `check_plan` refuses with a message."""
    raw = str(text).strip()
    try:
        v = float(raw.replace(",", "").replace("£", "").replace(" ", "") or 0)
    except ValueError:
        return raw
    if not math.isfinite(v):
        return raw
    return int(v) if v.is_integer() else v


def funded_years(ws: Workshop, plan: Plan, name: str) -> tuple[int, int]:
    """The years an intervention's money is paid: its own, else the page's funding period."""
    return plan.years.get(name, (ws.projection_years[0], ws.funded_until))


def funding_note(ws: Workshop, plan: Plan) -> str:
    """A plain sentence when the horizon runs past the funded years; '' when it does not."""
    last = ws.projection_years[1]
    ends = {
        "this what-if": [
            funded_years(ws, plan, n)[1] for n, v in plan.amounts.items() if _is_number(v) and v > 0
        ],
        f"the comparator, '{ws.comparator.label}',": [
            a.end_year for a in ws.comparator.allocations if a.amount_per_year > 0
        ],
    }
    short = {who: max(e) for who, e in ends.items() if e and max(e) < last}
    if not short:
        return ""
    parts = " and ".join(f"{who} is funded to {end} only" for who, end in short.items())
    return (
        f"The horizon runs to {last}, but the money stops earlier: {parts}. The years after "
        "that show what lasts once the money stops, with no spending."
    )


def place_list(value: Any) -> list[str]:
    if value is None:
        return ["all"]
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(p).strip() for p in value]


def start_plan(ws: Workshop) -> Plan:
    """The page's first what-if: the starting scenario's amounts, every other one at zero."""
    amounts = {n: 0.0 for n in ws.library}
    places: dict[str, Any] = {n: ["all"] for n in ws.library}
    years: dict[str, tuple[int, int]] = {}
    for a in ws.start.allocations:  # its own funded years, whatever the page's horizon
        amounts[a.intervention] += a.amount_per_year
        places[a.intervention] = list(a.places)
        years[a.intervention] = (a.start_year, a.end_year)
    return Plan(amounts, places, years, budget=max(ws.budget, ws.start.budget_per_year))


def suggest_plan(ws: Workshop, budget: float) -> tuple[Plan, str]:
    """The best mix of the cached optimise frontier within `budget`, as the page's plan, and a
    sentence saying where it comes from and what it is not."""
    level, amounts, places = suggested(ws.frontier, budget)
    plan = Plan(
        {n: amounts.get(n, 0.0) for n in ws.library},
        {n: places.get(n, ["all"]) for n in ws.library},
        {},
        budget=budget,
    )
    note = (
        f"Suggested: the best mix svsim optimise found for {money(level)} a year (its frontier "
        f"level within the budget of {money(budget)}; {ws.frontier.folder}). It is the best "
        "on the optimiser's fitted curves: the page's runs below are the check."
    )
    return plan, note


def check_plan(ws: Workshop, plan: Plan) -> list[str]:
    """Plain one-line messages for what the room must fix; [] if the plan can run."""
    return [m for _, m in plan_problems(ws, plan)]


def plan_problems(ws: Workshop, plan: Plan) -> list[tuple[str, str]]:
    """(where, message) for each problem: where is an intervention's name, or '' for the plan."""
    msgs = []
    known = set(ws.places)
    csps = ", ".join(c.name for c in ws.run.area.csps)
    if not _is_number(plan.budget) or plan.budget < 0:
        msgs.append(("", f"The budget must be £0 or more a year (got {quote(plan.budget)})."))
    for name, amount in plan.amounts.items():
        spec = ws.library.get(name)
        if spec is None:
            msgs.append(("", f"{quote(name)} is not an intervention in the library."))
            continue
        if not _is_number(amount):
            msgs.append(
                (
                    name,
                    f"{spec.label}: the amount must be a number of pounds a year "
                    f"(got {quote(amount)}).",
                )
            )
            continue
        if amount < 0:
            msgs.append(
                (name, f"{spec.label}: an amount cannot be negative (got {money(amount)}).")
            )
            continue
        if amount == 0:
            continue
        where = place_list(plan.places.get(name))
        if not where:
            msgs.append((name, f"{spec.label}: choose at least one place, or 'all'."))
        for p in where:
            if p not in known:
                msgs.append(
                    (name, f"{spec.label}: {quote(p)} is not a place in this area - use all, a CSP "
                     f"({csps}) or a community from the list.")
                )  # fmt: skip
    if not msgs and _is_number(plan.budget) and plan.total() > plan.budget + 1e-6:
        over = plan.total() - plan.budget
        msgs.append(
            ("", f"Over budget: {money(plan.total())} a year allocated against "
             f"{money(plan.budget)} - take {money(over)} off somewhere.")
        )  # fmt: skip
    if plan.name == ws.comparator.name:
        msgs.append(("", f"The what-if cannot have the comparator's name '{plan.name}'."))
    return msgs


def plan_dict(ws: Workshop, plan: Plan) -> dict:
    """The plan as a scenario mapping (the schema of conf/scenario/*.yaml)."""
    allocations = []
    for name in sorted(plan.amounts, key=lambda n: _order(ws, n)):
        amount = plan.amounts[name]
        if not _is_number(amount) or amount == 0:
            continue
        a0, a1 = funded_years(ws, plan, name)
        amount = float(amount)
        allocations.append(
            {
                "intervention": name,
                "amount_per_year": int(amount) if amount.is_integer() else amount,
                "places": place_list(plan.places.get(name)),
                "start_year": int(a0),
                "end_year": int(a1),
            }
        )
    budget = float(plan.budget) if _is_number(plan.budget) else plan.budget
    return {
        "name": plan.name,
        "label": plan.label,
        "description": "Made on the workshop page (svsim workshop).",
        "budget_per_year": int(budget)
        if isinstance(budget, float) and budget.is_integer()
        else budget,
        "price_year": ws.run.settings.start_year,
        "allocations": allocations,
        "assumptions": f"Paired against '{ws.comparator.name}'.",
    }


def _order(ws: Workshop, name: str) -> tuple:
    spec = ws.library[name]
    return (TIERS.index(spec.tier), spec.label)


def build(ws: Workshop, plan: Plan):
    """The plan as a validated Scenario; WhatIfError with plain messages if it cannot run."""
    msgs = check_plan(ws, plan)
    if msgs:
        raise WhatIfError(msgs)
    try:
        scenario = scenario_from_dict(
            plan_dict(ws, plan), "what-if", ws.library, set(ws.places), ws.projection_years
        )
    except ScenarioError as exc:
        raise WhatIfError(exc.errors) from None
    problems = reach_problems(scenario, ws.library, ws.run.area, "what-if")
    if problems:
        raise WhatIfError(problems)
    return scenario


def run_block(ws: Workshop, design: Design) -> dict:
    s = ws.run.settings
    return {
        "area": ws.area_ref,
        "seed": s.seed,
        "population_scale": design.population_scale,
        "replicates": design.replicates,
        "years": design.years,
        "burn_in_years": s.burn_in_years,
        "start_year": s.start_year,
        "comparator": ws.comparator.name,
        "uncertainty": ws.uncertainty,
        "parameter_uncertainty": bool(ws.run.members),
    }


def to_yaml(ws: Workshop, plan: Plan, design: Design) -> str:
    """The what-if as a scenario file `svsim compare` reads, with the run that made its numbers
    under `run:` (area, seed, scale, replicates, horizon)."""
    import yaml

    build(ws, plan)  # refuse to export what cannot run
    data = plan_dict(ws, plan)
    data["run"] = run_block(ws, design)
    head = (
        "# A what-if from the workshop page (svsim workshop). Compare it again with:\n"
        f"#   svsim compare scenarios=[{ws.comparator.name},THIS_FILE] "
        f"comparator={ws.comparator.name} area={ws.area_ref} seed={ws.run.settings.seed} "
        f"population_scale={design.population_scale} replicates={design.replicates} "
        f"years={design.years}\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def from_yaml(ws: Workshop, text: str) -> tuple[Plan, dict]:
    """A scenario file as a plan for the page, (plan, its run block); WhatIfError otherwise.

    Checks what the page checks (negative amounts, unknown places, over budget) with the same
    plain messages, then everything `svsim compare` checks."""
    try:
        data = dict(scenario_shape(parse_yaml(text)))  # nothing is quoted from a file before
    except UserFileError as exc:
        raise WhatIfError([f"The file is {exc}."]) from None
    run = data.pop("run", None) or {}
    first, last = ws.projection_years
    horizon = run.get("years")
    if isinstance(horizon, int) and not isinstance(horizon, bool) and horizon >= 1:
        last = first + horizon - 1  # as `svsim compare` reads the file with its run: block
    msgs = []
    raw = data.get("allocations") or []
    if not isinstance(raw, list):
        raise WhatIfError(["allocations: must be a list."])
    plan = Plan({n: 0.0 for n in ws.library}, {n: ["all"] for n in ws.library})
    plan.budget = data.get("budget_per_year", 0)
    plan.name = str(data.get("name", WHATIF_NAME))
    plan.label = str(data.get("label", plan.name))
    seen = set()
    for i, a in enumerate(raw):
        if not isinstance(a, dict):
            msgs.append(f"allocations[{i}]: must be a mapping (intervention, amount_per_year).")
            continue
        name = a.get("intervention")
        if name not in ws.library:
            msgs.append(f"allocations[{i}]: {quote(name)} is not an intervention in the library.")
            continue
        if name in seen:
            msgs.append(
                f"{ws.library[name].label} appears twice; the page takes one amount per "
                "intervention - merge them into one allocation."
            )
            continue
        seen.add(name)
        plan.amounts[name] = a.get("amount_per_year")
        plan.places[name] = a.get("places", ["all"])
        plan.years[name] = (a.get("start_year", first), a.get("end_year", last))
    if not msgs:
        msgs = check_plan(ws, replace(plan, name=WHATIF_NAME))
    if not msgs:
        try:
            scenario_from_dict(data, "file", ws.library, set(ws.places), (first, last))
        except ScenarioError as exc:
            msgs = exc.errors
    if msgs:
        raise WhatIfError(msgs)
    if plan.name == ws.comparator.name:
        plan.name = f"{plan.name}_whatif"
    return plan, run


# ---- running ----------------------------------------------------------------------------------


@dataclass
class _Replicate:
    model: Any  # burned-in ViolenceModel, never stepped again (copied per scenario)
    draws: dict
    yearly: np.ndarray  # the comparator's yearly array
    spend: list


@dataclass(eq=False)  # compared by identity: the page redraws a chart only for a new result
class Result:
    """One what-if against the comparator: compare's own tables, plus tidy views."""

    design: Design
    scenario: Any
    comparator: str
    summary: Any  # DataFrame: compare.summarise rows (one per measure)
    economics: Any  # DataFrame: one row
    by_year: Any  # DataFrame: scenario, replicate, year, measure, value
    by_place: Any  # DataFrame: averted per CSP and community, headline measures
    spend: Any  # DataFrame: spending by scenario, replicate, year, intervention
    seconds: float
    run: dict  # the run block

    def headline(self, measure: str) -> dict:
        row = self.summary[self.summary.measure == measure].iloc[0]
        return {
            k: float(row[k])
            for k in row.index
            if k not in ("scenario", "comparator", "measure", "label")
        }

    def econ(self, key: str) -> float:
        return float(self.economics.iloc[0][key])

    def tidy(self):
        """Long table: one number a row (the page's CSV)."""
        return tidy(self.summary, self.economics, self.by_place, self.run)

    def csv(self) -> str:
        buf = io.StringIO()
        self.tidy().to_csv(buf, index=False)
        return buf.getvalue()


def by_place_averted(by_place, comparator: str, scenario: str):
    """Averted (comparator minus what-if) per replicate, then mean and 90% interval, per CSP and
    per community, for the headline measures."""
    import pandas as pd

    d = by_place[by_place.measure.isin(list(HEADLINE))]
    rows = []
    for level in ("csp", "community"):
        g = d.groupby(["scenario", "replicate", level, "measure"], observed=True)["value"].sum()
        comp = g.xs(comparator, level="scenario")
        what = g.xs(scenario, level="scenario")
        averted = (comp - what).rename("averted").reset_index()
        for (place, measure), x in averted.groupby([level, "measure"], observed=True):
            v = x["averted"].to_numpy()
            rows.append(
                {
                    "level": level,
                    "place": str(place),
                    "measure": str(measure),
                    "averted_mean": float(v.mean()),
                    "averted_p05": float(np.quantile(v, 0.05)),
                    "averted_p95": float(np.quantile(v, 0.95)),
                }
            )
    return pd.DataFrame(rows)


def tidy(summary, economics, by_place, run: dict):
    import pandas as pd

    rows = []
    base = {k: run[k] for k in ("area", "seed", "population_scale", "replicates", "years")}
    stats = [
        "scenario_mean",
        "comparator_mean",
        "averted_mean",
        "averted_p05",
        "averted_p95",
        "prob_better",
        "mde",
    ]
    for row in summary.itertuples():
        for st in stats:
            rows.append(
                {
                    **base,
                    "comparator": row.comparator,
                    "scenario": row.scenario,
                    "place": "all",
                    "measure": row.measure,
                    "label": row.label,
                    "statistic": st,
                    "value": float(getattr(row, st)),
                }
            )
    e = economics.iloc[0]
    for col in economics.columns:
        if col in ("scenario", "comparator"):
            continue
        key, st = col, "value"
        for suffix in ("_mean", "_p05", "_p95"):
            if col.endswith(suffix):
                key, st = col[: -len(suffix)], suffix[1:]
        rows.append(
            {
                **base,
                "comparator": e["comparator"],
                "scenario": e["scenario"],
                "place": "all",
                "measure": key,
                "label": ECONOMICS_LABELS.get(key, key),
                "statistic": st,
                "value": float(e[col]),
            }
        )
    for row in by_place.itertuples():
        for st in ("averted_mean", "averted_p05", "averted_p95"):
            rows.append(
                {
                    **base,
                    "comparator": e["comparator"],
                    "scenario": e["scenario"],
                    "place": f"{row.level}: {row.place}",
                    "measure": row.measure,
                    "label": HEADLINE[row.measure],
                    "statistic": st,
                    "value": float(getattr(row, st)),
                }
            )
    return pd.DataFrame(rows)


def compare_numbers(cfg, results: list[dict]) -> tuple:
    """compare's tables and summary for a two-scenario comparison: (summary, econ, by_year,
    by_place averted, spend). Used by the page and by the test that checks the page against
    `svsim compare`."""
    t = tables(cfg, results)
    summary, econ, _ = summarise(cfg, t)
    places = by_place_averted(t["by_place"], cfg.comparator, cfg.scenarios[1].name)
    return summary, econ, t["by_year"], places, t["spend"]


def _check(week: int, cancelled: Callable[[], bool]) -> None:
    """Every few simulated weeks: stop if the what-if was replaced or the server is stopping."""
    if week % CHECK_WEEKS == 0 and (STOP.is_set() or cancelled()):
        raise Cancelled()


class Engine:
    """Runs what-ifs for one area; the comparator's runs are cached per design."""

    def __init__(self, ws: Workshop):
        self.ws = ws
        self._cache: dict[Design, list[_Replicate]] = {}
        self._locks: dict[Design, threading.Lock] = {}
        self._guard = threading.Lock()

    def settings(self, design: Design):
        return replace(
            self.ws.run.settings, population_scale=design.population_scale, years=design.years
        )

    def compare_config(self, design: Design, scenarios: tuple):
        run = replace(self.ws.run, settings=self.settings(design))
        return CompareConfig(
            run=run,
            scenarios=scenarios,
            comparator=scenarios[0].name,
            library=self.ws.library,
            prices=self.ws.prices,
            replicates=design.replicates,
            uncertainty=self.ws.uncertainty,
            jobs=1,
            prison_week_cost=self.ws.prison_week_cost,
            resolved=self.ws.resolved,
        )

    def is_cached(self, design: Design) -> bool:
        return len(self._cache.get(design, [])) == design.replicates

    def _project(self, model, scenario, draws, s, seed: int, cancelled) -> tuple:
        ws = self.ws
        m = model.fork()
        portfolio = Portfolio(
            scenario, ws.library, draws, ws.run.area, ws.prices, s.start_year,
            s.population_scale, seed,
        )  # fmt: skip
        m.interventions = [portfolio]
        while m.week < m.total_weeks:
            m.step()
            _check(m.week, cancelled)
        w = m._weekly
        return w.reshape(s.years, 52, *w.shape[1:]).sum(axis=1), portfolio.spending()

    def baseline(
        self,
        design: Design,
        progress: Callable[[float], None] = lambda f: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> list[_Replicate]:
        """Burned-in models and the comparator's projections, one per replicate (cached)."""
        with self._guard:
            lock = self._locks.setdefault(design, threading.Lock())
        with lock:
            reps = self._cache.setdefault(design, [])
            s = self.settings(design)
            for r in range(len(reps), design.replicates):
                if cancelled():
                    raise Cancelled()
                settings = replace(s, seed=s.seed + r)
                model = ViolenceModel(*self.ws.run.for_replicate(r), settings)
                while model.week < model.burn_in_weeks:
                    model.step()
                    _check(model.week, cancelled)
                draws = draw_inputs(self.ws.library, s.seed, r, self.ws.uncertainty)
                yearly, spend = self._project(
                    model, self.ws.comparator, draws, s, settings.seed, cancelled
                )
                reps.append(_Replicate(model, draws, yearly, spend))
                progress((r + 1) / design.replicates)
            return list(reps)

    def run(
        self,
        scenario,
        design: Design | None = None,
        progress: Callable[[float], None] = lambda f: None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Result:
        """The what-if against the comparator, paired replicate by replicate."""
        design = design or self.ws.quick
        start = time.perf_counter()
        todo = 0 if self.is_cached(design) else design.replicates - len(self._cache.get(design, []))
        total = 2 * todo + design.replicates  # a cached replicate costs about half a new one
        reps = self.baseline(design, lambda f: progress(2 * todo * f / total), cancelled)
        s = self.settings(design)
        comp = self.ws.comparator
        results = []
        for r, rep in enumerate(reps):
            yearly, spend = self._project(rep.model, scenario, rep.draws, s, s.seed + r, cancelled)
            results.append(
                {
                    "yearly": {comp.name: rep.yearly, scenario.name: yearly},
                    "spend": {comp.name: rep.spend, scenario.name: spend},
                }
            )
            progress((2 * todo + r + 1) / total)
        cfg = self.compare_config(design, (comp, scenario))
        summary, econ, by_year, places, spend = compare_numbers(cfg, results)
        return Result(
            design=design,
            scenario=scenario,
            comparator=comp.name,
            summary=summary,
            economics=econ,
            by_year=by_year,
            by_place=places,
            spend=spend,
            seconds=time.perf_counter() - start,
            run=run_block(self.ws, design),
        )


# ---- timing -------------------------------------------------------------------------------------


def time_whatifs(overrides: list[str], n: int = 5, precise: bool = False) -> dict:
    """Seconds per what-if as the page runs them: the comparator's runs first (the page starts
    them with the server), then n what-ifs, each one step of money more than the last."""
    import statistics

    ws = workshop_config(overrides)
    engine = Engine(ws)
    design = ws.precise if precise else ws.quick
    start = time.perf_counter()
    engine.baseline(design)
    comparator = time.perf_counter() - start
    plan, names, seconds = start_plan(ws), sorted(ws.library), []
    for i in range(n):
        plan.amounts[names[i % len(names)]] += ws.step
        seconds.append(engine.run(build(ws, plan), design).seconds)
    return {
        "design": design,
        "comparator_seconds": comparator,
        "seconds": seconds,
        "median": statistics.median(seconds),
    }


# python -m svsim.experiments.workshop.whatif [--precise] [n=5] [overrides]
if __name__ == "__main__":
    import sys

    args = [a for a in sys.argv[1:] if a != "--precise"]
    n_text = next((a[2:] for a in args if a.startswith("n=")), "5")
    if not n_text.isdigit() or int(n_text) < 1:
        sys.exit(f"n={n_text!r}: must be a whole number >= 1")
    n = int(n_text)
    t = time_whatifs([a for a in args if not a.startswith("n=")], n, "--precise" in sys.argv)
    print(
        f"{t['design']}: comparator's runs {t['comparator_seconds']:.1f} s; what-ifs "
        + ", ".join(f"{s:.2f}" for s in t["seconds"])
        + f" s; median {t['median']:.2f} s"
    )
