"""An area: its Community Safety Partnerships, communities and schools, validated."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .params import ParameterError, brief

PHASE_AGES = {"primary": (4, 11), "secondary": (11, 18)}
# a school's phase -> the age phases it teaches (an all-through school teaches both)
PHASES = {"primary": ("primary",), "secondary": ("secondary",), "all_through": tuple(PHASE_AGES)}
EARTH_RADIUS_KM = 6371.0  # mean Earth radius, for great-circle distances
GB_LATITUDE = (49.0, 61.0)  # Great Britain, WGS84 degrees: a location outside is a typing error
GB_LONGITUDE = (-9.0, 3.0)


@dataclass(frozen=True)
class CSP:
    name: str
    population: int
    hazard_multiplier: float


@dataclass(frozen=True)
class Community:
    name: str
    csp: str
    population: int
    urban: bool
    deprivation: float
    night_time_economy: float
    drug_market: float
    cohesion: float
    location: tuple[float, float]  # (latitude, longitude), WGS84 degrees, of its population centre


@dataclass(frozen=True)
class School:
    """A school, or a grouping of `schools` real schools of one phase; roll is its pupils."""

    name: str
    phase: str
    communities: tuple[str, ...]
    roll: float = 1.0
    schools: int = 1


@dataclass(frozen=True)
class SchoolRegister:
    """Where the rolls come from: the DfE school list (with its extraction date) or stated
    assumptions of a typical roll by phase."""

    source: str = "not given: the schools of a phase share their communities' pupils equally"
    extracted: str = ""
    assumed_roll: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Area:
    name: str
    label: str  # how people name the area, for titles and the workshop's list
    census_year: int
    population_growth_per_year: float
    female_share: float
    age_structure: tuple[tuple[int, float], ...]
    csps: tuple[CSP, ...]
    communities: tuple[Community, ...]
    schools: tuple[School, ...]
    school_register: SchoolRegister = SchoolRegister()

    @property
    def population(self) -> int:
        return sum(c.population for c in self.csps)

    def community_index(self, name: str) -> int:
        return [c.name for c in self.communities].index(name)

    def distances_km(self) -> np.ndarray:
        """Great-circle distances between community locations (km, read-only, cached): where
        people go out and work depends on how far away a centre is."""
        return _distances_km(tuple(c.location for c in self.communities))


@functools.lru_cache(maxsize=8)
def _distances_km(locations: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Haversine distances (km) between (latitude, longitude) pairs, zero on the diagonal."""
    lat, lon = np.radians(np.array(locations, dtype=float).reshape(-1, 2)).T
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    np.fill_diagonal(d, 0.0)
    d.flags.writeable = False
    return d


def _number(where: str, value: Any, lo: float, hi: float, integer: bool = False) -> Any:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not math.isfinite(value) or not lo <= value <= hi:
        kind = "an integer" if integer else "a number"
        raise ParameterError(f"{where}={value!r}: must be {kind} in [{lo}, {hi}]")
    return int(value) if integer else float(value)


def _location(where: str, value: Any) -> tuple[float, float]:
    """A [latitude, longitude] pair in degrees inside Great Britain, or a one-line error."""
    ok = isinstance(value, list | tuple) and len(value) == 2
    ok = ok and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )
    if ok:
        lat, lon = float(value[0]), float(value[1])
        ok = GB_LATITUDE[0] <= lat <= GB_LATITUDE[1] and GB_LONGITUDE[0] <= lon <= GB_LONGITUDE[1]
    if not ok:
        raise ParameterError(
            f"{where}={value!r}: must be [latitude, longitude] in degrees, latitude in "
            f"[{GB_LATITUDE[0]:g}, {GB_LATITUDE[1]:g}] and longitude in "
            f"[{GB_LONGITUDE[0]:g}, {GB_LONGITUDE[1]:g}] (Great Britain)"
        )
    return lat, lon


def _keys(where: str, data: Any, required: set[str], optional: set[str] = frozenset()) -> dict:
    if not isinstance(data, dict):
        raise ParameterError(f"{where}={brief(data)}: must be a mapping")
    for key in data:
        if key not in required | optional:
            raise ParameterError(f"{where}.{key}: unknown field")
    for key in sorted(required - set(data)):
        raise ParameterError(f"{where}.{key}: missing")
    return data


def _list(where: str, data: Any) -> list:
    if data is None:
        return []
    if not isinstance(data, list):
        raise ParameterError(f"{where}={brief(data)}: must be a list")
    return data


def area_from_dict(data: Any) -> Area:
    """Validate an area's plain data (from YAML) into an Area, or raise a one-line error.

    Longer than the project's guide of about 120 lines: it is the area file's schema, one
    check per field in the file's order, and reads best whole."""
    top = _keys(
        "area",
        data,
        {
            "name",
            "census_year",
            "population_growth_per_year",
            "female_share",
            "age_structure",
            "csps",
            "communities",
            "schools",
        },
        {"label", "description", "sources", "school_register"},
    )
    ages = top["age_structure"]
    if not isinstance(ages, dict) or not ages:
        raise ParameterError(f"area.age_structure={ages!r}: must map band start to share")
    bands = tuple(
        sorted(
            (
                _number(f"area.age_structure[{k}]", k, 0, 100, True),
                _number(f"area.age_structure[{k}]", v, 0, 1),
            )
            for k, v in ages.items()
        )
    )
    total = sum(s for _, s in bands)
    if abs(total - 1) > 1e-3:
        raise ParameterError(f"area.age_structure: shares sum to {total:.4f}, not 1")
    csps = []
    for i, c in enumerate(_list("area.csps", top["csps"])):
        w = f"area.csps[{i}]"
        _keys(w, c, {"name", "population"}, {"hazard_multiplier"})
        csps.append(
            CSP(
                str(c["name"]),
                _number(f"{w}.population", c["population"], 0, 1e8, True),
                _number(f"{w}.hazard_multiplier", c.get("hazard_multiplier", 1.0), 0, 100),
            )
        )
    if not csps:
        raise ParameterError("area.csps: at least one CSP is needed")
    csp_names = [c.name for c in csps]
    communities = []
    for i, c in enumerate(_list("area.communities", top["communities"])):
        w = f"area.communities[{i}]"
        _keys(
            w,
            c,
            {
                "name",
                "csp",
                "population",
                "urban",
                "deprivation",
                "night_time_economy",
                "drug_market",
                "cohesion",
                "location",
            },
            {"sources"},
        )
        if c["csp"] not in csp_names:
            raise ParameterError(f"{w}.csp={c['csp']!r}: not a CSP of this area")
        if not isinstance(c["urban"], bool):
            raise ParameterError(f"{w}.urban={c['urban']!r}: must be true or false")
        communities.append(
            Community(
                name=str(c["name"]),
                csp=c["csp"],
                urban=c["urban"],
                population=_number(f"{w}.population", c["population"], 1, 1e8, True),
                location=_location(f"{w}.location", c["location"]),
                **{
                    k: _number(f"{w}.{k}", c[k], 0, 1)
                    for k in ("deprivation", "night_time_economy", "drug_market", "cohesion")
                },
            )
        )
    names = [c.name for c in communities]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ParameterError(f"area.communities: name {dup!r} appears twice")
    for csp in csps:
        total = sum(c.population for c in communities if c.csp == csp.name)
        if total != csp.population:
            raise ParameterError(
                f"area.csps[{csp.name}].population={csp.population}: its communities sum to {total}"
            )
    register = _register(top.get("school_register"))
    typical = dict(register.assumed_roll)
    schools = []
    for i, s in enumerate(_list("area.schools", top["schools"])):
        w = f"area.schools[{i}]"
        _keys(w, s, {"name", "phase", "communities"}, {"roll", "schools"})
        if s["phase"] not in PHASES:
            raise ParameterError(
                f"{w}.phase={s['phase']!r}: must be primary, secondary or all_through"
            )
        for name in s["communities"] or []:
            if name not in names:
                raise ParameterError(f"{w}.communities: {name!r} is not a community of this area")
        n = _number(f"{w}.schools", s.get("schools", 1), 1, 1000, True)
        if "roll" in s:
            roll = _number(f"{w}.roll", s["roll"], 1, 1e6)
        elif typical:
            if s["phase"] not in typical:
                raise ParameterError(f"{w}: no roll, and no assumed_roll for {s['phase']}")
            roll = n * typical[s["phase"]]
        else:
            roll = 1.0  # no register: equal shares
        schools.append(School(str(s["name"]), s["phase"], tuple(s["communities"] or ()), roll, n))
    for c in communities:
        for phase in PHASE_AGES:
            if not any(c.name in s.communities and phase in PHASES[s.phase] for s in schools):
                raise ParameterError(f"area.communities[{c.name}]: no {phase} school serves it")
    label = top.get("label", str(top["name"]).replace("_", " "))
    if not isinstance(label, str) or not label.strip():
        raise ParameterError(f"area.label={label!r}: must be a non-empty name")
    return Area(
        name=str(top["name"]),
        label=label.strip(),
        census_year=_number("area.census_year", top["census_year"], 1900, 2100, True),
        population_growth_per_year=_number(
            "area.population_growth_per_year", top["population_growth_per_year"], -0.1, 0.1
        ),
        female_share=_number("area.female_share", top["female_share"], 0, 1),
        age_structure=bands,
        csps=tuple(csps),
        communities=tuple(communities),
        schools=tuple(schools),
        school_register=register,
    )


def _register(data: Any) -> SchoolRegister:
    """The school register's provenance and assumed rolls (optional)."""
    if data is None:
        return SchoolRegister()
    w = "area.school_register"
    _keys(w, data, {"source"}, {"extracted", "assumed_roll"})
    if not isinstance(data["source"], str) or not data["source"].strip():
        raise ParameterError(f"{w}.source={data['source']!r}: must say where the rolls come from")
    rolls = data.get("assumed_roll") or {}
    if not isinstance(rolls, dict):
        raise ParameterError(f"{w}.assumed_roll={rolls!r}: must map phase to pupils")
    for phase in rolls:
        if phase not in PHASES:
            raise ParameterError(f"{w}.assumed_roll.{phase}: not a phase")
    return SchoolRegister(
        source=data["source"].strip(),
        extracted=str(data.get("extracted") or ""),
        assumed_roll=tuple(
            (k, _number(f"{w}.assumed_roll.{k}", v, 1, 1e5)) for k, v in rolls.items()
        ),
    )
