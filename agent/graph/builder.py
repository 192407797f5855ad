"""The agent's LangGraph state machine, compiled from module-level nodes and routers.

perceive -> decompose (-> ask the person -> decompose) -> imagine -> act (in segments) ->
verify -> next subgoal | retry | revise (LLM) -> imagine -> act ... -> report

A message that asks for nothing to move (a question, a what-if, something the agent cannot do,
"stop") goes decompose -> respond -> end: answered from the true scene or the world model, and
no control step is taken.

The graph state holds only plain data (`agent.graph.state`), so every super-step is
checkpointed by the SQLite checkpointer and a run killed at any point resumes from its last
finished step. Heavy things (the world model, the LLM, the MuJoCo world) are resources,
rebuilt from the state on demand.
"""

from __future__ import annotations

from functools import partial

from langgraph.graph import END, START, StateGraph

from agent.graph import nodes, routes
from agent.graph.budgets import Budgets
from agent.graph.contracts import Resources
from agent.graph.state import AgentState

__all__ = ["Budgets", "Resources", "build_graph", "mermaid"]


def build_graph(res: Resources, checkpointer=None):
    """Compile the agent graph over `res`; `checkpointer` makes it durable."""
    scenes = nodes.Scenes()
    bound = {"res": res, "scenes": scenes}
    g = StateGraph(AgentState)
    for name, node, needs in (
            ("perceive", nodes.perceive, bound), ("decompose", nodes.decompose, bound),
            ("ask", nodes.ask, {}), ("confirm", nodes.confirm, {}),
            ("respond", nodes.respond, bound),
            ("imagine", nodes.imagine, bound),
            ("act", nodes.act, bound), ("verify", nodes.verify, bound),
            ("revise", nodes.revise, bound), ("report", nodes.report, {"scenes": scenes})):
        g.add_node(name, nodes.timed(partial(node, **needs)))
    g.add_edge(START, "perceive")
    g.add_conditional_edges("perceive", partial(routes.after_perceive, res=res),
                            ["decompose", "imagine", "act"])
    g.add_conditional_edges("decompose", partial(routes.after_decompose, res=res),
                            ["ask", "respond", "imagine", "act", "report"])
    g.add_conditional_edges("ask", routes.after_ask, ["decompose", "confirm"])
    g.add_conditional_edges("confirm", partial(routes.after_confirm, res=res),
                            ["imagine", "act", "report"])
    g.add_edge("respond", END)
    g.add_conditional_edges("imagine", routes.after_imagine, ["ask", "revise", "act"])
    g.add_conditional_edges("act", partial(routes.after_act, res=res, scenes=scenes),
                            ["act", "verify"])
    g.add_conditional_edges("verify", routes.after_verify, ["act", "revise", "report"])
    g.add_conditional_edges("revise", partial(routes.after_revise, res=res),
                            ["imagine", "act", "report"])
    g.add_edge("report", END)
    return g.compile(checkpointer=checkpointer)


def mermaid() -> str:
    """The compiled graph (with every optional node present) as a mermaid diagram."""

    class _Absent:  # resources are never called while drawing
        name = "none"

    res = Resources(executor=_Absent(), decomposer=_Absent(), imaginer=_Absent())  # type: ignore[arg-type]
    return build_graph(res).get_graph().draw_mermaid()
