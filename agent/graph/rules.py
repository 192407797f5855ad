"""Plan-editing rules: pure functions of plans, no world, no LLM.

- After a subgoal is achieved, a push that a later subgoal knocked out is done again, next.
- A revision re-plans the work that is left; it may not add work nobody asked for.
- A revision prompted by the imagination check may not lose the work after the vetoed step.
"""

from __future__ import annotations

from scenarios.subgoals import Subgoal


def keeps_order(plan: list[Subgoal], needed: list[Subgoal]) -> bool:
    """Whether `needed` occurs in `plan` in order (other subgoals may come between)."""
    it = iter(plan)
    return all(any(s == x for x in it) for s in needed)


def with_restores(plan: list[Subgoal], current: int, undone: list[Subgoal],
                  left: int) -> tuple[list[Subgoal], list[Subgoal]]:
    """(new plan, pushes re-inserted): at most `left` of the `undone` pushes go right after
    the achieved subgoal `current`."""
    undone = undone[:left] if left > 0 else []
    if not undone:
        return plan, []
    return plan[: current + 1] + undone + plan[current + 1:], undone


def merge_revision(left: list[Subgoal], proposed: list[Subgoal],
                   after_failure: bool) -> tuple[list[Subgoal], list[str]]:
    """(the work left to do, notes on what was changed) after the LLM proposed `proposed`
    for the work `left` (its first subgoal failed, or was vetoed when not `after_failure`).

    The small planner sometimes invents a push of another block, which then moves that block
    for nothing; subgoals not in `left` are dropped (and `left` kept if nothing remains).
    """
    kept = [s for s in proposed if s in left]
    invented = [s.text() for s in proposed if s not in left]
    notes = ["dropped, not part of the work left: " + "; ".join(invented)] if invented else []
    if not after_failure and not keeps_order(kept, left[1:]):
        # The imagination check is advice: a revision it prompted may change how the vetoed
        # subgoal is reached, not drop what the person asked for after it.
        notes.append("the revision lost work the instruction asks for; acting on the plan "
                     "as it was")
        kept = left
    return kept or left, notes
