"""The report of `svsim compare` (experiments/compare/report.py), on a made-up run folder."""

from __future__ import annotations

import contextlib
import re
import shutil
from html import escape

import pandas as pd
import pytest
from report_fixture import SCENARIOS, make_fake_compare_folder
from svsim.experiments.compare.report import (
    NOT_ESTIMABLE,
    fmt_interval,
    fmt_money,
    fmt_pct,
    load,
    make_figures,
    plausibility_table,
    write_report,
)

DATA_IMG = '<img src="data:image/png;base64,'


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
    assert len(figures) == 6
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
    assert html.count(DATA_IMG) == 6
    assert "No homicides (expected) occurred in any run" in html
    assert "A&amp;E navigators and mentoring" not in html
    _check_self_contained(html)


def test_report_without_spend_or_places(tmp_path):
    folder = make_fake_compare_folder(tmp_path / "run", seed=1)
    (folder / "by_place.parquet").unlink()
    (folder / "spend.csv").write_text("")
    (folder / "interventions.csv").write_text("")
    html = write_report(folder).read_text(encoding="utf-8")
    assert html.count(DATA_IMG) == 4  # time series, averted, plane, acceptability
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
    assert seen["images"] == 6
    assert seen["images_loaded"] == seen["images"]
    assert "Wiltshire and Swindon" in seen["title"]
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
    section = html[html.index("Which interventions supply") : html.index("Plausibility")]
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
    section = html[html.index("Plausibility:") : html.index("<h3>All outcomes")]
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
    section = html[html.index("Who pays, who gains") : html.index("Which interventions supply")]
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
