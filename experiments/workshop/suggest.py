"""The page's "suggest a mix": the best mix for the room's budget from a frontier `svsim optimise`
computed ahead (its analysis/frontier.csv: the best mix on its fitted curves at each budget from
zero to twice its budget). Computed ahead because an optimisation takes hours, not the seconds a
room waits; the page's own runs are then the check of the suggested mix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError


@dataclass(frozen=True)
class Frontier:
    """A cached frontier: per budget level, the amounts of each (intervention, places) option."""

    folder: str
    area: str
    budgets: tuple[float, ...]
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (intervention, places) per column
    amounts: tuple[tuple[float, ...], ...]  # per level, one amount per option

    def level(self, budget: float) -> int:
        """The highest budget level within `budget` (level 0 is nothing funded)."""
        within = [i for i, b in enumerate(self.budgets) if b <= budget]
        return max(within, key=lambda i: self.budgets[i]) if within else 0


def load_frontier(path, area: str, library: dict, places: list[str]) -> Frontier:
    """An optimise folder's frontier for this area, checked: one-line ConfigError otherwise."""
    import pandas as pd

    folder = Path(str(path)).expanduser()
    analysis = folder / "analysis"
    field = f"suggest_from={str(path)!r}"
    try:
        manifest = json.loads((analysis / "manifest.json").read_text())
        front = pd.read_csv(analysis / "frontier.csv")
        opts = pd.read_csv(analysis / "options.csv")
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(f"{field}: not a finished svsim optimise folder ({why})") from None
    if manifest.get("job") != "optimise":
        raise ConfigError(f"{field}: not a finished svsim optimise folder")
    if manifest.get("area") != area:
        found = manifest.get("area", "none recorded")
        raise ConfigError(f"{field}: its frontier is for area {found!r}, not {area!r}")
    options = []
    for row in opts.itertuples():
        where = tuple(p.strip() for p in str(row.places).split(","))
        if row.intervention not in library or not set(where) <= set(places):
            raise ConfigError(
                f"{field}: option {row.intervention} in {row.places} is not in this library "
                "and area"
            )
        options.append((row.intervention, where))
    labels = [f"{n} in {', '.join(p)}" for n, p in options]
    if missing := [lab for lab in labels if lab not in front.columns]:
        raise ConfigError(f"{field}: frontier.csv has no column {missing[0]!r}")
    front = front.dropna(subset=labels)  # levels below the commitments have no mix
    return Frontier(
        str(folder),
        area,
        tuple(float(b) for b in front.budget),
        tuple(options),
        tuple(tuple(float(v) for v in r) for r in front[labels].to_numpy()),
    )


def suggested(frontier: Frontier, budget: float) -> tuple[float, dict, dict]:
    """(the level's budget, amount per intervention, places per intervention) at the highest
    level within `budget`: an intervention funded in several place sets gets their sum over
    their places together (the page holds one amount and one list of places per intervention)."""
    i = frontier.level(budget)
    amounts: dict[str, float] = {}
    places: dict[str, list[str]] = {}
    for (name, where), a in zip(frontier.options, frontier.amounts[i], strict=True):
        if a > 0:
            amounts[name] = amounts.get(name, 0.0) + a
            places[name] = places.get(name, []) + [
                p for p in where if p not in places.get(name, [])
            ]
    return frontier.budgets[i], amounts, places
