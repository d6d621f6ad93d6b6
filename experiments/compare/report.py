"""The report of `svsim compare`: matplotlib figures and one self-contained `report.html`.

Reads the tables a compare run folder holds (meta.json, summary.csv, economics.csv,
by_year.parquet, by_place.parquet, spend.csv, interventions.csv, shortfall.csv, acceptability.csv,
voi.csv and voi.json where present and, with decompose=true, decomposition.csv), writes PNGs into
`folder/figures` and `folder/report.html` with the figures embedded as data URIs, inline CSS and
nothing to load from anywhere else. Written for a partnership board: one page first (the decision:
scenarios ranked by net social benefit, what the ranking rests on and what it cannot tell), then the
detail; plain words, intervals beside every estimate.
"""

from __future__ import annotations

import base64
import json
import math
import textwrap
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.figure import Figure
from svsim.scenarios import voi

# Okabe-Ito: distinguishable with the common colour-vision deficiencies
OKABE_ITO = ["#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442"]
COMPARATOR_COLOUR = "#555555"
WHITE_BOX = {"fc": "white", "ec": "none", "pad": 1}  # behind text that may cross a line
RC = {
    "font.size": 14,
    "axes.titlesize": 15,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
}

KNIFE = "admissions_expected"
VWI = "violence_with_injury_true"
HOMICIDE = "homicides_expected"
COST = "cost_of_crime"
# the headline outcomes, with the words the report uses for them
HEADLINE = {
    KNIFE: "hospital admissions for knife or sharp-object assault (expected)",
    VWI: "violent incidents with injury",
    HOMICIDE: "homicides (expected)",
}
COST_PER = {
    "cost_per_vwi_averted": "violent incident with injury",
    "cost_per_admission_averted": "knife or sharp-object admission",
    "cost_per_homicide_averted": "homicide",
}
NOT_ESTIMABLE = "not estimable: the effect's interval includes zero"
# evidence grades counted as "weak or no evidence" (matched on the lower-cased grade)
WEAK_WORDS = ("very low", "low", "weak", "none", "no evidence", "unknown", "assumed", "untested")


# ---------------------------------------------------------------------------------------------
# numbers for people


def _decimals(*values: float) -> int:
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    biggest = max(finite, default=0.0)
    if biggest >= 100:
        return 0
    if biggest >= 10:
        return 1 if all(abs(v) < 100 and v != round(v) for v in finite) and biggest < 20 else 0
    if biggest >= 1:
        return 1
    return 2


def _width_decimals(mean: float, lo: float, hi: float) -> int:
    """Decimals an estimate supports: half the interval's width to one significant figure, and
    at least the mean's first significant digit."""
    width = hi - lo
    if not all(map(math.isfinite, (mean, lo, hi))) or width <= 0:
        return _decimals(mean, lo, hi)
    d = max(0, -math.floor(math.log10(width / 2)))
    if mean != 0:
        d = max(d, -math.floor(math.log10(abs(mean))))
    return min(d, 3)


def fmt_num(x: float, decimals: int | None = None) -> str:
    """34; 1,234; 2.6; 0.27 ('n/a' for missing)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    d = _decimals(x) if decimals is None else decimals
    text = f"{x:,.{d}f}"
    return "0" if text.strip("-0.,") == "" else text


def fmt_money(x: float) -> str:
    """£1.2m, £350k, £1,200 (GBP; 'n/a' for missing)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1e9:
        text = f"£{a / 1e9:.2f}bn"
    elif a >= 1e6:
        text = f"£{a / 1e6:.{2 if a < 1e7 else 1}f}m"
    elif a >= 1e4:
        text = f"£{a / 1e3:,.0f}k"
    else:
        text = f"£{a:,.0f}"
    return sign + text


def fmt_pct(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"{100 * p:.0f}%"


def fmt_interval(mean: float, lo: float, hi: float, money: bool = False) -> str:
    """'34 (90% interval 12 to 57)'; money as '£11m (90% interval £6m to £22m)', each rounded
    to what the interval's width supports."""
    if money:
        return fmt_money_interval(mean, lo, hi)
    d = _decimals(mean, lo, hi)
    return f"{fmt_num(mean, d)} (90% interval {fmt_num(lo, d)} to {fmt_num(hi, d)})"


def money_parts(mean: float, lo: float, hi: float) -> tuple[str, str, str]:
    """Mean, low and high as money in one unit (£bn, £m, £k or £), to the interval's
    precision, so that a chart and a sentence round the same estimate alike."""
    if not all(map(math.isfinite, (mean, lo, hi))):
        return fmt_money(mean), fmt_money(lo), fmt_money(hi)
    top = max(abs(mean), abs(lo), abs(hi))
    unit, div = next(((u, d) for u, d in (("bn", 1e9), ("m", 1e6), ("k", 1e3)) if top >= d),
                     ("", 1.0))  # fmt: skip
    d = _width_decimals(mean / div, lo / div, hi / div)

    def one(x: float) -> str:
        return ("-" if x < 0 else "") + f"£{fmt_num(abs(x) / div, d)}{unit}"

    return one(mean), one(lo), one(hi)


def fmt_money_interval(mean: float, lo: float, hi: float) -> str:
    """Money with its interval in one unit (£bn, £m, £k or £), to the interval's precision."""
    m, lo_text, hi_text = money_parts(mean, lo, hi)
    return f"{m} (90% interval {lo_text} to {hi_text})"


def fmt_ratio(mean: float, lo: float, hi: float) -> str:
    if not math.isfinite(mean):
        return "n/a"
    d = _width_decimals(mean, lo, hi)
    return f"{fmt_num(mean, d)} (90% interval {fmt_num(lo, d)} to {fmt_num(hi, d)})"


def _alternative_bases(e) -> str:
    """' (adult victims and homicides, as priced; counting only ... )': the harm basis and its
    stated alternatives (model/ODD.md 7.11), where the economics row has them."""
    alt = {
        "recorded only": e.get("harm_averted_pv_recorded_only_mean", float("nan")),
        "every true incident, children's too": e.get("harm_averted_pv_all_true_mean", float("nan")),
    }
    if not all(isinstance(v, float | int) and math.isfinite(v) for v in alt.values()):
        return ""
    return (
        " (harm priced as the Home Office prices it: adult victims and homicides; "
        + "; ".join(f"{k}: {fmt_money(v)}" for k, v in alt.items())
        + ")"
    )


def _unspent(e) -> str:
    """', of which £X could not be spent' from an economics row, or ''."""
    short = e.get("shortfall_pv_mean", float("nan"))
    if not (isinstance(short, float | int) and math.isfinite(short)) or short < 1:
        return ""
    return f", of which {fmt_money(short)} could not be spent,"


def includes_zero(lo: float, hi: float) -> bool:
    return not (lo > 0 or hi < 0)


def is_weak(grade: str) -> bool:
    g = str(grade).strip().lower()
    return g in ("", "nan") or any(w in g for w in WEAK_WORDS)


# ---------------------------------------------------------------------------------------------
# the run folder


@dataclass
class CompareRun:
    folder: Path
    meta: dict
    summary: pd.DataFrame
    economics: pd.DataFrame
    by_year: pd.DataFrame
    by_place: pd.DataFrame
    spend: pd.DataFrame
    interventions: pd.DataFrame
    decomposition: pd.DataFrame = field(default_factory=pd.DataFrame)
    voi: pd.DataFrame = field(default_factory=pd.DataFrame)  # voi.csv: EVPPI by input, group
    voi_summary: dict = field(default_factory=dict)  # voi.json: EVPI, draws, stability

    @property
    def comparator(self) -> str:
        return self.meta.get("comparator", "status_quo")

    @property
    def scenarios(self) -> list[str]:
        """Scenarios other than the comparator, in the order of meta.json."""
        listed = [s["name"] for s in self.meta.get("scenarios", [])]
        found = list(dict.fromkeys(self.summary.scenario)) if len(self.summary) else []
        order = [s for s in listed if s in found] + [s for s in found if s not in listed]
        return [s for s in order if s != self.comparator]

    def label(self, scenario: str) -> str:
        for s in self.meta.get("scenarios", []):
            if s.get("name") == scenario:
                return s.get("label") or scenario
        return scenario.replace("_", " ")

    def measure_label(self, measure: str) -> str:
        hit = self.summary.loc[self.summary.measure == measure, "label"]
        return str(hit.iloc[0]) if len(hit) else measure.replace("_", " ")

    def colour(self, scenario: str) -> str:
        if scenario == self.comparator:
            return COMPARATOR_COLOUR
        return OKABE_ITO[self.scenarios.index(scenario) % len(OKABE_ITO)]

    def discount(self, year) -> np.ndarray:
        rate = float(self.meta.get("discount_rate", 0.0))
        start = int(self.meta.get("start_year", np.min(year) if len(year) else 0))
        return (1 + rate) ** -(np.asarray(year, dtype=float) - start)

    @property
    def horizon(self) -> str:
        years = int(self.meta.get("years", 0))
        start = self.meta.get("start_year")
        span = f" ({start} to {start + years - 1})" if start is not None and years else ""
        return f"{years} years{span}"


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()


def _read_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()


def _read_json(path: Path) -> dict:
    """A JSON object, or {} when the file is absent (a run folder from before it was written)."""
    return json.loads(path.read_text()) if path.exists() else {}


def load(folder: Path) -> CompareRun:
    folder = Path(folder)
    return CompareRun(
        folder=folder,
        meta=json.loads((folder / "meta.json").read_text()),
        summary=_read_csv(folder / "summary.csv"),
        economics=_read_csv(folder / "economics.csv"),
        by_year=_read_parquet(folder / "by_year.parquet"),
        by_place=_read_parquet(folder / "by_place.parquet"),
        spend=_read_csv(folder / "spend.csv"),
        interventions=_read_csv(folder / "interventions.csv"),
        decomposition=_read_csv(folder / "decomposition.csv"),
        voi=_read_csv(folder / "voi.csv"),
        voi_summary=_read_json(folder / "voi.json"),
    )


def acceptability_table(run: CompareRun) -> pd.DataFrame:
    """acceptability.csv (probability best per scenario and multiplier), or an empty table."""
    return _read_csv(run.folder / "acceptability.csv")


def prob_best(run: CompareRun, multiplier: float = 1.0) -> dict[str, float]:
    """Each option's probability of the highest net benefit with harm valued at `multiplier` x
    the Home Office unit costs, comparator included ({} without acceptability.csv)."""
    acc = acceptability_table(run)
    if acc.empty:
        return {}
    at = acc[np.isclose(acc.multiplier.astype(float), multiplier)]
    return dict(zip(at.scenario, at.prob_best.astype(float), strict=True))


def ranked(run: CompareRun) -> pd.DataFrame:
    """The scenarios with economics, highest expected net social benefit first: scenario, mean,
    p05, p95 (present values against the comparator) and prob_best at multiplier 1 (or NaN)."""
    econ = run.economics
    if econ.empty or "net_benefit_pv_mean" not in econ:
        return pd.DataFrame(columns=["scenario", "mean", "p05", "p95", "prob_best"])
    e = econ[econ.scenario.isin(run.scenarios)]
    nan = pd.Series(np.nan, index=e.index)
    best = prob_best(run)
    out = pd.DataFrame(
        {
            "scenario": e.scenario,
            "mean": e.net_benefit_pv_mean.astype(float),
            "p05": e.get("net_benefit_pv_p05", nan).astype(float),
            "p95": e.get("net_benefit_pv_p95", nan).astype(float),
            "prob_best": e.scenario.map(best).astype(float),
        }
    )
    return out.sort_values("mean", ascending=False, kind="stable", ignore_index=True)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    tail = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{tail}"


# ---------------------------------------------------------------------------------------------
# figures


def _stamp(fig: Figure, run: CompareRun) -> None:
    """Every figure carries the area, the version and the code revision that made it."""
    version = run.meta.get("versions", {}).get("svsim", "")
    text = f"{run.meta.get('area_label', run.meta.get('area', ''))} · svsim {version} · "
    text += f"revision {run.meta.get('code_revision', 'unknown')}"
    fig.get_layout_engine().set(rect=(0, 0.035, 1, 0.965))
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=9, color="#666666")


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=110, facecolor="white")


def fig_decision(run: CompareRun, path: Path) -> str | None:
    """The decision page's one chart: each scenario's expected net social benefit with its 90%
    interval, best at the top, the comparator's zero marked, each mean written above its dot.
    Compact and with large text, since it is shown small on a printed page."""
    r = ranked(run)
    if r.empty:
        return None
    n = len(r)
    labels = [_wrap(f"{ordinal(i)}  {run.label(s)}", 26) for i, s in enumerate(r.scenario, 1)]
    lines = max(label.count("\n") + 1 for label in labels)  # rows tall enough for the labels
    fig = Figure(figsize=(9, max(0.55, 0.3 * lines) * n + 1.55), layout="constrained")
    ax = fig.subplots()
    ys = np.arange(n)[::-1]
    for y, row in zip(ys, r.itertuples(), strict=True):
        mean, lo, hi = row.mean / 1e6, row.p05 / 1e6, row.p95 / 1e6
        err = [[max(mean - lo, 0)], [max(hi - mean, 0)]] if math.isfinite(lo + hi) else None
        c = run.colour(row.scenario)
        ax.errorbar(mean, y, xerr=err, fmt="o", color=c, ms=13, capsize=8, lw=3.5)
        ax.annotate(money_parts(row.mean, row.p05, row.p95)[0], (mean, y), xytext=(0, 10),
                    textcoords="offset points", ha="center", va="bottom", fontsize=15,
                    fontweight="bold", bbox=WHITE_BOX)  # fmt: skip
    ax.axvline(0, color="black", lw=1.5)
    # which way is better, in the corners (x in axes fractions, y in rows), wherever zero is
    for x, ha, words in ((0.01, "left", "\u2190 costs more than it avoids"),
                         (0.99, "right", "worth more than it costs \u2192")):  # fmt: skip
        ax.text(x, n - 0.25, words, transform=ax.get_yaxis_transform(), ha=ha, va="center",
                fontsize=13, color="#333333", bbox=WHITE_BOX)  # fmt: skip
    ax.set_yticks(ys, labels)
    ax.tick_params(labelsize=14)
    ax.set_ylim(-0.6, n + 0.05)
    ax.margins(x=0.1)
    ax.set_xlabel(
        f"Net social benefit, £ million (comparator = 0; {run.meta.get('price_year', '')} prices)",
        fontsize=14,
    )
    ax.grid(axis="x", alpha=0.3)
    _stamp(fig, run)
    _save(fig, path)
    return "Net social benefit, best first: dots are means over runs, bars 90% intervals."


def fig_time_series(run: CompareRun, path: Path) -> str | None:
    measures = [m for m in (KNIFE, VWI, HOMICIDE) if m in set(run.by_year.get("measure", []))]
    if not measures:
        return None
    names = [run.comparator, *run.scenarios]
    # two columns so that the figure stays about as wide as a page and its text readable
    ncol = 1 if len(measures) == 1 else 2
    nrow = math.ceil((len(measures) + 1) / ncol)  # a slot for the legend
    fig = Figure(figsize=(12, 4.6 * nrow), layout="constrained")
    grid = fig.subplots(nrow, ncol, squeeze=False).ravel()
    axes, spare = grid[: len(measures)], grid[len(measures) :]
    for ax, m in zip(axes, measures, strict=True):
        data = run.by_year[run.by_year.measure == m]
        for s in names:
            d = data[data.scenario == s]
            if d.empty:
                continue
            g = d.groupby("year").value
            mean, lo, hi = g.mean(), g.quantile(0.05), g.quantile(0.95)
            c = run.colour(s)
            style = "--" if s == run.comparator else "-"
            ax.plot(mean.index, mean.values, style, color=c, lw=2.5, marker="o", label=run.label(s))
            ax.fill_between(mean.index, lo.values, hi.values, color=c, alpha=0.18, lw=0)
        ax.set_title(_first_upper(HEADLINE.get(m, run.measure_label(m))), wrap=True)
        ax.set_xlabel("Year")
        ax.set_ylabel("Number per year (whole area)")
        years = sorted(data.year.unique())
        ax.set_xticks(years)
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    if len(spare) and ncol > 1:
        for ax in spare:
            ax.set_axis_off()
        spare[0].legend(handles, labels, loc="center", frameon=False, title="Scenario")
    else:
        axes[0].legend(loc="lower left", frameon=True)
    _stamp(fig, run)
    _save(fig, path)
    return (
        "Yearly numbers by scenario: lines are the mean over runs, shaded bands the 90% range "
        f"across the {run.meta.get('replicates', '')} runs (the comparator, "
        f"{run.label(run.comparator)}, dashed). Bands overlap because each run has its own "
        "chance events; the paired differences in the next figure remove most of that noise."
    )


def fig_averted(run: CompareRun, path: Path) -> str | None:
    if run.summary.empty:
        return None
    measures = list(dict.fromkeys(run.summary.measure))
    ncol = 2 if len(measures) > 1 else 1
    nrow = math.ceil(len(measures) / ncol)
    per_row = 0.55 * len(run.scenarios) + 2.0
    fig = Figure(figsize=(12, per_row * nrow + 0.4), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    years = run.meta.get("years", "")
    for ax, m in zip(axes, measures, strict=False):
        d = run.summary[run.summary.measure == m].set_index("scenario")
        scale, unit = (1e6, "£ million") if m == COST else (1.0, "Number")
        ys = np.arange(len(run.scenarios))[::-1]
        for y, s in zip(ys, run.scenarios, strict=True):
            if s not in d.index:
                continue
            row = d.loc[s]
            mean, lo, hi = (row[k] / scale for k in ("averted_mean", "averted_p05", "averted_p95"))
            ax.errorbar(
                mean,
                y,
                xerr=[[max(mean - lo, 0)], [max(hi - mean, 0)]],
                fmt="o",
                color=run.colour(s),
                ms=9,
                capsize=6,
                lw=2.5,
            )
        ax.axvline(0, color="black", lw=1.2)
        first_col = axes.tolist().index(ax) % ncol == 0
        ax.set_yticks(ys, [_wrap(run.label(s), 26) if first_col else "" for s in run.scenarios])
        ax.set_ylim(-0.7, len(run.scenarios) - 0.3)
        ax.set_title(_first_upper(run.measure_label(m)), loc="left", wrap=True)
        ax.set_xlabel(f"{unit} averted over {years} years")
        ax.grid(axis="x", alpha=0.3)
        lo_x, hi_x = ax.get_xlim()
        if hi_x - lo_x < 1e-9:
            ax.set_xlim(-1, 1)
    for ax in axes[len(measures) :]:
        ax.set_visible(False)
    fig.suptitle(
        _wrap(
            f"Harms averted compared with {run.label(run.comparator)}: right of the zero line "
            "= fewer",
            90,
        ),
        x=0.01,
        ha="left",
        fontsize=16,
    )
    _stamp(fig, run)
    _save(fig, path)
    return (
        f"Harms averted by each scenario compared with {run.label(run.comparator)}, summed over "
        f"{run.horizon}: the dot is the mean paired difference over runs that share their random "
        "numbers, the bar its 90% interval. Right of the zero line means fewer harms; a bar that "
        "crosses zero means the model cannot tell the scenario apart from the comparator."
    )


def replicate_economics(run: CompareRun) -> pd.DataFrame:
    """Extra money committed and social cost of harm avoided (present values) per scenario and
    replicate, as compare's appraisal wrote them (economics_by_replicate.csv)."""
    path = run.folder / "economics_by_replicate.csv"
    if path.exists():
        return pd.read_csv(path)
    return pd.DataFrame(columns=["scenario", "replicate", "spend_pv", "harm_averted_pv"])


def fig_ce_plane(run: CompareRun, path: Path) -> str | None:
    reps = replicate_economics(run)
    if reps.empty:
        return None
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    ax = fig.subplots()
    econ = run.economics.set_index("scenario") if len(run.economics) else pd.DataFrame()
    for s in run.scenarios:
        d = reps[reps.scenario == s]
        if d.empty:
            continue
        c = run.colour(s)
        ax.scatter(d.spend_pv / 1e6, d.harm_averted_pv / 1e6, color=c, alpha=0.5, s=45, lw=0)
        if s in econ.index:
            mx, my = econ.loc[s, "spend_pv_mean"], econ.loc[s, "harm_averted_pv_mean"]
        else:
            mx, my = d.spend_pv.mean(), d.harm_averted_pv.mean()
        ax.scatter(
            mx / 1e6,
            my / 1e6,
            color=c,
            s=260,
            marker="D",
            edgecolor="black",
            lw=1.5,
            label=f"{run.label(s)} (mean)",
            zorder=3,
        )
    top = max(float(reps.spend_pv.max()), float(reps.harm_averted_pv.max()), 1.0) / 1e6 * 1.15
    bottom = min(0.0, float(reps.harm_averted_pv.min()) / 1e6 * 1.15)
    ax.plot([0, top], [0, top], color="black", lw=1.5, ls="--")
    ax.annotate(
        "benefit = cost",
        (top * 0.72, top * 0.72),
        rotation=0,
        fontsize=13,
        xytext=(8, -22),
        textcoords="offset points",
    )
    ax.axhline(0, color="#999999", lw=1)
    ax.set_xlim(0, top)
    ax.set_ylim(bottom, top)
    price = run.meta.get("price_year", "")
    ax.set_xlabel(f"Extra money committed, present value (£ million, {price} prices)")
    ax.set_ylabel(f"Social cost of harm avoided, present value (£ million, {price} prices)")
    ax.set_title("Cost-effectiveness plane: one small dot per run", loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=True)
    _stamp(fig, run)
    _save(fig, path)
    return (
        "Extra money committed against the social cost of harm avoided, both discounted at "
        f"{100 * float(run.meta.get('discount_rate', 0)):.1f}% a year: small dots are single runs, "
        "diamonds the means. Above the dashed line the harm avoided is worth more than it cost. "
        "The social cost of harm avoided is not cash: no budget gets this money back."
    )


def fig_acceptability(run: CompareRun, path: Path) -> str | None:
    """The probability each scenario is best (highest net benefit) against the multiplier on
    the Home Office unit costs."""
    acc = acceptability_table(run)
    if acc.empty:
        return None
    fig = Figure(figsize=(10, 6.5), layout="constrained")
    ax = fig.subplots()
    for s in dict.fromkeys(acc.scenario):
        d = acc[acc.scenario == s]
        ax.plot(d.multiplier, d.prob_best, color=run.colour(s), lw=3, label=run.label(s))
    ax.axvline(1, color="#999999", lw=1.5, ls="--")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0, float(acc.multiplier.max()))
    ax.set_xlabel("Value placed on harm, as a multiple of the Home Office unit costs")
    ax.set_ylabel("Probability of the highest net benefit")
    ax.set_title("Which plan is best, as the value placed on harm changes", loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", frameon=True)
    _stamp(fig, run)
    _save(fig, path)
    n = int(run.meta.get("replicates", 0)) or "the"
    return (
        "The acceptability curve: for each multiple of the Home Office unit costs, the share of "
        f"{n} runs (each a joint draw of every uncertain input) in which each plan's net benefit "
        "(harm avoided x the multiple, less the extra money) is the highest, the comparator's "
        "being zero. At 0 the cheapest plan wins; the dashed line is the costs as published. "
        "With few runs a share moves in steps of one run."
    )


def fig_by_place(run: CompareRun, path: Path) -> str | None:
    bp = run.by_place
    if bp.empty or VWI not in set(bp.measure):
        return None
    d = bp[bp.measure == VWI]
    pv = d.pivot_table(
        index=["replicate", "csp", "community"], columns="scenario", values="value", aggfunc="sum"
    )
    if run.comparator not in pv:
        return None
    shown = [s for s in run.scenarios if s in pv]
    if len(shown) > 3:  # the main scenarios: those averting most violence with injury
        avert = {s: (pv[run.comparator] - pv[s]).mean() for s in shown}
        shown = sorted(shown, key=lambda s: -avert[s])[:3]
    if not shown:
        return None
    fig = Figure(figsize=(11, 6.5 * len(shown)), layout="constrained")
    axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, s in zip(axes, shown, strict=True):
        diff = (pv[run.comparator] - pv[s]).groupby(level=["csp", "community"])
        stats = pd.DataFrame(
            {"mean": diff.mean(), "lo": diff.quantile(0.05), "hi": diff.quantile(0.95)}
        )
        stats = stats.sort_values("mean", ascending=False).head(15).iloc[::-1]
        ys = np.arange(len(stats))
        ax.barh(ys, stats["mean"], color=run.colour(s), alpha=0.85)
        ax.errorbar(
            stats["mean"],
            ys,
            xerr=[(stats["mean"] - stats.lo).clip(0), (stats.hi - stats["mean"]).clip(0)],
            fmt="none",
            color="black",
            capsize=3,
            lw=1.2,
        )
        ax.set_yticks(ys, [f"{c} ({p})" for p, c in stats.index])
        ax.axvline(0, color="black", lw=1)
        ax.set_xlabel(f"Incidents with injury averted, {run.meta.get('years', '')} years")
        ax.set_title(run.label(s), loc="left")
        ax.grid(axis="x", alpha=0.3)
    _stamp(fig, run)
    _save(fig, path)
    return (
        "Where the effect falls: violent incidents with injury averted by community (the place "
        f"where the incident happens), compared with {run.label(run.comparator)} over "
        f"{run.horizon}; bars are the mean paired difference, lines the 90% interval; up to "
        "15 places with the largest effect."
    )


GRADE_ORDER = (
    (("high", "strong"), "#009E73"),
    (("moderate", "medium"), "#56B4E9"),
    (("very low",), "#D55E00"),
    (("low", "weak"), "#E69F00"),
    (("none", "no evidence", "assumed", "unknown", "untested"), "#CC79A7"),
)
TIER_COLOURS = {"primary": "#009E73", "secondary": "#0072B2", "tertiary": "#D55E00"}


def _grade_rank(grade: str) -> tuple[int, str]:
    g = str(grade).lower()
    for rank, (words, _) in enumerate(GRADE_ORDER):
        if any(w in g for w in words):
            return rank, g
    return len(GRADE_ORDER), g


def _grade_colour(grade: str, i: int) -> str:
    rank, _ = _grade_rank(grade)
    return GRADE_ORDER[rank][1] if rank < len(GRADE_ORDER) else OKABE_ITO[i % len(OKABE_ITO)]


def fig_spend(run: CompareRun, path: Path) -> str | None:
    sp = run.spend
    if sp.empty:
        return None
    names = [s for s in [run.comparator, *run.scenarios] if s in set(sp.scenario)]
    reps = sp.groupby("scenario").replicate.nunique()
    fig = Figure(figsize=(12, 6.2), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = ((axes[0], "tier", "By prevention tier"), (axes[1], "evidence", "By evidence grade"))
    for ax, key, title in panels:
        table = sp.groupby(["scenario", key]).spent.sum().unstack(fill_value=0.0)
        table = table.reindex(names).fillna(0.0).div(reps.reindex(names), axis=0) / 1e6
        if key == "evidence":
            columns = sorted(table.columns, key=_grade_rank)
        else:
            order = list(TIER_COLOURS)
            columns = sorted(table.columns, key=lambda t: (str(t) not in order, str(t)))
            columns = sorted(columns, key=lambda t: order.index(t) if t in order else 99)
        bottom = np.zeros(len(names))
        ticks = [_wrap(run.label(s), 18) for s in names]
        for i, col in enumerate(columns):
            if key == "evidence":
                colour = _grade_colour(col, i)
                hatch = "//" if is_weak(col) else None
            else:
                colour = TIER_COLOURS.get(str(col).lower(), OKABE_ITO[i % len(OKABE_ITO)])
                hatch = None
            ax.bar(
                ticks,
                table[col].values,
                bottom=bottom,
                color=colour,
                label=str(col),
                hatch=hatch,
                edgecolor="white",
                width=0.6,
            )
            bottom += table[col].values
        ax.set_ylabel(
            f"Money spent over {run.meta.get('years', '')} years (£ million, each year's prices)"
        )
        ax.set_xlabel("Scenario")
        ax.set_title(title, loc="left")
        legend_title = "hatched: weak or\nno evidence" if key == "evidence" else "Tier"
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles[::-1],
            labels[::-1],
            title=legend_title,
            frameon=False,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
        )
        ax.grid(axis="y", alpha=0.3)
    _stamp(fig, run)
    _save(fig, path)
    return (
        "What the money buys: cash spent over the horizon (mean over runs, not discounted), split "
        "by prevention tier (left) and by the strength of the evidence behind each intervention "
        "(right; weak or no evidence hatched)."
    )


def _wrap(text: str, width: int) -> str:
    return textwrap.fill(text, width)


FIGURES = (
    ("decision.png", fig_decision),
    ("time_series.png", fig_time_series),
    ("averted.png", fig_averted),
    ("cost_effectiveness_plane.png", fig_ce_plane),
    ("acceptability.png", fig_acceptability),
    ("by_place.png", fig_by_place),
    ("spend.png", fig_spend),
)


def make_figures(folder: Path) -> list[tuple[str, str]]:
    """Write the figures into folder/figures; return (file name, caption) pairs."""
    run = load(Path(folder))
    out = Path(folder) / "figures"
    out.mkdir(parents=True, exist_ok=True)
    made = []
    with rc_context(RC):
        for name, draw in FIGURES:
            caption = draw(run, out / name)
            if caption:
                made.append((name, caption))
    return made


# ---------------------------------------------------------------------------------------------
# the report

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 font-size:17px;line-height:1.5;color:#1a1a1a;max-width:70rem;margin:0 auto;padding:1.5rem 2rem}
h1{font-size:2rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:2px solid #0072B2;
 padding-bottom:.2rem}h3{margin-top:1.4rem}
.lede{font-size:1.1rem;color:#333}.note{color:#555;font-size:.95rem}
.summary{background:#f3f7fb;border-left:6px solid #0072B2;padding:.6rem 1.2rem}
.warn{background:#fff6e5;border-left:6px solid #E69F00;padding:.6rem 1.2rem}
table{border-collapse:collapse;margin:.8rem 0;font-size:.95rem;width:100%}
th,td{border:1px solid #ccc;padding:.35rem .55rem;text-align:left;vertical-align:top}
th{background:#e8eef4}tr:nth-child(even) td{background:#fafafa}
td.num{text-align:right;white-space:nowrap}
figure{margin:1.5rem 0}figure img{max-width:100%;height:auto;border:1px solid #ddd}
figcaption{font-size:.95rem;color:#333;margin-top:.4rem}
.decision figure{margin:.8rem 0}.decision figure img{max-width:52rem;width:100%}
.decision ul.ranking li{margin-bottom:.35rem}a.more{font-size:.8em;font-weight:normal}
@media print{body{max-width:none;font-size:10pt;padding:0}h1{font-size:1.5rem;margin-top:0}
 .lede{font-size:1em}h2{page-break-before:auto}figure{page-break-inside:avoid}
 .decision{page-break-after:always;font-size:.95em}.decision h2,.decision h3{margin:.5rem 0 .2rem}
 .decision figure img{max-width:75%}
 .decision ul{margin:.2rem 0}.decision p{margin:.3rem 0}.decision figcaption{font-size:.85em}
 .decision figure{margin:.3rem 0}.decision ul.ranking li{margin-bottom:.1rem}
 .decision ul.cannot{padding:0}.decision ul.cannot li{display:inline}
 .decision ul.cannot li+li:before{content:" "}}
"""


def _e(x) -> str:
    return escape(str(x))


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ul(items: list[str], cls: str = "") -> str:
    """A bulleted list of plain texts (escaped), with an optional CSS class."""
    attr = f' class="{cls}"' if cls else ""
    return f"<ul{attr}>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _row(run: CompareRun, scenario: str, measure: str) -> pd.Series | None:
    s = run.summary
    hit = s[(s.scenario == scenario) & (s.measure == measure)] if len(s) else s
    return hit.iloc[0] if len(hit) else None


def _effect_sentence(run: CompareRun, measure: str) -> str | None:
    words = HEADLINE.get(measure, run.measure_label(measure))
    rows = [(s, _row(run, s, measure)) for s in run.scenarios]
    rows = [(s, r) for s, r in rows if r is not None]
    if not rows:
        return None
    if all(r.scenario_mean == 0 and r.comparator_mean == 0 for _, r in rows):
        return (
            f"No {words} occurred in any run of any scenario, so the model cannot compare the "
            "scenarios on this outcome."
        )
    best, r = max(rows, key=lambda sr: sr[1].averted_mean)
    comp = run.label(run.comparator)
    if r.averted_mean <= 0:
        return f"No scenario reduced {words} on average compared with {comp}."
    text = (
        f"{run.label(best)} averts the most {words}: "
        f"{fmt_interval(r.averted_mean, r.averted_p05, r.averted_p95)} fewer over {run.horizon} "
        f"than {comp}, out of {fmt_num(r.comparator_mean)} under {comp}; it had fewer in "
        f"{fmt_pct(r.prob_better)} of paired runs."
    )
    if includes_zero(r.averted_p05, r.averted_p95):
        text += " The interval includes zero, so this difference may be chance."
    elif abs(r.averted_mean) < r.mde:
        text += " The effect is smaller than the smallest the design can reliably detect."
    return text


def _econ_sentences(run: CompareRun) -> list[str]:
    out = []
    econ = run.economics
    for s in run.scenarios:
        hit = econ[econ.scenario == s] if len(econ) else econ
        if not len(hit):
            continue
        e = hit.iloc[0]
        out.append(
            f"{run.label(s)}: commits {fmt_money(abs(e.spend_pv_mean))} "
            + ("less" if e.spend_pv_mean < 0 else "more")
            + " than the comparator (present value)"
            + _unspent(e)
            + " and avoids harm with a social cost of "
            + fmt_interval(
                e.harm_averted_pv_mean, e.harm_averted_pv_p05, e.harm_averted_pv_p95, money=True
            )
            + _alternative_bases(e)
            + ". "
            + (
                f"Benefit-cost ratio (mean harm avoided over mean extra money committed) "
                f"{fmt_ratio(e.bcr_mean, e.bcr_p05, e.bcr_p95)}: each extra £1 committed avoids "
                f"about £{fmt_ratio(e.bcr_mean, e.bcr_p05, e.bcr_p95).split(' ')[0]} of "
                "harm; the share of runs in which harm avoided is worth more than the money "
                f"committed is {fmt_pct(e.prob_bcr_gt_1)}."
                if np.isfinite(e.bcr_mean)
                else "No benefit-cost ratio: it commits no more than the comparator."
            )
        )
    return out


def evidence_shares(run: CompareRun) -> pd.DataFrame:
    """Share of each scenario's cash spend by evidence grade (rows: scenario; columns: grade)."""
    sp = run.spend
    if sp.empty:
        return pd.DataFrame()
    table = sp.groupby(["scenario", "evidence"]).spent.sum().unstack(fill_value=0.0)
    total = table.sum(axis=1).replace(0, np.nan)
    return table.div(total, axis=0)


def weak_share(run: CompareRun) -> dict[str, float]:
    shares = evidence_shares(run)
    if shares.empty:
        return {}
    weak = [c for c in shares.columns if is_weak(c)]
    out = shares[weak].sum(axis=1) if weak else pd.Series(0.0, index=shares.index)
    order = [x for x in [run.comparator, *run.scenarios] if x in out.index]
    return out.reindex(order).to_dict()


def _not_calibrated(meta: dict) -> bool:
    if meta.get("calibrated") is False:
        return True
    return any(
        "not yet calibrated" in str(x).lower() for x in meta.get("uncertainty_not_included", [])
    )


def _limitations(run: CompareRun) -> list[tuple[str, str]]:
    """What the numbers cannot tell, as (headline, detail): the decision page shows the
    headlines, the section 'What this cannot tell you' both."""
    meta = run.meta
    years = meta.get("years", "")
    area = meta.get("area_label", "the area")
    out = []
    if _not_calibrated(meta):
        out.append((
            "The model is not calibrated yet: treat the numbers as illustrative.",
            "Its parameters have not been fitted to local figures. Differences between scenarios "
            "are more trustworthy than the levels, but neither is a forecast.",
        ))  # fmt: skip
    n_int = len(run.interventions)
    weak = int(run.interventions.evidence.map(is_weak).sum()) if n_int else 0
    out.append((
        f"Effect sizes come mostly from studies outside the UK or from weak evidence; {weak} of "
        f"the {n_int} interventions used here rest on weak or no evidence.",
        "The studies are chiefly from the United States, or rated low or very low confidence "
        f"(Youth Endowment Fund Toolkit). The real effect in {area} may be smaller, or none.",
    ))  # fmt: skip
    out.append((
        f"Primary prevention mostly pays back after this {years}-year horizon, so the comparison "
        "undervalues it.",
        "Early years, parenting and school programmes pay back over decades; against work with "
        "people already involved in violence they look worse here than they are.",
    ))  # fmt: skip
    out.append((
        "The social cost of harm avoided is not cash.",
        "It values harm to victims, lost output and the cost to health and justice services "
        "(Home Office unit costs); no budget receives it back as money, and services may not "
        "be able to release savings.",
    ))  # fmt: skip
    out.append((
        "The model's structure is one choice among many, and that uncertainty is not in the "
        "intervals.",
        "It is a simplification of how violence spreads and how services reach people.",
    ))  # fmt: skip
    scale = meta.get("population_scale")
    if scale is not None and float(scale) < 1:
        out.append((
            f"Runs kept {fmt_pct(float(scale))} of households, so rare outcomes (homicides, "
            "admissions) are noisier than in a full run.",
            "The counts were weighted up to the whole area.",
        ))  # fmt: skip
    out.append((
        "An interval that includes zero means the model cannot tell, not that the scenario does "
        "nothing.",
        "Rare outcomes such as homicide are too few in one area for the model to show a "
        "difference with confidence.",
    ))  # fmt: skip
    return out


def _effect_range(r: pd.Series) -> str:
    def pct(x) -> str:
        return fmt_pct(float(x)) if pd.notna(x) else "n/a"

    return f"{pct(r.get('reduction'))} ({pct(r.get('low'))} to {pct(r.get('high'))})"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:image/png;base64,{data}"


def _rate(meta: dict) -> float:
    """The discount rate in percent a year."""
    return 100 * float(meta.get("discount_rate", 0))


def _intro(run: CompareRun, title: str) -> list[str]:
    comp = run.label(run.comparator)
    return [
        f"<h1>{_e(title)}</h1>",
        f'<p class="lede">{_e(len(run.scenarios))} funding scenario(s) compared with {_e(comp)} '
        f"over {_e(run.horizon)}, simulated with svsim. Every run of a scenario is paired with a "
        "run of the comparator that shares its random events, so differences show the "
        "interventions rather than chance.</p>",
    ]


def _executive_summary(run: CompareRun) -> list[str]:
    """The effects in sentences, value for money, and what the money value is not."""
    out = ["<h2>Executive summary</h2>", '<div class="summary">']
    sentences = [x for m in (KNIFE, VWI, HOMICIDE) if (x := _effect_sentence(run, m))]
    out.append(_ul(sentences))
    econ = _econ_sentences(run)
    if econ:
        out.append(f"<p><strong>{_e('Value for money')}</strong></p>")
        out.append(_ul(econ))
    out.append(
        "<p><strong>The social cost of harm avoided is not cash.</strong> "
        + _e(
            "It puts a money value on harm to victims and on the work of health and justice "
            "services (Home Office unit costs). It is a way to weigh harms against spending; no "
            "budget receives it back as money."
        )
        + "</p>"
    )
    ws = weak_share(run)
    if ws:
        out.append(
            "<p>"
            + _e(
                "Share of each scenario's spend resting on weak or no evidence: "
                + "; ".join(f"{run.label(s)} {fmt_pct(v)}" for s, v in ws.items())
                + "."
            )
            + "</p>"
        )
    if _not_calibrated(run.meta):
        out.append(
            "<p><strong>"
            + _e("The model is not calibrated yet: read the numbers as illustrative.")
            + "</strong></p>"
        )
    out.append("</div>")
    return out


# ---------------------------------------------------------------------------------------------
# the decision: one page for a board, first

STABLE_TOP_THREE = 0.8  # below this share of resamples agreeing, the inputs' ranking is not stable
# an EVPI below this share of the widest 90% interval of net benefit is small: more evidence is
# unlikely to change which scenario is best
SMALL_EVPI = 0.02
# the last part of an input's name (voi.csv) in words; a transfer rule's label may add
# "(from -> to)" after it
INPUT_WORDS = {
    "estimate": "effect estimate",
    "outcome": "outcome transfer",
    "population": "population transfer",
    "design": "design transfer",
    "setting": "setting transfer",
    "concentration": "concentration on places",
    "spillover": "spill-over",
    "uptake": "uptake",
    "completion": "completion",
    "unit_cost": "unit cost",
}


def _group_words(name: str) -> str:
    """What a group of voi.csv holds, said after its name."""
    if name == voi.CALIBRATION_GROUP:
        return " (every parameter fitted to local figures)"
    if name.endswith(voi.EFFECT_GROUP):
        return " (its published estimate and every transfer rule)"
    return " (its effect, uptake, completion and unit cost)"


def _zero_words(lo: float, hi: float) -> str:
    """What a net benefit's 90% interval says about doing more good than it costs."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "its interval is not known"
    if lo > 0:
        return "its interval is above zero (very likely worth more than it costs)"
    if hi < 0:
        return "its interval is below zero (very likely costs more than it avoids)"
    return "its interval includes zero (the model cannot tell whether it is worth its cost)"


def _decision_sentence(run: CompareRun, rank: int, row, n: int) -> str:
    """One sentence on a ranked scenario: net benefit and interval, the chance it is best,
    whether the interval includes zero, its largest part and its spend on weak evidence."""
    text = (
        f"{run.label(row.scenario)} ranks {ordinal(rank)} of {n}: net social benefit "
        f"{fmt_money_interval(row.mean, row.p05, row.p95)}"
    )
    if math.isfinite(row.prob_best):
        text += f", the highest of all options in {fmt_pct(row.prob_best)} of runs"
    text += f"; {_zero_words(row.p05, row.p95)}"
    largest = _largest_part(run, row.scenario)
    if largest is not None:
        name, why = largest
        text += f"; its largest part is {_intervention_labels(run).get(name, name)} ({why})"
    weak = weak_share(run).get(row.scenario)
    if weak is not None and math.isfinite(weak):
        text += f"; {fmt_pct(weak)} of its spend rests on weak or no evidence"
    return text + "."


def _grade_mix(run: CompareRun, scenario: str) -> str | None:
    """'Focused deterrence: moderate 90%, none 10%', strongest grade first (spend shares)."""
    shares = evidence_shares(run)
    if scenario not in shares.index:
        return None
    row = shares.loc[scenario]
    grades = [g for g in sorted(shares.columns, key=_grade_rank) if row[g] > 0]
    return f"{run.label(scenario)}: " + ", ".join(f"{g} {fmt_pct(row[g])}" for g in grades)


def voi_label(run: CompareRun, name: str, kind: str) -> str:
    """An input or group of voi.csv in words: 'the effect estimate of Mentoring', 'Mentoring as
    a whole' (its effect chain, uptake, completion and cost), 'the calibrated parameter ...'."""
    labels = _intervention_labels(run)
    if kind == "group":
        if name == voi.CALIBRATION_GROUP:
            return "the calibrated parameters as a whole"
        if name.endswith(voi.EFFECT_GROUP):
            head = name.removesuffix(voi.EFFECT_GROUP)
            return f"the effect of {labels.get(head, head.replace('_', ' '))}"
        return f"{labels.get(name, name.replace('_', ' '))} as a whole"
    head, _, rest = str(name).partition(".")
    if head == "params":
        return "the calibrated parameter " + rest.replace(".", " ").replace("_", " ")
    if head == "csp_hazard_multiplier":
        return f"the calibrated hazard multiplier of {rest}"
    rule, _, detail = rest.partition(" ")
    words = INPUT_WORDS.get(rule, rule.replace("_", " "))
    detail = detail.replace("->", "to")
    return f"the {words} of {labels.get(head, head.replace('_', ' '))}" + (
        f" {detail}" if detail else ""
    )


def _voi_money(r) -> str:
    """An EVPPI row's value, with its 90% bootstrap interval when it has one."""
    lo, hi = float(r.low), float(r.high)
    if math.isfinite(lo) and math.isfinite(hi):
        return fmt_money_interval(float(r.evppi), lo, hi)
    return fmt_money(float(r.evppi))


def _voi_top(run: CompareRun, kind: str, k: int) -> pd.DataFrame:
    """The k groups or inputs of voi.csv worth most to learn (a positive value only)."""
    t = run.voi
    if t.empty or not {"kind", "evppi"} <= set(t.columns):
        return t.iloc[:0]
    return t[(t.kind == kind) & (t.evppi > 0)].nlargest(k, "evppi")


def _worth(run: CompareRun, kind: str, k: int) -> str | None:
    """'Evaluating X would be worth up to £Y to this decision; next, A (£B) and C (£D).'"""
    top = _voi_top(run, kind, k)
    if top.empty:
        return None
    first, rest = top.iloc[0], top.iloc[1:]
    what = _group_words(first.input) if kind == "group" else ""
    text = (
        f"Evaluating {voi_label(run, first.input, kind)}{what} would be worth up to "
        f"{_voi_money(first)} to this decision"
    )
    if len(rest):
        text += "; next, " + " and ".join(
            f"{voi_label(run, r.input, kind)} (up to {fmt_money(r.evppi)})"
            for r in rest.itertuples()
        )
    return _first_upper(text) + "."


def _evpi_sentence(run: CompareRun) -> str | None:
    """The EVPI, and whether it is small beside the spread of net benefit."""
    evpi = float(run.voi_summary.get("evpi", float("nan")))
    if not math.isfinite(evpi):
        return None
    text = f"Perfect information on everything: {fmt_money(evpi)} (EVPI)"
    r = ranked(run)
    widest = float((r.p95 - r.p05).max()) if len(r) else float("nan")
    if not (math.isfinite(widest) and widest > 0):
        return text + "."
    beside = f"beside the widest 90% interval of net benefit ({fmt_money(widest)})"
    if evpi < SMALL_EVPI * widest:
        return f"{text}, small {beside}: more evidence is unlikely to change the decision."
    return f"{text}, not small {beside}: better evidence could change the decision."


def _stability_sentence(run: CompareRun, always: bool = False) -> str | None:
    """'The ranking of inputs is not yet stable ...' below STABLE_TOP_THREE (otherwise None,
    or with `always` a line saying how stable it is)."""
    s = run.voi_summary
    stab = s.get("top_three_stability")
    stab = float(stab) if stab is not None else float("nan")
    draws = s.get("draws", "these")
    if not math.isfinite(stab):
        return "The stability of the ranking of inputs was not assessed." if always else None
    if stab >= STABLE_TOP_THREE:
        if not always:
            return None
        return (
            f"The ranking of inputs is stable with {draws} draws: {fmt_pct(stab)} of bootstrap "
            "resamples give the same top three."
        )
    need = s.get("draws_for_stable_top_three")
    more = (
        f"about {int(need):,} draws (svsim voi draws={int(need)}) would be needed"
        if need is not None and math.isfinite(float(need))
        else "more draws (svsim voi draws=N) would be needed"
    )
    return (
        f"The ranking of inputs is not yet stable with {draws} draws ({fmt_pct(stab)} of "
        f"bootstrap resamples give the same top three): {more}."
    )


def _not_estimated(run: CompareRun) -> str:
    """Why the value of information was not estimated (too few draws), and how to get it."""
    why = run.voi_summary.get("reason", "too few draws")
    return (
        f"Value of information was not estimated ({why}): with fewer draws a regression fits "
        "the simulation's noise and every input looks worth evaluating, so it cannot yet say "
        "which evidence would be worth gathering."
    )


def _voi_findings(run: CompareRun) -> list[str]:
    """The value of information for the decision page: the groups and the inputs worth most to
    evaluate, the EVPI, and whether the inputs' ranking is stable."""
    if run.voi.empty and not run.voi_summary:
        return [
            "Value of information was not computed for this run (no voi.csv or voi.json), so "
            "it cannot say which evidence would be worth gathering."
        ]
    if run.voi_summary.get("computed") is False:
        return [_not_estimated(run)]
    found = [_worth(run, "group", 2), _worth(run, "input", 3), _evpi_sentence(run)]
    found.append(_stability_sentence(run))
    found = [x for x in found if x]
    return found or ["Learning more about any input would not change the decision."]


def _rests_on(run: CompareRun, order: list[str]) -> list[str]:
    """What the ranking rests on: the evidence grades behind each scenario's money, and the
    value of information."""
    mixes = [x for s in order if (x := _grade_mix(run, s))]
    items = []
    if mixes:
        items.append("Evidence behind the money (share of spend by grade): " + "; ".join(mixes))
    return ["<h3>What the ranking rests on</h3>", _ul(items + _voi_findings(run))]


def _decision(run: CompareRun, figs: _Figures) -> list[str]:
    """The decision, one page: scenarios ranked by net social benefit with intervals, one chart,
    one sentence each, what the ranking rests on and what it cannot tell."""
    r = ranked(run)
    out = ['<section class="decision">', "<h2>The decision</h2>"]
    comp = run.label(run.comparator)
    if r.empty:
        out.append("<p>" + _e("No economics in this run folder, so no ranking.") + "</p>")
    else:
        out.append(
            '<p class="lede">'
            + _e(
                f"Scenarios ranked by expected net social benefit against {comp}: the social "
                "cost of harm avoided (Home Office unit costs, not cash) less the extra money "
                f"committed over {run.horizon}, present values in "
                f"{run.meta.get('price_year', '')} prices discounted at {_rate(run.meta):.1f}% "
                "a year."
            )
            + "</p>"
        )
        out += figs.embed("decision.png")
        sentences = [_decision_sentence(run, i, row, len(r)) for i, row in
                     enumerate(r.itertuples(), 1)]  # fmt: skip
        out.append(_ul(sentences, "ranking"))
        p_comp = prob_best(run).get(run.comparator)
        if p_comp is not None and math.isfinite(p_comp):
            line = f"{comp} (the zero line) has the highest net benefit in {fmt_pct(p_comp)}"
            line += " of runs."
            out.append(f"<p>{_e(line)}</p>")
    out += _rests_on(run, list(r.scenario))
    left_out = [str(x) for x in run.meta.get("uncertainty_not_included", [])]
    cannot = [h for h, _ in _limitations(run)]
    if left_out:
        cannot.append("The intervals leave out: " + "; ".join(left_out) + ".")
    out += [
        '<h3>What it cannot tell <a class="more" href="#cautions">(more)</a></h3>',
        _ul(cannot, "cannot"),
        "</section>",
    ]
    return out


def _value_of_information(run: CompareRun) -> list[str]:
    """The detail: the EVPI beside the naive estimate, the stability of the inputs' ranking,
    and a table of every group, then the 10 inputs worth most, with intervals."""
    out = ["<h2>Value of information</h2>"]
    t, s = run.voi, run.voi_summary
    if t.empty and not s:
        return [
            *out,
            '<p class="note">Not computed in this run folder (no voi.csv or voi.json): it '
            "predates the value of information; run <code>svsim compare</code> again, or "
            "<code>svsim voi</code> for more draws.</p>",
        ]
    if s.get("computed") is False:
        return [*out, f'<p class="note">{_e(_not_estimated(run))}</p>']
    items = []
    evpi = float(s.get("evpi", float("nan")))
    naive = float(s.get("naive_evpi_counting_noise", float("nan")))
    if math.isfinite(evpi):
        items.append(
            f"Expected value of perfect information on everything (EVPI): {fmt_money(evpi)}, "
            f"from {s.get('draws', 'the')} draws, with harm valued at "
            f"{float(s.get('multiplier', 1.0)):g} x the Home Office unit costs."
        )
    floor = float(s.get("noise_floor", float("nan")))
    if math.isfinite(floor):
        items.append(
            f"An input unrelated to anything scores about {fmt_money(floor)} with these draws "
            "(the noise floor): an input worth no more cannot be told from nothing."
        )
    if math.isfinite(naive):
        items.append(
            f"The naive estimate, {fmt_money(naive)}, counts the simulation's own noise (each "
            "run's chance events, which no study could remove) as information, and so overstates."
        )
    items.append(_stability_sentence(run, always=True))
    groups = _voi_top(run, "group", len(t))
    rows = [
        [_first_upper(voi_label(run, r.input, r.kind)),
         "group" + _group_words(r.input) if r.kind == "group" else "input",
         fmt_money(r.evppi), _interval_only(r.evppi, r.low, r.high)]
        for r in pd.concat([groups, _voi_top(run, "input", 10)]).itertuples()
    ]  # fmt: skip
    note = (
        "The value of learning each input, or each group of inputs, exactly before choosing "
        "(the expected value of partial perfect information, EVPPI): an upper bound on what a "
        "study of it is worth to this decision, for the whole area over "
        f"{run.horizon}, present values. Net benefit is regressed on the inputs drawn, so the "
        "simulation's noise is not counted. Intervals: 90% bootstrap over the draws."
    )
    out += [_ul([x for x in items if x])]
    if rows:
        out += [
            _table(["What would be learned", "Kind", "Worth up to", "90% interval"], rows, {2, 3}),
            f'<p class="note">{_e(note)}</p>',
        ]
    return out


def _interval_only(mean: float, lo: float, hi: float) -> str:
    """'£1.2m to £3.4m' in one unit, or 'not computed'."""
    if not math.isfinite(float(lo) + float(hi)):
        return "not computed"
    return " to ".join(money_parts(float(mean), float(lo), float(hi))[1:])


def _headline_row(run: CompareRun, s: str, budget) -> list[str]:
    row = [run.label(s), fmt_money(float(budget or float("nan")))]
    for m in (KNIFE, VWI, HOMICIDE):
        r = _row(run, s, m)
        row.append(
            fmt_interval(r.averted_mean, r.averted_p05, r.averted_p95) if r is not None else "n/a"
        )
    hit = run.economics[run.economics.scenario == s] if len(run.economics) else run.economics
    if not len(hit):
        return row + ["n/a"] * 4
    e = hit.iloc[0]
    return [
        *row,
        fmt_money(e.spend_pv_mean),
        fmt_interval(
            e.harm_averted_pv_mean, e.harm_averted_pv_p05, e.harm_averted_pv_p95, money=True
        ),
        fmt_ratio(e.bcr_mean, e.bcr_p05, e.bcr_p95),
        fmt_pct(e.prob_bcr_gt_1),
    ]


def _headline_table(run: CompareRun) -> list[str]:
    """One row per scenario: budget, the three headline harms averted, and the economics."""
    meta = run.meta
    header = ["Scenario", "Budget per year"]
    header += [f"{_first_upper(HEADLINE[m])} averted" for m in (KNIFE, VWI, HOMICIDE)]
    header += [
        "Extra money committed (PV)",
        "Social cost of harm avoided (PV)",
        "Benefit-cost ratio",
        "P(ratio > 1)",
    ]
    budgets = {s.get("name"): s.get("budget_per_year") for s in meta.get("scenarios", [])}
    rows = [_headline_row(run, s, budgets.get(s)) for s in run.scenarios]
    note = (
        f"Averted = fewer than {run.label(run.comparator)}, summed over {run.horizon}; 90% paired "
        f"intervals across runs. PV = present value in {meta.get('price_year', '')} prices, "
        f"discounted at {_rate(meta):.1f}% a year."
    )
    return ["<h2>Headline table</h2>", _table(header, rows), f'<p class="note">{_e(note)}</p>']


def _cost_per_outcome(run: CompareRun) -> list[str]:
    if not len(run.economics):
        return []
    rows = []
    for s in run.scenarios:
        hit = run.economics[run.economics.scenario == s]
        if not len(hit):
            continue
        e = hit.iloc[0]
        row = [run.label(s)]
        for col in COST_PER:
            v = e.get(col, float("nan"))
            row.append(fmt_money(float(v)) if pd.notna(v) else NOT_ESTIMABLE)
        row += [
            fmt_interval(
                e.net_benefit_pv_mean, e.net_benefit_pv_p05, e.net_benefit_pv_p95, money=True
            ),
            fmt_money(e.justice_cost_change_pv_mean),
        ]
        rows.append(row)
    header = ["Scenario"] + [f"Extra money committed per {w} averted" for w in COST_PER.values()]
    header += ["Net benefit (PV)", "Change in justice costs (PV)"]
    return ["<h3>Cost per outcome averted</h3>", _table(header, rows)]


BEARER_LABELS = {
    "police": "Police",
    "nhs": "NHS",
    "criminal_justice": "Criminal justice",
    "council": "Council",
    "victims_and_society": "Victims and society",
}

FUNDER_LABELS = {"home_office": "the Home Office (SVD grant)"}


def _payback(year) -> str:
    return "not within the horizon" if pd.isna(year) else str(int(year))


def _money_at(table: pd.DataFrame, row: str, col: str) -> str:
    return fmt_money(table.at[row, col]) if row in table.index else ""


def _who_pays(run: CompareRun) -> list[str]:
    """Harm averted by who would have borne it, the programme money by funder, the returns on
    investment and the payback years (agencies.csv; scenarios/bearers.py)."""
    path = run.folder / "agencies.csv"
    if not path.exists() or "fiscal_roi" not in run.economics:
        return []
    ag = pd.read_csv(path)
    econ = run.economics.set_index("scenario")
    funders = sorted(set(ag.bearer[ag.programme_cost_pv_mean > 0]) - set(BEARER_LABELS))
    paid = [f"Paid by {FUNDER_LABELS.get(f, f)}" for f in funders]
    header = ["Scenario", *BEARER_LABELS.values(), *paid, "Fiscal ROI", "Social ROI",
              "Fiscal payback", "Payback on all harm"]  # fmt: skip
    rows = []
    for sc in run.scenarios:
        g = ag[ag.scenario == sc].set_index("bearer")
        if g.empty or sc not in econ.index:
            continue
        e = econ.loc[sc]
        gains = [_money_at(g, b, "harm_averted_pv_mean") for b in BEARER_LABELS]
        costs = [_money_at(g, f, "programme_cost_pv_mean") for f in funders]
        rois = [fmt_pct(x) if pd.notna(x) else "" for x in (e.fiscal_roi, e.social_roi)]
        paybacks = [_payback(e.payback_year_fiscal), _payback(e.payback_year_social)]
        rows.append([run.label(sc), *gains, *costs, *rois, *paybacks])
    if not rows:
        return []
    price = run.meta.get("price_year", "")
    return [
        "<h2>Who pays, who gains</h2>",
        _table(header, rows, numeric=set(range(1, len(header) - 2))),
        '<p class="note">'
        + _e(
            f"Harm averted against {run.label(run.comparator)}, present values in {price} "
            "prices (mean over runs), split by who would have borne it: the Home Office cost "
            "components (anticipation, consequence, response; Heeks et al. 2018) and their "
            "bearers (conf/bearers.yaml). Only a homicide's police and criminal-justice parts "
            "are sourced (EVIDENCE.md 2.1); every other share is an assumption, labelled in "
            "that file, so read the agency columns as a placeholder split of a sourced total. "
            "Fiscal ROI = harm averted that is public money (police, NHS, criminal justice, "
            "council) / programme cost - 1; social ROI counts all harm averted. Payback: the "
            "first year in which cumulative discounted benefit reaches cumulative cost. Per "
            "bearer with intervals: agencies.csv."
        )
        + "</p>",
    ]


def _intervention_labels(run: CompareRun) -> dict[str, str]:
    known = run.interventions
    if not len(known) or "label" not in known:
        return {}
    return dict(zip(known.name, known.label, strict=True))


def _decomposition(run: CompareRun) -> list[str]:
    """Each intervention's harm averted alone (against nothing funded), its share of the sum of
    the parts, and the interaction, from decomposition.csv (svsim compare decompose=true)."""
    d = run.decomposition
    if d.empty:
        return [
            "<h2>Which interventions supply the harm averted</h2>",
            '<p class="note">Not computed in this run: run <code>svsim compare '
            "decompose=true</code> to run each intervention of a scenario alone as well.</p>",
        ]
    labels = _intervention_labels(run)
    names = {"sum of the parts": "Sum of the parts",
             "interaction": "Interaction (whole minus the sum of the parts)",
             "whole scenario": "Whole scenario"}  # fmt: skip
    order = [x for x in [run.comparator, *run.scenarios] if x in set(d.scenario)]
    rows, sentences = [], []
    for sc in order:
        part = d[d.scenario == sc]
        for _, r in part.iterrows():
            alone = r.kind == "alone"
            rows.append(
                [
                    run.label(sc),
                    labels.get(r.part, r.part) if alone else names.get(r.part, r.part),
                    fmt_money(r.allocated_pv_mean) if pd.notna(r.allocated_pv_mean) else "",
                    fmt_interval(r.harm_averted_pv_mean, r.harm_averted_pv_p05,
                                 r.harm_averted_pv_p95, money=True),
                    fmt_pct(r.share_of_parts) if pd.notna(r.share_of_parts) else "",
                    fmt_ratio(r.bcr_mean, r.bcr_p05, r.bcr_p95) if pd.notna(r.bcr_mean) else "",
                ]
            )  # fmt: skip
        sentences.append(_decomposition_sentence(run, sc, part, labels))
    header = ["Scenario", "Intervention", "Money committed (PV)", "Harm averted alone (PV)",
              "Share of the sum of the parts", "Benefit-cost ratio alone"]  # fmt: skip
    price = run.meta.get("price_year", "")
    note = (
        "Each intervention's allocations were also run alone, in the same runs (the same people, "
        "burn-in, draws of every uncertain input and random numbers), and its harm averted "
        "(social cost on the stated basis, present value in "
        f"{price} prices) is counted against nothing funded, not against "
        f"{run.label(run.comparator)}: an intervention alone is a change from no intervention. "
        "The share is its mean over the sum of the parts' means. The interaction is what the "
        "parts together do beyond (positive) or short of (negative, when they reach the same "
        "people or places) the sum of each alone. A scenario's harm averted against "
        f"{run.label(run.comparator)} is its whole-scenario row less "
        f"{run.label(run.comparator)}'s own. Scenarios funding one intervention are not listed: "
        "all of their harm averted is that intervention's."
    )
    return [
        "<h2>Which interventions supply the harm averted</h2>",
        _ul([x for x in sentences if x]),
        _table(header, rows),
        f'<p class="note">{_e(note)}</p>',
    ]


def _decomposition_sentence(run: CompareRun, sc: str, part: pd.DataFrame, labels) -> str:
    alone = part[part.kind == "alone"]
    if alone.empty or alone.share_of_parts.isna().all():
        return f"{run.label(sc)}: its interventions alone avert no harm on average, so no shares."
    top = alone.loc[alone.share_of_parts.idxmax()]
    whole = part[part.kind == "whole"]
    inter = part[part.kind == "interaction"]
    text = (
        f"{run.label(sc)}: {labels.get(top.part, top.part)} supplies "
        f"{fmt_pct(top.share_of_parts)} of the harm averted by its interventions each alone "
        f"({fmt_money(top.harm_averted_pv_mean)} of "
        f"{fmt_money(alone.harm_averted_pv_mean.sum())}, for "
        f"{fmt_money(top.allocated_pv_mean)} of its {fmt_money(alone.allocated_pv_mean.sum())})"
    )
    if len(whole) and len(inter) and whole.iloc[0].harm_averted_pv_mean != 0:
        w, i = whole.iloc[0], inter.iloc[0]
        text += (
            f"; the interaction is {fmt_money(i.harm_averted_pv_mean)}, "
            f"{fmt_pct(i.harm_averted_pv_mean / w.harm_averted_pv_mean)} of the whole "
            f"({fmt_money(w.harm_averted_pv_mean)})"
        )
    return text + "."


# Published whole-area effects the plausibility section sets the scenarios beside
VRU_FINDING = (
    "Violence Reduction Units (Home Office 2022/23 VRU evaluation, EVIDENCE.md 1.3): no "
    "detectable national effect on hospital admissions for sharp-object injury or on homicide"
)
CERDA_FINDING = "Cerda et al. 2018: -11% to -19% over ten years for city-scale programmes"
CERDA_UPPER = 0.19  # the upper end, as a share of serious violence averted
# Assumed cost of a whole-area programme, in £ a resident a year: the Home Office VRU grant,
# £55m in 2023/24 across the 20 VRU police force areas (Home Office, "Serious violence: funding
# allocations", 29 August 2023), over about 40 million residents (derived: the 2022/23
# evaluation's 3,220 admissions prevented are 8 per 100,000 people), about £1.40.
PROGRAMME_PER_RESIDENT = 1.40
# the model's levers (an intervention's mechanism) in words
MECHANISM_WORDS = {
    "person_hazard": "the offending of the people it reaches",
    "victim_risk": "the victimisation of the people it reaches",
    "place_incidents": "street violence in its places",
    "fatality": "the share of injuries that kill",
    "engagement": "other programmes' take-up (a negative reduction: more take-up)",
    "knife_carrying": "the odds that the people it reaches start carrying a knife",
}
PLAUSIBILITY_MEASURES = {
    "serious_violence_true": "serious violence",
    KNIFE: "sharp-object admissions",
    HOMICIDE: "homicides",
}


def committed_per_year(run: CompareRun) -> dict[str, float]:
    """Money committed a year per scenario (mean over years and runs; shortfall.csv in the price
    year's prices, else spend.csv in each year's cash)."""
    years = max(int(run.meta.get("years", 1) or 1), 1)
    path = run.folder / "shortfall.csv"
    short = pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()
    if len(short) and "allocated" in short:
        return (short.groupby("scenario").allocated.sum() / years).to_dict()
    sp = run.spend
    if sp.empty or "budget" not in sp:
        return {}
    per_run = sp.groupby(["scenario", "replicate"]).budget.sum().groupby(level=0).mean()
    return (per_run / years).to_dict()


def plausibility_table(run: CompareRun) -> pd.DataFrame:
    """Per scenario: the extra money committed a resident a year, the share of the comparator's
    serious violence, sharp-object admissions and homicides averted (mean and 90% interval), the
    benchmark share for its money (the upper published effect, CERDA_UPPER, bought at
    PROGRAMME_PER_RESIDENT), and each share over the benchmark."""
    population = run.meta.get("population")
    money = committed_per_year(run)
    rows = []
    for sc in run.scenarios:
        extra = money.get(sc, 0.0) - money.get(run.comparator, 0.0)
        per_resident = extra / population if population else np.nan
        # linear in the money, up to the upper published effect itself
        bench = CERDA_UPPER * min(per_resident / PROGRAMME_PER_RESIDENT, 1.0)
        row = {"scenario": sc, "extra_per_resident_year": per_resident, "benchmark_share": bench}
        for m, key in zip(PLAUSIBILITY_MEASURES, ("serious_violence", "admissions", "homicides"),
                          strict=True):  # fmt: skip
            r = _row(run, sc, m)
            total = r.comparator_mean if r is not None else 0.0
            for q in ("mean", "p05", "p95"):
                row[f"{key}_share_{q}"] = r[f"averted_{q}"] / total if total > 0 else np.nan
            row[f"{key}_over_benchmark"] = row[f"{key}_share_mean"] / bench if bench > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _share(table_row, key: str) -> str:
    mean, lo, hi = (table_row[f"{key}_share_{q}"] for q in ("mean", "p05", "p95"))
    if not math.isfinite(mean):
        return "n/a"
    return (
        f"{100 * mean:.2f}% (90% interval {100 * lo:.2f}% to {100 * hi:.2f}%)"
        if math.isfinite(lo) and math.isfinite(hi)
        else f"{100 * mean:.2f}%"
    )


def _plausibility(run: CompareRun) -> list[str]:
    """The scenarios' whole-area effects beside published whole-area effects, with a sentence
    for each scenario whose effect for its money exceeds the benchmark."""
    t = plausibility_table(run)
    if t.empty:
        return []
    comp = run.label(run.comparator)
    rows = []
    for _, r in t.iterrows():
        funded = math.isfinite(r.benchmark_share) and r.benchmark_share > 0
        over = [
            PLAUSIBILITY_MEASURES[m]
            for m, k in zip(PLAUSIBILITY_MEASURES, ("serious_violence", "admissions", "homicides"),
                            strict=True)
            if funded and r[f"{k}_over_benchmark"] > 1
        ]  # fmt: skip
        rows.append(
            [
                run.label(r.scenario),
                f"£{r.extra_per_resident_year:.2f}"
                if math.isfinite(r.extra_per_resident_year)
                else "n/a",
                _share(r, "serious_violence"),
                _share(r, "admissions"),
                _share(r, "homicides"),
                f"{100 * r.benchmark_share:.2f}%" if funded else "n/a (commits no more)",
                ", ".join(over) if over else ("no" if funded else "n/a"),
            ]
        )
    header = [
        "Scenario",
        f"Extra money committed a resident a year (vs {comp})",
        "Share of the area's serious violence averted",
        "Share of sharp-object admissions averted",
        "Share of homicides averted",
        "Benchmark share for its money (assumed)",
        "Beyond the benchmark",
    ]
    sentences = [
        _e(f"Published whole-area effects: {VRU_FINDING}; {CERDA_FINDING}."),
        _e(
            f"Benchmark for a scenario's money (assumed): the upper published effect, "
            f"{100 * CERDA_UPPER:.0f}% of serious violence, bought for "
            f"£{PROGRAMME_PER_RESIDENT:.2f} a resident a year (the Home Office VRU grant: £55m "
            "in 2023/24 across 20 police force areas, about 40 million residents), scaled by "
            "the scenario's extra money a resident a year. It is generous: the published "
            "figure is over ten years and this horizon is "
            f"{run.horizon}, the city programmes it comes from cost more than a VRU grant "
            "(one adds 40% more police), and at the VRU grant's rate the VRUs showed no "
            "detectable effect on sharp-object admissions or homicide, to which the same "
            "benchmark is applied."
        ),
    ]
    for _, r in t.iterrows():
        text = _beyond_sentence(run, r)
        if text:
            sentences.append(_e(text))
    population = run.meta.get("population")
    note = (
        f"Shares: averted over {run.horizon} as a share of {comp}'s mean total (the interval is "
        "the averted's 90% paired interval over the same total). Money a resident a year: the "
        "extra money committed a year (mean over the years, price-year prices) over the "
        + (
            f"area's {population:,} residents (its area file)."
            if population
            else "area's residents (not in this run folder, so no benchmark)."
        )
        + " The benchmark is linear in the money up to the upper published effect itself."
    )
    return [
        "<h2>Plausibility: whole-area effects beside published ones</h2>",
        "<ul>" + "".join(f"<li>{x}</li>" for x in sentences) + "</ul>",
        _table(header, rows),
        f'<p class="note">{_e(note)}</p>',
    ]


def _beyond_sentence(run: CompareRun, r: pd.Series) -> str | None:
    """Why a scenario's effect for its money exceeds the benchmark, from the result tables."""
    if not (math.isfinite(r.benchmark_share) and r.benchmark_share > 0):
        return None
    over = {
        words: r[f"{k}_over_benchmark"]
        for words, k in zip(PLAUSIBILITY_MEASURES.values(),
                            ("serious_violence", "admissions", "homicides"), strict=True)
        if r[f"{k}_over_benchmark"] > 1
    }  # fmt: skip
    if not over:
        return None
    words = " and ".join(f"{w} ({x:.1f} times)" for w, x in over.items())
    text = (
        f"{run.label(r.scenario)} exceeds the benchmark for its money "
        f"(£{r.extra_per_resident_year:.2f} a resident a year, benchmark "
        f"{100 * r.benchmark_share:.2f}%) on {words}. "
    )
    text += _main_source(run, r.scenario)
    text += (
        "The model gives everyone reached the effect an evaluation measured on the people or "
        "places it enrolled, and whole-area evaluations found smaller effects or none: read "
        "this scenario's effect as the top of what the money might do, not a forecast."
    )
    lows = [w for w, k in zip(PLAUSIBILITY_MEASURES.values(),
                              ("serious_violence", "admissions", "homicides"), strict=True)
            if w in over and r[f"{k}_share_p05"] <= r.benchmark_share]  # fmt: skip
    if lows:
        text += (
            f" On {', '.join(lows)} its 90% interval reaches the benchmark, so it may be chance."
        )
    return text


def _largest_part(run: CompareRun, sc: str) -> tuple[str, str] | None:
    """(intervention name, why it is the largest): the most harm averted alone in the
    decomposition, else the largest allocation; None without either table."""
    d = run.decomposition
    part = d[(d.scenario == sc) & (d.kind == "alone")] if len(d) else d
    if len(part) and part.share_of_parts.notna().any():
        top = part.loc[part.share_of_parts.idxmax()]
        return top.part, f"{fmt_pct(top.share_of_parts)} of the harm its interventions avert alone"
    sp = run.spend[run.spend.scenario == sc] if len(run.spend) else run.spend
    if sp.empty:
        return None
    money = sp.groupby("intervention").budget.sum()
    return money.idxmax(), f"{fmt_pct(money.max() / money.sum())} of its money"


def _main_source(run: CompareRun, sc: str) -> str:
    """'Its largest part is X (...), whose assumed effect is ... . ' or ''."""
    largest = _largest_part(run, sc)
    if largest is None:
        return ""
    name, why = largest
    known = run.interventions.set_index("name") if "name" in run.interventions else None
    text = f"Its largest part is {_intervention_labels(run).get(name, name)} ({why})"
    if known is not None and name in known.index:
        i = known.loc[name]
        lever = MECHANISM_WORDS.get(i.get("mechanism"), str(i.get("mechanism", "its target")))
        text += (
            f", whose assumed effect is a {fmt_pct(i.get('reduction'))} reduction in {lever} "
            f"({i.get('evidence', 'unknown')} evidence)"
        )
    return text + ". "


def _all_outcomes(run: CompareRun) -> list[str]:
    rows = []
    for _, r in run.summary.iterrows():
        money = r.measure == COST
        fmt = fmt_money if money else fmt_num
        rows.append(
            [
                run.label(r.scenario),
                str(r.label),
                fmt(r.comparator_mean),
                fmt(r.scenario_mean),
                fmt_interval(r.averted_mean, r.averted_p05, r.averted_p95, money=money),
                fmt_interval(r.averted_mean, r.unpaired_p05, r.unpaired_p95, money=money),
                fmt_pct(r.prob_better),
                fmt(r.mde),
            ]
        )
    header = [
        "Scenario",
        "Outcome",
        f"{run.label(run.comparator)} (total)",
        "Scenario (total)",
        "Averted (paired 90% interval)",
        "Averted if runs were not paired",
        "Share of runs better",
        "Smallest detectable effect",
    ]
    return ["<h3>All outcomes</h3>", _table(header, rows)]


@dataclass
class _Figures:
    """The figures made, embedded where their sections are and numbered in that order."""

    folder: Path
    captions: dict[str, str]
    shown: int = 0

    def embed(self, name: str) -> list[str]:
        """The figure as an <img> with its numbered caption, or nothing if it was not made."""
        caption = self.captions.get(name)
        if caption is None:
            return []
        self.shown += 1
        return [
            f'<figure><img src="{_img(self.folder / "figures" / name)}" alt="{_e(caption)}">'
            f"<figcaption><strong>Figure {self.shown}.</strong> {_e(caption)}</figcaption>"
            "</figure>"
        ]


def _outcomes(run: CompareRun, figs: _Figures) -> list[str]:
    """The outcomes in detail: yearly series, harms averted, where, and every outcome's table."""
    return [
        "<h2>Outcomes</h2>",
        *figs.embed("time_series.png"),
        *figs.embed("averted.png"),
        *figs.embed("by_place.png"),
        *_all_outcomes(run),
    ]


def _acceptability(figs: _Figures) -> list[str]:
    """The cost-effectiveness plane and the acceptability curve: how sure the ranking is."""
    shown = [*figs.embed("cost_effectiveness_plane.png"), *figs.embed("acceptability.png")]
    if not shown:
        return []
    return ["<h2>How sure the ranking is: the acceptability curve</h2>", *shown]


def _reach_audit(run: CompareRun, figs: _Figures) -> list[str]:
    """What the money bought: committed, spent and short, reach, and the evidence behind it."""
    parts = [*_budget_and_spend(run), *_reach(run), *figs.embed("spend.png"),
             *_evidence_shares(run)]  # fmt: skip
    return ["<h2>Reach audit: what the money bought</h2>", *parts] if parts else []


def _interventions(run: CompareRun) -> list[str]:
    out = ["<h2>Interventions and the evidence behind them</h2>"]
    if not len(run.interventions):
        return out
    rows = [
        [
            r.get("label", r.get("name")),
            r.get("tier", ""),
            r.get("evidence", ""),
            f"{fmt_money(float(r.get('unit_cost', 'nan')))} per {r.get('unit', 'unit')}",
            r.get("mechanism", ""),
            _effect_range(r),
            r.get("estimand", ""),
            r.get("source", ""),
        ]
        for _, r in run.interventions.iterrows()
    ]
    header = [
        "Intervention",
        "Tier",
        "Evidence grade",
        "Unit cost",
        "What it changes",
        "Assumed reduction (range)",
        "Measured on",
        "Source",
    ]
    out.append(_table(header, rows))
    return out


def _evidence_shares(run: CompareRun) -> list[str]:
    """The share of each scenario's spend by evidence grade."""
    shares = evidence_shares(run)
    if shares.empty:
        return []
    ws = weak_share(run)
    grades = sorted(shares.columns, key=_grade_rank)
    order = [x for x in [run.comparator, *run.scenarios] if x in shares.index]
    rows = [
        [run.label(s), *(fmt_pct(r[g]) for g in grades), fmt_pct(ws.get(s, 0.0))]
        for s, r in shares.reindex(order).iterrows()
    ]
    return [
        "<h3>How much of each scenario's spend rests on weak or no evidence</h3>",
        _table(["Scenario", *[f"Evidence: {g}" for g in grades], "Weak or no evidence"], rows),
        '<p class="note">'
        + _e(
            "Share of cash spent, from the spend table. Counted as weak or no evidence: "
            "grades containing " + ", ".join(f'"{w}"' for w in WEAK_WORDS) + "."
        )
        + "</p>",
    ]


def _budget_and_spend(run: CompareRun) -> list[str]:
    """Money committed, spent and short over the horizon (the price year's prices, mean over
    runs), by scenario and, where delivery fell short, by allocation (shortfall.csv)."""
    path = run.folder / "shortfall.csv"
    if not path.exists():
        return []
    short = pd.read_csv(path)
    if short.empty:
        return []
    price = run.meta.get("price_year", "")
    cols = ["allocated", "spent_mean", "shortfall_mean"]
    totals = short.groupby("scenario")[cols].sum()
    totals = totals.reindex([x for x in [run.comparator, *run.scenarios] if x in totals.index])
    rows = [
        [run.label(s), fmt_money(t.allocated), fmt_money(t.spent_mean), fmt_money(t.shortfall_mean)]
        for s, t in totals.iterrows()
    ]
    by_alloc = short.groupby(["scenario", "intervention"])[cols].sum()
    by_alloc = by_alloc[by_alloc.shortfall_mean >= 0.05 * by_alloc.allocated]
    labels = _intervention_labels(run)
    short_rows = [
        [run.label(s), labels.get(i, i), fmt_money(t.allocated), fmt_money(t.spent_mean),
         fmt_money(t.shortfall_mean)]
        for (s, i), t in by_alloc.iterrows()
    ]  # fmt: skip
    out = [
        f"<h3>Money committed, spent and short over the horizon ({price} prices, mean over "
        "runs)</h3>",
        _table(["Scenario", "Committed", "Spent", "Short"], rows),
        '<p class="note">A scenario costs the money it commits; what delivery could not spend '
        "(too few eligible people or places, or capacity rounded down) is a shortfall, reported "
        "here and not counted as saved. Per allocation and year: shortfall.csv.</p>",
    ]
    if short_rows:
        out += [
            "<h3>Allocations that could not spend at least 5% of their money</h3>",
            _table(["Scenario", "Intervention", "Committed", "Spent", "Short"], short_rows),
        ]
    return out


def _reach(run: CompareRun) -> list[str]:
    """Per scenario and intervention, a year on average over years and runs: money allocated and
    spent (each year's cash), who or what it reached, and the delivery shortfall."""
    sp = run.spend
    if sp.empty or "spent" not in sp:
        return []
    if "reached" not in sp:  # a run folder from before reach was recorded
        sp = sp.assign(reached=sp.get("participants", np.nan))
    if "reach_unit" not in sp:
        sp = sp.assign(reach_unit="")
    sp = sp.assign(reach_unit=sp.reach_unit.fillna(""))
    keys = ["scenario", "intervention"]
    per = sp.groupby([*keys, "replicate", "year"], sort=False)
    per = per.agg(
        budget=("budget", "sum"),
        spent=("spent", "sum"),
        reached=("reached", "sum"),
        unit=("reach_unit", "first"),
    )
    table = per.groupby(level=keys, sort=False).agg(
        budget=("budget", "mean"),
        spent=("spent", "mean"),
        reached=("reached", "mean"),
        unit=("unit", "first"),
    )
    known = run.interventions
    labels = dict(zip(known.name, known.label, strict=True)) if "label" in known else {}
    rows = []
    for s in [x for x in [run.comparator, *run.scenarios] if x in table.index]:
        for i, t in table.loc[s].iterrows():
            rows.append(
                [
                    run.label(s),
                    labels.get(i, i),
                    fmt_money(t.budget),
                    fmt_money(t.spent),
                    f"{fmt_num(t.reached)} {t.unit}".strip(),
                    fmt_money(t.budget - t.spent),
                ]
            )
    header = ["Scenario", "Intervention", "Allocated", "Spent", "Reached a year", "Shortfall"]
    note = (
        "Mean over years and runs, in each year's cash. Reached: people or pupils enrolled, "
        "weighted up to the whole area (at a small population scale each simulated person "
        "stands for many, so one run's count is coarse), or places and practitioners funded. "
        "Shortfall: money delivery could not spend, for want of eligible people or schools; it "
        "is counted in the cost, not saved."
    )
    return [
        "<h3>Reach: what each allocation bought, a year</h3>",
        _table(header, rows, numeric={2, 3, 4, 5}),
        f'<p class="note">{_e(note)}</p>',
    ]


def _design(run: CompareRun) -> list[str]:
    """The settings of the comparison and its scenarios."""
    meta = run.meta
    wall = meta.get("wall_seconds")
    scale = fmt_pct(float(meta.get("population_scale", 1)))
    design = [
        ["Area", meta.get("area_label", meta.get("area", ""))],
        ["Scenarios", "; ".join(run.label(s["name"]) for s in meta.get("scenarios", []))],
        ["Comparator", run.label(run.comparator)],
        ["Runs per scenario (replicates)", str(meta.get("replicates", ""))],
        ["Horizon", run.horizon],
        ["Population scale", f"{scale} of households, weighted up to the whole area"],
        ["Seed", str(meta.get("seed", ""))],
        [
            "Price year and discount rate",
            f"{meta.get('price_year', '')}, {_rate(meta):.1f}% a year",
        ],
        ["Wall time", f"{float(wall) / 60:.1f} minutes" if wall is not None else "n/a"],
    ]
    rows = [
        [
            s.get("label", s.get("name")),
            s.get("description", ""),
            fmt_money(float(s.get("budget_per_year") or 0)),
            str(s.get("assumptions") or ""),
        ]
        for s in meta.get("scenarios", [])
    ]
    return [
        "<h2>How the comparison was run</h2>",
        _table(["Setting", "Value"], design),
        "<h3>Scenarios</h3>",
        _table(["Scenario", "Description", "Budget per year", "Assumptions"], rows),
    ]


def _detectable(run: CompareRun) -> list[str]:
    """The smallest effect the design can detect, per outcome and scenario."""
    out = [
        "<h3>The smallest effect this design can detect</h3>",
        "<p>"
        + _e(
            f"With {run.meta.get('replicates', '')} paired runs, effects over {run.horizon} "
            "smaller than these cannot be told apart from chance. More runs make them smaller."
        )
        + "</p>",
    ]
    if not len(run.summary):
        return out
    mde = run.summary.pivot_table(index="measure", columns="scenario", values="mde", sort=False)
    rows = []
    for m, r in mde.iterrows():
        fmt = fmt_money if m == COST else fmt_num
        rows.append([run.measure_label(m), *(fmt(r[s]) for s in run.scenarios if s in r)])
    out.append(_table(["Outcome", *[run.label(s) for s in run.scenarios if s in mde]], rows))
    return out


def _cautions(run: CompareRun) -> list[str]:
    """What this cannot tell you, and which uncertainty the intervals hold."""
    meta = run.meta
    return [
        '<h2 id="cautions">What this cannot tell you</h2>',
        '<div class="warn">' + _ul([f"{h} {d}" for h, d in _limitations(run)]) + "</div>",
        "<h2>Uncertainty</h2>",
        "<p>" + _e("The intervals include:") + "</p>",
        _ul([str(x) for x in meta.get("uncertainty_sources", [])] or ["not stated"]),
        "<p>" + _e("They do not include:") + "</p>",
        _ul([str(x) for x in meta.get("uncertainty_not_included", [])] or ["not stated"]),
    ]


def _sources(meta: dict) -> list[str]:
    """Data sources with their vintages, and the software versions."""
    rows = [
        [s.get("what", ""), s.get("source", ""), s.get("vintage", "")]
        for s in meta.get("sources", [])
    ]
    versions = [[k, str(v)] for k, v in meta.get("versions", {}).items()]
    versions.append(["code revision", str(meta.get("code_revision", "unknown"))])
    return [
        "<h2>Sources and data vintages</h2>",
        _table(["What", "Source", "Vintage"], rows),
        "<h3>Software</h3>",
        _table(["Component", "Version"], versions),
    ]


def write_report(folder: Path) -> Path:
    """Draw the figures and write folder/report.html (one self-contained file)."""
    folder = Path(folder)
    figures = make_figures(folder)
    run = load(folder)
    area = run.meta.get("area_label", run.meta.get("area", ""))
    title = f"Serious violence funding scenarios: {area}"
    figs = _Figures(folder, dict(figures))
    parts = [
        *_intro(run, title),
        *_decision(run, figs),
        *_executive_summary(run),
        *_headline_table(run),
        *_cost_per_outcome(run),
        *_outcomes(run, figs),
        *_plausibility(run),
        *_who_pays(run),
        *_decomposition(run),
        *_acceptability(figs),
        *_value_of_information(run),
        *_reach_audit(run, figs),
        *_interventions(run),
        *_design(run),
        *_detectable(run),
        *_cautions(run),
        *_sources(run.meta),
    ]
    html = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )
    path = folder / "report.html"
    tmp = folder / "report.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
