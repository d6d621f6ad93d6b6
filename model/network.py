"""The peer network: homophilous by age, community and school, built directly as a sparse matrix.

Each person aged `min_age`+ sends Poisson(mean_degree / 2) ties. A tie goes, in turn, to a
schoolmate (pupils, with probability school_homophily), else to someone in the same community
(community_homophily), else to anyone in the area; with probability sex_homophily it is held to
the sender's own sex within that group; within the group the partner is the person a normally
distributed number of places away in age order (SD age_sd years' worth of people), which makes
ties close in age. Ties are undirected, without self-ties or duplicates. Household ties are
not peer ties: households are held apart (People.household).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .params import NetworkParams


def _partners(
    members: np.ndarray,
    group: np.ndarray,
    age_days: np.ndarray,
    senders: np.ndarray,
    sd_years: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each sender (a member), a partner in its group, close to it in age order."""
    order = members[np.lexsort((age_days[members], group[members]))]
    pos = np.empty(group.shape[0], dtype=np.int64)
    pos[order] = np.arange(len(order))
    g_sorted = group[order]
    starts = np.searchsorted(g_sorted, g_sorted, side="left")
    ends = np.searchsorted(g_sorted, g_sorted, side="right")
    # people per year of age in the sender's group, from the group's size and age span
    span = np.maximum(age_days[order][ends - 1] - age_days[order][starts], 365) / 365.0
    density = (ends - starts) / span
    p = pos[senders]
    offset = np.rint(rng.standard_normal(len(senders)) * sd_years * density[p]).astype(np.int64)
    offset[offset == 0] = np.where(rng.random(int((offset == 0).sum())) < 0.5, -1, 1)
    q = np.clip(p + offset, starts[p], ends[p] - 1)
    return order[q]


def build_peer_network(
    age_years: np.ndarray,
    community: np.ndarray,
    school: np.ndarray,
    alive: np.ndarray,
    p: NetworkParams,
    rng: np.random.Generator,
    age_days: np.ndarray | None = None,
    male: np.ndarray | None = None,
) -> sp.csr_array:
    """Symmetric 0/1 CSR adjacency over all people (rows of the dead or young are empty)."""
    n = len(age_years)
    if age_days is None:
        age_days = age_years * 365 + rng.integers(0, 365, n)
    members = np.flatnonzero(alive & (age_years >= p.min_age))
    stubs = rng.poisson(p.mean_degree / 2, len(members))
    senders = np.repeat(members, stubs)
    u = rng.random(len(senders))
    pupil = school[senders] >= 0
    to_school = pupil & (u < p.school_homophily)
    u2 = rng.random(len(senders))
    to_comm = ~to_school & (u2 < p.community_homophily)
    to_area = ~to_school & ~to_comm
    targets = np.empty(len(senders), dtype=np.int64)
    area_group = np.zeros(n, dtype=np.int64)
    eligible_pupils = members[school[members] >= 0]
    same_sex = np.zeros(len(senders), bool)
    if male is not None:
        same_sex = rng.random(len(senders)) < p.sex_homophily
    sex = np.zeros(n, np.int64) if male is None else male.astype(np.int64)
    for mask, pool, group in (
        (to_school, eligible_pupils, school.astype(np.int64)),
        (to_comm, members, community.astype(np.int64)),
        (to_area, members, area_group),
    ):
        for held, key in ((False, group), (True, group * 2 + sex)):
            sel = mask & (same_sex == held)
            if sel.any():
                targets[sel] = _partners(pool, key, age_days, senders[sel], p.age_sd, rng)
    keep = targets != senders
    rows = np.concatenate([senders[keep], targets[keep]])
    cols = np.concatenate([targets[keep], senders[keep]])
    adj = sp.csr_array((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.data[:] = 1
    adj.indices = adj.indices.astype(np.int32)
    adj.indptr = adj.indptr.astype(np.int32)
    return adj
