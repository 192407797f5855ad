"""Numbers from result rows: rates with Wilson intervals, costs, planning vs execution.

Success is what the rows say, and the rows take it from the scenario's predicates on the true
MuJoCo state (`EpisodeRecord.success`); nothing here looks at an agent's own belief.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from statistics import mean, median

from scenarios.side_effects import KINDS

Z95 = 1.959963984540054
"""The standard normal quantile for a two-sided 95% interval."""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for `successes` out of `n` trials: (low, high).

    p = k/n; centre = (p + z^2/2n) / (1 + z^2/n);
    half-width = z / (1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2). With n = 0 nothing is known:
    (0, 1).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # Clamp the rounding error at the ends (k = 0 or k = n give exactly 0 or 1).
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(successes: int, n: int) -> dict:
    """`{successes, n, rate, ci_low, ci_high}`; rate is None when n is 0."""
    low, high = wilson(successes, n)
    return {"successes": successes, "n": n, "rate": successes / n if n else None,
            "ci_low": low, "ci_high": high}


def _mean(xs: Iterable[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return mean(xs) if xs else None


def _median(xs: Iterable[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return median(xs) if xs else None


def summarize(rows: list[dict], given_plan: bool = False) -> dict:
    """Per-agent metrics from its result rows (dicts with the columns of `ResultStore`).

    `given_plan`: the agent is handed the ground-truth subgoals (oracle agents), so its
    decomposition accuracy is not measured (None) rather than a trivial 100%.
    Decomposition accuracy (planning success, as SayCan reports it apart from execution) is
    the share of episodes with ground truth whose first plan equals it exactly; it is None
    for an agent that never produced a plan (it does not decompose).
    """
    n = len(rows)
    ok = sum(r["success"] for r in rows)
    s = rate(ok, n)
    judged = [r for r in rows if r["plan_exact"] is not None and r["error"] is None]
    decomposes = not given_plan and any(r["has_plan"] for r in rows)
    plan = rate(sum(bool(r["plan_exact"]) for r in judged), len(judged)) if decomposes else None
    exact = [r for r in judged if r["plan_exact"]]
    tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    return {
        "episodes": n,
        "successes": ok,
        "success_rate": s["rate"],
        "ci_low": s["ci_low"],
        "ci_high": s["ci_high"],
        "decomposition_accuracy": plan["rate"] if plan else None,
        "decomposition_ci": [plan["ci_low"], plan["ci_high"]] if plan else None,
        "decomposition_judged": plan["n"] if plan else 0,
        "success_given_exact_plan": (sum(r["success"] for r in exact) / len(exact)
                                     if exact and decomposes else None),
        "subgoal_completion": _mean(r["subgoals_done"] / r["subgoals_total"]
                                    for r in rows if r["subgoals_total"]),
        "mean_steps": _mean(r["steps"] for r in rows),
        "mean_seconds": _mean(r["seconds"] for r in rows),
        "mean_wall_seconds": _mean(r["wall_seconds"] for r in rows),
        "mean_llm_calls": _mean(r["llm_calls"] for r in rows),
        "mean_tokens": tokens / n if n else None,
        "decision_ms_median": _median(r["decision_ms_median"] for r in rows),
        "seconds_per_success": seconds / ok if ok else None,
        "tokens_per_success": tokens / ok if ok else None,
        "paraphrase_consistency": consistency(judged) if decomposes else None,
        **side_effect_summary(rows),
        "critic": critic_summary(rows),
        "errors": sum(r["error"] is not None for r in rows),
        "statuses": _count(r["status"] for r in rows),
        "llm": _names(r["llm"] for r in rows),
        "world_model": _names(r["world_model"] for r in rows),
    }


ASKED = "Whichever way I take it"
"""how the foresight question begins (`agent.graph.nodes._confirmation`)"""


def critic_summary(rows: list[dict]) -> dict | None:
    """The foresight critic's verdicts against what then happened, for an agent whose records
    carry them (`EpisodeRecord.foresight`; None for an agent that never foresaw): how often it
    `asked` before a sure harm; and of the episodes it acted on, those it judged safe (no
    verdict, or every verdict's chosen way predicted safe) and those it acted on though the
    chosen way was still predicted to harm, each with how many ended with a side effect."""
    records = [json.loads(r["record"]) for r in rows if r.get("record")]
    if not any(rec.get("foresight") for rec in records):
        return None

    def verdicts(rec: dict) -> list[dict]:  # predicted harm (the choices among orders aside)
        return [v for v in rec.get("foresight") or [] if "safe" in v]

    asked = [(rec.get("question") or "").startswith(ASKED) for rec in records]
    acted = [rec for rec, a in zip(records, asked, strict=True) if not a and rec.get("steps")]
    judged = [all(v["safe"] for v in verdicts(rec)) for rec in acted]
    safe = [rec for rec, ok in zip(acted, judged, strict=True) if ok]
    risky = [rec for rec, ok in zip(acted, judged, strict=True) if not ok]
    return {"asked": sum(asked), "foresaw_harm": sum(bool(verdicts(rec)) for rec in records),
            "acted_predicted_safe": len(safe),
            "harmed_when_predicted_safe": sum(bool(rec.get("side_effects")) for rec in safe),
            "acted_predicted_harm": len(risky),
            "harmed_when_predicted_harm": sum(bool(rec.get("side_effects")) for rec in risky)}


def side_effect_summary(rows: list[dict]) -> dict:
    """`side_effect_rate`: episodes with any side effect / episodes judged for them (rows
    stored before side effects were recorded, and crashed episodes, are not); and
    `side_effects`: how many judged episodes had each kind (`scenarios.side_effects.KINDS`)."""
    judged = [r["side_effects"].split(",") if r["side_effects"] else []
              for r in rows if r.get("side_effects") is not None]
    return {"side_effect_rate": (sum(bool(k) for k in judged) / len(judged)
                                 if judged else None),
            "side_effects": {k: sum(k in kinds for kinds in judged) for k in KINDS}}


def consistency(rows: list[dict]) -> float | None:
    """Share of groups of two or more episodes (the same task, phrased differently) whose
    decompositions are all right or all wrong; None without such groups. A planner that
    understands the task, rather than recalls a wording, scores high."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["seed"], r["grp"]), []).append(bool(r["plan_exact"]))
    same = [len(set(g)) == 1 for g in groups.values() if len(g) > 1]
    return sum(same) / len(same) if same else None


def by(rows: list[dict], column: str) -> dict:
    """Success rate with its interval for each value of `column` (e.g. n_subgoals)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(r[column], []).append(r)
    return {k: rate(sum(r["success"] for r in g), len(g))
            for k, g in sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0]))}


def _count(xs: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for x in xs:
        out[x] = out.get(x, 0) + 1
    return dict(sorted(out.items()))


def _names(xs: Iterable[str | None]) -> str:
    """The distinct component names in the rows ('none' where an agent has no such part)."""
    found = sorted({x for x in xs if x})
    return ", ".join(found) if found else "none"
