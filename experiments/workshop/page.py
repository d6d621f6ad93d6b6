"""`svsim workshop`: the what-if page for a room, served on this computer.

    svsim workshop                    # http://127.0.0.1:8765/
    svsim workshop port=0             # any free port; the address is printed
    svsim workshop area=test_town budget_per_year=100000

A Solara page of our own (Mesa's SolaraViz re-runs only on Reset and redraws slowly; a room needs
an answer on every move). The numbers come from `whatif.Engine`, which runs each what-if exactly
as `svsim compare` would, paired against a comparator whose runs are cached in memory. The page's
front-end files come from a local cache (`solara_assets`), so it works with no network.

Everything runs in this one process: uvicorn's event loop, Solara's task threads (one what-if
each) and the thread that simulates the comparator's runs at start. Ctrl-C or SIGTERM stops the
server, tells every run to stop (`whatif.STOP`, heeded every few simulated weeks) and exits 130
with one line; a thread that does not stop within `stopping.GRACE` seconds does not hold it.
"""

from __future__ import annotations

import contextlib
import html
import io
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, replace

import solara
import solara.lab
import solara.server.settings
from solara.alias import rv
from svsim.scenarios.library import TIERS, quote

from .. import stopping
from ..compare.report import fmt_money  # estimates read as £5.05m, not to the pound
from ..config import ConfigError
from ..userfiles import UserFileError, decode, too_large
from . import solara_assets, whatif
from .access import TokenGate

log = logging.getLogger("svsim.workshop")

# Okabe-Ito: readable by people with every common form of colour blindness
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
COMPARATOR_COLOUR = OKABE_ITO["blue"]
WHATIF_COLOUR = OKABE_ITO["vermillion"]
SAVED_COLOURS = [OKABE_ITO[k] for k in ("green", "purple", "orange", "sky", "black")]
EVIDENCE_COLOUR = {  # background, text
    "strong": ("#009E73", "#000000"),
    "moderate": ("#56B4E9", "#000000"),
    "weak": ("#F0E442", "#000000"),
    "none": ("#FFFFFF", "#000000"),
}
EVIDENCE_TEXT = {
    "strong": "Evidence: strong",
    "moderate": "Evidence: moderate",
    "weak": "Evidence: weak - the effect could be small or even harmful",
    "none": "Evidence: none - assumed no effect, and it could harm",
}
TIER_TEXT = {
    "primary": "Primary prevention: everyone, before violence starts",
    "secondary": "Secondary prevention: people at risk, early",
    "tertiary": "Tertiary prevention: people already involved in violence",
}
SHORT = {
    "admissions_expected": "knife or sharp-object hospital admissions",
    "serious_violence_true": "serious violence incidents",
    "homicides_expected": "homicides",
}
HORIZONS = list(range(1, 11))
PRECISE_TIME = "1 to 2 minutes"  # measured on 2 busy cores: 81-95 s first, then 30-35 s

_BASE: list[str] = []  # the command line's overrides
_ENGINES: dict[str, tuple] = {}  # area -> (Workshop, Engine)
_ENGINES_LOCK = threading.Lock()


def engine_for(area: str | None = None) -> tuple:
    """(Workshop, Engine) for an area, built once per server; the first is the command line's."""
    with _ENGINES_LOCK:
        if not _ENGINES:
            ws = whatif.workshop_config(_BASE)
            _ENGINES[ws.area_ref] = _ENGINES["__default__"] = (ws, whatif.Engine(ws))
        if area is None:
            return _ENGINES["__default__"]
        if area not in _ENGINES:
            ws = whatif.workshop_config([*_BASE, f"area={area}"], fallback=True)
            _ENGINES[area] = (ws, whatif.Engine(ws))
        return _ENGINES[area]


def with_horizon(ws: whatif.Workshop, years: int) -> whatif.Workshop:
    s = replace(ws.run.settings, years=years)
    return replace(
        ws,
        run=replace(ws.run, settings=s),
        quick=replace(ws.quick, years=years),
        precise=replace(ws.precise, years=years),
    )


# ---- numbers as words --------------------------------------------------------------------------


def fmt(x: float) -> str:
    a = abs(x)
    if a >= 10:
        return f"{x:,.0f}"
    if a >= 1:
        return f"{x:,.1f}"
    if a >= 0.01:
        return f"{x:.2f}"
    if a == 0:
        return "0"
    return f"{x:.3f}"


def amount_text(v) -> str:
    """What a box shows: the text as typed, else the number as '50,000'."""
    if not whatif._is_number(v):
        return str(v)
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,}"


def _value(v):
    """The number behind a box: typed text parsed, a number as it is."""
    return whatif.parse_amount(v) if isinstance(v, str) else v


def _whole(amounts: dict) -> dict:
    """Whole-pound amounts as int, so the boxes show '40,000' and not '40,000.0'."""
    return {k: int(v) if whatif._is_number(v) and float(v).is_integer() else v
            for k, v in amounts.items()}  # fmt: skip


def averted_words(h: dict, what: str) -> tuple[str, str]:
    """('120 fewer', 'range 80 to 160 fewer; 4 of 4 runs better') for a headline measure; where
    the range includes no change, also the smallest change these runs would reliably detect."""
    m, lo, hi = h["averted_mean"], h["averted_p05"], h["averted_p95"]
    if m == 0 and lo == 0 and hi == 0:
        return "No change", f"in {what}: no difference from the comparator at this scale"
    big = "No change on average" if m == 0 else f"{fmt(abs(m))} {'fewer' if m > 0 else 'more'}"
    small = f"{what} (range {fmt(lo)} to {fmt(hi)} fewer; {h['prob_better']:.0%} of runs better)"
    if lo <= 0 <= hi:  # the model cannot tell: say what this design could have told
        small += f"; these runs reliably detect only a change of {fmt(h['mde'])} or more"
    return big, small


# ---- charts (matplotlib, drawn off-screen) ---------------------------------------------------

# drawn about as wide as the results column shows them, so 15-16 pt text stays 15-16 pt
WIDTH = 9.0
TREND_TITLES = {
    "admissions_expected": "Knife or sharp-object\nadmissions a year",
    "serious_violence_true": "Serious violence\nincidents a year",
    "homicides_expected": "Homicides\na year",
}


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _style(ax, axis: str = "y") -> None:
    from matplotlib.ticker import MaxNLocator

    ax.tick_params(labelsize=15)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis=axis, color="#CCCCCC", linewidth=0.8)
    ax.set_axisbelow(True)
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(
        MaxNLocator(nbins=4, steps=[1, 2, 5, 10])
    )
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(lambda v, _: fmt(v))


def fig_trend(result: whatif.Result, comparator_label: str, funded_until: int | None = None):
    """Each headline outcome by year: comparator and what-if, mean and range of the runs; a
    dotted line where the money stops, if that is before the horizon ends."""
    import numpy as np
    from matplotlib.lines import Line2D

    fig = _figure(WIDTH, 4.6)
    axes = fig.subplots(1, 3)
    by = result.by_year
    for ax, (measure, title) in zip(axes, TREND_TITLES.items(), strict=True):
        for name, colour, style, width in (
            (result.scenario.name, WHATIF_COLOUR, "-", 4),
            (result.comparator, COMPARATOR_COLOUR, "--", 2.5),  # on top: visible when equal
        ):
            d = by[(by.scenario == name) & (by.measure == measure)]
            g = d.groupby("year", observed=True)["value"]
            years = np.array(sorted(d.year.unique()))
            mean = g.mean().reindex(years).to_numpy()
            lo = g.quantile(0.05).reindex(years).to_numpy()
            hi = g.quantile(0.95).reindex(years).to_numpy()
            ax.fill_between(years, lo, hi, color=colour, alpha=0.18, linewidth=0)
            ax.plot(years, mean, style, color=colour, linewidth=width, marker="o")
        if funded_until is not None and funded_until < years[-1]:
            ax.axvline(funded_until + 0.5, color="black", linestyle=":", linewidth=2.5)
        ax.set_title(title, fontsize=16, loc="left")
        shown = years[:: 1 if len(years) <= 3 else 2 if len(years) <= 6 else 3]
        ax.set_xticks(shown, [str(y) for y in shown])
        ax.set_ylim(bottom=0)
        _style(ax)
    handles = [
        Line2D([], [], color=WHATIF_COLOUR, linewidth=4, marker="o", label="This what-if"),
        Line2D(
            [],
            [],
            color=COMPARATOR_COLOUR,
            linewidth=2.5,
            linestyle="--",
            marker="o",
            label=f"Comparator: {comparator_label}",
        ),
    ]
    if funded_until is not None and funded_until < years[-1]:
        handles.append(Line2D([], [], color="black", linestyle=":", linewidth=2.5,
                              label=f"Money stops after {funded_until}"))  # fmt: skip
    fig.legend(handles=handles, loc="outside lower left", fontsize=14, frameon=False)
    return fig


def _saved_rows(current: whatif.Result | None, saved: list[dict]) -> list[tuple]:
    rows = [(s["name"], s["result"], SAVED_COLOURS[i % len(SAVED_COLOURS)]) for i, s in
            enumerate(saved)]  # fmt: skip
    if current is not None:
        rows.append(("This what-if", current, WHATIF_COLOUR))
    return rows


def fig_averted(current: whatif.Result | None, saved: list[dict]):
    """Outcomes averted over the horizon, this what-if beside the saved ones."""
    import textwrap

    rows = _saved_rows(current, saved)
    fig = _figure(WIDTH, 2.2 + 0.75 * len(rows))
    axes = fig.subplots(1, 3, sharey=True)
    for ax, measure in zip(axes, whatif.HEADLINE, strict=True):
        for i, (_, res, colour) in enumerate(rows):
            h = res.headline(measure)
            m = h["averted_mean"]
            ax.barh(i, m, color=colour, height=0.6)
            ax.errorbar(m, i, xerr=[[m - h["averted_p05"]], [h["averted_p95"] - m]],
                        color="black", capsize=6, linewidth=2)  # fmt: skip
        ax.axvline(0, color="black", linewidth=1.2)
        ax.set_title(textwrap.fill(f"Fewer {SHORT[measure]}", 22), fontsize=16, loc="left")
        ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=15)
        _style(ax, "x")
    fig.supxlabel("Averted over the horizon (bar: average of the runs; line: range)", fontsize=14)
    return fig


def fig_money(current: whatif.Result | None, saved: list[dict], price_year: int):
    """Extra money committed (cash) against the social cost of harm avoided (not cash)."""
    rows = _saved_rows(current, saved)
    fig = _figure(WIDTH, 2.2 + 0.9 * len(rows))
    ax = fig.subplots()
    for i, (_, res, colour) in enumerate(rows):
        spent = res.econ("spend_pv_mean")
        harm = res.econ("harm_averted_pv_mean")
        lo, hi = res.econ("harm_averted_pv_p05"), res.econ("harm_averted_pv_p95")
        ax.barh(i + 0.2, spent, height=0.38, color="#777777",
                label="Extra money committed (cash)" if i == 0 else None)  # fmt: skip
        ax.barh(i - 0.2, harm, height=0.38, color=colour, hatch="//", edgecolor="white",
                label="Harm avoided (social cost, NOT cash)" if i == 0 else None)  # fmt: skip
        ax.errorbar(harm, i - 0.2, xerr=[[harm - lo], [hi - harm]], color="black", capsize=6,
                    linewidth=2)  # fmt: skip
    ax.axvline(0, color="black", linewidth=1.2)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=15)
    _style(ax, "x")
    ax.xaxis.set_major_formatter(
        lambda v, _: f"£{v / 1e6:,.1f}m" if abs(v) >= 1e6 else f"£{v / 1e3:,.0f}k"
    )
    ax.set_xlabel(
        f"£ over the horizon, {price_year} prices, discounted (present value)", fontsize=14
    )
    fig.legend(loc="outside upper left", fontsize=14, frameon=False, ncols=2)
    return fig


def fig_where(result: whatif.Result, level: str, measure: str = "serious_violence_true"):
    """Where the effect falls: averted by CSP or community (the 12 largest changes)."""
    d = result.by_place
    d = d[(d.level == level) & (d.measure == measure)].copy()
    d["size"] = d.averted_mean.abs()
    d = d.sort_values("size", ascending=False).head(12).sort_values("averted_mean")
    fig = _figure(WIDTH, 1.8 + 0.5 * max(len(d), 2))
    ax = fig.subplots()
    colours = [OKABE_ITO["blue"] if v >= 0 else OKABE_ITO["vermillion"] for v in d.averted_mean]
    ax.barh(range(len(d)), d.averted_mean, color=colours)
    ax.errorbar(d.averted_mean, range(len(d)),
                xerr=[d.averted_mean - d.averted_p05, d.averted_p95 - d.averted_mean],
                fmt="none", color="black", capsize=5, linewidth=1.5)  # fmt: skip
    ax.axvline(0, color="black", linewidth=1.2)
    ax.set_yticks(range(len(d)), list(d.place), fontsize=15)
    ax.set_xlabel(f"Fewer {SHORT[measure]} over the horizon\n(blue, right: fewer; red, left: more)",
                  fontsize=14)  # fmt: skip
    _style(ax, "x")
    return fig


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.getvalue()


# ---- the page ---------------------------------------------------------------------------------
# One component per piece of the screen, each drawing what it is given (Header, Settings,
# Interventions, LoadPanel, Notices, Progress, RunButtons, Tiles, Charts, SavedWhatIfs,
# TakeAway); Page holds one room's state and the run, and passes both down. A component that
# draws several parts wraps them in a .wk-group, laid out as the column around it would.

CSS = """
html, body, .v-application { font-size: 20px !important; color: #000 !important; }
.v-application { background: #fff !important; }
/* The page fills the window: the header (title, budget, messages) sits above the two columns
   and never over them; controls and results scroll each in their own column. */
.wk-root { position: fixed; inset: 0; display: flex; flex-direction: column; background: #fff; }
.wk-head { flex: none; padding: 2px 20px 6px 20px; border-bottom: 3px solid #000; }
.wk-body { flex: 1 1 auto; min-height: 0; display: flex; gap: 24px; padding: 0 12px 0 20px; }
.wk-controls, .wk-results { min-width: 0; overflow-y: auto; padding: 0 8px 48px 0;
  display: flex; flex-direction: column; }
.wk-controls > *, .wk-results > *, .wk-group > * { flex-shrink: 0; }
/* a piece of the screen drawn by one component: lays its parts out as the column would */
.wk-group { display: flex; flex-direction: column; }
.wk-controls { flex: 5 1 0; }
.wk-results { flex: 7 1 0; }
@media (max-width: 1100px) {
  .wk-body { display: block; overflow-y: auto; }
  .wk-controls, .wk-results { overflow: visible; }
}
.workshop h1 { font-size: 1.7rem; margin: 0.1em 0; line-height: 1.25; }
.workshop h2 { font-size: 1.5rem; margin: 0.7em 0 0.2em 0; }
.workshop p, .workshop li, .workshop td, .workshop th { font-size: 1.05rem; }
.workshop .v-label, .workshop input, .workshop .v-select__selection,
.workshop textarea { font-size: 1.05rem !important; color: #000 !important; }
.workshop .v-input--is-disabled input { color: #555 !important; }
.workshop .v-messages__message { font-size: 0.95rem; color: #000; }
.workshop .v-btn { font-size: 1rem !important; text-transform: none !important;
  letter-spacing: normal !important; }
.workshop .wk-slider .v-label { display: none; }
.wk-status { border-left: 10px solid #009E73; padding: 8px 14px; font-size: 1.1rem;
  background: #fff; color: #000; margin: 6px 0; }
.wk-status.wk-stale { border-left-color: #E69F00; }
.workshop .v-slider__thumb { width: 22px; height: 22px; left: -11px; }
.workshop .v-slider--horizontal .v-slider__track-container { height: 6px; }
.wk-total { font-size: 1.6rem; font-weight: 700; }
.wk-over { color: #B00000; }
.wk-card-message { color: #B00000; font-weight: 700; font-size: 1rem; }
.wk-tile { border: 3px solid #000; border-radius: 8px; padding: 10px 14px; margin: 4px;
  min-width: 14em; flex: 1 1 0; background: #fff; }
.wk-tile .wk-big { font-size: 2.3rem; font-weight: 800; line-height: 1.1; }
.wk-tile .wk-small { font-size: 1rem; }
.wk-card { border: 2px solid #000; border-radius: 8px; padding: 6px 12px; margin: 6px 0; }
.wk-card .wk-name { font-size: 1.15rem; font-weight: 700; }
.wk-chip { display: inline-block; border: 2px solid #000; border-radius: 14px;
  padding: 1px 10px; font-size: 0.9rem; font-weight: 600; margin-left: 6px; }
.wk-caption { font-size: 0.95rem; color: #222; }
.workshop .v-alert { font-size: 1.1rem !important; margin: 4px 0 !important;
  color: #000 !important; border-left: 10px solid #000 !important; }
.workshop .v-alert .v-alert__content, .workshop .v-alert .v-icon { color: #000 !important; }
.workshop .v-alert--text::before { opacity: 0 !important; }
.workshop .v-alert.error--text { background: #FDE7E7 !important;
  border-left-color: #B00000 !important; }
.workshop .v-alert.warning--text { background: #FFF3D6 !important;
  border-left-color: #E69F00 !important; }
.workshop .v-alert.success--text { background: #E3F5EF !important;
  border-left-color: #009E73 !important; }
.workshop .wk-head .v-alert { padding: 6px 14px !important; }
.workshop .wk-chart img, .workshop .wk-chart svg { max-width: 100%; height: auto; }
.workshop .solara-file-drop { height: auto; min-height: 3em; border: 2px dashed #000;
  font-size: 1.05rem; }
.workshop table.wk-table { border-collapse: collapse; width: 100%; }
.workshop table.wk-table td, .workshop table.wk-table th { border-bottom: 1px solid #000;
  padding: 4px 8px; text-align: right; }
.workshop table.wk-table td:first-child, .workshop table.wk-table th:first-child {
  text-align: left; }
"""


@dataclass(frozen=True)
class Draft:
    """The plan's boxes as the room typed them: amounts (text or number), places as text,
    years funded and the budget; started from, loaded and restored together."""

    amounts: dict
    places: dict
    years: dict
    budget: object

    @classmethod
    def of(cls, plan: whatif.Plan) -> Draft:
        """The boxes showing a plan: whole pounds as '40,000', places joined by commas."""
        return cls(
            _whole(plan.amounts),
            {k: ", ".join(whatif.place_list(v)) for k, v in plan.places.items()},
            dict(plan.years),
            plan.budget,
        )

    def plan(self) -> whatif.Plan:
        """The plan the boxes describe, typed amounts parsed."""
        return whatif.Plan(
            {k: _value(v) for k, v in self.amounts.items()},
            dict(self.places),
            dict(self.years),
            _value(self.budget),
        )


@solara.component
def Chart(title: str, caption: str, make, deps: list, filename: str):
    """A chart drawn once per new result (not on every keystroke), with its PNG."""
    fig = solara.use_memo(make, dependencies=deps)
    solara.HTML(tag="h2", unsafe_innerHTML=title)
    with solara.Div(classes=["wk-chart"]):
        solara.FigureMatplotlib(fig, dependencies=deps, format="svg")
    with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
        solara.Text(caption, classes=["wk-caption"])
        solara.FileDownload(
            lambda: png(fig),
            filename=filename,
            label=f"Save chart as PNG ({filename})",
            mime_type="image/png",
        )


@solara.component
def Header(ws: whatif.Workshop, plan: whatif.Plan):
    """The title and the money allocated against the budget: always in view, never over the
    page."""
    total = plan.total()
    budget_ok = whatif._is_number(plan.budget)
    over = budget_ok and total > plan.budget + 1e-6
    with solara.Div(classes=["wk-head"]):
        solara.HTML(
            tag="h1",
            unsafe_innerHTML=(
                f"What if we spent it differently? {html.escape(ws.run.area.label)}, "
                f"{ws.projection_years[0]}-{ws.projection_years[1]}"
            ),
        )
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<span class='wk-total {'wk-over' if over else ''} wk-total-text'>"
                f"Allocated {whatif.money(total)} of "
                f"{whatif.money(plan.budget if budget_ok else 0)} a year"
                + (f" - over budget by {whatif.money(total - plan.budget)}" if over else "")
                + "</span>"
            ),
        )
        frac = min(100, 100 * total / plan.budget) if budget_ok and plan.budget > 0 else 0
        solara.ProgressLinear(frac, color="#B00000" if over else "#0072B2")


@solara.component
def Settings(ws, area, budget, horizon, on_area, on_budget, on_horizon, on_reset, on_suggest):
    """Area, budget, years ahead, a button to start again, and one to suggest a mix when an
    optimise frontier for this area was given (suggest_from)."""
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "baseline"}):
        labels = whatif.areas()
        by_label = {label: name for name, label in labels.items()}
        solara.Select("Area", values=list(by_label), value=labels.get(area, area),
                      on_value=lambda label: on_area(by_label[label]),
                      classes=["wk-area"], style={"width": "17em"})  # fmt: skip
        solara.InputText(
            "Budget, £ a year",
            value=amount_text(budget),
            on_value=on_budget,
            continuous_update=True,
            classes=["wk-budget-input"],
            style={"max-width": "10em"},
        )
        solara.Select("Years ahead", values=HORIZONS, value=horizon, on_value=on_horizon,
                      classes=["wk-horizon"], style={"max-width": "8em"})  # fmt: skip
        solara.Button("Start again", on_click=on_reset, outlined=True)
        if ws.frontier is not None:
            solara.Button("Suggest a mix", on_click=on_suggest, outlined=True,
                          classes=["wk-suggest"])  # fmt: skip


@solara.component
def InterventionCard(ws, name, entry, place_text, years, problems, on_amount, on_places):
    """One intervention: its evidence, a slider and a box for the amount, and its places."""
    spec = ws.library[name]
    amount = _value(entry)
    bg, fg = EVIDENCE_COLOUR[spec.evidence]
    per = spec.unit_cost.value * ws.prices.uprate(spec.unit_cost_price_year, years[0])
    unit = {"participant": "people", "pupil": "pupils", "place_year": "places"}[spec.unit]
    ok = whatif._is_number(amount)
    with solara.Div(classes=["wk-card", f"wk-card-{name}"]):
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<span class='wk-name'>{html.escape(spec.label)}</span>"
                f"<span class='wk-chip' style='background:{bg};color:{fg}'>"
                f"{EVIDENCE_TEXT[spec.evidence]}</span>"
            ),
        )
        slider = rv.Slider(
            v_model=int(min(max(amount if ok else 0, 0), ws.max_per_intervention)),
            min=0,
            max=int(ws.max_per_intervention),
            step=ws.step,
            label=spec.label,
            thumb_label=False,
            hide_details=True,
            class_=f"wk-slider wk-slider-{name}",
        )
        # only the room's own moves ('change': a drag ends, a key, a click), never the
        # slider echoing a value the page gave it, which could undo a typed amount
        rv.use_event(slider, "change", lambda _w, _e, v: on_amount(name, int(v)))
        with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}):
            # text boxes update on every change: a value sent on Enter or blur can arrive
            # after the event, so the page would act on what was typed a moment before
            solara.InputText(
                "£ a year",
                value=amount_text(entry),
                on_value=lambda text: on_amount(name, text),
                continuous_update=True,
                classes=["wk-amount", f"wk-amount-{name}"],
                style={"max-width": "10em"},
            )
            solara.InputText(
                "Places (all, a CSP or communities, separated by commas)",
                value=place_text,
                on_value=lambda v: on_places(name, v),
                continuous_update=True,
                classes=["wk-places", f"wk-places-{name}"],
                style={"min-width": "18em"},
            )
        for m in problems:  # beside the box it is about; the header does not move
            solara.Text(m, classes=["wk-card-message", "workshop-message"])
        if ok and amount > 0 and per > 0:
            solara.Text(
                f"Paid {years[0]}-{years[1]}; buys about {amount / per:,.1f} {unit} a year "
                f"at about {whatif.money(per)} each (central cost).",
                classes=["wk-caption", f"wk-funded-{name}"],
            )


@solara.component
def Interventions(ws, draft: Draft, plan: whatif.Plan, problems, on_amount, on_places):
    """A card for every intervention, grouped by prevention tier."""
    with solara.Div(classes=["wk-group"]):
        solara.Text(
            f"Move a slider ({whatif.money(ws.step)} a step) or type an amount; the answer "
            "updates by itself.",
            classes=["wk-caption"],
        )
        for tier in TIERS:
            solara.HTML(tag="h2", unsafe_innerHTML=TIER_TEXT[tier])
            names = sorted((n for n, s in ws.library.items() if s.tier == tier),
                           key=lambda n: ws.library[n].label)  # fmt: skip
            for n in names:
                InterventionCard(
                    ws, n, draft.amounts.get(n, 0), draft.places.get(n, "all"),
                    whatif.funded_years(ws, plan, n), [m for k, m in problems if k == n],
                    on_amount, on_places,
                ).key(n)  # fmt: skip
        with solara.Details("All places in this area"):
            solara.Text(", ".join(ws.places), classes=["wk-caption"])


@solara.component
def LoadPanel(ws, messages, note, set_messages, set_note, set_horizon, start_from):
    """Load a scenario file: dropped on the page, or named under the folders the operator
    allowed (read through the workshop's file gate)."""
    typed = solara.use_ref("")

    def load_text(text: str, source: str):
        try:
            new_plan, run = whatif.from_yaml(ws, text)
        except whatif.WhatIfError as exc:
            set_messages([f"{source}: {m}" for m in exc.messages])
            set_note("")
            return
        notes = []
        h = run.get("years")
        if isinstance(h, int) and h in HORIZONS:
            set_horizon(h)
        elif h is not None:
            notes.append(f"its horizon of {quote(h)} years is not offered here")
        if run.get("area") not in (None, ws.area_ref):
            notes.append(f"it was made for area {quote(run.get('area'))}")
        start_from(new_plan)
        set_messages([])
        set_note(
            f"Loaded {quote(new_plan.label)} from {source}"
            + (f" ({'; '.join(notes)})" if notes else "")
            + ". The page's own scale and runs are used."
        )

    def typed_path(text: str):
        typed.current = text
        try:
            ws.gate.locate(text)
        except UserFileError:
            return  # not (yet) an allowed file: Load says why, the same for every path
        load_from_path()  # as soon as it names an allowed file; Load reads it again

    def load_from_path():
        if not typed.current.strip():
            set_messages(["Type the name of a scenario .yaml file first."])
            return
        try:
            text, name = ws.gate.read_text(typed.current)
        except UserFileError as exc:
            set_messages([f"Not loaded: {exc}."])
            return
        load_text(text, name)

    def on_file(info):
        name = str(info.get("name") or "the file")[:60]  # the room's own file's name
        try:
            size = int(info.get("size") or 0)
            if size > ws.gate.max_bytes:  # refused before a byte is sent to the server
                raise UserFileError(too_large(size, ws.gate.max_bytes))
            text = decode(info["file_obj"].read(ws.gate.max_bytes + 1), ws.gate.max_bytes)
        except (UserFileError, KeyError, OSError) as exc:
            why = exc if isinstance(exc, UserFileError) else "could not be read"
            set_messages([f"{name}: not loaded: {why}."])
            return
        load_text(text, name)

    with solara.Div(classes=["wk-group"]):
        solara.HTML(tag="h2", unsafe_innerHTML="Load a scenario file")
        solara.FileDrop(label="Drop a scenario .yaml file here", on_file=on_file, lazy=True)
        with solara.Row(style={"align-items": "baseline"}):
            solara.InputText(
                "...or type its name (files in "
                + ", ".join(str(r) for r in ws.gate.roots or ())
                + "; it loads once the name is complete)",
                value=typed.current,
                on_value=typed_path,
                continuous_update=True,
                classes=["wk-load-path"],
            )
            solara.Button("Load", on_click=load_from_path, classes=["wk-load"])
        for m in messages:
            solara.Error(m, classes=["workshop-message", "wk-load-message"])
        if note:
            solara.Success(note, classes=["wk-load-note"])


@solara.component
def Notices(ws, plan: whatif.Plan, msgs: list[str]):
    """What each what-if is compared with, and why nothing ran if the plan cannot run."""
    calibrated = bool(ws.resolved.get("calibration"))
    funding = whatif.funding_note(ws, plan)
    with solara.Div(classes=["wk-group"]):
        solara.Text(
            f"Each what-if is compared with: {ws.comparator.label}. Numbers are projections "
            "from a simulation of every resident, not forecasts; the baseline is "
            + ("calibrated to" if calibrated else "not yet calibrated to")
            + " the figures of the Strategic Needs Assessment.",
            classes=["wk-caption"],
        )
        for m in msgs:
            solara.Error(m + " Nothing was run.",
                         classes=["workshop-message", "wk-plan-message"])  # fmt: skip
        if ws.note:
            solara.Warning(ws.note, classes=["workshop-message"])
        if funding:
            solara.Warning(funding, classes=["wk-funding"])


def _design_text(ws, shown: dict) -> str:
    """'for £140,000 a year allocated (7.0 s; 4 runs, ...)': the answer on show and its design."""
    d = shown["result"].design
    return (
        f"for {whatif.money(shown['total'])} a year allocated "
        f"({shown['result'].seconds:.1f} s; {d.replicates} runs, each simulating "
        f"1 in {round(1 / d.population_scale)} households, "
        f"{d.years} years, seed {ws.run.settings.seed})"
    )


@solara.component
def Progress(ws, shown, up_to_date, precise, pending, progress, failure, errors):
    """How far the run has got, what went wrong, and which answer is on show."""
    with solara.Div(classes=["wk-group"]):
        if pending:
            solara.ProgressLinear(progress if progress else True, classes=["workshop-progress"])
            solara.Text(
                ("Working out the more precise answer" if precise else "Working it out")
                + "..." + (f" {progress:.0f}%" if progress else ""),
                classes=["workshop-working"],
            )  # fmt: skip
        elif failure:
            solara.Error("Something went wrong running this what-if: " + failure,
                         classes=["workshop-message"])  # fmt: skip
        for m in errors:
            solara.Error(m, classes=["workshop-message"])
        if shown is not None and up_to_date:
            solara.Text(f"Answer ready {_design_text(ws, shown)}.",
                        classes=["wk-status", "workshop-ready"])  # fmt: skip
        elif shown is not None:
            solara.Text(
                f"Showing the last answer, {_design_text(ws, shown)}, "
                + ("until the new one is ready." if pending else
                   "but the amounts have changed since."),
                classes=["wk-status", "wk-stale", "workshop-stale"],
            )  # fmt: skip


@solara.component
def RunButtons(ws, disabled: bool, on_precise, on_again):
    """The more precise answer (more runs, more households) and a fresh run of the same."""
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.Button(
            f"More precise answer ({ws.precise.replicates} runs, 1 in "
            f"{round(1 / ws.precise.population_scale)} households; {PRECISE_TIME})",
            on_click=on_precise,
            disabled=disabled,
            classes=["wk-precise"],
        )
        solara.Button("Run again", on_click=on_again, outlined=True)


@solara.component
def Tiles(current: whatif.Result, price_year: int):
    """The headline: harms averted over the horizon, and the social cost of harm avoided."""
    years = current.design.years
    with solara.Row(style={"flex-wrap": "wrap"}):
        for measure in whatif.HEADLINE:
            big, small = averted_words(current.headline(measure), SHORT[measure])
            with solara.Div(classes=["wk-tile", f"wk-tile-{measure}"]):
                solara.HTML(tag="div", unsafe_innerHTML=f"<div class='wk-big'>{big}</div>")
                solara.Text(f"{small}, over {years} years", classes=["wk-small"])
        committed = current.econ("spend_pv_mean")
        short = current.econ("shortfall_pv_mean")
        harm = current.econ("harm_averted_pv_mean")
        recorded = current.econ("harm_averted_pv_recorded_only_mean")
        every = current.econ("harm_averted_pv_all_true_mean")
        unspent = f" (of which {fmt_money(short)} could not be spent)" if short >= 1 else ""
        with solara.Div(classes=["wk-tile", "wk-tile-money"]):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=(
                    f"<div class='wk-big'>{fmt_money(harm)}</div>"
                    "<div class='wk-small'>social cost of harm avoided - <b>NOT cash</b>: "
                    f"what adult victims, services and society are spared, priced as the Home "
                    f"Office prices it (counting recorded crime only: {fmt_money(recorded)}; "
                    f"every incident, children's too: {fmt_money(every)}); against "
                    f"{fmt_money(committed)} of extra money committed{unspent} (present values, "
                    f"{price_year} prices)</div>"
                ),
            )


@solara.component
def Charts(ws, shown: dict, saved: list[dict], level: str, on_level):
    """The answer's charts: by year, averted beside the saved what-ifs, money, and where."""
    current, plan = shown["result"], shown["plan"]
    results = [current, *(s["result"] for s in saved)]
    funded = max((whatif.funded_years(ws, plan, n)[1] for n, v in plan.amounts.items()
                  if whatif._is_number(v) and v > 0), default=None)  # fmt: skip
    labels = {"csp": "By CSP", "community": "By community"}
    with solara.Div(classes=["wk-group"]):
        Chart(
            "What happens each year",
            "Lines: average of the runs; shaded: the range of the runs (5% to 95%). "
            "When the lines overlap, the change is small next to the total.",
            lambda: fig_trend(current, ws.comparator.label, funded),
            [current],
            "whatif-by-year.png",
        ).key("trend")  # keyed: each chart keeps its own drawing when the page shifts
        Chart(
            "How much is averted, beside the saved what-ifs",
            "Each bar compares a what-if with the comparator run by run, with the same people "
            "and the same luck, so the difference is the money's doing.",
            lambda: fig_averted(current, saved),
            results,
            "whatif-averted.png",
        ).key("averted")
        Chart(
            "Money committed and harm avoided",
            "Harm avoided is the Home Office's social cost of the violence prevented (injury, "
            "services, lost output): NOT cash back to the partnership.",
            lambda: fig_money(current, saved, ws.prices.base_year),
            results,
            "whatif-money.png",
        ).key("money")
        solara.ToggleButtonsSingle(
            value=labels[level],
            values=list(labels.values()),
            on_value=lambda v: on_level(next(k for k, t in labels.items() if t == v)),
        )
        Chart(
            "Where the effect falls: " + ("by CSP" if level == "csp" else "by community"),
            "Serious violence incidents averted where the victims live (12 largest changes).",
            lambda: fig_where(current, level),
            [current, level],
            f"whatif-where-{level}.png",
        ).key("where")


def _saved_table(current: whatif.Result, saved: list[dict]) -> str:
    """The rows of the table of what-ifs (HTML, names escaped): this one, then the saved."""
    rows = [("This what-if", current)] + [(s["name"], s["result"]) for s in saved]
    head = (
        "<tr><th>What-if</th><th>Fewer serious violence</th><th>Fewer admissions</th>"
        "<th>Fewer homicides</th><th>Harm avoided (not cash)</th><th>Extra committed</th>"
        "<th>Runs</th></tr>"
    )
    body = ""
    for name, res in rows:
        h = {m: res.headline(m)["averted_mean"] for m in whatif.HEADLINE}
        body += (
            f"<tr><td>{html.escape(name)}</td><td>{fmt(h['serious_violence_true'])}</td>"
            f"<td>{fmt(h['admissions_expected'])}</td><td>{fmt(h['homicides_expected'])}</td>"
            f"<td>{fmt_money(res.econ('harm_averted_pv_mean'))}</td>"
            f"<td>{fmt_money(res.econ('spend_pv_mean'))}</td>"
            f"<td>{res.design.replicates} x 1/{round(1 / res.design.population_scale)}</td>"
            "</tr>"
        )
    return head + body


@solara.component
def SavedWhatIfs(shown, draft, saved, set_saved, name, set_name, can_save, on_restore):
    """Save the answer on show under a name, the table beside the saved ones, and each saved
    one ready to show again (its boxes back as they were)."""

    def save():
        label = name.strip() or f"What-if {len(saved) + 1}"
        answer = shown["plan"]
        entry = {
            "name": label,
            "result": shown["result"],
            "draft": Draft(
                dict(answer.amounts), dict(draft.places), dict(draft.years), answer.budget
            ),
        }
        set_saved([s for s in saved if s["name"] != label] + [entry])
        set_name("")

    with solara.Div(classes=["wk-group"]):
        solara.HTML(tag="h2", unsafe_innerHTML="Save and compare what-ifs")
        with solara.Row(style={"align-items": "baseline"}):
            solara.InputText("Name for this what-if", value=name, on_value=set_name,
                             continuous_update=True, classes=["wk-save-name"])  # fmt: skip
            solara.Button("Save this what-if", on_click=save, disabled=not can_save,
                          classes=["wk-save"])  # fmt: skip
        solara.HTML(tag="table", unsafe_innerHTML=_saved_table(shown["result"], saved),
                    classes=["wk-table"])  # fmt: skip
        if saved:
            with solara.Row(style={"flex-wrap": "wrap"}):
                for s in saved:
                    solara.Button(f"Show '{s['name']}' again",
                                  on_click=lambda s=s: on_restore(s["draft"]),
                                  outlined=True)  # fmt: skip


@solara.component
def TakeAway(ws, shown: dict, design: whatif.Design):
    """The numbers and the scenario to take away, and the design they came from."""
    current = shown["result"]
    one_in = round(1 / design.population_scale)  # of the design the boxes now ask for
    try:
        text = whatif.to_yaml(ws, shown["plan"], current.design)
    except whatif.WhatIfError:
        text = None
    with solara.Div(classes=["wk-group"]):
        solara.HTML(tag="h2", unsafe_innerHTML="Take it away")
        with solara.Row(style={"flex-wrap": "wrap"}):
            solara.FileDownload(
                current.csv(),
                filename="whatif.csv",
                label="Numbers (CSV)",
                mime_type="text/csv",
            )
            if text:
                solara.FileDownload(
                    text,
                    filename="whatif.yaml",
                    label="Scenario for svsim compare (YAML)",
                    mime_type="text/yaml",
                )
        solara.Text(
            f"Design shown: {current.design.replicates} runs x 1 in "
            f"{round(1 / current.design.population_scale)} households "
            f"(population scale {current.design.population_scale}), "
            f"{current.design.years} years, seed {ws.run.settings.seed}, "
            f"comparator {current.comparator}. At this scale one simulated "
            f"person stands for {one_in} people, so small programmes move in "
            "steps; the more precise answer uses more.",
            classes=["wk-caption"],
        )


def _inputs(area: str, draft: Draft, plan: whatif.Plan, horizon: int) -> tuple:
    """All an answer depends on, comparable: a change in any of it runs the what-if again."""
    return (
        area,
        tuple(sorted((k, repr(v)) for k, v in plan.amounts.items())),
        tuple(sorted(draft.places.items())),
        tuple(sorted(draft.years.items())),
        repr(plan.budget),
        horizon,
    )


@solara.component
def Page():
    """The what-if page: one room's state (the boxes, the answer on show, the saved what-ifs)
    and the run that follows the boxes; the pieces of the screen above draw it."""
    default_ws, _ = engine_for(None)
    area, set_area = solara.use_state(default_ws.area_ref)
    ws0, engine = engine_for(area)
    draft, set_draft = solara.use_state(Draft.of(whatif.start_plan(ws0)))
    horizon, set_horizon = solara.use_state(ws0.quick.years)
    precise_for, set_precise_for = solara.use_state(None)
    nonce, set_nonce = solara.use_state(0)
    saved, set_saved = solara.use_state([])
    save_name, set_save_name = solara.use_state("")
    load_msgs, set_load_msgs = solara.use_state([])
    load_note, set_load_note = solara.use_state("")
    level, set_level = solara.use_state("csp")
    last_good = solara.use_ref(None)
    task_ref = solara.use_ref(None)

    ws = with_horizon(ws0, horizon)
    plan = draft.plan()
    problems = whatif.plan_problems(ws, plan)
    msgs = [m for _, m in problems]
    inputs = _inputs(area, draft, plan, horizon)
    precise = precise_for == inputs
    design = ws.precise if precise else ws.quick

    def compute():
        if msgs:
            return None
        try:
            scenario = whatif.build(ws, plan)
        except whatif.WhatIfError as exc:
            return {"errors": exc.messages}
        task = task_ref.current

        def progress(f):
            if task is not None and task.is_current():
                task.progress = round(100 * f, 1)

        def cancelled():
            return task is not None and not task.is_current()

        try:
            result = engine.run(scenario, design, progress, cancelled)
        except whatif.Cancelled:
            return None
        return {"result": result, "plan": plan, "total": plan.total(), "inputs": inputs}

    task = solara.lab.use_task(compute, dependencies=[inputs, precise, nonce], raise_error=False)
    task_ref.current = task
    value = task.value if task.finished else None
    if value and "result" in value:
        last_good.current = value
    shown = last_good.current
    up_to_date = bool(shown) and shown["inputs"] == inputs and not task.pending

    def set_amount(name, amount):
        set_draft(lambda d: replace(d, amounts={**d.amounts, name: amount}))

    def set_place(name, text):
        set_draft(lambda d: replace(d, places={**d.places, name: text or ""}))

    def set_budget(text):
        set_draft(lambda d: replace(d, budget=text))

    def start_from(new_plan):
        set_draft(Draft.of(new_plan))

    def reset():
        start_from(whatif.start_plan(ws0))
        set_load_msgs([])
        set_load_note("")

    def suggest():
        if not whatif._is_number(plan.budget):
            set_load_msgs(["Type a budget first: the suggestion is the best mix within it."])
            return
        new_plan, note = whatif.suggest_plan(ws, float(plan.budget))
        start_from(new_plan)
        set_load_msgs([])
        set_load_note(note)

    def switch_area(new):
        if new == area:
            return
        ws_new, _ = engine_for(new)
        set_area(new)
        start_from(whatif.start_plan(ws_new))
        last_good.current = None

    solara.Style(CSS)
    solara.Title("svsim workshop: what if we spent it differently?")
    with solara.Div(classes=["workshop", "wk-root"]):
        Header(ws, plan)
        with solara.Div(classes=["wk-body"]):
            with solara.Div(classes=["wk-controls"]):
                Settings(ws, area, draft.budget, horizon, switch_area, set_budget, set_horizon,
                         reset, suggest)  # fmt: skip
                Interventions(ws, draft, plan, problems, set_amount, set_place)
                LoadPanel(ws, load_msgs, load_note, set_load_msgs, set_load_note, set_horizon,
                          start_from)  # fmt: skip
            with solara.Div(classes=["wk-results"]):
                Notices(ws, plan, msgs)
                Progress(
                    ws, shown, up_to_date, precise, task.pending, task.progress,
                    _first_line(task.exception) if task.error else None,
                    value["errors"] if value and "errors" in value else [],
                )  # fmt: skip
                RunButtons(ws, bool(msgs) or precise, lambda: set_precise_for(inputs),
                           lambda: set_nonce(nonce + 1))  # fmt: skip
                if shown is not None:
                    Tiles(shown["result"], ws.prices.base_year)
                    Charts(ws, shown, saved, level, set_level)
                    SavedWhatIfs(shown, draft, saved, set_saved, save_name, set_save_name,
                                 up_to_date, set_draft)  # fmt: skip
                    TakeAway(ws, shown, design)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: only this computer can reach the page."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


STOPPED = "the page stopped; it keeps nothing (take-away files are saved by the browser)"


def _prewarm(engine: whatif.Engine, design: whatif.Design) -> None:
    """Simulate the comparator's runs before the first what-if asks (until the server stops)."""
    with contextlib.suppress(whatif.Cancelled):
        engine.baseline(design)


def _end_runs(grace: float = stopping.GRACE) -> None:
    """Stop every what-if in progress and wait up to `grace` s for Solara's task threads (not
    daemons: the interpreter would wait for them at exit); past that the process exits anyway,
    a second after the stop line is printed."""
    whatif.STOP.set()
    deadline = time.monotonic() + grace
    with stopping.shielded():
        for t in _task_threads():
            t.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in _task_threads()):
        log.warning("a what-if did not stop within %.0f s; exiting without it", grace)
        threading.Thread(target=_exit_soon, args=(1.0,), daemon=True).start()


def _task_threads() -> list[threading.Thread]:
    return [
        t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon
    ]


def _exit_soon(seconds: float) -> None:
    time.sleep(seconds)
    os._exit(130)


def main(overrides: list[str]) -> int:
    """Serve the page until Ctrl-C or SIGTERM; then end every run and say that it stopped.
    Bad input is refused before anything starts, leaving whatif.STOP as it was (the what-if
    engine in this process, as the tests use it, keeps working)."""
    ws = whatif.workshop_config(overrides)  # bad input: one line, exit 2 (cli)
    whatif.STOP.clear()
    try:
        return _serve(ws, overrides)
    except KeyboardInterrupt:
        _end_runs()
        raise stopping.Interrupted(STOPPED) from None
    finally:
        whatif.STOP.set()


def _server(app):
    """uvicorn's server, which on Ctrl-C, SIGTERM or SIGHUP tells every run to stop at once and
    shuts down gracefully (a browser's open connection may hold it up to 2 s, no longer), then
    raises the signal again: KeyboardInterrupt (stopping.install)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig, frame) -> None:
            whatif.STOP.set()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self):
            with super().capture_signals():  # SIGINT and SIGTERM
                if threading.current_thread() is not threading.main_thread():
                    yield
                    return
                hup = signal.signal(signal.SIGHUP, self.handle_exit)
                try:
                    yield
                finally:
                    signal.signal(signal.SIGHUP, hup)

    return Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2))


def _serve(ws: whatif.Workshop, overrides: list[str]) -> int:
    try:
        cache = solara_assets.install()
    except solara_assets.AssetsError as exc:
        raise ConfigError(f"workshop: {exc}") from None
    solara_assets.use(cache)  # solara is imported (above): this sets its settings as well
    _BASE[:] = list(overrides)
    _ENGINES.clear()
    ws_default, engine = engine_for(None)
    assert ws_default.area_ref == ws.area_ref

    solara.server.settings.main.mode = "production"  # no stack traces on the page
    solara.server.settings.theme.show_banner = False
    for name in ("solara", "reacton", "uvicorn", "svsim.workshop"):
        logging.getLogger(name).setLevel(logging.WARNING)
    os.environ["SOLARA_APP"] = __name__  # solara serves this module's Page
    sock = socket.socket(socket.AF_INET6 if ":" in ws.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ws.host, ws.port))
    except OSError as exc:
        raise ConfigError(
            f"host={ws.host!r} port={ws.port}: cannot listen there ({exc.strerror})"
        ) from None
    sock.listen(128)  # queue connections while uvicorn starts, so the printed address answers
    port = sock.getsockname()[1]
    shown_host = f"[{ws.host}]" if ":" in ws.host else ws.host
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = ws.host, str(port)
    if ws.prewarm:
        threading.Thread(target=_prewarm, args=(engine, ws.quick), daemon=True).start()
    # the server last: its app mounts the asset cache set above as it is imported
    from solara.server.starlette import app as solara_app

    app = solara_app
    if ws.token:
        app = TokenGate(app, ws.token)
    if not is_loopback(ws.host):
        print(
            f"workshop: warning: host={ws.host} - anyone on that network "
            + (
                "with the printed link can use this page"
                if ws.token
                else "can use this page; add token=auto to require the printed link"
            ),
            file=sys.stderr,
            flush=True,
        )

    server = _server(app)
    link = f"?token={ws.token}" if ws.token else ""
    print(f"workshop: http://{shown_host}:{port}/{link}", flush=True)
    print("workshop: press Ctrl+C to stop", file=sys.stderr, flush=True)
    server.run(sockets=[sock])
    return 0
