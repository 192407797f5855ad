"""Imagination: what the world model predicts a subgoal (or an action sequence) will do,
without simulating anything. The agent uses it to check an LLM plan before acting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from scenarios.subgoals import Subgoal
from scenarios.world import World, agent_pos, block_pos
from worldmodel.model import WorldModel
from worldmodel.mpc import GoalSchedule
from worldmodel.planning import Penalty, PlannerConfig, make_planner


@dataclass
class Imagined:
    """The model's prediction: where things end up, and the actions that get them there."""

    actions: np.ndarray  # (T, 2) control actions (T a multiple of the chunk k)
    states: np.ndarray  # (n+1, S) imagined states after each chunk: probe readout + constants
    final_state: np.ndarray  # (S,) the last of them
    reached: bool | None  # the predicate on the imagined final state; None for given actions
    latents: np.ndarray | None = None  # (n+1, D) the embeddings the states were read from

    def describe(self, world: World, subgoal: Subgoal | None = None) -> str:
        """One sentence for a person or an LLM. Given the `subgoal`, only the things it moves
        are placed: the readout of a block nothing touches drifts over a long imagination
        (tens of centimetres, BENCHMARKS.md), and saying where it "will be" would mislead."""
        s = self.final_state
        a = agent_pos(s)
        parts = [f"agent at ({a[0]:+.2f}, {a[1]:+.2f})"]
        for i, b in enumerate(world.layout.blocks):
            if subgoal is not None and b.name != subgoal.object:
                continue
            p = block_pos(s, i)
            parts.append(f"{b.name} at ({p[0]:+.2f}, {p[1]:+.2f})")
        verdict = "" if self.reached is None else (
            " (subgoal reached)" if self.reached else " (subgoal NOT reached)")
        return f"after {len(self.actions)} steps the model predicts " + ", ".join(parts) + verdict


def _open_loop(model: WorldModel, z: torch.Tensor, actions: np.ndarray, state: np.ndarray,
               readout) -> Imagined:
    """Roll `actions` (T, 2) out from the embedding `z` open-loop (T padded with zeros to a
    multiple of the chunk)."""
    k = model.config.chunk
    a = np.asarray(actions, np.float32).reshape(-1, 2)
    pad = (-len(a)) % k
    chunks = torch.from_numpy(np.concatenate([a, np.zeros((pad, 2), np.float32)]))
    zs = model.rollout(z[None], chunks.view(1, -1, k, 2))[0]  # (n, D)
    imagined = [state] + [readout(zi) for zi in zs]
    return Imagined(a, np.asarray(imagined), imagined[-1], None,
                    torch.cat([z[None], zs]).numpy())


@torch.no_grad()
def imagine(model: WorldModel, state: np.ndarray, subgoal_or_actions: Subgoal | np.ndarray,
            world: World, max_steps: int = 300,
            config: PlannerConfig | None = None, avoid: tuple[str, ...] = (),
            penalty: Penalty | None = None, commit: int = 1) -> Imagined:
    """Predict the outcome from the true `state` (S,) of executing `subgoal_or_actions`.

    With a `Subgoal`, the latent planner plans chunk by chunk inside the model: each chunk's
    predicted embedding is read out by the probe into an imagined state, from which the next
    goal state is built (`world` only builds goal states and judges predicates; nothing is
    stepped). With actions (T, 2), they are rolled out open-loop (T is padded with zeros to a
    multiple of the chunk). `avoid` and `penalty` plan round what must be left alone, as the
    executor does (`worldmodel.mpc.run_subgoal`): detour goal states, and a cost on the
    predicted states.

    `commit` chunks of each imagined decision are carried out before the next (the executor
    commits to one): inside the model there is no model error for replanning to correct, so
    committing to more costs little fidelity and divides the searches by up to `commit`
    (BENCHMARKS.md). A decision is cut short where the subgoal holds or the schedule's goal
    changes (behind the block -> pushing it).
    """
    k, n = model.config.chunk, model.config.n_dynamic
    state = np.asarray(state, float)
    # the planner renders frames for a pixel model (and, stacking frames, starts from the
    # frame alone: imagination starts from one observation, as if at rest)
    planner = make_planner("cem", model, world=world, config=config or PlannerConfig())
    planner.penalty = penalty

    def readout(z: torch.Tensor) -> np.ndarray:
        s = state.copy()
        s[:n] = model.probe(z[None])[0].numpy()
        return s

    z = planner.encode_state(state)  # (D,)
    imagined = [state]
    if not isinstance(subgoal_or_actions, Subgoal):
        return _open_loop(model, z, subgoal_or_actions, state, readout)
    subgoal = subgoal_or_actions
    schedule = GoalSchedule(world, subgoal, avoid)
    actions: list[np.ndarray] = []
    latents = [z]
    while not world.holds(subgoal, imagined[-1]) and len(actions) * k < max_steps:
        goals, gi = schedule(imagined[-1])
        d = planner.plan_latent(z, planner.goal_embeddings(goals[gi]))
        before = len(actions)
        for a in d.actions[:max(1, commit)]:
            z = model.predict(z[None], torch.from_numpy(a).float()[None])[0]
            latents.append(z)
            actions.append(a)
            imagined.append(readout(z))
            if (world.holds(subgoal, imagined[-1]) or len(actions) * k >= max_steps
                    or schedule(imagined[-1])[1] != gi):
                break
        planner.shift(len(actions) - before)
    acts = np.concatenate(actions) if actions else np.zeros((0, 2))
    return Imagined(acts, np.asarray(imagined), imagined[-1],
                    world.holds(subgoal, imagined[-1]), torch.stack(latents).numpy())
