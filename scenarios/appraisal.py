"""Appraisal of a scenario against its comparator: paired statistics over replicates and the money.

One implementation for compare, the workshop, sensitivity analysis and sweeps; numpy and pandas
only (no Hydra, no files), so it is tested directly on small arrays. Arrays are per replicate,
and replicate r of a scenario is paired with replicate r of its comparator (common random numbers).

Money: the cost of a scenario is the cash it commits (allocated), whether or not delivery could
use it; what it could not use is the shortfall, reported beside the cost, never dropped. Harm is
valued from expected severities (homicides priced from their probabilities), and the
benefit-cost ratio is a ratio of means with a paired bootstrap interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z_MDE = 1.645 + 0.842  # minimum detectable effect: two-sided 10% level, 80% power
COST_PRICE_YEAR = 2015  # the model's unit costs of crime (Heeks et al. 2018, 2015/16 prices)
BOOTSTRAP_DRAWS = 2000  # resamples of the replicates for the ratio's interval
BOOTSTRAP_KEY = 7_002  # the bootstrap's stream: default_rng([seed, BOOTSTRAP_KEY])


def interval(x: np.ndarray) -> tuple[float, float]:
    """The 5th and 95th percentiles (a 90% interval)."""
    return float(np.quantile(x, 0.05)), float(np.quantile(x, 0.95))


def mde(d: np.ndarray) -> float:
    """The smallest mean paired difference these replicates would detect (10% level, 80% power)."""
    return float(Z_MDE * np.std(d, ddof=1) / np.sqrt(len(d)))


def paired(comparator: np.ndarray, scenario: np.ndarray) -> dict:
    """Averted (comparator minus scenario) per replicate, its mean, interval, the probability the
    scenario is better, the detectable effect, and the unpaired interval for contrast."""
    a, b = np.asarray(comparator, float), np.asarray(scenario, float)
    d = a - b
    unpaired = (a[:, None] - b[None, :])[~np.eye(len(a), dtype=bool)]
    lo, hi = interval(d)
    ulo, uhi = interval(unpaired)
    return {
        "scenario_mean": b.mean(),
        "comparator_mean": a.mean(),
        "averted_mean": d.mean(),
        "averted_p05": lo,
        "averted_p95": hi,
        "unpaired_p05": ulo,
        "unpaired_p95": uhi,
        "prob_better": float((d > 0).mean()),
        "mde": mde(d),
    }


def cash_pv(amount, year, prices, first_year: int) -> np.ndarray:
    """Cash in each year's own prices, in base-year prices discounted to first_year."""
    amount, year = np.asarray(amount, float), np.asarray(year, int)
    up = np.array([prices.uprate(int(y), prices.base_year) for y in year])
    return amount * up / (1 + prices.discount_rate) ** (year - first_year)


def money(spend: pd.DataFrame, replicates: int, prices, first_year: int) -> dict[str, np.ndarray]:
    """Present value per replicate of the cash allocated, spent and short (allocated less spent).
    spend: rows of replicate, year, budget (allocated that year) and spent."""
    out = {}
    for col, key in (("budget", "allocated"), ("spent", "spent")):
        pv = cash_pv(spend[col], spend["year"], prices, first_year)
        out[key] = np.bincount(spend["replicate"].to_numpy(int), pv, minlength=replicates)
    out["shortfall"] = out["allocated"] - out["spent"]
    return out


SHORTFALL_KEYS = ("scenario", "intervention", "year")
SHORTFALL_COLUMNS = ("allocated", "spent_mean", "spent_p05", "spent_p95", "shortfall_mean",
                     "shortfall_p05", "shortfall_p95")  # fmt: skip


def shortfall_by_allocation(spend: pd.DataFrame, prices) -> pd.DataFrame:
    """Per scenario, intervention and year, in base-year prices (not discounted): allocated, and
    the mean and 90% interval over replicates of spent and short."""
    if spend.empty:  # nothing funded in any scenario: the table, with no rows
        return pd.DataFrame(columns=[*SHORTFALL_KEYS, *SHORTFALL_COLUMNS, "price_year"])
    up = np.array([prices.uprate(int(y), prices.base_year) for y in spend["year"]])
    real = spend.assign(
        allocated=spend["budget"] * up,
        spent=spend["spent"] * up,
        shortfall=(spend["budget"] - spend["spent"]) * up,
    )
    keys = list(SHORTFALL_KEYS)
    per_rep = real.groupby([*keys, "replicate"], observed=True)[
        ["allocated", "spent", "shortfall"]
    ].sum()
    g = per_rep.groupby(level=keys, observed=True)
    out = pd.DataFrame(
        {
            "allocated": g["allocated"].mean(),
            "spent_mean": g["spent"].mean(),
            "spent_p05": g["spent"].quantile(0.05),
            "spent_p95": g["spent"].quantile(0.95),
            "shortfall_mean": g["shortfall"].mean(),
            "shortfall_p05": g["shortfall"].quantile(0.05),
            "shortfall_p95": g["shortfall"].quantile(0.95),
        }
    ).reset_index()
    out["price_year"] = prices.base_year
    return out


def homicide_premium(cost) -> float:
    """What a death adds to the price of an injury (model CostParams, 2015/16 prices)."""
    return cost.homicide - cost.violence_with_injury


def expected_harm(cost, homicides, homicides_expected, premium: float) -> np.ndarray:
    """A priced-harm series with its homicides priced from their probabilities: the realised
    deaths' premium swapped for the expected deaths'. Admissions need nothing: the unit costs
    price an admission as any injury. Unbiased, as E[deaths] is the expected count."""
    h, e = np.asarray(homicides, float), np.asarray(homicides_expected, float)
    return np.asarray(cost, float) - premium * (h - e)


def discounted(yearly: np.ndarray, prices) -> np.ndarray:
    """A yearly series (last axis: years from the first) discounted to the first year."""
    y = np.asarray(yearly, float)
    return (y * (1 + prices.discount_rate) ** -np.arange(y.shape[-1])).sum(axis=-1)


def harm_pv(yearly_cost: np.ndarray, prices) -> np.ndarray:
    """Present value of yearly harm (2015/16 prices), in base-year prices."""
    return discounted(yearly_cost, prices) * prices.uprate(COST_PRICE_YEAR, prices.base_year)


def ratio_of_means(
    benefit: np.ndarray, cost: np.ndarray, rng: np.random.Generator, draws: int = BOOTSTRAP_DRAWS
) -> tuple[float, float, float]:
    """Mean benefit over mean cost, and a 90% paired bootstrap interval (replicates resampled
    with their pairs kept). NaN where the mean cost is not positive."""
    benefit, cost = np.asarray(benefit, float), np.asarray(cost, float)
    if cost.mean() <= 0:
        return np.nan, np.nan, np.nan
    idx = rng.integers(0, len(cost), size=(draws, len(cost)))
    c = cost[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = np.where(c > 0, benefit[idx].mean(axis=1) / c, np.nan)
    lo, hi = np.nanquantile(boot, [0.05, 0.95])
    return float(benefit.mean() / cost.mean()), float(lo), float(hi)


def _spread(prefix: str, x: np.ndarray) -> dict:
    lo, hi = interval(x)
    return {f"{prefix}_mean": float(x.mean()), f"{prefix}_p05": lo, f"{prefix}_p95": hi}


def appraise(
    harm_averted: dict[str, np.ndarray],
    extra: dict[str, np.ndarray],
    justice_change: np.ndarray,
    rng: np.random.Generator,
    headline: str = "stated",
) -> dict:
    """The economics row of one scenario, from per-replicate present values: harm averted on each
    basis (headline first in the unsuffixed columns), extra cash allocated, spent and short, and
    the change in custody costs. Cost is the extra cash allocated."""
    cost, harm = extra["allocated"], harm_averted[headline]
    net = harm - cost
    ratio, lo, hi = ratio_of_means(harm, cost, rng)
    row = {
        **_spread("spend_pv", cost),
        **_spread("allocated_pv", extra["allocated"]),
        **_spread("spent_pv", extra["spent"]),
        **_spread("shortfall_pv", extra["shortfall"]),
        **_spread("harm_averted_pv", harm),
        "justice_cost_change_pv_mean": float(np.mean(justice_change)),
        **_spread("net_benefit_pv", net),
        "bcr_mean": ratio,
        "bcr_p05": lo,
        "bcr_p95": hi,
        "prob_bcr_gt_1": float((net > 0).mean()) if cost.mean() > 0 else np.nan,
    }
    for basis, h in harm_averted.items():
        row.update(_spread(f"harm_averted_pv_{basis}", h))
    return row


def cost_per_averted(cost_mean: float, averted: np.ndarray) -> float:
    """Extra cost per outcome averted, only where the 90% interval of the averted excludes zero."""
    lo, hi = interval(averted)
    if (lo > 0 or hi < 0) and cost_mean > 0:
        return float(cost_mean / np.mean(averted))
    return np.nan


ROUNDING = 1e-9  # relative: an interaction this small is floating-point summation, set to 0
DECOMPOSITION_COLUMNS = ("part", "kind", "allocated_pv_mean", "harm_averted_pv_mean",
                         "harm_averted_pv_p05", "harm_averted_pv_p95", "share_of_parts",
                         "prob_positive", "bcr_mean", "bcr_p05", "bcr_p95")  # fmt: skip


def decompose(
    whole: np.ndarray,
    parts: dict[str, np.ndarray],
    whole_cost: np.ndarray,
    part_costs: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Which parts supply a whole's harm averted, from per-replicate present values against one
    reference: each part alone, its share of the sum of the parts' means, the sum, the
    interaction (whole minus the sum; negative when parts overlap) and the whole. Shares are NaN
    unless the sum of the parts is positive; benefit-cost ratios are ratios of means with a
    bootstrap interval."""
    whole = np.asarray(whole, float)
    total = np.zeros_like(whole)
    for x in parts.values():
        total = total + np.asarray(x, float)
    denominator = float(total.mean())

    def row(part, kind, harm, cost, share=np.nan) -> dict:
        harm = np.asarray(harm, float)
        if cost is None:
            money, ratio = np.nan, (np.nan, np.nan, np.nan)
        else:
            money, ratio = float(np.mean(cost)), ratio_of_means(harm, cost, rng)
        return {
            "part": part,
            "kind": kind,
            "allocated_pv_mean": money,
            **_spread("harm_averted_pv", harm),
            "share_of_parts": share,
            "prob_positive": float((harm > 0).mean()),
            "bcr_mean": ratio[0],
            "bcr_p05": ratio[1],
            "bcr_p95": ratio[2],
        }

    rows = [
        row(
            name,
            "alone",
            x,
            part_costs[name],
            float(np.mean(x)) / denominator if denominator > 0 else np.nan,
        )
        for name, x in parts.items()
    ]
    cost_sum = sum(np.asarray(part_costs[n], float) for n in parts)
    rows.append(row("sum of the parts", "sum", total, cost_sum, 1.0 if denominator > 0 else np.nan))
    interaction = whole - total
    # the whole and the parts are summed in different orders: rounding is not interaction
    interaction[np.abs(interaction) <= ROUNDING * np.abs(whole).max(initial=0.0)] = 0.0
    rows.append(row("interaction", "interaction", interaction, None))
    rows.append(row("whole scenario", "whole", whole, whole_cost))
    return pd.DataFrame(rows, columns=list(DECOMPOSITION_COLUMNS))


VALUE_MULTIPLIERS = tuple(round(0.1 * i, 1) for i in range(31))  # 0 to 3 times the unit costs


def acceptability(
    per_replicate: pd.DataFrame, comparator: str, multipliers=VALUE_MULTIPLIERS
) -> pd.DataFrame:
    """The acceptability curve: for each multiplier k of the Home Office unit costs (the value
    placed on harm, the contested quantity), the share of replicates in which each scenario has
    the highest net benefit k x harm averted - extra money (the comparator's is 0), and the
    expected net benefit. Replicates are joint draws of every uncertain input, so the share is a
    probability of being best; exact ties go to the scenario listed first (the comparator)."""
    wide = per_replicate.pivot(index="replicate", columns="scenario")
    names = [comparator, *dict.fromkeys(per_replicate.scenario)]
    harm = np.column_stack(
        [np.zeros(len(wide)), *(wide["harm_averted_pv"][n].to_numpy() for n in names[1:])]
    )
    cost = np.column_stack(
        [np.zeros(len(wide)), *(wide["spend_pv"][n].to_numpy() for n in names[1:])]
    )
    if not (np.isfinite(harm).all() and np.isfinite(cost).all()):
        raise ValueError("acceptability: harm averted and money must be finite in every replicate")
    rows = []
    for k in multipliers:
        nb = k * harm - cost
        best = np.bincount(nb.argmax(axis=1), minlength=len(names)) / len(nb)
        rows += [
            {
                "multiplier": k,
                "scenario": n,
                "prob_best": float(best[i]),
                "net_benefit_pv_mean": float(nb[:, i].mean()),
            }
            for i, n in enumerate(names)
        ]
    return pd.DataFrame(rows)
