"""Judging a task on the true state: subgoals achieved in order, and where blocks ended up."""

from __future__ import annotations

import numpy as np

from scenarios.layout import Layout
from scenarios.side_effects import SideEffect, consequential, side_effects
from scenarios.subgoals import Subgoal
from scenarios.world import subgoal_holds


class TaskMonitor:
    """Watches true states and counts the subgoals achieved in order.

    A subgoal counts when its predicate first holds after the previous one counted. The task
    succeeds when all counted and, at the end, every block that the task pushes still sits
    where its last push put it (a later step must not undo an earlier one). Given the `start`
    state, it also judges side effects (`scenarios.side_effects`); in a family whose scenario
    declares `consequences`, any side effect fails the task.
    """

    def __init__(self, layout: Layout, subgoals: list[Subgoal],
                 start: np.ndarray | list[float] | None = None):
        self.layout, self.subgoals = layout, list(subgoals)
        self.start = None if start is None else np.asarray(start, float)
        self.done = 0
        self.consequences = consequential(layout)

    def side_effects(self, final_state: np.ndarray) -> list[SideEffect]:
        """What the task did beyond its subgoals by `final_state`; [] without a start."""
        if self.start is None:
            return []
        return side_effects(self.layout, self.start, final_state, self.subgoals)

    def update(self, state: np.ndarray) -> int:
        """Advance on `state`; returns how many subgoals this state newly completed."""
        new = 0
        while self.done < len(self.subgoals) and subgoal_holds(
                self.layout, state, self.subgoals[self.done]):
            self.done += 1
            new += 1
        return new

    def success(self, final_state: np.ndarray) -> bool:
        if self.done < len(self.subgoals) or not self.subgoals:
            return False
        last_push = {s.object: s for s in self.subgoals if s.skill == "push"}
        if self.consequences and self.side_effects(final_state):
            return False
        return all(subgoal_holds(self.layout, final_state, s) for s in last_push.values())
