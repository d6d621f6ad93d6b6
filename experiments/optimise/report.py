"""report.md of `svsim optimise`: the decision on one page first (what to fund, against today's
programmes, the indistinguishable set, the evidence it rests on, what it cannot tell), then the
candidates, the frontier, the options and the design; one function a section."""

from __future__ import annotations

import numpy as np
from svsim.scenarios.voi import MIN_DRAWS

UNITS = {
    "net_social_benefit": "£ (present value)",
    "admissions_averted": "admissions",
    "homicides_averted": "homicides",
    "serious_violence_averted": "incidents",
}
CANDIDATE_COLUMNS = ["name", "role", "total_per_year", "mean", "p10", "p_beats_today", "regret",
                     "vs_today_low", "vs_today_high", "indistinguishable",
                     "weak_or_no_evidence_share", "assumed_transfer_share", "mix"]  # fmt: skip
OPTION_COLUMNS = ["intervention", "places", "tier", "evidence", "minimum", "maximum",
                  "capacity_basis", "today", "commitment"]  # fmt: skip


def amount(x: float, objective: str) -> str:
    """A value of the objective as the report shows it: pounds, or a count to 2 places."""
    if objective == "net_social_benefit":
        return f"£{x:,.0f}" if x >= 0 else f"-£{-x:,.0f}"
    return f"{x:,.2f}"


def table(df) -> str:
    """A DataFrame as a Markdown table, numbers rounded for reading."""
    show = df.copy()
    for col in show.columns:
        if show[col].dtype.kind == "f":
            show[col] = show[col].map(lambda x: f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}")
    head = "| " + " | ".join(show.columns) + " |"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in show.itertuples(index=False)]
    return "\n".join([head, "|" + "---|" * len(show.columns), *body])


def what_to_fund(c: dict, best) -> list[str]:
    funded = [(o, float(best[o.label])) for o in c["problem"].options if best[o.label] > 0]
    if not funded:
        return ["Fund nothing: no mix beats spending nothing on these options."]
    lines = ["| Fund | Places | Tier | Evidence | £ a year |", "|---|---|---|---|---|"]
    for o, a in funded:
        spec = c["library"][o.intervention]
        lines.append(f"| {spec.label} | {', '.join(o.places)} | {spec.tier} | {spec.evidence} "
                     f"| {a:,.0f} |")  # fmt: skip
    return lines


def share_bounds(c: dict, best) -> list[str]:
    """The share bounds the mix was chosen under, each with the mix's own share."""
    p = c["problem"]
    if not p.shares:
        return []
    amounts = [float(best[o.label]) for o in p.options]
    return ["Within the share bounds asked: " + "; ".join(
        f"{s.label} {s.low:.0%} to {s.high:.0%} of the money (this mix {s.of(amounts):.0%})"
        for s in p.shares) + "."]  # fmt: skip


def against_today(c: dict, cand, best) -> list[str]:
    r, objective = c["r"], c["settings"]["objective"]
    fmt = lambda x: amount(x, objective)  # noqa: E731
    what = (
        "expected net social benefit (harm averted at Home Office unit costs less the money, "
        f"present value over {r['years']} year(s))"
        if objective == "net_social_benefit"
        else f"expected {objective.replace('_', ' ')} over {r['years']} year(s) within the budget"
    )
    lines = [f"Chosen for the best {what} on {r['confirmation']['replicates']} confirmation "
             f"replicates at population scale {r['population_scale']:g}, which the screening "
             f"never saw: {fmt(best['mean'])} ({UNITS[objective]}; 10th percentile "
             f"{fmt(best['p10'])})."]  # fmt: skip
    if best["role"] == "candidate":
        lines.append(
            f"Against today's programmes ({c['today_name']}): {fmt(best['vs_today_mean'])} more "
            f"(paired 90% interval {fmt(best['vs_today_low'])} to {fmt(best['vs_today_high'])}); "
            f"it does better in {best['p_beats_today']:.0%} of replicates; regret "
            f"{fmt(best['regret'])}."
        )
    if not (cand.vs_today_low > 0).any():
        lines += ["", "**No mix is distinguishable from today's programmes**: no candidate's "
                  "paired 90% interval against them lies above zero."]  # fmt: skip
    return lines


def indistinguishable(cand) -> list[str]:
    same = cand[cand.indistinguishable & ~cand.recommended]
    listed = "; ".join(f"{n} ({m})" for n, m in zip(same.name, same.mix, strict=True))
    return [f"Indistinguishable from the recommended mix (paired 90% interval of the mean "
            f"shortfall includes 0): {len(same)} other mix(es)"
            + (f": {listed}" if len(same) else ".")]  # fmt: skip


def pareto_set(c: dict, t: dict) -> list[str]:
    """The mixes no other confirmed mix matches or beats on every objective (pareto.csv)."""
    if "pareto" not in t:
        return []
    objectives, table = c["objectives"], t["pareto"]
    front = table[table.pareto]
    head = " | ".join(f"{o.replace('_', ' ')} ({UNITS[o]})" for o in objectives)
    lines = [f"The Pareto set on the confirmation means ({', '.join(objectives)}): "
             f"{len(front)} of {len(table)} confirmed mixes; each is best for some weighing of "
             "the objectives, none better than another on all of them.", "",
             f"| Mix | {head} | Funds |", "|---|" + "---|" * (len(objectives) + 1)]  # fmt: skip
    for row in front.itertuples():
        cells = " | ".join(amount(getattr(row, o), o) for o in objectives)
        lines.append(f"| {row.name} | {cells} | {row.mix} |")
    return lines


def evidence(best) -> list[str]:
    share, assumed = best["weak_or_no_evidence_share"], best["assumed_transfer_share"]
    if not np.isfinite(share):
        return ["Evidence: the recommended mix has no benefit on the screening curves."]
    return [f"Evidence: {share:.0%} of the recommended mix's benefit (on the screening curves) "
            f"rests on interventions graded weak or none, and {assumed:.0%} on interventions "
            "whose model effect owes more than half its variance to assumed transfers (a "
            "study's grade is of what it measured; `svsim transfers` shows each chain)."
            ]  # fmt: skip


def evidence_value(c: dict, table, summary: dict) -> list[str]:
    """How sensitive the recommendation is to the evidence: the inputs whose resolution would be
    worth most to the choice against today's programmes (evidence.csv), or why not computed."""
    units = UNITS[c["settings"]["objective"]]
    if not summary.get("computed"):
        return [f"How sensitive the recommendation is to the evidence: not estimated: "
                f"{summary['draws']} confirmation replicates, and the value of information "
                f"needs at least {MIN_DRAWS} (`confirmation.replicates={MIN_DRAWS}`): fewer noisy "
                "draws would make every input look valuable."]  # fmt: skip
    top = table[table.kind == "input"].nlargest(3, "evppi")
    fmt = lambda x: amount(x, c["settings"]["objective"])  # noqa: E731
    named = "; ".join(
        f"{row.input} up to {fmt(row.evppi)} (90% interval {fmt(row.low)} to {fmt(row.high)})"
        for row in top.itertuples()
    )
    return [f"How sensitive the recommendation is to the evidence (value of information over "
            f"the {summary['draws']} confirmation replicates, {units}; evidence.csv): perfect "
            f"information on every input would be worth {fmt(summary['evpi'])} to the choice "
            f"between today's programmes and the best candidates; the inputs worth most: {named}. "
            f"An input worth no more than {fmt(summary['noise_floor'])} (a stand-in that "
            f"cannot matter) cannot be told from nothing; the top three are the same in "
            f"{summary['top_three_stability']:.0%} of bootstrap resamples."
            + overstated(top, summary)]  # fmt: skip


def overstated(top, summary: dict) -> str:
    """A warning when an input's EVPPI exceeds the EVPI, which a partial value cannot: the
    regressions read replicate noise as information at this number of draws."""
    above = int((top.evppi > summary["evpi"]).sum())
    if above == 0:
        return ""
    return (
        f" {above} of these {len(top)} exceed the value of perfect information on "
        "everything, which no single input's value can: with this few replicates each "
        "input's regression reads replicate noise as information, so read them as upper "
        "bounds and their order as unsettled (more confirmation replicates, or `svsim voi`)."
    )


def limits(c: dict) -> list[str]:
    path = c["out"] / "analysis" / "recommended.yaml"
    return [
        "What it cannot tell: the curves assume options add up (confirming whole mixes checks "
        "the candidates, not every mix); people programmes' capacities are assumed shares of "
        "residents (conf/optimise.yaml identified_per_year); the value of information is over "
        "the confirmation replicates only (for more draws, run `svsim voi` on the recommended "
        "mix and today's programmes).",
        "",
        f"Run it with compare against today's programmes (add any other scenarios to the list): "
        f"`svsim compare scenarios=[{c['r']['today']},{path}] comparator={c['today_name']}`",
    ]


def detail(c: dict, t: dict) -> list[str]:
    unit = UNITS[c["settings"]["objective"]]
    front = t["frontier"][["budget", "fitted_value", "next_step_buys", "mix"]]
    lines = ["## Candidates (confirmation values)", "", table(t["candidates"][CANDIDATE_COLUMNS]),
             "", f"## The frontier (screening curves, over the baseline; {unit})", "",
             table(front), "", "## Options", "", table(t["options"][OPTION_COLUMNS])]  # fmt: skip
    if c["left_out"]:
        lines += ["", "Left out: " + "; ".join(c["left_out"]) + "."]
    return lines


def design(c: dict, seconds: dict) -> list[str]:
    r, s = c["r"], c["r"]["screening"]
    return ["## Design", "",
            f"Screening: {s['replicates']} replicates at population scale "
            f"{s['population_scale']:g}, {s['levels']} amounts per option "
            f"({seconds.get('screening', 0):.0f} s this run). Confirmation: "
            f"{r['confirmation']['replicates']} fresh replicates at scale "
            f"{r['population_scale']:g} ({seconds.get('confirmation', 0):.0f} s this run). "
            f"Seed {r['seed']}; {r['years']} years after {r['burn_in_years']} burn-in years from "
            f"{r['start_year']}; uncertainty {r['uncertainty']}, parameter uncertainty "
            f"{r['parameter_uncertainty']}."]  # fmt: skip


def write(c: dict, t: dict, seconds: dict, evidence_summary: dict) -> str:
    """report.md's text."""
    cand = t["candidates"]
    best = cand[cand.recommended].iloc[0]
    sections = [
        [f"# The best mix for £{c['r']['budget']:,.0f} a year: {c['area'].label}", "",
         "## The decision"],
        what_to_fund(c, best), share_bounds(c, best), against_today(c, cand, best),
        indistinguishable(cand), pareto_set(c, t),
        evidence(best), evidence_value(c, t["evidence"], evidence_summary), limits(c),
        detail(c, t), design(c, seconds),
    ]  # fmt: skip
    return "\n\n".join("\n".join(s) for s in sections if s) + "\n"
