"""Run folders: complete or absent. Built under a temporary name (`.NAME.incomplete-PID`, owned
by the rule in ownership.py), renamed on success; a dead owner's temporary folders are cleaned."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path

from . import ownership
from .config import ConfigError
from .ownership import owner, owner_alive  # noqa: F401  (owner_alive: re-exported)
from .ownership import start_time as _start_time  # noqa: F401  (re-exported)

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
    the owner; run_folder keeps its mtime as a heartbeat), before any work; a second claim is
    refused in one line. A gone owner's lock and temporary folder (ownership.py's rule) are
    cleaned, under a takeover lock, so two claimants cannot both do it."""
    lock = out.parent / f".{out.name}.lock"
    me = owner()
    for _ in range(3):
        if _create(lock, me):
            return lock
        held = _read_owner(lock)
        if held is None:
            continue  # released meanwhile: try again
        if held and not _lock_gone(lock, held):
            raise ConfigError(
                f"out={str(out)!r}: another run is writing this folder (host {held.get('host')}, "
                f"pid {held.get('pid')}, since {held.get('since')}); choose another folder"
            )
        takeover = lock.with_name(lock.name + ".takeover")
        if not _create(takeover, me):
            stuck = _read_owner(takeover)
            if stuck is not None and (not stuck or _lock_gone(takeover, stuck)):
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


def _lock_gone(lock: Path, held: dict) -> bool:
    """Whether a lock's owner is gone: on this host and dead, or its heartbeat (the lock's mtime)
    older than ownership.STALE_AFTER; a lock removed meanwhile is not gone (claim again)."""
    try:
        beat = lock.stat().st_mtime
    except OSError:
        return False
    return ownership.gone(held, beat) is not None


def _temporary(out: Path, pid: int) -> Path:
    return out.parent / f".{out.name}.incomplete-{pid}"


@contextmanager
def run_folder(out: Path, replace: bool = False):
    """Claim `out` (refused if another run holds it), yield a temporary folder beside it, owned
    (ownership.py) while the block runs, and rename that to `out` only if the block succeeds.
    Stale temporary folders beside it are cleaned first. An existing `out` is refused, or with
    replace=True (a re-analysis) replaced on success."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = claim(out)
    tmp = _temporary(out, os.getpid())
    try:
        if not replace:
            refuse_existing(out)  # checked under the claim, so no other run can finish it now
        ownership.clean_stale(out.parent, ".*.incomplete-*")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        with ownership.owned(tmp, also=[lock]) as lease:
            yield tmp
            lease.release()
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
