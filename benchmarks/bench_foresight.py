"""Foresight without the LLM: does imagining side effects before acting keep the world intact?

    python benchmarks/bench_foresight.py --family clutter --episodes 100 --out runs/bench-foresight

Each episode is one push subgoal from the family's start state (clutter and fragile: the first
block into the first zone, with the blocker or the glass on the straight line; ledge: a random
block into a random zone), on scene seeds from 200000 (never in training). Four ways to carry
it out, each from the same start:

- `straight`: latent CEM with the shipped world model toward the subgoal, no foresight (what
  `hybrid-blind` does);
- `foresight`: the world model first imagines the push (`tools.imagination.foresee`); where it
  predicts a block knocked it imagines the push going round that block and keeps the way with
  fewer predicted side effects; then latent CEM carries it out with the side-effect costs
  (what `hybrid` does);
- `scripted`: the scripted skill on the true state, straight (what `llm-skills` does);
- `rule`: no prediction at all, a fixed rule instead: always keep clear of every block the
  push does not name (detours and the avoid cost), with the same planner and edge cost as
  `foresight`. What foresight must beat to show that predicting, not merely being careful,
  is what helps.

Success is the subgoal's predicate on the true MuJoCo state within 500 control steps (the
hybrid's push budget with its one retry) AND no side effect (`scenarios.side_effects`).
The critic's calibration compares the prediction for the straight way (side effect or not)
with what the straight way then did in MuJoCo: precision, recall, and the false-alarm rate
(predicted harm where none happened); for the path-reading critic that `hybrid` acts on, and
for the latent predicate heads (`tools.predicates`: P(harm) and P(subgoal holds) read from the
start and the imagined final embedding). `--calibrate` adds the heads' reading to rows that
were written before the heads existed. Rows go to OUT/FAMILY.jsonl, resumed if the run is
interrupted.

`--rule-only` runs the `rule` way alone; `--round-reach` imagines the push going round every
block it does not name (as `hybrid` acts) and compares the imagined reach with what that way
did in MuJoCo (`tools.imagination.ROUND_MISS`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.evaluation.metrics import wilson  # noqa: E402
from scenarios import Subgoal, world_for  # noqa: E402
from scenarios.side_effects import side_effects, unnamed_blocks  # noqa: E402
from tools.acting import ScriptedExecutor, WorldModelExecutor  # noqa: E402
from tools.imagination import WorldModelImaginer, foresee, going_round  # noqa: E402
from tools.models import ModelShelf  # noqa: E402
from tools.predicates import auc  # noqa: E402

BUDGET = 500
"""control steps: the hybrid agent's push budget (250) with its one retry"""
FIRST_SEED = 200_000


def episode(family: str, i: int) -> Subgoal:
    world = world_for(family, FIRST_SEED + i)
    layout = world.layout
    if family in ("clutter", "fragile"):
        return Subgoal(skill="push", object=layout.blocks[0].name, target=layout.targets[0].name)
    rng = np.random.default_rng([FIRST_SEED, i])
    block = layout.blocks[int(rng.integers(len(layout.blocks)))]
    zones = [t for t in layout.targets if t.kind == "zone"]
    return Subgoal(skill="push", object=block.name,
                   target=zones[int(rng.integers(len(zones)))].name)


def carry_out(family: str, i: int, executor, avoid: tuple[str, ...]) -> dict:
    world = world_for(family, FIRST_SEED + i)
    sg = episode(family, i)
    start = world.state()
    executor.reset()
    result = executor.run(world, sg, BUDGET, lambda info: None, avoid=avoid)
    effects = side_effects(world.layout, start, world.state(), [sg])
    return {"reached": bool(result.success), "steps": int(result.steps),
            "side_effects": [e.text() for e in effects],
            "success": bool(result.success) and not effects}


def run_episode(family: str, i: int, models: ModelShelf) -> dict:
    world = world_for(family, FIRST_SEED + i)
    sg = episode(family, i)
    t0 = time.perf_counter()
    f = foresee(WorldModelImaginer(models).imagine, world, [sg])
    think = time.perf_counter() - t0
    row = {"family": family, "i": i, "seed": FIRST_SEED + i, "subgoal": sg.text(),
           "predicted_straight": [e.text() for e in f.predicted],
           "predicted_chosen": [e.text() for e in f.chosen], "keep_clear": list(f.keep_clear),
           "would_ask": [e.text() for e in f.unsafe],
           "heads_straight": f.straight[0][1].predicates,
           "imagine_seconds": think}
    row["straight"] = carry_out(family, i, WorldModelExecutor("cem", models), ())
    row["foresight"] = carry_out(family, i, WorldModelExecutor("cem", models, foresight=True),
                                 f.keep_clear)
    row["scripted"] = carry_out(family, i, ScriptedExecutor(), ())
    row["rule"] = rule(family, i, models)
    return row


def rule(family: str, i: int, models: ModelShelf) -> dict:
    """The `rule` way: keep clear of every block the push does not name."""
    others = unnamed_blocks(world_for(family, FIRST_SEED + i).layout, [episode(family, i)])
    return carry_out(family, i, WorldModelExecutor("cem", models, foresight=True),
                     tuple(others))


def resumed(path: Path, episodes: int, make: Callable[[int], dict],
            say: Callable[[dict], None] = lambda row: None) -> list[dict]:
    """The rows of episodes 0..episodes-1 in `path` (JSON lines), making and appending those
    it lacks with `make(i)`; `say` sees each new row."""
    rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    done = {r["i"] for r in rows}
    with open(path, "a") as f:
        for i in range(episodes):
            if i in done:
                continue
            row = make(i)
            f.write(json.dumps(row) + "\n")
            f.flush()
            rows.append(row)
            say(row)
    return [r for r in rows if r["i"] < episodes]


def _rate(k: int, n: int) -> str:
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {100 * k / max(n, 1):.0f}% [{100 * lo:.0f}, {100 * hi:.0f}]"


def table(rows: list[dict]) -> str:
    n = len(rows)
    lines = ["| way | success (reached, no side effect) | reached | side effect |",
             "| --- | --- | --- | --- |"]
    for way in ("straight", "foresight", "scripted", "rule"):
        lines.append(f"| {way} | {_rate(sum(r[way]['success'] for r in rows), n)} | "
                     f"{sum(r[way]['reached'] for r in rows)}/{n} | "
                     f"{sum(bool(r[way]['side_effects']) for r in rows)}/{n} |")
    said = [bool(r["predicted_straight"]) for r in rows]
    did = [bool(r["straight"]["side_effects"]) for r in rows]
    tp = sum(s and d for s, d in zip(said, did, strict=True))
    fp = sum(s and not d for s, d in zip(said, did, strict=True))
    fn = sum(d and not s for s, d in zip(said, did, strict=True))
    harmless = n - sum(did)
    lines += ["", "Critic on the straight way (predicted side effect vs what MuJoCo did):",
              f"precision {tp}/{tp + fp}, recall {tp}/{tp + fn}, false alarms "
              f"{fp}/{harmless} of the harmless straight pushes; median imagination "
              f"{np.median([r['imagine_seconds'] for r in rows]):.2f} s"]
    asked = [r for r in rows if r.get("would_ask")]
    if asked:
        harmed = sum(bool(r["foresight"]["side_effects"]) for r in asked)
        lines.append(f"The agent would ask before acting on {len(asked)}/{n} (the chosen way "
                     f"still sure to harm); carried out anyway, {harmed}/{len(asked)} of them "
                     "did harm")
    else:
        lines.append(f"The agent would ask before acting on 0/{n}")
    heads = [r for r in rows if r.get("heads_straight")]
    if heads:
        lines.append(heads_table(heads))
    return "\n".join(lines)


def heads_table(rows: list[dict]) -> str:
    """The latent heads on the imagined straight way against what MuJoCo then did."""
    harm = np.array([r["heads_straight"]["harm"] for r in rows])
    did = np.array([bool(r["straight"]["side_effects"]) for r in rows])
    said = harm > 0.5
    tp, fp = int((said & did).sum()), int((said & ~did).sum())
    fn = int((~said & did).sum())
    out = [f"Latent heads on the imagined straight way ({len(rows)} episodes): P(harm) AUC "
           f"{_fmt(auc(harm, did))}; at 0.5: precision {tp}/{tp + fp}, recall {tp}/{tp + fn}, "
           f"false vetoes {fp}/{int((~did).sum())} of the harmless"]
    held = [r for r in rows if "holds" in r["heads_straight"]]
    if held:
        p = np.array([r["heads_straight"]["holds"] for r in held])
        reached = np.array([r["straight"]["reached"] for r in held])
        out.append(f"P(subgoal holds) against the straight way reaching it: AUC "
                   f"{_fmt(auc(p, reached))} ({int(reached.sum())}/{len(held)} reached)")
    return "\n".join(out)


def _fmt(x: float | None) -> str:
    return "n/a (one class only)" if x is None else f"{x:.2f}"


def calibrate(family: str, rows: list[dict], models: ModelShelf) -> list[dict]:
    """Rows with the heads' reading of the imagined straight way added where missing."""
    imaginer = WorldModelImaginer(models)
    for r in rows:
        if r.get("heads_straight") is None:
            world = world_for(family, r["seed"])
            r["heads_straight"] = imaginer.imagine(world, world.state(),
                                                   episode(family, r["i"])).predicates
    return rows


def recheck(family: str, rows: list[dict], models: ModelShelf, settings: list[str]) -> str:
    """The critic's straight-way prediction made again now, once per imagination setting
    (`WorldModelImaginer.parse`: imagined chunks per decision, and the planner's seed,
    samples and iterations), against what MuJoCo did in the stored rows: whether imagining
    with fewer searches still foresees the same harms, measured against how much the
    verdicts move with the seed alone."""
    did = [bool(r["straight"]["side_effects"]) for r in rows]
    got = [bool(r["straight"]["reached"]) for r in rows]
    seen: dict[str, list[bool]] = {}
    lines = [f"{family}, {len(rows)} stored straight pushes ({sum(did)} did harm, "
             f"{sum(got)} reached):",
             "| setting | precision | recall | false alarms | same verdict as "
             f"{settings[0]} | predicted reached (as MuJoCo) | median imagination s |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for c in settings:
        imaginer, said, secs, reach = WorldModelImaginer.parse(models, c), [], [], []
        for r in rows:
            world = world_for(family, r["seed"])
            t0 = time.perf_counter()
            f = foresee(imaginer.imagine, world, [episode(family, r["i"])])
            secs.append(time.perf_counter() - t0)
            said.append(bool(f.predicted))
            reach.append(all(im.ok for _, im in f.straight))
            world.close()
        seen[c] = said
        tp = sum(s and d for s, d in zip(said, did, strict=True))
        fp = sum(s and not d for s, d in zip(said, did, strict=True))
        same = sum(a == b for a, b in zip(said, seen[settings[0]], strict=True))
        agree = sum(a == b for a, b in zip(reach, got, strict=True))
        lines.append(f"| {c} | {tp}/{tp + fp} | {tp}/{sum(did)} | {fp}/{len(rows) - sum(did)} "
                     f"| {same}/{len(rows)} | {sum(reach)} ({agree}) | {np.median(secs):.2f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def rule_only(family: str, episodes: int, out: Path, models: ModelShelf) -> str:
    """Only the `rule` way (nothing imagined: a few seconds an episode), into
    OUT/FAMILY-rule.jsonl, resumed if interrupted; compared per episode with the stored rows in
    benchmarks/results/ (what a change to going round did, with no critic in between)."""
    rows = resumed(out / f"{family}-rule.jsonl", episodes,
                   lambda i: {"i": i, **rule(family, i, models)})
    n = len(rows)
    lines = [f"rule, {family}: success {_rate(sum(r['success'] for r in rows), n)}, reached "
             f"{sum(r['reached'] for r in rows)}/{n}, side effect "
             f"{sum(bool(r['side_effects']) for r in rows)}/{n}"]
    stored = Path(__file__).parent / "results" / f"foresight-{family}.jsonl"
    if stored.exists():
        before = {r["i"]: r["rule"] for r in map(json.loads, stored.read_text().splitlines())}
        both = [r for r in rows if r["i"] in before]
        won = [r["i"] for r in both if r["success"] and not before[r["i"]]["success"]]
        lost = [r["i"] for r in both if not r["success"] and before[r["i"]]["success"]]
        lines.append(f"against the stored rows ({stored.name}, {len(both)} episodes): stored "
                     f"{sum(before[r['i']]['success'] for r in both)}/{len(both)}; won {won}, "
                     f"lost {lost}")
    return "\n".join(lines)


def round_reach(family: str, episodes: int, out: Path, models: ModelShelf) -> str:
    """Whether the world model's imagined reach means anything for a push that goes round
    every block it does not name (the way `hybrid` acts where side effects count): the push
    imagined that way (`tools.imagination.going_round`), against the `rule` way carried out
    in MuJoCo, which is the same way. Rows into OUT/FAMILY-round.jsonl, resumed; the figures
    behind `tools.imagination.ROUND_MISS`."""
    imaginer = WorldModelImaginer(models)

    def make(i: int) -> dict:
        world, sg = world_for(family, FIRST_SEED + i), episode(family, i)
        im = imaginer.imagine(world, world.state(), sg, going_round(world.layout, [sg]))
        return {"i": i, "imagined": {"ok": im.ok, "steps": im.steps,
                                     "holds": (im.predicates or {}).get("holds")},
                **rule(family, i, models)}

    rows = resumed(out / f"{family}-round.jsonl", episodes, make)
    lines = [f"{family}, {len(rows)} pushes going round every block they do not name:"]
    for said in (False, True):
        part = [r for r in rows if r["imagined"]["ok"] is said]
        lines.append(f"imagined {'reached' if said else 'NOT reached'}: {len(part)}; reached "
                     f"in MuJoCo {sum(r['reached'] for r in part)} (within 250 steps "
                     f"{sum(r['reached'] and r['steps'] <= 250 for r in part)})")
    held = [r for r in rows if r["imagined"]["holds"] is not None]
    if held:
        p = np.array([r["imagined"]["holds"] for r in held])
        got = np.array([r["reached"] for r in held])
        lines.append(f"latent heads' P(holds) on that imagination against reaching: AUC "
                     f"{_fmt(auc(p, got))}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", default="clutter")
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-foresight"))
    ap.add_argument("--calibrate", action="store_true", help="add the latent heads' reading "
                    "to stored rows that lack it (one imagination each), then print the table")
    ap.add_argument("--recheck", nargs="+", metavar="SETTING",
                    help="only re-imagine the stored straight pushes with each of these "
                         "imagination settings, COMMIT[:sSEED][:nSAMPLES][:iITERATIONS] (the "
                         "first is the reference; '1' is the agent's), and print the critic's "
                         "calibration against what MuJoCo did; runs nothing in MuJoCo")
    ap.add_argument("--rule-only", action="store_true", help="run only the rule way (no "
                    "imagination) and compare it per episode with the stored rows")
    ap.add_argument("--round-reach", action="store_true", help="imagine only the way round "
                    "every unnamed block and compare its imagined reach with MuJoCo's")
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.round_reach:
        print(round_reach(args.family, args.episodes, args.out, ModelShelf()))
        return
    if args.rule_only:
        print(rule_only(args.family, args.episodes, args.out, ModelShelf()))
        return
    path = args.out / f"{args.family}.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    models = ModelShelf()
    if args.recheck:
        if not rows:  # the rows BENCHMARKS.md reports are kept in git
            path = Path(__file__).parent / "results" / f"foresight-{args.family}.jsonl"
            if not path.exists():
                raise SystemExit(f"no stored rows for {args.family}: run without --recheck "
                                 "first")
            rows = [json.loads(x) for x in path.read_text().splitlines()]
        print(f"stored rows: {path}")
        print(recheck(args.family, [r for r in rows if r["i"] < args.episodes], models,
                      args.recheck))
        return
    if args.calibrate:
        rows = calibrate(args.family, rows, models)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    def say(row: dict) -> None:
        print(f"{row['i']}: straight {row['straight']['success']} foresight "
              f"{row['foresight']['success']} ({row['keep_clear']}) scripted "
              f"{row['scripted']['success']} rule {row['rule']['success']}", flush=True)

    print(table(resumed(path, args.episodes, lambda i: run_episode(args.family, i, models),
                        say)))


if __name__ == "__main__":
    main()
