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


def with_table(text: str) -> str:
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{parameter_table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = ODD.read_text()
    new = with_table(text)
    if "--write" in argv:
        ODD.write_text(new)
        return 0
    if new != text:
        print("model/ODD.md's parameter table is out of date: python -m svsim.model.odd --write")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
