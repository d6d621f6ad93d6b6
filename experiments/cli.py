"""The `svsim` command: the first word picks the job, the rest are Hydra overrides."""

from __future__ import annotations

import importlib
import logging
import sys

from . import stopping

JOBS = {
    "run": ("svsim.experiments.run", "simulate one area and write a run folder"),
    "compare": (
        "svsim.experiments.compare.compare",
        "funding scenarios x replicates, paired against a comparator, with a report",
    ),
    "calibrate": (
        "svsim.experiments.calibration.calibrate",
        "history-match the baseline to the rows marked fit (Gaussian-process emulators)",
    ),
    "validate": (
        "svsim.experiments.calibration.validate",
        "re-run the calibrated baseline on fresh seeds",
    ),
    "sensitivity": (
        "svsim.experiments.analysis.sensitivity",
        "Morris and Sobol sensitivity analysis, locally or on SLURM",
    ),
    "voi": (
        "svsim.experiments.analysis.voi_job",
        "the value of information (EVPI, EVPPI) for the scenarios' ranking, locally or on SLURM",
    ),
    "optimise": (
        "svsim.experiments.optimise.job",
        "the best mix of interventions and places for a budget, locally or on SLURM",
    ),
    "sweep": ("svsim.experiments.analysis.sweep", "grid or list sweeps over any config keys"),
    "workshop": ("svsim.experiments.workshop.page", "the what-if page for workshops, in a browser"),
    "worksheet": (
        "svsim.experiments.worksheet",
        "the accounting worksheet: true incidents through each scope to every target",
    ),
    "patterns": (
        "svsim.experiments.patterns",
        "each setting's patterns of violence against the published figures",
    ),
    "transfers": (
        "svsim.experiments.transfers",
        "each intervention's published estimate -> transfer rules -> model effect",
    ),
    "trials": (
        "svsim.experiments.trials",
        "each intervention's evidence re-run as a trial of its source's design in the model",
    ),
    "bench": (
        "svsim.experiments.bench.bench",
        "speed and memory benchmark (full area; vs per-agent Mesa)",
    ),
}

USAGE = """usage: svsim JOB [key=value ...]

Jobs:
{jobs}

Every other word is a Hydra override, e.g.
  svsim run area=test_town years=3 seed=7
  svsim run area=wiltshire_swindon population_scale=0.25 out=results/my-run
  svsim run params.partner.onset_per_year=0.3
Configuration lives in conf/ (see README.md); model parameters in model/ODD.md.
"""


def usage() -> str:
    jobs = "".join(f"  {k:<12} {v[1]}\n" for k, v in JOBS.items())
    return USAGE.format(jobs=jobs)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    job, overrides = argv[0], argv[1:]
    if job not in JOBS:
        print(f"svsim: unknown job {job!r}; see 'svsim --help'", file=sys.stderr)
        return 2
    if any(o in ("-h", "--help", "help") for o in overrides):
        print(job_help(job))
        return 0
    replaced = stopping.install()  # SIGTERM and SIGHUP stop a job as Ctrl-C does
    try:
        return _run(job, overrides)
    except KeyboardInterrupt as exc:  # helpers already stopped (stopping.py)
        print(f"svsim {job}: {stopping.describe(exc)}", file=sys.stderr)
        return 130
    finally:
        stopping.restore(replaced)


def job_help(job: str) -> str:
    """`svsim JOB --help`: the job's settings from its schema, or its module's own usage."""
    from . import schema

    if job in schema.SCHEMAS:
        return f"svsim {job}: {JOBS[job][1]}\n\n{schema.help_text(job)}"
    doc = importlib.import_module(JOBS[job][0]).__doc__ or ""
    return f"svsim {job}: {JOBS[job][1]}\n\n{doc.strip()}"


def _run(job: str, overrides: list[str]) -> int:
    """Import the job and run it; bad input is one line per problem and exit 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("MESA").setLevel(logging.WARNING)
    from svsim.model import ParameterError

    from . import schema
    from .config import ConfigError, parse_overrides

    try:
        if job in schema.SCHEMAS:
            parse_overrides(overrides)  # a syntax error is one line before anything is imported
        module = importlib.import_module(JOBS[job][0])
    except ModuleNotFoundError as exc:
        if exc.name != JOBS[job][0]:
            raise
        print(f"svsim: job {job!r} is not available yet in this version", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"svsim {job}: error: {exc}", file=sys.stderr)
        return 2
    try:
        return module.main(overrides)
    except (ConfigError, ParameterError) as exc:
        for line in str(exc).splitlines():
            print(f"svsim {job}: error: {line}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full or read-only disk, a path that is a file: the job kept nothing
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"svsim {job}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
