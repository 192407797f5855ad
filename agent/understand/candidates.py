"""Other plans for the same message, for the world model to choose among (issue 15's critic).

The LLM's greedy plan comes first. Then the plans that do what it says in another order:
pushes of different blocks between the same two `go`s in another order (what each block ends
up where does not depend on which goes first, and the agent still visits each place in the
order asked), and plans drawn from the model at a temperature (`Sampling`) that read the
message the same way (`same_meaning`). A drawn plan that reads it otherwise is not a
candidate: choosing a safer meaning would be doing something the person did not ask for (that
is a question for them, not the critic's choice). Nothing here judges a plan as better:
`tools.imagination.choose` does, by imagining each.
"""

from __future__ import annotations

from agent.llm.base import InvalidAnswer, LLMBackend, Sampling, Usage, samples
from agent.understand.decompose import (
    _read,
    coverage_problems,
    plan_problems,
    repeats,
    reply_schema,
)
from agent.understand.prompts import plan_messages
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, means_the_same, reorderable

TEMPERATURE = 0.8
"""of the drawn plans: high enough that a 135M model trained to one answer gives another"""


def key(plan: Plan) -> tuple:
    return (tuple(s.model_dump_json() for s in plan.subgoals), tuple(sorted(plan.avoid)))


def same_meaning(a: Plan, b: Plan) -> bool:
    """`b` does what `a` does, perhaps in another order (`means_the_same`), with the same
    avoids."""
    return means_the_same(a.subgoals, b.subgoals) and sorted(a.avoid) == sorted(b.avoid)


def reorderings(plan: Plan) -> list[Plan]:
    """`plan` with one pair of neighbouring pushes of two different blocks swapped, for each
    such pair, in order."""
    out = []
    subs = plan.subgoals
    for i in range(len(subs) - 1):
        a, b = subs[i], subs[i + 1]
        if a.skill == b.skill == "push" and a.object != b.object:
            swapped = [*subs[:i], b, a, *subs[i + 2:]]
            out.append(plan.model_copy(update={"subgoals": swapped}))
    return out


def drawn(backend: LLMBackend, scene: SceneDescription, instruction: str, n: int,
          seed: int = 1) -> tuple[list[Plan], Usage]:
    """The plans among `n` drawn from the model (one call each, seeds `seed`...) that are
    valid in the scene, repeat nothing and leave out nothing the message names; [] for a
    backend that cannot draw."""
    usage, out = Usage(), []
    if not samples(backend):
        return out, usage
    schema, messages = reply_schema(scene), plan_messages(scene, instruction)
    for i in range(n):
        try:
            data, u = backend.complete(messages, schema,
                                       sampling=Sampling(TEMPERATURE, seed + i))
            reply = _read(data)
        except (InvalidAnswer, ValueError):
            continue
        usage = usage + u
        plan = reply.plan
        if (reply.intent != "act" or plan is None or not plan.subgoals or repeats(plan)
                or plan_problems(scene, plan) or coverage_problems(scene, instruction, plan)):
            continue
        out.append(plan)
    return out, usage


def candidates(backend: LLMBackend, scene: SceneDescription, instruction: str, plan: Plan,
               k: int) -> tuple[list[Plan], Usage]:
    """At most `k` different plans that mean `plan`, `plan` first: its re-orderings, then
    drawn plans (k - 1 draws, so k - 1 more LLM calls, when the re-orderings leave room and
    some other order exists)."""
    seen, out = {key(plan)}, [plan]
    for p in reorderings(plan):
        if len(out) < k and key(p) not in seen:
            seen.add(key(p))
            out.append(p)
    usage = Usage()
    if len(out) < k and reorderable(plan.subgoals):  # else every plan meaning the same is `plan`
        more, usage = drawn(backend, scene, instruction, k - 1)
        for p in more:
            if len(out) < k and key(p) not in seen and same_meaning(plan, p):
                seen.add(key(p))
                out.append(p)
    return out, usage
