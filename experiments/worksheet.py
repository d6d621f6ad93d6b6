"""`svsim worksheet`: the accounting worksheet (model/accounting.py) for the shipped point.

svsim worksheet                  # print it (scale 1, seed 12, 3 years after burn-in)
svsim worksheet --write          # rewrite it in model/ODD.md section 7.12
svsim worksheet --check          # exit 1 if ODD.md's worksheet is stale
svsim worksheet seed=3           # any run override; then it is not the shipped point
"""

from __future__ import annotations

from svsim.model.accounting import RUN, worksheet
from svsim.model.odd import ODD

from .config import run_config

ODD_START, ODD_END = "<!-- accounting-worksheet:start -->", "<!-- accounting-worksheet:end -->"


def main(argv: list[str]) -> int:
    flags = {a for a in argv if a.startswith("--")}
    overrides = [f"{k}={v}" for k, v in RUN.items()] + [a for a in argv if a not in flags]
    cfg = run_config(overrides)
    label = "the shipped calibrated point (conf/calibrated/), " if len(argv) == len(flags) else ""
    text = worksheet(cfg.area, cfg.params, cfg.settings, label)
    if not flags:
        print(text)
        return 0
    odd = ODD.read_text()
    head, rest = odd.split(ODD_START, 1)
    _, tail = rest.split(ODD_END, 1)
    new = f"{head}{ODD_START}\n{text}\n{ODD_END}{tail}"
    if "--write" in flags:
        ODD.write_text(new)
        return 0
    if new != odd:
        print("model/ODD.md's accounting worksheet is stale: svsim worksheet --write")
        return 1
    return 0
