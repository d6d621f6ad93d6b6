"""The edge: compose Hydra configuration, validate it, and turn it into typed objects.

The model never sees YAML or Hydra objects; it gets an Area, Params and RunSettings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from svsim.model import ParameterError, Params, RunSettings, area_from_dict, params_from_dict
from svsim.model.model import check_fits
from svsim.model.params import brief

from . import schema
from .userfiles import FileGate, UserFileError

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"


class ConfigError(ValueError):
    """Bad input: the message is one line naming the field and the value."""


@dataclass(frozen=True)
class RunConfig:
    area: Any  # svsim.model.Area
    params: Any  # svsim.model.Params
    settings: Any  # svsim.model.RunSettings
    out: str | None
    write_incidents: bool
    resolved: dict  # the full resolved configuration, as plain data
    members: tuple = ()  # (area, params) per member of the calibration's plausible set

    def for_replicate(self, replicate: int) -> tuple:
        """(area, params) of a replicate: member r mod n of the plausible set, when drawn."""
        if not self.members:
            return self.area, self.params
        return self.members[replicate % len(self.members)]


def known_areas() -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / "area").glob("*.yaml"))


def area_labels() -> dict[str, str]:
    """The shipped areas' labels by name ("wiltshire_swindon" -> "Wiltshire and Swindon")."""
    return {
        name: area_from_dict(load_yaml(CONF_DIR / "area" / f"{name}.yaml", "area")).label
        for name in known_areas()
    }


def _register_schemas() -> None:
    from hydra.core.config_store import ConfigStore

    # a plain dict, not the frozen dataclass: OmegaConf makes frozen dataclasses read-only
    ConfigStore.instance().store(group="params", name="schema", node=asdict(Params()))


def _interrupted(exc: BaseException) -> bool:
    """Whether a library wrapped a Ctrl-C (OmegaConf and Hydra turn one inside composition into
    ConfigCompositionException): then the job stops as interrupted, not as bad input."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    if text and text[0].startswith("Could not override '"):
        return f"{text[0].split(chr(39))[1]}: unknown configuration key"
    first = text[0] if text else type(exc).__name__
    key = next(
        (ln.split(":", 1)[1].strip() for ln in text if ln.strip().startswith("full_key:")), None
    )
    return f"{key}: {first}" if key and key not in first else first


def _split_area(overrides: list[str]) -> tuple[list[str], Path | None]:
    """`area=path/to/file.yaml` names an area file outside conf/; take it out of the overrides."""
    rest, path = [], None
    for o in overrides:
        if o.startswith("area=") and o.endswith((".yaml", ".yml")):
            path = Path(o.split("=", 1)[1])
        else:
            rest.append(o)
    return rest, path


def parse_overrides(overrides: list[str]) -> list:
    """Hydra's parse of command-line overrides; a syntax error is one line naming the word."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    parsed = []
    for o in overrides:
        try:
            parsed += parser.parse_overrides([o])
        except HydraException as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else "not key=value"
            raise ConfigError(f"{brief(o)}: cannot parse: {why}") from None
    return parsed


def load_yaml(path: Path, field: str) -> Any:
    """A YAML file named on the command line or shipped in conf/, read through the one gate for
    user files (size cap, no duplicate keys or aliases)."""
    try:
        return FileGate().read_yaml(str(path))[0]
    except UserFileError as exc:
        raise ConfigError(f"{field}={str(path)!r}: {exc}") from None


def compose(config_name: str, overrides: list[str], sizes: bool = True):
    """Compose conf/<config_name>.yaml with overrides and check it against its schema; errors
    become one-line ConfigErrors. sizes=False skips the memory estimate, for a job that composes
    another's configuration for work it sizes itself (voi's draws are compare's replicates)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    _register_schemas()
    overrides, area_path = _split_area(overrides)
    for o in parse_overrides(overrides):
        group = CONF_DIR / o.key_or_group
        if group.is_dir() and o.is_delete() and o.key_or_group in ("area", "params", "experiment"):
            raise ConfigError(
                f"{o.key_or_group}: missing; must name a file of conf/{o.key_or_group}/"
            )
        if group.is_dir() and not isinstance(o.value(), str) and o.value() is not None:
            raise ConfigError(
                f"{o.key_or_group}={brief(o.value())}: must name a file of conf/{o.key_or_group}/"
            )
    for o in overrides:
        if o.startswith("area="):
            name = o.split("=", 1)[1]
            if name not in known_areas():
                raise ConfigError(
                    f"area={name!r}: unknown area (known: "
                    f"{', '.join(known_areas())}, or a path to a .yaml file)"
                )
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = hydra_compose(config_name=config_name, overrides=overrides)
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration: malformed YAML: {_one_line(exc)}") from None
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        if _interrupted(exc):
            raise KeyboardInterrupt from None
        raise ConfigError(_one_line(exc)) from None
    if area_path is not None:
        OmegaConf.set_struct(cfg, False)
        data = load_yaml(area_path, "area")
        if not isinstance(data, dict):  # never echo a file's text (it may be any file)
            raise ConfigError(
                f"area={str(area_path)!r}: not an area file (a mapping; see conf/area/)"
            )
        cfg.area = data
    try:
        schema.check(config_name, OmegaConf.to_container(cfg, resolve=True), sizes)
    except OmegaConfBaseException as exc:
        raise ConfigError(_one_line(exc)) from None
    except schema.SchemaError as exc:
        raise ConfigError(str(exc)) from None
    return cfg


def with_csp_multipliers(area, multipliers: dict):
    """The area with calibrated CSP hazard multipliers (csp_hazard_multiplier.<CSP>=x)."""
    from dataclasses import replace

    names = {c.name for c in area.csps}
    for name, value in multipliers.items():
        if name not in names:
            raise ParameterError(f"csp_hazard_multiplier.{name}: not a CSP of area {area.name}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ParameterError(f"csp_hazard_multiplier.{name}={value!r}: must be in [0, 100]")
    csps = tuple(
        replace(c, hazard_multiplier=float(multipliers.get(c.name, c.hazard_multiplier)))
        for c in area.csps
    )
    return replace(area, csps=csps)


def run_config(overrides: list[str], config_name: str = "run", sizes: bool = True) -> RunConfig:
    """Compose and validate the configuration of one simulation."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    cfg = compose(config_name, overrides, sizes)
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as exc:
        raise ConfigError(_one_line(exc)) from None
    try:
        params = params_from_dict(resolved["params"])
    except ParameterError as exc:
        raise ConfigError(str(exc) if str(exc).startswith("params.") else f"params.{exc}") from None
    try:
        area = with_csp_multipliers(
            area_from_dict(resolved["area"]), resolved.get("csp_hazard_multiplier") or {}
        )
        settings = RunSettings(
            **{
                k: resolved[k]
                for k in ("years", "burn_in_years", "seed", "population_scale", "start_year")
            },
            profile=resolved.get("profile", False),
        )
        check_fits(area, params, settings)
    except ParameterError as exc:
        raise ConfigError(str(exc)) from None
    out = resolved.get("out")
    members = ()
    if resolved.get("parameter_uncertainty"):
        members = _plausible_members(resolved, overrides)
    return RunConfig(
        area=area,
        params=params,
        settings=settings,
        out=out,
        write_incidents=bool(resolved.get("write_incidents", True)),
        resolved=resolved,
        members=members,
    )


def _plausible_members(resolved: dict, overrides: list[str]) -> tuple:
    """The calibration's plausible set as typed (area, params) pairs; a parameter set on the
    command line keeps its value in every member."""
    import copy

    flag = resolved["parameter_uncertainty"]
    if not isinstance(flag, bool):
        raise ConfigError(f"parameter_uncertainty={flag!r}: must be true or false")
    given = {o.key_or_group for o in parse_overrides(overrides)}
    plausible = (resolved.get("calibration") or {}).get("plausible_set") or []
    base_area = area_from_dict(resolved["area"])
    members = []
    for j, m in enumerate(plausible):
        params = copy.deepcopy(resolved["params"])
        csp = dict(resolved.get("csp_hazard_multiplier") or {})
        values = flatten({"params": m.get("params") or {}})
        values |= {
            f"csp_hazard_multiplier.{k}": v
            for k, v in (m.get("csp_hazard_multiplier") or {}).items()
        }
        for path, v in values.items():
            if any(path == g or path.startswith(g + ".") for g in given):
                continue
            if path.startswith("csp_hazard_multiplier."):
                csp[path.split(".", 1)[1]] = v
                continue
            set_path(params, path.split(".", 1)[1], v)
        try:
            members.append((with_csp_multipliers(base_area, csp), params_from_dict(params)))
        except ParameterError as exc:
            raise ConfigError(f"calibration.plausible_set[{j}]: {exc}") from None
    return tuple(members)


def flatten(tree: dict, prefix: str = "") -> dict:
    """{dotted path: leaf value} of a nested mapping."""
    out = {}
    for k, v in tree.items():
        path = f"{prefix}{k}"
        out |= flatten(v, path + ".") if isinstance(v, dict) else {path: v}
    return out


def set_path(tree: dict, path: str, value) -> None:
    """Set the leaf at a dotted path, making the mappings on the way."""
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
