"""JEPA world model and latent planners, for the scenarios and for any Gymnasium env.

Public API:
  load(path) / load_packaged(scenario, obs="state") -> WorldModel
  WorldModel: encode(obs), predict(z, action_chunk), rollout(z, actions), energy(z, z_goal),
              probe(z), fit(episodes, config), .config (ModelConfig)
  Episodes.from_lists(observations, actions): episodes of any lengths, in memory
  worldmodel.planning: CEMPlanner, MPPIPlanner, make_planner (plan(obs, goal_obs) -> Decision)
  worldmodel.reach: reach(env, planner, goal_obs, success, budget) -> Reached, the MPC loop
                    for any Gymnasium env; evaluate_goals(...) for `wmagent plan --env`
  worldmodel.datasets: read(path), write_minari(...): collections, Minari, HDF5
  worldmodel.mpc: run_subgoal, StepInfo, SubgoalResult (the project's scenes)
  worldmodel.imagine: imagine(model, state, subgoal_or_actions, world) -> Imagined (scenes)

Importing this package, the model, the planners (`planning`, `landmarks`), `fit`, `reach`
and `datasets` needs neither MuJoCo nor OpenGL; what needs a scene (`imagine`, `mpc`,
`simulator`, `train`, which collects scenes) imports it.
"""

from worldmodel.checkpoint import load, load_packaged, save
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.data import Episodes
from worldmodel.model import WorldModel

__all__ = ["Episodes", "ModelConfig", "TrainConfig", "WorldModel", "load", "load_packaged", "save"]
