"""The agent layer: LLM backends, decomposition, the LangGraph agent, chat, evaluation, CLI."""
