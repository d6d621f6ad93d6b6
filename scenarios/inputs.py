"""One replicate's draws of every intervention's uncertain inputs, the same in every scenario.

The effect is drawn through its transfer chain (scenarios/transfer.py): the published estimate
and each rule's parameter on their own, so the model effect's uncertainty is the chain's.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .library import Intervention
from .transfer import pert


@dataclass(frozen=True)
class Draw:
    """One replicate's values of an intervention's uncertain inputs."""

    reduction: float  # the model effect on the lever (negative: harm)
    uptake: float
    completion: float
    unit_cost: float
    chain: tuple[float, ...] = ()  # the estimate and each rule's parameter, as drawn


def draw_inputs(
    library: dict[str, Intervention], seed: int, replicate: int, uncertain: bool = True
) -> dict[str, Draw]:
    """Draw every intervention's effect chain, uptake, completion and unit cost for a replicate."""
    out = {}
    for name in sorted(library):
        spec = library[name]
        if uncertain:  # keyed by the name, so adding an intervention moves no other's draws
            rng = np.random.default_rng([seed, 7_001, replicate, zlib.crc32(name.encode())])
            chain = [float(v) for v in spec.chain.draw(rng)]
            rest = [
                pert(rng, e.low, e.value, e.high)
                for e in (spec.uptake, spec.completion, spec.unit_cost)
            ]
        else:
            chain = spec.chain.modes()
            rest = [spec.uptake.value, spec.completion.value, spec.unit_cost.value]
        out[name] = Draw(float(spec.chain.reduction(chain)), *map(float, rest), tuple(chain))
    return out
