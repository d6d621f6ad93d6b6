"""One ownership rule for in-progress folders (experiments/ownership.py): a folder is cleaned only
when its owner is on this host and gone, or its heartbeat is older than the stated limit; a re-run
of a chunked job waits for chunks another live owner computes instead of deleting them."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import dead_pid, fake_owner
from svsim.experiments import chunks as ch
from svsim.experiments import ownership
from svsim.experiments.ownership import clean_stale, is_stale, owned, owner, start_time

REMOTE = {"host": "node042.cluster", "pid": 4242, "started": None, "slurm_job_id": "777_1"}
HERE = socket.gethostname()


def age(folder: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    for p in (folder / ownership.BEAT, folder):
        if p.exists():
            os.utime(p, (stamp, stamp))


OLD = ownership.STALE_AFTER + 60  # a heartbeat older than the limit


@pytest.mark.parametrize(
    "who, beat_age, stale",
    [
        (REMOTE, 0, False),  # another host, fresh heartbeat: a SLURM task at work
        (REMOTE, OLD, True),  # another host, heartbeat past the limit
        (lambda: {**owner(), "pid": dead_pid()}, 0, True),  # this host, pid gone
        (lambda: owner(), 0, False),  # this host, alive (this test process)
        (lambda: owner(), OLD, True),  # alive but silent past the limit
        (lambda: {**owner(), "started": "another-boot:0"}, 0, True),  # pid recycled
        (None, 0, False),  # no owner.json, just made
        (None, OLD, True),  # no owner.json, untouched past the limit
    ],
    ids=[
        "remote fresh", "remote silent", "local dead pid", "local live", "local silent",
        "recycled pid", "no owner fresh", "no owner old",
    ],
)  # fmt: skip
def test_the_rule(tmp_path, who, beat_age, stale):
    record = who() if callable(who) else who
    folder = fake_owner(tmp_path / ".out.incomplete-1", record, beat_age)
    assert is_stale(folder) is stale
    assert clean_stale(tmp_path, ".*.incomplete-*") == ([folder] if stale else [])
    assert folder.exists() is not stale


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="Linux: /proc")
def test_an_owner_that_exited_but_is_not_reaped_yet_is_gone():
    zombie = subprocess.Popen(["sleep", "0"])
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.01)
        assert not ownership.owner_alive({**owner(), "pid": zombie.pid, "started": None})
    finally:
        zombie.wait()


def test_the_recorded_start_time_is_this_process_s_from_proc():
    me = owner()
    assert me["host"] == HERE and me["pid"] == os.getpid()
    if Path("/proc/self/stat").exists():
        assert me["started"] and me["started"] == start_time(os.getpid())
        assert start_time(dead_pid()) is None


def test_owned_writes_the_owner_beats_and_release_removes_its_files(tmp_path, monkeypatch):
    monkeypatch.setattr(ownership, "HEARTBEAT", 0.01)
    folder = tmp_path / ".x.incomplete-1"
    with owned(folder) as lease:
        who = json.loads((folder / ownership.OWNER).read_text())
        assert {k: who[k] for k in ("host", "pid")} == {"host": HERE, "pid": os.getpid()}
        age(folder, OLD)
        assert is_stale(folder)  # silent past the limit, until the heartbeat comes
        deadline = time.monotonic() + 30
        while is_stale(folder):
            assert time.monotonic() < deadline, "the heartbeat never refreshed"
            time.sleep(0.01)
        lease.release()
        assert sorted(p.name for p in folder.iterdir()) == []
        assert not lease._thread.is_alive()
        assert not is_stale(folder)  # a released folder is judged by its own (fresh) mtime
    assert not lease._thread.is_alive()


def test_clean_stale_logs_what_it_removes_and_why(tmp_path, caplog):
    fake_owner(tmp_path / ".a.incomplete-1", {**owner(), "pid": dead_pid()})
    fake_owner(tmp_path / ".b.incomplete-2", REMOTE, OLD)
    with caplog.at_level(logging.INFO, logger="svsim.ownership"):
        removed = clean_stale(tmp_path, ".*.incomplete-*")
    assert [p.name for p in removed] == [".a.incomplete-1", ".b.incomplete-2"]
    text = caplog.text
    assert ".a.incomplete-1" in text and "is gone" in text
    assert "node042.cluster" in text and "777_1" in text and "min ago" in text


# --- chunked jobs -------------------------------------------------------------------------------

SWEEP = "svsim.experiments.analysis.sweep:evaluate_chunk"


def chunk_folder(tmp_path: Path, n: int = 3, evaluator: str = SWEEP) -> Path:
    folder = tmp_path / "job"
    design = {"job": "test", "evaluator": evaluator, "chunks": ch.cut(n, n), "seed": 0}
    ch.prepare(folder, design, np.arange(float(n))[:, None])
    return folder.resolve()


def finish(folder: Path, i: int, host: str) -> None:
    """A chunk as an owner finishes it (what run_chunk leaves)."""
    d = ch.chunk_dir(folder, i)
    d.mkdir()
    (d / "manifest.json").write_text(json.dumps({"chunk": i, "host": host}))


def chunk_tmp(folder: Path, i: int, who: dict | None, beat_age: float = 0) -> Path:
    name = f".chunk-{i:04d}.incomplete-{(who or {}).get('host')}-{(who or {}).get('pid')}"
    return fake_owner(folder / "chunks" / name, who, beat_age)


@pytest.fixture
def launches(monkeypatch):
    """execute()'s launches, recorded; each finishes its chunks here. Waiting fails unless a
    test says what happens meanwhile (so a wrong wait fails rather than hangs)."""
    seen = []

    def never(seconds):
        raise AssertionError("execute() waited for a chunk that nobody else computes")

    monkeypatch.setattr(ch, "_pause", never)

    def launch(folder, todo, n_chunks, overrides, jobs):
        seen.append(list(todo))
        for i in todo:
            finish(folder, i, HERE)
        return "id", 0

    monkeypatch.setattr(ch, "launch", launch)
    return seen


def host_of(folder: Path, i: int) -> str:
    return json.loads((ch.chunk_dir(folder, i) / "manifest.json").read_text())["host"]


def test_a_live_remote_owners_chunk_is_waited_for_not_deleted_or_launched(
    tmp_path, monkeypatch, launches, caplog
):
    """A SLURM task on another node computes chunk 1: a re-run launches 0 and 2 only, says whose
    chunk it waits for, and keeps the remote's result."""
    folder = chunk_folder(tmp_path)
    remote = chunk_tmp(folder, 1, REMOTE)
    looks = []

    def pause(seconds):
        looks.append(seconds)
        assert remote.exists()  # survived the re-run's cleaning
        if len(looks) == 3:  # the remote task finishes
            finish(folder, 1, REMOTE["host"])
            ownership.shutil.rmtree(remote)

    monkeypatch.setattr(ch, "_pause", pause)
    with caplog.at_level(logging.INFO, logger="svsim"):
        assert ch.execute(folder, 3, [], 1) == []
    assert launches == [[0, 2]]
    assert len(looks) == 3
    assert [host_of(folder, i) for i in range(3)] == [HERE, REMOTE["host"], HERE]
    waiting = [r.getMessage() for r in caplog.records if "waiting for" in r.getMessage()]
    assert len(waiting) == 1, waiting  # said once, not at every look
    assert "chunk-0001" in waiting[0] and "node042.cluster" in waiting[0]
    assert "pid 4242" in waiting[0] and "777_1" in waiting[0]


def test_a_remote_owner_that_falls_silent_is_cleaned_and_its_chunk_computed_here(
    tmp_path, monkeypatch, launches
):
    folder = chunk_folder(tmp_path)
    remote = chunk_tmp(folder, 1, REMOTE)
    monkeypatch.setattr(ch, "_pause", lambda seconds: age(remote, OLD))  # the node died
    assert ch.execute(folder, 3, [], 1) == []
    assert launches == [[0, 2], [1]]
    assert not remote.exists()
    assert host_of(folder, 1) == HERE


@pytest.mark.parametrize(
    "who, beat_age",
    [
        (REMOTE, OLD),
        (lambda: {**owner(), "pid": dead_pid()}, 0),
        (lambda: {**owner(), "started": "another-boot:0"}, 0),
        (None, OLD),
    ],
    ids=["remote silent", "local dead pid", "recycled pid", "no owner old"],
)
def test_a_gone_owners_chunk_is_cleaned_and_launched_at_once(tmp_path, launches, who, beat_age):
    folder = chunk_folder(tmp_path)
    gone = chunk_tmp(folder, 1, who() if callable(who) else who, beat_age)
    assert ch.execute(folder, 3, [], 1) == []
    assert launches == [[0, 1, 2]]
    assert not gone.exists()


def test_a_live_local_owner_is_waited_for(tmp_path, monkeypatch, launches):
    """Another run on this host (this test process stands in for it) computes chunk 2."""
    folder = chunk_folder(tmp_path)
    live = chunk_tmp(folder, 2, owner())

    def pause(seconds):
        assert live.exists()
        finish(folder, 2, "the other run")

    monkeypatch.setattr(ch, "_pause", pause)
    assert ch.execute(folder, 3, [], 1) == []
    assert launches == [[0, 1]]
    assert host_of(folder, 2) == "the other run"


def test_an_interrupt_while_waiting_says_what_still_runs_elsewhere(tmp_path, monkeypatch, launches):
    folder = chunk_folder(tmp_path)
    chunk_tmp(folder, 1, REMOTE)

    def pause(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(ch, "_pause", pause)
    with pytest.raises(ch.stopping.Interrupted) as caught:
        ch.execute(folder, 3, [], 1)
    text = str(caught.value)
    assert "2 of 3 chunks finished" in text and "chunk-0001" in text and "777_1" in text


def evaluate_as_a_second_owner(design, rows, folder, tmp):
    """An evaluator during which another owner finishes the same chunk first."""
    (tmp / "mine.txt").write_text("second")
    finish(folder, 0, "the first owner")


def test_a_chunk_finished_twice_keeps_the_first_complete_one(tmp_path, monkeypatch):
    name = f"{__name__}:evaluate_as_a_second_owner"
    monkeypatch.setattr(ch, "EVALUATORS", ch.EVALUATORS | {name})
    folder = chunk_folder(tmp_path, 1, name)
    assert ch.run_chunk(folder, 0) == ch.chunk_dir(folder, 0)
    assert host_of(folder, 0) == "the first owner"
    assert not (ch.chunk_dir(folder, 0) / "mine.txt").exists()
    assert list((folder / "chunks").iterdir()) == [ch.chunk_dir(folder, 0)]  # no temp, no failed


def evaluate_and_look(design, rows, folder, tmp):
    """An evaluator that records how its chunk's folder is owned while it runs."""
    (tmp / "seen.json").write_text(json.dumps(ownership.read_owner(tmp)))


def test_run_chunk_owns_its_temporary_folder_and_leaves_no_owner_files(tmp_path, monkeypatch):
    name = f"{__name__}:evaluate_and_look"
    monkeypatch.setattr(ch, "EVALUATORS", ch.EVALUATORS | {name})
    monkeypatch.setenv("SLURM_JOB_ID", "99")
    folder = chunk_folder(tmp_path, 1, name)
    done = ch.run_chunk(folder, 0)
    seen = json.loads((done / "seen.json").read_text())
    assert (seen["host"], seen["pid"], seen["slurm_job_id"]) == (HERE, os.getpid(), "99")
    assert seen["started"] == start_time(os.getpid())
    assert sorted(p.name for p in done.iterdir()) == ["manifest.json", "seen.json"]


def test_prepare_cleans_stale_siblings_and_keeps_live_ones(tmp_path):
    dead = fake_owner(tmp_path / ".old-sweep.incomplete-7", {**owner(), "pid": dead_pid()})
    live = fake_owner(tmp_path / ".other-sweep.incomplete-8", REMOTE)
    folder = chunk_folder(tmp_path)
    assert not dead.exists() and live.exists()
    inside = sorted(p.name for p in folder.iterdir())
    assert inside == ["chunks", "design.json", "logs", "sample.npy"]  # no owner files
