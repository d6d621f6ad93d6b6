"""The setting processes' building blocks: age-sex curves, where people spend the day and the
night, weighted victim draws, and the yearly updates of groups and knife carrying.

model/model.py runs them in the weekly step; model/ODD.md section 7.3 says what each is built to
reproduce. Nothing here loops over people.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from .area import Area

MAX_AGE = 256  # lookup tables by whole year of age


def age_sex_curve(
    peak: float, rise: float, fall: float, female_rr: float, min_age: float = 0.0
) -> np.ndarray:
    """Rate ratio by [age, male]: 1 for a man at the peak age, falling to zero in childhood
    and old age: log RR = shape * (ln(a/peak) + 1 - a/peak), the shape `rise` below the peak
    and `fall` above it (a gamma-density curve, so the old-age tail falls exponentially)."""
    a = np.arange(MAX_AGE, dtype=float)
    x = np.maximum(a, 0.5) / peak
    log_rr = np.where(a < peak, rise, fall) * (np.log(x) + 1 - x)
    rr = np.exp(log_rr)
    rr[a < min_age] = 0.0
    return np.stack([rr * female_rr, rr], axis=1).astype(np.float32)


# CSEW stranger + acquaintance violence prevalence (%), men and women, by age band 16-24, 25-34,
# 35-44, 45-54, 55-64, 65-74, 75+; YE Dec 2018 (EVIDENCE.md 7.1, S5; strang_p + acquai_p in
# ../shared/data/csew_violence_prevalence_ye_dec2018.csv): who community violence harms
CSEW_BAND_STARTS = (16, 25, 35, 45, 55, 65, 75)
CSEW_NON_DOMESTIC = {
    "male": (5.330, 2.924, 2.074, 1.684, 1.627, 0.575, 0.168),
    "female": (2.146, 1.027, 0.916, 1.317, 0.597, 0.341, 0.252),
}


def community_victim_table(child_rr: float, young_child_rr: float) -> np.ndarray:
    """Weight by [age, male] of being a community victim: the CSEW table by band and sex
    (over men 16-24); children 10-15 and under 10 at the given ratios to the 16-24 band."""
    a = np.arange(MAX_AGE)
    band = np.searchsorted(CSEW_BAND_STARTS, a, side="right") - 1
    out = np.empty((MAX_AGE, 2), np.float32)
    top = CSEW_NON_DOMESTIC["male"][0]
    for col, sex in ((0, "female"), (1, "male")):
        values = np.array(CSEW_NON_DOMESTIC[sex]) / top
        out[:, col] = np.where(band >= 0, values[np.maximum(band, 0)], values[0])
        out[a < 16, col] *= child_rr
        out[a < 10, col] = values[0] * young_child_rr
    return out


def catchment(area: Area, km: float, centres: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each community's people go out: P[home, venue] over the `centres` nearest
    communities with a night-time economy, in proportion to its size x exp(-distance/km); and
    each community's access (the unnormalised pull, over its residents' mean 1)."""
    nte = np.array([c.night_time_economy for c in area.communities])
    d = area.distances_km()
    pull = nte[None, :] * np.exp(-d / km)
    pull[:, nte <= 0] = 0.0
    order = np.argsort(np.where(nte[None, :] > 0, d, np.inf), axis=1, kind="stable")
    keep = np.zeros_like(pull, dtype=bool)
    np.put_along_axis(keep, order[:, : int(centres)], True, axis=1)
    pull = np.where(keep, pull, 0.0)
    total = pull.sum(axis=1)
    prob = np.divide(pull, total[:, None], out=np.zeros_like(pull), where=total[:, None] > 0)
    pop = np.array([c.population for c in area.communities], dtype=float)
    mean = np.average(total, weights=pop) if total.any() else 1.0
    return prob, total / mean


def school_community(area: Area) -> np.ndarray:
    """The community a school (grouping) sits in: assumed the first it serves; -1 appended so
    that index -1 (no school) reads -1."""
    names = [c.name for c in area.communities]
    return np.array([names.index(s.communities[0]) for s in area.schools] + [-1], np.int64)


def group_index(values: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR-style grouping: (indptr, members sorted by group, stably)."""
    order = np.argsort(values, kind="stable")
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(values, minlength=n_groups), out=indptr[1:])
    return indptr, order


@dataclass
class WeightedIndex:
    """People grouped (by community), drawn within a group in proportion to a weight."""

    order: np.ndarray  # people sorted by group
    ptr: np.ndarray  # group g's people are order[ptr[g]:ptr[g+1]]
    cum: np.ndarray  # 0, then the cumulative weight along order (float64)

    @classmethod
    def build(
        cls,
        group: np.ndarray,
        weight: np.ndarray,
        n_groups: int,
        grouped: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> WeightedIndex:
        """grouped: group_index(group, n_groups), if the caller has it (saves a sort)."""
        ptr, order = group_index(group, n_groups) if grouped is None else grouped
        cum = np.zeros(len(order) + 1)
        np.cumsum(weight[order], dtype=np.float64, out=cum[1:])
        return cls(order, ptr, cum)

    def totals(self) -> np.ndarray:
        """Each group's total weight."""
        return self.cum[self.ptr[1:]] - self.cum[self.ptr[:-1]]

    def draw(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One person per (group, uniform), -1 where the group has no weight."""
        groups, u = np.broadcast_arrays(groups, u)
        lo, hi = self.cum[self.ptr[groups]], self.cum[self.ptr[groups + 1]]
        pos = np.searchsorted(self.cum, lo + u * (hi - lo), side="right") - 1
        pos = np.clip(pos, self.ptr[groups], np.maximum(self.ptr[groups + 1] - 1, 0))
        out = self.order[np.minimum(pos, len(self.order) - 1)] if len(self.order) else pos
        return np.where(hi > lo, out, -1)


def draw_rows(prob: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each row index (broadcast against u), a column drawn from prob[row] (rows sum to 1
    or 0; -1 where 0)."""
    n_rows, n_cols = prob.shape
    cdf = np.cumsum(prob, axis=1)
    rows, u = np.broadcast_arrays(rows, u)
    # rows laid end to end (row r's cdf shifted by 2r, so the whole is increasing): one search
    flat = (cdf + 2.0 * np.arange(n_rows)[:, None]).ravel()
    pos = np.searchsorted(flat, 2.0 * rows + u, side="right")
    col = np.minimum(pos - rows * n_cols, n_cols - 1)
    return np.where(cdf[rows, -1] > 0, col, -1)


def member_peers(network: sp.csr_array, flag: np.ndarray) -> np.ndarray:
    """How many of each person's peers have the flag."""
    return network @ flag.astype(np.float32)


def update_groups(
    group: np.ndarray,
    age: np.ndarray,
    alive: np.ndarray,
    home: np.ndarray,
    drug: np.ndarray,
    risk: np.ndarray,
    male: np.ndarray,
    network: sp.csr_array,
    g,
    u: np.ndarray,
) -> None:
    """A year of street-group membership: members leave (more often with age, all by max_age);
    young people join their community's group with log odds rising with member peers, the local
    drug market and their own risk, lower for girls (g: GroupParams; u: one uniform per person)."""
    member = group >= 0
    in_age = alive & (age >= g.min_age) & (age < g.max_age)
    # the odds are worked out only for those they decide (members; young non-members): the
    # same arithmetic per person as over everyone, a fraction of the work
    m = np.flatnonzero(member)
    p_exit = np.minimum(g.exit_per_year * 2.0 ** ((age[m] - 18) / 4.0), 1.0)
    leaves = m[~in_age[m] | (u[m] < p_exit)]
    c = np.flatnonzero(~member & in_age)
    peers = np.minimum(member_peers(network, member)[c], 3.0)
    logit = (
        g.join_log_odds
        + g.peer_log_or * peers
        + g.drug_log_or * drug[home[c]]
        + g.risk_log_or * risk[c]
        + g.female_log_or * ~male[c]
    )
    joins = c[u[c] < expit(logit)]
    group[leaves] = -1
    group[joins] = home[joins]


def update_carrying(
    carrying: np.ndarray,
    age: np.ndarray,
    alive: np.ndarray,
    victimised: np.ndarray,
    in_group: np.ndarray,
    male: np.ndarray,
    network: sp.csr_array,
    c,
    u: np.ndarray,
    odds: np.ndarray | None = None,
) -> None:
    """A year of knife carrying: carriers stop; others start with log odds raised by recent
    victimisation, group membership, the share of peers who carry and the perceived norm, and
    lowered for girls, times the interventions' odds multipliers `odds` (one per person)
    (c: CarryingParams; u: one uniform per person)."""
    in_age = alive & (age >= c.min_age) & (age < c.max_age)
    # the odds of starting are worked out only for the young non-carriers they decide: the
    # same arithmetic per person as over everyone, a fraction of the work
    ids = np.flatnonzero(~carrying & in_age)
    degree = np.diff(network.indptr)[ids]
    share = np.divide(
        member_peers(network, carrying)[ids],
        degree,
        out=np.zeros(len(ids), np.float32),
        where=degree > 0,
    )
    logit = (
        c.start_log_odds
        + c.victim_log_or * victimised[ids]
        + c.group_log_or * in_group[ids]
        + c.peer_log_or * share
        + c.norm_log_or * c.perceived_share
        + c.female_log_or * ~male[ids]
    )
    if odds is not None:
        with np.errstate(divide="ignore"):
            logit = logit + np.log(odds[ids])
    stops = carrying & (~in_age | (u < c.stop_per_year))
    starts = ids[u[ids] < expit(logit)]
    carrying[stops] = False
    carrying[starts] = True
