"""A compiled scene: MJCF built from a `Layout`, the state vector, predicates and goal states.

The state vector (see `StateSpec`) holds, in order:
  agent position (x, y) and velocity (vx, vy);
  for each block: position (x, y) and velocity (vx, vy);
  for each target (pads, zones): its centre (x, y);
  for each doorway: its centre (x, y);
  for each glass (a fragile block): 1 once it broke, else 0.
Everything in it could be seen from a top-down camera; targets and doorways are constant within
an episode, and a glass's flag only ever goes from 0 to 1. Units: metres and metres per
second; the table is centred on the origin.

A table with open edges (`Layout.open_edges`) is the one scene with height: gravity pulls, the
blocks slide along z too, and a block pushed past an open edge drops to a floor below and stays
there (the agent, held on by a rail along the edge, cannot reach it). The state vector is the
same: a block's z follows from its x, y (`side_effects.fell`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

os.environ.setdefault("MUJOCO_GL", "egl")  # must be set before mujoco is imported

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

from scenarios import compose  # noqa: E402
from scenarios.layout import (  # noqa: E402
    AGENT_RADIUS,
    BLOCK_RADIUS,
    HOME_RGBA,
    PALETTE,
    Layout,
)
from scenarios.registry import get  # noqa: E402
from scenarios.relations import (  # noqa: E402
    PUSH_TURN,
    detour,
    escape,
    goal_point,
    holds_at,
    obstacles,
)
from scenarios.side_effects import EDGE_AXES, past_edge  # noqa: E402
from scenarios.subgoals import AGENT, Subgoal  # noqa: E402

TIMESTEP = 0.01
FRAME_SKIP = 10  # control at 10 Hz
AGENT_GEAR = 4.0  # newtons at |action| = 1
AGENT_DAMPING = 4.0
AGENT_MASS = 1.0
BLOCK_MASS = 0.5
BLOCK_DAMPING = 3.0
BLOCK_HALF_HEIGHT = 0.04
BLOCK_RIM = 1.6
"""radius of the pale ring drawn round a block that shares its colour with a zone (sort), in
block radii"""
# A pushing subgoal's first goal state puts the agent this far behind the block's centre.
BEHIND = AGENT_RADIUS + BLOCK_RADIUS + 0.04
# Scenes with open edges (`Layout.open_edges`) only:
GRAVITY = 9.81
FLOOR_DROP = 0.2
"""metres from the table top down to the floor that catches fallen blocks: well below the
agent and the blocks on the table, and shallow enough that the top camera still sees a fallen
block beside the table"""
LEDGE_VIEW = 0.35
"""metres of floor beyond the table's edge in the top camera's view, where fallen blocks lie
(a walled table shows 5 cm)"""
RAIL_GAP = 0.02
"""metres between an open edge and its rail: the agent's centre stops 3 cm inside the edge,
so that it can push a block's centre past the edge by more than the block's radius"""
RAIL_HALF = 0.015
"""half the width of a rail (m)"""
# Contact bits: MuJoCo lets two geoms touch when the contype of one shares a bit with the
# conaffinity of the other. Walls, blocks and the agent are SOLID; the table and floor touch
# only blocks (the agent has no z joint: it glides above them); rails touch only the agent.
SOLID_BIT, RAIL_BIT, TABLE_BIT = 1, 2, 4
# Glasses (`Block.fragile`, the `fragile` family):
GLASS_MASS = 0.15
GLASS_HALF_HEIGHT = 0.07
GLASS_RGBA = (0.72, 0.9, 0.98, 0.75)
BROKEN_RGBA = (0.45, 0.45, 0.5, 1.0)
BREAK_FORCE = 4.0
"""newtons of normal contact force at which a glass breaks, checked at every physics step.
Measured on fragile/0 (peak force against speed at first contact): the agent striking it at
0.2 / 0.4 / 0.9 m/s gives 2.1 / 4.8 / 12.7 N, a block striking it 1.8 / 3.8 / 10.6 N, and a
glass shoved into a wall at 0.8 m/s 50 N; the agent leaning on it and pushing it along from
rest stays under 1.5 N. So a strike faster than about 0.35 m/s (the agent cruises at 0.8),
or a shove into a wall, breaks it; a gentle touch does not"""


@dataclass(frozen=True)
class StateField:
    name: str
    start: int
    stop: int
    description: str


@dataclass(frozen=True)
class StateSpec:
    """Named slices of the state vector for one layout."""

    fields: tuple[StateField, ...]

    @property
    def dim(self) -> int:
        return self.fields[-1].stop

    @property
    def n_dynamic(self) -> int:
        """Length of the leading part that moves within an episode (agent and blocks)."""
        return max(f.stop for f in self.fields if f.name.endswith((".pos", ".vel")))

    def __getitem__(self, name: str) -> slice:
        for f in self.fields:
            if f.name == name:
                return slice(f.start, f.stop)
        raise KeyError(f"no state field {name!r}; fields: {[f.name for f in self.fields]}")

    @classmethod
    def for_layout(cls, layout: Layout) -> StateSpec:
        fields, i = [], 0

        def add(name: str, n: int, description: str) -> None:
            nonlocal i
            fields.append(StateField(name, i, i + n, description))
            i += n

        add("agent.pos", 2, "agent position x, y (m)")
        add("agent.vel", 2, "agent velocity vx, vy (m/s)")
        for b in layout.blocks:
            add(f"{b.name}.pos", 2, f"{b.name} position x, y (m)")
            add(f"{b.name}.vel", 2, f"{b.name} velocity vx, vy (m/s)")
        for t in layout.targets:
            add(f"{t.name}.centre", 2, f"{t.name} centre x, y (m), constant")
        for d in layout.doorways:
            add(f"{d.name}.centre", 2, f"{d.name} centre x, y (m), constant")
        for j in layout.fragile:
            add(f"{layout.blocks[j].name}.broken", 1, "1 once it broke (it stays broken), else 0")
        return cls(tuple(fields))


def _rgba(colour: str, alpha: float = 1.0) -> str:
    if colour == "glass":
        return " ".join(str(c) for c in GLASS_RGBA)
    r, g, b, _ = HOME_RGBA if colour == "home" else PALETTE[colour]
    return f"{r} {g} {b} {alpha}"


def _camera(layout: Layout) -> tuple[float, float]:
    """(a, height): the top camera (fovy 45) hangs `height` above the table, so that it sees
    the square [-a, a]^2 of the table plane and 10 cm more around it."""
    a = layout.arena_half + (LEDGE_VIEW if layout.open_edges else 0.05)
    return a, a / np.tan(np.radians(22.5)) + 0.1


def view_half(layout: Layout) -> float:
    """Half the side (m) of the square of the table plane that a top frame shows: a point
    (x, y) is at column (x / h + 1) / 2 and row (1 - y / h) / 2 of the frame's size."""
    return float(_camera(layout)[1] * np.tan(np.radians(22.5)))


def build_mjcf(layout: Layout) -> str:
    """The MJCF text of a layout: a frictionless planar table seen from above. A layout with
    open edges gets gravity, a table one can fall off and a floor below (`_table`)."""
    ledge = bool(layout.open_edges)
    a, cam_h = _camera(layout)
    geoms = []
    for t in layout.targets:
        alpha = 0.55 if t.kind == "zone" else 1.0
        geoms.append(
            f'<geom name="{t.name}" type="cylinder" size="{t.radius} 0.001" '
            f'pos="{t.pos[0]} {t.pos[1]} 0.001" rgba="{_rgba(t.colour, alpha)}" '
            'contype="0" conaffinity="0"/>'
        )
    for i, w in enumerate(layout.walls):
        geoms.append(
            f'<geom name="wall{i}" type="box" size="{w.half[0]} {w.half[1]} 0.05" '
            f'pos="{w.pos[0]} {w.pos[1]} 0.05" rgba="0.3 0.3 0.32 1"/>'
        )
    geoms += _rails(layout)
    zone_colours = {t.colour for t in layout.targets if t.kind == "zone"}
    bodies = [_agent_body(ledge)] + [_block_body(i, b.name, b.colour, ledge, b.fragile,
                                                 rim=b.colour in zone_colours)
                                     for i, b in enumerate(layout.blocks)]
    return f"""<mujoco model="wmagent-{layout.scenario}-{layout.seed}">
  <option timestep="{TIMESTEP}" gravity="0 0 {-GRAVITY if ledge else 0}" integrator="implicitfast"/>
  <visual>
    <global offwidth="640" offheight="640"/>
    <headlight ambient="0.55 0.55 0.55" diffuse="0.45 0.45 0.45" specular="0 0 0"/>
  </visual>
  <default><geom condim="1" solref="0.005 1"/></default>
  <worldbody>
    {_table(layout, a)}
    <camera name="top" pos="0 0 {cam_h:.3f}" xyaxes="1 0 0 0 1 0" fovy="45"/>
    {chr(10).join('    ' + g for g in geoms)}
    {chr(10).join('    ' + b for b in bodies)}
  </worldbody>
  <actuator>
    <motor name="fx" joint="agent_x" gear="{AGENT_GEAR}" ctrllimited="true" ctrlrange="-1 1"/>
    <motor name="fy" joint="agent_y" gear="{AGENT_GEAR}" ctrllimited="true" ctrlrange="-1 1"/>
  </actuator>
</mujoco>
"""


def _table(layout: Layout, a: float) -> str:
    """The table: a plane nothing touches under a walled table (everything slides on its
    joints); with open edges, a solid box whose top (z = 0) spans exactly the table, standing
    on a wide floor FLOOR_DROP below that catches what falls. Only blocks touch either."""
    if not layout.open_edges:
        return (f'<geom name="table" type="plane" size="{a} {a} 0.01" '
                'rgba="0.62 0.58 0.52 1"\n          contype="0" conaffinity="0"/>')
    h, d, f = layout.arena_half, FLOOR_DROP / 2, a + 1.0
    touch = f'contype="{TABLE_BIT}" conaffinity="0"'
    return (f'<geom name="table" type="box" size="{h} {h} {d}" pos="0 0 {-d}" '
            f'rgba="0.62 0.58 0.52 1" {touch}/>\n'
            f'    <geom name="floor" type="box" size="{f} {f} 0.05" '
            f'pos="0 0 {-FLOOR_DROP - 0.05}" rgba="0.36 0.36 0.4 1" {touch}/>')


def _rails(layout: Layout) -> list[str]:
    """An agent-only rail just outside each open edge (blocks pass through it), drawn as a dark
    strip so that a frame shows where the table ends. It spans past the corners so that it
    meets the wall or rail of the next edge."""
    h = layout.arena_half
    span, centre = round(h + RAIL_GAP + 2 * RAIL_HALF, 6), round(h + RAIL_GAP + RAIL_HALF, 6)
    out = []
    for edge in layout.open_edges:
        axis, sign = EDGE_AXES[edge]
        pos, size = [0.0, 0.0], [span, span]
        pos[axis], size[axis] = sign * centre, RAIL_HALF
        out.append(f'<geom name="{edge} rail" type="box" size="{size[0]} {size[1]} 0.02" '
                   f'pos="{pos[0]} {pos[1]} {AGENT_RADIUS}" rgba="0.12 0.12 0.14 1" '
                   f'contype="{RAIL_BIT}" conaffinity="0"/>')
    return out


def _agent_body(ledge: bool) -> str:
    touch = f' contype="{SOLID_BIT}" conaffinity="{SOLID_BIT | RAIL_BIT}"' if ledge else ""
    return (
        f'<body name="agent" pos="0 0 {AGENT_RADIUS}">'
        f'<joint name="agent_x" type="slide" axis="1 0 0" damping="{AGENT_DAMPING}"/>'
        f'<joint name="agent_y" type="slide" axis="0 1 0" damping="{AGENT_DAMPING}"/>'
        f'<geom name="agent" type="sphere" size="{AGENT_RADIUS}" mass="{AGENT_MASS}" '
        f'rgba="0.08 0.08 0.08 1"{touch}/>'
        # Drawn only: a wider dark disc under the agent, so that it spans several pixels of
        # a small frame (pixel world models); no contact, no mass.
        f'<geom name="agent_marker" type="cylinder" size="{1.8 * AGENT_RADIUS} 0.002" '
        f'pos="0 0 {0.004 - AGENT_RADIUS}" rgba="0.08 0.08 0.08 1" contype="0" '
        'conaffinity="0" density="0"/></body>'
    )


def _block_body(i: int, name: str, colour: str, ledge: bool, fragile: bool = False,
                rim: bool = False) -> str:
    # With open edges a block can fall: a third slide joint, along z, after x and y.
    drop = f'<joint name="block{i}_z" type="slide" axis="0 0 1"/>' if ledge else ""
    touch = f' contype="{SOLID_BIT}" conaffinity="{SOLID_BIT | TABLE_BIT}"' if ledge else ""
    # a glass: lighter and taller, damped alike (it glides as far as a block, struck alike)
    half, mass = (GLASS_HALF_HEIGHT, GLASS_MASS) if fragile else (BLOCK_HALF_HEIGHT, BLOCK_MASS)
    damping = BLOCK_DAMPING * mass / BLOCK_MASS if fragile else BLOCK_DAMPING
    return (
        f'<body name="block{i}" pos="0 0 {half}">'
        f'<joint name="block{i}_x" type="slide" axis="1 0 0" damping="{damping}"/>'
        f'<joint name="block{i}_y" type="slide" axis="0 1 0" damping="{damping}"/>'
        f'{drop}<geom name="{name}" type="cylinder" size="{BLOCK_RADIUS} {half}" '
        f'mass="{mass}" rgba="{_rgba(colour)}"{touch}/>{_rim(name, half) if rim else ""}</body>'
    )


def _rim(name: str, half: float) -> str:
    """Drawn only: a pale ring round a block whose colour a zone shares, so that a camera can
    still tell the block from that zone when it sits in it (at 48 px a block is about three
    pixels across, its zone seven, of nearly the same colour). No contact, no mass."""
    return (f'<geom name="{name} rim" type="cylinder" size="{BLOCK_RIM * BLOCK_RADIUS} 0.001" '
            f'pos="0 0 {0.003 - half}" rgba="0.95 0.95 0.95 1" contype="0" conaffinity="0" '
            'density="0"/>')


def agent_pos(state: np.ndarray) -> np.ndarray:
    """(..., 2) agent position from (..., S) states."""
    return state[..., 0:2]


def agent_vel(state: np.ndarray) -> np.ndarray:
    """(..., 2) agent velocity from (..., S) states."""
    return state[..., 2:4]


def with_agent_velocity(state: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A copy of the (S,) `state` with the agent's velocity set to `v` (2,)."""
    out = np.array(state, dtype=float)
    out[2:4] = v
    return out


def block_pos(state: np.ndarray, i: int) -> np.ndarray:
    """(..., 2) position of block `i` from (..., S) states."""
    return state[..., 4 + 4 * i: 6 + 4 * i]


def subgoal_holds(layout: Layout, state: np.ndarray, subgoal: Subgoal) -> bool:
    """The predicate of `subgoal` on a true state vector: the only judge of success."""
    target = layout.target(subgoal.target)
    if subgoal.skill == "go":
        pos = agent_pos(state)
    else:
        pos = block_pos(state, layout.block_index(subgoal.object))
    return bool(holds_at(subgoal.relation, pos, np.asarray(target.pos), target.radius))


def go_waypoints(layout: Layout, start: np.ndarray, goal: np.ndarray) -> list[np.ndarray]:
    """Points to pass through from `start` to `goal`: through doorways when rooms differ."""
    if not layout.rooms:
        return [np.asarray(goal, float)]
    here, there = layout.room_of(start), layout.room_of(goal)
    if here is None or there is None or here == there:
        return [np.asarray(goal, float)]
    route = _room_route(layout, here, there, np.asarray(start), np.asarray(goal))
    points: list[np.ndarray] = []
    room = here
    for door in route:
        centre = np.asarray(door.pos, float)
        side = np.sign(np.asarray(_room_centre(layout, room)) - centre)[door.axis]
        step = np.zeros(2)
        step[door.axis] = 0.14
        points += [centre + side * step, centre - side * step]
        room = door.rooms[1] if door.rooms[0] == room else door.rooms[0]
    return points + [np.asarray(goal, float)]


def _room_centre(layout: Layout, name: str) -> tuple[float, float]:
    x0, x1, y0, y1 = next(r.bounds for r in layout.rooms if r.name == name)
    return ((x0 + x1) / 2, (y0 + y1) / 2)


def _room_route(layout: Layout, here: str, there: str, start: np.ndarray, goal: np.ndarray):
    """The doorways of the shortest path (by travel distance) from room `here` to `there`."""
    direct = [d for d in layout.doorways if set(d.rooms) == {here, there}]
    if direct:
        return direct
    best, best_len = None, np.inf
    for d1 in layout.doorways:
        if here not in d1.rooms:
            continue
        mid = d1.rooms[1] if d1.rooms[0] == here else d1.rooms[0]
        for d2 in layout.doorways:
            if set(d2.rooms) == {mid, there}:
                p1, p2 = np.asarray(d1.pos), np.asarray(d2.pos)
                length = (np.linalg.norm(p1 - start) + np.linalg.norm(p2 - p1)
                          + np.linalg.norm(goal - p2))
                if length < best_len:
                    best, best_len = [d1, d2], length
    if best is None:
        raise ValueError(f"no route from {here} to {there}")
    return best


def _joint_index(model: mujoco.MjModel, bodies: list[str], axes: str,
                 adr: np.ndarray) -> np.ndarray:
    """(len(bodies), len(axes)) addresses `adr` (qpos or dof) of the joints `{body}_{axis}`."""
    index = [[adr[model.joint(f"{b}_{a}").id] for a in axes] for b in bodies]
    return np.asarray(index, int).reshape(len(bodies), len(axes))


class World:
    """One compiled layout: physics, state vector, predicates, goal states and rendering."""

    control_dt = TIMESTEP * FRAME_SKIP
    """seconds between two control actions"""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.spec = StateSpec.for_layout(layout)
        self.model = mujoco.MjModel.from_xml_string(build_mjcf(layout))
        self.data = mujoco.MjData(self.model)
        self._scratch = mujoco.MjData(self.model)
        # made, used and freed only in the render thread (`_render_thread`)
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        bodies = ["agent"] + [f"block{i}" for i in range(len(layout.blocks))]
        # Where each body's x and y sit in qpos and qvel (1 + n_blocks, 2), and each block's
        # z in qpos (only scenes with open edges have one): the state has no z.
        self._qpos_xy = _joint_index(self.model, bodies, "xy", self.model.jnt_qposadr)
        self._qvel_xy = _joint_index(self.model, bodies, "xy", self.model.jnt_dofadr)
        self._qpos_z = (_joint_index(self.model, bodies[1:], "z", self.model.jnt_qposadr)[:, 0]
                        if layout.open_edges else np.zeros(0, int))
        static = [t.pos for t in layout.targets] + [d.pos for d in layout.doorways]
        self.static = np.asarray(static, dtype=np.float64).reshape(-1)
        # Glasses: their geoms, and whether each broke (the state's last entries)
        self._glass_geoms = np.asarray([self.model.geom(layout.blocks[i].name).id
                                        for i in layout.fragile], int)
        self.broken = np.zeros(len(layout.fragile))
        self._force = np.zeros(6)
        self.reset()

    # --- state ----------------------------------------------------------------------------
    @property
    def n_blocks(self) -> int:
        return len(self.layout.blocks)

    def initial_state(self) -> np.ndarray:
        """(S,) the layout's start state: everything at rest where the factory put it."""
        q = [self.layout.agent_start] + [b.pos for b in self.layout.blocks]
        return self.state_from(np.asarray(q, float), np.zeros((len(q), 2)))

    def state_from(self, pos: np.ndarray, vel: np.ndarray) -> np.ndarray:
        """(..., S) states from (..., 1 + n_blocks, 2) positions and velocities (and, for
        glasses, whether each is broken now)."""
        dyn = np.concatenate([pos, vel], axis=-1)  # per body: x, y, vx, vy
        dyn = dyn.reshape(*dyn.shape[:-2], -1)  # (..., n_dynamic)
        tail = np.concatenate([self.static, self.broken])
        static = np.broadcast_to(tail, (*dyn.shape[:-1], tail.size))
        return np.concatenate([dyn, static], axis=-1)

    def states_from_physics(self, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
        """(..., S) states from MuJoCo's (..., nq) positions and (..., nv) velocities, as
        `mujoco.rollout` hands them back (a fallen block's z is not in the state)."""
        return self.state_from(np.asarray(qpos)[..., self._qpos_xy],
                               np.asarray(qvel)[..., self._qvel_xy])

    def reset(self) -> np.ndarray:
        self.set_state(self.initial_state())
        return self.state()

    def state(self) -> np.ndarray:
        """(S,) the current true state."""
        return self._read(self.data)

    def _read(self, data: mujoco.MjData) -> np.ndarray:
        return self.states_from_physics(data.qpos, data.qvel)

    def write_state(self, data: mujoco.MjData, state: np.ndarray) -> None:
        """Write the (S,) `state` into `data` (this world's model), positions and velocities.

        The state holds no z: a block the table still holds (`side_effects.past_edge`) is put
        resting on the table, one past an open edge resting on the floor, both with vz = 0.
        """
        dyn = np.asarray(state[: self.spec.n_dynamic], float).reshape(-1, 4)
        data.qpos[:] = 0.0
        data.qvel[:] = 0.0
        data.qpos[self._qpos_xy] = dyn[:, 0:2]
        data.qvel[self._qvel_xy] = dyn[:, 2:4]
        if self._qpos_z.size:
            data.qpos[self._qpos_z] = np.where(past_edge(self.layout, dyn[1:, 0:2]) > 0,
                                               -FLOOR_DROP, 0.0)
        data.ctrl[:] = 0.0
        mujoco.mj_forward(self.model, data)

    def set_state(self, state: np.ndarray, warmstart: list[float] | None = None) -> None:
        """Put the simulation in `state` (its constant part must match this layout).

        MuJoCo's solver starts each step from the last step's accelerations
        (`qacc_warmstart`), so the next steps depend on it too: pass the `warmstart()` read
        with `state` to continue exactly, or none for a cold start. Without this, a run
        resumed in a new process (or a world reused by the next episode) drifts apart.
        """
        state = np.asarray(state, float)
        if state.shape != (self.spec.dim,):
            raise ValueError(f"state has shape {state.shape}; this scene needs ({self.spec.dim},)")
        self.data.time = 0.0
        if self.broken.size:
            self.broken = state[self.spec.dim - self.broken.size:].copy()
        self.write_state(self.data, state)
        self.data.qacc_warmstart[:] = 0.0 if warmstart is None else warmstart

    def warmstart(self) -> list[float]:
        """The solver's warm start now, to go with `state()` into a checkpoint."""
        return self.data.qacc_warmstart.tolist()

    def step(self, action: np.ndarray) -> np.ndarray:
        """Apply `action` in [-1, 1]^2 for one control step (FRAME_SKIP physics steps)."""
        self.data.ctrl[:] = np.clip(np.asarray(action, float), -1.0, 1.0)
        if not self.broken.size:
            mujoco.mj_step(self.model, self.data, nstep=FRAME_SKIP)
            return self.state()
        for _ in range(FRAME_SKIP):  # a strike lasts a few physics steps: check each one
            mujoco.mj_step(self.model, self.data)
            self._break(self.data)
        return self.state()

    def glass_force(self, data: mujoco.MjData) -> np.ndarray:
        """(n_glasses,) the largest normal contact force (N) on each glass in `data` now."""
        out = np.zeros(self._glass_geoms.size)
        for c in range(data.ncon):
            con = data.contact[c]
            hit = (self._glass_geoms == con.geom1) | (self._glass_geoms == con.geom2)
            if hit.any():
                mujoco.mj_contactForce(self.model, data, c, self._force)
                out[hit] = np.maximum(out[hit], abs(self._force[0]))
        return out

    def _break(self, data: mujoco.MjData) -> None:
        self.broken = np.maximum(self.broken, self.glass_force(data) > BREAK_FORCE)

    # --- task -----------------------------------------------------------------------------
    def holds(self, subgoal: Subgoal, state: np.ndarray | None = None) -> bool:
        return subgoal_holds(self.layout, self.state() if state is None else state, subgoal)

    def random_subgoal(self, rng: np.random.Generator, skill: str | None = None,
                       push_share: float = 0.75, fragile: bool = False) -> Subgoal:
        """A random subgoal that does not hold now: `push` with probability `push_share` when
        the scene has blocks (or always/never when `skill` is given). A glass is pushed only
        with `fragile` (collection: a model must see glasses struck)."""
        layout = self.layout
        blocks = layout.blocks if fragile else layout.pushable
        zones = [t.name for t in layout.targets if t.kind == "zone"]
        if skill == "push" and not layout.blocks:
            raise ValueError(f"the {layout.scenario} scenario has no blocks to push")
        for _ in range(1000):
            push = skill == "push" or (skill is None and bool(blocks)
                                       and rng.random() < push_share)
            if push:
                block = blocks[rng.integers(len(blocks))]
                s = Subgoal(skill="push", object=block.name, target=str(rng.choice(zones)))
            else:
                s = Subgoal(skill="go", object=AGENT,
                            target=layout.targets[rng.integers(len(layout.targets))].name)
            if not self.holds(s):
                return s
        raise RuntimeError("every subgoal already holds in this scene")

    def goal_states(self, subgoal: Subgoal, state: np.ndarray | None = None,
                    avoid: tuple[str, ...] = ()) -> list[np.ndarray]:
        """The scene with `subgoal` achieved, as a short sequence of (S,) goal states.

        Built in MuJoCo from `state` (default: now): everything the subgoal does not move
        stays put. `go` passes through doorways on the way; `push` first puts the agent
        behind the block (contact skills need an intermediate goal), then the block at the
        relation's goal point (`scenarios.relations`) with the agent behind it. Things named
        in `avoid` are passed beside (`relations.detour`): a `go` gets a waypoint beside each
        one its path would cross; a `push` whose block path would cross one pushes the block
        to the point beside it first (recomputed from where the block is at every call).
        """
        state = self.state() if state is None else np.asarray(state, float)
        pos = state[: self.spec.n_dynamic].reshape(-1, 4)[:, 0:2].copy()
        mover = 0 if subgoal.skill == "go" else 1 + self.layout.block_index(subgoal.object)
        target = goal_point(self.layout, subgoal.relation, subgoal.target, subgoal.object,
                            pos[mover])
        if target is None:
            raise ValueError(f"there is no room to {subgoal.text()} in this scene")
        goals = []
        if subgoal.skill == "go":
            route = go_waypoints(self.layout, pos[0], target)
            if avoid:
                route = detour(self.layout, pos[0], route,
                               obstacles(self.layout, state, avoid, AGENT_RADIUS), AGENT_RADIUS)
            for p in route:
                pos[0] = p
                goals.append(pos.copy())
        else:
            i = 1 + self.layout.block_index(subgoal.object)
            if avoid:
                # the agent follows the block's path: keep both clear, with room to get
                # behind the block again where the push turns
                size = max(AGENT_RADIUS, BLOCK_RADIUS) + PUSH_TURN
                target = detour(self.layout, pos[i], [target],
                                obstacles(self.layout, state, avoid, size), size)[0]
                target = escape(self.layout, pos[i], target, BEHIND,
                                obstacles(self.layout, state, avoid, AGENT_RADIUS))
            d = target - pos[i]
            u = d / max(np.linalg.norm(d), 1e-6)
            pos[0] = pos[i] - BEHIND * u
            goals.append(pos.copy())
            pos[i] = target
            pos[0] = target - BEHIND * u
            goals.append(pos.copy())
        return [self._settled(g) for g in goals]

    def _settled(self, pos: np.ndarray) -> np.ndarray:
        # Pass the pose through MuJoCo so that what the goal shows is a physical scene.
        s = self.state_from(pos, np.zeros_like(pos))
        self.write_state(self._scratch, s)
        return self._read(self._scratch)

    # --- pixels ---------------------------------------------------------------------------
    def render(self, state: np.ndarray | None = None, width: int = 64,
               height: int | None = None) -> np.ndarray:
        """(H, W, 3) uint8 top-down image of `state` (default: now)."""
        return _render_thread().submit(self._render, state, width, height or width).result()

    def render_moved(self, state: np.ndarray, size: int, offsets: np.ndarray,
                     composed: bool = True) -> np.ndarray:
        """(K, size, size, 3): the frame of `state` with its agent moved by each of the (K, 2)
        `offsets` (m) and nothing else changed, composed from two renders instead of K
        (`scenarios.compose`), or with `composed=False` each rendered."""
        state = np.asarray(state, float)
        if not composed:
            frames = []
            for d in np.asarray(offsets, float):
                moved = state.copy()
                moved[self.spec["agent.pos"]] += d
                frames.append(self.render(moved, size))
            return np.stack(frames)
        now, bare = _render_thread().submit(self._render_with_and_without_agent, state,
                                            size).result()
        cam = self.model.camera("top").id
        focal = (size / 2) / np.tan(np.radians(self.model.cam_fovy[cam]) / 2)
        per_metre = focal / (self.model.cam_pos[cam][2] - AGENT_RADIUS)  # at the agent's height
        # the top camera's columns run along +x and its rows down along -y
        return compose.moved(now, bare, np.asarray(offsets, float) * [per_metre, -per_metre])

    def _render_with_and_without_agent(self, state: np.ndarray, size: int):
        now = self._render(state, size, size)
        geoms = [self.model.geom("agent").id, self.model.geom("agent_marker").id]
        alpha = self.model.geom_rgba[geoms, 3].copy()
        self.model.geom_rgba[geoms, 3] = 0  # MuJoCo draws no geom whose alpha is 0
        try:
            return now, self._render(state, size, size)
        finally:
            self.model.geom_rgba[geoms, 3] = alpha

    def _render(self, state: np.ndarray | None, width: int, height: int) -> np.ndarray:
        key = (width, height)
        if key not in self._renderers:
            _before_first_context()
            self._renderers[key] = mujoco.Renderer(self.model, height, width)
        renderer = self._renderers[key]
        data, broken = self.data, self.broken
        if state is not None:
            self.write_state(self._scratch, np.asarray(state, float))
            data = self._scratch
            broken = np.asarray(state, float)[self.spec.dim - self.broken.size:]
        for g, b in zip(self._glass_geoms, broken, strict=True):  # a broken glass goes grey
            self.model.geom_rgba[g] = BROKEN_RGBA if b > 0.5 else GLASS_RGBA
        renderer.update_scene(data, camera="top")
        return renderer.render().copy()

    def close(self, wait: bool = True) -> None:
        """Free the GL contexts of this scene's renderers, in the thread that made them."""
        renderers = getattr(self, "_renderers", None)
        if not renderers:
            return
        try:
            done = _render_thread().submit(_close, list(renderers.values()))
        except RuntimeError:  # the interpreter is shutting down: nothing to keep working
            return
        finally:
            renderers.clear()
        if wait:
            done.result()

    def __del__(self) -> None:
        # A GL context freed by the garbage collector in another thread than its own broke
        # EGL for every later frame of the process (a pixel evaluation: episodes 3+ failed).
        self.close(wait=False)

def _close(renderers: list) -> None:
    for r in renderers:
        r.close()


@functools.cache
def _render_thread() -> ThreadPoolExecutor:
    """The one thread that makes, uses and frees this process's GL contexts. An EGL context is
    current in the thread that made it; the agent's graph runs its nodes on a pool of threads
    (a renderer made in one and used in another: EGL_BAD_ACCESS), and the garbage collector
    frees objects in whatever thread drops them last."""
    return ThreadPoolExecutor(1, thread_name_prefix="wmagent-render")


@functools.cache
def _before_first_context() -> None:
    """Load triton, where it is installed, before MuJoCo creates its first GL context.

    triton (which torch's compiler and the LLM adapter's library pull in lazily) carries its
    own LLVM; loaded after Mesa's software renderer has set up an EGL context, its static
    initialisers crash the process. Seen: a scene rendered, then `make_agent("hybrid").run`
    ended in a segmentation fault as the embedded LLM loaded (and so did the test order
    chat-with-video, then embedded LLM). Loaded first, both are fine. About 0.1 s, once."""
    if importlib.util.find_spec("triton") is not None:
        importlib.import_module("triton")


def world_for(scenario: str, seed: int) -> World:
    """Compile the registered scenario `scenario` at `seed`."""
    return World(get(scenario).layout(seed))


__all__ = ["AGENT", "World", "StateSpec", "subgoal_holds", "world_for", "go_waypoints",
           "agent_pos", "block_pos", "build_mjcf"]
