"""`svsim worksheet`: the accounting worksheet (model/accounting.py) for the shipped point.

svsim worksheet                  # print it (scale 1, seed 12, 3 years after burn-in)
svsim worksheet --write          # rewrite it in model/ODD.md section 7.12
svsim worksheet --check          # exit 1 if ODD.md's worksheet is stale
svsim worksheet seed=3           # any run override; then it is not the shipped point
"""

from __future__ import annotations

from svsim.model.accounting import RUN, worksheet
from svsim.model.odd import sync_block

from .config import ConfigError, run_config

ODD_START, ODD_END = "<!-- accounting-worksheet:start -->", "<!-- accounting-worksheet:end -->"


def main(argv: list[str]) -> int:
    flags = {a for a in argv if a.startswith("--")}
    unknown = flags - {"--write", "--check"}
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown flag (known: --write, --check)")
    overrides = [f"{k}={v}" for k, v in RUN.items()] + [a for a in argv if a not in flags]
    cfg = run_config(overrides)
    shipped = (
        "the shipped calibration's chosen member (its least implausible point), "
        if cfg.resolved.get("calibration")
        else "the shipped defaults (hand-set; no calibration shipped), "
    )
    label = shipped if len(argv) == len(flags) else ""
    text = worksheet(cfg.area, cfg.params, cfg.settings, label)
    if not flags:
        print(text)
        return 0
    return sync_block(ODD_START, ODD_END, text, "--write" in flags, "svsim worksheet --write")
