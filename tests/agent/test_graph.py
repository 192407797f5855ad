"""The agent graph: durable, bounded, asks when unsure, revises on failure."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from agent.api import Agent
from agent.graph.budgets import Budgets
from agent.graph.contracts import Resources
from agent.graph.rules import merge_revision
from agent.runs.store import RunStore
from scenarios import world_for
from scenarios.side_effects import SideEffect
from scenarios.subgoals import Subgoal
from tools.acting import ScriptedExecutor
from tools.imagination import Imagination

sys.path.insert(0, str(Path(__file__).parent))
from fakes import FakeUsage, QueuedDecomposer  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def sort_plan(seed):
    layout = world_for("sort", seed).layout
    return [{"skill": "push", "object": b.name, "target": f"{b.colour} zone"}
            for b in layout.blocks]


def make_agent(tmp_path, answers, **budgets):
    return Agent("hybrid", Resources(executor=ScriptedExecutor(),
                                     decomposer=QueuedDecomposer(answers),
                                     budgets=Budgets(**budgets)),
                 store=RunStore(tmp_path))


def test_plan_executed_and_judged_on_the_true_state(tmp_path):
    plan = sort_plan(1)
    agent = make_agent(tmp_path, [plan])
    events = []
    rec = agent.run("sort", "sort the blocks", seed=1, subgoals=plan, on_event=events.append)
    assert rec.success and rec.status == "done" and rec.plan_exact
    assert rec.subgoals_done == 3 and [o.success for o in rec.outcomes] == [True] * 3
    assert rec.steps == len(agent.store.trajectory(rec.thread_id)) - 1
    kinds = [e.kind for e in events]
    assert kinds[:4] == ["perceived", "replied", "plan", "subgoal_started"]
    assert kinds.count("subgoal_done") == 3 and kinds[-1] == "report"
    assert rec.prompt_tokens == 100 and rec.llm_calls == 1


def test_wrong_plan_fails_against_ground_truth(tmp_path):
    plan = sort_plan(1)
    wrong = [plan[1], plan[0]]  # right subgoals, wrong order is still wrong for 'first A then B'
    agent = make_agent(tmp_path, [[plan[2]]])
    rec = agent.run("sort", "sort", seed=1, subgoals=wrong)
    assert not rec.success and rec.plan_exact is False and rec.status == "failed"


def test_clarification_pauses_and_resumes_with_the_answer(tmp_path):
    plan = sort_plan(2)[:1]
    agent = make_agent(tmp_path, ["Which block do you mean?", plan])
    rec = agent.run("sort", "push the pink block", seed=2)
    assert rec.status == "needs_clarification" and rec.question == "Which block do you mean?"
    rec = agent.resume(rec.thread_id, answer="the first one")
    assert rec.status == "done" and rec.success
    calls = agent.resources.decomposer.calls
    assert calls[-1] == ("decompose", "the first one"), "the answer is the goal now"


def test_questions_are_bounded(tmp_path):
    agent = make_agent(tmp_path, ["what?", "what?", "what?"], clarifications=1)
    rec = agent.run("pads", "do something", seed=0, answer=lambda q: "no idea")
    assert rec.status == "failed" and rec.question is None


def test_failure_goes_back_to_the_llm_and_budgets_end_the_loop(tmp_path):
    # 6 attempts of 2 steps cannot reach the farthest pad: retry, revise twice, then stop.
    layout = world_for("pads", 0).layout
    far = max(layout.targets, key=lambda t: np.hypot(*np.subtract(t.pos, layout.agent_start)))
    plan = [{"skill": "go", "object": "agent", "target": far.name}]
    agent = make_agent(tmp_path, [plan, plan, plan], go_steps=2, retries=1, revisions=2)
    rec = agent.run("pads", "go", seed=0)
    assert rec.status == "failed" and "no revisions left" in rec.reason
    assert rec.revisions == 2
    assert len(rec.outcomes) == 6  # (1 + 1 retry) x (1 + 2 revisions)
    assert [c[0] for c in agent.resources.decomposer.calls] == ["decompose", "revise", "revise"]
    assert "not reached within 2 steps" in agent.resources.decomposer.calls[1][1]


def test_killed_run_resumes_from_its_checkpoint(tmp_path):
    layout = world_for("pads", 3).layout
    targets = [t.name for t in layout.targets]  # all five pads: a long episode
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "_slow_run.py"), str(tmp_path), "t1", "pads", "3", *targets],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    traj = tmp_path / "trajectories" / "t1.npy"
    deadline = time.time() + 120
    while time.time() < deadline:
        if traj.exists() and len(np.load(traj)) > 15:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(np.load(traj)) - 1
    agent = Agent("oracle-script", Resources(executor=ScriptedExecutor()),
                  store=RunStore(tmp_path), needs_ground_truth=True)
    assert agent.record("t1").status == "interrupted"
    rec = agent.resume("t1")
    assert rec.success and rec.subgoals_done == 5
    assert rec.steps > done_before > 0
    states = agent.store.trajectory("t1")
    assert len(states) == rec.steps + 1, "a resumed segment must not be recorded twice"
    assert np.abs(np.diff(states[:, :2], axis=0)).max() < 0.2, "no jumps in the trajectory"


def test_recursion_limit_exceeds_what_budgets_allow():
    b = Budgets()
    assert b.recursion_limit() > 12 * (b.push_steps // b.segment + 2)
    with pytest.raises(ValueError, match="Budgets.segment must be at least 1"):
        Budgets(segment=0)


def test_oracle_agents_need_ground_truth(tmp_path):
    agent = Agent("oracle-script", Resources(executor=ScriptedExecutor()),
                  store=RunStore(tmp_path), needs_ground_truth=True)
    with pytest.raises(ValueError, match="needs the ground-truth subgoals"):
        agent.run("pads", "go", seed=0)


class PessimisticImaginer:
    """Predicts that every push fails."""

    def __init__(self):
        self.checked = []

    def imagine(self, world, state, subgoal, avoid=()):
        self.checked.append(subgoal.text())
        ok = subgoal.skill == "go"
        return Imagination(ok, "" if ok else "the block is predicted to stay put",
                           list(map(float, state)))


def test_imagined_failure_is_sent_back_once_then_acted_on(tmp_path):
    plan = sort_plan(1)[:1]
    imaginer = PessimisticImaginer()
    dec = QueuedDecomposer([plan, plan])
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(), decomposer=dec,
                                      imaginer=imaginer), store=RunStore(tmp_path))
    events = []
    rec = agent.run("sort", "push", seed=1, subgoals=plan, on_event=events.append)
    assert [c[0] for c in dec.calls] == ["decompose", "revise"]
    assert "the world model predicts" in dec.calls[1][1]
    assert "predicted to stay put" in dec.calls[1][1]
    # The LLM kept the subgoal: it is tried for real, and the veto cost no revision. The
    # same plan from the same state is not imagined again: the verdict stands.
    assert rec.success and rec.revisions == 0
    assert [e.ok for e in events if e.kind == "imagined"] == [False]
    assert len(rec.imagination) == 1 and len(imaginer.checked) == 1
    kept = [e for e in events if e.kind == "plan" and e.revised]
    assert len(kept) == 1 and kept[0].unchanged


def test_a_miss_imagined_going_round_other_blocks_does_not_send_the_plan_back(tmp_path):
    """Over a detour the imagined reach is no evidence (`tools.imagination.ROUND_MISS`: 22 of
    27 such predicted misses reached in MuJoCo): the plan is acted on without asking the LLM
    again, and the record says the prediction was not trusted."""
    layout = world_for("clutter", 0).layout
    plan = [{"skill": "push", "object": layout.blocks[0].name,
             "target": layout.targets[0].name}]
    dec = QueuedDecomposer([plan])
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(), decomposer=dec,
                                      imaginer=PessimisticImaginer()), store=RunStore(tmp_path))
    events = []
    rec = agent.run("clutter", "push", seed=0, subgoals=plan, on_event=events.append)
    assert [c[0] for c in dec.calls] == ["decompose"] and rec.revisions == 0
    [imagined] = [e for e in events if e.kind == "imagined"]
    assert not imagined.ok and not imagined.trusted and rec.steps > 0
    assert rec.imagination[0]["trusted"] is False


class ClumsyExecutor(ScriptedExecutor):
    """Scripted skills, except that finishing the second push knocks the first block back to
    where it started (once): what a real push among several blocks can do."""

    def __init__(self):
        self.knocked = False

    def run(self, world, subgoal, max_steps, on_step, avoid=()):
        result = super().run(world, subgoal, max_steps, on_step)
        first = world.layout.blocks[0]
        if (result.success and not self.knocked and subgoal.skill == "push"
                and subgoal.object == world.layout.blocks[1].name):
            self.knocked = True
            s = world.state()
            n = world.spec.n_dynamic
            pos = s[:n].reshape(-1, 4)[:, :2].copy()
            pos[1] = first.pos
            world.set_state(world.state_from(pos, np.zeros_like(pos)))
            result.states[-1] = world.state()
        return result


@pytest.mark.parametrize("restores", [0, 2])
def test_a_block_knocked_out_of_its_zone_is_pushed_back(tmp_path, restores):
    plan = sort_plan(1)
    agent = Agent("hybrid", Resources(executor=ClumsyExecutor(),
                                      decomposer=QueuedDecomposer([plan]),
                                      budgets=Budgets(restores=restores)),
                  store=RunStore(tmp_path))
    events = []
    rec = agent.run("sort", "sort the blocks", seed=1, subgoals=plan, on_event=events.append)
    revised = [e for e in events if e.kind == "plan" and e.revised]
    if restores == 0:
        assert not rec.success and rec.reason == "a pushed block left its zone"
        assert not revised
    else:
        assert rec.success and rec.plan_exact  # judged on the first plan, the LLM's
        assert revised and "knocked out of its zone" in revised[0].reason
        pushed = [o.subgoal.object for o in rec.outcomes]  # the knocked block goes back next
        assert pushed[:3] == [plan[0]["object"], plan[1]["object"], plan[0]["object"]]


def test_a_revision_may_not_add_work_nobody_asked_for(tmp_path):
    layout = world_for("pads", 0).layout
    far = max(layout.targets, key=lambda t: np.hypot(*np.subtract(t.pos, layout.agent_start)))
    other = next(t for t in layout.targets if t.name != far.name)
    plan = [{"skill": "go", "object": "agent", "target": far.name}]
    invented = {"skill": "go", "object": "agent", "target": other.name}
    agent = make_agent(tmp_path, [plan, [invented, *plan], [invented]], go_steps=2, retries=0,
                       revisions=2)
    events = []
    rec = agent.run("pads", "go", seed=0, on_event=events.append)
    revised = [e for e in events if e.kind == "plan" and e.revised]
    assert len(revised) == 2 and rec.revisions == 2
    for e in revised:  # the invented pad is dropped; the work left is kept
        assert e.plan == [Subgoal.model_validate(p).model_dump() for p in plan]
        assert other.name in e.reason
    assert {o.subgoal.target for o in rec.outcomes} == {far.name}


def test_a_veto_revision_that_loses_work_is_not_taken(tmp_path):
    plan = sort_plan(1)[:2]
    dec = QueuedDecomposer([plan, plan[:1]])  # the revision forgets the second push
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(), decomposer=dec,
                                      imaginer=PessimisticImaginer()), store=RunStore(tmp_path))
    events = []
    rec = agent.run("sort", "push", seed=1, subgoals=plan, on_event=events.append)
    revised = [e for e in events if e.kind == "plan" and e.revised]
    assert revised and revised[0].plan == [Subgoal.model_validate(p).model_dump() for p in plan]
    assert "acting on the plan" in revised[0].reason
    assert rec.success and rec.subgoals_done == 2


def test_a_revision_may_reorder_pushes_of_different_blocks_not_of_one_block():
    def push(block, zone):
        return Subgoal(skill="push", object=f"{block} block", target=f"{zone} zone")

    twice = [push("purple", "yellow"), push("purple", "red")]  # ends in the red zone
    kept, notes = merge_revision(twice, twice[::-1], after_failure=False)
    assert kept == twice and "acting on the plan as it was" in notes[0]
    kept, notes = merge_revision(twice, twice[::-1], after_failure=True)
    assert kept == twice
    two = [push("red", "blue"), push("green", "yellow")]
    assert merge_revision(two, two[::-1], after_failure=False) == (two[::-1], [])
    assert merge_revision(two, two[1:], after_failure=True) == (two[1:], [])  # the failed one


class BlockerAwareImaginer:
    """Predicts that a push runs into block `blocker_index` unless it is kept clear of."""

    def __init__(self, blocker_index: int):
        self.i = blocker_index
        self.calls = []

    def imagine(self, world, state, subgoal, avoid=()):
        self.calls.append(tuple(avoid))
        name = world.layout.blocks[self.i].name
        effects = () if name in avoid else (
            SideEffect("displaced", name, "would be knocked", depth=0.1),)
        return Imagination(True, "", list(map(float, state)), 10, effects)


class AvoidRecordingExecutor(ScriptedExecutor):
    def __init__(self):
        self.avoided = []

    def run(self, world, subgoal, max_steps, on_step, avoid=()):
        self.avoided.append(tuple(avoid))
        return super().run(world, subgoal, max_steps, on_step, avoid)


def test_foresight_goes_round_what_the_plan_does_not_push_and_imagines_that_way(tmp_path):
    """Where side effects count, the plan is imagined (and carried out) keeping clear of every
    block it does not push: predicting which ones a straight push would knock missed 1 in 8,
    and each miss was a knock (BENCHMARKS.md, the foresight suite 43 -> 47 of 60)."""
    layout = world_for("clutter", 0).layout
    blocker = layout.blocks[2].name
    others = [b.name for b in layout.blocks[1:]]
    plan = [{"skill": "push", "object": layout.blocks[0].name,
             "target": layout.targets[0].name}]
    imaginer, executor = BlockerAwareImaginer(2), AvoidRecordingExecutor()
    agent = Agent("hybrid", Resources(executor=executor, decomposer=QueuedDecomposer([plan]),
                                      imaginer=imaginer), store=RunStore(tmp_path))
    events = []
    rec = agent.run("clutter", "push", seed=0, subgoals=plan, on_event=events.append)
    # The way taken is imagined going round; the plan as written is imagined straight once,
    # to say what was rejected and why.
    assert set(imaginer.calls[0]) == set(others) and imaginer.calls[1:] == [()]
    [foresaw] = [e for e in events if e.kind == "foresaw"]
    assert foresaw.rerouted and foresaw.safe and not foresaw.chosen
    assert foresaw.effects == [f"the {blocker} would be knocked"]
    assert foresaw.text().startswith(f"done straight, the {blocker} would be knocked; going "
                                     "round the ") and foresaw.text().endswith("(predicted safe)")
    assert executor.avoided and all(blocker in a for a in executor.avoided)
    # The scripted skills do not go round anything: the true push still knocks the blocker,
    # and the task is judged on the true state, not on the prediction.
    assert not rec.success and rec.reason.startswith(f"side effect: the {blocker} was knocked")
    assert rec.side_effects[0]["kind"] == "displaced" and rec.avoid == [] and not rec.disturbed


def test_no_foresight_step_where_side_effects_do_not_count(tmp_path):
    plan = sort_plan(1)[:1]
    imaginer = BlockerAwareImaginer(2)
    agent = Agent("hybrid", Resources(executor=ScriptedExecutor(),
                                      decomposer=QueuedDecomposer([plan]), imaginer=imaginer),
                  store=RunStore(tmp_path))
    events = []
    rec = agent.run("sort", "push", seed=1, subgoals=plan, on_event=events.append)
    assert not [e for e in events if e.kind == "foresaw"] and imaginer.calls == [()]
    assert rec.success


@pytest.mark.parametrize("scenario, seed, expect_clear", [("clutter", 0, True),
                                                          ("sort", 1, False)])
def test_a_careful_agent_goes_round_every_block_its_plan_does_not_push(
        tmp_path, scenario, seed, expect_clear):
    layout = world_for(scenario, seed).layout
    plan = [{"skill": "push", "object": layout.blocks[0].name,
             "target": next(t.name for t in layout.targets if t.kind == "zone")}]
    executor = AvoidRecordingExecutor()
    agent = Agent("hybrid-careful", Resources(executor=executor,
                                              decomposer=QueuedDecomposer([plan]),
                                              careful=True), store=RunStore(tmp_path))
    rec = agent.run(scenario, "push", seed=seed, subgoals=plan)
    others = tuple(b.name for b in layout.blocks[1:])
    assert executor.avoided and all(a == (others if expect_clear else ()) for a in
                                    executor.avoided)
    assert rec.avoid == [] and not rec.imagination  # nothing said, nothing imagined


class HarmImaginer:
    """Predicts that a plan runs `straight` metres into block `index` (a knock, or for a
    glass a break), and `round` metres when it keeps clear of it."""

    def __init__(self, index: int, straight: float, round_: float, heads: float | None = None):
        self.i, self.straight, self.round, self.heads = index, straight, round_, heads
        self.calls = []

    def imagine(self, world, state, subgoal, avoid=()):
        self.calls.append(tuple(avoid))
        b = world.layout.blocks[self.i]
        depth = self.round if b.name in avoid else self.straight
        kind, what = ("broke", "would be struck and break") if b.fragile else (
            "displaced", "would be knocked")
        effects = (SideEffect(kind, b.name, what, depth=depth),) if depth > 0 else ()
        said = None if self.heads is None else {"holds": 0.9, "harm": self.heads}
        return Imagination(True, "", list(map(float, state)), 10, effects, predicates=said)


def _glass_push(tmp_path, imaginer, answers=()):
    layout = world_for("fragile", 0).layout
    plan = [{"skill": "push", "object": layout.blocks[0].name,
             "target": layout.targets[0].name}]
    executor = AvoidRecordingExecutor()
    agent = Agent("hybrid", Resources(executor=executor, decomposer=QueuedDecomposer([plan]),
                                      imaginer=imaginer), store=RunStore(tmp_path))
    return agent, executor, plan


def test_the_way_that_spares_the_glass_is_the_one_imagined_and_taken(tmp_path):
    imaginer = HarmImaginer(2, 0.1, 0.0)  # straight at the glass breaks it; round it, nothing
    agent, executor, plan = _glass_push(tmp_path, imaginer)
    events = []
    rec = agent.run("fragile", "push", seed=0, subgoals=plan, on_event=events.append)
    assert "glass" in imaginer.calls[0] and imaginer.calls[1:] == [()]  # then straight, once
    [foresaw] = [e for e in events if e.kind == "foresaw"]  # no harm foreseen the way taken
    assert foresaw.safe and foresaw.effects == ["the glass would be struck and break"]
    assert executor.avoided and all("glass" in a for a in executor.avoided)
    assert rec.question is None and rec.steps > 0


def test_when_every_way_is_sure_to_harm_the_agent_asks_and_nothing_moves(tmp_path):
    agent, executor, plan = _glass_push(tmp_path, HarmImaginer(2, 0.12, 0.08))
    start = world_for("fragile", 0).state()
    rec = agent.run("fragile", "push", seed=0, subgoals=plan)
    assert rec.status == "needs_clarification" and "the glass would be struck and break" in (
        rec.question or "")
    assert rec.steps == 0 and not executor.avoided
    assert np.allclose(agent.sim_state(rec.thread_id), start)
    rec = agent.resume(rec.thread_id, answer="no, leave it")
    assert rec.status == "declined" and rec.steps == 0 and not executor.avoided
    assert "did not act" in rec.reply["text"]


def test_a_person_who_says_go_ahead_gets_the_plan_carried_out(tmp_path):
    agent, executor, plan = _glass_push(tmp_path, HarmImaginer(2, 0.12, 0.08))
    events = []
    rec = agent.run("fragile", "push", seed=0, subgoals=plan, answer=lambda q: "yes, go ahead",
                    on_event=events.append)
    assert rec.steps > 0 and executor.avoided and "glass" in executor.avoided[0]
    said = [(e.kind, getattr(e, "text", "")) for e in events if e.kind in ("question",
                                                                           "replied")]
    assert [k for k, _ in said][-2:] == ["question", "replied"]
    assert "going ahead" in said[-1][1]


def test_a_low_confidence_prediction_does_not_block_the_plan(tmp_path):
    # every way only grazes the glass (2 cm into its contact distance): act, do not ask
    agent, executor, plan = _glass_push(tmp_path, HarmImaginer(2, 0.02, 0.02))
    rec = agent.run("fragile", "push", seed=0, subgoals=plan)
    assert rec.question is None and rec.status in ("done", "failed") and rec.steps > 0
    # the latent heads read little harm on that way: still a graze, still acted on
    agent, executor, plan = _glass_push(tmp_path / "b", HarmImaginer(2, 0.02, 0.02, 0.2))
    rec = agent.run("fragile", "push", seed=0, subgoals=plan)
    assert rec.question is None and rec.steps > 0


def test_a_graze_the_latent_heads_read_as_harm_too_is_asked_about(tmp_path):
    agent, executor, plan = _glass_push(tmp_path, HarmImaginer(2, 0.02, 0.02, 0.8))
    rec = agent.run("fragile", "push", seed=0, subgoals=plan)
    assert rec.status == "needs_clarification" and rec.steps == 0 and not executor.avoided
    assert "the glass would be struck and break" in (rec.question or "")


def test_under_a_centimetre_the_heads_cannot_make_a_graze_sure(tmp_path):
    """`tools.imagination.GRAZE`: a path 5 mm into the contact distance (which carries the
    probe's 3 cm) stays 2.5 cm from touching; even heads sure of harm do not stop the plan."""
    agent, executor, plan = _glass_push(tmp_path, HarmImaginer(2, 0.005, 0.005, 1.0))
    rec = agent.run("fragile", "push", seed=0, subgoals=plan)
    assert rec.question is None and rec.steps > 0 and executor.avoided


def test_a_plan_the_model_was_unsure_of_is_asked_about_and_nothing_moves(tmp_path):
    plan = sort_plan(1)[:1]
    agent = make_agent(tmp_path, [("unsure", plan)])
    rec = agent.run("sort", "picture pushing it in: how would that go?", seed=1)
    assert rec.status == "needs_clarification" and rec.steps == 0
    assert "Did you mean for me to do that now?" in rec.question
    rec = agent.resume(rec.thread_id, answer="no, I only wondered")
    assert rec.status == "declined" and rec.steps == 0 and not rec.success
    world = world_for("sort", 1)
    assert np.allclose(agent.store.trajectory(rec.thread_id)[-1], world.state())


def test_a_yes_to_an_unsure_plan_carries_it_out(tmp_path):
    plan = sort_plan(1)[:1]
    agent = make_agent(tmp_path, [("unsure", plan)])
    rec = agent.run("sort", "push the first block in", seed=1, answer=lambda q: "yes")
    assert rec.status == "done" and rec.success and rec.steps > 0


def test_pixel_and_state_runs_keep_the_same_record(tmp_path):
    """The same episode with the world model reading camera frames or the state vector: the
    same record format, judged alike on the true state."""
    from tools.acting import WorldModelExecutor
    from tools.models import ModelShelf

    plan = [{"skill": "go", "object": "agent", "target": "orange pad"}]
    records = {}
    for obs in ("state", "pixels"):
        agent = Agent("hybrid", Resources(
            executor=WorldModelExecutor("cem", ModelShelf(obs)),
            decomposer=QueuedDecomposer([plan])), store=RunStore(tmp_path / obs))
        records[obs] = agent.run("pads", "go to the orange pad", seed=3, subgoals=plan)
    state, pixels = (records[k].model_dump() for k in ("state", "pixels"))
    assert state.keys() == pixels.keys()
    assert records["pixels"].success and records["state"].success
    assert records["pixels"].steps > 0 and records["state"].steps > 0


class OrderImaginer:
    """Predicts that pushing `first` strikes the glass unless `second` was pushed before it
    (a constructed scene: the critic's choice, not the model's accuracy, is under test)."""

    def __init__(self, first: str, second: str):
        self.first, self.second, self.start = first, second, None

    def imagine(self, world, state, subgoal, avoid=()):
        s = np.asarray(state, float).copy()
        names = [b.name for b in world.layout.blocks]
        if self.start is None:
            self.start = s.copy()
        i = names.index(subgoal.object)
        s[4 + 4 * i:6 + 4 * i] = world.layout.target(subgoal.target).pos
        j = names.index(self.second)
        moved = not np.allclose(s[4 + 4 * j:6 + 4 * j], self.start[4 + 4 * j:6 + 4 * j])
        harm = subgoal.object == self.first and not moved  # going round does not help
        glass = (SideEffect("broke", "glass", "would be struck and break", depth=0.1),)
        return Imagination(True, "", s.tolist(), 10, glass if harm else ())


class OrderingDecomposer(QueuedDecomposer):
    def candidates(self, scene, instruction, plan, k):
        swapped = plan.model_copy(update={"subgoals": plan.subgoals[::-1]})
        self.calls.append(("candidates", k))
        return [plan, swapped][:k], FakeUsage()


def test_the_critic_carries_out_the_order_predicted_to_spare_the_glass(tmp_path):
    layout = world_for("fragile", 0).layout
    a, b = (x.name for x in layout.blocks[:2])
    plan = [{"skill": "push", "object": a, "target": layout.targets[0].name},
            {"skill": "push", "object": b, "target": layout.targets[1].name}]
    decomposer = OrderingDecomposer([plan])
    done = []

    class Recording(AvoidRecordingExecutor):
        def run(self, world, subgoal, max_steps, on_step, avoid=()):
            done.append(subgoal.object)
            return super().run(world, subgoal, max_steps, on_step, avoid)

    agent = Agent("hybrid", Resources(executor=Recording(), decomposer=decomposer,
                                      imaginer=OrderImaginer(a, b), candidates=4),
                  store=RunStore(tmp_path))
    events = []
    rec = agent.run("fragile", "push both", seed=0, subgoals=plan, on_event=events.append)
    chose = [e for e in events if e.kind == "chose"]
    assert ("candidates", 4) in decomposer.calls
    assert len(chose) == 1 and chose[0].considered == 2 and chose[0].chosen == 1
    assert "glass" in chose[0].why and done and done[0] == b
    assert [s.object for s in rec.plan] == [b, a] and rec.question is None
    # one candidate: the LLM's order, and no choice to report
    decomposer = OrderingDecomposer([plan])
    agent = Agent("hybrid", Resources(executor=AvoidRecordingExecutor(), decomposer=decomposer,
                                      imaginer=OrderImaginer(a, b)), store=RunStore(tmp_path))
    events = []
    agent.run("fragile", "push both", seed=0, subgoals=plan, on_event=events.append)
    assert not [e for e in events if e.kind == "chose"]
    assert ("candidates", 4) not in decomposer.calls
