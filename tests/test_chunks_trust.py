"""The chunk runner's trust boundary (experiments/chunks.py): it calls only the evaluators the
project registers, and only for a design whose stored hash matches its contents; anything else is
refused in one line, before any import or launch."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from svsim.experiments import chunks as ch
from svsim.experiments.config import ConfigError

SWEEP = "svsim.experiments.analysis.sweep:evaluate_chunk"
PROBE = "svsim_trust_probe"  # a module whose import leaves a mark


def chunk_folder(tmp_path: Path) -> Path:
    """A prepared chunk folder whose design has the JSON round trip's awkward cases."""
    design = {
        "job": "test", "evaluator": SWEEP, "chunks": ch.cut(4, 2), "seed": 3,
        "grid": {"params.offending.exposure_log_rr": [0.1, 1e-9, 2.5]}, "area": tmp_path / "a.yaml",
        "labels": ("x", "y"),
    }  # fmt: skip
    ch.prepare(tmp_path / "job", design, np.linspace(0, 1, 8).reshape(4, 2))
    return (tmp_path / "job").resolve()


def rewrite(folder: Path, rehash: bool, **changes) -> None:
    """Alter design.json; with rehash, also store the hash of the altered contents (so only the
    evaluator check stands in the way)."""
    meta = folder / "design.json"
    design = {**json.loads(meta.read_text()), **changes}
    if rehash:
        body = {k: v for k, v in design.items() if k != "sample_hash"}
        design["sample_hash"] = ch.design_hash(body, np.load(folder / "sample.npy"))
    meta.write_text(json.dumps(design, indent=2))


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


def test_an_intact_folder_loads(tmp_path):
    folder = chunk_folder(tmp_path)
    design, sample = ch.load_design(folder)
    assert design["evaluator"] == SWEEP and sample.shape == (4, 2)


def test_the_registry_is_exactly_the_evaluators_the_jobs_write():
    """Every `"evaluator": "..."` a job module writes is registered, and nothing else is."""
    root = Path(ch.__file__).parent
    written = {
        m
        for f in root.rglob("*.py")
        for m in re.findall(r'"evaluator":\s*"([\w.]+:\w+)"', f.read_text())
    }
    assert written == set(ch.EVALUATORS)


@pytest.mark.parametrize("evaluator", [f"{PROBE}:run", "os:system", None])
def test_an_unregistered_evaluator_is_refused_without_importing_it(
    tmp_path, monkeypatch, evaluator
):
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    mark = tmp_path / "imported.txt"
    (probe_dir / f"{PROBE}.py").write_text(
        f"from pathlib import Path\nPath({str(mark)!r}).write_text('imported')\n"
        "def run(*args):\n    Path(" + repr(str(mark)) + ").write_text('called')\n"
    )
    monkeypatch.syspath_prepend(str(probe_dir))
    folder = chunk_folder(tmp_path)
    rewrite(folder, rehash=True, evaluator=evaluator)

    with pytest.raises(ConfigError) as caught:
        ch.run_chunk(folder, 0)
    text = one_line(caught)
    assert text.startswith(f"{folder / 'design.json'}: evaluator={evaluator!r} is not a registered")
    assert not mark.exists() and PROBE not in sys.modules
    assert not ch.chunk_dir(folder, 0).exists()
    assert not list((folder / "chunks").glob(".chunk-*"))


def no_launch(*args, **kwargs):
    raise AssertionError("launched an altered folder")


@pytest.mark.parametrize(
    "alter",
    [
        lambda f: np.save(f / "sample.npy", np.load(f / "sample.npy") + 1e-12),
        lambda f: rewrite(f, rehash=False, seed=4),
        lambda f: rewrite(f, rehash=False, chunks=[[0, 4], [4, 4]]),
        lambda f: rewrite(f, rehash=False, sample_hash="0" * 64),
    ],
    ids=["sample.npy", "design.json seed", "design.json chunks", "design.json hash"],
)
def test_an_altered_folder_is_refused_by_the_runner_the_launcher_and_prepare(
    tmp_path, monkeypatch, alter
):
    folder = chunk_folder(tmp_path)
    design = {k: v for k, v in ch.load_design(folder)[0].items() if k != "sample_hash"}
    alter(folder)
    expected = f"{folder / 'design.json'}: sample_hash does not match its contents"

    with pytest.raises(ConfigError) as caught:
        ch.run_chunk(folder, 0)
    assert one_line(caught).startswith(expected)
    assert "the folder was altered, re-run with a new out=" in str(caught.value)
    assert not ch.chunk_dir(folder, 0).exists()

    monkeypatch.setattr(ch, "launch", no_launch)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        ch.execute(folder, 2, [], 1)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        ch.finished_chunks(folder)
    sample = np.linspace(0, 1, 8).reshape(4, 2)  # the original design and sample
    with pytest.raises(ConfigError, match=r"sample_hash does not match|holds another sample"):
        ch.prepare(folder, design, sample)


def test_an_unreadable_design_is_refused_in_one_line(tmp_path):
    folder = chunk_folder(tmp_path)
    (folder / "design.json").write_text("{not json")
    with pytest.raises(ConfigError) as caught:
        ch.load_design(folder)
    assert "unreadable" in one_line(caught)


def test_a_job_folder_is_claimed_once_and_continued_only_by_the_same_set_up(tmp_path):
    out = tmp_path / "job"
    ch.claim_job_folder(out, "k1", "calibration.json", "a calibration")
    (out / "wave-1").mkdir()
    ch.claim_job_folder(out, "k1", "calibration.json", "a calibration")  # continues
    with pytest.raises(ConfigError, match=r"holds a calibration of another set-up \(k1"):
        ch.claim_job_folder(out, "k2", "calibration.json", "a calibration")
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    with pytest.raises(ConfigError, match="already exists and is not an optimisation's folder"):
        ch.claim_job_folder(other, "k1", "optimise.json", "an optimisation")
    assert json.loads((out / "calibration.json").read_text()) == {"key": "k1"}
    assert not (other / "optimise.json").exists()
