"""Backends without a model: settings, make_backend, and the OpenAI client against a fake server."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.llm import LLMError, LLMSettings, OpenAIBackend, make_backend
from agent.llm.base import InvalidAnswer
from scenarios.subgoals import Plan

PLAN = '{"subgoals":[{"skill":"go","object":"agent","target":"red zone"}]}'


class Fake(BaseHTTPRequestHandler):
    """An OpenAI-compatible server serving 'planner'; `script` queues status codes to answer."""

    script: list[int] = []
    bodies: list[dict] = []

    def log_message(self, *args) -> None:  # keep pytest's output clean
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"data": [{"id": "planner"}, {"id": "base"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Fake.bodies.append(body)
        code = Fake.script.pop(0) if Fake.script else 200
        if code != 200:
            return self._send(code, {"error": {"message": "nope"}})
        if body["model"] not in ("planner", "base"):
            return self._send(404, {"error": {"message": f"The model `{body['model']}` does "
                                                         "not exist."}})
        self._send(200, {"choices": [{"message": {"content": PLAN}}],
                         "usage": {"prompt_tokens": 11, "completion_tokens": 7}})


@pytest.fixture()
def server():
    Fake.script, Fake.bodies = [], []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Fake)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()


def test_structured_request_and_usage(server):
    b = OpenAIBackend(LLMSettings(url=server, model="planner", adapter=None))
    plan, usage = b.complete([{"role": "user", "content": "go"}], Plan)
    assert plan == Plan.model_validate_json(PLAN)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.calls) == (11, 7, 1)
    rf = Fake.bodies[0]["response_format"]
    assert rf["type"] == "json_schema" and rf["json_schema"]["schema"] == Plan.model_json_schema()
    assert Fake.bodies[0]["temperature"] == 0.0
    assert b.health() == "ok: " + server + " serves planner, base"


def test_first_served_model_is_used_when_none_is_configured(server):
    b = OpenAIBackend(LLMSettings(url=server, adapter=None))
    b.complete([{"role": "user", "content": "go"}], {"type": "object"})
    assert Fake.bodies[0]["model"] == "planner"


def test_server_errors_are_retried_with_backoff(server):
    Fake.script = [503, 500]
    b = OpenAIBackend(LLMSettings(url=server, model="planner", retries=2, backoff=0.01,
                                  adapter=None))
    assert b.complete([{"role": "user", "content": "go"}], Plan)[0].subgoals
    assert len(Fake.bodies) == 3
    Fake.script = [503, 503, 503]
    with pytest.raises(LLMError, match=r"answered 503.*\(after 3 tries\)"):
        b.complete([{"role": "user", "content": "go"}], Plan)


def test_wrong_model_name_says_what_is_served(server):
    b = OpenAIBackend(LLMSettings(url=server, model="plannr", adapter=None))
    with pytest.raises(LLMError, match="does not serve model 'plannr'; it serves planner, base "
                                       r"\(set WMAGENT_LLM_MODEL\)"):
        b.complete([{"role": "user", "content": "go"}], Plan)
    with pytest.raises(LLMError, match="does not serve model 'plannr'"):
        b.health()


def test_server_down_says_how_to_start_one():
    b = OpenAIBackend(LLMSettings(url="http://127.0.0.1:9/v1", retries=1, backoff=0.01,
                                  adapter=None))
    with pytest.raises(LLMError, match=r"cannot reach the LLM server at http://127.0.0.1:9/v1/"
                                       r"models .*`wmagent serve`.*\(after 2 tries\)"):
        b.health()


def test_answer_that_misses_the_schema_is_invalid(server):
    b = OpenAIBackend(LLMSettings(url=server, model="planner", adapter=None))
    with pytest.raises(InvalidAnswer, match="does not fit Schema"):
        from pydantic import BaseModel

        class Schema(BaseModel):
            answer: int

        b.complete([{"role": "user", "content": "go"}], Schema)


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("WMAGENT_LLM_URL", "http://10.0.0.1:8000/v1")
    monkeypatch.setenv("WMAGENT_LLM_MODEL", "planner")
    monkeypatch.setenv("WMAGENT_LLM_API_KEY", "k")
    s = LLMSettings.from_env()
    assert (s.url, s.model, s.api_key) == ("http://10.0.0.1:8000/v1", "planner", "k")
    assert isinstance(make_backend(None), OpenAIBackend)
    assert make_backend("http://127.0.0.1:1/v1").settings.url == "http://127.0.0.1:1/v1"
    assert type(make_backend("embedded")).__name__ == "EmbeddedBackend"  # loads lazily


def test_bad_settings_name_the_field_and_the_fix():
    with pytest.raises(ValueError, match="LLMSettings.url must start with http:// or https://"):
        LLMSettings(url="localhost:8000")
    with pytest.raises(ValueError, match="LLMSettings.adapter: no adapter_config.json in /nope"):
        LLMSettings(adapter="/nope")
    with pytest.raises(ValueError, match="unknown LLM backend 'gpt'"):
        make_backend("gpt")


def _serve(handler) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


class Html(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>not an API</html>")


class Silent(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        threading.Event().wait(5)  # accepts, never answers in time


def test_a_server_that_answers_html_is_named_not_a_json_traceback():
    b = OpenAIBackend(LLMSettings(url=_serve(Html), adapter=None))
    with pytest.raises(LLMError, match=r"not JSON \('<html>not an API</html>'\); is http.*/v1 "
                                       r"the /v1 address of an OpenAI-compatible server"):
        b.health()


def test_a_silent_server_is_reported_within_the_timeout_in_all_tries():
    b = OpenAIBackend(LLMSettings(url=_serve(Silent), timeout=1.0, retries=3, backoff=0.01,
                                  adapter=None))
    start = time.monotonic()
    with pytest.raises(LLMError, match=r"no answer from the LLM server at .* within 1 s"):
        b.health()
    assert time.monotonic() - start < 2.0  # the timeout bounds every try together
