"""Runs a scripted-executor agent slowly so that a test can kill it mid-episode."""

import sys
import time

from agent.api import Agent
from agent.graph.contracts import Resources
from agent.runs.store import RunStore
from tools.acting import ScriptedExecutor

home, thread, scenario, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
plan = [{"skill": "go", "object": "agent", "target": t} for t in sys.argv[5:]]
agent = Agent("oracle-script", Resources(executor=ScriptedExecutor()), store=RunStore(home),
              needs_ground_truth=True)
print("started", flush=True)
agent.run(scenario, "visit pads", seed=seed, subgoals=plan, thread_id=thread,
          on_event=lambda e: time.sleep(0.03) if e.kind == "mpc_step" else None)
print("finished", flush=True)
