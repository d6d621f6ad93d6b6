"""Two tiers: plain pytest runs the fast tests; SVSIM_SLOW=1 (set by .ci/run) adds the slow ones
and turns a skip for a missing SLURM or Chromium into a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from svsim.experiments.config import CONF_DIR
from svsim.model import RunSettings, ViolenceModel, area_from_dict

SLOW = os.environ.get("SVSIM_SLOW") == "1"


def pytest_collection_modifyitems(config, items):
    if SLOW:
        return
    skip = pytest.mark.skip(reason="slow tier: set SVSIM_SLOW=1 (as .ci/run does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def require_tool(name: str) -> str:
    """The path of an external tool; a skip on a developer's machine, a failure in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if SLOW:
            pytest.fail(message + " (SVSIM_SLOW=1: the slow tier must not skip)")
        pytest.skip(message)
    return path


def load_area(name: str):
    return area_from_dict(yaml.safe_load((CONF_DIR / "area" / f"{name}.yaml").read_text()))


@pytest.fixture(scope="session")
def test_town():
    return load_area("test_town")


@pytest.fixture(scope="session")
def test_town_data():
    return yaml.safe_load((CONF_DIR / "area" / "test_town.yaml").read_text())


def make_model(area, params=None, interventions=(), **settings) -> ViolenceModel:
    settings.setdefault("seed", 1)
    settings.setdefault("years", 1)
    settings.setdefault("burn_in_years", 1)
    return ViolenceModel(area, params, RunSettings(**settings), interventions)


REPO = Path(__file__).resolve().parent.parent
