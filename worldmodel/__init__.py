"""JEPA world model and latent planners for the scenarios.

Public API:
  load(path) / load_packaged(scenario, obs="state") -> WorldModel
  WorldModel: encode(obs), predict(z, action_chunk), rollout(z, actions), energy(z, z_goal),
              probe(z), .config (ModelConfig)
  worldmodel.planning: CEMPlanner, MPPIPlanner, SimulatorPlanner, make_planner
  worldmodel.mpc: run_subgoal, StepInfo, SubgoalResult
  imagine(model, state, subgoal_or_actions, world) -> Imagined
"""

from worldmodel.checkpoint import load, load_packaged, save
from worldmodel.config import ModelConfig, TrainConfig
from worldmodel.imagine import Imagined, imagine
from worldmodel.model import WorldModel

__all__ = ["Imagined", "ModelConfig", "TrainConfig", "WorldModel", "imagine", "load",
           "load_packaged", "save"]
