"""How fast Ctrl-C stops a job: by default the README's main job, a default-sized `svsim compare`
(Wiltshire and Swindon, 20 replicates at scale 0.25, 2 workers) into a temporary folder,
interrupted a few seconds after it starts; prints the seconds until its whole process tree is
gone and the peak number of its processes.

    .venv/bin/python -m svsim.experiments.bench.stop_time [job=compare] [after=5] [signal=INT]
        [to=group] [any override of that job, e.g. area=test_town replicates=12]

`job=calibrate` times `svsim calibrate` the same way (its waves' chunk launcher and workers, or
its emulator fit); `job=workshop` times the what-if page (`port=0`), signalled `after` s after it
printed its address, while it simulates the comparator's runs. `to=group` signals the job's whole
process group, as a terminal's Ctrl-C does; `to=main` only its main process, as `kill PID` does.
The tree is every process carrying a marker in its environment, so workers and launchers are
found even after they change session or are re-parented.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ..config import ConfigError

MARK = "SVSIM_STOP_MARK"
DEFAULTS = {"job": "compare", "after": "5", "signal": "INT", "to": "group"}
JOBS = ("compare", "calibrate", "workshop")
READY = {"workshop": "press Ctrl+C to stop"}  # counted from this line, not from the start
SVSIM = [sys.executable, "-m", "svsim.experiments.cli"]


def _marked_by(pid: str, needle: bytes) -> bool:
    """Whether a live (not zombie) process carries the marker in its environment."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX":
            return False
        return needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False


def marked(token: str) -> list[int]:
    """The live processes started under `token` (start_marked): a job's whole tree."""
    needle = f"{MARK}={token}".encode()
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _marked_by(p, needle)]


def start_marked(args: list[str], **popen_kwargs) -> tuple[subprocess.Popen, str]:
    """Start `svsim ARGS` in a session of its own, every descendant marked; (process, token)."""
    token = uuid.uuid4().hex
    env = {**os.environ, MARK: token}
    proc = subprocess.Popen([*SVSIM, *args], env=env, start_new_session=True, **popen_kwargs)
    return proc, token


def kill_marked(token: str) -> None:
    """SIGKILL whatever is left of a marked tree."""
    for pid in marked(token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def send(proc: subprocess.Popen, sig: int, to: str) -> None:
    """Signal the job: its whole process group (a terminal's Ctrl-C) or its main process."""
    if to == "group":
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)


def seconds_until_gone(token: str, proc: subprocess.Popen, timeout: float) -> float | None:
    """Seconds until no process of the tree is left (the main one reaped), or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        proc.poll()
        if not marked(token):
            return time.monotonic() - start
        time.sleep(0.05)
    return None


def parse(argv: list[str]) -> tuple[dict, list[str]]:
    """This script's settings, and the rest as the job's overrides."""
    mine, rest = dict(DEFAULTS), []
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq:
            raise ConfigError(f"{arg!r}: give settings as key=value")
        if key in DEFAULTS:
            mine[key] = value
        else:
            rest.append(arg)
    if mine["job"] not in JOBS:
        raise ConfigError(f"job={mine['job']!r}: must be one of {', '.join(JOBS)}")
    try:
        float(mine["after"])
    except ValueError:
        raise ConfigError(f"after={mine['after']!r}: must be a number of seconds") from None
    if mine["to"] not in ("group", "main") or not hasattr(signal, f"SIG{mine['signal']}"):
        raise ConfigError(f"signal={mine['signal']!r} to={mine['to']!r}: e.g. INT group, TERM main")
    return mine, rest


def job_args(job: str, overrides: list[str], folder: Path) -> tuple[list[str], Path | None]:
    """The svsim command line for the job, and the folder it writes (the page writes none)."""
    if job == "workshop":
        return ["workshop", "port=0", *overrides], None
    out = folder / job
    return [job, *overrides, f"out={out}"], out


def measure(settings: dict, overrides: list[str], folder: Path) -> dict:
    """Start the job, signal it `after` s later, time the tree's end; the figures."""
    args, out = job_args(settings["job"], overrides, folder)
    log = folder / "stderr.txt"
    with open(log, "w") as fh:
        proc, token = start_marked(args, stdout=subprocess.DEVNULL, stderr=fh)
    start, peak = time.monotonic(), 1
    ready = READY.get(settings["job"])
    while ready and ready not in log.read_text(errors="replace") and proc.poll() is None:
        peak = max(peak, len(marked(token)))
        time.sleep(0.1)
    start = time.monotonic()
    while time.monotonic() - start < float(settings["after"]) and proc.poll() is None:
        peak = max(peak, len(marked(token)))
        time.sleep(0.1)
    at_signal = len(marked(token))
    send(proc, getattr(signal, f"SIG{settings['signal']}"), settings["to"])
    gone = seconds_until_gone(token, proc, 60)
    kill_marked(token)  # a job that did not stop is not left running
    proc.wait()
    stderr = log.read_text(errors="replace")
    return {
        "seconds_to_gone": gone,
        "peak_processes": max(peak, at_signal),
        "processes_at_signal": at_signal,
        "exit_code": proc.returncode,
        "last_line": stderr.strip().splitlines()[-1] if stderr.strip() else "",
        "output_folder_written": out is not None and out.exists(),
    }


def main(argv: list[str]) -> int:
    settings, overrides = parse(argv)
    with tempfile.TemporaryDirectory(prefix="svsim-stop-") as tmp:
        r = measure(settings, overrides, Path(tmp))
    gone = "not within 60 s" if r["seconds_to_gone"] is None else f"{r['seconds_to_gone']:.2f} s"
    print(
        f"{settings['job']}: SIG{settings['signal']} to the {settings['to']} "
        f"{settings['after']} s after {'its address' if settings['job'] in READY else 'start'} "
        f"({r['processes_at_signal']} processes then, peak {r['peak_processes']}): whole tree "
        f"gone in {gone}; exit code {r['exit_code']}; output folder written: "
        f"{r['output_folder_written']}\nlast line: {r['last_line']}"
    )
    return 0 if r["seconds_to_gone"] is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
