"""The one way a file a person names is read: a scenario on the page or the command line, an
area file, and the shipped configuration.

A `FileGate` lets files in only from the folders an operator named (the workshop page) or from
anywhere (the command line, where the operator is the user). Either way a file must be a regular
.yaml file no larger than a cap, checked before it is read, and is parsed by a YAML loader that
refuses duplicate keys and aliases. Messages never quote a file's contents unless it is a
well-formed scenario from an allowed folder, and then only a known field's value, cut short
(scenarios.library.quote).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 256 * 1024  # a scenario file is a few kB; the largest shipped one is under 2 kB
SUFFIXES = (".yaml", ".yml")
# scenario files: the fields scenarios.library.scenario_from_dict reads, and the run: block
SCENARIO_REQUIRED = frozenset({"name", "budget_per_year", "allocations"})
SCENARIO_OPTIONAL = frozenset({"label", "description", "price_year", "assumptions", "run"})
RUN_BLOCK_KEYS = (
    "area",
    "seed",
    "population_scale",
    "replicates",
    "years",
    "burn_in_years",
    "start_year",
    "comparator",
    "uncertainty",
    "parameter_uncertainty",
)


class UserFileError(ValueError):
    """A file refused: one line, never a quotation of the file's contents."""


ALIAS_REFUSED = "aliases (*name) are not allowed"
DUPLICATE_REFUSED = "a key appears twice"
OUR_PROBLEMS = (ALIAS_REFUSED, DUPLICATE_REFUSED)


class StrictLoader(yaml.SafeLoader):
    """Safe YAML without aliases (no alias bombs, no merge keys) or duplicate keys."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, ALIAS_REFUSED, event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # SafeLoader refuses an unhashable key below
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, DUPLICATE_REFUSED, key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str) -> Any:
    """Parse with StrictLoader; a refusal names the line and column, never the text."""
    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None)
        why = f": {problem}" if problem in OUR_PROBLEMS else ""
        raise UserFileError(f"not valid YAML{where}{why}") from None


@dataclass(frozen=True)
class FileGate:
    """Where user files may come from. roots=None: anywhere (the command line, where the operator
    is the user); otherwise only real paths inside one of `roots` (no '..', no '~', no symlink
    out). Every refusal is a bare reason: the caller says which file or field it was."""

    roots: tuple[Path, ...] | None = None
    max_bytes: int = MAX_BYTES

    @classmethod
    def folders(cls, folders, max_bytes: int = MAX_BYTES) -> FileGate:
        """A gate for the existing folders among `folders`, each resolved to its real path."""
        roots = (Path(os.path.realpath(Path(f).expanduser())) for f in folders)
        return cls(tuple(dict.fromkeys(r for r in roots if r.is_dir())), max_bytes)

    def refusal(self) -> str:
        """The one answer for every path that is not an allowed file: the same whether or not
        the path exists, so it tells nothing about the rest of the computer."""
        where = " or ".join(str(r) for r in self.roots or ()) or "(no folder is open to it)"
        return f"the page reads only .yaml scenario files in {where}: no such file there"

    def locate(self, typed: str) -> Path:
        """The real path of an allowed file named by `typed`."""
        text = typed.strip()
        if self.roots is None:
            if not Path(text).is_file():
                raise UserFileError("no such file")
            if Path(text).suffix.lower() not in SUFFIXES:
                raise UserFileError("not a .yaml file")
            return Path(text)
        parts = Path(text).parts
        plain = text and not text.startswith("~") and ".." not in parts and "\x00" not in text
        if plain and Path(text).suffix.lower() in SUFFIXES:
            path = Path(text)
            for candidate in [path] if path.is_absolute() else [r / path for r in self.roots]:
                real = Path(os.path.realpath(candidate))
                inside = any(real.is_relative_to(r) for r in self.roots)
                if inside and real.suffix.lower() in SUFFIXES and real.is_file():
                    return real
        raise UserFileError(self.refusal())

    def read_text(self, typed: str) -> tuple[str, str]:
        """(text, file name) of an allowed file; its size is checked before a byte is read."""
        path = self.locate(typed)
        gated = self.roots is not None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise UserFileError(
                self.refusal() if gated else f"cannot open ({exc.strerror})"
            ) from None
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UserFileError(self.refusal() if gated else "not a regular file")
            if info.st_size > self.max_bytes:
                raise UserFileError(too_large(info.st_size, self.max_bytes))
            raw = f.read(self.max_bytes + 1)
        return decode(raw, self.max_bytes), path.name

    def read_yaml(self, typed: str) -> tuple[Any, str]:
        """(parsed YAML, file name) of an allowed file."""
        text, name = self.read_text(typed)
        return parse_yaml(text), name


def too_large(size: int, max_bytes: int) -> str:
    shown = f"{size / 1024:,.0f} kB" if size < 1024**2 else f"{size / 1024**2:,.1f} MB"
    return f"{shown}, over the {max_bytes // 1024} kB limit; nothing was read"


def decode(raw: bytes, max_bytes: int = MAX_BYTES) -> str:
    """UTF-8 text of a file's bytes (a dropped file's too), within the cap."""
    if len(raw) > max_bytes:
        raise UserFileError(too_large(len(raw), max_bytes))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserFileError("not a text (UTF-8) file") from None


def scenario_shape(data: Any) -> dict:
    """The data if it is shaped like a scenario (a mapping of the scenario's own fields,
    allocations a list of mappings, run: a mapping of run settings); refused, quoting nothing,
    otherwise. Only then may later messages quote its values."""
    shaped = (
        isinstance(data, dict)
        and all(isinstance(k, str) for k in data)
        and SCENARIO_REQUIRED <= set(data) <= SCENARIO_REQUIRED | SCENARIO_OPTIONAL
        and isinstance(data.get("allocations"), list | None)
        and all(isinstance(a, dict) for a in data.get("allocations") or [])
    )
    run = data.get("run") if isinstance(data, dict) else None
    if shaped and run is not None:
        shaped = isinstance(run, dict) and set(run) <= set(RUN_BLOCK_KEYS)
    if not shaped:
        raise UserFileError(
            "not shaped like a scenario (a mapping of name, budget_per_year and allocations; "
            f"optional {', '.join(sorted(SCENARIO_OPTIONAL))}; run: may set "
            f"{', '.join(RUN_BLOCK_KEYS)})"
        )
    return data


def read_scenario(gate: FileGate, typed: str) -> tuple[dict, str]:
    """(scenario data, file name) of a scenario file through `gate`."""
    data, name = gate.read_yaml(typed)
    return scenario_shape(data), name
