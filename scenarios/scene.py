"""The scene as the LLM sees it: named things, colours, positions, rooms and doorways."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from scenarios.layout import Layout
from scenarios.side_effects import broken
from scenarios.subgoals import AGENT, Plan, Subgoal
from scenarios.world import agent_pos, block_pos


class Thing(BaseModel):
    """Something in the scene with a name the instructions use."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: str  # agent | block | glass | pad | zone
    colour: str | None
    position: tuple[float, float]
    room: str | None = None


class RoomView(BaseModel):
    name: str
    bounds: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax


class DoorwayView(BaseModel):
    name: str
    rooms: tuple[str, str]
    position: tuple[float, float]


class SceneDescription(BaseModel):
    """Everything an LLM needs to turn an instruction into subgoals for this scene."""

    scenario: str
    seed: int
    table_half_size: float
    objects: list[Thing]  # the agent first, then blocks
    targets: list[Thing]  # pads and zones
    rooms: list[RoomView] = []
    doorways: list[DoorwayView] = []
    open_edges: list[str] = []  # table edges with no wall: a block pushed past one falls off
    broken: list[str] = []  # glasses already broken

    @classmethod
    def from_layout(cls, layout: Layout, state: np.ndarray | None = None) -> SceneDescription:
        """Describe `layout` with positions from `state` (default: the start positions)."""

        def where(p) -> tuple[tuple[float, float], str | None]:
            p = (round(float(p[0]), 2), round(float(p[1]), 2))
            return p, layout.room_of(p)

        pos, room = where(layout.agent_start if state is None else agent_pos(state))
        objects = [Thing(name=AGENT, kind="agent", colour=None, position=pos, room=room)]
        for i, b in enumerate(layout.blocks):
            pos, room = where(b.pos if state is None else block_pos(state, i))
            objects.append(Thing(name=b.name, kind="glass" if b.fragile else "block",
                                 colour=None if b.fragile else b.colour, position=pos,
                                 room=room))
        targets = [Thing(name=t.name, kind=t.kind, colour=t.colour, position=t.pos,
                         room=t.room) for t in layout.targets]
        return cls(
            scenario=layout.scenario, seed=layout.seed, table_half_size=layout.arena_half,
            objects=objects, targets=targets,
            rooms=[RoomView(name=r.name, bounds=r.bounds) for r in layout.rooms],
            doorways=[DoorwayView(name=d.name, rooms=d.rooms, position=d.pos)
                      for d in layout.doorways],
            open_edges=list(layout.open_edges),
            broken=[] if state is None else [layout.blocks[i].name for i in layout.fragile
                                             if broken(layout, state, i)],
        )

    @property
    def block_names(self) -> list[str]:
        """The blocks a plan may push (a glass is not one of them)."""
        return [o.name for o in self.objects if o.kind == "block"]

    @property
    def glass_names(self) -> list[str]:
        """The glasses: fragile, never pushed, but a plan may say to avoid them."""
        return [o.name for o in self.objects if o.kind == "glass"]

    @property
    def target_names(self) -> list[str]:
        return [t.name for t in self.targets]

    def to_text(self) -> str:
        """A compact, line-per-thing description for prompts."""

        def line(t: Thing) -> str:
            room = f" in the {t.room}" if t.room else ""
            return f"- {t.name} ({t.kind}) at ({t.position[0]:.2f}, {t.position[1]:.2f}){room}"

        lines = [f"Scene '{self.scenario}' (seed {self.seed}), table from "
                 f"-{self.table_half_size} to {self.table_half_size} m, north is +y."]
        lines += [line(o) for o in self.objects] + [line(t) for t in self.targets]
        lines += [f"- {d.name} joins the {d.rooms[0]} and the {d.rooms[1]}"
                  for d in self.doorways]
        lines += [f"- the {e} edge of the table is open: a block pushed past it falls off"
                  for e in self.open_edges]
        lines += [f"- the {g} is broken" if g in self.broken else
                  f"- the {g} is fragile: it breaks if the agent or a block strikes it"
                  for g in self.glass_names]
        return "\n".join(lines)

    def problems(self, plan: Plan) -> list[str]:
        """What is wrong with `plan` in this scene, as sentences; empty when it is valid."""
        out = []
        if not plan.subgoals:
            out.append("the plan has no subgoals")
        for i, s in enumerate(plan.subgoals, 1):
            out += [f"subgoal {i} ({s.text()}): {p}" for p in self.subgoal_problems(s)]
        return out

    def subgoal_problems(self, s: Subgoal) -> list[str]:
        out = []
        if s.target not in self.target_names:
            out.append(f"there is no {s.target!r} here; targets are "
                       f"{', '.join(self.target_names)}")
        if s.skill == "go" and s.object != AGENT:
            out.append(f"'go' moves the agent, so object must be 'agent', not {s.object!r}")
        if s.skill == "push":
            if not self.block_names:
                out.append("there are no blocks to push in this scene")
            elif s.object not in self.block_names:
                out.append(f"there is no {s.object!r} here; blocks are "
                           f"{', '.join(self.block_names)}")
            t = next((t for t in self.targets if t.name == s.target), None)
            if t is not None and t.kind != "zone":
                out.append(f"blocks are pushed into zones, and {s.target!r} is a {t.kind}")
        return out
