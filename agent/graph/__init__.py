"""The agent's LangGraph state machine: typed state, nodes, routers, plan rules, builder."""
