"""Run the hybrid agent on one instruction and print what happened.

    python examples/run_agent.py [--scenario push] [--seed 3] [--video ep.mp4] [--llm embedded]

The LLM (embedded SmolLM2 + the shipped planner adapter by default, or a vLLM server URL)
decomposes the instruction; the shipped JEPA world model checks the plan in imagination and
plans each subgoal; MuJoCo executes; the subgoals' predicates on the true state judge.
"""

import argparse

from agent.kinds.registry import make_agent
from scenarios import instructions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="push")
    ap.add_argument("--seed", type=int, default=10003)
    ap.add_argument("--subgoals", type=int, default=2, help="length of the generated task")
    ap.add_argument("--video", default=None)
    ap.add_argument("--llm", default=None)
    args = ap.parse_args()

    task = next(instructions.generate(args.scenario, 1, "test", seed=args.seed,
                                      subgoals=(args.subgoals,)))
    print(f"instruction: {task.instruction}")
    agent = make_agent("hybrid", llm=args.llm)
    record = agent.run(task.scenario, task.instruction, seed=task.seed, subgoals=task.subgoals,
                       video=args.video,
                       on_event=lambda e: print("  ", e.kind, getattr(e, "subgoal", ""))
                       if e.kind in ("subgoal_started", "revision") else None)
    print("plan:", "; ".join(s.text() for s in record.plan or []))
    print("ground truth:", "; ".join(s.text() for s in task.subgoals))
    print(record.summary())


if __name__ == "__main__":
    main()
