"""The planner's prompts: one place, shared by decomposition, revision and fine-tuning.

The fine-tuned adapter learned exactly these strings, so changing them means retraining.
"""

from __future__ import annotations

from scenarios.scene import SceneDescription
from scenarios.subgoals import Plan, Subgoal

# Short on purpose: every prompt token costs training and decoding time on a CPU.
SYSTEM = ("Turn the instruction into subgoals as JSON: go (the agent moves to a target) or "
          "push (a block into a zone), with the scene's names, in order.")


def scene_brief(scene: SceneDescription) -> str:
    """The scene's names, kinds and rooms, one line each: all decomposition needs."""

    def line(name: str, kind: str, room: str | None) -> str:
        return f"- {name} ({kind}, {room})" if room else f"- {name} ({kind})"

    things = [o for o in scene.objects if o.kind != "agent"] + list(scene.targets)
    return "\n".join(line(t.name, t.kind, t.room) for t in things)


def plan_messages(scene: SceneDescription, instruction: str) -> list[dict]:
    """Chat messages asking for the plan of `instruction` in `scene`."""
    user = f"Scene:\n{scene_brief(scene)}\nInstruction: {instruction.strip()}"
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
    return {"role": "user", "content": f"That plan has problems:\n{listed}\n"
                                       "Answer again with a corrected plan."}


def answer(plan: Plan) -> str:
    """The compact JSON the model is trained to produce (no spaces after separators)."""
    return plan.model_dump_json()
