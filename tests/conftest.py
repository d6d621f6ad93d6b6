"""Two tiers: plain pytest runs the fast tests; SVSIM_SLOW=1 (set by .ci/run) adds the slow ones
and turns a skip for a missing SLURM or Chromium into a failure. Also the helpers that several
test files share (test files sit in folders named for the packages they test)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from svsim.experiments.config import CONF_DIR
from svsim.model import RunSettings, ViolenceModel, area_from_dict

SLOW = os.environ.get("SVSIM_SLOW") == "1"
SVSIM = [sys.executable, "-m", "svsim.experiments.cli"]  # the svsim command, this venv


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


def _slurm_up() -> bool:
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and any(s in r.stdout for s in ("idle", "mix", "alloc"))


def _start_slurm() -> None:
    """Start the one-node cluster through the shared script if sinfo is missing or down; a lock
    file keeps two pytest-xdist workers from starting it at once."""
    script = REPO.parent / "shared" / "slurm" / "start-local-slurm.sh"
    if not script.is_file():
        script = Path("/work/shared/slurm/start-local-slurm.sh")
    with open(Path(tempfile.gettempdir()) / "svsim-tests-slurm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shutil.which("sinfo") and _slurm_up():
            return
        if not script.is_file() or os.geteuid() != 0:
            return  # require_tool below skips (or fails under SVSIM_SLOW=1)
        subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)


def require_slurm() -> None:
    """A running one-node SLURM cluster (started if need be); a skip locally, a failure in CI."""
    _start_slurm()
    require_tool("sbatch")
    if not _slurm_up():
        message = "the local SLURM cluster is not up"
        if SLOW:
            pytest.fail(message)
        pytest.skip(message)


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


def svsim(*args: str, cwd=None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run the svsim command in a fresh process, its output captured as text."""
    return subprocess.run([*SVSIM, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def manifests(out: Path) -> list[dict]:
    """The manifests of a chunked job's finished chunks (sensitivity, sweep), in chunk order."""
    return [json.loads(p.read_text()) for p in sorted(out.glob("chunks/chunk-*/manifest.json"))]


def town_plan(tmp_path: Path, description: str, budget: int, allocations: dict) -> Path:
    """A scenario file for the test town: each intervention's amount a year across the whole
    town, 2024-2028."""
    lines = [
        "name: town_plan",
        'label: "Town plan"',
        f'description: "{description}"',
        f"budget_per_year: {budget}",
        "price_year: 2024",
        "allocations:",
    ]
    for name, amount in allocations.items():
        lines += [
            f"  - {{intervention: {name}, amount_per_year: {amount}, places: [all],",
            "     start_year: 2024, end_year: 2028}",
        ]
    lines.append('assumptions: "For tests."')
    path = tmp_path / "town_plan.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def shipped_calibration():
    """conf/calibrated/wiltshire_swindon.yaml: the shipped calibration, or where none is shipped
    a stand-in with 20 plausible members (removed afterwards), for tests of how it is used."""
    import yaml
    from svsim.experiments.config import CONF_DIR

    path = CONF_DIR / "calibrated" / "wiltshire_swindon.yaml"
    if path.exists():
        yield path
        return

    def member(i):
        return {
            "params": {
                "offending": {
                    "base_hazard": 3.5e-4 + 1e-5 * i,
                    "exposure_log_rr": 0.45,
                    "deprivation_log_rr": 0.2,
                },
                "severity": {
                    "knife_prob": 0.006 + 1e-4 * i,
                    "serious_no_injury_prob": 0.62,
                    "other_death_prob": 1e-4,
                },
                "justice": {"record_injury": 0.5},
                "night_time": {"rate_ratio": 0.5},
            },
            "csp_hazard_multiplier": {"Swindon": 0.9 + 0.01 * i},
        }

    chosen = member(0)
    data = {
        **chosen,
        "calibration": {
            "study": "stand_in",
            "trials": 20,
            "targets": "wiltshire_swindon",
            "population_scale": 0.25,
            "replicates": 1,
            "plausible_set": [member(i) for i in range(20)],
        },
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text("# @package _global_\n" + yaml.safe_dump(data, sort_keys=False))
    yield path
    path.unlink()
    if not any(path.parent.iterdir()):
        path.parent.rmdir()


def dead_pid() -> int:
    """A pid that certainly ran on this host and is gone (spawned and reaped)."""
    p = subprocess.Popen(["sleep", "0"])
    p.wait()
    return p.pid


def fake_owner(folder: Path, who: dict | None, beat_age: float = 0.0) -> Path:
    """An in-progress folder as an owner leaves it (experiments/ownership.py), its heartbeat
    `beat_age` seconds old; who=None: no owner file at all."""
    import time

    from svsim.experiments import ownership

    folder.mkdir(parents=True)
    (folder / "half.parquet").write_text("half-written")
    stamp = time.time() - beat_age
    if who is not None:
        (folder / ownership.OWNER).write_text(json.dumps(who))
        (folder / ownership.BEAT).touch()
        os.utime(folder / ownership.OWNER, (stamp, stamp))
        os.utime(folder / ownership.BEAT, (stamp, stamp))
    os.utime(folder, (stamp, stamp))
    return folder
