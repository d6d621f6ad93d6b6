"""`svsim run`: one simulation of an area, written to one run folder."""

from __future__ import annotations

import logging
from pathlib import Path

from svsim.model import ViolenceModel

from .config import ConfigError, run_config
from .runfolder import Stopwatch, default_out, run_folder, write_manifest

log = logging.getLogger("svsim.run")


def funded(cfg) -> list:
    """The run's `funding` scenario as delivery on the model's hook (its uncertain inputs drawn as
    compare's replicate 0 draws them), or nothing funded when none is given."""
    name = cfg.resolved.get("funding")
    if not name:
        return []
    from svsim.scenarios.delivery import Portfolio
    from svsim.scenarios.inputs import draw_inputs
    from svsim.scenarios.library import ScenarioError

    from .compare.compare import _load_library, load_prices, load_scenarios

    s = cfg.settings
    library = _load_library()
    last = s.start_year + s.years - 1
    try:
        sc = load_scenarios([name], cfg.area, library, s.start_year, last, key="funding")[0]
    except ScenarioError as exc:
        raise ConfigError(str(exc)) from None
    draws = draw_inputs(library, s.seed, 0, True)
    return [
        Portfolio(
            sc, library, draws, cfg.area, load_prices(), s.start_year, s.population_scale, s.seed
        )
    ]


def simulate_to_folder(cfg, folder: Path) -> dict:
    """Run the model for a validated RunConfig (with its scenario funded, if any) and write its
    tables into `folder`."""
    import pandas as pd
    import yaml

    clock = Stopwatch()
    hooks = funded(cfg)
    model = ViolenceModel(cfg.area, cfg.params, cfg.settings, hooks)
    built = clock.seconds
    results = model.run()
    stepped = clock.seconds
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg.resolved, sort_keys=False))
    results.weekly.to_parquet(folder / "weekly.parquet", index=False)
    if cfg.write_incidents:
        results.incidents.to_parquet(folder / "incidents.parquet", index=False)
    if hooks:
        pd.DataFrame(hooks[0].spending()).to_csv(folder / "spend.csv", index=False)
    return {
        "seed": cfg.settings.seed,
        "area": cfg.area.name,
        "scenario": hooks[0].scenario.name if hooks else None,
        "years": cfg.settings.years,
        "burn_in_years": cfg.settings.burn_in_years,
        "population_scale": cfg.settings.population_scale,
        "population_area": cfg.area.population,
        "population_simulated_start": model.initial_population,
        "population_simulated_end": int(model.alive().sum()),
        "seconds": {
            "build": round(built, 3),
            "simulate": round(stepped - built, 3),
            "total": round(clock.seconds, 3),
        },
        "totals_by_year": results.totals().round(3).to_dict(orient="index"),
        **({"profile": profile_table(model)} if model.profile is not None else {}),
    }


def profile_table(model) -> dict:
    """{process: {ms_per_call, calls, seconds}} of a profiled model (a call is a week, or a
    model year for start_year), and the weeks stepped."""
    table = {
        name: {
            "ms_per_call": 1000 * seconds / model.profile_calls[name],
            "calls": model.profile_calls[name],
            "seconds": seconds,
        }
        for name, seconds in model.profile.items()
        if name != "weeks"
    }
    return {"weeks": int(model.profile["weeks"]), "processes": table}


def main(overrides: list[str]) -> int:
    cfg = run_config(overrides)
    out = (
        Path(cfg.out) if cfg.out else default_out("run", f"{cfg.area.name}-seed{cfg.settings.seed}")
    )
    with run_folder(out) as tmp:
        clock = Stopwatch()
        summary = simulate_to_folder(cfg, tmp)
        write_manifest(
            tmp, job="run", overrides=overrides, wall_seconds=round(clock.seconds, 3), **summary
        )
    print(f"run folder: {out}")
    return 0
