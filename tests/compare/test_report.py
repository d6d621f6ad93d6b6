"""The report of `svsim compare` (experiments/compare/report.py), on a made-up run folder."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
from html import escape, unescape

import pandas as pd
import pytest
from report_fixture import SCENARIOS, VOI_STABILITY, make_fake_compare_folder
from svsim.experiments.compare.report import (
    NOT_ESTIMABLE,
    fmt_interval,
    fmt_money,
    fmt_money_interval,
    fmt_pct,
    load,
    make_figures,
    plausibility_table,
    write_report,
)

DATA_IMG = '<img src="data:image/png;base64,'
# visible text that means a value went missing or a template went unfilled
GARBLED = re.compile(r"\bnan\b|\bNone\b|\bNaN\b|[{}\ufffd]|&[a-z]+;")


def _section(html: str, heading: str) -> str:
    """From an <h2> whose text starts with `heading` to the next <h2>."""
    start = re.search(rf"<h2[^>]*>{re.escape(heading)}", html).start()
    end = html.find("<h2", start + 1)
    return html[start : end if end >= 0 else len(html)]


def _text(html: str) -> str:
    """The words of some HTML, tags dropped and entities decoded."""
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _items(html: str, ul_class: str) -> list[str]:
    """The texts of the <li> of the first <ul class=ul_class>."""
    start = html.index(f'<ul class="{ul_class}">')
    body = html[start : html.index("</ul>", start)]
    return [unescape(x) for x in re.findall(r"<li>(.*?)</li>", body, flags=re.S)]


def _check_self_contained(html: str) -> None:
    # nothing to fetch: every src and href is a data URI or a fragment
    for attr in re.findall(r'(?:src|href)\s*=\s*["\']?([^"\'\s>]*)', html, flags=re.I):
        assert attr.startswith(("data:", "#")), attr
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", html, flags=re.I)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html


def test_report_is_self_contained_and_complete(tmp_path):
    folder = make_fake_compare_folder(tmp_path / "run")
    path = write_report(folder)
    assert path == folder / "report.html" and path.exists()
    html = path.read_text(encoding="utf-8")
    figures = make_figures(folder)
    assert len(figures) == 7
    for name, caption in figures:
        assert (folder / "figures" / name).stat().st_size > 10_000
        assert caption
    assert html.count(DATA_IMG) == len(figures)
    _check_self_contained(html)
    # web addresses may appear only as text, in the sources table
    sources = html.index("Sources and data vintages")
    assert "http" not in html[:sources]
    assert "not cash" in html
    assert "Executive summary" in html
    for label, *_ in SCENARIOS.values():
        assert escape(label) in html
    assert "A&E" not in html  # escaped
    assert (
        escape(NOT_ESTIMABLE) in html
    )  # the fixture has a cost per homicide that is not estimable
    assert "not calibrated yet" in html
    assert "P(ratio &gt; 1)" in html


def test_report_with_one_scenario_and_an_all_zero_measure(tmp_path):
    folder = make_fake_compare_folder(
        tmp_path / "run",
        seed=3,
        scenarios=("focused_deterrence",),
        zero_measures=("homicides_expected",),
        replicates=3,
        years=2,
    )
    html = write_report(folder).read_text(encoding="utf-8")
    assert html.count(DATA_IMG) == 7
    assert "No homicides (expected) occurred in any run" in html
    assert "A&amp;E navigators and mentoring" not in html
    _check_self_contained(html)


def test_report_without_spend_or_places(tmp_path):
    folder = make_fake_compare_folder(tmp_path / "run", seed=1)
    (folder / "by_place.parquet").unlink()
    (folder / "spend.csv").write_text("")
    (folder / "interventions.csv").write_text("")
    html = write_report(folder).read_text(encoding="utf-8")
    assert html.count(DATA_IMG) == 5  # decision, time series, averted, plane, acceptability
    assert "not cash" in html


def test_numbers_for_people():
    assert fmt_money(1_234_567) == "£1.23m"
    assert fmt_money(35_000_000) == "£35.0m"
    assert fmt_money(-350_000) == "-£350k"
    assert fmt_money(float("nan")) == "n/a"
    assert fmt_interval(34.2, 12.4, 57.0) == "34 (90% interval 12 to 57)"
    assert fmt_interval(0.27, -0.1, 0.61) == "0.27 (90% interval -0.10 to 0.61)"


def test_loader_orders_scenarios_from_meta(tmp_path):
    run = load(make_fake_compare_folder(tmp_path / "run"))
    assert run.comparator == "status_quo"
    assert run.scenarios == ["navigators_mentoring", "focused_deterrence"]


@pytest.mark.slow
def test_report_renders_in_chromium_with_nothing_fetched(tmp_path):
    from browser import open_in_chromium

    folder = make_fake_compare_folder(tmp_path / "run")
    path = write_report(folder)
    shot = tmp_path / "report.png"
    seen = open_in_chromium(path, screenshot=shot)
    assert seen["blocked"] == []
    assert seen["images"] == 7
    assert seen["images_loaded"] == seen["images"]  # every image decoded (naturalWidth > 0)
    assert "Wiltshire and Swindon" in seen["title"]
    assert seen["text"].index("The decision") < seen["text"].index("Executive summary")
    assert GARBLED.findall(seen["text"]) == []
    assert shot.stat().st_size > 50_000
    with contextlib.suppress(OSError):  # a copy for humans
        shutil.copy(shot, "/tmp/report_screenshot.png")


@pytest.mark.slow
def test_browser_helper_blocks_off_machine_requests(tmp_path):
    from browser import open_in_chromium

    page = tmp_path / "leaky.html"
    page.write_text(
        "<!DOCTYPE html><html><head><title>leaky</title></head><body>"
        '<img src="https://example.invalid/x.png"><img src="local.png"></body></html>'
    )
    shutil.copy(
        write_report(make_fake_compare_folder(tmp_path / "run")).parent / "figures" / "spend.png",
        tmp_path / "local.png",
    )
    seen = open_in_chromium(page)
    assert seen["title"] == "leaky"
    assert seen["blocked"] == ["https://example.invalid/x.png"]
    assert seen["images"] == 2 and seen["images_loaded"] == 1


def test_report_says_which_interventions_supply_the_harm_averted(tmp_path):
    """From decomposition.csv: a sentence naming each scenario's largest part and its share, and
    a row per part, the interaction and the whole; without the table, a note saying so."""
    folder = make_fake_compare_folder(tmp_path / "run", decompose=True)
    html = write_report(folder).read_text(encoding="utf-8")
    section = _section(html, "Which interventions supply")
    d = pd.read_csv(folder / "decomposition.csv")
    fd = d[(d.scenario == "focused_deterrence") & (d.kind == "alone")].set_index("part")
    assert fd.share_of_parts.idxmax() == "focused_deterrence"
    sentence = (
        f"Focused deterrence: Focused deterrence supplies {fmt_pct(fd.share_of_parts.max())} "
        "of the harm averted by its interventions each alone"
    )
    assert escape(sentence) in section
    mentoring = d[(d.scenario == "navigators_mentoring") & (d.part == "mentoring")].iloc[0]
    row = section[section.index("<td>Mentoring</td>") :]
    assert row.index(f"<td>{fmt_pct(mentoring.share_of_parts)}</td>") < row.index("</tr>")
    assert section.count("Interaction (whole minus the sum of the parts)") == 2
    plain = write_report(make_fake_compare_folder(tmp_path / "plain")).read_text("utf-8")
    assert "Not computed in this run" in plain and "Not computed in this run" not in html


def test_plausibility_sets_shares_averted_beside_the_benchmark(tmp_path):
    """Shares of the comparator's totals, and the benchmark for the money: the upper published
    effect (19%) times the extra money a resident a year over £1.40. At the area's population the
    fixture's 1-2% effects for £1.34 a resident are within it; at 50 million residents (£0.02 a
    resident) they exceed it, and the report says why, naming the largest part."""
    folder = make_fake_compare_folder(tmp_path / "run", decompose=True)
    run = load(folder)
    t = plausibility_table(run).set_index("scenario")
    summary = run.summary.set_index(["scenario", "measure"])
    short = pd.read_csv(folder / "shortfall.csv")
    for sc in run.scenarios:
        sv = summary.loc[(sc, "serious_violence_true")]
        assert t.loc[sc, "serious_violence_share_mean"] == sv.averted_mean / sv.comparator_mean
        extra = short[short.scenario == sc].allocated.sum() / run.meta["years"] / 743_695
        assert t.loc[sc, "extra_per_resident_year"] == pytest.approx(extra, rel=1e-12)
        assert t.loc[sc, "benchmark_share"] == pytest.approx(0.19 * extra / 1.40, rel=1e-12)
        assert 0 < t.loc[sc, "serious_violence_over_benchmark"] < 1
    html = write_report(folder).read_text(encoding="utf-8")
    assert "Cerda et al. 2018: -11% to -19% over ten years for city-scale programmes" in html
    assert "no detectable national effect" in html
    assert "exceeds the benchmark" not in html
    big = make_fake_compare_folder(tmp_path / "big", decompose=True, population=50_000_000)
    html = write_report(big).read_text(encoding="utf-8")
    section = _section(html, "Plausibility:")
    assert section.count("exceeds the benchmark for its money") == 2
    assert escape("Its largest part is Focused deterrence (") in section
    unknown = make_fake_compare_folder(tmp_path / "unknown", population=None)
    html = write_report(unknown).read_text(encoding="utf-8")
    assert "not in this run folder, so no benchmark" in html
    assert "exceeds the benchmark" not in html


def test_report_says_who_pays_and_who_gains(tmp_path):
    """The section shows each bearer's harm averted from agencies.csv, the funder's cost, the
    returns and the payback years, and says the split beyond homicide is assumed."""
    folder = make_fake_compare_folder(tmp_path / "run")
    html = write_report(folder).read_text(encoding="utf-8")
    section = _section(html, "Who pays, who gains")
    agencies = pd.read_csv(folder / "agencies.csv")
    econ = pd.read_csv(folder / "economics.csv").set_index("scenario")
    for scenario, g in agencies.groupby("scenario"):
        police = g.set_index("bearer").at["police", "harm_averted_pv_mean"]
        assert fmt_money(police) in section
        assert fmt_pct(econ.at[scenario, "fiscal_roi"]) in section
        paid = g.set_index("bearer").at["home_office", "programme_cost_pv_mean"]
        assert paid == pytest.approx(econ.at[scenario, "spend_pv_mean"])
        assert fmt_money(paid) in section
    assert "Paid by the Home Office (SVD grant)" in section
    assert "not within the horizon" in section and "2025" in section
    assert "assumption" in section


def test_the_decision_comes_first_and_ranks_by_net_benefit(tmp_path):
    """'The decision' is the first section; its sentences, one per scenario, follow the
    economics' net benefit from highest to lowest, each with its interval and what the interval
    says about zero; then what the ranking rests on and what it cannot tell."""
    folder = make_fake_compare_folder(tmp_path / "run", decompose=True)
    html = write_report(folder).read_text(encoding="utf-8")
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert headings[:2] == ["The decision", "Executive summary"]
    decision = _section(html, "The decision")
    assert decision.count(DATA_IMG) == 1  # one chart
    econ = pd.read_csv(folder / "economics.csv").sort_values("net_benefit_pv_mean", ascending=False)
    labels = {name: label for name, (label, *_) in SCENARIOS.items()}
    sentences = _items(decision, "ranking")
    assert len(sentences) == len(econ) == 2
    for rank, (sentence, e) in enumerate(zip(sentences, econ.itertuples(), strict=True), 1):
        assert sentence.startswith(f"{labels[e.scenario]} ranks {rank}")
        assert sentence.count(". ") == 0 and sentence.endswith(".")  # one sentence
        money = fmt_money_interval(e.net_benefit_pv_mean, e.net_benefit_pv_p05,
                                   e.net_benefit_pv_p95)  # fmt: skip
        assert money in sentence
        zero = e.net_benefit_pv_p05 <= 0 <= e.net_benefit_pv_p95
        assert ("interval includes zero" in sentence) == zero
        assert "weak or no evidence" in sentence and "largest part is" in sentence
    acc = pd.read_csv(folder / "acceptability.csv")
    best = acc[acc.multiplier == 1.0].set_index("scenario").prob_best
    first = econ.scenario.iloc[0]
    assert f"highest of all options in {fmt_pct(best[first])} of runs" in sentences[0]
    text = _text(decision)
    assert "What the ranking rests on" in text and "What it cannot tell" in text
    assert "moderate 90%" in text  # focused deterrence's evidence grades
    assert "not calibrated yet" in text
    # the detail, in the order
    order = ["Outcomes", "Who pays, who gains", "How sure the ranking is", "Value of information",
             "Reach audit"]  # fmt: skip
    at = [html.index(f"<h2>{h}") for h in order]
    assert at == sorted(at)


def test_the_decision_names_the_inputs_worth_evaluating(tmp_path):
    """From voi.csv and voi.json: 'Evaluating X would be worth up to £Y to this decision' for
    the top group and the top input, the EVPI, and 'not yet stable' only below 0.8."""
    folder = make_fake_compare_folder(tmp_path / "run")
    voi = pd.read_csv(folder / "voi.csv")
    top = voi[voi.kind == "input"].nlargest(1, "evppi").iloc[0]
    assert top.input == "focused_deterrence.estimate"
    group = voi[voi.kind == "group"].nlargest(1, "evppi").iloc[0]
    summary = json.loads((folder / "voi.json").read_text())
    assert summary["top_three_stability"] == VOI_STABILITY < 0.8

    text = _text(_section(write_report(folder).read_text("utf-8"), "The decision"))
    assert (
        "Evaluating the effect estimate of Focused deterrence would be worth up to "
        f"{fmt_money_interval(top.evppi, top.low, top.high)} to this decision"
    ) in text
    assert "Evaluating Focused deterrence as a whole" in text
    assert fmt_money_interval(group.evppi, group.low, group.high) in text
    assert f"Perfect information on everything: {fmt_money(summary['evpi'])}" in text
    assert "better evidence could change the decision" in text
    assert "not yet stable with 200 draws" in text and "svsim voi draws=900" in text

    for stability in (0.9, float("nan")):
        summary["top_three_stability"] = stability
        (folder / "voi.json").write_text(json.dumps(summary))
        text = _text(_section(write_report(folder).read_text("utf-8"), "The decision"))
        assert "not yet stable" not in text
    summary["evpi"] = 1.0  # £1 against millions of spread: more evidence would not change it
    (folder / "voi.json").write_text(json.dumps(summary))
    text = _text(_section(write_report(folder).read_text("utf-8"), "The decision"))
    assert "more evidence is unlikely to change the decision" in text


def test_value_of_information_detail(tmp_path):
    """The detail section: EVPI beside the naive estimate, then every group and the ten inputs
    worth most, each with its interval (or 'not computed')."""
    folder = make_fake_compare_folder(tmp_path / "run")
    html = write_report(folder).read_text(encoding="utf-8")
    section = _section(html, "Value of information")
    summary = json.loads((folder / "voi.json").read_text())
    text = _text(section)
    assert f"(EVPI): {fmt_money(summary['evpi'])}" in text
    assert fmt_money(summary["naive_evpi_counting_noise"]) in text and "overstates" in text
    voi = pd.read_csv(folder / "voi.csv")
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td>", section)
    kinds = [kind.split(" ")[0] for _, kind in rows]
    groups = int((voi.kind == "group").sum())
    assert kinds == ["group"] * groups + ["input"] * 10
    assert unescape(rows[0][0]) == "Focused deterrence as a whole"
    assert unescape(rows[groups][0]) == "The effect estimate of Focused deterrence"
    assert "The calibrated parameter offending base hazard" in text
    assert "not computed" in text  # mentoring.completion has no interval


def test_report_without_value_of_information(tmp_path):
    """A run folder from before voi.csv and voi.json: the decision says value of information
    was not computed, the detail section says so too, and nothing else changes."""
    folder = make_fake_compare_folder(tmp_path / "run", voi=False)
    assert not (folder / "voi.csv").exists() and not (folder / "voi.json").exists()
    html = write_report(folder).read_text(encoding="utf-8")
    assert html.count(DATA_IMG) == 7
    decision = _text(_section(html, "The decision"))
    assert "Value of information was not computed for this run" in decision
    assert "Evaluating" not in decision and "not yet stable" not in decision
    assert "Not computed in this run folder" in _section(html, "Value of information")
    assert len(_items(html, "ranking")) == 2
    _check_self_contained(html)


def test_report_says_why_value_of_information_was_not_estimated(tmp_path):
    """Too few replicates (scenarios/voi.py MIN_DRAWS): compare writes an empty voi.csv and a
    voi.json that says why; the report says so in the decision and the detail, and names no
    input as worth evaluating."""
    folder = make_fake_compare_folder(tmp_path / "run")
    pd.DataFrame(columns=["input", "kind", "evppi", "low", "high"]).to_csv(
        folder / "voi.csv", index=False
    )
    reason = "20 draws: the value of information needs at least 100 (svsim voi draws=1000)"
    (folder / "voi.json").write_text(json.dumps({"draws": 20, "computed": False, "reason": reason}))
    html = write_report(folder).read_text(encoding="utf-8")
    decision = _text(_section(html, "The decision"))
    assert "Value of information was not estimated (20 draws" in decision
    assert "Evaluating" not in decision and "EVPI" not in decision
    assert "needs at least 100" in _text(_section(html, "Value of information"))
    _check_self_contained(html)
