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
from pathlib import Path

import pytest
from conftest import REPO

SLIDER = "Social skills training in schools"  # strong evidence; schools are not scaled down
NAME = "social_skills_schools"
STEP = 50000


def _start(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    log = open(tmp_path / "workshop.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "svsim.experiments.cli", "workshop", "port=0", f"step={STEP}"],
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
    match = re.match(r"workshop: (http://127\.0\.0\.1:\d+/)", line)
    if not match:
        proc.kill()
        raise AssertionError(
            f"no address printed: {line!r}; log: {(tmp_path / 'workshop.log').read_text()[-2000:]}"
        )
    return proc, match.group(1)


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
    from playwright.sync_api import expect

    box = page.locator(f"{selector} input").first
    box.click()
    box.press("Control+a")
    box.press_sequentially(text)
    expect(box).to_have_value(text)
    box.press("Enter")


def _messages(page) -> str:
    return " | ".join(page.locator(".workshop-message").all_inner_texts())


@pytest.mark.slow
def test_workshop_page_in_chromium(tmp_path):
    from browser import ARGS, CHROMIUM, _allowed, _require_chromium, blocking_router

    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    proc, url = _start(tmp_path)
    blocked: list[str] = []
    route = blocking_router(blocked)

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
                page.goto(url)
                ready = page.locator(".workshop-ready")
                ready.wait_for(timeout=180_000)  # the comparator's runs, then the first answer
                before = _total(page)
                comparator = _csv(page, tmp_path)

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
                key = ("serious_violence_true", "scenario_mean")
                assert after[key] < after[("serious_violence_true", "comparator_mean")]
                assert comparator[key] == comparator[("serious_violence_true", "comparator_mean")]
                page.screenshot(path=str(tmp_path / "workshop.png"))
                shutil.copy(tmp_path / "workshop.png", "/tmp/workshop_screenshot.png")

                text = page.locator("body").inner_text()
                assert "Traceback" not in text and 'File "' not in text
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
