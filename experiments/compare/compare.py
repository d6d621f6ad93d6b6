"""`svsim compare`: funding scenarios x replicates, paired against a comparator.

Replicate r has its own seed (seed + r) and its own draw of every uncertain input (effect sizes,
uptake, completion, unit costs); all scenarios share both at r, and share the burn-in, which is
simulated once and copied (common random numbers). Differences between scenarios then show the
interventions, not the noise.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from svsim.model import ViolenceModel
from svsim.model import outcomes as oc
from svsim.model.measurement import HARM_BASES
from svsim.model.outcomes import MEASURES
from svsim.scenarios import appraisal as ap
from svsim.scenarios.bearers import load_bearers
from svsim.scenarios.delivery import Portfolio, reach_problems
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import (
    ScenarioError,
    intervention_from_dict,
    quote,
    scenario_from_dict,
)
from svsim.scenarios.prices import prices_from_dict

from ..config import CONF_DIR, ConfigError, flatten, load_yaml, parse_overrides, run_config
from ..runfolder import code_revision, default_out, run_folder, versions, write_manifest
from ..stopping import worker_pool
from ..userfiles import FileGate, UserFileError, read_scenario
from .report import write_report

log = logging.getLogger("svsim.compare")

SUMMARY_MEASURES = {
    "violence_with_injury_true": "violence with injury (all, recorded or not)",
    "serious_violence_true": "serious violence (all)",
    "knife_injuries_true": "knife or sharp-object injuries",
    "admissions_expected": "hospital admissions for assault by a sharp object (expected)",
    "homicides_expected": "homicides (expected)",
    "incidents_true": "violent incidents (all)",
    "incidents_recorded": "violent incidents recorded by the police",
    "violence_with_injury_recorded": "violence with injury recorded by the police",
    "cost_of_crime": "social cost of violence (£ {price_year}, expected homicides; not cash)",
    "in_custody": "person-weeks in custody",
}


@dataclass(frozen=True)
class CompareConfig:
    run: object  # RunConfig (area, params, settings)
    scenarios: tuple  # Scenario objects, comparator first
    comparator: str
    library: dict
    prices: object
    replicates: int
    uncertainty: bool
    jobs: int
    prison_week_cost: float  # GBP per person-week in custody, base-year prices
    resolved: dict
    decompose: bool = False  # also run each intervention of a scenario alone (decomposition)


def _load_library() -> dict:
    library, errors = {}, []
    for path in sorted((CONF_DIR / "intervention").glob("*.yaml")):
        try:
            spec = intervention_from_dict(
                load_yaml(path, "intervention"), f"intervention {path.stem}"
            )
        except ScenarioError as exc:
            errors += exc.errors
            continue
        if spec.name != path.stem:
            errors.append(f"intervention {path.stem}.name={spec.name!r}: must match the file")
        library[spec.name] = spec
    if errors:
        raise ScenarioError(errors)
    return library


def load_prices():
    """The GDP deflator series and discount rate of conf/prices.yaml, validated."""
    return prices_from_dict(load_yaml(CONF_DIR / "prices.yaml", "prices"))


def _scenario_path(name: str, key: str = "scenarios") -> Path:
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    path = CONF_DIR / "scenario" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (CONF_DIR / "scenario").glob("*.yaml")))
        raise ConfigError(f"{key}: unknown scenario {name!r} (known: {known}, or a path)")
    return path


def scenario_file(path: Path, key: str = "scenarios") -> dict:
    """A scenario file's data, read as every user file is (userfiles), shaped like a scenario;
    errors name the setting `key` that gave the file."""
    try:
        return read_scenario(FileGate(), str(path))[0]
    except UserFileError as exc:
        raise ConfigError(f"{key}: {quote(str(path))}: {exc}") from None


def load_scenarios(
    names: list[str], area, library: dict, first: int, last: int, key: str = "scenarios"
) -> list:
    """Validate every scenario, and refuse any allocation that can reach no one in this area
    (delivery.reach_problems), collecting every error of every file before refusing. Errors
    name the setting `key` the names came from."""
    places = {c.name for c in area.communities} | {c.name for c in area.csps}
    out, errors = [], []
    for name in names:
        path = _scenario_path(str(name), key)
        where = f"scenario {path.stem}"
        try:
            sc = scenario_from_dict(scenario_file(path, key), where, library, places, (first, last))
        except ScenarioError as exc:
            errors += exc.errors
            continue
        errors += reach_problems(sc, library, area, where)
        out.append(sc)
    if errors:
        raise ScenarioError(errors)
    seen = [s.name for s in out]
    for s in seen:
        if seen.count(s) > 1:
            raise ConfigError(f"scenarios: {s!r} appears twice")
    return out


def run_blocks(overrides: list[str]) -> dict[str, tuple]:
    """A scenario file may carry the run that made its numbers under `run:` (the workshop page
    exports one); its settings apply unless the command line sets them: {key: (value, file)}."""
    parsed = parse_overrides(overrides)
    given = {o.key_or_group for o in parsed}
    names = next((o.value() for o in parsed if o.key_or_group == "scenarios"), None) or []
    if not isinstance(names, list):
        return {}  # refused by the schema
    extra, source = {}, {}
    for name in names:
        if isinstance(name, str) and (name.endswith((".yaml", ".yml")) or "/" in name):
            run = scenario_file(Path(name)).get("run") or {}  # its keys are run settings
            if not isinstance(run, dict):
                raise ConfigError(f"scenarios: {quote(name)}: run={quote(run)}: must be a mapping")
            for k, v in run.items():
                source.setdefault(k, name)
                if k not in given and extra.setdefault(k, v) != v:
                    raise ConfigError(
                        f"scenarios: {quote(name)}: run.{k}={quote(v)} disagrees with another "
                        f"scenario file's {quote(extra[k])}"
                    )
    return {k: (v, source[k]) for k, v in extra.items()}


def with_run_blocks(overrides: list[str]) -> list[str]:
    """The overrides with the scenario files' run settings before them (the command line wins)."""
    as_text = {
        k: str(v).lower() if isinstance(v, bool) else v
        for k, (v, _) in run_blocks(overrides).items()
    }
    return [*(f"{k}={v}" for k, v in as_text.items()), *overrides]


def compare_config(overrides: list[str], sizes: bool = True) -> tuple[CompareConfig, bool]:
    """Compose, validate and type the comparison's configuration; (config, check-only).
    sizes=False: a job that runs its replicates elsewhere (voi, sweep, sensitivity) sizes them."""
    blocks = run_blocks(overrides)
    try:
        run = run_config(with_run_blocks(overrides), config_name="compare", sizes=sizes)
    except ConfigError as exc:
        key = re.split(r"[=:]", str(exc), maxsplit=1)[0]
        if key in blocks:
            raise ConfigError(f"{exc} (from the run: block of {quote(blocks[key][1])})") from None
        raise
    r = run.resolved  # types and ranges checked by its schema (experiments/schema.py)
    names = r["scenarios"]
    if not names:
        raise ConfigError(f"scenarios={names!r}: must be a non-empty list")
    library = _load_library()
    first = run.settings.start_year
    last = first + run.settings.years - 1
    scenarios = load_scenarios(names, run.area, library, first, last)
    comparator = r["comparator"]
    by_name = {s.name: s for s in scenarios}
    if comparator not in by_name:
        raise ConfigError(
            f"comparator={comparator!r}: must be one of the scenarios ({', '.join(by_name)})"
        )
    ordered = (by_name[comparator], *(s for s in scenarios if s.name != comparator))
    decompose = r["decompose"]
    prices = load_prices()
    prison = r["prison_place_per_year"]
    week_cost = prison["value"] / 52 * prices.uprate(prison["price_year"], prices.base_year)
    cfg = CompareConfig(
        run=run,
        scenarios=ordered,
        comparator=comparator,
        library=library,
        prices=prices,
        replicates=r["replicates"],
        uncertainty=bool(r["uncertainty"]),
        jobs=r["jobs"],
        prison_week_cost=week_cost,
        resolved=r,
        decompose=decompose,
    )
    return cfg, bool(r["check"])


def portfolio_for(cfg: CompareConfig, scenario, draws: dict, seed: int) -> Portfolio:
    """A scenario's delivery on the model's hook, with this comparison's area and prices, keyed
    by the replicate's seed."""
    s = cfg.run.settings
    return Portfolio(
        scenario, cfg.library, draws, cfg.run.area, cfg.prices, s.start_year,
        s.population_scale, seed,
    )  # fmt: skip


def _project(cfg: CompareConfig, model, scenario, draws: dict, seed: int) -> tuple:
    """One scenario from a fork of the burned-in model: yearly arrays (year x group x measure)
    and its spending rows. The fork leaves the burned-in model untouched for the next."""
    m = model.fork()
    portfolio = portfolio_for(cfg, scenario, draws, seed)
    m.interventions = [portfolio]
    while m.week < m.total_weeks:
        m.step()
    w = m._weekly
    return w.reshape(cfg.run.settings.years, 52, *w.shape[1:]).sum(axis=1), portfolio.spending()


def funded_interventions(scenario) -> list[str]:
    """The interventions a scenario funds (some allocation with money), in allocation order."""
    return list(
        dict.fromkeys(a.intervention for a in scenario.allocations if a.amount_per_year > 0)
    )


def decomposed(cfg: CompareConfig) -> list:
    """The scenarios the decomposition takes apart: those funding two or more interventions
    (with one, the intervention alone is the scenario)."""
    return [sc for sc in cfg.scenarios if len(funded_interventions(sc)) >= 2]


def alone(scenario, intervention: str):
    """The scenario with only this intervention's allocations funded (same places, years, money)."""
    allocations = tuple(
        a for a in scenario.allocations if a.intervention == intervention and a.amount_per_year > 0
    )
    return replace(scenario, name=f"{scenario.name}/{intervention}", allocations=allocations)


def unfunded(cfg: CompareConfig):
    """A scenario of the comparison that funds nothing (the decomposition's reference), or None."""
    return next((sc for sc in cfg.scenarios if not funded_interventions(sc)), None)


def _decompose_replicate(cfg, model, draws: dict, seed: int, yearly: dict) -> dict:
    """The decomposition's runs for one replicate, after every scenario's, from the same burned-in
    model, draws and seed: nothing funded (reused from an unfunded scenario of the comparison
    where there is one) and each decomposed scenario's interventions alone. Identical allocations
    give identical runs (delivery is keyed by intervention), so each is run once. Arrays are
    year x measure (summed over groups)."""
    ref = unfunded(cfg)
    if ref is not None:
        reference = yearly[ref.name].sum(axis=1)
    else:
        nothing = replace(cfg.scenarios[0], name="nothing funded", allocations=())
        reference = _project(cfg, model, nothing, draws, seed)[0].sum(axis=1)
    runs, parts, spend = {}, {}, {}
    for sc in decomposed(cfg):
        for name in funded_interventions(sc):
            part = alone(sc, name)
            if part.allocations not in runs:
                y, rows = _project(cfg, model, part, draws, seed)
                runs[part.allocations] = (y.sum(axis=1), rows)
            parts[(sc.name, name)], spend[(sc.name, name)] = runs[part.allocations]
    return {"reference": reference, "parts": parts, "spend": spend, "runs": len(runs)}


def _input_names(spec) -> list[str]:
    """Short names of a chain's uncertain inputs: 'estimate' and each rule's name (numbered
    when a rule recurs), so the export's columns read well in R."""
    bases = [label.split(" (")[0] for label, _ in spec.chain.uncertain()]
    return [
        b if bases.count(b) == 1 else f"{b}_{bases[:i].count(b) + 1}" for i, b in enumerate(bases)
    ]


def replicate_inputs(
    cfg: CompareConfig, replicate: int, draws: dict, names=None
) -> dict[str, float]:
    """Every uncertain input's value in a replicate, as it ran: each funded intervention's
    effect chain ('<name>.estimate', '<name>.<rule>'), uptake, completion and unit cost, and the
    calibrated parameters of its plausible-set member ('params.<path>',
    'csp_hazard_multiplier.<CSP>'): the inputs of the value-of-information analysis. `names`:
    the interventions to give (default: those the scenarios fund)."""
    from dataclasses import asdict

    row = {}
    if names is None:
        names = {a.intervention for sc in cfg.scenarios for a in sc.allocations}
    for name in sorted(names):
        d, spec = draws[name], cfg.library[name]
        row |= {f"{name}.{k}": v for k, v in zip(_input_names(spec), d.chain, strict=True)}
        row |= {f"{name}.{x}": getattr(d, x) for x in ("uptake", "completion", "unit_cost")}
    if cfg.run.members:
        area, params = cfg.run.for_replicate(replicate)
        plausible = cfg.resolved["calibration"]["plausible_set"]
        paths = {p for m in plausible for p in flatten({"params": m.get("params") or {}})}
        values = flatten({"params": asdict(params)})
        row |= {p: float(values[p]) for p in sorted(paths)}
        row |= {f"csp_hazard_multiplier.{c.name}": c.hazard_multiplier for c in area.csps}
    return row


def run_replicate(cfg: CompareConfig, replicate: int) -> dict:
    """One replicate: shared burn-in, then every scenario; yearly arrays and spending. With
    decompose, then the decomposition's runs, which change nothing before them. Seconds of
    burn-in, scenarios and decomposition are timed (the decomposition's extra cost)."""
    s = cfg.run.settings
    settings = replace(s, seed=s.seed + replicate)
    clock = time.perf_counter()
    model = ViolenceModel(*cfg.run.for_replicate(replicate), settings)
    while model.week < model.burn_in_weeks:
        model.step()
    draws = draw_inputs(cfg.library, s.seed, replicate, cfg.uncertainty)
    out = {"yearly": {}, "spend": {}, "seconds": {"burn_in": time.perf_counter() - clock}}
    out["inputs"] = replicate_inputs(cfg, replicate, draws)
    clock = time.perf_counter()
    for scenario in cfg.scenarios:
        yearly, spend = _project(cfg, model, scenario, draws, settings.seed)
        out["yearly"][scenario.name], out["spend"][scenario.name] = yearly, spend
    out["seconds"]["scenarios"] = time.perf_counter() - clock
    if cfg.decompose:
        clock = time.perf_counter()
        out["decomposition"] = _decompose_replicate(cfg, model, draws, settings.seed, out["yearly"])
        out["seconds"]["decomposition"] = time.perf_counter() - clock
    return out


def _run_all(cfg: CompareConfig) -> list[dict]:
    """Every replicate, on cfg.jobs local workers; an interrupt cancels the queued ones and ends
    the workers at once (stopping.worker_pool)."""
    from concurrent.futures import as_completed

    from tqdm import tqdm

    reps = range(cfg.replicates)
    results = [None] * cfg.replicates
    with tqdm(total=cfg.replicates, desc="replicates (all scenarios each)", unit="rep") as bar:
        if cfg.jobs == 1:
            for r in reps:
                results[r] = run_replicate(cfg, r)
                bar.update()
        else:
            with worker_pool(cfg.jobs) as pool:
                futures = {pool.submit(run_replicate, cfg, r): r for r in reps}
                for f in as_completed(futures):
                    results[futures[f]] = f.result()
                    bar.update()
    return results


def tables(cfg: CompareConfig, results: list[dict]) -> dict:
    """Tidy tables from the replicates' arrays."""
    import pandas as pd

    area, s = cfg.run.area, cfg.run.settings
    n_bands = len(oc.AGE_BANDS)
    comm_names = [c.name for c in area.communities]
    csp_of = [c.csp for c in area.communities]
    n_groups = len(comm_names) * n_bands * 2
    g = np.arange(n_groups)
    comm, band, male = g // (2 * n_bands), (g // 2) % n_bands, g % 2
    measures = list(MEASURES)
    names = [sc.name for sc in cfg.scenarios]
    # array: scenario x replicate x year x group x measure
    arr = np.stack([np.stack([res["yearly"][n] for res in results]) for n in names])
    idx = pd.MultiIndex.from_product(
        [
            names,
            range(cfg.replicates),
            range(s.start_year, s.start_year + s.years),
            range(n_groups),
            measures,
        ],
        names=["scenario", "replicate", "year", "group", "measure"],
    )
    detail = pd.DataFrame({"value": arr.reshape(-1)}, index=idx).reset_index()
    gi = detail.pop("group").to_numpy()
    detail.insert(3, "csp", pd.Categorical([csp_of[c] for c in comm[gi]]))
    detail.insert(4, "community", pd.Categorical.from_codes(comm[gi], comm_names))
    detail.insert(5, "age_band", pd.Categorical.from_codes(band[gi], list(oc.AGE_BAND_LABELS)))
    detail.insert(6, "sex", pd.Categorical.from_codes(male[gi], ["female", "male"]))
    for col in ("scenario", "measure"):
        detail[col] = pd.Categorical(detail[col])
    by_year = (
        detail.groupby(["scenario", "replicate", "year", "measure"], observed=True)["value"]
        .sum()
        .reset_index()
    )
    by_place = (
        detail.groupby(["scenario", "replicate", "csp", "community", "measure"], observed=True)[
            "value"
        ]
        .sum()
        .reset_index()
    )
    spend = pd.DataFrame(
        [
            {"scenario": n, "replicate": r, **row}
            for r, res in enumerate(results)
            for n in names
            for row in res["spend"][n]
        ],
        columns=[
            "scenario",
            "replicate",
            "year",
            "intervention",
            "tier",
            "evidence",
            "budget",
            "spent",
            "units",
            "participants",
            "reached",
            "eligible",
            "reach_unit",
            "unspent",
        ],
    )
    inputs = pd.DataFrame([res.get("inputs", {}) for res in results])  # the page records none
    inputs.insert(0, "replicate", range(len(results)))
    return {
        "outcomes": detail,
        "by_year": by_year,
        "by_place": by_place,
        "spend": spend,
        "inputs": inputs,
    }


def yearly_series(cfg: CompareConfig, by_year, name: str, measure: str) -> np.ndarray:
    """replicates x years of one measure of one scenario."""
    s = cfg.run.settings
    y = by_year[(by_year.scenario == name) & (by_year.measure == measure)]
    out = np.zeros((cfg.replicates, s.years))
    idx = (y.replicate.to_numpy(), y.year.to_numpy() - s.start_year)
    np.add.at(out, idx, y.value.to_numpy())
    return out


def who_pays(cfg: CompareConfig, t: dict, bearers) -> tuple:
    """Harm averted by bearer and the fiscal return to each agency (agencies.csv), and per
    scenario the fiscal benefit, the returns on investment and the payback years. Homicides are
    priced from their probabilities, as in summarise; the rest of the stated-basis harm is split
    with other violence's shares (scenarios/bearers.py)."""
    import pandas as pd
    from svsim.scenarios import bearers as br

    s, by_year = cfg.run.settings, t["by_year"]
    cost = cfg.run.params.cost
    premium = ap.homicide_premium(cost)
    up = cfg.prices.uprate(ap.COST_PRICE_YEAR, cfg.prices.base_year)
    disc = (1 + cfg.prices.discount_rate) ** -np.arange(s.years) * up  # per year, to PV

    def parts(name: str) -> tuple[np.ndarray, np.ndarray]:
        """(homicide, other) stated-basis harm, replicates x years, discounted, base prices."""
        ser = lambda m: yearly_series(cfg, by_year, name, m)  # noqa: E731
        expected = ser("homicides_expected")
        harm = ap.expected_harm(ser("cost_stated_basis"), ser("homicides"), expected, premium)
        homicide = expected * cost.homicide
        return homicide * disc, (harm - homicide) * disc

    def cash(name: str) -> np.ndarray:
        sp = t["spend"][t["spend"].scenario == name]
        pv = ap.cash_pv(sp.budget, sp.year, cfg.prices, s.start_year)
        out = np.zeros((cfg.replicates, s.years))
        np.add.at(out, (sp.replicate.to_numpy(int), sp.year.to_numpy(int) - s.start_year), pv)
        return out

    fiscal_share = {
        o: sum(p.share for p in bearers.parts if p.offence == o and p.bearer in br.FISCAL)
        for o in br.OFFENCES
    }
    comp_h, comp_o, comp_c = *parts(cfg.comparator), cash(cfg.comparator)
    rows, per_scenario = [], []
    for sc in cfg.scenarios[1:]:
        h, o = parts(sc.name)
        hom, oth, extra = comp_h - h, comp_o - o, cash(sc.name) - comp_c
        rows += br.agency_rows(bearers, sc.name, hom.sum(1), oth.sum(1), extra.sum(1))
        fiscal = hom * fiscal_share["homicide"] + oth * fiscal_share["other_violence"]
        spend = extra.sum(1).mean()
        per_scenario.append(
            {
                "scenario": sc.name,
                "fiscal_benefit_pv_mean": float(fiscal.sum(1).mean()),
                "fiscal_roi": float(fiscal.sum(1).mean() / spend - 1) if spend > 0 else np.nan,
                "social_roi": float((hom + oth).sum(1).mean() / spend - 1) if spend > 0 else np.nan,
                "payback_year_fiscal": br.payback_year(fiscal, extra, s.start_year),
                "payback_year_social": br.payback_year(hom + oth, extra, s.start_year),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(per_scenario)


VOI_BOOT = 200  # bootstrap resamples for the EVPPI intervals and the top three's stability
VOI_KEY = 9_301  # the bootstrap's stream, keyed with the seed


def value_of_information(cfg: CompareConfig, per_rep, inputs, multiplier: float = 1.0) -> tuple:
    """The value of information about the choice between the compared scenarios, from the
    replicates' joint draws (scenarios/voi.py): (EVPPI table, summary). Too few replicates for
    a stable ranking of inputs is said in the summary, not hidden."""
    from svsim.scenarios import voi

    names = [sc.name for sc in cfg.scenarios]
    nb, options, reps = voi.net_benefit(per_rep, names, cfg.comparator, multiplier)
    x = inputs.set_index("replicate").loc[reps].reset_index(drop=True)
    rng = np.random.default_rng([cfg.run.settings.seed, VOI_KEY])
    return voi.analyse(nb, options, x, VOI_BOOT, rng, multiplier)


def summarise(cfg: CompareConfig, t: dict) -> tuple:
    """Paired differences against the comparator, and the money (scenarios.appraisal)."""
    import pandas as pd

    by_year, spend = t["by_year"], t["spend"]
    s = cfg.run.settings
    first, n = s.start_year, cfg.replicates
    comp = cfg.comparator
    premium = ap.homicide_premium(cfg.run.params.cost)
    to_base = cfg.prices.uprate(ap.COST_PRICE_YEAR, cfg.prices.base_year)

    def series(name: str, measure: str) -> np.ndarray:
        return yearly_series(cfg, by_year, name, measure)

    def priced(name: str, measure: str) -> np.ndarray:
        """A harm measure with homicides priced from their probabilities (2015/16 prices)."""
        deaths, expected = series(name, "homicides"), series(name, "homicides_expected")
        return ap.expected_harm(series(name, measure), deaths, expected, premium)

    def harm(name: str) -> dict[str, np.ndarray]:
        return {b: ap.harm_pv(priced(name, m), cfg.prices) for b, m in HARM_BASES.items()}

    def total(name: str, measure: str) -> np.ndarray:
        """Over the horizon, not discounted; harm in base-year prices, as every money figure."""
        if measure in HARM_BASES.values():
            return priced(name, measure).sum(axis=1) * to_base
        return series(name, measure).sum(axis=1)

    def cash(name: str) -> dict[str, np.ndarray]:
        return ap.money(spend[spend.scenario == name], n, cfg.prices, first)

    def custody(name: str) -> np.ndarray:
        return ap.discounted(series(name, "in_custody"), cfg.prices) * cfg.prison_week_cost

    comp_harm, comp_cash, comp_custody = harm(comp), cash(comp), custody(comp)
    rows, econ, per_rep = [], [], []
    for sc in cfg.scenarios[1:]:
        averted = {}
        for measure, label in SUMMARY_MEASURES.items():
            a, b = total(comp, measure), total(sc.name, measure)
            averted[measure] = a - b
            rows.append(
                {
                    "scenario": sc.name,
                    "comparator": comp,
                    "measure": measure,
                    "label": label.format(price_year=cfg.prices.base_year),
                    **ap.paired(a, b),
                }
            )
        h = {k: comp_harm[k] - v for k, v in harm(sc.name).items()}
        extra = {k: v - comp_cash[k] for k, v in cash(sc.name).items()}
        rng = np.random.default_rng([s.seed, ap.BOOTSTRAP_KEY])
        row = {
            "scenario": sc.name,
            "comparator": comp,
            **ap.appraise(h, extra, custody(sc.name) - comp_custody, rng),
        }
        for key, measure in (
            ("vwi", "violence_with_injury_true"),
            ("admission", "admissions_expected"),
            ("homicide", "homicides_expected"),
        ):
            row[f"cost_per_{key}_averted"] = ap.cost_per_averted(
                row["spend_pv_mean"], averted[measure]
            )
        econ.append(row)
        per_rep += [
            {
                "scenario": sc.name,
                "replicate": r,
                "spend_pv": extra["allocated"][r],
                "spent_pv": extra["spent"][r],
                "shortfall_pv": extra["shortfall"][r],
                "harm_averted_pv": h["stated"][r],
                **{f"harm_averted_pv_{k}": v[r] for k, v in h.items()},
            }
            for r in range(n)
        ]
    return pd.DataFrame(rows), pd.DataFrame(econ), pd.DataFrame(per_rep)


REFERENCE = "nothing funded"  # what the decomposition's harm averted is counted against


def decomposition_table(cfg: CompareConfig, results: list[dict]):
    """Per decomposed scenario (ap.decompose): harm averted on the stated basis (present value),
    against nothing funded, by each intervention's allocations alone, its share of the sum of
    the parts, and the interaction. Against nothing funded, not the comparator, because an
    intervention alone is a change from no intervention; the whole scenario's harm averted
    against the comparator is its row here less the comparator's own."""
    import pandas as pd

    s, n = cfg.run.settings, cfg.replicates
    premium = ap.homicide_premium(cfg.run.params.cost)
    at = {m: i for i, m in enumerate(MEASURES)}

    def harm(arrays: list) -> np.ndarray:
        """Present value per replicate of year x measure arrays (priced as summarise does)."""
        y = np.stack(arrays)
        priced = ap.expected_harm(
            y[..., at[HARM_BASES["stated"]]], y[..., at["homicides"]],
            y[..., at["homicides_expected"]], premium,
        )  # fmt: skip
        return ap.harm_pv(priced, cfg.prices)

    def allocated(rows_by_replicate: list) -> np.ndarray:
        spend = pd.DataFrame(
            [{"replicate": r, **row} for r, rows in enumerate(rows_by_replicate) for row in rows],
            columns=["replicate", "year", "budget", "spent"],
        )
        return ap.money(spend, n, cfg.prices, s.start_year)["allocated"]

    parts_of = [res["decomposition"] for res in results]
    reference = harm([d["reference"] for d in parts_of])
    frames = []
    for sc in decomposed(cfg):
        names = funded_interventions(sc)
        whole = reference - harm([res["yearly"][sc.name].sum(axis=1) for res in results])
        parts = {i: reference - harm([d["parts"][(sc.name, i)] for d in parts_of]) for i in names}
        costs = {i: allocated([d["spend"][(sc.name, i)] for d in parts_of]) for i in names}
        rng = np.random.default_rng([s.seed, ap.BOOTSTRAP_KEY])
        table = ap.decompose(whole, parts, allocated([r["spend"][sc.name] for r in results]),
                             costs, rng)  # fmt: skip
        frames.append(table.assign(scenario=sc.name, reference=REFERENCE))
    columns = ["scenario", "reference", *ap.DECOMPOSITION_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def seconds_spent(cfg: CompareConfig, results: list[dict]) -> dict:
    """Seconds of simulation summed over replicates (all workers): burn-in, the scenarios, and
    the decomposition's runs (its extra cost), with the decomposition's runs per replicate."""
    out = {k: round(sum(r["seconds"].get(k, 0.0) for r in results), 1)
           for k in ("burn_in", "scenarios", "decomposition")}  # fmt: skip
    if cfg.decompose:
        out["decomposition_runs_per_replicate"] = results[0]["decomposition"]["runs"] + (
            unfunded(cfg) is None
        )
        out["scenario_runs_per_replicate"] = len(cfg.scenarios)
    return out


def interventions_table(cfg: CompareConfig):
    import pandas as pd

    used = sorted({a.intervention for sc in cfg.scenarios for a in sc.allocations})
    return pd.DataFrame(
        [
            {
                "name": n,
                "label": (i := cfg.library[n]).label,
                "tier": i.tier,
                "evidence": i.evidence,
                "unit": i.unit,
                "unit_cost": i.unit_cost.value,
                "unit_cost_price_year": i.unit_cost_price_year,
                "mechanism": i.mechanism,
                "reduction": i.effect.value,
                "low": i.effect.low,
                "high": i.effect.high,
                "estimand": i.chain.describe(),
                "source": i.chain.estimand.estimate.source,
            }
            for n in used
        ]
    )


def _reference_text(cfg: CompareConfig) -> str:
    """Which run supplied the decomposition's nothing-funded reference."""
    ref = unfunded(cfg)
    if ref is None:
        return "an extra run with nothing funded"
    return f"{ref.name} (a scenario of the comparison that funds nothing)"


def meta(cfg: CompareConfig, wall: float, seconds: dict | None = None) -> dict:
    s = cfg.run.settings
    return {
        "area": cfg.run.area.name,
        "area_label": cfg.run.area.label,
        "scenarios": [
            {
                "name": sc.name,
                "label": sc.label,
                "description": sc.description,
                "budget_per_year": sc.budget_per_year,
                "assumptions": sc.assumptions,
            }
            for sc in cfg.scenarios
        ],
        "comparator": cfg.comparator,
        "replicates": cfg.replicates,
        "years": s.years,
        "burn_in_years": s.burn_in_years,
        "start_year": s.start_year,
        "population_scale": s.population_scale,
        "seed": s.seed,
        "price_year": cfg.prices.base_year,
        "discount_rate": cfg.prices.discount_rate,
        "uncertainty_sources": ["stochastic variation (common random numbers, paired)"]
        + (
            ["intervention effect sizes", "uptake and completion", "unit costs"]
            if cfg.uncertainty
            else []
        )
        + (
            [
                f"calibrated model parameters ({len(cfg.run.members)} members of the "
                "calibration's plausible set, one per replicate in turn)"
            ]
            if cfg.run.members
            else []
        ),
        "uncertainty_not_included": [
            "model parameters outside the calibration and the interventions (set from "
            "evidence or assumed)"
            if cfg.run.members
            else "model parameters other than interventions' (one parameter set, not the "
            "calibration's plausible set)",
            "structural uncertainty (the model's form)",
            "future changes in policing, "
            "demography or recording practice beyond the projected population",
        ],
        "sources": [
            {
                "what": "population",
                "source": "Census 2021 (ONS), area file conf/area",
                "vintage": "2021",
            },
            {
                "what": "unit costs of crime",
                "source": "Heeks et al. 2018, Home Office RR99",
                "vintage": "2015/16 prices",
            },
            {
                "what": "intervention effects",
                "source": "YEF Toolkit and reviews (see the interventions table)",
                "vintage": "as cited per intervention",
            },
            {"what": "price index", "source": cfg.prices.source, "vintage": "see source"},
            {
                "what": "recorded violence",
                "source": "Wiltshire and Swindon Serious Violence Strategy 2024-2029 / SNA",
                "vintage": "2020/21-2022/23",
            },
        ],
        "calibrated": bool(cfg.resolved.get("calibration")),
        "population": cfg.run.area.population,
        "decompose": cfg.decompose,
        "decomposition_reference": _reference_text(cfg) if cfg.decompose else None,
        "wall_seconds": wall,
        "simulation_seconds": seconds or {},
        "versions": versions(),
        "code_revision": code_revision(),
    }


def run_settings_line(cfg: CompareConfig, blocks: dict) -> str:
    """The run settings a comparison would use, naming those a scenario file's run: block set."""
    r = cfg.resolved
    keys = ("replicates", "years", "burn_in_years", "seed", "population_scale", "start_year",
            "uncertainty", "parameter_uncertainty", "jobs")  # fmt: skip
    shown = " ".join(f"{k}={str(r[k]).lower() if isinstance(r[k], bool) else r[k]}" for k in keys)
    origin = "; ".join(f"{k} from the run: block of {quote(f)}" for k, (_, f) in blocks.items())
    return f"run settings: {shown}" + (f" ({origin})" if origin else "")


def main(overrides: list[str]) -> int:
    import yaml

    try:
        cfg, check_only = compare_config(overrides)
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from None
    if check_only:
        print(
            f"ok: {len(cfg.scenarios)} scenario(s) valid: "
            f"{', '.join(s.name for s in cfg.scenarios)}"
        )
        print(run_settings_line(cfg, run_blocks(overrides)))
        return 0
    if len(cfg.scenarios) < 2:
        raise ConfigError(
            f"scenarios=[{cfg.comparator}]: only the comparator; name at least one scenario to "
            "compare with it"
        )
    try:
        bearers = load_bearers(CONF_DIR / "bearers.yaml")
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from None
    s = cfg.run.settings
    out = (
        Path(cfg.run.out)
        if cfg.run.out
        else default_out(
            "compare", f"{cfg.run.area.name}-{len(cfg.scenarios)}scen-{cfg.replicates}rep"
        )
    )
    start = time.perf_counter()
    with run_folder(out) as folder:
        results = _run_all(cfg)
        t = tables(cfg, results)
        summary, econ, econ_rep = summarise(cfg, t)
        parts = decomposition_table(cfg, results) if cfg.decompose else None
        wall = time.perf_counter() - start
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg.resolved, sort_keys=False))
        t["outcomes"].to_parquet(folder / "outcomes.parquet", index=False)
        for name in ("by_year", "by_place"):
            t[name].to_parquet(folder / f"{name}.parquet", index=False)
            t[name].to_csv(folder / f"{name}.csv", index=False)
        t["spend"].to_csv(folder / "spend.csv", index=False)
        ap.shortfall_by_allocation(t["spend"], cfg.prices).to_csv(
            folder / "shortfall.csv", index=False
        )
        summary.to_csv(folder / "summary.csv", index=False)
        econ_rep.to_csv(folder / "economics_by_replicate.csv", index=False)
        ap.acceptability(econ_rep, cfg.comparator).to_csv(folder / "acceptability.csv", index=False)
        t["inputs"].to_csv(folder / "inputs.csv", index=False)
        voi_table, voi_summary = value_of_information(cfg, econ_rep, t["inputs"])
        voi_table.to_csv(folder / "voi.csv", index=False)
        (folder / "voi.json").write_text(json.dumps(voi_summary, indent=2, default=float) + "\n")
        agencies, returns = who_pays(cfg, t, bearers)
        agencies.to_csv(folder / "agencies.csv", index=False)
        econ = econ.merge(returns, on="scenario", how="left")
        econ.to_csv(folder / "economics.csv", index=False)
        interventions_table(cfg).to_csv(folder / "interventions.csv", index=False)
        if parts is not None:
            parts.to_csv(folder / "decomposition.csv", index=False)
        seconds = seconds_spent(cfg, results)
        (folder / "meta.json").write_text(
            json.dumps(meta(cfg, wall, seconds), indent=2, default=str)
        )

        write_report(folder)
        write_manifest(
            folder,
            job="compare",
            overrides=overrides,
            seed=s.seed,
            replicates=cfg.replicates,
            population_scale=s.population_scale,
            wall_seconds=round(time.perf_counter() - start, 1),
        )
    print(f"compare folder: {out}")
    return 0
