"""The hybrid agent: the LLM decomposes, the world model imagines and acts; and its fair
baseline, the LLM's plan carried out by scripted skills with no world model."""

from __future__ import annotations

from agent.api import Agent
from agent.graph.contracts import Resources
from agent.kinds.settings import AgentSettings
from agent.llm import make_backend
from agent.runs.store import RunStore
from agent.understand.decomposer import LLMDecomposer
from tools.acting import ScriptedExecutor, WorldModelExecutor
from tools.imagination import WorldModelImaginer
from tools.models import ModelShelf


def build_hybrid(kind: str, s: AgentSettings, store: RunStore) -> Agent:
    """`hybrid` (with the imagination check unless `s.imagination` is off), `hybrid-blind`
    (without it) or `hybrid-careful` (without it, but going round every block the plan does
    not push wherever side effects count: a rule in place of prediction)."""
    backend = make_backend(s.llm)
    check = s.imagination and kind == "hybrid"
    careful = kind == "hybrid-careful"
    # Foresight (imagination, and the side-effect cost in the planner's energy) is what
    # hybrid has and hybrid-blind lacks; all three act with the same world model and planner.
    executor = WorldModelExecutor(s.planner, ModelShelf(s.obs), foresight=check or careful,
                                  seed=s.planner_seed)
    res = Resources(executor=executor, decomposer=LLMDecomposer(backend),
                    imaginer=WorldModelImaginer(executor.models, seed=s.planner_seed) if check
                    else None,
                    budgets=s.budgets, careful=careful,
                    candidates=s.candidates if check else 1)
    return Agent(kind, res, store=store, llm_name=backend.describe(),
                 world_model_name=executor.name, obs=s.obs)


def build_llm_skills(kind: str, s: AgentSettings, store: RunStore) -> Agent:
    """`llm-skills`: the LLM's plan executed by the scripted skills on the true state, with no
    world model and so no foresight (an LLM plus skills, as SayCan without affordances). A
    what-if gets "I cannot predict that" from it."""
    backend = make_backend(s.llm)
    res = Resources(executor=ScriptedExecutor(), decomposer=LLMDecomposer(backend),
                    imaginer=None, budgets=s.budgets)
    return Agent(kind, res, store=store, llm_name=backend.describe(),
                 world_model_name=res.executor.name, obs=s.obs)
