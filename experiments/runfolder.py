"""Run folders: complete or absent. Built under a temporary name, renamed on success."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path

from .config import ConfigError

PACKAGES = ("svsim", "mesa", "numpy", "pandas", "scipy", "pyarrow", "networkx", "hydra-core")


def default_out(kind: str, label: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path.cwd() / "results" / f"{kind}-{stamp}-{label}"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def code_revision() -> str:
    """The git commit of the code (with '+dirty' for uncommitted changes), if it is a checkout."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        return rev + ("+dirty" if dirty.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def refuse_existing(out: Path) -> None:
    """Refuse an `out` that already exists."""
    if out.resolve().exists():
        raise ConfigError(f"out={str(out.resolve())!r}: already exists; choose another folder")


def _start_time(pid: int) -> str | None:
    """When a process started (boot id and clock ticks since boot), to tell a live owner from a
    reused pid; None where /proc cannot say."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        return f"{boot}:{stat.rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return None


def owner() -> dict:
    """This process as the owner of a folder: (host, pid, start time)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _start_time(pid),
            "since": datetime.now().isoformat(timespec="seconds")}  # fmt: skip


def owner_alive(who: dict) -> bool:
    """False only when the owner is certainly gone: on this host, its pid dead or reused.
    An owner on another host (a SLURM node) is taken to be alive."""
    if who.get("host") != socket.gethostname():
        return True
    pid = who.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    started = _start_time(pid)
    return started is None or who.get("started") in (None, started)


def _read_owner(lock: Path) -> dict | None:
    try:
        return json.loads(lock.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable (locks are written whole): no owner


def _create(lock: Path, record: dict) -> bool:
    """Create `lock` holding `record`, exclusively and whole (written aside, then hard-linked
    into place, which fails if it exists: atomic on local disks and NFS alike); False if it
    already exists."""
    aside = lock.with_name(f"{lock.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    aside.write_text(json.dumps(record))
    try:
        os.link(aside, lock)
        return True
    except FileExistsError:
        return False
    finally:
        aside.unlink(missing_ok=True)


def claim(out: Path) -> Path:
    """Claim `out` for this process with an exclusive lock file beside it (`.NAME.lock`, holding
    the owner), before any work; a second claim is refused in one line. A dead owner's lock and
    temporary folder are cleaned (under a takeover lock, so two claimants cannot both do it)."""
    lock = out.parent / f".{out.name}.lock"
    me = owner()
    for _ in range(3):
        if _create(lock, me):
            return lock
        held = _read_owner(lock)
        if held is None:
            continue  # released meanwhile: try again
        if held and owner_alive(held):
            raise ConfigError(
                f"out={str(out)!r}: another run is writing this folder (host {held.get('host')}, "
                f"pid {held.get('pid')}, since {held.get('since')}); choose another folder"
            )
        takeover = lock.with_name(lock.name + ".takeover")
        if not _create(takeover, me):
            stuck = _read_owner(takeover)
            if stuck is not None and not (stuck and owner_alive(stuck)):
                takeover.unlink(missing_ok=True)  # a claimant that died while taking over
            continue
        try:
            if _read_owner(lock) == held:
                if isinstance(held.get("pid"), int):
                    shutil.rmtree(_temporary(out, held["pid"]), ignore_errors=True)
                lock.unlink(missing_ok=True)
        finally:
            takeover.unlink(missing_ok=True)
    raise ConfigError(f"out={str(out)!r}: could not claim the folder; another run holds it")


def _temporary(out: Path, pid: int) -> Path:
    return out.parent / f".{out.name}.incomplete-{pid}"


@contextmanager
def run_folder(out: Path, replace: bool = False):
    """Claim `out` (refused if another run holds it), yield a temporary folder beside it, and
    rename that to `out` only if the block succeeds. An existing `out` is refused, or with
    replace=True (a re-analysis) replaced on success."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = claim(out)
    tmp = _temporary(out, os.getpid())
    try:
        if not replace:
            refuse_existing(out)  # checked under the claim, so no other run can finish it now
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        yield tmp
        old = out.parent / f".{out.name}.replaced-{os.getpid()}"
        if replace and out.exists():
            os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        lock.unlink(missing_ok=True)


def write_manifest(folder: Path, **fields) -> None:
    manifest = {
        "status": "complete",
        "created": datetime.now().isoformat(timespec="seconds"),
        "versions": versions(),
        "code_revision": code_revision(),
        **fields,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")


class Stopwatch:
    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
