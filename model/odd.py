"""The parameter table of model/ODD.md, generated from the typed parameters.

python -m svsim.model.odd          # check that ODD.md is up to date (exit 1 if not)
python -m svsim.model.odd --write  # rewrite the table in ODD.md
"""

from __future__ import annotations

import sys
from dataclasses import fields
from pathlib import Path

from .params import Params

ODD = Path(__file__).resolve().parent / "ODD.md"
START, END = "<!-- parameter-table:start -->", "<!-- parameter-table:end -->"


def _fmt(x: float) -> str:
    if x in (float("inf"), float("-inf")):
        return "∞" if x > 0 else "-∞"
    return f"{x:g}"


def parameter_rows() -> list[tuple[str, str, str, str, str]]:
    """(name, default, unit, range, source) for every model parameter."""
    rows = []
    for group in fields(Params):
        for f in fields(group.default_factory):
            m = f.metadata
            rows.append(
                (
                    f"params.{group.name}.{f.name}",
                    _fmt(f.default),
                    m["unit"],
                    f"[{_fmt(m['lo'])}, {_fmt(m['hi'])}]",
                    m["source"],
                )
            )
    return rows


def parameter_table() -> str:
    lines = ["| parameter | default | unit | valid range | source |", "|---|---|---|---|---|"]
    lines += [f"| `{n}` | {d} | {u} | {r} | {s} |" for n, d, u, r, s in parameter_rows()]
    return "\n".join(lines)


def with_block(text: str, start: str, end: str, body: str) -> str:
    """`text` with what stands between the markers start and end replaced by body."""
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def sync_block(start: str, end: str, body: str, write: bool, fix: str) -> int:
    """Rewrite ODD.md's block (write=True), or check it: 0 if current, 1 (saying `fix`) if not."""
    text = ODD.read_text()
    new = with_block(text, start, end, body)
    if write:
        ODD.write_text(new)
        return 0
    if new != text:
        print(f"model/ODD.md is out of date: {fix}")
        return 1
    return 0


def main(argv: list[str]) -> int:
    return sync_block(
        START, END, parameter_table(), "--write" in argv, "python -m svsim.model.odd --write"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
