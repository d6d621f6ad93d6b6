"""A small, made-up `svsim compare` run folder for testing the report
(experiments/compare/report.py).

Numbers are random but shaped like the real thing: yearly totals per replicate with common random
numbers across scenarios (the scenario effect is a multiplier on the comparator's draw plus a
little noise), horizon totals by community, spend by intervention and year, and the summary and
economics tables computed from those, in the schema `svsim compare` writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from svsim.experiments.config import CONF_DIR
from svsim.scenarios import appraisal as ap
from svsim.scenarios import bearers as br

BEARERS = br.bearers_from_dict(yaml.safe_load((CONF_DIR / "bearers.yaml").read_text()))
COMPARATOR = "status_quo"

# measure -> (label, mean per year for the whole area)
MEASURES = {
    "violence_with_injury_true": ("violence with injury (true)", 7800.0),
    "serious_violence_true": ("serious violence (true)", 3100.0),
    "knife_injuries_true": ("knife or sharp-object injuries (true)", 210.0),
    "admissions_expected": ("hospital admissions for assault by a sharp object (expected)", 42.0),
    "homicides_expected": ("homicides (expected)", 5.5),
    "incidents_recorded": ("violent incidents recorded by police", 12500.0),
    "cost_of_crime": ("social cost of violence (GBP, true incidents)", 1.15e8),
}

# scenario name -> (label, description, budget per year, effect on each measure (proportion))
SCENARIOS = {
    COMPARATOR: ("Status quo", "Current services, no new money.", 0.0, 0.0),
    "navigators_mentoring": (
        "A&E navigators and mentoring",
        "Hospital navigators in Swindon and Salisbury; mentoring in the highest-risk wards.",
        1_000_000.0,
        0.012,
    ),
    "focused_deterrence": (
        "Focused deterrence",
        "A focused deterrence cohort in Swindon and Devizes.",
        1_000_000.0,
        0.02,
    ),
}

COMMUNITIES = [
    ("Wiltshire", "Salisbury", 0.12),
    ("Wiltshire", "Trowbridge", 0.09),
    ("Wiltshire", "Chippenham", 0.08),
    ("Wiltshire", "Devizes", 0.05),
    ("Wiltshire", "Rest of Wiltshire", 0.26),
    ("Swindon", "Swindon Central", 0.18),
    ("Swindon", "Penhill and Pinehurst", 0.07),
    ("Swindon", "Rest of Swindon", 0.15),
]

INTERVENTIONS = pd.DataFrame(
    [
        {
            "name": "ae_navigators",
            "label": "A&E navigators",
            "tier": "secondary",
            "evidence": "very low",
            "unit": "navigator post-year",
            "unit_cost": 75_000.0,
            "mechanism": "individual hazard of attendees aged 11-25",
            "reduction": 0.15,
            "low": -0.05,
            "high": 0.35,
            "estimand": "reoffending, 12 months",
            "source": "YEF Toolkit: A&E navigators (2 US studies)",
        },
        {
            "name": "mentoring",
            "label": "Mentoring",
            "tier": "secondary",
            "evidence": "moderate",
            "unit": "mentee",
            "unit_cost": 2_000.0,
            "mechanism": "individual protective factor",
            "reduction": 0.21,
            "low": 0.1,
            "high": 0.3,
            "estimand": "violence, meta-analysis",
            "source": "YEF Toolkit: mentoring",
        },
        {
            "name": "focused_deterrence",
            "label": "Focused deterrence",
            "tier": "tertiary",
            "evidence": "moderate",
            "unit": "cohort member",
            "unit_cost": 5_000.0,
            "mechanism": "individual hazard of cohort members",
            "reduction": 0.33,
            "low": 0.15,
            "high": 0.45,
            "estimand": "violence, US and UK studies",
            "source": "YEF Toolkit: focused deterrence",
        },
        {
            "name": "knife_education",
            "label": "Knife crime education",
            "tier": "primary",
            "evidence": "none",
            "unit": "school session",
            "unit_cost": 600.0,
            "mechanism": "society-level attitudes in schools",
            "reduction": 0.02,
            "low": -0.02,
            "high": 0.06,
            "estimand": "assumed: no evaluation found",
            "source": "assumed",
        },
    ]
)

# scenario -> {intervention: share of the harm its interventions avert alone (decomposition)}
PART_WEIGHTS = {
    "navigators_mentoring": {"ae_navigators": 0.2, "mentoring": 0.7, "knife_education": 0.1},
    "focused_deterrence": {"focused_deterrence": 0.95, "knife_education": 0.05},
}

# value of information (voi.csv): input -> share of the EVPI, for the fixture's interventions and
# two calibrated parameters; focused deterrence's effect estimate is worth most
VOI_INPUTS = {
    "focused_deterrence.estimate": 0.46,
    "mentoring.estimate": 0.22,
    "ae_navigators.outcome": 0.15,
    "params.offending.base_hazard": 0.12,
    "mentoring.uptake": 0.07,
    "focused_deterrence.unit_cost": 0.05,
    "ae_navigators.estimate": 0.04,
    "csp_hazard_multiplier.Swindon": 0.03,
    "mentoring.completion": 0.02,
    "knife_education.estimate": 0.01,
    "mentoring.unit_cost": 0.005,
    "ae_navigators.uptake": 0.0,
}
CALIBRATED = "calibrated parameters"
VOI_GROUPS = {
    "focused_deterrence": 0.55,
    "mentoring": 0.3,
    CALIBRATED: 0.14,
    "ae_navigators": 0.2,
    "knife_education": 0.02,
}
VOI_STABILITY = 0.55  # the fixture's top three agree in 55% of resamples: not yet stable

# scenario -> {intervention: share of budget}
PORTFOLIOS = {
    "navigators_mentoring": {"ae_navigators": 0.4, "mentoring": 0.5, "knife_education": 0.1},
    "focused_deterrence": {"focused_deterrence": 0.9, "knife_education": 0.1},
}


def _interval(x: np.ndarray) -> tuple[float, float]:
    return float(np.quantile(x, 0.05)), float(np.quantile(x, 0.95))


def write_fake_voi(folder: Path, econ: pd.DataFrame, used: set, seed: int, draws=200) -> None:
    """voi.csv (the inputs and groups of the interventions `used` and the calibrated parameters:
    EVPPI with a 90% bootstrap interval, one interval missing) and voi.json, in the schema
    compare writes (scenarios/voi.py), scaled so the EVPI is a tenth of the widest 90% interval
    of net benefit."""
    evpi = 0.1 * float((econ.net_benefit_pv_p95 - econ.net_benefit_pv_p05).max())
    rng = np.random.default_rng((seed, 16))
    rows = []
    for kind, shares in (("input", VOI_INPUTS), ("group", VOI_GROUPS)):
        for name, share in shares.items():
            if name.split(".")[0] not in {*used, "params", "csp_hazard_multiplier", CALIBRATED}:
                continue
            value = share * evpi
            low, high = value * rng.uniform(0.3, 0.8), value * rng.uniform(1.2, 1.9)
            rows.append({"input": name, "kind": kind, "evppi": value, "low": low, "high": high})
    table = pd.DataFrame(rows).sort_values(["kind", "evppi"], ascending=[False, False])
    table.loc[table.input == "mentoring.completion", ["low", "high"]] = np.nan
    table.to_csv(folder / "voi.csv", index=False)
    summary = {
        "draws": draws,
        "options": [COMPARATOR, *econ.scenario],
        "multiplier": 1.0,
        "best_on_average": str(econ.loc[econ.net_benefit_pv_mean.idxmax(), "scenario"]),
        "evpi": evpi,
        "naive_evpi_counting_noise": 2.5 * evpi,
        "top_three": list(table[table.kind == "input"].nlargest(3, "evppi").input),
        "top_three_stability": VOI_STABILITY,
        "draws_for_stable_top_three": 900,
        "per": "the whole area's decision over the horizon, present values in base-year GBP",
    }
    (folder / "voi.json").write_text(json.dumps(summary, indent=2) + "\n")


def make_fake_compare_folder(
    folder: Path,
    seed: int = 0,
    *,
    scenarios: tuple[str, ...] | None = None,
    zero_measures: tuple[str, ...] = (),
    replicates: int = 4,
    years: int = 3,
    decompose: bool = False,
    population: int | None = 743_695,
    voi: bool = True,
) -> Path:
    """Write meta.json, summary.csv, economics.csv, by_year.parquet, by_place.parquet, spend.csv
    and interventions.csv into `folder`. `scenarios` picks the non-comparator scenarios (default
    both); `zero_measures` makes those measures zero everywhere; `decompose` adds
    decomposition.csv (each intervention's harm averted alone, PART_WEIGHTS of the whole with
    noise, and an interaction); `population` is the area's (None: a folder without it); `voi`
    writes voi.csv and voi.json (False: a folder from before the value of information)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    others = list(scenarios) if scenarios is not None else [*PORTFOLIOS]
    names = [COMPARATOR, *others]
    start_year = 2024
    year_list = list(range(start_year, start_year + years))
    discount = 0.035

    # yearly totals: the comparator's draw is shared (common random numbers)
    base = {
        (m, r, y): mean * rng.lognormal(0.0, 0.04) * (1 + 0.02 * (y - start_year))
        for m, (_, mean) in MEASURES.items()
        for r in range(replicates)
        for y in year_list
    }
    rows = []
    for s in names:
        effect = SCENARIOS[s][3]
        for (m, r, y), v in base.items():
            ramp = min(1.0, (y - start_year + 1) / 2)  # effects build up
            value = v
            if effect:  # the scenario's effect, plus the noise where the runs diverge
                value = v * (1 - effect * ramp * rng.normal(1.0, 0.6))
                value += rng.normal(0.0, 0.4 * np.sqrt(v))
            if m in zero_measures:
                value = 0.0
            rows.append((s, r, y, m, float(value)))
    by_year = pd.DataFrame(rows, columns=["scenario", "replicate", "year", "measure", "value"])
    by_year.to_parquet(folder / "by_year.parquet", index=False)

    # horizon totals by community
    totals = by_year.groupby(["scenario", "replicate", "measure"], as_index=False).value.sum()
    weights = np.array([w for *_, w in COMMUNITIES])
    place_rows = []
    for (s, r), grp in totals.groupby(["scenario", "replicate"]):
        for m, v in zip(grp.measure, grp.value, strict=True):
            noise = np.random.default_rng((seed, r, len(m))).dirichlet(weights * 400)
            if s != COMPARATOR:  # the effect lands mostly in Swindon and Salisbury
                noise = noise * (1 + rng.normal(0, 0.01, len(noise)))
            for (csp, community, _), share in zip(COMMUNITIES, noise, strict=True):
                place_rows.append((s, r, csp, community, m, float(v * share)))
    pd.DataFrame(
        place_rows, columns=["scenario", "replicate", "csp", "community", "measure", "value"]
    ).to_parquet(folder / "by_place.parquet", index=False)

    # summary: paired differences over the horizon
    wide = totals.pivot_table(index=["measure", "replicate"], columns="scenario", values="value")
    summary = []
    for s in others:
        for m, (label, _) in MEASURES.items():
            comp = wide.loc[m, COMPARATOR].to_numpy()
            scen = wide.loc[m, s].to_numpy()
            diff = comp - scen
            p05, p95 = _interval(diff)
            u05, u95 = _interval(comp[:, None] - scen[None, :])
            summary.append(
                {
                    "scenario": s,
                    "comparator": COMPARATOR,
                    "measure": m,
                    "label": label,
                    "scenario_mean": float(scen.mean()),
                    "comparator_mean": float(comp.mean()),
                    "averted_mean": float(diff.mean()),
                    "averted_p05": p05,
                    "averted_p95": p95,
                    "unpaired_p05": u05,
                    "unpaired_p95": u95,
                    "prob_better": float(np.mean(diff > 0)),
                    "mde": float(2.8 * diff.std(ddof=1) / np.sqrt(replicates)),
                }
            )
    summary = pd.DataFrame(summary)
    summary.to_csv(folder / "summary.csv", index=False)

    # spend
    spend_rows = []
    unit_cost = INTERVENTIONS.set_index("name")
    for s in others:
        budget = SCENARIOS[s][2]
        for r in range(replicates):
            for y in year_list:
                for name, share in PORTFOLIOS[s].items():
                    b = budget * share
                    spent = b * float(rng.uniform(0.8, 1.0))
                    units = spent / unit_cost.loc[name, "unit_cost"]
                    pupils = name == "knife_education"
                    reached = int(units * (300 if pupils else 1))
                    spend_rows.append(
                        {
                            "scenario": s,
                            "replicate": r,
                            "year": y,
                            "intervention": name,
                            "tier": unit_cost.loc[name, "tier"],
                            "evidence": unit_cost.loc[name, "evidence"],
                            "budget": b,
                            "spent": spent,
                            "units": units,
                            "participants": reached,
                            "reached": reached,
                            "eligible": 4 * reached,
                            "reach_unit": "pupils" if pupils else "people",
                            "unspent": b - spent,
                        }
                    )
    spend = pd.DataFrame(spend_rows)
    spend.to_csv(folder / "spend.csv", index=False)
    used = set(spend.intervention) if len(spend) else set()
    INTERVENTIONS[INTERVENTIONS.name.isin(used)].to_csv(folder / "interventions.csv", index=False)

    # economics (discounted to the first year)
    factor = {y: (1 + discount) ** -(y - start_year) for y in year_list}
    cost_w = by_year[by_year.measure == "cost_of_crime"].assign(
        pv=lambda d: d.value * d.year.map(factor)
    )
    cost_pv = cost_w.pivot_table(index="replicate", columns="scenario", values="pv", aggfunc="sum")
    econ, per_rep, agencies = [], [], []
    for s in others:
        sp = spend[spend.scenario == s].assign(pv=lambda d: d.spent * d.year.map(factor))
        spend_pv = sp.groupby("replicate").pv.sum().reindex(range(replicates)).to_numpy()
        harm = (cost_pv[COMPARATOR] - cost_pv[s]).to_numpy()
        justice = rng.normal(-0.05, 0.02, replicates) * spend_pv
        net = harm - spend_pv
        bcr = harm / spend_pv
        row = {
            "scenario": s,
            "comparator": COMPARATOR,
            "spend_pv_mean": spend_pv.mean(),
            "harm_averted_pv_mean": harm.mean(),
            "justice_cost_change_pv_mean": justice.mean(),
            "net_benefit_pv_mean": net.mean(),
            "bcr_mean": bcr.mean(),
            "prob_bcr_gt_1": float(np.mean(bcr > 1)),
        }
        for key, x in (("spend_pv", spend_pv), ("harm_averted_pv", harm), ("net_benefit_pv", net)):
            row[f"{key}_p05"], row[f"{key}_p95"] = _interval(x)
        row["bcr_p05"], row["bcr_p95"] = _interval(bcr)
        for col, m in (
            ("cost_per_vwi_averted", "violence_with_injury_true"),
            ("cost_per_admission_averted", "admissions_expected"),
            ("cost_per_homicide_averted", "homicides_expected"),
        ):
            hit = summary[(summary.scenario == s) & (summary.measure == m)].iloc[0]
            estimable = hit.averted_p05 > 0 or hit.averted_p95 < 0
            row[col] = spend_pv.mean() / hit.averted_mean if estimable else np.nan
        # who pays: a fifth of the harm averted taken as homicides', split as compare splits it
        agencies += br.agency_rows(BEARERS, s, 0.2 * harm, 0.8 * harm, spend_pv)
        fiscal = sum(r["harm_averted_pv_mean"] for r in agencies[-6:] if r["bearer"] in br.FISCAL)
        row["fiscal_benefit_pv_mean"] = fiscal
        row["fiscal_roi"] = fiscal / spend_pv.mean() - 1
        row["social_roi"] = harm.mean() / spend_pv.mean() - 1
        row["payback_year_fiscal"] = np.nan
        row["payback_year_social"] = start_year + 1.0
        econ.append(row)
        per_rep += [
            {"scenario": s, "replicate": r, "spend_pv": spend_pv[r], "harm_averted_pv": harm[r]}
            for r in range(replicates)
        ]
    pd.DataFrame(econ).to_csv(folder / "economics.csv", index=False)
    pd.DataFrame(agencies).to_csv(folder / "agencies.csv", index=False)
    if decompose:
        frames = []
        for s in others:
            whole = np.array([r["harm_averted_pv"] for r in per_rep if r["scenario"] == s])
            sp = spend[spend.scenario == s].assign(pv=lambda d: d.budget * d.year.map(factor))
            cost = sp.groupby(["intervention", "replicate"]).pv.sum()
            parts = {
                i: whole * w * 0.9 * rng.normal(1.0, 0.05, replicates)
                for i, w in PART_WEIGHTS[s].items()
            }
            costs = {i: cost.loc[i].to_numpy() for i in parts}
            table = ap.decompose(whole, parts, sum(costs.values()), costs, rng)
            frames.append(table.assign(scenario=s, reference="nothing funded"))
        pd.concat(frames).to_csv(folder / "decomposition.csv", index=False)
    pd.DataFrame(per_rep).to_csv(folder / "economics_by_replicate.csv", index=False)
    if per_rep:
        ap.acceptability(pd.DataFrame(per_rep), COMPARATOR).to_csv(
            folder / "acceptability.csv", index=False
        )
    if voi and econ:
        write_fake_voi(folder, pd.DataFrame(econ), used, seed)
    if len(spend):
        short = spend.groupby(["scenario", "intervention", "year"], as_index=False).agg(
            allocated=("budget", "mean"), spent_mean=("spent", "mean")
        )
        short["shortfall_mean"] = short.allocated - short.spent_mean
        short["price_year"] = start_year
        short.to_csv(folder / "shortfall.csv", index=False)

    meta = {
        "area": "wiltshire_swindon",
        "area_label": "Wiltshire and Swindon",
        "scenarios": [
            {
                "name": s,
                "label": SCENARIOS[s][0],
                "description": SCENARIOS[s][1],
                "budget_per_year": SCENARIOS[s][2],
                "assumptions": "uptake 60% (assumed)" if s != COMPARATOR else "",
            }
            for s in names
        ],
        "comparator": COMPARATOR,
        "replicates": replicates,
        "years": years,
        "start_year": start_year,
        "population_scale": 0.25,
        "seed": seed,
        "price_year": 2024,
        "discount_rate": discount,
        "uncertainty_sources": [
            "stochastic (common random numbers, paired)",
            "effect sizes",
            "uptake and completion",
            "unit costs",
        ],
        "uncertainty_not_included": [
            "calibrated parameters (not yet calibrated)",
            "structural uncertainty",
            "population change",
        ],
        "sources": [
            {
                "what": "population",
                "source": "ONS Census 2021, https://www.ons.gov.uk/census",
                "vintage": "2021",
            },
            {
                "what": "unit costs of crime",
                "source": "Heeks et al. 2018, The economic and social costs of crime (Home Office)",
                "vintage": "2015/16 prices, uprated to 2024",
            },
            {
                "what": "effect sizes",
                "source": "Youth Endowment Fund Toolkit",
                "vintage": "2024",
            },
        ],
        **({"population": population} if population is not None else {}),
        "decompose": decompose,
        "wall_seconds": 123.4,
        "versions": {"python": "3.11.2", "svsim": "0.1.0", "numpy": "1.26.4"},
        "code_revision": "0123abc+dirty",
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2))
    return folder
