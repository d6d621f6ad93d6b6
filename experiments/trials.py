"""`svsim trials`: each intervention's evidence re-run as a trial of its source's design inside the
model (the positive controls of model/ODD.md section 7.10).

A trial randomises the units the source randomised or compared (eligible people as the
intervention finds them, schools, or wards) into three arms within one run: treated (the
intervention's lever at its modal effect), placebo (enrolled with the lever at zero: what the
trial sees when the lever is set to zero) and control. It measures the source's outcome through
the measurement layer over the source's follow-up, runs the in-model estimate back through the
transfer chain (scenarios/transfer.py) into the source's metric, and compares it with the
published estimate: the trial passes when they differ by at most half the published effect.

svsim trials                                  # every intervention with evidence, shipped sizes
svsim trials names=[mentoring] runs=2 population_scale=0.25   # a smaller trial
svsim trials out=results/trials.csv jobs=2
svsim trials names=[social_skills_schools] effect=0.32   # a deliberately wrong transfer: fails
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from svsim.model import ViolenceModel
from svsim.scenarios.delivery import Portfolio
from svsim.scenarios.inputs import draw_inputs
from svsim.scenarios.library import Allocation, Scenario

from .compare.compare import _load_library, load_prices
from .config import ConfigError, load_yaml, run_config
from .stopping import worker_pool

TRIAL_STREAM = 60  # keyed stream of the arm allocation (model processes < 60, interventions 100+)
ARMS = ("treated", "placebo", "control")
Z80 = 1.959964 + 0.841621  # two-sided 5% test, 80% power
UNITS = ("person", "group", "school", "place")
OUTCOMES = ("offences", "proven_reoffending", "ae_reattendance", "recorded_street_crime")
STREET = ("community", "peer", "night_time", "retaliation", "group")


@dataclass(frozen=True)
class Design:
    """A source's design as run in the model: unit randomised, recruitment, follow-up, the
    outcome measured (and how), the rules the trial tests, and those it cannot."""

    intervention: str
    unit: str  # person | group (street groups, whole) | school | place
    recruit_weeks: int
    follow_up_weeks: int
    outcome: str  # offences | proven_reoffending | ae_reattendance | recorded_street_crime
    upto: int  # the estimate is in the chain's metric after this many rules (0: published)
    tests: str
    cannot_test: str
    runs: int
    population_scale: float


@dataclass(frozen=True)
class Result:
    design: Design
    n: dict  # arm -> units
    events: dict  # arm -> outcome events
    published: float
    estimate: float  # treated vs control, in the source's metric
    placebo: float  # placebo vs control, in the source's metric
    se: float  # of the estimate, in the source's metric (delta method)
    tolerance: float
    metric: str

    @property
    def mde(self) -> float:
        """Minimum detectable effect at 80% power, in the source's metric (as a distance)."""
        return Z80 * self.se

    @property
    def passed(self) -> bool:
        return abs(self.estimate - self.published) <= self.tolerance

    @property
    def placebo_passes(self) -> bool:
        return abs(self.placebo - self.published) <= self.tolerance


def designs() -> dict[str, Design]:
    """The shipped designs, from conf/trials.yaml."""
    from .config import CONF_DIR

    raw = load_yaml(CONF_DIR / "trials.yaml", "trials") or {}
    out = {}
    for name, d in (raw.get("trials") or {}).items():
        try:
            out[name] = Design(intervention=name, **d)
        except TypeError as exc:
            raise ConfigError(f"trials.{name}: {exc}") from None
        for field_, value, allowed in (
            ("unit", out[name].unit, UNITS),
            ("outcome", out[name].outcome, OUTCOMES),
        ):
            if value not in allowed:
                raise ConfigError(f"trials.{name}.{field_}={value!r}: one of {', '.join(allowed)}")
    return out


def _arms(
    seed: int, week: int, ids: np.ndarray, prognosis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """0 treated, 1 placebo, 2 control, randomised within triplets matched on a prognostic score
    (blocked randomisation, as trials stratify on prior offending); the few left over are
    allocated by a keyed draw each."""
    from svsim.model.randomness import Streams

    st = Streams(seed)
    order = np.argsort(prognosis, kind="stable")
    arm = np.empty(len(ids), dtype=np.int64)
    block = np.full(len(ids), -1, dtype=np.int64)
    full = len(ids) - len(ids) % 3
    block[order[:full]] = np.arange(full) // 3
    if full:
        u = st.keyed(TRIAL_STREAM, week, ids[order[:full:3]], 0)
        perms = np.array([[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]])
        arm[order[:full]] = perms[np.minimum((u * 6).astype(np.int64), 5)].ravel()
    rest = order[full:]
    u = st.keyed(TRIAL_STREAM, week, ids[rest], 1)
    arm[rest] = np.minimum((u * 3).astype(np.int64), 2)
    return arm, block


def _group_arms(seed: int, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cluster randomisation: each street group's arm is one keyed draw on its id, so a group
    found again in a later week keeps its arm and no group's members are split between arms
    (a split lets the treated members' restraint reach the control members through the group,
    which the sources' group-level comparisons do not have). A group is its own block."""
    from svsim.model.randomness import Streams

    u = Streams(seed).keyed(TRIAL_STREAM, 0, group.astype(np.int64), 2)
    return np.minimum((u * 3).astype(np.int64), 2), group.astype(np.int64)


class PersonTrial(Portfolio):
    """Everyone the intervention would find in the recruitment weeks, at any capacity, split
    into the three arms; only the treated arm gets the lever (the placebo arm is enrolled with
    it at zero, which changes nothing in the model)."""

    def __init__(self, *args, recruit_weeks: int, prognosis, seed: int, by_group=False, **kw):
        super().__init__(*args, seed=seed, **kw)
        self.recruit_weeks, self.prognosis, self.seed = recruit_weeks, prognosis, seed
        self.by_group = by_group  # whole street groups randomised (the source's unit)
        self.ex_ante = self.funded[0].spec.identification == "diversion"  # arms before arrest
        self.enrolled: list[tuple] = []  # (ids, arm, block, week)

    def apply(self, week: int, observed, levers) -> None:
        f = self.funded[0]
        if f.spec.identification == "diversion":
            self._diversion_trial(week, observed, levers)
            return
        if week < self.recruit_weeks:
            ids = f._eligible(week, observed)
            if len(ids):
                score = self.prognosis()[ids]
                if self.by_group:
                    arm, block = _group_arms(self.seed, observed.group[ids])
                else:
                    arm, block = _arms(self.seed, week, ids, score)
                f.offered[ids] = True
                f._add_participants(week, ids[arm == 0])
                self.enrolled.append((ids, arm, block, week, np.exp(score)))
        self._set_levers(week, observed, levers)

    def _diversion_trial(self, week: int, observed, levers) -> None:
        """The pathway's trial: arms are drawn for every person in advance (a keyed draw on the
        id, so it holds before any arrest); the treated and lever-at-zero arms are offered
        diversion of every chargeable arrest, the control arm is charged as usual; whoever has
        a chargeable arrest in the recruitment weeks is enrolled, so the arms are alike."""
        f = self.funded[0]
        age = observed.age  # not in_scope: a charged child may already be in custody this week
        ok = observed.alive & (age >= f.spec.ages[0]) & (age <= f.spec.ages[1])
        ok &= np.isin(observed.community, f.places)
        if len(f.offered) < len(ok):
            f.offered = np.concatenate([f.offered, np.zeros(len(ok) - len(f.offered), bool)])
        if 1 <= week < self.recruit_weeks:  # week 0's arrests came before any offer
            ids = np.flatnonzero(ok & (observed.last_chargeable_week == week) & ~f.offered)
            if len(ids):
                arm, block = _group_arms(self.seed, ids)
                f.offered[ids] = True
                f._add_participants(week, ids[arm == 0])
                self.enrolled.append((ids, arm, block, week, np.exp(self.prognosis()[ids])))
        f.divert_offer, f.divert_ids = 0.0, np.zeros(0, dtype=np.int64)
        if week + 1 < self.recruit_weeks:
            ids = np.flatnonzero(ok & ~f.offered)
            f.divert_offer, f.divert_ids = 1.0, ids[_group_arms(self.seed, ids)[0] < 2]
        self._set_levers(week, observed, levers)


class SchoolTrial(Portfolio):
    """Schools of the programme's phase randomised into the three arms in triplets matched on
    roll; at the projection's start the treated schools' pupils of the programme's ages are
    enrolled (the whole year group, as a universal curriculum reaches everyone)."""

    by_group = ex_ante = False

    def __init__(self, *args, seed: int, area, prognosis, **kw):
        super().__init__(*args, seed=seed, **kw)
        self.seed, self.area, self.prognosis = seed, area, prognosis
        self.enrolled: list[tuple] = []

    def apply(self, week: int, observed, levers) -> None:
        f = self.funded[0]
        if week == 0:
            schools = f.school_order
            roll = np.array([self.area.schools[i].roll for i in schools], dtype=float)
            arm_of, block_of = _arms(self.seed, 0, schools, roll)
            ids = f._eligible(week, observed)
            at = observed.school[ids]
            known = np.isin(at, schools)
            ids, at = ids[known], at[known]
            where = np.searchsorted(schools[np.argsort(schools)], at)
            sorted_arm = arm_of[np.argsort(schools)][where]
            sorted_block = block_of[np.argsort(schools)][where]
            f.offered[ids] = True
            f._add_participants(week, ids[sorted_arm == 0])
            score = np.exp(self.prognosis()[ids])
            self.enrolled.append((ids, sorted_arm, sorted_block, week, score))
        self._set_levers(week, observed, levers)


def _people(trial: PersonTrial) -> pd.DataFrame:
    """One row per enrolled person: id, arm, matched block (unique across weeks), week, and the
    prognostic score h (weekly hazard from static factors at enrolment)."""
    rows = [
        pd.DataFrame({"person": ids, "arm": arm, "block": block, "week": week, "h": h})
        for ids, arm, block, week, h in trial.enrolled
    ]
    df = pd.concat(rows, ignore_index=True)
    if not trial.by_group and not trial.ex_ante:  # triplets are matched within a week
        df["block"] = np.where(df.block >= 0, df.week * 1_000_000 + df.block, -1)
    return df


def _person_outcomes(people: pd.DataFrame, inc: pd.DataFrame, design: Design) -> np.ndarray:
    """Each enrolled person's outcome over the follow-up after enrolment (weeks e+1..e+F)."""
    if design.outcome == "ae_reattendance":
        ev = inc.loc[inc.ae_attendance.astype(bool), ["victim", "week"]]
        ev = ev.rename(columns={"victim": "person"})
    else:
        ev = inc[["offender", "week"]].rename(columns={"offender": "person"})
        if design.outcome == "proven_reoffending":
            ev = ev[(inc.disposal != "none").to_numpy()]
    joined = people.reset_index().merge(ev, on="person", suffixes=("", "_event"))
    lag = joined.week_event - joined.week
    joined = joined[(lag >= 1) & (lag <= design.follow_up_weeks)]
    counts = np.bincount(joined["index"], minlength=len(people)).astype(float)
    if design.outcome in ("proven_reoffending", "ae_reattendance"):
        counts = (counts > 0).astype(float)  # the sources count people, not events
    return counts


def _adjusted_log_ratio(y: np.ndarray, h: np.ndarray, a: int) -> tuple[float, float]:
    """log[(sum y_a / sum h_a) / (sum y_c / sum h_c)] over matched blocks (rows: block x arm
    totals of the outcome y and of a pre-treatment prognostic score h), with the linearised SE
    of the blocked design. h is the prognosis for people and schools, last year's count for
    places (then this is a difference in differences)."""
    sums = [y[:, a].sum(), h[:, a].sum(), y[:, 2].sum(), h[:, 2].sum()]
    if min(sums) <= 0:
        return math.nan, math.inf
    u = y[:, a] / sums[0] - h[:, a] / sums[1] - y[:, 2] / sums[2] + h[:, 2] / sums[3]
    est = math.log(sums[0] / sums[1]) - math.log(sums[2] / sums[3])
    return est, math.sqrt(len(u) * u.var(ddof=1))


def run(
    design: Design,
    seed: int = 1,
    overrides: tuple[str, ...] = (),
    jobs: int = 1,
    effect: float | None = None,
) -> Result:
    """Run a design's trial (design.runs runs on seeds seed.., pooled) and compare it with the
    published value. `effect` forces the lever's reduction (to show a wrong transfer fail)."""
    library = _load_library()
    years = math.ceil((design.recruit_weeks + design.follow_up_weeks + 1) / 52)
    if design.unit == "place":
        years = math.ceil((2 * design.follow_up_weeks + 1) / 52)  # a pre-period, then the trial
    cfg = run_config([f"years={years}", f"population_scale={design.population_scale}", *overrides])
    args = [(design, library, cfg, seed + r, r, effect) for r in range(design.runs)]
    if jobs > 1:
        with worker_pool(jobs) as pool:
            outs = list(pool.map(_one, *zip(*args, strict=True)))
    else:
        outs = [_one(*a) for a in args]
    y = np.concatenate([o[0] for o in outs])
    h = np.concatenate([o[1] for o in outs])
    return _result(design, library[design.intervention], y, h)


def _one(design, library, cfg, seed, replicate, effect) -> tuple[np.ndarray, np.ndarray]:
    """One run of a trial: block x arm totals of the outcome and of the prognostic score."""
    spec = library[design.intervention]
    settings = replace(cfg.settings, seed=seed)
    area, params = cfg.for_replicate(replicate)
    draws = draw_inputs(library, settings.seed, 0, uncertain=False)
    if effect is not None:
        draws[spec.name] = replace(draws[spec.name], reduction=effect)
    model = ViolenceModel(area, params, settings)
    pooled: dict[str, list] = {"y": [], "h": []}
    if design.unit == "place":
        _place_run(model, design, spec, draws, settings, pooled, area)
    else:
        _person_run(model, design, spec, draws, settings, pooled, area)
    return pooled["y"][0], pooled["h"][0]


def _person_run(model, design, spec, draws, settings, pooled, area) -> None:
    alloc = Allocation(spec.name, 1e12, ("all",), settings.start_year, settings.start_year + 99)
    sc = Scenario("trial", "trial", "", 1e12, settings.start_year, (alloc,), "")
    common = (sc, {spec.name: spec}, draws, area, load_prices(), settings.start_year,
              settings.population_scale)  # fmt: skip
    if design.unit == "school":
        trial = SchoolTrial(
            *common, seed=settings.seed, area=area, prognosis=model.static_log_hazard
        )
    else:
        trial = PersonTrial(
            *common, seed=settings.seed, recruit_weeks=design.recruit_weeks,
            prognosis=model.static_log_hazard, by_group=design.unit == "group",
        )  # fmt: skip
    model.interventions = [trial]
    inc = model.run().incidents
    people = _people(trial)
    people["y"] = _person_outcomes(people, inc, design)
    # each matched block's outcome total per arm (a block is three people, or three schools)
    for col, key in (("y", "y"), ("h", "h")):
        sums = people[people.block >= 0].pivot_table(
            index="block", columns="arm", values=col, aggfunc="sum", fill_value=0.0
        )
        pooled[key].append(sums.reindex(columns=[0, 1, 2], fill_value=0.0).to_numpy())


def _place_run(model, design, spec, draws, settings, pooled, area) -> None:
    """Communities randomised into the three arms (in triplets matched on population); after an
    untreated year the treated arm is funded in full for the follow-up; the outcome is each
    community's police-recorded street crime, before and during (difference in differences)."""
    names = [c.name for c in area.communities]
    pre_weeks = design.follow_up_weeks
    size = np.array([c.population for c in area.communities], dtype=float)
    arm, block = _arms(settings.seed, 0, np.arange(len(names)), size)
    start = settings.start_year + pre_weeks // 52
    treated = tuple(n for n, a in zip(names, arm, strict=True) if a == 0)
    alloc = Allocation(spec.name, 1e12, treated, start, start + 99)
    sc = Scenario("trial", "trial", "", 1e12, settings.start_year, (alloc,), "")
    model.interventions = [
        Portfolio(sc, {spec.name: spec}, draws, area, load_prices(), settings.start_year,
                  settings.population_scale, settings.seed)
    ]  # fmt: skip
    inc = model.run().incidents
    pre = _street_crime(inc, names, 0, pre_weeks - 1)
    post = _street_crime(inc, names, pre_weeks + 1, 2 * pre_weeks)
    full = block >= 0
    for key, v in (("y", post), ("h", pre)):
        table = np.zeros((block[full].max() + 1, 3))
        np.add.at(table, (block[full], arm[full]), v[full])
        pooled[key].append(table)


def _street_crime(inc: pd.DataFrame, names: list[str], first: int, last: int) -> np.ndarray:
    """Police-recorded street crimes (every setting but partner and family) per community,
    in projection weeks first..last."""
    sel = inc.recorded.astype(bool) & inc.setting.isin(STREET) & inc.week.between(first, last)
    codes = pd.Categorical(inc.community[sel], categories=names).codes
    return np.bincount(codes[codes >= 0], minlength=len(names)).astype(float)


def _result(design: Design, spec, y: np.ndarray, h: np.ndarray) -> Result:
    chain = spec.chain
    e = chain.estimand
    est, se = _adjusted_log_ratio(y, h, 0)
    plac, _ = _adjusted_log_ratio(y, h, 1)
    # units per arm: a matched block holds one of each; a street group is a block of one arm
    n = {a: int((h[:, i] > 0).sum()) for i, a in enumerate(ARMS)}
    events = {a: float(y[:, i].sum()) for i, a in enumerate(ARMS)}

    def back(x: float) -> float:
        return chain.backwards(x, design.upto)

    d = 1e-4
    se_back = abs(back(est + d) - back(est - d)) / (2 * d) * se if math.isfinite(se) else se
    published = e.estimate.value
    log_scale = e.metric in ("odds_ratio", "risk_ratio")
    if log_scale:  # ratios are compared on the log scale
        published = math.log(published)
        estimate, placebo = math.log(back(est)), math.log(back(plac))
        se_back = se_back / math.exp(estimate)
    else:
        estimate, placebo = back(est), back(plac)
    return Result(
        design=design,
        n=n,
        events=events,
        published=published,
        estimate=estimate,
        placebo=placebo,
        se=se_back,
        tolerance=0.5 * abs(published),
        metric=("log " if log_scale else "") + e.metric,
    )


def table(results: list[Result]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "intervention": r.design.intervention,
                "unit": r.design.unit,
                "outcome": r.design.outcome,
                "follow_up_weeks": r.design.follow_up_weeks,
                "runs": r.design.runs,
                "scale": r.design.population_scale,
                "n_treated": r.n["treated"],
                "n_control": r.n["control"],
                "events_treated": r.events["treated"],
                "events_control": r.events["control"],
                "metric": r.metric,
                "published": r.published,
                "in_model": r.estimate,
                "se": r.se,
                "mde_80": r.mde,
                "tolerance": r.tolerance,
                "passes": r.passed,
                "lever_zero": r.placebo,
                "lever_zero_passes": r.placebo_passes,
                "tests": r.design.tests,
                "cannot_test": r.design.cannot_test,
            }
            for r in results
        ]
    )


def main(argv: list[str]) -> int:
    names, rest, jobs, out, size, effect = None, [], 2, None, {}, None
    for a in argv:
        if a.startswith("names="):
            names = [n.strip() for n in a[6:].strip("[]").split(",") if n.strip()]
        elif a.startswith("jobs="):
            jobs = int(a[5:]) if a[5:].isdigit() and int(a[5:]) >= 1 else None
            if jobs is None:
                raise ConfigError(f"jobs={a[5:]!r}: must be a whole number >= 1")
        elif a.startswith("effect="):
            try:
                effect = float(a[7:])
            except ValueError:
                effect = math.nan
            if not -1 <= effect < 1:  # a NaN fails this too
                raise ConfigError(f"effect={a[7:]!r}: must be a lever reduction in [-1, 1)")
        elif a.startswith("out="):
            out = a[4:]
        elif a.startswith(("runs=", "population_scale=")):
            key, _, v = a.partition("=")
            try:
                size[key] = int(v) if key == "runs" else float(v)
            except ValueError:
                size[key] = None
            limit = "a whole number in [1, 10000]" if key == "runs" else "a number in (0, 1]"
            if size[key] is None or not (0 < size[key] <= (10_000 if key == "runs" else 1)):
                raise ConfigError(f"{key}={v!r}: must be {limit}")
        else:
            rest.append(a)
    ds = designs()
    unknown = sorted(set(names or []) - set(ds))
    if unknown:
        raise ConfigError(f"names={unknown!r}: no trial design (known: {', '.join(ds)})")
    results = [
        run(replace(ds[n], **size), overrides=tuple(rest), jobs=jobs, effect=effect)
        for n in names or ds
    ]
    df = table(results)
    if out:
        from pathlib import Path

        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path.with_name(path.name + ".tmp"), index=False)
        path.with_name(path.name + ".tmp").replace(path)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(df.drop(columns=["tests", "cannot_test"]).to_string(index=False))
    return 0 if df.passes.all() and not df.lever_zero_passes.any() else 1
