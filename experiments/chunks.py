"""Chunked, resumable execution shared by `svsim sensitivity` and `svsim sweep`.

A design (a sample of points and how to evaluate one) is written once to a folder:
`design.json` (everything that determines the results, and its hash) and `sample.npy`. The rows
are cut into chunks; each chunk is one Hydra job of this module's app, so the same command runs on
local cores (hydra-joblib-launcher) or on a SLURM cluster (hydra-submitit-launcher):

    python -m svsim.experiments.chunks --multirun folder=PATH chunk=0,3,7 hydra/launcher=...

Each chunk writes `chunks/chunk-NNNN/` atomically (built under a temporary name, renamed when
complete) with a manifest: sample hash, chunk index, rows, seed, host, SLURM job id. Re-running
skips finished chunks. A chunk that raised writes `chunks/chunk-NNNN.failed.txt` (its traceback)
instead, so it is named, never silently dropped; the next run retries it.

A chunk's temporary folder is owned (ownership.py): a re-run removes only stale ones, and waits
for chunks whose owner still works (a SLURM array outlives the command that submitted it) rather
than computing them again; if two owners finish one chunk, the first complete one is kept. The
runner calls only the evaluators registered in EVALUATORS, and only for a design whose stored
hash matches its contents.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import traceback
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np

from . import ownership, stopping
from .config import CONF_DIR, ConfigError
from .ownership import slurm_job_id

log = logging.getLogger("svsim.chunks")

MESA_QUIET = "++hydra.job_logging.loggers.MESA.level=WARNING"
POLL = 5.0  # seconds between looks at chunks another owner is computing
INCOMPLETE = ".chunk-*.incomplete-*"

# The only functions a design.json may name (module:function); anything else is refused unimported.
EVALUATORS = frozenset(
    {
        "svsim.experiments.analysis.sensitivity:evaluate_chunk",
        "svsim.experiments.analysis.sweep:evaluate_chunk",
        "svsim.experiments.analysis.voi_job:evaluate_chunk",
        "svsim.experiments.calibration.calibrate:evaluate_chunk",
        "svsim.experiments.optimise.evaluate:evaluate_chunk",
    }
)


def design_hash(design: dict, sample: np.ndarray) -> str:
    """The hash of everything that determines the chunks' results."""
    h = hashlib.sha256()
    h.update(json.dumps(design, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(sample, dtype=np.float64).tobytes())
    h.update(str(sample.shape).encode())
    return h.hexdigest()


def cut(n_rows: int, n_chunks: int) -> list[tuple[int, int]]:
    """Contiguous row ranges [a, b) for n_chunks chunks (fewer if there are fewer rows)."""
    n_chunks = max(1, min(n_chunks, n_rows))
    edges = np.linspace(0, n_rows, n_chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def chunk_dir(folder: Path, index: int) -> Path:
    return folder / "chunks" / f"chunk-{index:04d}"


def failed_file(folder: Path, index: int) -> Path:
    return folder / "chunks" / f"chunk-{index:04d}.failed.txt"


def prepare(folder: Path, design: dict, sample: np.ndarray, field: str = "out") -> str:
    """Write the design to `folder`, or check that the folder holds this same design."""
    digest = design_hash(design, sample)
    folder = folder.resolve()
    meta = folder / "design.json"
    if folder.exists():
        if not meta.is_file():
            if any(folder.iterdir()):
                raise ConfigError(
                    f"{field}={str(folder)!r}: exists and is not a chunk folder; choose another"
                )
        else:
            held = json.loads(meta.read_text()).get("sample_hash")
            if held != digest:
                raise ConfigError(
                    f"{field}={str(folder)!r}: the chunk folder holds another sample "
                    f"(hash {str(held)[:12]}, this command's {digest[:12]}); choose another out="
                )
            load_design(folder)  # its contents still match that hash
            for bad in (folder / "chunks").glob("chunk-*/manifest.json"):
                if json.loads(bad.read_text()).get("sample_hash") != digest:
                    raise ConfigError(
                        f"{field}={str(folder)!r}: {bad.parent.name} holds another sample; "
                        "remove it or choose another out="
                    )
            return digest
    folder.parent.mkdir(parents=True, exist_ok=True)
    ownership.clean_stale(folder.parent, ".*.incomplete-*")
    tmp = folder.parent / f".{folder.name}.incomplete-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with ownership.owned(tmp) as lease:
            (tmp / "chunks").mkdir()
            (tmp / "logs").mkdir()
            np.save(tmp / "sample.npy", sample)
            (tmp / "design.json").write_text(
                json.dumps({**design, "sample_hash": digest}, indent=2, default=str) + "\n"
            )
            lease.release()
            if folder.exists():  # an empty folder named by out=
                folder.rmdir()
            os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return digest


def load_design(folder: Path) -> tuple[dict, np.ndarray]:
    """(design, sample) of a chunk folder, refused in one line unless its evaluator is registered
    and its stored hash matches its contents (so no altered folder is computed or analyzed)."""
    meta = folder / "design.json"
    try:
        design = json.loads(meta.read_text())
        sample = np.load(folder / "sample.npy", allow_pickle=False)
    except ValueError as exc:  # OSError (absent) is left to the callers, which say where
        raise ConfigError(
            f"{folder}: design.json or sample.npy is unreadable ({exc}); the folder was altered, "
            "re-run with a new out="
        ) from None
    if not isinstance(design, dict):
        raise ConfigError(
            f"{meta}: holds {type(design).__name__}, not a design; re-run with a new out="
        )
    evaluator = design.get("evaluator")
    if evaluator not in EVALUATORS:
        raise ConfigError(
            f"{meta}: evaluator={evaluator!r} is not a registered chunk evaluator "
            f"({', '.join(sorted(EVALUATORS))})"
        )
    held = design.get("sample_hash")
    digest = design_hash({k: v for k, v in design.items() if k != "sample_hash"}, sample)
    if held != digest:
        raise ConfigError(
            f"{meta}: sample_hash does not match its contents (held {str(held)[:12]}, "
            f"recomputed {digest[:12]}); the folder was altered, re-run with a new out="
        )
    return design, sample


def status(folder: Path, n_chunks: int) -> tuple[list[int], list[int], list[int]]:
    """(done, failed, missing) chunk indices; failed chunks are also missing."""
    done, failed, missing = [], [], []
    for i in range(n_chunks):
        if (chunk_dir(folder, i) / "manifest.json").is_file():
            done.append(i)
        else:
            missing.append(i)
            if failed_file(folder, i).is_file():
                failed.append(i)
    return done, failed, missing


def finished_chunks(folder: Path) -> tuple[dict, np.ndarray, list[Path]]:
    """(design, sample, every chunk's folder in order) for an analysis: refused in one line when
    a chunk is missing or failed, or holds another sample than the design's."""
    design, sample = load_design(folder)
    _done, failed, missing = status(folder, len(design["chunks"]))
    if missing:
        raise ConfigError(describe_missing(folder, missing, failed))
    dirs = []
    for i, (a, b) in enumerate(design["chunks"]):
        d = chunk_dir(folder, i)
        man = json.loads((d / "manifest.json").read_text())
        if man.get("sample_hash") != design["sample_hash"] or man.get("rows") != [a, b]:
            raise ConfigError(f"{d.name}: holds another sample; remove it and re-run")
        dirs.append(d)
    return design, sample, dirs


def describe_missing(folder: Path, missing: list[int], failed: list[int]) -> str:
    names = ", ".join(f"chunk-{i:04d}" for i in missing[:20])
    more = f" and {len(missing) - 20} more" if len(missing) > 20 else ""
    why = (
        f"; failed: {', '.join(f'chunk-{i:04d}' for i in failed[:20])} "
        f"(tracebacks in {folder / 'chunks'}/chunk-NNNN.failed.txt)"
        if failed
        else ""
    )
    return f"{len(missing)} chunk(s) not finished: {names}{more}{why}"


def run_chunk(folder: Path | str, index: int, launch: str = "") -> Path:
    """Evaluate one chunk and write it atomically; a no-op if it is already complete."""
    folder = Path(folder).resolve()
    final = chunk_dir(folder, index)
    if (final / "manifest.json").is_file():
        return final
    design, sample = load_design(folder)
    ranges = design["chunks"]
    if not 0 <= index < len(ranges):
        raise ConfigError(f"chunk={index}: the design has chunks 0-{len(ranges) - 1}")
    a, b = ranges[index]
    tmp = folder / "chunks" / f".chunk-{index:04d}.incomplete-{socket.gethostname()}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)  # this host and pid's: a dead process's
    start, started = time.perf_counter(), datetime.now().isoformat(timespec="seconds")
    cpu0 = time.process_time()
    try:
        with ownership.owned(tmp) as lease:
            _evaluate(design, sample[a:b], folder, tmp)
            manifest = {
                "status": "complete",
                "sample_hash": design["sample_hash"],
                "chunk": index,
                "rows": [a, b],
                "seed": design.get("seed"),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "slurm_job_id": slurm_job_id(),
                "launch": launch,
                "started": started,
                "finished": datetime.now().isoformat(timespec="seconds"),
                "wall_seconds": round(time.perf_counter() - start, 3),
                "cpu_seconds": round(time.process_time() - cpu0, 3),
            }
            _finish(folder, index, tmp, lease, manifest)
        failed_file(folder, index).unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        failed_file(folder, index).write_text(
            f"chunk {index} rows [{a}, {b}) host {socket.gethostname()} "
            f"slurm {slurm_job_id()} at {datetime.now().isoformat(timespec='seconds')}\n"
            + traceback.format_exc()
        )
        raise
    return final


def _evaluate(design: dict, rows: np.ndarray, folder: Path, tmp: Path) -> None:
    """Call the design's evaluator, which load_design has checked is a registered one."""
    if design["evaluator"] not in EVALUATORS:  # never reached past load_design; kept explicit
        raise ConfigError(f"evaluator={design['evaluator']!r}: not a registered chunk evaluator")
    module, func = design["evaluator"].split(":")
    with _outside_hydra():
        getattr(importlib.import_module(module), func)(design, rows, folder, tmp)


def _finish(folder: Path, index: int, tmp: Path, lease, manifest: dict) -> None:
    """Write the manifest and rename the chunk into place, unless another owner finished it
    first: the first complete one is kept and this one discarded."""
    final = chunk_dir(folder, index)
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    lease.release()
    if (final / "manifest.json").is_file():
        log.info("%s: finished first by another owner; this copy discarded", final.name)
        shutil.rmtree(tmp, ignore_errors=True)
        return
    try:
        os.rename(tmp, final)
    except OSError:  # another owner renamed its copy in meanwhile
        if not (final / "manifest.json").is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _outside_hydra():
    """Inside a Hydra job, let the evaluator compose configurations of its own."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.singleton import Singleton

    state = Singleton.get_state()
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        Singleton.set_state(state)


def _hydra_app() -> None:
    """The chunk job: `python -m svsim.experiments.chunks --multirun folder=... chunk=...`."""
    stopping.lead_group()  # a stop signal, or svsim's death, ends this launcher and its workers
    import hydra
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(
        name="svsim_chunk", node={"folder": "???", "chunk": 0, "launch": ""}
    )

    @hydra.main(config_path=str(CONF_DIR), config_name="svsim_chunk", version_base="1.3")
    def chunk_job(cfg) -> None:
        logging.getLogger("MESA").setLevel(logging.WARNING)
        try:
            run_chunk(cfg.folder, int(cfg.chunk), str(cfg.launch))
        except Exception:  # recorded in chunk-NNNN.failed.txt; let the other chunks finish
            logging.getLogger("svsim.chunks").exception("chunk %s failed", cfg.chunk)

    chunk_job()


def split_hydra(overrides: list[str]) -> tuple[list[str], list[str]]:
    """(job overrides, hydra/launcher overrides)."""
    job, hyd = [], []
    for o in overrides:
        key = o.lstrip("+~")
        (hyd if key.startswith(("hydra/", "hydra.")) else job).append(o)
    return job, hyd


def launch(folder: Path, todo: list[int], n_chunks: int, hydra_overrides: list[str], jobs: int):
    """Run the chunks `todo` as one Hydra multirun in a child process; show progress."""
    from tqdm import tqdm

    launch_id = uuid.uuid4().hex[:12]
    overrides = list(hydra_overrides)
    if not any(o.startswith("hydra/launcher=") for o in overrides):
        overrides = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}", *overrides]
    cmd = [
        sys.executable,
        "-m",
        "svsim.experiments.chunks",
        "--multirun",
        f"folder={folder}",
        f"chunk={','.join(map(str, todo))}",
        f"launch={launch_id}",
        f"hydra.sweep.dir={folder / 'logs' / 'hydra'}",
        "hydra.sweep.subdir=chunk-${chunk}",
        MESA_QUIET,
        *overrides,
    ]
    logfile = folder / "logs" / "launcher.log"
    log.info("launching %d chunk(s): %s", len(todo), " ".join(cmd[2:]))
    done0 = len(status(folder, n_chunks)[0])
    start, since = time.perf_counter(), time.time()
    bar = tqdm(total=n_chunks, initial=done0, desc="chunks", unit="chunk", file=sys.stderr)
    with open(logfile, "a") as fh:
        fh.write(f"\n# {datetime.now().isoformat(timespec='seconds')} launch {launch_id}\n")
        fh.flush()
        proc = stopping.start_group(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        try:
            while proc.poll() is None:
                time.sleep(1.0)
                _tick(bar, folder, n_chunks, done0, start)
        except BaseException as exc:
            stopping.end_group(proc)  # the launcher and its local workers; never a SLURM array
            bar.close()
            if isinstance(exc, KeyboardInterrupt):
                raise stopping.Interrupted(
                    _kept(folder, n_chunks, launch_id, overrides, since)
                ) from None
            raise
        _tick(bar, folder, n_chunks, done0, start)
    bar.close()
    if proc.returncode != 0:
        log.warning("the launcher exited with code %s; see %s", proc.returncode, logfile)
    return launch_id, proc.returncode


def _kept(folder: Path, n_chunks: int, launch_id: str, overrides: list[str], since: float) -> str:
    """The line an interrupted launch ends with: the chunks kept, and for a SLURM array (which
    outlives svsim by design) the command that stops it."""
    done = len(status(folder, n_chunks)[0])
    text = (
        f"interrupted; {done} of {n_chunks} chunks finished and kept in {folder}; "
        "run the same command again to continue"
    )
    if any(o.lstrip("+").startswith("hydra/launcher=submitit_slurm") for o in overrides):
        stop = _scancel(folder, launch_id, overrides, since)
        text += f"; the SLURM array runs on: stop it with {stop}"
    return text


def _scancel(folder: Path, launch_id: str, overrides: list[str], since: float) -> str:
    """`scancel` for this launch's array: its job id from the finished chunks' manifests or the
    submitit folders made since the launch, else its job name."""
    ids = {
        str(m.get("slurm_job_id") or "").split("_")[0]
        for m in map(json.loads, map(Path.read_text, folder.glob("chunks/chunk-*/manifest.json")))
        if m.get("launch") == launch_id
    } - {""}
    ids |= {
        d.name.split("_")[0]
        for d in (folder / "logs" / "hydra" / ".submitit").glob("*")
        if re.fullmatch(r"\d+(_\d+)?", d.name) and d.stat().st_mtime >= since
    }
    if ids:
        return "scancel " + " ".join(sorted(ids))
    return f"scancel --name={_slurm_name(overrides)}"


def _slurm_name(overrides: list[str]) -> str:
    """The job name Hydra's submitit launcher gives the array (conf/hydra/launcher/)."""
    import yaml

    given = dict(o.lstrip("+").split("=", 1) for o in overrides if "=" in o)
    if "hydra.launcher.name" in given:
        return given["hydra.launcher.name"]
    conf = yaml.safe_load((CONF_DIR / "hydra" / "launcher" / "submitit_slurm.yaml").read_text())
    return str(conf["name"]).replace("${hydra.job.name}", given.get("hydra.job.name", "chunks"))


def _tick(bar, folder: Path, n_chunks: int, done0: int, start: float) -> None:
    done = len(status(folder, n_chunks)[0])
    if done > bar.n:
        bar.update(done - bar.n)
        rate = (time.perf_counter() - start) / max(done - done0, 1)
        left = rate * (n_chunks - done)
        bar.set_postfix_str(f"about {left / 60:.1f} min left")


def file_logger(folder: Path, name: str) -> logging.Handler:
    """Also send the job's log to <folder>/logs/<name>.log."""
    (folder / "logs").mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(folder / "logs" / f"{name}.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger("svsim").addHandler(handler)
    logging.getLogger("svsim").setLevel(logging.INFO)
    return handler


def running_elsewhere(folder: Path, among: list[int]) -> dict[int, list[dict | None]]:
    """The chunks of `among` whose temporary folder another owner holds (stale ones are cleaned
    first), with those owners (None: an owner.json not written yet)."""
    ownership.clean_stale(folder / "chunks", INCOMPLETE)
    held: dict[int, list[dict | None]] = {}
    for tmp in sorted((folder / "chunks").glob(INCOMPLETE)):
        m = re.match(r"\.chunk-(\d+)\.incomplete-", tmp.name)
        if m and int(m.group(1)) in among and tmp.is_dir():
            held.setdefault(int(m.group(1)), []).append(ownership.read_owner(tmp))
    return held


def _whose(held: dict[int, list[dict | None]]) -> str:
    return "; ".join(
        f"chunk-{i:04d} ({', '.join(map(ownership.describe, who))})" for i, who in held.items()
    )


def _pause(seconds: float) -> None:
    """Sleep between looks at chunks computed elsewhere (a seam for tests)."""
    time.sleep(seconds)


def _await(folder: Path, n_chunks: int, held: dict, hydra_overrides: list[str], jobs: int):
    """Wait until each chunk another owner computes is finished, or its owner is gone (then it
    is cleaned and computed here)."""
    shown: set[int] = set()
    while held:
        missing = status(folder, n_chunks)[2]
        now = running_elsewhere(folder, missing)
        orphans = [i for i in held if i in missing and i not in now]
        held = {i: now[i] for i in held if i in now}
        if orphans:
            log.info("chunk(s) %s: their owner is gone; computing them here",
                     ", ".join(map(str, orphans)))  # fmt: skip
            launch(folder, orphans, n_chunks, hydra_overrides, jobs)
            continue
        if held and set(held) != shown:
            log.info("waiting for %d chunk(s) computed elsewhere: %s", len(held), _whose(held))
            shown = set(held)
        if held:
            try:
                _pause(POLL)
            except KeyboardInterrupt:
                done = len(status(folder, n_chunks)[0])
                raise stopping.Interrupted(
                    f"interrupted; {done} of {n_chunks} chunks finished and kept in {folder}; "
                    f"{len(held)} still computed elsewhere ({_whose(held)}); "
                    "run the same command again to continue"
                ) from None


def execute(folder: Path, n_chunks: int, hydra_overrides: list[str], jobs: int) -> list[int]:
    """Run every missing chunk, except those another live owner is computing (a SLURM array
    that outlived an earlier command, another run): those are waited for, and computed here only
    if their owner goes. Returns the chunks still missing afterwards."""
    load_design(folder)  # refuse an altered folder in one line, before any launch
    done, failed, missing = status(folder, n_chunks)
    held = running_elsewhere(folder, missing)
    todo = [i for i in missing if i not in held]
    if done:
        log.info("%d of %d chunk(s) already done; computing %d", len(done), n_chunks, len(todo))
    if failed:
        log.info("retrying failed chunk(s): %s", ", ".join(map(str, failed)))
    if held:
        log.info("not launching %d chunk(s) computed elsewhere: %s", len(held), _whose(held))
    if todo:
        launch(folder, todo, n_chunks, hydra_overrides, jobs)
    _await(folder, n_chunks, held, hydra_overrides, jobs)
    done, failed, missing = status(folder, n_chunks)
    if missing:
        log.error(describe_missing(folder, missing, failed))
    return missing


if __name__ == "__main__":
    _hydra_app()


def claim_job_folder(out: Path, key: str, mark: str, what: str) -> None:
    """Make `out` the folder of a multi-stage chunked job (its `mark` file holds the set-up's
    key), or continue it; refuse a folder of another set-up or of anything else."""
    path = out / mark
    if path.is_file():
        held = json.loads(path.read_text()).get("key")
        if held != key:
            raise ConfigError(
                f"out={str(out)!r}: holds {what} of another set-up ({held}, this one is "
                f"{key}); choose another out"
            )
        return
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"out={str(out)!r}: already exists and is not {what}'s folder")
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"key": key}) + "\n")


def chunk_folder(
    kind: str, design: dict, sample: np.ndarray, out: str | None, stage: str, default_folder
) -> Path:
    """The job's chunk folder, resolved: for stage analyze one that exists (holding this design
    when it is the default folder), else written for this design or checked to hold it."""
    digest = design_hash(design, sample)
    folder = Path(out) if out else default_folder({**design, "sample_hash": digest})
    if stage == "analyze":
        if not (folder / "design.json").is_file():
            raise ConfigError(f"out={str(folder)!r}: no {kind} chunk folder there")
        held = json.loads((folder / "design.json").read_text()).get("sample_hash")
        if held != digest and out is None:
            raise ConfigError(f"out={str(folder)!r}: the chunk folder holds another sample")
    else:
        prepare(folder, design, sample)
    return folder.resolve()


@contextmanager
def job_log(folder: Path, name: str):
    """The job's log also in <folder>/logs/<name>.log while inside."""
    handler = file_logger(folder, name)
    try:
        yield
    finally:
        logging.getLogger("svsim").removeHandler(handler)
        handler.close()


def run_stage(
    folder: Path, n_chunks: int, hydra_overrides: list[str], jobs: int, stage: str, kind: str
) -> bool:
    """Run the missing chunks for stage all or run, naming any that failed; True when the
    caller should go on to analyze (stage all or analyze)."""
    if stage == "prepare":
        print(f"{kind} folder: {folder}")
        return False
    if stage in ("all", "run"):
        if execute(folder, n_chunks, hydra_overrides, jobs):
            _done, failed, missing = status(folder, n_chunks)
            raise ConfigError(
                describe_missing(folder, missing, failed) + "; re-run the same command"
            )
        if stage == "run":
            print(f"{kind} folder: {folder} (all {n_chunks} chunks done)")
            return False
    return True


def passed_overrides(overrides: list[str]) -> list[str]:
    """The area and model-parameter overrides a chunk job must see (area files made absolute,
    since chunk jobs may run in another folder)."""
    passed = []
    for o in overrides:
        key = o.lstrip("+")
        if key.startswith("area=") and key.endswith((".yaml", ".yml")):
            passed.append("area=" + str(Path(key.split("=", 1)[1]).resolve()))
        elif key.startswith(("area=", "params.")):
            passed.append(o)
    return passed
