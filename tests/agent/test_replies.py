"""Typed replies through the agent graph: only `act` moves anything; everything else is
answered from the true scene or the world model, and the record says so."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.api import Agent
from agent.graph.contracts import Resources
from agent.runs.store import RunStore
from scenarios import world_for
from scenarios.replies import Query, Reply
from scenarios.subgoals import Plan, Subgoal
from scenarios.world import agent_pos, block_pos
from tools.acting import ScriptedExecutor

sys.path.insert(0, str(Path(__file__).parent))
from chat_fakes import SkillImaginer  # noqa: E402
from fakes import QueuedDecomposer  # noqa: E402

ROOT = Path(__file__).parent.parent.parent


class CountingExecutor(ScriptedExecutor):
    def __init__(self):
        self.calls = 0

    def run(self, world, subgoal, max_steps, on_step, avoid=()):
        self.calls += 1
        return super().run(world, subgoal, max_steps, on_step, avoid)


def agent_with(tmp_path, replies, imaginer=None):
    ex = CountingExecutor()
    return Agent("hybrid", Resources(executor=ex, decomposer=QueuedDecomposer(replies),
                                     imaginer=imaginer), store=RunStore(tmp_path)), ex


def nearest_block(scenario, seed):
    w = world_for(scenario, seed)
    s = w.state()
    d = {b.name: np.linalg.norm(block_pos(s, i) - agent_pos(s))
         for i, b in enumerate(w.layout.blocks)}
    return min(d, key=d.get), w


def test_a_question_is_answered_from_the_true_scene_and_nothing_moves(tmp_path):
    name, world = nearest_block("push", 3)
    ask = Reply(intent="answer", query=Query(ask="nearest", object="agent", kind="block"))
    agent, ex = agent_with(tmp_path, [ask])
    events = []
    rec = agent.run("push", "Don't touch anything, just tell me which block is closest to you.",
                    seed=3, on_event=events.append)
    assert rec.status == "answered" and rec.steps == 0 and ex.calls == 0
    assert rec.reply["intent"] == "answer" and rec.reply["plan"] is None
    assert rec.reply["text"].startswith(f"The {name} is the block nearest to me")
    assert np.allclose(agent.sim_state(rec.thread_id), world.state())  # nothing moved
    assert [e.kind for e in events] == ["perceived", "replied"]
    assert "plan" not in [e.kind for e in events] and not rec.success


@pytest.mark.parametrize("reply,status,words", [
    (Reply(intent="stop"), "stopped", "Nothing moved"),
    (Reply(intent="cannot", reason="lift", thing="red block"), "declined", "cannot lift"),
])
def test_stop_and_cannot_move_nothing(tmp_path, reply, status, words):
    agent, ex = agent_with(tmp_path, [reply])
    rec = agent.run("push", "whatever was said", seed=0)
    assert rec.status == status and rec.steps == 0 and ex.calls == 0
    assert words in rec.reply["text"]
    assert agent.store.trajectory(rec.thread_id).shape[0] == 1  # the start state only


def test_a_what_if_is_answered_by_imagination_and_nothing_moves(tmp_path):
    world = world_for("push", 0)
    block = world.layout.blocks[0].name
    zone = next(t.name for t in world.layout.targets if t.kind == "zone")
    sg = Subgoal(skill="push", object=block, target=zone)
    what_if = Reply(intent="imagine", plan=Plan(subgoals=[sg]))
    agent, ex = agent_with(tmp_path, [what_if], imaginer=SkillImaginer())
    rec = agent.run("push", f"what happens if you push the {block} into the {zone}?", seed=0)
    assert rec.status == "answered" and rec.steps == 0 and ex.calls == 0
    text = rec.reply["text"]
    assert text.startswith(f"If I push the {block} into the {zone}, I predict it works")
    assert text.endswith("Nothing moved.")
    assert np.allclose(agent.sim_state(rec.thread_id), world.state())
    assert rec.reply["plan"]["subgoals"][0]["relation"] == "in"


def test_act_says_what_it_understood_and_reports_the_predicates(tmp_path):
    world = world_for("push", 0)
    blocks = [b.name for b in world.layout.blocks]
    zone = next(t.name for t in world.layout.targets if t.kind == "zone")
    plan = Plan(subgoals=[Subgoal(skill="push", object=blocks[0], target=zone)],
                avoid=[blocks[1]])
    agent, ex = agent_with(tmp_path, [Reply(intent="act", plan=plan)])
    events = []
    rec = agent.run("push", "push it", seed=0, on_event=events.append)
    said = next(e for e in events if e.kind == "replied").text
    assert said == f"I understood: push the {blocks[0]} into the {zone}, without touching the " \
                   f"{blocks[1]}."
    assert rec.reply["text"] == said and rec.avoid == [blocks[1]]
    assert rec.holds == [{"subgoal": plan.subgoals[0].model_dump(), "text": plan.subgoals[0].text(),
                          "holds": rec.subgoals_done == 1}]
    # the scripted skills do not steer around what is avoided: the verdict says if it was hit
    assert rec.success == (rec.holds[0]["holds"] and not rec.disturbed)
    assert rec.steps > 0 and ex.calls >= 1


def line_scene(seed=0):
    """push/`seed` with the agent, block a, the avoided block b and the yellow zone on one
    west-east line: the straight push of a into the zone runs over b."""
    world = world_for("push", seed)
    a, b = world.layout.blocks[:2]
    zone = world.layout.target("yellow zone")
    zx, zy = zone.pos
    s = world.state()
    s[0:2] = [zx - zone.radius - 0.85, zy]  # agent
    s[4:6] = [zx - zone.radius - 0.6, zy]  # a
    s[8:10] = [zx - zone.radius - 0.3, zy]  # b, in the way
    return world, s, a.name, b.name, zone.name


def test_an_avoided_block_that_is_pushed_aside_fails_the_task(tmp_path):
    """Success is judged on the true state: disturbing what was to be left alone fails."""
    world, s, a, b, zone = line_scene()
    plan = Plan(subgoals=[Subgoal(skill="push", object=a, target=zone)], avoid=[b])
    agent, _ = agent_with(tmp_path, [Reply(intent="act", plan=plan)])
    rec = agent.run("push", "push", seed=0, start_state=s)
    assert rec.disturbed == [b] and not rec.success
    assert "disturbed" in rec.reason and "the " + b in rec.reason


def test_decompose_json_is_the_stable_contract(tmp_path):
    world = world_for("push", 0)
    block = world.layout.blocks[0].name
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps([
        {"intent": "answer", "query": {"ask": "where", "object": block}}]))
    out = subprocess.run([sys.executable, "-m", "agent.cli", "decompose", f"where is the {block}?",
                          "--scenario", "push", "--llm", f"scripted:{answers}", "--json"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={"WMAGENT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["intent"] == "answer" and data["plan"] is None
    assert data["text"].startswith(f"The {block} is at (")
    assert {"usage", "problems", "attempts"} <= set(data)


def test_run_json_prints_the_record_with_reply_and_steps(tmp_path):
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps([{"intent": "stop"}]))
    out = subprocess.run([sys.executable, "-m", "agent.cli", "run", "never mind",
                          "--scenario", "push", "--llm", f"scripted:{answers}", "--json"],
                         capture_output=True, text=True, cwd=ROOT,
                         env={"WMAGENT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["reply"]["intent"] == "stop" and data["steps"] == 0
    assert data["status"] == "stopped" and data["reply"]["plan"] is None


def test_llm_skills_acts_on_the_llms_plan_with_scripted_skills_and_cannot_foresee(tmp_path):
    """The baseline without a world model: the LLM's plan, carried out by the scripted skills
    on the true state; a what-if gets an honest "I cannot predict that"."""
    from agent.kinds.registry import make_agent

    plan = {"subgoals": [{"skill": "push", "object": "red block", "target": "blue zone"}]}
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([{"intent": "act", "plan": plan},
                                   {"intent": "imagine", "plan": plan}]))
    agent = make_agent("llm-skills", llm=f"scripted:{answers}", home=tmp_path / "home")
    rec = agent.run("push", "Shove the red block into the blue zone.", seed=3)
    assert rec.success and rec.steps > 0 and rec.plan == [Subgoal(**plan["subgoals"][0])]
    assert "scripted" in rec.world_model
    what_if = agent.run("push", "What if you push the red block into the blue zone?", seed=3)
    assert what_if.status == "answered" and what_if.steps == 0
    assert what_if.reply["text"].startswith("I have no world model to imagine with")


def test_a_relation_subgoal_is_checked_and_checkpointed(tmp_path):
    """A relation's predicate is a plain bool in the graph state: the SQLite checkpointer
    stored numpy's bool once and the run crashed at its report."""
    go_left = Subgoal(skill="go", object="agent", relation="left_of", target="blue zone")
    agent, ex = agent_with(tmp_path, [Reply(intent="act", plan=Plan(subgoals=[go_left]))])
    rec = agent.run("push", "Go to the left of the blue zone.", seed=3)
    assert rec.success and ex.calls == 1
    assert rec.holds == [{"subgoal": go_left.model_dump(), "text": go_left.text(), "holds": True}]


def test_a_glass_is_not_a_block_and_a_ledge_is_not_walled():
    """Answers say what the scene holds: "which block is closest" never names the glass, the
    scene's list tells the glass apart, and on a table with an open edge "push it off the
    table" is refused for what it would do, not for walls that are not there."""
    from tools.answers import answer, cannot

    world = world_for("fragile", 0)
    glass = next(b for b in world.layout.blocks if b.fragile)
    state = world.state().copy()
    state[:2] = glass.pos  # the agent right at the glass: the glass would be nearest
    said = answer(world, state, Query(ask="nearest", object="agent", kind="block"))
    assert glass.name not in said and said.startswith("The ") and "block nearest" in said
    listed = answer(world, state, Query(ask="list"))
    assert "2 blocks (" in listed and f"a {glass.name} that breaks when struck" in listed
    assert "edge" not in listed  # walls all round
    assert "push the glass" not in cannot("lift", glass.name, world)
    ledge = world_for("ledge", 0)
    assert ledge.layout.open_edges
    why = cannot("off_table", ledge.layout.blocks[0].name, ledge)
    assert "walls all round" not in why and "falls" in why
    said = answer(ledge, ledge.state(), Query(ask="list"))  # the open edges, and who is near
    assert all(f"{e} edge" in said for e in ledge.layout.open_edges) and "falls off" in said
    assert " cm from the " in said  # how close the blocks nearest an open edge are
    assert "walls all round" in cannot("off_table", "red block", world_for("push", 0))


def test_a_question_about_the_edge_is_answered_with_the_edges():
    """"Is anything near the edge?" has no query kind of its own; the model read it as the
    nearest zone, which said nothing of the edge. The open edges come first; on a walled
    table, that nothing can fall."""
    from tools.answers import respond

    nearest = Reply(intent="answer", query=Query(ask="nearest", object="agent", kind="zone"))
    ledge = world_for("ledge", 0)
    said = respond(ledge, ledge.state(), nearest, message="is anything near the edge?")
    assert said.startswith("The ") and "falls off" in said and " cm from the " in said
    assert "zone nearest to me" in said  # what was asked as read is still answered
    plain = respond(ledge, ledge.state(), nearest, message="which zone is closest to you?")
    assert "falls off" not in plain
    push = world_for("push", 0)
    said = respond(push, push.state(), nearest, message="could a block fall off the edge?")
    assert said.startswith("The table has walls all round")


class KnockImaginer:
    """Predicts a knock of block `index` unless the way keeps clear of it; records each way."""

    def __init__(self, index: int, ok: bool = True, heads: dict | None = None):
        self.i, self.ok, self.heads, self.calls = index, ok, heads, []

    def imagine(self, world, state, subgoal, avoid=()):
        from scenarios.side_effects import SideEffect
        from tools.imagination import Imagination

        self.calls.append(tuple(avoid))
        name = world.layout.blocks[self.i].name
        effects = () if name in avoid else (
            SideEffect("displaced", name, "would be knocked", depth=0.1),)
        return Imagination(self.ok, "" if self.ok else "not reached", list(map(float, state)),
                           10, effects, predicates=self.heads)


def test_a_what_if_imagines_the_way_the_agent_would_act_and_says_what_straight_would_do():
    """Where side effects count the agent goes round every block its plan does not push, so a
    what-if imagines that way (and keeps clear of what the person named), then says what the
    plan done straight would knock: what the person hears is what acting would do."""
    from tools.answers import foresee

    world = world_for("clutter", 0)
    blocks = [b.name for b in world.layout.blocks]
    zone = next(t.name for t in world.layout.targets if t.kind == "zone")
    plan = Plan(subgoals=[Subgoal(skill="push", object=blocks[0], target=zone)])
    fake = KnockImaginer(2)
    text = foresee(world, world.state(), plan, fake.imagine)
    assert set(fake.calls[0]) == set(blocks[1:]) and fake.calls[1:] == [()]
    assert text.startswith(f"I would go round the {blocks[1]} and the {blocks[2]}")
    assert "I predict it works" in text and f"Done straight, the {blocks[2]} would be " \
        "knocked." in text and text.endswith("Nothing moved.")
    # a miss imagined going round is no evidence (`tools.imagination.ROUND_MISS`): unsure
    heads = {"holds": 0.1, "harm": 0.9}
    text = foresee(world, world.state(), plan, KnockImaginer(2, False, heads).imagine)
    assert "I cannot tell whether it gets there" in text and "does not work" not in text
    assert "a side effect 90%" in text and "it holds" not in text  # P(holds): no evidence
    # where side effects do not count, it imagines the plan as said, keeping clear of `avoid`
    world = world_for("push", 0)
    blocks = [b.name for b in world.layout.blocks]
    zone = next(t.name for t in world.layout.targets if t.kind == "zone")
    plan = Plan(subgoals=[Subgoal(skill="push", object=blocks[0], target=zone)],
                avoid=[blocks[1]])
    fake = KnockImaginer(1)
    text = foresee(world, world.state(), plan, fake.imagine)
    assert fake.calls == [(blocks[1],)] and "go round" not in text and "straight" not in text
    text = foresee(world, world.state(), plan, KnockImaginer(1, False, heads).imagine)
    assert "I predict it does not work" in text and "it holds 10%" in text
