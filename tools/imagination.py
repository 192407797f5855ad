"""Imagining a subgoal with the world model: the prediction, and nothing moves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from scenarios.side_effects import SideEffect, consequential, foreseen, named_blocks, unnamed_blocks
from scenarios.subgoals import Subgoal
from scenarios.world import Layout, World
from tools.acting import avoid_penalty, edge_penalty, sum_penalties
from tools.models import ModelShelf
from tools.predicates import judge, shipped_heads
from worldmodel.heads import PredicateHeads
from worldmodel.imagine import imagine as wm_imagine
from worldmodel.planning import PlannerConfig


@dataclass(frozen=True)
class Imagination:
    """The world model's verdict on one subgoal from one state."""

    ok: bool
    """the subgoal's predicate holds on the predicted final state"""
    reason: str
    """why not, in words ("" when ok)"""
    predicted_state: list[float] | None
    """(S,) the predicted state after the subgoal; None when nothing was predicted"""
    steps: int = 0
    """control steps the imagined plan took"""
    effects: tuple[SideEffect, ...] = ()
    """side effects read off the imagined path (`scenarios.side_effects.foreseen`); a knock
    of the subgoal's own plan's blocks is sorted out by the plan (`imagine_plan`)"""
    path: tuple[tuple[float, ...], ...] = ()
    """the imagined states (S,) from the start, one every `every` control steps (what the
    episode video draws as ghost markers), positions in millimetres' precision"""
    every: int = 1
    """control steps between two states of `path`"""
    predicates: dict[str, float] | None = None
    """the latent predicate heads' probabilities (`tools.predicates.judge`) read from the
    start and the imagined final embedding: `holds`, `displaced`, `fell`, `broke`, `harm`;
    None where the family ships no heads"""


@dataclass
class WorldModelImaginer:
    """The world model as a verifier of the LLM's plan: plan and read out, no simulation."""

    models: ModelShelf
    max_steps: int = 250
    commit: int = 1
    """imagined chunks carried out per imagined decision (`worldmodel.imagine.imagine`). 1,
    as the executor: 3 keeps the side-effect verdicts and imagines twice as fast, but
    predicts a push MuJoCo completes to fail more often (clutter 17 of 50 against 10), so
    the critic would send more right plans back (BENCHMARKS.md, "Committing to imagined
    chunks")"""
    planner: PlannerConfig | None = None
    """the latent search's settings (samples, iterations, seed); None: the executor's
    defaults. Imagination is deterministic for a given seed, but its verdicts depend on it:
    measured with seeds 0, 1 and 2 (BENCHMARKS.md, "How much a result owes to the planner's
    seed")"""
    seed: int = 0
    """the search's random seed where `planner` is None (`AgentSettings.planner_seed`)"""
    _heads: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, models: ModelShelf, setting: str) -> WorldModelImaginer:
        """An imaginer from a benchmark's setting "COMMIT[:sSEED][:nSAMPLES][:iITERATIONS]"
        ("1" the default, "3:s1" commit 3 with planner seed 1, "1:n100" 100 samples)."""
        commit, *rest = str(setting).split(":")
        keys = {"s": "seed", "n": "samples", "i": "iterations"}
        try:
            kw = {keys[r[0]]: int(r[1:]) for r in rest}
            return cls(models, commit=int(commit), planner=PlannerConfig(**kw) if kw else None)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"imagination setting {setting!r} is invalid ({e}): write "
                             "COMMIT[:sSEED][:nSAMPLES][:iITERATIONS], e.g. 1, 3:s1 or "
                             "1:n100") from None

    @property
    def can_veto(self) -> bool:
        """Whether a predicted miss may send the plan back to the LLM. Not from pixels: their
        probe reads positions to 12-14 cm, coarser than a 10 cm pad, so a predicted miss is
        no evidence (measured: on pads-2 a false veto made the LLM reorder a right plan)."""
        return self.models.obs == "state"

    def _search(self) -> PlannerConfig | None:
        if self.planner is None and self.seed:
            return PlannerConfig(seed=self.seed)
        return self.planner

    def heads_for(self, family: str) -> PredicateHeads | None:
        if family not in self._heads:
            self._heads[family] = shipped_heads(family) if self.models.obs == "state" else None
        return self._heads[family]

    def imagine(self, world: World, state: np.ndarray, subgoal: Subgoal,
                avoid: tuple[str, ...] = ()) -> Imagination:
        """Predict, without moving `world`, what planning for `subgoal` from `state` gives,
        keeping clear of what `avoid` names as the executor would."""
        model = self.models.model_for(world.layout.scenario)
        state = np.asarray(state, float)
        # the same costs the executor of a foresighted agent plans with
        penalty = sum_penalties(avoid_penalty(world.layout, state, avoid) if avoid else None,
                                edge_penalty(world.layout))
        im = wm_imagine(model, state, subgoal, world, max_steps=self.max_steps, avoid=avoid,
                        penalty=penalty, commit=self.commit, config=self._search())
        ok = bool(im.reached)
        path = tuple(tuple(round(float(x), 3) for x in s) for s in im.states)
        heads = self.heads_for(world.layout.scenario)
        said = None
        if heads is not None and im.latents is not None:
            z = torch.from_numpy(im.latents)
            said = {k: round(v, 4) for k, v in judge(heads.probabilities(z[0], z[-1]),
                                                     world.layout, subgoal,
                                                     {subgoal.object}).items()}
        return Imagination(ok, "" if ok else im.describe(world, subgoal),
                           np.asarray(im.final_state).tolist(), int(len(im.actions)),
                           tuple(foreseen(world.layout, state, im.states, subgoal)), path,
                           model.config.chunk, said)


SURE_DEPTH = 0.05
"""metres the imagined path must run into a block's contact distance (which already carries
the probe's 3 cm, `side_effects.TOUCH_MARGIN`) before a predicted knock or break is sure
enough on its own to stop and ask the person; a shallower one asks only where the latent
heads read harm too (`HEADS_SURE`)"""

HEADS_SURE = 0.5
"""P(harm) from the latent predicate heads at which a shallow predicted contact is sure
enough to ask about: two readings of the same imagination agreeing. A graze the heads do not
support never stops a plan"""

GRAZE = 0.01
"""metres of a predicted contact below which the heads cannot make it sure: an imagined path
that stays 2 cm or more from touching (the contact distance carries the probe's 3 cm) is a
graze whatever the heads read. Seen: three questions about grazes of 0-8 mm, each with the
heads at 0.997-1.0, about pushes the careful rule then carried out without harm (foresight
suite episodes 42 and 60; in the chat, the agent starting against the block it had just
pushed, where the heads read harm 1.0 from the start embedding). Chosen after seeing them,
so not a held-out figure (BENCHMARKS.md)"""

ImagineFn = Callable[..., Imagination]
"""`(world, state, subgoal, avoid) -> Imagination`: an `Imaginer.imagine`"""


@dataclass(frozen=True)
class Foresight:
    """The plan imagined the way it stood and, where that was predicted to harm, the way
    chosen instead."""

    imagined: list[tuple[int, Imagination]]
    """(subgoal index, prediction) of the chosen way, up to its first predicted failure"""
    keep_clear: tuple[str, ...]
    """blocks the chosen way goes round (beyond what the person said to avoid)"""
    predicted: list[SideEffect]
    """side effects predicted for the plan as it stood"""
    chosen: list[SideEffect]
    """side effects predicted for the chosen way"""
    straight: list[tuple[int, Imagination]] = ()
    """the plan as it stood, imagined (the same as `imagined` when it was kept)"""

    @property
    def unsafe(self) -> list[SideEffect]:
        """The chosen way's predicted side effects that are sure (a fall, a path running
        SURE_DEPTH into a block, or a shallower one, beyond a GRAZE, that the latent heads
        read as harm too): even the better way would do them, so the agent asks the person
        before it acts."""
        backed = {(e.kind, e.thing) for _, im in self.imagined
                  if (im.predicates or {}).get("harm", 0.0) >= HEADS_SURE
                  for e in im.effects if e.depth >= GRAZE}
        return [e for e in self.chosen if e.kind == "fell" or e.depth >= SURE_DEPTH
                or (e.kind, e.thing) in backed]


ROUND_MISS = (22, 27)
"""Of 27 pushes the world model imagined *not* reached going round every block the push did
not name (clutter and fragile, scene seeds 200000-200024), 22 reached in MuJoCo, carried out
that way, within 500 steps; of 23 imagined reached, 13 did (BENCHMARKS.md, "A miss imagined
going round"). Over such a detour the imagined reach is no evidence, nor is the latent heads'
P(holds) on it (AUC 0.22 and 0.44): it does not send the plan back to the LLM, and a what-if
says so. Its side-effect reading still counts."""


def going_round(layout: Layout, plan: list[Subgoal], besides: tuple[str, ...] = ()
                ) -> tuple[str, ...]:
    """The blocks a foresighted agent keeps clear of from the start, beyond `besides` (what
    the person said to avoid, what it keeps clear of already): where side effects count
    (`scenarios.side_effects.consequential`), every block `plan` does not push; elsewhere
    none. Predicting which blocks a straight push would knock missed 1 in 8 (BENCHMARKS.md)
    and each miss was a knock, so the agent acts, and a what-if imagines, this way."""
    if not consequential(layout):
        return ()
    return tuple(n for n in unnamed_blocks(layout, plan) if n not in besides)


def imagine_plan(imagine: ImagineFn, world: World, plan: list[Subgoal], first: int,
                 avoid: tuple[str, ...], start: np.ndarray | None = None
                 ) -> tuple[list[tuple[int, Imagination]], list[SideEffect]]:
    """`plan` imagined from subgoal `first` on, from `start` (default: the world's state), up
    to the first predicted failure, keeping clear of `avoid`; and the side effects predicted
    on the way: falls, and knocks of blocks that no push of the plan names."""
    predicted = world.state() if start is None else np.asarray(start, float)
    named = named_blocks(plan)
    out, effects = [], {}
    for i in range(first, len(plan)):
        im = imagine(world, predicted, plan[i], avoid)
        out.append((i, im))
        for e in im.effects:
            if e.kind != "displaced" or e.thing not in named:
                effects.setdefault((e.kind, e.thing), e)
        if im.predicted_state is not None:
            predicted = np.asarray(im.predicted_state)
        if not im.ok:
            break
    return out, list(effects.values())


def foresee(imagine: ImagineFn, world: World, plan: list[Subgoal], first: int = 0,
            avoid: tuple[str, ...] = (), keep_clear: tuple[str, ...] = ()) -> Foresight:
    """The world model as the plan's critic: imagine the plan as it stands and, when that
    predicts blocks knocked, the same plan keeping clear of them too (detours and the avoid
    cost); choose the way with fewer predicted side effects, then more subgoals predicted
    reached (ties keep the plan as it stood). Predicted knocks weigh by how deep the imagined
    path runs into the block: a way that only grazes what the plan as it stood ran through is
    the better one, though both are called harmful."""
    imagined, effects = imagine_plan(imagine, world, plan, first, avoid + keep_clear)
    extra = tuple(dict.fromkeys(e.thing for e in effects if e.kind in ("displaced", "broke")
                                and e.thing not in avoid + keep_clear))
    if not extra:
        return Foresight(imagined, keep_clear, effects, effects, imagined)
    alt, alt_effects = imagine_plan(imagine, world, plan, first, avoid + keep_clear + extra)

    def cost(way: list[tuple[int, Imagination]], effects: list[SideEffect]
             ) -> tuple[float, int]:
        return harm(effects), sum(not im.ok for _, im in way)

    if cost(alt, alt_effects) < cost(imagined, effects):
        return Foresight(alt, keep_clear + extra, effects, alt_effects, imagined)
    return Foresight(imagined, keep_clear, effects, effects, imagined)


def harm(effects: list[SideEffect]) -> float:
    """How bad predicted side effects are: a fall or a break counts 1, a knock the depth (m)
    the imagined path runs into the block."""
    return sum(e.kind in ("fell", "broke") for e in effects) + sum(e.depth for e in effects)


def choose(imagine: ImagineFn, world: World, plans: list[list[Subgoal]], first: int = 0,
           avoid: tuple[str, ...] = (), keep_clear: tuple[str, ...] = ()
           ) -> tuple[int, Foresight, list[Foresight]]:
    """The world model as the critic of candidate plans (`agent.understand.candidates`):
    foresee each, and choose the one with the fewest sure harms (`Foresight.unsafe`), then the
    least predicted harm, then no predicted failure, then the fewest imagined control steps.
    Ties keep the earlier plan: the LLM's own comes first. Returns (the index chosen, its
    foresight, every candidate's foresight)."""
    if not plans:
        raise ValueError("choose needs at least one plan")
    memo: dict = {}

    def remembered(world: World, state: np.ndarray, subgoal: Subgoal,
                   avoid: tuple[str, ...] = ()) -> Imagination:
        """Candidates in other orders share imaginations (the same subgoal from the same
        state, keeping clear of the same things): imagining is deterministic, so each is
        made once."""
        key = (np.asarray(state, float).tobytes(), repr(subgoal), tuple(avoid))
        if key not in memo:
            memo[key] = imagine(world, state, subgoal, avoid)
        return memo[key]

    seen = [foresee(remembered, world, plan, first, avoid, keep_clear) for plan in plans]

    def score(f: Foresight) -> tuple:
        return (len(f.unsafe), round(harm(f.chosen), 3), any(not im.ok for _, im in f.imagined),
                sum(im.steps for _, im in f.imagined))

    best = min(range(len(plans)), key=lambda i: (score(seen[i]), i))
    return best, seen[best], seen
