from pathlib import Path

from agent.graph.builder import mermaid

DOC = Path(__file__).parents[2] / "docs" / "agent.md"


def test_the_documented_graph_is_the_compiled_graph():
    text = DOC.read_text()
    drawn = text.split("```mermaid\n", 1)[1].split("```", 1)[0].strip()
    assert drawn == mermaid().strip(), "regenerate docs/agent.md from agent.graph.builder.mermaid()"
