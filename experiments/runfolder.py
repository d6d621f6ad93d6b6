"""Run folders: complete or absent. Built under a temporary name, renamed on success."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
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
    """Refuse an `out` that already exists; jobs that work long before writing call this first."""
    if out.resolve().exists():
        raise ConfigError(f"out={str(out.resolve())!r}: already exists; choose another folder")


@contextmanager
def run_folder(out: Path, replace: bool = False):
    """Yield a temporary folder beside `out`; rename it to `out` only if the block succeeds.
    An existing `out` is refused, or with replace=True (a re-analysis) replaced on success."""
    out = out.resolve()
    if not replace:
        refuse_existing(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.incomplete-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
