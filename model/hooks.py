"""The intervention hook: what scenario code may see of people, and what it may change.

Each projection week, after consequences and before data collection, the model calls
`intervention.apply(week, observed, levers)` for each intervention it was given (never during
burn-in, which is identical for every scenario). `observed` shows only what an agency could know;
`levers` changes what happens from the next week on (the one-week lag in model/ODD.md).

Weekly levers (hazard, detection, recording, fatality multipliers) are reset to 1 before the
interventions run, so an intervention re-states them every week it acts; several multipliers on
one person or place compose by product here (a scenario layer may combine effects otherwise before
calling). `shift_factor` is persistent: it moves a risk or protective factor for good.
"""

from __future__ import annotations

from functools import cached_property
from typing import Protocol

import numpy as np

from .population import FACTORS


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


class Observed:
    """What an agency could observe about people at a given week; all arrays are read-only.
    The arrays every programme reads (age, school, alive, in custody) are computed once a week."""

    def __init__(self, model, week: int):
        self._m = model
        self._week = week

    @property
    def n(self) -> int:
        return len(self._m.people)

    @cached_property
    def age(self) -> np.ndarray:
        """Age in whole years."""
        return _read_only(self._m.people.age_years(self._m.week))

    @property
    def male(self) -> np.ndarray:
        return _read_only(self._m.people.male)

    @property
    def community(self) -> np.ndarray:
        return _read_only(self._m.people.community)

    @property
    def csp(self) -> np.ndarray:
        return _read_only(self._m.community_csp[self._m.people.community])

    @cached_property
    def school(self) -> np.ndarray:
        """Current school index, -1 if not at school."""
        return _read_only(self._m.current_school())

    @cached_property
    def alive(self) -> np.ndarray:
        return _read_only(self._m.alive())

    @cached_property
    def in_custody(self) -> np.ndarray:
        return _read_only(self._m.state.custody_until > self._m.week)

    @property
    def last_arrest_week(self) -> np.ndarray:
        """Projection week of the last arrest (negative: during burn-in; very negative: never)."""
        return _read_only(self._m.state.last_arrest - self._m.burn_in_weeks)

    @property
    def last_out_of_court_week(self) -> np.ndarray:
        return _read_only(self._m.state.last_out_of_court - self._m.burn_in_weeks)

    @property
    def last_chargeable_week(self) -> np.ndarray:
        """Projection week of the last arrest police would charge but could divert."""
        return _read_only(self._m.state.last_chargeable - self._m.burn_in_weeks)

    @property
    def last_scheme_diversion_week(self) -> np.ndarray:
        """Projection week a funded scheme last diverted such an arrest (the pathway lever)."""
        return _read_only(self._m.state.last_scheme_diversion - self._m.burn_in_weeks)

    @property
    def last_hospital_week(self) -> np.ndarray:
        """Projection week of the last A&E attendance for an assault injury."""
        return _read_only(self._m.state.last_hospital - self._m.burn_in_weeks)

    @property
    def last_victim_recorded_week(self) -> np.ndarray:
        """Projection week a police-recorded incident last named this person as its victim."""
        return _read_only(self._m.state.last_victim_recorded - self._m.burn_in_weeks)

    @property
    def last_household_abuse_week(self) -> np.ndarray:
        """Projection week police last recorded partner or family abuse involving someone of this
        person's household (as victim or offender): what children's services hear of."""
        return _read_only(self._m.state.last_household_abuse - self._m.burn_in_weeks)

    @property
    def referred_week(self) -> np.ndarray:
        """Projection week of the last referral to children's or young people's services
        (negative: during burn-in, or at the start for the initial stock; very negative: never).
        Referral follows the events above (model/ODD.md section 7.5b)."""
        return _read_only(self._m.state.referred_week - self._m.burn_in_weeks)

    @property
    def group(self) -> np.ndarray:
        """Street group (its index), -1 if none: what police intelligence records of who
        offends together."""
        return _read_only(self._m.state.group)

    @property
    def referred(self) -> np.ndarray:
        """Known to services as at risk: referred within the last params.referral.known_weeks."""
        known = self._m.params.referral.known_weeks
        return _read_only(self._m.week - self._m.state.referred_week <= known)


class Levers:
    """What interventions may change. Multipliers are on the hazard or probability scale."""

    def __init__(self, n_people: int, n_communities: int, shift_factor_callback):
        self.person_log_hazard = np.zeros(n_people, dtype=np.float32)
        self.person_detection = np.ones(n_people, dtype=np.float32)
        self.person_victim = np.ones(n_people, dtype=np.float32)
        self.person_diversion = np.zeros(n_people, dtype=np.float32)
        self.person_carrying = np.ones(n_people, dtype=np.float32)
        self.community_log_hazard = np.zeros(n_communities)
        self.community_street = np.ones(n_communities)
        self.community_detection = np.ones(n_communities)
        self.community_recording = np.ones(n_communities)
        self.community_fatality = np.ones(n_communities)
        self.community_exposure = np.ones(n_communities)
        self._shift = shift_factor_callback
        self.touched = False
        self.active = False  # any weekly lever set since the last reset

    def reset(self, n_people: int) -> None:
        """Back to no effect; the model calls this before interventions run each week."""
        if self.touched or len(self.person_log_hazard) != n_people:
            self.person_log_hazard = np.zeros(n_people, dtype=np.float32)
            self.person_detection = np.ones(n_people, dtype=np.float32)
            self.person_victim = np.ones(n_people, dtype=np.float32)
            self.person_diversion = np.zeros(n_people, dtype=np.float32)
            self.person_carrying = np.ones(n_people, dtype=np.float32)
            for a in (
                self.community_street,
                self.community_detection,
                self.community_recording,
                self.community_fatality,
                self.community_exposure,
            ):
                a[:] = 1
            self.community_log_hazard[:] = 0
        self.touched = self.active = False

    def extend(self, n_people: int) -> None:
        """Room for arrivals, with no effect on them; this week's levers stay as set."""
        extra = n_people - len(self.person_log_hazard)
        self.person_log_hazard = np.concatenate(
            [self.person_log_hazard, np.zeros(extra, np.float32)]
        )
        self.person_detection = np.concatenate([self.person_detection, np.ones(extra, np.float32)])
        self.person_victim = np.concatenate([self.person_victim, np.ones(extra, np.float32)])
        self.person_diversion = np.concatenate([self.person_diversion, np.zeros(extra, np.float32)])
        self.person_carrying = np.concatenate([self.person_carrying, np.ones(extra, np.float32)])

    @staticmethod
    def _check(factor, name: str) -> np.ndarray:
        """Multipliers (a number, or one per id) must be finite and >= 0."""
        f = np.asarray(factor, dtype=float)
        if not np.all(np.isfinite(f)) or np.any(f < 0):
            raise ValueError(f"{name}={factor!r}: a multiplier must be finite and >= 0")
        return f

    @staticmethod
    def _log(f: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(f)

    def scale_hazard(self, ids: np.ndarray, factor) -> None:
        """Multiply the offending hazard of these people by factor (one, or one per id)."""
        f = self._check(factor, "hazard factor")
        np.add.at(self.person_log_hazard, ids, self._log(f).astype(np.float32))
        self.touched = self.active = True

    def scale_community_hazard(self, communities: np.ndarray, factor) -> None:
        """Multiply the offending hazard of everyone living in these communities."""
        f = self._check(factor, "hazard factor")
        np.add.at(self.community_log_hazard, communities, self._log(f))
        self.touched = self.active = True

    def scale_exposure(self, communities: np.ndarray, factor) -> None:
        """Multiply the exposure that incidents by residents of these communities give peers and
        households (e.g. 1/m for an area-level effect m on residents' hazard whose published
        size already includes contagion, so that contagion does not count it a second time)."""
        f = self._check(factor, "exposure factor")
        np.multiply.at(self.community_exposure, communities, f)
        self.touched = self.active = True

    def scale_carrying(self, ids: np.ndarray, factor) -> None:
        """Multiply the odds that these people start carrying a knife at the next yearly
        update (the knife-carrying lever; one factor, or one per id)."""
        np.multiply.at(self.person_carrying, ids, self._check(factor, "carrying factor"))
        self.touched = self.active = True

    def divert(self, ids: np.ndarray, share) -> None:
        """A funded diversion scheme (the pathway lever): of these people's arrests that police
        would charge and could divert (not a homicide or knife injury), share q (one, or one per
        id, in [0, 1]) become out-of-court disposals instead; the strongest scheme wins."""
        q = np.asarray(share, dtype=float)
        if not np.all(np.isfinite(q)) or np.any(q < 0) or np.any(q > 1):
            raise ValueError(f"diversion share={share!r}: must be in [0, 1]")
        np.maximum.at(self.person_diversion, ids, q.astype(np.float32))
        self.touched = self.active = True

    def scale_victim_risk(self, ids: np.ndarray, factor) -> None:
        """Multiply the chance that these people become victims: their acceptance when an
        offender picks them in the household, among peers, in the community or at a night-time
        venue (the offender moves to the next candidate), the chance that a retaliation or a
        rival group's attack reaches them, and the rate of their partner's abuse (safety
        planning). Above 1 an acceptance acts as certainty; the partner rate is multiplied."""
        np.multiply.at(self.person_victim, ids, self._check(factor, "victim factor"))
        self.touched = self.active = True

    def scale_street_incidents(self, communities: np.ndarray, factor) -> None:
        """Multiply the number of street incidents (every setting but partner and family abuse)
        that happen in these communities: below 1 each is removed with probability 1 - factor,
        above 1 each is repeated with probability factor - 1 (at most twice as many)."""
        f = self._check(factor, "street incidents factor")
        if np.any(f > 2):
            raise ValueError(f"street incidents factor={factor!r}: must be at most 2")
        np.multiply.at(self.community_street, communities, f)
        self.touched = self.active = True

    def scale_detection(self, ids: np.ndarray, factor) -> None:
        """Multiply the probability that these people's recorded offences lead to arrest."""
        np.multiply.at(self.person_detection, ids, self._check(factor, "detection factor"))
        self.touched = self.active = True

    def scale_community_detection(self, communities: np.ndarray, factor) -> None:
        np.multiply.at(
            self.community_detection, communities, self._check(factor, "detection factor")
        )
        self.touched = self.active = True

    def scale_recording(self, communities: np.ndarray, factor) -> None:
        """Multiply the probability that incidents in these communities are recorded."""
        np.multiply.at(
            self.community_recording, communities, self._check(factor, "recording factor")
        )
        self.touched = self.active = True

    def scale_fatality(self, communities: np.ndarray, factor) -> None:
        """Multiply the probability that an injury in these communities is fatal (severity)."""
        np.multiply.at(self.community_fatality, communities, self._check(factor, "fatality factor"))
        self.touched = self.active = True

    def shift_factor(self, ids: np.ndarray, factor: str, delta: float) -> None:
        """Move a risk or protective factor of these people by delta SD, for good."""
        if factor not in FACTORS:
            raise ValueError(f"factor={factor!r}: must be one of {', '.join(FACTORS)}")
        self._shift(ids, factor, float(delta))


class Intervention(Protocol):
    """Anything with this method can act on the model through the hook."""

    def apply(self, week: int, observed: Observed, levers: Levers) -> None: ...
