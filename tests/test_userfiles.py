"""User files (experiments/userfiles.py): the page reads only allowed scenario files, refuses
every other path with one answer, checks the size before reading, and quotes nothing from a
file that is not a well-formed scenario."""

from __future__ import annotations

import os
import resource
import time

import pytest
import yaml
from svsim.experiments.userfiles import (
    MAX_BYTES,
    FileGate,
    UserFileError,
    parse_yaml,
    read_scenario,
    scenario_shape,
)

SECRET = "s3cret-token-do-not-show"
GOOD = {"name": "plan", "budget_per_year": 1000, "allocations": []}


@pytest.fixture
def folders(tmp_path):
    """An allowed folder with a good file, a symlink out of it, and a secret file outside it."""
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "good.yaml").write_text(yaml.safe_dump(GOOD))
    (outside / "secret.yaml").write_text(f"token: {SECRET}\n")
    (allowed / "link.yaml").symlink_to(outside / "secret.yaml")
    (allowed / "inner.yaml").symlink_to(allowed / "good.yaml")  # a link that stays inside
    return FileGate.folders([allowed]), allowed, outside


def _refusal(gate: FileGate, typed: str) -> str:
    with pytest.raises(UserFileError) as err:
        gate.read_text(typed)
    return str(err.value)


def test_every_path_outside_the_folders_gets_the_same_refusal(folders, monkeypatch):
    gate, allowed, outside = folders
    monkeypatch.setenv("HOME", str(outside))  # so '~/secret.yaml' would name a real file
    typed = [
        "/etc/passwd",
        str(allowed / ".." / "outside" / "secret.yaml"),
        "../outside/secret.yaml",
        "~/secret.yaml",
        "link.yaml",  # a symlink inside the folder pointing out of it
        str(allowed / "link.yaml"),
        str(outside / "secret.yaml"),  # exists, outside
        str(outside / "missing.yaml"),  # does not exist, outside
        "missing.yaml",
        "/etc/shadow",
        "",
    ]
    answers = {_refusal(gate, t) for t in typed}
    assert answers == {gate.refusal()}
    assert SECRET not in gate.refusal() and "passwd" not in gate.refusal()


def test_allowed_files_load_by_name_or_path(folders):
    gate, allowed, _ = folders
    assert read_scenario(gate, "good.yaml") == (GOOD, "good.yaml")
    assert read_scenario(gate, str(allowed / "good.yaml"))[0] == GOOD
    assert read_scenario(gate, "inner.yaml")[0] == GOOD  # a link within the folder is fine


def test_oversized_file_is_refused_before_it_is_read(folders):
    gate, allowed, _ = folders
    huge = allowed / "huge.yaml"
    with open(huge, "wb") as f:  # 4 GB, sparse: reading it would take seconds and gigabytes
        f.truncate(4 * 1024**3)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    message = _refusal(gate, "huge.yaml")
    assert "over the 256 kB limit; nothing was read" in message
    assert time.perf_counter() - start < 1.0  # generous: a stat, not a 4 GB read
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 64 * 1024
    (allowed / "just.yaml").write_text("a: " + "x" * (MAX_BYTES - 10) + "\n")
    assert len(gate.read_text("just.yaml")[0]) <= MAX_BYTES


def test_a_fifo_or_device_is_not_read(folders):
    gate, allowed, _ = folders
    os.mkfifo(allowed / "pipe.yaml")
    assert _refusal(gate, "pipe.yaml") == gate.refusal()  # would block forever if opened
    assert _refusal(FileGate(), "/dev/zero") == "no such file"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1): a key appears twice"),
        ("x:\n  k: 1\n  k: 2\n", "a key appears twice"),
        ("a: &x [1, 2]\nb: *x\n", "aliases (*name) are not allowed"),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", "aliases (*name) are not allowed"),
        ("name: [unclosed\n", "not valid YAML (line 2"),
    ],
)
def test_yaml_refuses_duplicates_and_aliases(text, why):
    with pytest.raises(UserFileError) as err:
        parse_yaml(text)
    assert why in str(err.value)


def test_an_alias_bomb_is_refused_at_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}]\n"
        for i in range(9)
    )
    start = time.perf_counter()
    with pytest.raises(UserFileError, match="aliases"):
        parse_yaml(bomb)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "data",
    [
        {"root": "x:0:0:root:/root:/bin/bash"},  # /etc/passwd-like lines as keys
        ["a", "list"],
        "plain text",
        {**GOOD, "token": SECRET},  # an unknown field beside a scenario's own
        {**GOOD, "run": {"years": 5, "api_key": SECRET}},
        {**GOOD, "run": SECRET},
        {**GOOD, "allocations": [SECRET]},
    ],
)
def test_files_not_shaped_like_a_scenario_are_refused_without_quoting(data):
    with pytest.raises(UserFileError) as err:
        scenario_shape(data)
    message = str(err.value)
    assert message.startswith("not shaped like a scenario")
    assert SECRET not in message and "root" not in message


def test_known_fields_are_quoted_short(tmp_path):
    """A value of a known field may be quoted (to help), but cut to 60 characters."""
    from svsim.scenarios.library import ScenarioError, scenario_from_dict

    place = "Centrall" + "x" * 200
    data = {**GOOD, "allocations": [{"intervention": "i", "amount_per_year": 1, "places": [place]}]}
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, "scenario plan", {}, {"Central"}, (2024, 2028))
    message = next(m for m in err.value.errors if "places" in m)
    assert "'Centrallxxx" in message and place not in message
    assert len(message) < 160
