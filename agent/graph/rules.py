"""Plan-editing rules: pure functions of plans, no world, no LLM.

- After a subgoal is achieved, a push that a later subgoal knocked out is done again, next.
- A revision re-plans the work that is left; it may not add work nobody asked for.
- A revision may not change what the work left means: it may reorder pushes of different
  blocks, not drop later work nor reorder one block's pushes.
"""

from __future__ import annotations

from scenarios.subgoals import Subgoal, means_the_same


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
    What is kept must still do what `left` asks (`means_the_same`), perhaps without the
    subgoal that failed or was vetoed: a revision may swap pushes of different blocks, not
    drop later work nor swap two pushes of one block (measured: after a veto the LLM put
    "push the purple block into the red zone" before "... into the yellow zone", and the
    block ended in the wrong zone).
    """
    kept = [s for s in proposed if s in left]
    invented = [s.text() for s in proposed if s not in left]
    notes = ["dropped, not part of the work left: " + "; ".join(invented)] if invented else []
    if kept and not (means_the_same(kept, left) or means_the_same(kept, left[1:])):
        notes.append("the revision changed what the instruction asks for; acting on the plan "
                     "as it was")
        kept = left
    return kept or left, notes
