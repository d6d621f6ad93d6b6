"""Stopping (experiments/stopping.py): Ctrl-C or SIGTERM ends a job and every process it started
within seconds, says what was kept, exit 130; a chunked job's main process killed by SIGKILL
leaves nothing computing. Each job runs in a session of its own with a marker in its environment,
so its whole tree is found even after re-parenting (bench/stop_time.py)."""

from __future__ import annotations

import json
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
