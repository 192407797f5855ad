"""Where a subgoal's relation puts its object: the predicate on a position, and a goal point.

Targets are discs (centre c, radius r), positions are centres, and the table is seen from above:
left is west (-x), up is north (+y). For a position p, with d = |p - c|:

- `in`: d <= r (the target holds the object's centre).
- `near`: r < d <= r + NEAR (outside the target, within 15 cm of its edge).
- `left_of`: c.x - r - SIDE <= p.x < c.x - r and |p.y - c.y| <= r: west of the target's west
  edge by at most 25 cm, within its north-south band. `right_of`, `north_of` and `south_of`
  are the same towards east, north and south.

The goal point of a relation is where the planner aims: the centre for `in`; GOAL_GAP beyond
the edge for the others (for `near`, on the side the object comes from, or the nearest side
with room). A relation whose goal point has no room (past the table's edge or in a wall) is
not feasible there; `feasible` says so, and the agent says it cannot.
"""

from __future__ import annotations

import numpy as np

from scenarios.layout import AGENT_RADIUS, BLOCK_RADIUS, Layout

NEAR = 0.15
"""metres beyond a target's edge that still count as near it"""
SIDE = 0.25
"""metres beyond a target's edge that a side relation (left_of, ...) may reach"""
GOAL_GAP = 0.08
"""metres beyond the edge where the planner aims for `near` and the side relations"""
CLEARANCE = 0.02
"""metres kept between an object's edge and a wall at a goal point"""
_SIDES = {"left_of": (0, -1.0), "right_of": (0, 1.0), "north_of": (1, 1.0),
          "south_of": (1, -1.0)}


def holds_at(relation: str, pos: np.ndarray, centre: np.ndarray, radius: float) -> bool:
    """Whether an object whose centre is at `pos` stands in `relation` to a target."""
    pos, centre = np.asarray(pos, float), np.asarray(centre, float)
    d = float(np.linalg.norm(pos - centre))
    if relation == "in":
        return d <= radius
    if relation == "near":
        return radius < d <= radius + NEAR
    axis, sign = _SIDES[relation]
    beyond = sign * (pos[axis] - centre[axis]) - radius
    across = abs(pos[1 - axis] - centre[1 - axis])
    return 0.0 < beyond <= SIDE and across <= radius


def free(layout: Layout, point: np.ndarray, size: float) -> bool:
    """Whether a disc of radius `size` at `point` is on the table and clear of every wall."""
    p = np.asarray(point, float)
    if np.any(np.abs(p) > layout.arena_half - size - CLEARANCE):
        return False
    for w in layout.walls:
        if all(abs(p[k] - w.pos[k]) < w.half[k] + size + CLEARANCE for k in (0, 1)):
            return False
    return True


def goal_point(layout: Layout, relation: str, target_name: str, mover: str,
               now: np.ndarray) -> np.ndarray | None:
    """Where to put the mover's centre (now at `now`) so that `relation` holds, or None when
    there is no room for it there. `mover` is 'agent' or a block name."""
    t = layout.target(target_name)
    c = np.asarray(t.pos, float)
    size = AGENT_RADIUS if mover == "agent" else BLOCK_RADIUS
    if relation == "in":
        return c
    if relation in _SIDES:
        axis, sign = _SIDES[relation]
        p = c.copy()
        p[axis] += sign * (t.radius + GOAL_GAP)
        return p if free(layout, p, size) else None
    away = np.asarray(now, float) - c
    start = np.arctan2(away[1], away[0]) if np.linalg.norm(away) > 1e-6 else 0.0
    for turn in np.radians([0, 30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180]):
        a = start + turn
        p = c + (t.radius + GOAL_GAP) * np.array([np.cos(a), np.sin(a)])
        if free(layout, p, size):
            return p
    return None


def feasible(layout: Layout, relation: str, target_name: str, mover: str) -> bool:
    """Whether `relation` to the target has room for the mover anywhere it could be put."""
    if relation == "near":
        return goal_point(layout, relation, target_name, mover,
                          np.asarray(layout.target(target_name).pos) + 1.0) is not None
    return goal_point(layout, relation, target_name, mover, np.zeros(2)) is not None


AVOID_MOVE = 0.02
"""metres an avoided block may move during a plan before it counts as disturbed"""


def disturbed(layout: Layout, start: np.ndarray, states: np.ndarray,
              avoid: list[str]) -> list[str]:
    """The names of `avoid` that `states` (T, S), reached from the true state `start` (S,),
    disturbed: a block that moved more than AVOID_MOVE from where it was at `start`, or a pad
    or zone whose disc held the agent's centre at some state."""
    states = np.atleast_2d(np.asarray(states, float))
    out = []
    for name in avoid:
        if any(b.name == name for b in layout.blocks):
            i = 4 + 4 * layout.block_index(name)
            moved = np.linalg.norm(states[:, i:i + 2] - np.asarray(start)[i:i + 2], axis=-1)
            if moved.size and float(moved.max()) > AVOID_MOVE:
                out.append(name)
        else:
            t = layout.target(name)
            d = np.linalg.norm(states[:, 0:2] - np.asarray(t.pos, float), axis=-1)
            if d.size and float(d.min()) <= t.radius:
                out.append(name)
    return out


PUSH_TURN = 0.10
"""metres added to a pushed block's keep-clear circles, so that where its detour turns toward
the goal the agent has room to get behind it again without brushing what it goes round.
Measured with the shipped latent CEM planner on `benchmarks/bench_foresight.py`'s 50 clutter
pushes round the blocker (budget 500): 0 gave 15 successes, 0.10 gives 32; the simulator
planner reached 10 of 10 with either. On `bench_relations.py`'s avoid pushes (budget 300)
it made no clear difference (avoided block held 44 vs 47 of 50, reached 20 vs 22)."""
DETOUR_GAP = 0.05
"""metres between a detour point and an avoided thing's keep-clear circle"""
KEEP_CLEAR = 0.035
"""metres kept between a mover's edge and an avoided block's edge (or a place's rim): the
detour's keep-clear circles and the planner's avoid cost (`tools.acting.avoid_penalty`) use
the same figure, so that a detour path is never penalised. Measured on the 86 episodes of
`bench_relations` where the straight path disturbs the block: 0.02 held 77 and reached 66,
0.035 held 83 and reached 62, 0.05 held 83 and reached 52."""


def obstacles(layout: Layout, state: np.ndarray, avoid: list[str] | tuple[str, ...],
              size: float) -> list[tuple[np.ndarray, float]]:
    """(centre, keep-clear radius) of each avoided thing, for a mover of radius `size`: a
    block where it is in `state`, a pad or zone where it lies."""
    out = []
    for name in avoid:
        if any(b.name == name for b in layout.blocks):
            i = 4 + 4 * layout.block_index(name)
            out.append((np.asarray(state[i:i + 2], float), size + BLOCK_RADIUS + KEEP_CLEAR))
        else:
            t = layout.target(name)
            out.append((np.asarray(t.pos, float), t.radius + KEEP_CLEAR))
    return out


def segment_distance(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> float:
    """Metres from point `p` to the nearest point of the segment a -> b."""
    d = b - a
    t = float(np.clip((p - a) @ d / max(float(d @ d), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(a + t * d - p))


INSIDE_SLACK = 0.03
"""metres a path starting inside a keep-clear circle may come nearer its centre before it
counts as crossing it (about the probe's error, as `tools.acting.CLOSE_SLACK`)"""


def _blocking(a: np.ndarray, b: np.ndarray, centre: np.ndarray, radius: float) -> bool:
    """Whether the segment a -> b passes within `radius` of `centre` and going beside it can
    help: never when b is inside; when a is inside, only where the path comes more than
    INSIDE_SLACK nearer still (the thing lies ahead, not beside). A push that had drifted
    against the glass on the way round was left aiming straight through it, and stalled
    (fragile, watched: the avoid cost forbade the push, and nothing else was asked for)."""
    here = float(np.linalg.norm(a - centre))
    if np.linalg.norm(b - centre) <= radius:
        return False  # ending inside: no detour can help
    near = segment_distance(a, b, centre)
    if here <= radius:
        return near < here - INSIDE_SLACK
    return near < radius


def detour(layout: Layout, start: np.ndarray, route: list[np.ndarray],
           keep_clear: list[tuple[np.ndarray, float]], size: float) -> list[np.ndarray]:
    """`route` (points to pass from `start`, the last one the goal) with a point added beside
    each keep-clear circle that a leg would cross: on the side of the leg's nearest approach,
    or the other side when that one has no room on the table. At most three are added."""
    route = [np.asarray(p, float) for p in route]
    for _ in range(3):
        a, out, added = np.asarray(start, float), [], False
        for p in route:
            hit = None if added else next(
                ((c, r) for c, r in keep_clear if _blocking(a, p, c, r)), None)
            if hit is not None:
                c, r = hit
                d = (p - a) / max(float(np.linalg.norm(p - a)), 1e-9)
                n = np.array([-d[1], d[0]])
                side = 1.0 if (a - c) @ n >= 0 else -1.0
                for s in (side, -side):
                    w = c + s * n * (r + DETOUR_GAP)
                    if free(layout, w, size):
                        out.append(w)
                        added = True
                        break
            out.append(p)
            a = p
        route = out
        if not added:
            break
    return route


ESCAPE = 0.2
"""metres of the short push that first takes a block out of the way of what to avoid"""


def escape(layout: Layout, block: np.ndarray, target: np.ndarray, behind: float,
           keep_clear: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Where to push a block at `block` first, when the point `behind` metres behind it on
    its line to `target` (where the agent must stand to push) lies in a keep-clear circle:
    ESCAPE metres along the line turned least (up to 150 degrees either way) whose behind point
    is clear, or `target` itself when nothing is in the way or no turn helps.

    A detour can leave the block beside what it went round, with the blocker exactly where
    the agent would have to stand for the next leg; measured on clutter, the latent planner
    then hovered there until its budget ran out."""
    block, target = np.asarray(block, float), np.asarray(target, float)

    def clear(u: np.ndarray) -> bool:
        spot = block - behind * u
        return all(np.linalg.norm(spot - c) >= r for c, r in keep_clear)

    d = target - block
    u = d / max(float(np.linalg.norm(d)), 1e-9)
    if clear(u):
        return target
    for turn in np.radians([20, -20, 40, -40, 60, -60, 80, -80, 100, -100, 120, -120, 150,
                            -150]):
        c, s = np.cos(turn), np.sin(turn)
        v = np.array([c * u[0] - s * u[1], s * u[0] + c * u[1]])
        aim = block + ESCAPE * v
        if clear(v) and free(layout, aim, BLOCK_RADIUS):
            return aim
    return target
