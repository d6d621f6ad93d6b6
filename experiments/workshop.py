"""`svsim workshop`: the what-if page for a room, served on this computer.

    svsim workshop                    # http://127.0.0.1:8765/
    svsim workshop port=0             # any free port; the address is printed
    svsim workshop area=test_town budget_per_year=100000

A Solara page of our own (Mesa's SolaraViz re-runs only on Reset and redraws slowly; a room needs
an answer on every move). The numbers come from `whatif.Engine`, which runs each what-if exactly
as `svsim compare` would, paired against a comparator whose runs are cached in memory. The page's
front-end files come from a local cache (`solara_assets`), so it works with no network.
"""

from __future__ import annotations

import io
import logging
import socket
import sys
import threading
from dataclasses import replace
from pathlib import Path

from . import whatif
from .config import ConfigError

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
    "strong": ("#009E73", "#FFFFFF"),
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


def averted_words(h: dict, what: str) -> tuple[str, str]:
    """('120 fewer', 'range 80 to 160 fewer; 4 of 4 runs better') for a headline measure."""
    m, lo, hi = h["averted_mean"], h["averted_p05"], h["averted_p95"]
    if m == 0 and lo == 0 and hi == 0:
        return "No change", f"in {what}: the money moved too little to show at this scale"
    word = "fewer" if m > 0 else "more"
    big = f"{fmt(abs(m))} {word}"
    return (
        big,
        f"{what} (range {fmt(lo)} to {fmt(hi)} fewer; {h['prob_better']:.0%} of runs better)",
    )


# ---- charts (matplotlib, drawn off-screen) ---------------------------------------------------


def _figure(w: float, h: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    fig.set_facecolor("white")
    return fig


def _style(ax) -> None:
    ax.tick_params(labelsize=15)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x" if ax.get_ylabel() == "" else "y", color="#CCCCCC", linewidth=0.8)
    ax.set_axisbelow(True)


def fig_trend(result: whatif.Result, comparator_label: str):
    """Each headline outcome by year: comparator and what-if, mean and range of the runs."""
    import numpy as np

    fig = _figure(15, 4.6)
    axes = fig.subplots(1, 3)
    by = result.by_year
    for ax, (measure, title) in zip(axes, whatif.HEADLINE.items(), strict=True):
        for name, colour, label, style in (
            (result.comparator, COMPARATOR_COLOUR, f"Comparator: {comparator_label}", "--"),
            (result.scenario.name, WHATIF_COLOUR, "This what-if", "-"),
        ):
            d = by[(by.scenario == name) & (by.measure == measure)]
            g = d.groupby("year", observed=True)["value"]
            years = np.array(sorted(d.year.unique()))
            mean = g.mean().reindex(years).to_numpy()
            lo = g.quantile(0.05).reindex(years).to_numpy()
            hi = g.quantile(0.95).reindex(years).to_numpy()
            ax.fill_between(years, lo, hi, color=colour, alpha=0.18, linewidth=0)
            ax.plot(years, mean, style, color=colour, linewidth=3, marker="o", label=label)
        ax.set_title(f"{title}\na year", fontsize=16, loc="left")
        ax.set_xticks(years)
        ax.set_xticklabels([str(y) for y in years], rotation=0)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(" ")
        _style(ax)
    axes[0].legend(fontsize=14, loc="lower left", frameon=True)
    return fig


def _saved_rows(current: whatif.Result | None, saved: list[dict]) -> list[tuple]:
    rows = [(s["name"], s["result"], SAVED_COLOURS[i % len(SAVED_COLOURS)]) for i, s in
            enumerate(saved)]  # fmt: skip
    if current is not None:
        rows.append(("This what-if", current, WHATIF_COLOUR))
    return rows


def fig_averted(current: whatif.Result | None, saved: list[dict]):
    """Outcomes averted over the horizon, this what-if beside the saved ones."""
    rows = _saved_rows(current, saved)
    fig = _figure(15, 1.6 + 0.75 * len(rows))
    axes = fig.subplots(1, 3, sharey=True)
    names = [r[0] for r in rows]
    for ax, measure in zip(axes, whatif.HEADLINE, strict=True):
        for i, (_, res, colour) in enumerate(rows):
            h = res.headline(measure)
            m = h["averted_mean"]
            ax.barh(i, m, color=colour, height=0.6)
            ax.errorbar(m, i, xerr=[[m - h["averted_p05"]], [h["averted_p95"] - m]],
                        color="black", capsize=6, linewidth=2)  # fmt: skip
        ax.axvline(0, color="black", linewidth=1.2)
        ax.set_title(f"Fewer {SHORT[measure]}", fontsize=16, loc="left")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels(names, fontsize=15)
        _style(ax)
    fig.supxlabel("Averted over the horizon (bar: average of the runs; line: range)", fontsize=14)
    return fig


def fig_money(current: whatif.Result | None, saved: list[dict]):
    """Extra money spent (cash) against the social cost of harm avoided (not cash)."""
    import numpy as np

    rows = _saved_rows(current, saved)
    fig = _figure(15, 1.8 + 0.9 * len(rows))
    ax = fig.subplots()
    y = np.arange(len(rows))
    for i, (_, res, colour) in enumerate(rows):
        spent = res.econ("spend_pv_mean")
        harm = res.econ("harm_averted_pv_mean")
        lo, hi = res.econ("harm_averted_pv_p05"), res.econ("harm_averted_pv_p95")
        ax.barh(i + 0.2, spent, height=0.38, color="#777777",
                label="Extra money spent (cash)" if i == 0 else None)  # fmt: skip
        ax.barh(i - 0.2, harm, height=0.38, color=colour, hatch="//", edgecolor="white",
                label="Harm avoided (social cost, NOT cash)" if i == 0 else None)  # fmt: skip
        ax.errorbar(harm, i - 0.2, xerr=[[harm - lo], [hi - harm]], color="black", capsize=6,
                    linewidth=2)  # fmt: skip
    ax.axvline(0, color="black", linewidth=1.2)
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=15)
    ax.xaxis.set_major_formatter(lambda v, _: f"£{v / 1e3:,.0f}k")
    ax.set_xlabel("£ over the horizon, 2024 prices, discounted (present value)", fontsize=14)
    ax.legend(fontsize=14, loc="lower right")
    _style(ax)
    return fig


def fig_where(result: whatif.Result, level: str, measure: str = "serious_violence_true"):
    """Where the effect falls: averted by CSP or community (the 12 largest changes)."""
    d = result.by_place
    d = d[(d.level == level) & (d.measure == measure)].copy()
    d["size"] = d.averted_mean.abs()
    d = d.sort_values("size", ascending=False).head(12).sort_values("averted_mean")
    fig = _figure(15, 1.6 + 0.45 * max(len(d), 2))
    ax = fig.subplots()
    colours = [OKABE_ITO["green"] if v >= 0 else OKABE_ITO["vermillion"] for v in d.averted_mean]
    ax.barh(range(len(d)), d.averted_mean, color=colours)
    ax.errorbar(d.averted_mean, range(len(d)),
                xerr=[d.averted_mean - d.averted_p05, d.averted_p95 - d.averted_mean],
                fmt="none", color="black", capsize=5, linewidth=1.5)  # fmt: skip
    ax.axvline(0, color="black", linewidth=1.2)
    ax.set_yticks(range(len(d)))
    ax.set_yticklabels(list(d.place), fontsize=15)
    ax.set_xlabel(f"Fewer {SHORT[measure]} over the horizon (green: fewer, red: more)",
                  fontsize=14)  # fmt: skip
    _style(ax)
    return fig


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.getvalue()


# ---- the page ---------------------------------------------------------------------------------

CSS = """
html, body, .v-application { font-size: 20px !important; color: #000 !important; }
.v-application { background: #fff !important; }
.workshop h1 { font-size: 2.1rem; margin: 0.2em 0; }
.workshop h2 { font-size: 1.6rem; margin: 0.6em 0 0.2em 0; }
.workshop h3 { font-size: 1.25rem; margin: 0.4em 0 0.1em 0; }
.workshop p, .workshop li, .workshop td, .workshop th { font-size: 1.05rem; }
.workshop .v-label, .workshop input, .workshop .v-select__selection,
.workshop textarea { font-size: 1.05rem !important; color: #000 !important; }
.workshop .v-input--is-disabled input { color: #555 !important; }
.workshop .v-messages__message { font-size: 0.95rem; color: #000; }
.workshop .v-btn { font-size: 1rem !important; text-transform: none !important; }
.workshop .wk-slider .v-label { display: none; }
.wk-status { border-left: 10px solid #009E73; padding: 8px 14px; font-size: 1.1rem;
  background: #fff; color: #000; margin: 6px 0; }
.wk-status.wk-stale { border-left-color: #E69F00; }
.workshop .v-slider__thumb-label { font-size: 0.8rem; }
.workshop .v-slider__thumb { width: 22px; height: 22px; left: -11px; }
.workshop .v-slider--horizontal .v-slider__track-container { height: 6px; }
.wk-budget { position: sticky; top: 0; z-index: 5; background: #fff; padding: 6px 0;
  border-bottom: 3px solid #000; }
.wk-budget .wk-total { font-size: 1.6rem; font-weight: 700; }
.wk-over { color: #B00000; }
.wk-tile { border: 3px solid #000; border-radius: 8px; padding: 10px 14px; margin: 4px;
  min-width: 15em; flex: 1 1 0; background: #fff; }
.wk-tile .wk-big { font-size: 2.3rem; font-weight: 800; line-height: 1.1; }
.wk-tile .wk-small { font-size: 1rem; }
.wk-card { border: 2px solid #000; border-radius: 8px; padding: 6px 12px; margin: 6px 0; }
.wk-card .wk-name { font-size: 1.15rem; font-weight: 700; }
.wk-chip { display: inline-block; border: 2px solid #000; border-radius: 14px;
  padding: 1px 10px; font-size: 0.9rem; font-weight: 600; margin-left: 6px; }
.wk-caption { font-size: 0.95rem; color: #222; }
.workshop .v-alert { font-size: 1.1rem !important; }
.workshop table.wk-table { border-collapse: collapse; width: 100%; }
.workshop table.wk-table td, .workshop table.wk-table th { border-bottom: 1px solid #000;
  padding: 4px 8px; text-align: right; }
.workshop table.wk-table td:first-child, .workshop table.wk-table th:first-child {
  text-align: left; }
"""


def _page_component():
    """Build the page's components (solara is imported only when the server starts)."""
    import solara
    import solara.lab
    from solara.alias import rv

    @solara.component
    def Chart(title: str, caption: str, fig, filename: str):
        solara.HTML(tag="h2", unsafe_innerHTML=title)
        solara.FigureMatplotlib(fig, format="svg")
        with solara.Row(style={"align-items": "center"}):
            solara.Text(caption, classes=["wk-caption"])
            solara.FileDownload(
                lambda: png(fig),
                filename=filename,
                label=f"Save chart as PNG ({filename})",
                mime_type="image/png",
            )

    @solara.component
    def InterventionCard(ws, name, amount, place_text, on_amount, on_places, first_year):
        spec = ws.library[name]
        bg, fg = EVIDENCE_COLOUR[spec.evidence]
        per = spec.unit_cost.value * ws.prices.uprate(spec.unit_cost_price_year, first_year)
        unit = {"participant": "people", "school": "schools", "place_year": "places"}[spec.unit]
        ok = whatif._is_number(amount)
        with solara.Div(classes=["wk-card", f"wk-card-{name}"]):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=(
                    f"<span class='wk-name'>{spec.label}</span>"
                    f"<span class='wk-chip' style='background:{bg};color:{fg}'>"
                    f"{EVIDENCE_TEXT[spec.evidence]}</span>"
                ),
            )
            slider_value = int(min(max(amount if ok else 0, 0), ws.max_per_intervention))
            rv.Slider(
                v_model=slider_value,
                # a slider echoing its clamped value must not overwrite a typed amount
                on_v_model=lambda v: on_amount(name, int(v)) if int(v) != slider_value else None,
                min=0,
                max=int(ws.max_per_intervention),
                step=ws.step,
                label=spec.label,
                thumb_label=False,
                hide_details=True,
                class_=f"wk-slider wk-slider-{name}",
            )
            with solara.Row(style={"align-items": "baseline", "flex-wrap": "wrap"}):
                solara.InputInt(
                    "£ a year",
                    value=int(amount) if ok else 0,
                    on_value=lambda v: on_amount(name, v),
                    classes=["wk-amount", f"wk-amount-{name}"],
                    style={"max-width": "10em"},
                )
                solara.InputText(
                    "Places (all, a CSP or communities, separated by commas)",
                    value=place_text,
                    on_value=lambda v: on_places(name, v),
                    classes=["wk-places", f"wk-places-{name}"],
                    style={"min-width": "18em"},
                )
            if ok and amount > 0 and per > 0:
                solara.Text(
                    f"Buys about {amount / per:,.1f} {unit} a year at about {whatif.money(per)} "
                    "each (central cost).",
                    classes=["wk-caption"],
                )

    @solara.component
    def Page():
        default_ws, _ = engine_for(None)
        area, set_area = solara.use_state(default_ws.area_ref)
        ws0, engine = engine_for(area)
        start = whatif.start_plan(ws0)
        amounts, set_amounts = solara.use_state(
            {k: int(v) if float(v).is_integer() else v for k, v in start.amounts.items()}
        )
        places, set_places = solara.use_state(
            {k: ", ".join(whatif.place_list(v)) for k, v in start.places.items()}
        )
        years_funded, set_years_funded = solara.use_state(dict(start.years))
        budget, set_budget = solara.use_state(start.budget)
        horizon, set_horizon = solara.use_state(ws0.quick.years)
        precise_for, set_precise_for = solara.use_state(None)
        nonce, set_nonce = solara.use_state(0)
        saved, set_saved = solara.use_state([])
        save_name, set_save_name = solara.use_state("")
        load_msgs, set_load_msgs = solara.use_state([])
        load_note, set_load_note = solara.use_state("")
        load_path, set_load_path = solara.use_state("")
        level, set_level = solara.use_state("csp")
        last_good = solara.use_ref(None)
        task_ref = solara.use_ref(None)

        ws = with_horizon(ws0, horizon)
        plan = whatif.Plan(dict(amounts), dict(places), dict(years_funded), budget)
        msgs = whatif.check_plan(ws, plan)
        total = plan.total()
        inputs = (
            area,
            tuple(sorted((k, repr(v)) for k, v in amounts.items())),
            tuple(sorted(places.items())),
            tuple(sorted(years_funded.items())),
            repr(budget),
            horizon,
        )
        precise = precise_for == inputs

        def set_amount(name, value):
            if value is None:
                return
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            set_amounts(lambda a: {**a, name: value})

        def set_place(name, text):
            set_places(lambda p: {**p, name: text or ""})

        def compute():
            if msgs:
                return None
            try:
                scenario = whatif.build(ws, plan)
            except whatif.WhatIfError as exc:
                return {"errors": exc.messages}
            design = ws.precise if precise else ws.quick
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
            return {"result": result, "plan": plan, "total": total, "inputs": inputs}

        task = solara.lab.use_task(
            compute, dependencies=[inputs, precise, nonce], raise_error=False
        )
        task_ref.current = task
        value = task.value if task.finished else None
        if value and "result" in value:
            last_good.current = value
        shown = last_good.current
        current = shown["result"] if shown else None
        up_to_date = bool(shown) and shown["inputs"] == inputs and not task.pending

        def reset():
            st = whatif.start_plan(ws0)
            set_amounts({k: int(v) if float(v).is_integer() else v for k, v in st.amounts.items()})
            set_places({k: ", ".join(whatif.place_list(v)) for k, v in st.places.items()})
            set_years_funded(dict(st.years))
            set_budget(st.budget)
            set_load_msgs([])
            set_load_note("")

        def switch_area(new):
            if new == area:
                return
            ws_new, _ = engine_for(new)
            st = whatif.start_plan(ws_new)
            set_area(new)
            set_amounts({k: int(v) if float(v).is_integer() else v for k, v in st.amounts.items()})
            set_places({k: ", ".join(whatif.place_list(v)) for k, v in st.places.items()})
            set_years_funded(dict(st.years))
            set_budget(st.budget)
            last_good.current = None

        def load_text(text: str, source: str):
            try:
                new_plan, run = whatif.from_yaml(ws, text)
            except whatif.WhatIfError as exc:
                set_load_msgs([f"{source}: {m}" for m in exc.messages])
                set_load_note("")
                return
            note = []
            h = run.get("years")
            if isinstance(h, int) and h in HORIZONS:
                set_horizon(h)
            elif h is not None:
                note.append(f"its horizon of {h!r} years is not offered here")
            if run.get("area") not in (None, ws.area_ref):
                note.append(f"it was made for area {run.get('area')!r}")
            set_amounts({k: (int(v) if float(v).is_integer() else v) for k, v in
                         new_plan.amounts.items()})  # fmt: skip
            set_places({k: ", ".join(whatif.place_list(v)) for k, v in new_plan.places.items()})
            set_years_funded(dict(new_plan.years))
            set_budget(new_plan.budget)
            set_load_msgs([])
            set_load_note(
                f"Loaded '{new_plan.label}' from {source}"
                + (f" ({'; '.join(note)})" if note else "")
                + ". The page's own scale and runs are used."
            )

        def load_from_path():
            p = Path(load_path.strip()).expanduser()
            if not load_path.strip():
                set_load_msgs(["Type the path of a scenario .yaml file first."])
            elif not p.is_file():
                set_load_msgs([f"No such file: {p}"])
            else:
                try:
                    load_text(p.read_text(), p.name)
                except (OSError, UnicodeDecodeError) as exc:
                    set_load_msgs([f"Could not read {p.name}: {type(exc).__name__}"])

        def on_file(info):
            try:
                text = (info.get("data") or info["file_obj"].read()).decode("utf-8")
            except (UnicodeDecodeError, KeyError, OSError):
                set_load_msgs([f"{info.get('name', 'the file')}: not a text (YAML) file."])
                return
            load_text(text, info.get("name", "the file"))

        def save():
            if current is None:
                return
            name = save_name.strip() or f"What-if {len(saved) + 1}"
            entry = {
                "name": name,
                "result": current,
                "amounts": dict(shown["plan"].amounts),
                "places": dict(places),
                "budget": shown["plan"].budget,
            }
            set_saved([s for s in saved if s["name"] != name] + [entry])
            set_save_name("")

        def restore(entry):
            set_amounts(dict(entry["amounts"]))
            set_places(dict(entry["places"]))
            set_budget(entry["budget"])

        comp_label = ws.comparator.label
        design = ws.precise if precise else ws.quick
        one_in = round(1 / design.population_scale)

        solara.Style(CSS)
        solara.Title("svsim workshop: what if we spent it differently?")
        with solara.Column(classes=["workshop"], style={"padding": "8px 20px"}):
            solara.HTML(
                tag="h1",
                unsafe_innerHTML=(
                    f"What if we spent it differently? {_area_label(ws)}, "
                    f"{ws.projection_years[0]}-{ws.projection_years[1]}"
                ),
            )
            solara.Text(
                f"Each what-if is compared with: {comp_label}. Numbers are projections from a "
                "simulation of every resident, not forecasts; the baseline is not yet "
                "calibrated to the Strategic Needs Assessment.",
                classes=["wk-caption"],
            )
            if ws.note:
                solara.Warning(ws.note, classes=["workshop-message"])
            # ---- the budget, always in view ----
            with solara.Div(classes=["wk-budget"]):
                over = total > budget + 1e-6 if whatif._is_number(budget) else False
                cls = "wk-total wk-over" if over else "wk-total"
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=(
                        f"<span class='{cls} wk-total-text'>Allocated {whatif.money(total)} "
                        f"of {whatif.money(budget if whatif._is_number(budget) else 0)} "
                        "a year</span>"
                    ),
                )
                frac = (
                    min(100, 100 * total / budget)
                    if whatif._is_number(budget) and budget > 0
                    else 0
                )
                solara.ProgressLinear(frac, color="#B00000" if over else "#0072B2")
                for m in msgs:
                    solara.Error(m + " Nothing was run.", classes=["workshop-message"])
            with solara.Columns([5, 7], gutters_dense=True):
                # ---- controls ----
                with solara.Column():
                    with solara.Row(style={"flex-wrap": "wrap"}):
                        solara.Select(
                            "Area",
                            values=whatif.areas(),
                            value=area,
                            on_value=switch_area,
                            style={"max-width": "14em"},
                        )
                        solara.InputInt(
                            "Budget, £ a year",
                            value=int(budget) if whatif._is_number(budget) else 0,
                            on_value=lambda v: set_budget(v) if v is not None else None,
                            classes=["wk-budget-input"],
                            style={"max-width": "12em"},
                        )
                        solara.Select(
                            "Years ahead",
                            values=HORIZONS,
                            value=horizon,
                            on_value=set_horizon,
                            style={"max-width": "9em"},
                        )
                    with solara.Row():
                        solara.Button("Start again", on_click=reset, outlined=True)
                    solara.Text(
                        f"Move a slider ({whatif.money(ws.step)} a step) or type an amount; the "
                        "answer updates by itself.",
                        classes=["wk-caption"],
                    )
                    from svsim.scenarios.library import TIERS

                    for tier in TIERS:
                        solara.HTML(tag="h2", unsafe_innerHTML=TIER_TEXT[tier])
                        names = sorted(
                            (n for n, s in ws.library.items() if s.tier == tier),
                            key=lambda n: ws.library[n].label,
                        )
                        for n in names:
                            InterventionCard(
                                ws,
                                n,
                                amounts.get(n, 0),
                                places.get(n, "all"),
                                set_amount,
                                set_place,
                                ws.projection_years[0],
                            )
                    with solara.Details("All places in this area"):
                        solara.Text(", ".join(ws.places), classes=["wk-caption"])
                    solara.HTML(tag="h2", unsafe_innerHTML="Load a scenario file")
                    solara.FileDrop(label="Drop a scenario .yaml file here", on_file=on_file,
                                    lazy=False)  # fmt: skip
                    with solara.Row(style={"align-items": "baseline"}):
                        solara.InputText(
                            "...or type its path on this computer",
                            value=load_path,
                            on_value=set_load_path,
                            classes=["wk-load-path"],
                        )
                        solara.Button("Load", on_click=load_from_path, classes=["wk-load"])
                    for m in load_msgs:
                        solara.Error(m, classes=["workshop-message"])
                    if load_note:
                        solara.Success(load_note)
                # ---- results ----
                with solara.Column():
                    if task.pending:
                        p = task.progress
                        solara.ProgressLinear(p if p else True)
                        solara.Text(
                            "Working it out..."
                            + (f" {p:.0f}%" if p else "")
                            + (
                                " (the more precise answer takes a minute or two)"
                                if precise
                                else ""
                            ),
                            classes=["workshop-working"],
                        )
                    elif task.error:
                        solara.Error(
                            "Something went wrong running this what-if: "
                            + _first_line(task.exception),
                            classes=["workshop-message"],
                        )
                    if value and "errors" in value:
                        for m in value["errors"]:
                            solara.Error(m, classes=["workshop-message"])
                    if current is not None:
                        d = current.design
                        status = (
                            f"Answer ready for {whatif.money(shown['total'])} a year allocated "
                            f"({current.seconds:.1f} s; {d.replicates} runs, each simulating "
                            f"1 in {round(1 / d.population_scale)} households, "
                            f"{d.years} years, seed {ws.run.settings.seed})."
                        )
                        if up_to_date:
                            solara.Text(status, classes=["wk-status", "workshop-ready"])
                        else:
                            solara.Text(
                                "Showing the last answer; the amounts have changed since. "
                                + status,
                                classes=["wk-status", "wk-stale", "workshop-stale"],
                            )
                    with solara.Row(style={"flex-wrap": "wrap"}):
                        solara.Button(
                            f"More precise answer ({ws.precise.replicates} runs, 1 in "
                            f"{round(1 / ws.precise.population_scale)} households; a minute "
                            "or two)",
                            on_click=lambda: set_precise_for(inputs),
                            disabled=bool(msgs) or precise,
                            classes=["wk-precise"],
                        )
                        solara.Button("Run again", on_click=lambda: set_nonce(nonce + 1),
                                      outlined=True)  # fmt: skip
                    if current is not None:
                        _Results(ws, current, shown, saved, comp_label, level, set_level, Chart)
                        solara.HTML(tag="h2", unsafe_innerHTML="Save and compare what-ifs")
                        with solara.Row(style={"align-items": "baseline"}):
                            solara.InputText("Name for this what-if", value=save_name,
                                             on_value=set_save_name)  # fmt: skip
                            solara.Button("Save this what-if", on_click=save,
                                          disabled=not up_to_date)  # fmt: skip
                        _SavedTable(current, saved, restore)
                        solara.HTML(tag="h2", unsafe_innerHTML="Take it away")
                        with solara.Row(style={"flex-wrap": "wrap"}):
                            solara.FileDownload(
                                current.csv(),
                                filename="whatif.csv",
                                label="Numbers (CSV)",
                                mime_type="text/csv",
                            )
                            try:
                                text = whatif.to_yaml(ws, shown["plan"], current.design)
                            except whatif.WhatIfError:
                                text = None
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

    def _Results(ws, current, shown, saved, comp_label, level, set_level, Chart):
        years = current.design.years
        with solara.Row(style={"flex-wrap": "wrap"}):
            for measure in whatif.HEADLINE:
                big, small = averted_words(current.headline(measure), SHORT[measure])
                with solara.Div(classes=["wk-tile", f"wk-tile-{measure}"]):
                    solara.HTML(tag="div", unsafe_innerHTML=f"<div class='wk-big'>{big}</div>")
                    solara.Text(f"{small}, over {years} years", classes=["wk-small"])
            spent = current.econ("spend_pv_mean")
            harm = current.econ("harm_averted_pv_mean")
            with solara.Div(classes=["wk-tile", "wk-tile-money"]):
                solara.HTML(
                    tag="div",
                    unsafe_innerHTML=(
                        f"<div class='wk-big'>{whatif.money(harm)}</div>"
                        "<div class='wk-small'>social cost of harm avoided - <b>NOT cash</b>: "
                        f"what victims, services and society are spared; against "
                        f"{whatif.money(spent)} of extra money spent (present values, 2024 "
                        "prices)</div>"
                    ),
                )
        Chart(
            "What happens each year",
            "Lines: average of the runs; shaded: the range of the runs (5% to 95%). "
            "When the lines overlap, the change is small next to the total.",
            fig_trend(current, comp_label),
            "whatif-by-year.png",
        )
        Chart(
            "How much is averted, beside the saved what-ifs",
            "Each bar compares a what-if with the comparator run by run, with the same people "
            "and the same luck, so the difference is the money's doing.",
            fig_averted(current, saved),
            "whatif-averted.png",
        )
        Chart(
            "Money spent and harm avoided",
            "Harm avoided is the Home Office's social cost of the violence prevented (injury, "
            "services, lost output): NOT cash back to the partnership.",
            fig_money(current, saved),
            "whatif-money.png",
        )
        solara.ToggleButtonsSingle(
            value=level,
            values=["csp", "community"],
            on_value=set_level,
        )
        Chart(
            "Where the effect falls: " + ("by CSP" if level == "csp" else "by community"),
            "Serious violence incidents averted where the victims live (12 largest changes).",
            fig_where(current, level),
            f"whatif-where-{level}.png",
        )

    def _SavedTable(current, saved, restore):
        import solara

        rows = [("This what-if", current, None)] + [(s["name"], s["result"], s) for s in saved]
        head = (
            "<tr><th>What-if</th><th>Fewer serious violence</th><th>Fewer admissions</th>"
            "<th>Fewer homicides</th><th>Harm avoided (not cash)</th><th>Extra spent</th>"
            "<th>Runs</th></tr>"
        )
        body = ""
        for name, res, _ in rows:
            h = {m: res.headline(m)["averted_mean"] for m in whatif.HEADLINE}
            body += (
                f"<tr><td>{name}</td><td>{fmt(h['serious_violence_true'])}</td>"
                f"<td>{fmt(h['admissions_expected'])}</td><td>{fmt(h['homicides_expected'])}</td>"
                f"<td>{whatif.money(res.econ('harm_averted_pv_mean'))}</td>"
                f"<td>{whatif.money(res.econ('spend_pv_mean'))}</td>"
                f"<td>{res.design.replicates} x 1/{round(1 / res.design.population_scale)}</td>"
                "</tr>"
            )
        solara.HTML(tag="table", unsafe_innerHTML=head + body, classes=["wk-table"])
        if saved:
            with solara.Row(style={"flex-wrap": "wrap"}):
                for s in saved:
                    solara.Button(f"Show '{s['name']}' again", on_click=lambda s=s: restore(s),
                                  outlined=True)  # fmt: skip

    return Page


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _area_label(ws) -> str:
    name = ws.run.area.name
    return "Wiltshire and Swindon" if name == "wiltshire_swindon" else name.replace("_", " ")


def main(overrides: list[str]) -> int:
    from . import solara_assets

    ws = whatif.workshop_config(overrides)  # bad input: one line, exit 2 (cli)
    try:
        cache = solara_assets.install()
    except solara_assets.AssetsError as exc:
        raise ConfigError(f"workshop: {exc}") from None
    solara_assets.use(cache)
    _BASE[:] = list(overrides)
    _ENGINES.clear()
    ws_default, engine = engine_for(None)
    assert ws_default.area_ref == ws.area_ref

    import solara.server.settings  # reads the environment set above
    import uvicorn

    solara_assets.use(cache)
    solara.server.settings.main.mode = "production"  # no stack traces on the page
    solara.server.settings.theme.show_banner = False
    for name in ("solara", "reacton", "uvicorn", "svsim.workshop"):
        logging.getLogger(name).setLevel(logging.WARNING)
    globals()["Page"] = _page_component()
    import os

    os.environ["SOLARA_APP"] = __name__
    sock = socket.socket(socket.AF_INET6 if ":" in ws.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((ws.host, ws.port))
    except OSError as exc:
        raise ConfigError(
            f"host={ws.host!r} port={ws.port}: cannot listen there ({exc.strerror})"
        ) from None
    port = sock.getsockname()[1]
    shown_host = f"[{ws.host}]" if ":" in ws.host else ws.host
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = ws.host, str(port)
    if ws.prewarm:
        threading.Thread(target=engine.baseline, args=(ws.quick,), daemon=True).start()
    config = uvicorn.Config("solara.server.starlette:app", log_level="warning")
    server = uvicorn.Server(config)
    print(f"workshop: http://{shown_host}:{port}/", flush=True)
    print("workshop: press Ctrl+C to stop", file=sys.stderr, flush=True)
    server.run(sockets=[sock])
    return 0
