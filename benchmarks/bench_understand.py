"""Typed-reply accuracy on the held-out split of every intent (issue 14's targets), and latency.

    python benchmarks/bench_understand.py --per-family 80                 # shipped adapter
    python benchmarks/bench_understand.py --per-family 80 --adapter runs/planner-v3
    python benchmarks/bench_understand.py --llm http://127.0.0.1:8000/v1 --model planner

Messages come from `scenarios.requests.generate(split="test")` on scene seeds from 50000: their
phrasings, verbs and sentence shapes never occur in training, and their scenes are new. Each
is read by `agent.understand.decompose.decompose`, as the agent reads it. Measured:

- intent accuracy: the reply's intent is the message's;
- exact plan on `act` messages: the same subgoals (skill, object, relation, target) in order
  and the same `avoid` set;
- moved: messages that are not `act` but were read as `act` (the agent would have moved);
  the target is zero;
- answers correct: on `answer` messages read as `answer`, the tool's answer to the model's
  query equals its answer to the true query (in the true scene);
- latency per message (the whole `decompose` call).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llm_args import add_llm_options, llm_backend  # noqa: E402

from agent.understand.decompose import ACT_SURE, decompose  # noqa: E402
from scenarios import names, world_for  # noqa: E402
from scenarios.requests import generate  # noqa: E402
from scenarios.scene import SceneDescription  # noqa: E402
from tools.answers import answer  # noqa: E402


def same_plan(got, want) -> bool:
    return (got is not None and list(got.subgoals) == list(want.subgoals)
            and set(got.avoid) == set(want.avoid))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=80, help="test messages per family")
    ap.add_argument("--seed", type=int, default=50_000, help="first scene seed")
    add_llm_options(ap)
    args = ap.parse_args()
    backend = llm_backend(args)

    by_kind, confusion, secs = defaultdict(list), Counter(), []
    intent_ok, plan_ok, moved, answers_ok = [], [], [], []
    asked_act, asked_other = [], []  # asked before acting, on act / on other messages
    out = args.out.open("w") if args.out else None
    for family in names():
        for req in generate(family, args.per_family, split="test", seed=args.seed):
            world = world_for(family, req.seed)
            scene = SceneDescription.from_layout(world.layout)
            start = time.perf_counter()
            d = decompose(backend, scene, req.text)
            secs.append(time.perf_counter() - start)
            want, got = req.reply, d.reply
            intent = got.intent if got is not None else "none"
            ok_intent = intent == want.intent
            intent_ok.append(ok_intent)
            confusion[(want.intent, intent)] += 1
            ok = ok_intent
            if want.intent == "act":
                ok = ok_intent and same_plan(got.plan, want.plan)
                plan_ok.append(ok)
                asked_act.append(d.asks_first)
            else:  # read as a plan, and carried out without asking first
                moved.append(intent == "act" and not d.asks_first)
                asked_other.append(d.asks_first)
            if want.intent == "answer" and ok_intent:
                state = world.state()
                ok = answer(world, state, got.query) == answer(world, state, want.query)
                answers_ok.append(ok)
            elif want.intent == "answer":
                answers_ok.append(False)
            by_kind[req.kind].append(ok)
            said = (got.plan.text() if got is not None and got.plan is not None else
                    json.dumps(got.model_dump(exclude_none=True, exclude={"text", "plan"}))
                    if got is not None else d.question)
            if out:
                out.write(json.dumps({"family": family, "seed": req.seed, "kind": req.kind,
                                      "text": req.text, "want": want.contract(),
                                      "got": got.contract() if got else None, "ok": ok,
                                      "confidence": d.confidence, "asks_first": d.asks_first,
                                      "seconds": secs[-1]}) + "\n")
                out.flush()
            print(f"{'ok ' if ok else 'BAD'} {secs[-1]:5.1f}s {family} {req.kind:8s} {req.text}"
                  + ("" if ok else f"\n    want {want.intent}, got {intent}: {said}"), flush=True)

    def pct(v: list[bool]) -> str:
        return f"{sum(v)}/{len(v)} = {100 * sum(v) / max(1, len(v)):.1f}%"

    print(f"\n{backend.describe()}; {platform.processor() or platform.machine()}, "
          f"torch threads {args.threads}; {len(intent_ok)} held-out messages")
    print(f"intent accuracy: {pct(intent_ok)}")
    print(f"exact plan on act messages: {pct(plan_ok)}")
    print(f"non-act messages read as act and carried out without asking (would move): "
          f"{sum(moved)} of {len(moved)}")
    print(f"asked before acting (a plan in doubt: intent probability < {ACT_SURE}, or no "
          f"target mentioned): {sum(asked_other)} non-act "
          f"messages read as act, and {sum(asked_act)} of {len(asked_act)} act messages "
          f"({sum(a and p for a, p in zip(asked_act, plan_ok, strict=True))} of them with the "
          "exact plan)")
    print(f"answers correct: {pct(answers_ok)}")
    for kind, v in sorted(by_kind.items()):
        print(f"  {kind}: {pct(v)}")
    wrong = {k: n for k, n in confusion.items() if k[0] != k[1]}
    if wrong:
        print("  confusions (want -> got): " + ", ".join(
            f"{w}->{g} {n}" for (w, g), n in sorted(wrong.items(), key=lambda x: -x[1])))
    q = statistics.quantiles(secs, n=10)
    print(f"latency per message: median {statistics.median(secs):.2f} s, p90 {q[-1]:.2f} s")


if __name__ == "__main__":
    main()
