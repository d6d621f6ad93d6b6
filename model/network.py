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
    target: np.ndarray,
    sd_years: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """For each sender, a partner among the members of its target group, close to the sender
    in age order (the sender's place in that group by age, moved a normal number of places);
    the sender itself where the group is empty (such self-ties are dropped)."""
    key = group[members].astype(np.int64, copy=False) << 20
    key |= age_days[members]
    by_key = np.argsort(key)  # ties (same group and birth day) in a fixed, arbitrary order
    order, key = members[by_key], key[by_key]
    # each group's first place: where its keys start (group << 20; birth days are below 2^20)
    bounds = np.searchsorted(key, np.arange(int(group.max(initial=0)) + 2, dtype=np.int64) << 20)
    lo, hi = bounds[target], bounds[target + 1]
    # people per year of age in each group, from its size and age span (per group, then looked
    # up per sender: the groups are few)
    first, last = bounds[:-1], np.maximum(bounds[1:] - 1, 0)
    age_sorted = key & (1 << 20) - 1 if len(order) else np.zeros(1, np.int64)  # age_days[order]
    first = np.minimum(first, len(age_sorted) - 1)
    last = np.minimum(last, len(age_sorted) - 1)
    span = np.maximum(age_sorted[last] - age_sorted[np.minimum(first, last)], 365) / 365
    density = (np.diff(bounds) / span).astype(np.float32)[target]
    # the sender's place: its own where the target is its group, else found by age
    pos = np.zeros(group.shape[0], dtype=np.int64)
    pos[order] = np.arange(len(order))
    other = np.flatnonzero(target != group[senders])
    p = pos[senders]
    p[other] = np.searchsorted(
        key, target[other].astype(np.int64) << 20 | age_days[senders[other]], side="left"
    )
    # in place, in the same float32 operations: z x sd_years x density, rounded
    shift = rng.standard_normal(len(senders), dtype=np.float32)
    shift *= sd_years
    shift *= density
    offset = np.rint(shift, out=shift).astype(np.int64)
    zero = offset == 0
    offset[zero] = np.where(rng.random(int(zero.sum())) < 0.5, -1, 1)
    q = np.add(p, offset, out=p)
    np.maximum(q, lo, out=q)
    np.minimum(q, np.maximum(hi - 1, lo), out=q)  # np.clip is slower
    np.minimum(q, len(order) - 1, out=q)
    return np.where(hi > lo, order[q], senders)


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
    u = rng.random(len(senders), dtype=np.float32)
    pupil = school[senders] >= 0
    to_school = pupil & (u < p.school_homophily)
    u2 = rng.random(len(senders), dtype=np.float32)
    to_comm = ~to_school & (u2 < p.community_homophily)
    to_area = ~to_school & ~to_comm
    targets = np.empty(len(senders), dtype=np.int64)
    area_group = np.zeros(n, dtype=np.int64)
    eligible_pupils = members[school[members] >= 0]
    sex = np.zeros(n, np.int64) if male is None else male.astype(np.int64)
    # a tie is held to the sender's sex with sex_homophily, else to a sex drawn at random
    held = rng.random(len(senders), dtype=np.float32) < p.sex_homophily
    random_sex = rng.integers(0, 2, len(senders), dtype=np.int8)
    target_sex = np.where(held, sex[senders], random_sex) if male is not None else 0
    for mask, pool, group in (
        (to_school, eligible_pupils, school.astype(np.int64)),
        (to_comm, members, community.astype(np.int64)),
        (to_area, members, area_group),
    ):
        if mask.any():
            key = group * 2 + sex
            who = senders[mask]
            tsex = target_sex[mask] if male is not None else sex[who]
            target = group[who] * 2 + tsex
            targets[mask] = _partners(pool, key, age_days, who, target, p.age_sd, rng)
    keep = targets != senders
    return _symmetric_csr(senders[keep], targets[keep], n)


def _symmetric_csr(a: np.ndarray, b: np.ndarray, n: int) -> sp.csr_array:
    """The 0/1 adjacency of ties a-b in both directions, in canonical form (indices sorted in
    each row, no duplicates; int32 indices, int8 data). scipy's COO -> CSR conversion is a
    counting sort by row, about three times faster here than one sort of (row, column) keys."""
    rows = np.concatenate([a, b]).astype(np.int32)
    cols = np.concatenate([b, a]).astype(np.int32)
    adj = sp.csr_array((np.ones(len(rows), np.int8), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.data[:] = 1  # a tie drawn twice is one tie
    return adj
