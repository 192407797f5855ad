"""The report of a sweep: Markdown, CSV, PNG plots and summary.json, from the stored rows.

Everything is recomputed from `results.sqlite`, so the report of an interrupted or extended
sweep is always the report of what is stored, restricted to the suite's episodes.
"""

from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

from agent.evaluation.metrics import by, summarize
from agent.evaluation.runner import needs_ground_truth
from agent.evaluation.store import COLUMNS, ResultStore
from agent.evaluation.suites import Suite

FILES = ("report.md", "summary.json", "summary.csv", "by_horizon.csv", "episodes.csv",
         "success_vs_subgoals.png", "cost_per_success.png")


def build_summary(store: ResultStore, suite: Suite, agents: list[str]) -> dict:
    """Per-agent metrics over the suite's episodes, as written to summary.json: for each
    agent, the rows of its current configuration only, with that configuration's id and
    fingerprint; `commands` maps each command that made a current configuration to its agents."""
    keys = [ep.key for ep in suite.episodes]
    current = store.current()
    out: dict = {"suite": suite.name, "description": suite.description,
                 "source": suite.source, "suite_episodes": len(keys), "commands": {},
                 "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "agents": {}}
    # `agents` first, then every other agent with a current configuration: a sweep of some
    # agents never drops the others from the report.
    for agent in list(agents) + [a for a in current if a not in agents]:
        rows = store.rows([agent], keys)
        s = summarize(rows, given_plan=needs_ground_truth(agent))
        s["by_horizon"] = {str(k): v for k, v in by(rows, "n_subgoals").items()}
        s["by_scenario"] = by(rows, "scenario")
        config = current.get(agent, {"config": None, "fingerprint": {}, "command": ""})
        s["config"], s["configuration"] = config["config"], config["fingerprint"]
        out["agents"][agent] = s
        if config["command"]:
            out["commands"].setdefault(config["command"], []).append(agent)
    return out


def _fmt(x, pct: bool = False, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if pct:
        return f"{100 * x:.{digits}f}%"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return str(x)


def _ci(low, high) -> str:
    return f"[{100 * low:.0f}, {100 * high:.0f}]"


def _markdown(summary: dict) -> str:
    """The report as Markdown, section by section."""
    agents = summary["agents"]
    lines = [f"# Evaluation: suite `{summary['suite']}`", "",
             f"{summary['description']} ({summary['suite_episodes']} episodes, "
             f"{summary['source']}). Created {summary['created']}.", ""]
    if summary["commands"]:
        lines += ["Produced by:", "", "```bash"]
        for command, names in summary["commands"].items():
            lines += [f"# {', '.join(names)}", command]
        lines += ["```", ""]
    lines += ["## Components", "", "Each agent's rows come from one configuration (its id "
              "below; the full fingerprint is in `summary.json` and in table `configs` of "
              "`results.sqlite`, which also keeps any older configuration's rows).", "",
              "| agent | configuration | LLM | world model / controller |",
              "| --- | --- | --- | --- |"]
    lines += [f"| {a} | `{s['config']}` | {s['llm']} | {s['world_model']} |"
              for a, s in agents.items()]
    return "\n".join(lines + _results(agents) + _side_effects(agents) + _breakdowns(agents)
                     + _cost(agents) + _method())


def _results(agents: dict) -> list[str]:
    lines: list[str] = []
    lines += ["", "## Results", "",
              "Execution success is judged only by the scenario's predicates on the true "
              "MuJoCo state; planning success (decomposition exact match against the ground "
              "truth) is reported apart. Intervals are 95% Wilson intervals. Oracle agents are "
              "given the ground-truth plan, so their planning success is n/a.", "",
              "| agent | episodes | execution success [95% CI] | planning success [95% CI] | "
              "success given exact plan | subgoal completion | mean steps | mean s | "
              "LLM calls | tokens | ms/decision (median) | errors |",
              "| --- |" + " --- |" * 11]
    for a, s in agents.items():
        plan = (f"{_fmt(s['decomposition_accuracy'], True)} {_ci(*s['decomposition_ci'])}"
                if s["decomposition_ci"] else "n/a")
        lines.append(
            f"| {a} | {s['episodes']} | {_fmt(s['success_rate'], True)} "
            f"{_ci(s['ci_low'], s['ci_high'])} | {plan} | "
            f"{_fmt(s['success_given_exact_plan'], True)} | "
            f"{_fmt(s['subgoal_completion'], True)} | {_fmt(s['mean_steps'])} | "
            f"{_fmt(s['mean_seconds'], digits=2)} | {_fmt(s['mean_llm_calls'])} | "
            f"{_fmt(s['mean_tokens'], digits=0)} | {_fmt(s['decision_ms_median'], digits=2)} | "
            f"{s['errors']} |")
    return lines


def _side_effects(agents: dict) -> list[str]:
    """Episodes that did something nobody asked for: a block fell, broke or was knocked away
    (`scenarios.side_effects`). In families with consequences such an episode failed."""
    if not any(s["side_effect_rate"] for s in agents.values()):
        return []
    lines = ["", "## Side effects", "",
             "Episodes whose final state shows something the task did not ask for: a block "
             "fell off the table, broke, or (not named by any push) was knocked more than 5 cm "
             "or out of its zone. In the `clutter`, `fragile` and `ledge` families such an "
             "episode fails even when every subgoal holds.", "",
             "| agent | side-effect rate | fell | broke | displaced |", "| --- |" + " --- |" * 4]
    for a, s in agents.items():
        k = s["side_effects"]
        lines.append(f"| {a} | {_fmt(s['side_effect_rate'], True)} | {k['fell']} | "
                     f"{k['broke']} | {k['displaced']} |")
    critics = {a: s["critic"] for a, s in agents.items() if s.get("critic")}
    if critics:
        lines += ["", "The foresight critic against what happened (agents that foresee): how "
                  "often it asked before a harm it was sure of (no one answers in an "
                  "evaluation, so those episodes end as `needs_clarification`), and, of the "
                  "episodes it acted on, how many ended with a side effect when it predicted "
                  "the chosen way safe, and when it acted though that way was still predicted "
                  "to harm.", "",
                  "| agent | foresaw harm | asked | acted, predicted safe: harmed | acted, "
                  "predicted harm: harmed |", "| --- |" + " --- |" * 4]
        for a, c in critics.items():
            lines.append(f"| {a} | {c['foresaw_harm']} | {c['asked']} | "
                         f"{c['harmed_when_predicted_safe']}/{c['acted_predicted_safe']} | "
                         f"{c['harmed_when_predicted_harm']}/{c['acted_predicted_harm']} |")
    return lines


def _breakdowns(agents: dict) -> list[str]:
    lines: list[str] = []
    horizons = sorted({int(h) for s in agents.values() for h in s["by_horizon"]
                       if h != "None"})
    if horizons:
        lines += ["", "## Success by number of subgoals", "",
                  "| agent | " + " | ".join(map(str, horizons)) + " |",
                  "| --- |" + " --- |" * len(horizons)]
        for a, s in agents.items():
            cells = [s["by_horizon"].get(str(h)) for h in horizons]
            lines.append(f"| {a} | " + " | ".join(
                f"{c['successes']}/{c['n']} {_ci(c['ci_low'], c['ci_high'])}" if c else "-"
                for c in cells) + " |")
    scenarios = sorted({sc for s in agents.values() for sc in s["by_scenario"]})
    lines += ["", "## Success by scenario", "",
              "| agent | " + " | ".join(scenarios) + " |", "| --- |" + " --- |" * len(scenarios)]
    for a, s in agents.items():
        cells = [s["by_scenario"].get(sc) for sc in scenarios]
        lines.append(f"| {a} | " + " | ".join(
            f"{c['successes']}/{c['n']}" if c else "-" for c in cells) + " |")
    return lines


def _cost(agents: dict) -> list[str]:
    lines: list[str] = []
    consistent = {a: s["paraphrase_consistency"] for a, s in agents.items()
                  if s["paraphrase_consistency"] is not None}
    if consistent:
        lines += ["", "## Paraphrases", "", "Share of tasks (each phrased several ways) whose "
                  "decompositions were all right or all wrong:", "",
                  "| agent | paraphrase consistency |", "| --- | --- |"]
        lines += [f"| {a} | {_fmt(c, True)} |" for a, c in consistent.items()]
    lines += ["", "## Cost", "", "| agent | seconds per success | tokens per success | "
              "mean wall s (with overhead) | outcomes |", "| --- | --- | --- | --- | --- |"]
    for a, s in agents.items():
        outcomes = ", ".join(f"{k} {v}" for k, v in s["statuses"].items())
        lines.append(f"| {a} | {_fmt(s['seconds_per_success'], digits=2)} | "
                     f"{_fmt(s['tokens_per_success'], digits=0)} | "
                     f"{_fmt(s['mean_wall_seconds'], digits=2)} | {outcomes} |")
    return lines


def _method() -> list[str]:
    lines: list[str] = []
    lines += ["", "## Method", "",
              "- Every agent ran the same episodes (scene seed, instruction, ground truth); "
              "built-in suites use held-out (`test` split) phrasings and re-sample any episode "
              "whose first subgoal already holds at the start.",
              "- Agents that need the plan (oracle-*) are given the ground truth; the others "
              "get it only for judging. A question from the agent is not answered: the "
              "episode ends as `needs_clarification` (a failure).",
              "- An episode that raised is an `error` row and counts as a failure.",
              "- *mean s* is the agent's own time (graph nodes, LLM included); *wall s* adds "
              "checkpointing and harness overhead."]
    lines += ["", "![success vs subgoals](success_vs_subgoals.png)", "",
              "![cost per success](cost_per_success.png)", "",
              "Files: `summary.json`, `summary.csv`, `by_horizon.csv`, `episodes.csv` (one row "
              "per episode; the full records are in `results.sqlite`).", ""]
    return lines


def _plots(summary: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agents = summary["agents"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_xticks(sorted({int(h) for s in agents.values() for h in s["by_horizon"]
                          if h != "None"}))
    for i, (a, s) in enumerate(agents.items()):
        pts = sorted((int(h), v) for h, v in s["by_horizon"].items() if h != "None" and v["n"])
        if not pts:
            continue
        x = [h + 0.06 * (i - (len(agents) - 1) / 2) for h, _ in pts]  # dodge overlapping bars
        y = [v["rate"] for _, v in pts]
        # max(0, .): at 0% or 100% the interval's end and the rate differ by rounding only.
        err = [[max(0.0, v["rate"] - v["ci_low"]) for _, v in pts],
               [max(0.0, v["ci_high"] - v["rate"]) for _, v in pts]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=a)
    ax.set(xlabel="subgoals in the task", ylabel="task success (95% Wilson CI)",
           ylim=(-0.03, 1.03), title=f"suite {summary['suite']}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "success_vs_subgoals.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    names = list(agents)
    for ax, key, label in ((axes[0], "seconds_per_success", "agent seconds per success"),
                           (axes[1], "tokens_per_success", "LLM tokens per success")):
        vals = [agents[a][key] for a in names]
        ax.bar(names, [v or 0 for v in vals], color="tab:blue")
        top = max([v for v in vals if v] or [1.0])
        for j, v in enumerate(vals):
            ax.text(j, (v or 0) + 0.02 * top, "no success" if v is None else f"{v:,.3g}",
                    ha="center", va="bottom", fontsize=8)
        ax.set(title=label, ylim=(0, 1.15 * top))
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(out / "cost_per_success.png", dpi=110)
    plt.close(fig)


SUMMARY_CSV = ("agent", "episodes", "successes", "success_rate", "ci_low", "ci_high",
               "decomposition_accuracy", "success_given_exact_plan", "subgoal_completion",
               "mean_steps", "mean_seconds", "mean_wall_seconds", "mean_llm_calls",
               "mean_tokens", "decision_ms_median", "seconds_per_success",
               "tokens_per_success", "side_effect_rate", "errors", "config", "llm",
               "world_model")


def write_report(store: ResultStore, suite: Suite, agents: list[str], out: str | Path) -> dict:
    """Write report.md, summary.json, the CSVs and the PNGs into `out`; return the summary.
    It covers `agents` and every other agent stored with a current configuration."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = build_summary(store, suite, agents)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    with open(out / "summary.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(SUMMARY_CSV)
        for a, s in summary["agents"].items():
            w.writerow([a] + [s[k] for k in SUMMARY_CSV[1:]])
    with open(out / "by_horizon.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["agent", "n_subgoals", "episodes", "successes", "rate", "ci_low", "ci_high"])
        for a, s in summary["agents"].items():
            for h, v in s["by_horizon"].items():
                w.writerow([a, h, v["n"], v["successes"], v["rate"], v["ci_low"], v["ci_high"]])
    cols = [c for c in COLUMNS if c != "record"]
    with open(out / "episodes.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in store.rows(list(summary["agents"]), [ep.key for ep in suite.episodes]):
            w.writerow([r[c] for c in cols])
    _plots(summary, out)
    (out / "report.md").write_text(_markdown(summary))
    return summary
