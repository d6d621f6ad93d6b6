"""Random streams keyed by (seed, process, week), arranged for common random numbers.

Two kinds of draw, one rule: a person's draw never depends on anyone else.
- `full(process, week, n)`: one uniform per person for a process that touches everyone (offending),
  from a PCG64 generator seeded by (seed, process, week). Person i always gets element i.
- `keyed(process, week, ids, slot)`: uniforms for a few people (offenders, victims), from a
  counter-based hash of (seed, process, week, slot, person) - the SplitMix64 finaliser (Steele,
  Lea and Flood 2014) - so the draw of person i does not depend on who else is drawing.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Process(IntEnum):
    """One stream per random decision."""

    POPULATION = 1
    NETWORK = 2
    SAMPLING = 3
    DEMOGRAPHY = 4  # keys: year, then 0 deaths / 1 arrivals / 2 partnerships
    DAY = 5  # keyed by year: where each person spends the day
    FRAILTY = 6  # keyed by year: persistent victim risk of that year's newcomers
    GROUPS = 7  # keyed by year: street-group joining and leaving
    CARRYING = 8  # keyed by year: starting and stopping knife carrying
    PARTNER = 9  # keyed by year (onset, start week, duration) or week (incident, exit)
    OFFEND = 10
    SETTING = 11  # slots: setting, rival group, retaliation, venue, day or home, rival member
    VICTIM = 13  # slots: candidates
    ACCEPT = 14  # slots: one per candidate
    SEVERITY = 20  # slots: weapon, injury, serious, death, admission, recording
    JUSTICE = 30  # slots: arrest, disposal, custody, sentence
    HOSPITAL = 35
    MEASUREMENT = 40  # slots: survey, self-completion, reported, extra crime, suspect, admission
    STREET = 45  # interventions' street-incident lever: removed or repeated
    REFERRAL = 50  # slots: arrest, hospital, victim, household abuse, then capacity priority
    PATTERNS = 90  # analysis only (model/patterns.py), never drawn in a run


_MASK = (1 << 64) - 1
_M1, _M2, _GOLDEN = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0x9E3779B97F4A7C15
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def _splitmix(x):
    """SplitMix64 finaliser, on uint64 arrays (wrapping) or Python ints (masked)."""
    if isinstance(x, int):
        x ^= x >> 30
        x = (x * _M1) & _MASK
        x ^= x >> 27
        x = (x * _M2) & _MASK
        return x ^ (x >> 31)
    x = x ^ (x >> np.uint64(30))  # a new array: the caller's is left untouched
    x *= np.uint64(_M1)
    x ^= x >> np.uint64(27)
    x *= np.uint64(_M2)
    x ^= x >> np.uint64(31)
    return x


class Streams:
    """The model's source of randomness for one seed."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def generator(self, process: Process, *keys: int) -> np.random.Generator:
        """A numpy Generator for a one-off process (population, network), keyed by ints."""
        return np.random.default_rng([self.seed, int(process), *map(int, keys)])

    def full(self, process: Process, week: int, n: int) -> np.ndarray:
        """n uniforms in [0, 1), element i for person i; single precision (2^-24 steps, far
        finer than any weekly probability here), which halves the cost of drawing for everyone."""
        return self.generator(process, week).random(n, dtype=np.float32)

    def keyed(
        self, process: Process, week: int, ids: np.ndarray, slot: int | np.ndarray = 0
    ) -> np.ndarray:
        """Uniforms in [0, 1) for the given person (or event) ids; each depends only on its id
        and slot (slots, an int or an array broadcast against ids, give further draws)."""
        key = (self.seed * _GOLDEN + (int(process) << 40 | (week & 0xFFFFF) << 16)) & _MASK
        if isinstance(slot, int | np.integer):
            salt = np.uint64(_splitmix((key + int(slot)) & _MASK))
        else:
            salt = _splitmix(np.uint64(key) + np.asarray(slot, dtype=np.uint64))
        x = _splitmix(np.asarray(ids, dtype=np.uint64) * np.uint64(_GOLDEN) ^ salt)
        x >>= np.uint64(11)
        return x * _TO_UNIT
