"""Stopping (experiments/stopping.py): Ctrl-C or SIGTERM ends a job and every process it started
within seconds, says what was kept, exit 130; a chunked job's main process killed by SIGKILL
leaves nothing computing. Each job runs in a session of its own with a marker in its environment,
so its whole tree is found even after re-parenting (bench/stop_time.py)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import manifests, svsim, town_plan
from svsim.experiments import chunks as ch
from svsim.experiments import stopping
from svsim.experiments.bench.stop_time import kill_marked, marked, seconds_until_gone, send
from svsim.experiments.bench.stop_time import start_marked as start

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /proc, prctl")


def plan(tmp_path: Path) -> Path:
    return town_plan(tmp_path, "Mentoring across the test town.", 200000, {"mentoring": 200000})


def compare_args(tmp_path: Path, out: Path) -> list[str]:
    """A test-town compare of about 30 s on 2 workers."""
    return [
        "compare", "area=test_town", "comparator=no_new_funding",
        f"scenarios=[no_new_funding,{plan(tmp_path)}]", "replicates=12", "jobs=2", f"out={out}",
    ]  # fmt: skip


def sweep_args(tmp_path: Path, out: Path) -> list[str]:
    """A test-town sweep of 6 chunks on 2 local workers."""
    return [
        "sweep", "area=test_town", "comparator=no_new_funding", f"alternative={plan(tmp_path)}",
        "grid={budget_scale:[0.5,1,2],params.offending.exposure_log_rr:[0.3,0.6]}",
        "replicates=2", "years=1", "burn_in_years=1", "population_scale=1", "chunks=6", "jobs=2",
        f"out={out}",
    ]  # fmt: skip


CALIBRATION = ["years=1", "burn_in_years=1", "population_scale=0.02", "start_year=2021"]
TWO_FREE = (
    "+free={params:{offending:{base_hazard:{low:2e-4,high:8e-4,log:true}},"
    "justice:{record_injury:{low:0.3,high:0.6}}}}"
)


def calibrate_args(out: Path, *extra: str) -> list[str]:
    """A small calibration of Wiltshire at scale 0.02 on 2 local workers, no recovery runs."""
    return [
        "calibrate", *CALIBRATION, "chunks=2", "jobs=2", "recovery_truths=0", f"out={out}", *extra
    ]  # fmt: skip


def workshop_args(*extra: str) -> list[str]:
    """The page for the test town on any free port, its comparator's 40 runs (at full scale,
    about a minute) started with the server."""
    return [
        "workshop", "area=test_town", "port=0", "comparator=no_new_funding",
        "start_from=no_new_funding", "population_scale=1", "replicates=40", *extra,
    ]  # fmt: skip


STOPPED = (
    "svsim workshop: the page stopped; it keeps nothing (take-away files are saved by the browser)"
)


def children(pid: int, name: str) -> list[int]:
    """The running children of a process whose command line contains `name`."""
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(stat[1]) == pid and stat[0] not in "ZX" and name in cmd:
            out.append(int(p))
    return out


def wait_for(condition, timeout: float, proc: subprocess.Popen) -> None:
    """Poll until `condition()` holds; fail if the job ends or time runs out first."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the job ended first (exit {proc.returncode})"
        assert time.monotonic() < deadline, "timed out waiting for the job"
        time.sleep(0.1)


def last_line(log: Path) -> str:
    return log.read_text().strip().splitlines()[-1]


@linux
@pytest.mark.parametrize(
    "sig, to", [(signal.SIGINT, "group"), (signal.SIGTERM, "main")], ids=["ctrl-c", "sigterm"]
)
def test_a_signal_5_s_into_compare_ends_the_whole_tree_within_5_s(tmp_path, sig, to):
    """Ctrl-C (to the whole group, as a terminal) or `kill PID`: 130, one line, no folder."""
    out, log = tmp_path / "out", tmp_path / "stderr.txt"
    with open(log, "w") as fh:
        proc, token = start(compare_args(tmp_path, out), stdout=fh, stderr=subprocess.STDOUT)
    try:
        started = time.monotonic()
        # 5 s in, and the workers are there (a busy machine starts them later)
        wait_for(lambda: time.monotonic() - started >= 5 and len(marked(token)) >= 3, 120, proc)
        send(proc, sig, to)
        gone = seconds_until_gone(token, proc, 30)
    finally:
        kill_marked(token)
    assert gone is not None and gone < 5, gone
    assert proc.wait() == 130
    assert last_line(log) == "svsim compare: interrupted; no run folder was written"
    assert "Traceback" not in log.read_text()
    assert not list(tmp_path.glob("*out*")), list(tmp_path.iterdir())  # no folder, temp or lock


@pytest.mark.slow
@linux
def test_ctrl_c_ends_a_chunked_job_keeps_its_finished_chunks_and_a_rerun_finishes(tmp_path):
    out, log = tmp_path / "sweep", tmp_path / "stderr.txt"
    with open(log, "w") as fh:
        proc, token = start(sweep_args(tmp_path, out), stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: len(manifests(out)) >= 1, 600, proc)
        send(proc, signal.SIGINT, "group")
        gone = seconds_until_gone(token, proc, 30)
    finally:
        kill_marked(token)
    assert gone is not None and gone < 5, gone
    assert proc.wait() == 130
    kept = {m["chunk"]: m["launch"] for m in manifests(out)}
    assert 1 <= len(kept) < 6, kept
    line = last_line(log)
    assert line == (
        f"svsim sweep: interrupted; {len(kept)} of 6 chunks finished and kept in {out}; "
        "run the same command again to continue"
    ), line
    assert not (out / "analysis").exists()

    r = svsim(*sweep_args(tmp_path, out))
    assert r.returncode == 0, r.stderr[-3000:]
    after = {m["chunk"]: m["launch"] for m in manifests(out)}
    assert len(after) == 6 and {c: after[c] for c in kept} == kept  # the kept ones not redone
    assert (out / "analysis" / "sweep.csv").is_file()


@linux
def test_sigkill_of_a_chunked_jobs_main_process_leaves_nothing_computing(tmp_path):
    """The launcher is in a session of its own, so only the kernel's parent-death signal can
    tell it svsim is gone; it then ends its group."""
    out = tmp_path / "sweep"
    proc, token = start(
        sweep_args(tmp_path, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: any(out.glob("chunks/.chunk-*.incomplete-*")), 600, proc)  # computing
        proc.send_signal(signal.SIGKILL)  # the main process only
        gone = seconds_until_gone(token, proc, 10)
    finally:
        kill_marked(token)
    assert gone is not None, "processes of the killed job were still running after 10 s"


def running(pid: int) -> bool:
    """Whether a process runs (a zombie, waiting to be reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False


@linux
@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_worker_pool_ends_its_workers_at_once_on_an_interrupt_or_error(error):
    with pytest.raises(error), stopping.worker_pool(2) as pool:
        futures = [pool.submit(time.sleep, 60) for _ in range(6)]
        deadline = time.monotonic() + 60
        while len(pool._processes) < 2 or not all(f.running() for f in futures[:2]):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pids = list(pool._processes)
        start_time = time.monotonic()
        raise error
    assert time.monotonic() - start_time < 3
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline and (
        any(map(running, pids)) or not all(f.done() for f in futures)
    ):
        time.sleep(0.05)
    assert not any(map(running, pids)), pids
    assert all(f.done() for f in futures)  # none left queued or running


def test_an_interrupted_slurm_launch_names_the_scancel_that_stops_its_array(tmp_path):
    slurm = ["hydra/launcher=submitit_slurm", "hydra.launcher.partition=compute"]
    (tmp_path / "chunks").mkdir()
    since = time.time() - 1
    name = ch._kept(tmp_path, 4, "abc", slurm, since)
    assert name == (
        f"interrupted; 0 of 4 chunks finished and kept in {tmp_path}; run the same command again "
        "to continue; the SLURM array runs on: stop it with scancel --name=svsim-chunks"
    )
    (tmp_path / "logs" / "hydra" / ".submitit" / "4242_1").mkdir(parents=True)
    assert ch._kept(tmp_path, 4, "abc", slurm, since).endswith("stop it with scancel 4242")
    done = tmp_path / "chunks" / "chunk-0000"
    done.mkdir()
    (done / "manifest.json").write_text(json.dumps({"launch": "abc", "slurm_job_id": "77_0"}))
    text = ch._kept(tmp_path, 4, "abc", slurm, since)
    assert re.search(r"; 1 of 4 chunks .* stop it with scancel 4242 77$", text), text
    assert "scancel" not in ch._kept(tmp_path, 4, "abc", ["hydra/launcher=joblib"], since)
    assert stopping.describe(KeyboardInterrupt()) == "interrupted; no run folder was written"


@linux
def test_ctrl_c_in_a_calibration_wave_ends_it_and_keeps_its_finished_chunks(tmp_path):
    """The wave's chunks run through the chunk launcher: it and its workers end, and the line
    counts the wave's finished chunks."""
    out, log = tmp_path / "cal", tmp_path / "stderr.txt"
    args = calibrate_args(out, "~free", TWO_FREE, "waves=[12,10]")
    with open(log, "w") as fh:
        proc, token = start(args, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wave = out / "wave-1"
        wait_for(lambda: any(wave.glob("chunks/.chunk-*.incomplete-*")), 300, proc)  # computing
        send(proc, signal.SIGINT, "group")
        gone = seconds_until_gone(token, proc, 30)
    finally:
        kill_marked(token)
    assert gone is not None and gone < 10, gone
    assert proc.wait() == 130
    done = len(manifests(wave))
    assert last_line(log) == (
        f"svsim calibrate: interrupted; {done} of 2 chunks finished and kept in {wave}; "
        "run the same command again to continue"
    ), last_line(log)
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
@linux
def test_sigterm_while_calibrate_fits_its_emulators_ends_the_fit_and_its_workers(tmp_path):
    """The emulators (a Gaussian process per row, 23 free parameters) are fitted by joblib's
    loky workers, children of svsim: `kill PID` during the fit ends them at once, and the line
    says the wave's runs are kept."""
    out, log = tmp_path / "cal", tmp_path / "stderr.txt"
    with open(log, "w") as fh:
        proc, token = start(
            calibrate_args(out, "waves=[24,10]"), stdout=fh, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: children(proc.pid, "loky"), 900, proc)  # the fit has started
        assert len(manifests(out / "wave-1")) == 2
        assert not (out / "wave-1" / "emulator.joblib").exists()
        send(proc, signal.SIGTERM, "main")
        gone = seconds_until_gone(token, proc, 30)
    finally:
        kill_marked(token)
    assert gone is not None and gone < 10, gone
    assert proc.wait() == 130
    assert last_line(log) == (
        f"svsim calibrate: interrupted; kept in {out}: wave-1 2 of 2 chunks finished; "
        "run the same command again to continue"
    ), last_line(log)
    assert not (out / "wave-1" / "emulator.joblib").exists()


def start_workshop(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str, Path]:
    """Start the page; (process, marker token, log) once it has printed its address."""
    log = tmp_path / "workshop.txt"
    with open(log, "w") as fh:
        proc, token = start(workshop_args(*extra), stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "press Ctrl+C to stop" in log.read_text(), 120, proc)
    except BaseException:
        kill_marked(token)
        raise
    return proc, token, log


@linux
@pytest.mark.parametrize(
    "sig, to", [(signal.SIGINT, "group"), (signal.SIGTERM, "main")], ids=["ctrl-c", "sigterm"]
)
def test_a_signal_ends_the_workshop_page_while_it_simulates_within_10_s(tmp_path, sig, to):
    """Stopped while it simulates the comparator's runs (a thread of the one process): 130 and
    one line saying it stopped."""
    proc, token, log = start_workshop(tmp_path)
    try:
        time.sleep(2)  # well into the comparator's runs
        send(proc, sig, to)
        gone = seconds_until_gone(token, proc, 30)
    finally:
        kill_marked(token)
    assert gone is not None and gone < 10, gone
    assert proc.wait() == 130
    assert last_line(log) == STOPPED, last_line(log)
    assert "Traceback" not in log.read_text()


@pytest.mark.slow
@linux
def test_sigterm_ends_the_workshop_page_while_a_browser_waits_for_a_what_if(tmp_path):
    """A what-if runs in one of Solara's task threads, which the interpreter waits for at exit:
    the server tells it to stop, so `kill PID` ends the page within seconds, not after the
    what-if."""
    from browser import ARGS, CHROMIUM, _require_chromium

    _require_chromium()
    from playwright.sync_api import sync_playwright

    proc, token, log = start_workshop(tmp_path, "prewarm=false")  # the what-if does it all
    url = re.search(r"workshop: (http://\S+)", log.read_text()).group(1)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page()
                page.goto(url)
                page.locator(".workshop-progress").first.wait_for(timeout=120_000)
                time.sleep(2)
                assert proc.poll() is None
                send(proc, signal.SIGTERM, "main")
                gone = seconds_until_gone(token, proc, 30)
            finally:
                browser.close()
    finally:
        kill_marked(token)
    assert gone is not None and gone < 10, gone
    assert proc.wait() == 130
    assert last_line(log) == STOPPED, last_line(log)


def test_a_ctrl_c_that_hydra_wrapped_stops_as_an_interrupt_not_as_bad_input(monkeypatch):
    """Hydra wraps a Ctrl-C inside composition in ConfigCompositionException (seen: exit 2 and
    'error: ConfigCompositionException' when Ctrl-C came 3.5 s into compare)."""
    import hydra
    from hydra.errors import ConfigCompositionException
    from svsim.experiments import config

    def interrupted_compose(**kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ConfigCompositionException() from exc

    monkeypatch.setattr(hydra, "compose", interrupted_compose)
    with pytest.raises(KeyboardInterrupt):
        config.compose("run", ["area=test_town"])
