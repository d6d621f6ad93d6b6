"""The simulation core: a Mesa model of an area's people, places and peer network."""

from .area import Area, area_from_dict
from .hooks import Intervention, Levers, Observed
from .model import PersonAgent, Results, ViolenceModel
from .params import ParameterError, Params, RunSettings, params_from_dict

__all__ = [
    "Area",
    "Intervention",
    "Levers",
    "Observed",
    "ParameterError",
    "Params",
    "PersonAgent",
    "Results",
    "RunSettings",
    "ViolenceModel",
    "area_from_dict",
    "params_from_dict",
]
