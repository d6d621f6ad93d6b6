"""Run folders are claimed before any work: of two runs into one out=, exactly one writes it and
the other is refused in one line; only a gone owner's leftovers are cleaned (ownership.py's rule:
on this host and dead, or silent past the limit)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO, SLOW, SVSIM, dead_pid, fake_owner
from svsim.experiments import ownership
from svsim.experiments.config import ConfigError
from svsim.experiments.runfolder import _start_time, claim, owner, owner_alive, run_folder


def _write_into(out: str, start, label: str, results) -> None:
    start.wait()
    try:
        with run_folder(Path(out)) as tmp:
            time.sleep(0.3)  # long enough for the other to try while this one works
            (tmp / "who.txt").write_text(label)
        results.put(("ok", label))
    except ConfigError as exc:
        results.put(("refused", str(exc)))


def test_two_processes_one_folder_exactly_one_wins(tmp_path):
    ctx = mp.get_context("fork")
    for i in range(5):
        out = tmp_path / f"out{i}"
        start, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_write_into, args=(str(out), start, name, results))
            for name in ("a", "b")
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        got = sorted(results.get(timeout=5) for _ in procs)
        assert [g[0] for g in got] == ["ok", "refused"], got
        winner = got[0][1]
        assert (out / "who.txt").read_text() == winner
        assert "\n" not in got[1][1] and str(out) in got[1][1]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            f"out{j}" for j in range(i + 1)
        )  # no lock, no temporary folder left behind


def _leftovers(out: Path, who: dict) -> Path:
    (out.parent / f".{out.name}.lock").write_text(json.dumps(who))
    tmp = out.parent / f".{out.name}.incomplete-{who['pid']}"
    tmp.mkdir()
    (tmp / "half.parquet").write_text("half-written")
    return tmp


@pytest.mark.parametrize(
    "who",
    [
        lambda: {**owner(), "pid": dead_pid()},  # same host, pid gone
        lambda: {**owner(), "started": "another-boot:0"},  # same host, pid reused by us
        lambda: {"host": socket.gethostname(), "pid": "junk"},
    ],
    ids=["pid gone", "pid reused", "no pid"],
)
def test_a_dead_owners_leftovers_are_cleaned(tmp_path, who):
    out = tmp_path / "out"
    record = who()
    tmp = _leftovers(out, record)
    assert not owner_alive(record)
    with run_folder(out) as folder:
        (folder / "x").write_text("1")
    assert (out / "x").read_text() == "1"
    if isinstance(record.get("pid"), int):
        assert not tmp.exists()  # a named owner's temporary folder went with its lock
    assert not (tmp_path / ".out.lock").exists()


def test_a_live_owners_folder_is_left_alone(tmp_path):
    out = tmp_path / "out"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.2)
        live = {**owner(), "pid": sleeper.pid, "started": _start_time(sleeper.pid)}
        tmp = _leftovers(out, live)
        with pytest.raises(ConfigError, match="another run is writing this folder"):
            claim(out)
        assert (tmp / "half.parquet").exists()
        remote = {"host": "node042.cluster", "pid": 1, "started": None}
        assert owner_alive(remote)  # another host's owner is never taken for dead
    finally:
        sleeper.kill()
        sleeper.wait()


def test_concurrent_claims_of_a_dead_owners_folder_give_one_owner(tmp_path):
    """Many claimants find the same stale lock at once: exactly one ends up owning it (20
    rounds of 8 threads)."""
    for i in range(20):
        out = tmp_path / f"out{i}"
        _leftovers(out, {**owner(), "pid": dead_pid()})

        def try_claim(_, out=out):
            try:
                return claim(out)
            except ConfigError:
                return None

        with ThreadPoolExecutor(8) as pool:
            won = [c for c in pool.map(try_claim, range(8)) if c is not None]
        assert len(won) == 1, i
        assert owner_alive(json.loads((tmp_path / f".out{i}.lock").read_text()))


def _race(job_args: list[str], out: Path) -> tuple[int, list[str]]:
    procs = [
        subprocess.Popen(
            [*SVSIM, *job_args, f"out={out}", f"seed={seed}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for seed in (0, 5)
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    codes = [p.returncode for p in procs]
    refused = [e for (_, e), c in zip(outs, codes, strict=True) if c == 2]
    assert sorted(codes) == [0, 2], (codes, outs)
    return codes.index(0), refused


REPEATS = {"run": 20 if SLOW else 2, "compare": 5}  # a compare race costs ~15 s here (CI's budget)
JOBS = {
    "run": ["run", "area=test_town", "years=1", "burn_in_years=1"],
    "compare": [
        "compare",
        "scenarios=[status_quo,no_new_funding]",
        "replicates=2",
        "years=1",
        "burn_in_years=1",
        "population_scale=0.01",
    ],
}


@pytest.mark.parametrize("job", ["run", pytest.param("compare", marks=pytest.mark.slow)])
def test_two_concurrent_jobs_into_one_out(tmp_path, job):
    """Repeated (run 20 times in the slow tier, compare 5): exactly one run succeeds, the other
    is refused in one line with exit 2, and the folder holds the winner's seed."""
    for i in range(REPEATS[job]):
        out = tmp_path / f"out{i}"
        winner, refused = _race(JOBS[job], out)
        lines = refused[0].strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"svsim {job}: error: out="), refused
        assert "another run is writing this folder" in lines[0] or "already exists" in lines[0]
        seed = json.loads((out / "manifest.json").read_text())["seed"]
        assert seed == (0, 5)[winner]
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


REMOTE = {"host": "node042.cluster", "pid": 1, "started": None}
SILENT = ownership.STALE_AFTER + 60


def test_a_new_run_folder_cleans_stale_temporary_folders_beside_it_and_keeps_live_ones(tmp_path):
    """Leftovers of other runs into other folders (never claimed again) go once their owner is
    gone by ownership.py's rule; a run still at work elsewhere keeps its folder."""
    gone = [
        fake_owner(tmp_path / ".a.incomplete-1", {**owner(), "pid": dead_pid()}),
        fake_owner(tmp_path / ".b.incomplete-2", {**owner(), "started": "another-boot:0"}),
        fake_owner(tmp_path / ".c.incomplete-3", REMOTE, SILENT),
        fake_owner(tmp_path / ".d.incomplete-4", None, SILENT),
    ]
    kept = [
        fake_owner(tmp_path / ".e.incomplete-5", REMOTE),
        fake_owner(tmp_path / ".f.incomplete-6", owner()),
        fake_owner(tmp_path / ".g.incomplete-7", None),
    ]
    with run_folder(tmp_path / "out") as folder:
        (folder / "x").write_text("1")
        who = json.loads((folder / ownership.OWNER).read_text())
        assert (who["host"], who["pid"]) == (socket.gethostname(), os.getpid())
    assert [p.exists() for p in gone] == [False] * 4
    assert [p.exists() for p in kept] == [True] * 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x"]  # no owner files


def test_a_remote_lock_is_refused_while_it_beats_and_taken_over_once_silent(tmp_path):
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    lock.write_text(json.dumps(REMOTE))
    with pytest.raises(ConfigError, match="another run is writing this folder"):
        claim(out)
    stamp = time.time() - SILENT
    os.utime(lock, (stamp, stamp))
    assert claim(out) == lock
    assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_run_folder_keeps_its_lock_beating(tmp_path, monkeypatch):
    monkeypatch.setattr(ownership, "HEARTBEAT", 0.01)
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    with run_folder(out):
        stamp = time.time() - SILENT
        os.utime(lock, (stamp, stamp))
        deadline = time.monotonic() + 30
        while lock.stat().st_mtime < stamp + 1:
            assert time.monotonic() < deadline, "the lock's heartbeat never refreshed"
            time.sleep(0.01)
    assert not lock.exists()
