"""`wmagent chat` driven as a person would, in an 80x24 pseudo-terminal.

The real program runs (`python -m agent.cli chat`) with the test services of `chat_fakes`
(queued LLM answers, scripted skills as the executor and imaginer) and a fresh $WMAGENT_HOME.
"""

import json
import os
import re
import signal
import sys
from pathlib import Path

import pexpect
import pytest

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

PUSH_TWO = [{"skill": "push", "object": "red block", "target": "red zone"},
            {"skill": "push", "object": "blue block", "target": "blue zone"}]
GO_GREEN = [{"skill": "go", "object": "agent", "target": "green zone"}]
PROMPT = "sort/0>"


# The services the chat runs with. `chat_fakes:services` needs no trained model; with the
# hybrid agent built by `agent.kinds.registry.make_agent`, set this to "" (no hook) and make
# `write_answers` write the answers in the format of `agent.llm.ScriptedBackend`.
FACTORY = "chat_fakes:services"


def write_answers(path: Path, answers: list) -> None:
    """Queue the scripted LLM's answers: a list of subgoal dicts is a plan, a string a
    clarification question."""
    path.write_text(json.dumps(answers))


def spawn(tmp_path, answers, *args, step_seconds=0.0, no_color=True, factory=FACTORY,
          timeout=20):
    """The chat in a pty; `answers` are the scripted LLM's queued answers; `factory` ""
    runs the real agent (`agent.kinds.registry.make_agent`) instead of the test services."""
    path = tmp_path / "answers.json"
    write_answers(path, answers)
    env = {**os.environ, "WMAGENT_HOME": str(tmp_path / "home"),
           "WMAGENT_CHAT_FACTORY": factory,
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
           "CHAT_TEST_STEP_SECONDS": str(step_seconds),
           # No terminal answers prompt_toolkit's cursor-position requests here.
           "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    if no_color:
        env["NO_COLOR"] = "1"
    child = pexpect.spawn(sys.executable, ["-m", "agent.cli", "chat", "--llm", f"scripted:{path}",
                                           *args], cwd=str(tmp_path), env=env,
                          dimensions=(24, 80), encoding="utf-8", timeout=timeout)
    child.transcript = []
    child.logfile_read = _Tee(child.transcript)
    return child


class _Tee:
    def __init__(self, out):
        self.out = out

    def write(self, s):
        self.out.append(s)

    def flush(self):
        pass


def session_id(child) -> str:
    child.expect(r"new session ([0-9a-f]{8})")
    return child.match.group(1)


def quit_with_ctrl_d(child, totals=None):
    child.expect(PROMPT)
    child.sendcontrol("d")
    if totals:
        child.expect(totals)
    child.expect("saved; continue it with: wmagent chat --resume")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def colours(text: str) -> set[str]:
    """Colour parameters (foreground/background) of the SGR escape sequences in `text`."""
    found = set()
    for params in re.findall(r"\x1b\[([\d;]*)m", text):
        for p in params.split(";"):
            if p and (30 <= int(p) <= 49 or 90 <= int(p) <= 107):
                found.add(p)
    return found


def test_goal_is_planned_imagined_and_finished_and_bad_input_gets_a_hint(tmp_path):
    child = spawn(tmp_path, [PUSH_TWO])
    session_id(child)
    child.expect(PROMPT)
    child.sendline("put the red and the blue block in their zones")
    child.expect("plan")
    child.expect("red block")
    child.expect("imagined 2: push the blue block into the blue zone -> reached")
    child.expect(r"2\. push the blue block into the blue zone")
    child.expect(r"done in \d+ steps, as imagined")
    child.expect("summary")
    child.expect("success")
    child.expect(r"2/2 achieved")
    child.expect(r"150 tokens")
    child.expect(PROMPT)
    child.sendline("/render")
    child.expect(r"wrote .*\.png")
    child.expect(PROMPT)
    child.sendline("/frobnicate")
    child.expect("unknown command /frobnicate; /help lists them")
    child.expect(PROMPT)
    child.sendline("/sceen")
    child.expect(r"did you mean /scene\?")
    child.expect(PROMPT)
    child.sendline("/scenario sort x")
    child.expect("the seed must be a non-negative integer, not 'x'")
    child.expect(PROMPT)
    child.sendline("/video sometimes")
    child.expect(r"usage: /video on\|off")
    child.expect(PROMPT)
    child.sendline("/scene")  # the red block stays in the red zone (-0.56, +0.56)
    child.expect(r"R red block\s+-0\.5\d \+0\.[45]\d")
    quit_with_ctrl_d(child, totals=r"1/1 goals achieved, \d+ steps, .* 150 LLM tokens")
    text = "".join(child.transcript)
    assert not colours(text), "NO_COLOR: no colour escape sequences"


def test_clarification_is_asked_in_the_chat_and_the_run_goes_on(tmp_path):
    child = spawn(tmp_path, ["Which zone do you mean?", GO_GREEN])
    child.expect(PROMPT)
    child.sendline("go to \\")  # a trailing backslash continues the goal on a new line
    child.sendline("that zone")
    child.expect(r"agent asks:.*Which zone do you mean\?")
    child.expect("answer>")
    child.sendline("the green one")
    child.expect(r"1\. go to the green zone")
    child.expect(r"done in \d+ steps")
    child.expect("success")
    child.expect(PROMPT)
    child.sendline("/history")
    child.expect("you: go to \r\nthat zone")
    child.expect("you: the green one")
    quit_with_ctrl_d(child)


def test_ctrl_c_stops_the_episode_and_the_session_resumes_it(tmp_path):
    child = spawn(tmp_path, [PUSH_TWO], step_seconds=0.03)
    sid = session_id(child)
    child.expect(PROMPT)
    child.sendline("sort the red and blue blocks")
    child.expect(r"1\. push the red block")
    child.sendintr()
    child.expect("stopping the episode")
    child.expect(r"stopped after \d+ steps")
    child.expect(r"/resume ([0-9a-f]{12}) continues the episode")
    thread = child.match.group(1)
    child.expect(PROMPT)
    child.sendline("/threads")
    child.expect(f"{thread}.*stopped")
    child.expect(PROMPT)
    child.sendintr()  # Ctrl-C at the prompt warns, a second one quits
    child.expect("Ctrl-C again or Ctrl-D to quit")
    child.expect(PROMPT)
    child.sendintr()
    child.expect("saved")
    child.expect(pexpect.EOF)

    child = spawn(tmp_path, [], "--resume", sid)
    child.expect(f"resumed session {sid}")
    child.expect("you: sort the red and blue blocks")
    child.expect(PROMPT)
    child.sendline(f"/resume {thread[:6]}")
    child.expect(r"2\. push the blue block into the blue zone")
    child.expect(r"done in \d+ steps, as imagined")
    child.expect("success")
    quit_with_ctrl_d(child)


def test_a_chat_killed_mid_episode_resumes_the_episode(tmp_path):
    child = spawn(tmp_path, [PUSH_TWO], step_seconds=0.03)
    sid = session_id(child)
    child.expect(PROMPT)
    child.sendline("sort the red and blue blocks")
    child.expect(r"1\. push the red block.*step [3-9]\d")  # well into the episode
    child.kill(signal.SIGKILL)
    child.close()

    child = spawn(tmp_path, [], "--resume", sid)
    child.expect(f"resumed session {sid}")
    child.expect(r"the episode [0-9a-f]{12} was cut off; continuing it")
    child.expect(r"2\. push the blue block into the blue zone")
    child.expect(r"done in \d+ steps, as imagined")
    child.expect(r"2/2 achieved")
    quit_with_ctrl_d(child)


@pytest.mark.parametrize("command", ["/imagine push green block into green zone",
                                     "/plan sort everything"])
def test_imagine_and_plan_do_not_move_the_scene(tmp_path, command):
    child = spawn(tmp_path, [PUSH_TWO], no_color=False)
    child.expect(PROMPT)
    child.sendline(command)
    child.expect("reached|not executed")
    child.expect(PROMPT)
    child.sendline("/threads")
    child.expect("no runs yet")
    quit_with_ctrl_d(child)


@pytest.mark.integration
def test_the_real_hybrid_agent_with_the_scripted_llm_and_a_shipped_world_model(tmp_path):
    """No test services: `agent.kinds.registry.make_agent("hybrid")` with `ScriptedBackend` answers
    and the shipped pads world model planning in latent space."""
    answers = [{"subgoals": [{"skill": "go", "object": "agent", "target": "purple pad"}]},
               {"subgoals": [{"skill": "go", "object": "agent", "target": "red pad"}]}]
    child = spawn(tmp_path, answers, "--scenario", "pads", "--seed", "9", factory="",
                  timeout=120)
    child.expect("pads/9>")
    child.sendline("Go to the purple pad.")
    child.expect("imagined 1: go to the purple pad -> reached")
    child.expect(r"done in \d+ steps")
    child.expect(r"1/1 achieved")
    child.expect("pads/9>")
    # A name the scene lacks: the agent asks, and the answer is the goal from then on.
    child.sendline("Push the pink block into the red zone.")
    child.expect("There is no pink block here")
    child.expect("answer>")
    child.sendline("Go to the red pad.")
    child.expect(r"done in \d+ steps")
    child.expect(r"1/1 achieved")
    child.expect("pads/9>")
    child.sendline("/llm")
    child.expect("scripted")
    child.expect("pads/9>")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)


@pytest.mark.integration
def test_the_embedded_model_answers_stops_and_achieves_a_relation(tmp_path):
    """The real program with the real embedded LLM and shipped world models, as a stranger
    types: a question is answered and nothing moves; "stop" stops; a relation subgoal is
    achieved and checked on the true state."""
    env = {**os.environ, "WMAGENT_HOME": str(tmp_path / "home"), "PROMPT_TOOLKIT_NO_CPR": "1",
           "TERM": "xterm-256color", "NO_COLOR": "1"}
    env.pop("WMAGENT_CHAT_FACTORY", None)
    env.pop("WMAGENT_LLM_URL", None)
    child = pexpect.spawn(sys.executable, ["-m", "agent.cli", "chat", "--llm", "embedded",
                                           "--scenario", "push", "--seed", "3"],
                          cwd=str(tmp_path), env=env, dimensions=(24, 80), encoding="utf-8",
                          timeout=240)
    from scenarios import world_for

    red = world_for("push", 3).layout.blocks[0]
    where = r"R red block\s+" + re.escape(f"{red.pos[0]:+.2f} {red.pos[1]:+.2f}")
    child.expect("push/3>")
    child.sendline("/scene")
    child.expect(r"@ agent\s+\+0\.73 \+0\.79")
    child.expect(where)
    child.expect("push/3>")
    child.sendline("Which block is closest to you?")
    child.expect(r"The (red|purple) block is the block nearest to me: \d+ cm away\.")
    child.expect("push/3>")
    child.sendline("Stop.")
    child.expect("Stopped. Nothing moved")
    child.expect("push/3>")
    child.sendline("/scene")  # neither message moved anything
    child.expect(r"@ agent\s+\+0\.73 \+0\.79")
    child.expect(where)
    child.expect("push/3>")
    child.sendline("Go to the left of the blue zone.")
    child.expect(r"I understood: go to the left of the blue zone\.")
    child.expect(r"check: go to the left of the blue zone: holds")
    child.expect("success")
    child.expect("push/3>")
    child.sendline("/threads")
    child.expect("answered")
    child.expect("stopped")
    child.expect("push/3>")
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
