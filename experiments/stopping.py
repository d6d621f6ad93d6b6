"""One way to stop work: Ctrl-C, SIGTERM and SIGHUP all become KeyboardInterrupt in the main
process, and every local helper it started ends within seconds.

- `install()` (called once by the `svsim` command; `restore()` undoes it) turns SIGTERM and
  SIGHUP into KeyboardInterrupt, so that one path handles all three.
- `worker_pool(n)` is a ProcessPoolExecutor whose workers ignore Ctrl-C (the main process stops
  them) and which, on any exception, cancels its queued work and ends its workers (SIGTERM, then
  SIGKILL after a grace) instead of waiting for running work.
- `start_group(cmd)` starts a launcher (the chunk jobs' Hydra multirun) in a process group of its
  own and `end_group(proc)` ends that whole group (launcher and workers); `lead_group()`, called
  by the launcher itself, makes it end its group when signalled, and (on Linux) when the svsim
  process that started it dies, even by SIGKILL.
- `Interrupted` is a KeyboardInterrupt that says what was kept; `describe()` gives the line the
  `svsim` command prints.
"""

from __future__ import annotations

import ctypes
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

GRACE = 3.0  # seconds between SIGTERM and SIGKILL
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PARENT_ENV = "SVSIM_PARENT_PID"  # how a launcher knows which process it must not outlive
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
NOTHING_KEPT = "interrupted; no run folder was written"


class Interrupted(KeyboardInterrupt):
    """An interrupt that has already stopped its helpers and says what was kept."""


def describe(exc: KeyboardInterrupt) -> str:
    """The one line the `svsim` command prints for an interrupt."""
    return str(exc) if isinstance(exc, Interrupted) and str(exc) else NOTHING_KEPT


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_interrupt(signum, frame) -> None:
    """SIGTERM and SIGHUP handled as Ctrl-C is: one path for every way to stop."""
    raise KeyboardInterrupt


def install() -> dict:
    """Make SIGTERM and SIGHUP raise KeyboardInterrupt in this (the main) process; returns the
    handlers replaced, for `restore` (a job run in-process, as tests do, leaves none behind)."""
    if not _main_thread():
        return {}
    return {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}


def restore(handlers: dict) -> None:
    """Put back the handlers `install` (or another change) replaced."""
    for sig, handler in handlers.items():
        _restore(sig, handler)


def _restore(sig: int, handler) -> None:
    """Put back a handler that signal.signal returned (None: one not set from Python)."""
    signal.signal(sig, signal.SIG_DFL if handler is None else handler)


@contextmanager
def _shielded() -> Iterator[None]:
    """Ignore further stop signals while helpers are being stopped, so that a second Ctrl-C
    cannot leave them half-stopped."""
    if not _main_thread():
        yield
        return
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        restore(old)


shielded = _shielded  # for callers elsewhere that stop helpers of their own (the workshop page)


@contextmanager
def _deaf_children() -> Iterator[None]:
    """Processes started in the block ignore SIGINT (SIG_IGN survives fork and exec), so that a
    terminal's Ctrl-C reaches only the main process; a Ctrl-C arriving meanwhile is held
    (blocked, not ignored) and delivered to this process after the block."""
    if not _main_thread():
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        _restore(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def _worker_signals() -> None:
    """A pool worker: Ctrl-C is the main process's business; SIGTERM and SIGHUP end it at once
    (a forked worker would otherwise inherit the main process's handlers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


class _Pool(ProcessPoolExecutor):
    """A ProcessPoolExecutor whose workers (started within submit) are deaf to Ctrl-C."""

    def submit(self, fn, /, *args, **kwargs):
        with _deaf_children():
            return super().submit(fn, *args, **kwargs)


def end_processes(procs: list, grace: float = GRACE) -> None:
    """SIGTERM multiprocessing processes, wait up to `grace` s for them, SIGKILL the rest. Waits on
    their sentinels, never reaps, so that the pool's own thread may join them meanwhile."""
    for p in procs:
        p.terminate()
    pending, deadline = list(procs), time.monotonic() + grace
    while pending and time.monotonic() < deadline:
        ready = multiprocessing.connection.wait(
            [p.sentinel for p in pending], deadline - time.monotonic()
        )
        pending = [p for p in pending if p.sentinel not in ready]
    for p in pending:
        p.kill()


def _abandon(pool: ProcessPoolExecutor, grace: float) -> None:
    """Cancel the pool's queued work and end its workers without waiting for running work."""
    workers = list((pool._processes or {}).values())  # public (terminate_workers) only in 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    end_processes(workers, grace)


@contextmanager
def worker_pool(max_workers: int, grace: float = GRACE) -> Iterator[ProcessPoolExecutor]:
    """A local process pool for the block: shut down normally when the block ends; on any
    exception (Ctrl-C, SIGTERM, an error) queued work is cancelled and workers are ended, not
    awaited, so that stopping takes seconds, not the rest of the run."""
    pool = _Pool(max_workers=max_workers, initializer=_worker_signals)
    try:
        yield pool
    except BaseException:
        with _shielded():
            _abandon(pool, grace)
        raise
    pool.shutdown()


def start_group(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    """Start a launcher in a session (and process group) of its own, told which process it must
    not outlive: a terminal's Ctrl-C then reaches only svsim, which ends the group itself."""
    env = {**(popen_kwargs.pop("env", None) or os.environ), PARENT_ENV: str(os.getpid())}
    return subprocess.Popen(cmd, start_new_session=True, env=env, **popen_kwargs)


def _signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to a process group; False if the group is empty."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def _group_running(pgid: int) -> bool:
    """Whether any process of the group still runs. Zombies do not count: orphaned workers wait
    there for init to reap them, which some inits do slowly. Without /proc: any member at all."""
    if not os.path.isdir("/proc/self"):
        return _signal_group(pgid, 0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                state, _ppid, group = fh.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state not in ("Z", "X"):
            return True
    return False


def end_group(proc: subprocess.Popen, grace: float = GRACE) -> None:
    """End the process group that `proc` leads (a launcher and its workers): SIGTERM, wait up to
    `grace` s for the group to empty, then SIGKILL what is left."""
    pgid = proc.pid
    if not hasattr(os, "killpg") or pgid == os.getpgrp():  # not a group of its own: as before
        proc.terminate()
        proc.wait()
        return
    with _shielded():
        _signal_group(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()  # reap the leader
            if not _group_running(pgid):
                break
            time.sleep(0.05)
        else:
            _signal_group(pgid, signal.SIGKILL)
        proc.wait()


def _end_own_group(signum, frame) -> None:
    """A launcher's stop signal: SIGTERM its whole group (its workers; it ignores its own), then
    exit. Resource trackers in the group ignore SIGTERM and leave once the others are gone."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    os.killpg(os.getpgrp(), signal.SIGTERM)
    os._exit(128 + signum)


def _die_with_parent(parent: int) -> None:
    """Linux only: have the kernel send this process SIGTERM when its parent dies, even by
    SIGKILL (prctl PR_SET_PDEATHSIG). Done here rather than in a preexec_fn, which is unsafe in a
    parent with threads (tqdm's). Where prctl is missing nothing changes (silently)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0):
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def lead_group() -> None:
    """Called first by a launcher that `start_group` started (it leads its own group): a stop
    signal, or its parent's death, ends the whole group. Elsewhere (a launcher run by hand inside
    someone else's group) nothing changes."""
    parent = os.environ.pop(PARENT_ENV, "")
    if not hasattr(os, "killpg") or os.getpgrp() != os.getpid() or not _main_thread():
        return
    for sig in STOP_SIGNALS:
        signal.signal(sig, _end_own_group)
    if parent.isdigit():
        _die_with_parent(int(parent))
