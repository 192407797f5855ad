"""Compare two agents on the same seeded episodes: success judged on the true state.

    python examples/compare_agents.py [--agents oracle-plan,oracle-script] [--episodes 5]

Each agent sees the same instructions on the same scenes (held-out phrasings of the `test`
split). For a full sweep with confidence intervals and a report, use `wmagent eval`.
"""

import argparse
import tempfile

from agent.kinds.registry import make_agent
from scenarios import instructions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", default="oracle-plan,oracle-script")
    ap.add_argument("--scenario", default="push")
    ap.add_argument("--episodes", type=int, default=5)
    args = ap.parse_args()

    tasks = list(instructions.generate(args.scenario, args.episodes, "test", seed=20000,
                                       subgoals=(1, 2)))
    home = tempfile.mkdtemp(prefix="wmagent-compare-")
    for kind in args.agents.split(","):
        agent = make_agent(kind, home=home)
        records = [agent.run(t.scenario, t.instruction, seed=t.seed, subgoals=t.subgoals)
                   for t in tasks]
        wins = sum(r.success for r in records)
        steps = sum(r.steps for r in records) / len(records)
        print(f"{kind:14} {wins}/{len(records)} tasks, {steps:.0f} steps on average")


if __name__ == "__main__":
    main()
