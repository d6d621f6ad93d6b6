"""What one calibration trial is made of: the free parameters, the set-up every trial shares, and
one model run at a parameter set, measured for the targets. The fit (calibrate) and the
identification analysis both run points this way, so it lives apart from both."""

from __future__ import annotations

from dataclasses import dataclass, replace

from svsim.model import ViolenceModel

from ..config import run_config
from .targets import measure_run


@dataclass(frozen=True)
class Free:
    path: str
    low: float
    high: float
    log: bool


@dataclass(frozen=True)
class Setup:
    base: list  # overrides shared by every trial (area, run settings)
    free: tuple
    targets: list
    seed: int
    replicates: int


def one_run(setup: Setup, values: dict, seed: int) -> dict:
    """What the targets need from one model run at one parameter set."""
    cfg = run_config([*setup.base, *(f"++{k}={v!r}" for k, v in values.items())])
    model = ViolenceModel(cfg.area, cfg.params, replace(cfg.settings, seed=seed))
    model.run()
    return measure_run(model)
