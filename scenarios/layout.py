"""The geometry of one scene: what is where, before any physics is compiled.

A `Layout` is plain frozen data drawn from a seed by a scenario factory. `World` compiles it
into MuJoCo; `SceneDescription` turns it into what the LLM reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Colours every family draws from: name -> RGBA. Names are what instructions use.
PALETTE: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.15, 0.15, 1.0),
    "green": (0.15, 0.70, 0.20, 1.0),
    "blue": (0.15, 0.30, 0.90, 1.0),
    "yellow": (0.95, 0.85, 0.10, 1.0),
    "purple": (0.55, 0.20, 0.75, 1.0),
    "orange": (0.98, 0.55, 0.10, 1.0),
}
HOME_RGBA = (0.92, 0.92, 0.92, 1.0)

AGENT_RADIUS = 0.05
BLOCK_RADIUS = 0.06
PAD_RADIUS = 0.10
ZONE_RADIUS = 0.15
WALL_HALF_THICKNESS = 0.02
DOORWAY_WIDTH = 0.32


@dataclass(frozen=True)
class Block:
    """A movable block (a low disc seen from above), pushed by the agent; or, `fragile`, a
    glass: a light, taller cylinder that breaks when struck (`scenarios.world.BREAK_FORCE`)
    and that no task pushes."""

    name: str
    colour: str  # a PALETTE name; "glass" for a fragile one
    pos: tuple[float, float]
    fragile: bool = False


@dataclass(frozen=True)
class Target:
    """A flat, non-colliding place on the table: a `pad` to go to or a `zone` to push into."""

    name: str
    kind: str  # "pad" | "zone"
    colour: str  # a PALETTE name, or "home"
    pos: tuple[float, float]
    radius: float
    room: str | None = None


@dataclass(frozen=True)
class Wall:
    """A static box wall segment: centre and half extents in x and y."""

    pos: tuple[float, float]
    half: tuple[float, float]


@dataclass(frozen=True)
class Room:
    """An axis-aligned room: its name and bounds (xmin, xmax, ymin, ymax)."""

    name: str
    bounds: tuple[float, float, float, float]

    def contains(self, p: np.ndarray | tuple[float, float]) -> bool:
        x0, x1, y0, y1 = self.bounds
        return x0 <= p[0] <= x1 and y0 <= p[1] <= y1


@dataclass(frozen=True)
class Doorway:
    """A gap in an inner wall joining two rooms; `axis` is the direction one crosses it in."""

    name: str
    rooms: tuple[str, str]
    pos: tuple[float, float]
    axis: int  # 0: crossed along x, 1: crossed along y
    width: float = DOORWAY_WIDTH


@dataclass(frozen=True)
class Layout:
    """Everything a scenario factory decided for one seed."""

    scenario: str
    seed: int
    arena_half: float
    agent_start: tuple[float, float]
    blocks: tuple[Block, ...] = ()
    targets: tuple[Target, ...] = ()
    walls: tuple[Wall, ...] = ()
    rooms: tuple[Room, ...] = ()
    doorways: tuple[Doorway, ...] = ()
    open_edges: tuple[str, ...] = ()
    """table edges with no wall ("north", "south", "east", "west"): a block pushed past one
    falls off the table (`scenarios.side_effects.fell`); the agent is kept on by a rail"""
    extra: dict = field(default_factory=dict, compare=False)

    def target(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.targets)
        raise ValueError(f"no target {name!r} in this {self.scenario} scene; targets: {known}")

    @property
    def fragile(self) -> tuple[int, ...]:
        """Indices of the fragile blocks (glasses), in the order of their state flags."""
        return tuple(i for i, b in enumerate(self.blocks) if b.fragile)

    @property
    def pushable(self) -> tuple[Block, ...]:
        """The blocks a task may push: all but the fragile ones."""
        return tuple(b for b in self.blocks if not b.fragile)

    def block_index(self, name: str) -> int:
        for i, b in enumerate(self.blocks):
            if b.name == name:
                return i
        known = ", ".join(b.name for b in self.blocks) or "none"
        raise ValueError(f"no block {name!r} in this {self.scenario} scene; blocks: {known}")

    def room_of(self, p: np.ndarray | tuple[float, float]) -> str | None:
        for r in self.rooms:
            if r.contains(p):
                return r.name
        return None


EDGES = ("north", "south", "east", "west")
"""the table's four edges, in the order `outer_walls` builds their walls"""


def outer_walls(half: float, open_edges: tuple[str, ...] = ()) -> tuple[Wall, ...]:
    """The walls just outside the square table [-half, half]^2, one per edge (north, south,
    east, west), leaving out the edges in `open_edges`."""
    unknown = set(open_edges) - set(EDGES)
    if unknown:
        raise ValueError(f"unknown edges {sorted(unknown)}; edges are {', '.join(EDGES)}")
    t = WALL_HALF_THICKNESS
    span = half + 2 * t
    walls = {
        "north": Wall((0.0, half + t), (span, t)),
        "south": Wall((0.0, -half - t), (span, t)),
        "east": Wall((half + t, 0.0), (t, span)),
        "west": Wall((-half - t, 0.0), (t, span)),
    }
    return tuple(walls[e] for e in EDGES if e not in open_edges)


def sample_points(
    rng: np.random.Generator,
    n: int,
    lo: tuple[float, float],
    hi: tuple[float, float],
    min_dist: float,
    avoid: list[np.ndarray] | None = None,
    avoid_dist: float = 0.0,
    tries: int = 2000,
) -> list[np.ndarray]:
    """Draw `n` points uniformly in the box [lo, hi], pairwise at least `min_dist` apart and at
    least `avoid_dist` from every point of `avoid`."""
    avoid = list(avoid or [])
    out: list[np.ndarray] = []
    for _ in range(tries):
        if len(out) == n:
            return out
        p = rng.uniform(lo, hi)
        if all(np.linalg.norm(p - q) >= min_dist for q in out) and all(
            np.linalg.norm(p - q) >= avoid_dist for q in avoid
        ):
            out.append(p)
    raise RuntimeError(f"could not place {n} points at {min_dist} apart in {lo}..{hi}")


def rounded(p: np.ndarray) -> tuple[float, float]:
    """A position as a hashable, printable pair (millimetre precision)."""
    return (round(float(p[0]), 3), round(float(p[1]), 3))
