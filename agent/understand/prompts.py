"""The planner's prompts: one place, shared by decomposition, revision and fine-tuning.

The fine-tuned adapter learned exactly these strings, so changing them means retraining.
"""

from __future__ import annotations

from scenarios.replies import Reply, compact
from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal

# Short on purpose: every prompt token costs training and decoding time on a CPU.
SYSTEM = ("Reply in JSON. act: go/push subgoals in order, with a relation if not into, and "
          "what to avoid. imagine: a what-if plan. answer: a query. clarify: what is missing. "
          "cannot: why. stop.")


def scene_brief(scene: SceneDescription) -> str:
    """The scene's names, kinds and rooms, one line each: all decomposition needs."""

    def line(name: str, kind: str, room: str | None) -> str:
        return f"- {name} ({kind}, {room})" if room else f"- {name} ({kind})"

    things = [o for o in scene.objects if o.kind != "agent"] + list(scene.targets)
    return "\n".join(line(t.name, t.kind, t.room) for t in things)


def plan_messages(scene: SceneDescription, instruction: str) -> list[dict]:
    """Chat messages asking for the plan of `instruction` in `scene`."""
    user = f"Scene:\n{scene_brief(scene)}\nMessage: {instruction.strip()}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def revise_messages(scene: SceneDescription, instruction: str, done: list[Subgoal],
                    failed: Subgoal, reason: str) -> list[dict]:
    """Chat messages asking for the work left after `failed` did not succeed."""
    did = "; ".join(s.text() for s in done) or "nothing yet"
    user = (f"Scene:\n{scene_brief(scene)}\nInstruction: {instruction.strip()}\n"
            f"Done: {did}\nFailed: {failed.text()} ({reason.strip()})\n"
            "Plan what is left to do.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def repair_message(problems: list[str]) -> dict:
    """The user turn that sends a plan's problems back to the model for one more try."""
    listed = "\n".join(f"- {p}" for p in problems)
    return {"role": "user", "content": f"That reply has problems:\n{listed}\n"
                                       "Answer again, corrected."}


def answer(reply: Reply | Plan) -> str:
    """The compact JSON the model is trained to produce (a plan is the reply `act`)."""
    if isinstance(reply, Plan):
        reply = Reply(intent="act", plan=reply)
    return compact(reply)
