"""One ownership rule for in-progress folders (a run folder's or a chunk's hidden
`.NAME.incomplete-*` folder, renamed into place when complete).

An owner is (host, pid, process start time), written to `owner.json` in the folder, plus a
heartbeat file (`owner.heartbeat`) whose mtime a daemon thread refreshes every HEARTBEAT (30) s
while the work runs. A folder is stale, and only then removed, when its owner is on this host and
gone (its pid dead, or reused: the start time in /proc differs), or its heartbeat is older than
STALE_AFTER (10 minutes). So an owner on another host (a SLURM task on a compute node) is never
taken for dead while it beats; a folder without owner.json is judged by its own mtime against the
same limit. The hosts sharing a folder must agree on the time to within minutes (NTP), and work
stopped (SIGSTOP, a suspended node) for longer than the limit loses its folder.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

log = logging.getLogger("svsim.ownership")

HEARTBEAT = 30.0  # seconds between heartbeats
STALE_AFTER = 600.0  # seconds: an older heartbeat means the owner is gone, wherever it ran
OWNER = "owner.json"
BEAT = "owner.heartbeat"


def slurm_job_id() -> str | None:
    """This process's SLURM job (JOB_TASK for an array task), if it is one."""
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID")


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first); None without."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    """When a process started (boot id and clock ticks since boot, from /proc/<pid>/stat), to
    tell a live owner from a reused pid; None where /proc cannot say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{boot}:{_stat(pid)[19]}"
    except (OSError, IndexError, TypeError):
        return None


def owner() -> dict:
    """This process as an owner: host, pid, start time (and its SLURM job, if any)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": start_time(pid),
            "since": datetime.now().isoformat(timespec="seconds"),
            "slurm_job_id": slurm_job_id()}  # fmt: skip


def owner_alive(who: dict) -> bool:
    """False only when the owner is certainly gone: on this host, its pid dead or reused.
    An owner on another host (a SLURM node) is taken to be alive (its heartbeat decides)."""
    if who.get("host") != socket.gethostname():
        return True
    pid = who.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    if (_stat(pid) or ["?"])[0] in ("Z", "X"):
        return False  # exited, waiting to be reaped
    started = start_time(pid)
    return started is None or who.get("started") in (None, started)


def describe(who: dict | None) -> str:
    """An owner in a few words for a log line: host, pid and SLURM job."""
    if not who:
        return "an unknown owner"
    slurm = f" SLURM job {who['slurm_job_id']}" if who.get("slurm_job_id") else ""
    return f"host {who.get('host')} pid {who.get('pid')}{slurm}"


def gone(who: dict | None, beat: float, now: float | None = None) -> str | None:
    """The rule, for an owner record (None: no owner) whose heartbeat last changed at `beat`
    (a Unix time): why it is gone, or None while it may still be working."""
    age = (time.time() if now is None else now) - beat
    if who and who.get("host") == socket.gethostname() and not owner_alive(who):
        return f"its owner ({describe(who)}) is gone"
    if age > STALE_AFTER:
        whose = f"its owner's ({describe(who)}) heartbeat" if who else "it has no owner and"
        return f"{whose} last changed {age / 60:.0f} min ago (limit {STALE_AFTER / 60:g} min)"
    return None


def read_owner(folder: Path) -> dict | None:
    """The owner record in `folder`, or None (none, or unreadable: written whole, so a reader
    that finds it half-written sees none)."""
    try:
        who = json.loads((folder / OWNER).read_text())
    except (OSError, ValueError):
        return None
    return who if isinstance(who, dict) else None


def _mtime(*paths: Path) -> float | None:
    for p in paths:
        try:
            return p.stat().st_mtime
        except OSError:
            continue
    return None


def staleness(folder: Path) -> str | None:
    """Why `folder` is stale (a line for the log), or None if its owner may still be working."""
    beat = _mtime(folder / BEAT, folder / OWNER, folder)
    if beat is None:
        return None  # gone already
    return gone(read_owner(folder), beat)


def is_stale(folder: Path) -> bool:
    """Whether `folder`'s owner is gone by the rule in this module's docstring."""
    return staleness(folder) is not None


def clean_stale(parent: Path, pattern: str) -> list[Path]:
    """Remove the stale folders in `parent` matching `pattern` (a glob); each is logged. Returns
    those removed."""
    removed = []
    for folder in sorted(parent.glob(pattern)):
        if not folder.is_dir() or folder.is_symlink():
            continue
        why = staleness(folder)
        if why is None:
            continue
        log.info("removing %s: %s", folder, why)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class Lease:
    """A folder owned by this process: owner.json, and a heartbeat that a daemon thread refreshes
    (with any `also` paths, such as a lock file) until `release()`."""

    def __init__(self, folder: Path, also: Iterable[Path] = ()):
        self.folder = folder
        self.paths = [folder / BEAT, *also]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat {folder.name}")
        self._thread.daemon = True

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            for p in self.paths:
                with suppress(OSError):
                    os.utime(p)  # never creates: a released folder stays released

    def start(self) -> Lease:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / BEAT).touch()
        aside = self.folder / f".{OWNER}.{os.getpid()}"
        aside.write_text(json.dumps(owner()) + "\n")
        os.replace(aside, self.folder / OWNER)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the heartbeat (the files stay)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def release(self) -> None:
        """Stop the heartbeat and remove the owner's files, just before the folder is renamed
        into place (meanwhile the folder's own fresh mtime keeps it from being judged stale)."""
        self.stop()
        for name in (OWNER, BEAT):
            (self.folder / name).unlink(missing_ok=True)


@contextmanager
def owned(folder: Path, also: Iterable[Path] = ()) -> Iterator[Lease]:
    """Own `folder` (made if need be) inside the block: owner.json written, heartbeat running;
    the heartbeat stops on exit (`Lease.release()` also removes the files)."""
    lease = Lease(folder, also).start()
    try:
        yield lease
    finally:
        lease.stop()
