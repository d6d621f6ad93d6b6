"""`svsim workshop` in a real browser: Debian's headless Chromium driven by Playwright, every
request that leaves 127.0.0.1 aborted and counted (there must be none)."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import REPO

SLIDER = "Social skills training in schools"  # strong evidence; schools are not scaled down
NAME = "social_skills_schools"
STEP = 50000
PRECISE_RUNS = 6  # a small "more precise" design, so the test sees the button's whole cycle
WAIT = 60_000  # ms for the page to answer an edit (a render, not a simulation)


TOKEN = "workshop-test-token"
SECRET = "s3cret-do-not-show"


def _start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    log = open(tmp_path / "workshop.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "svsim.experiments.cli",
            "workshop",
            "port=0",
            f"step={STEP}",
            f"precise.replicates={PRECISE_RUNS}",
            "precise.population_scale=0.05",
            *extra,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    deadline = time.monotonic() + 120
    line = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("workshop: http://") or proc.poll() is not None:
            break
    match = re.match(r"workshop: (http://127\.0\.0\.1:\d+/\S*)", line)
    if not match:
        proc.kill()
        raise AssertionError(
            f"no address printed: {line!r}; log: {(tmp_path / 'workshop.log').read_text()[-2000:]}"
        )
    return proc, match.group(1)


def _conf() -> dict:
    return yaml.safe_load((REPO / "conf" / "workshop.yaml").read_text())


def _start_total() -> int:
    """The starting scenario's money a year, from its file (not a model output)."""
    data = yaml.safe_load(
        (REPO / "conf" / "scenario" / f"{_conf()['start_from']}.yaml").read_text()
    )
    return int(sum(a["amount_per_year"] for a in data["allocations"]))


def _total(page) -> int:
    text = page.locator(".wk-total-text").inner_text()
    return int(re.search(r"Allocated (-?)£([\d,]+)", text).group(2).replace(",", ""))


def _csv(page, tmp_path: Path) -> dict:
    with page.expect_download(timeout=30_000) as dl:
        page.get_by_text("Numbers (CSV)").click()
    path = tmp_path / "whatif.csv"
    dl.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return {
        (r["measure"], r["statistic"]): float(r["value"] or "nan")
        for r in rows
        if r["place"] == "all"
    }


def _type(page, selector: str, text: str) -> None:
    """Replace a box's text key by key, as the room does (the page follows every change)."""
    from playwright.sync_api import expect

    box = page.locator(f"{selector} input").first
    box.click()
    box.press("Control+a")
    box.press_sequentially(text)
    expect(box).to_have_value(text)


def _refused(page, locator: str, text: str) -> None:
    """A visible message saying why, and no stack trace anywhere on the page."""
    from playwright.sync_api import expect

    message = page.locator(locator).filter(has_text=text)
    expect(message).to_be_visible(timeout=WAIT)
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body, body[-2000:]


def _shoot(page, tmp_path: Path, name: str) -> None:
    """Both columns scrolled to the top, then a screenshot (also copied to /tmp to look at)."""
    page.locator(".wk-controls, .wk-results").evaluate_all(
        "cols => cols.forEach(c => c.scrollTop = 0)"
    )
    page.screenshot(path=str(tmp_path / name))
    shutil.copy(tmp_path / name, Path("/tmp") / f"workshop_{name}")


SUGGESTED = {  # a frontier's mix at £200,000 a year: (intervention, places) -> amount
    (NAME, "Swindon"): 120_000,
    ("mentoring", "Wiltshire"): 60_000,
}


def _frontier(folder: Path) -> Path:
    """An svsim optimise folder for Wiltshire and Swindon, as the page reads it: the frontier at
    £0, £200,000 and £400,000 a year, its options and its manifest."""
    import pandas as pd

    a = folder / "analysis"
    a.mkdir(parents=True)
    labels = [f"{n} in {p}" for n, p in SUGGESTED]
    pd.DataFrame(
        [
            {"budget": b, **{lab: v * k for lab, v in zip(labels, SUGGESTED.values(), strict=True)}}
            for b, k in ((0, 0), (200_000, 1), (400_000, 2))
        ]
    ).to_csv(a / "frontier.csv", index=False)
    pd.DataFrame([{"intervention": n, "places": p} for n, p in SUGGESTED]).to_csv(
        a / "options.csv", index=False
    )
    (a / "manifest.json").write_text('{"job": "optimise", "area": "wiltshire_swindon"}')
    return folder


def _scenario(budget: int, **allocation) -> str:
    return yaml.safe_dump({"name": "bad", "budget_per_year": budget, "allocations": [allocation]})


@pytest.mark.slow
def test_workshop_page_in_chromium(tmp_path):
    from browser import ARGS, CHROMIUM, _allowed, _require_chromium, blocking_router, drop_file

    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    frontier = _frontier(tmp_path / "optimised")
    proc, url = _start(tmp_path, f"token={TOKEN}", f"scenario_folders=['{allowed}']",
                       f"suggest_from={frontier}")  # fmt: skip
    assert url.endswith(f"/?token={TOKEN}")
    blocked: list[str] = []
    route = blocking_router(blocked)
    first_year = _conf()["start_year"]

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page(
                    viewport={"width": 1600, "height": 1000}, accept_downloads=True
                )
                page.route("**/*", route)
                page.on(
                    "websocket",
                    lambda ws: (
                        None
                        if _allowed(ws.url.replace("ws", "http", 1))
                        else blocked.append(ws.url)
                    ),
                )
                # without the token: no page, whichever way it is asked for
                bare = url.split("?")[0]
                stranger = browser.new_page()
                stranger.route("**/*", route)
                answer = stranger.goto(bare)
                assert answer.status == 403
                assert "needs its access link" in stranger.locator("body").inner_text()
                assert stranger.locator(".workshop").count() == 0
                stranger.close()
                with pytest.raises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(bare + "?token=wrong", timeout=30)
                assert refused.value.code == 403 and b"solara" not in refused.value.read()

                page.goto(url)
                ready = page.locator(".workshop-ready")
                ready.wait_for(timeout=180_000)  # the comparator's runs, then the first answer
                before = _total(page)
                assert before == _start_total()  # the sliders left the starting amounts alone
                comparator = _csv(page, tmp_path)
                key = ("serious_violence_true", "scenario_mean")
                assert comparator[key] == comparator[("serious_violence_true", "comparator_mean")]

                # one slider step: the total rises by exactly the step, the answer follows
                slider = page.locator(f'[role=slider][aria-label="{SLIDER}"]')
                slider.focus()
                slider.press("ArrowRight")
                expect(page.locator(".wk-total-text")).to_contain_text(
                    f"£{before + STEP:,}", timeout=10_000
                )
                assert _total(page) == before + STEP
                expect(ready).to_contain_text(f"£{before + STEP:,} a year", timeout=120_000)
                after = _csv(page, tmp_path)
                assert after[("spend_pv", "mean")] > comparator[("spend_pv", "mean")]
                assert after[key] < after[("serious_violence_true", "comparator_mean")]
                _shoot(page, tmp_path, "workshop.png")

                # the more precise answer: one click, a progress bar counting up, its own design
                page.locator(".wk-precise").click()
                expect(page.locator(".workshop-working")).to_contain_text("%", timeout=120_000)
                bar = page.locator(".workshop-progress")
                expect(bar).to_be_visible()
                assert 0 < float(bar.get_attribute("aria-valuenow")) < 100
                expect(ready).to_contain_text(f"{PRECISE_RUNS} runs", timeout=300_000)

                # a saved what-if's name is shown as text, never run as HTML
                sly = '<img src=x onerror="window.pwned=1"><b>Plan B</b>'
                _type(page, ".wk-save-name", sly)
                page.locator(".wk-save-name input").press("Enter")  # the whole name, committed
                page.wait_for_timeout(500)
                page.locator(".wk-save").click()
                expect(page.locator(".wk-table")).to_contain_text(sly, timeout=WAIT)
                assert page.locator(".wk-table img, .wk-table b").count() == 0
                assert page.evaluate("() => window.pwned") is None

                # typed: over budget, negative, not a number, unknown place -> messages
                amount, places = f".wk-amount-{NAME}", f".wk-places-{NAME}"
                typed = (  # field, text, refusal (None: accepted), shown beside the box too
                    (amount, "900000", f"Over budget: £{before + 900000:,} a year allocated", 0),
                    (amount, "-5000", "an amount cannot be negative (got -£5,000)", 1),
                    (amount, "lots", "must be a number of pounds a year (got 'lots')", 1),
                    (amount, "50000", None, 0),
                    (places, "Narnia", "'Narnia' is not a place in this area", 1),
                    (places, "all", None, 0),
                    (".wk-budget-input", "10000", "against £10,000 - take", 0),
                )
                for field, text, refusal, beside in typed:
                    _type(page, field, text)
                    if refusal is None:
                        expect(page.locator(".workshop-message")).to_have_count(0, timeout=WAIT)
                        continue
                    _refused(page, ".wk-plan-message", refusal)  # at the top of the answers
                    if beside:
                        _refused(page, f".wk-card-{NAME} .wk-card-message", refusal)
                    if text == "900000":
                        expect(page.locator(".wk-total-text")).to_contain_text("over budget by")
                        _shoot(page, tmp_path, "workshop-refused.png")
                _type(page, ".wk-budget-input", "250000")
                expect(page.locator(".workshop-message")).to_have_count(0, timeout=WAIT)
                expect(ready).to_contain_text(f"£{before + STEP:,} a year", timeout=120_000)
                kept = _total(page)

                # loaded YAML, dropped on the page or typed as a path: refused, nothing changes
                zone = page.locator(".solara-file-drop")
                bad = {
                    "over.yaml": (_scenario(250000, intervention=NAME, amount_per_year=400000),
                                  "Over budget"),
                    "negative.yaml": (_scenario(250000, intervention=NAME, amount_per_year=-1),
                                      "cannot be negative"),
                    "narnia.yaml": (_scenario(250000, intervention=NAME, amount_per_year=1,
                                              places=["Narnia"]), "'Narnia' is not a place"),
                    "broken.yaml": ("name: [unclosed\n", "not valid YAML (line"),
                }  # fmt: skip
                for name, (text, refusal) in bad.items():
                    drop_file(zone, name, text)
                    _refused(page, ".wk-load-message", f"{name}: ")
                    _refused(page, ".wk-load-message", refusal)
                    assert _total(page) == kept
                path = allowed / "unknown.yaml"
                path.write_text(_scenario(250000, intervention=NAME, amount_per_year=1,
                                          places=["Atlantis"]))  # fmt: skip
                _type(page, ".wk-load-path", "unknown.yaml")  # loads once the name is complete
                _refused(page, ".wk-load-message", "'Atlantis' is not a place")
                assert _total(page) == kept

                # paths outside the allowed folder: one refusal for all, nothing of any file
                (outside / "secret.yaml").write_text(f"token: {SECRET}\n")
                (allowed / "link.yaml").symlink_to(outside / "secret.yaml")
                with open(allowed / "huge.yaml", "wb") as f:
                    f.truncate(1024**3)  # 1 GB (sparse): refused by its size, never read
                os.environ["HOME"] = str(outside)  # the server's '~' is its own; no matter
                answers = set()
                for typed in (
                    "/etc/passwd",
                    f"{allowed}/../outside/secret.yaml",
                    "~/secret.yaml",
                    "link.yaml",
                    str(outside / "missing.yaml"),
                ):
                    _type(page, ".wk-load-path", typed)
                    page.locator(".wk-load").click()
                    message = page.locator(".wk-load-message")
                    expect(message).to_contain_text("reads only .yaml scenario files", timeout=WAIT)
                    answers.add(message.inner_text())
                    body = page.locator("body").inner_text()
                    assert SECRET not in body and "root:" not in body
                    assert _total(page) == kept
                assert len(answers) == 1, answers
                _type(page, ".wk-load-path", "huge.yaml")
                _refused(page, ".wk-load-message", "over the 256 kB limit; nothing was read")
                page.locator(".wk-load-message").scroll_into_view_if_needed()
                page.screenshot(path=str(tmp_path / "file-refused.png"))
                shutil.copy(tmp_path / "file-refused.png", "/tmp/workshop_file-refused.png")

                # a good file whose money stops before its horizon: loaded, and said plainly
                funded_to = first_year + 4
                path = allowed / "good.yaml"
                path.write_text(
                    yaml.safe_dump(
                        {
                            "name": "good",
                            "budget_per_year": 250000,
                            "allocations": [
                                {
                                    "intervention": NAME,
                                    "amount_per_year": 70000,
                                    "end_year": funded_to,
                                }
                            ],
                            "run": {"years": 7},
                        }
                    )
                )
                _type(page, ".wk-load-path", str(path))  # a whole path inside the folder
                expect(page.locator(".wk-load-note")).to_contain_text("Loaded 'good'", timeout=WAIT)
                expect(page.locator(".wk-total-text")).to_contain_text("£70,000", timeout=WAIT)
                note = page.locator(".wk-funding")
                expect(note).to_contain_text(f"runs to {first_year + 6}", timeout=WAIT)
                expect(note).to_contain_text(f"this what-if is funded to {funded_to} only")
                expect(page.locator(f".wk-funded-{NAME}")).to_contain_text(
                    f"Paid {first_year}-{funded_to}"
                )
                _shoot(page, tmp_path, "workshop-funding.png")
                # "Suggest a mix": the frontier's best mix within the budget fills the cards
                page.locator(".wk-suggest").click()
                note = page.locator(".wk-load-note")
                expect(note).to_contain_text("Suggested: the best mix svsim optimise found for "
                                             "£200,000 a year", timeout=WAIT)  # fmt: skip
                expect(page.locator(".wk-total-text")).to_contain_text("£180,000", timeout=WAIT)
                assert page.locator(f".wk-amount-{NAME} input").input_value() == "120,000"
                assert page.locator(f".wk-places-{NAME} input").input_value() == "Swindon"
                assert page.locator(".wk-places-mentoring input").input_value() == "Wiltshire"
                expect(ready).to_contain_text("£180,000 a year", timeout=120_000)
                _shoot(page, tmp_path, "workshop-suggest.png")
                # the area list names areas as people do; choosing one re-plans the page for it
                page.locator(".wk-area").click()
                page.get_by_role("option", name="Test town (made up)").click()
                expect(page.locator(".wk-head h1")).to_contain_text(
                    "Test town (made up)", timeout=WAIT
                )
                # today's programmes name Wiltshire's places, so the made-up town starts from
                # no new funding, says so, and answers afresh (not for the file's £70,000)
                expect(page.locator("body")).to_contain_text("compared with no new funding")
                expect(ready).to_contain_text("for £0 a year allocated", timeout=120_000)
                assert page.locator(".wk-suggest").count() == 0  # its frontier is Wiltshire's
                _shoot(page, tmp_path, "workshop-area.png")
                body = page.locator("body").inner_text()
                assert "Traceback" not in body and 'File "' not in body
                log = (tmp_path / "workshop.log").read_text()
                assert "Traceback" not in log, log[-3000:]  # no handler failed on the way
            finally:
                browser.close()
    finally:
        os.kill(proc.pid, signal.SIGINT)  # stop the app by its own process id
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    assert blocked == []
    log = (tmp_path / "workshop.log").read_text()
    assert "Could not load URL" not in log  # nothing fetched from a CDN by the server either
