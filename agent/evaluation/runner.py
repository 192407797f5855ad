"""Running a sweep: every (agent, episode) not yet stored, in-process, in a process pool or
on Ray, each row written the moment its episode ends.

Each worker (process or Ray actor) builds each agent kind once and reuses it for all its
episodes. An exception inside an episode becomes an error row (the sweep goes on); a worker
process that dies is replaced and its episode tried once more before it gets an error row. An
agent that cannot be built stops the sweep with the reason: that is a setup problem, not a
result.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import socket
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from agent.evaluation.configs import configuration
from agent.evaluation.store import (
    ResultStore,
    StoredElsewise,
    episode_columns,
    error_row,
    row_from_record,
)
from agent.evaluation.suites import Episode, Suite
from agent.kinds.registry import KINDS, kind, make_agent
from agent.kinds.settings import AgentSettings

RAY_MISSING = ("--ray needs Ray, which is not installed: pip install 'wmagent[ray]' "
               "(or pip install 'ray>=2.9')")
DB_NAME = "results.sqlite"
ATTEMPTS_AFTER_DEATH = 2
"""an episode in flight when its worker process died this many times gets an error row (the
second time it ran alone, so it is the one that kills its worker)"""


def needs_ground_truth(name: str) -> bool:
    """Oracle agents are handed the ground-truth subgoals instead of decomposing."""
    return kind(name).needs_ground_truth


def default_factory(name: str, llm: str | None, home: Path, obs: str = "state",
                    candidates: int = AgentSettings.candidates, planner_seed: int = 0):
    """`agent.kinds.registry.make_agent`, the agents the CLI knows; `obs`: what their world
    models read (the state, or camera frames: 'pixels'); `candidates`: hybrid's plans to
    compare where side effects count; `planner_seed`: the latent search's seed."""
    return make_agent(name, llm=llm, home=home, obs=obs, candidates=candidates,
                      planner_seed=planner_seed)


@dataclass(frozen=True)
class Job:
    """One agent on one episode of a suite."""

    agent: str
    idx: int
    episode: Episode
    suite: str

    @property
    def id(self) -> tuple[str, str]:
        return self.agent, self.episode.key


class AgentBuildError(ValueError):
    """An agent kind could not be built: the sweep stops, nothing is recorded for it."""


class EpisodeWorker:
    """Runs jobs in one process; builds each agent kind once, on its first job."""

    def __init__(self, factory: Callable, llm: str | None, home: str | Path):
        self.factory, self.llm, self.home = factory, llm, Path(home)
        self.agents: dict = {}
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, job: Job) -> dict:
        """A result row, an error row, or `{"build_error": ...}`; never raises."""
        if job.agent not in self.agents:
            try:
                self.agents[job.agent] = self.factory(job.agent, self.llm, self.home)
            except Exception as e:  # noqa: BLE001  (any failure to build is reported)
                return {"build_error": f"could not build the {job.agent} agent: "
                                       f"{type(e).__name__}: {e}"}
        ep, base = job.episode, episode_columns(job.suite, job.idx, job.episode)
        start = time.perf_counter()
        try:
            rec = self.agents[job.agent].run(ep.scenario, ep.instruction, seed=ep.seed,
                                             subgoals=ep.subgoals)
            if (rec.scenario, rec.seed) != (ep.scenario, ep.seed):
                raise RuntimeError(f"the agent ran {rec.scenario}/{rec.seed}, "
                                   f"not {ep.scenario}/{ep.seed}")
        except Exception as e:  # noqa: BLE001  (one broken episode must not end the sweep)
            where = traceback.extract_tb(e.__traceback__)[-1]
            msg = f"{type(e).__name__}: {e} ({Path(where.filename).name}:{where.lineno})"
            return error_row(base, job.agent, msg, time.perf_counter() - start, self.name)
        return row_from_record(base, rec, time.perf_counter() - start, self.name)


@dataclass(frozen=True)
class SweepConfig:
    """How to run a sweep."""

    agents: tuple[str, ...]
    """agent kinds, in report order"""
    out: Path
    """output directory: results.sqlite, runs/ (agent checkpoints) and the report"""
    workers: int = 1
    """parallel episodes: processes (1: this process), or Ray actors with `ray`"""
    ray: str | None = None
    """None: no Ray; 'local': start a new local Ray instance; else a Ray cluster address
    (e.g. 'auto' or 'ray://head:10001')"""
    llm: str | None = None
    """LLM backend for every agent: 'embedded' (default), a server URL, or 'scripted:FILE'"""
    retry_errors: bool = False
    """run again the episodes whose stored row is an error"""
    new: bool = False
    """an agent whose stored rows were made by another configuration runs afresh (else the
    sweep is refused)"""
    command: str = ""
    """the command that asked for this sweep, kept with each configuration for the report"""
    obs: str = "state"
    """what the agents' world models read: 'state' or 'pixels' (camera frames; the families
    with a shipped pixel model only). Part of each agent's configuration"""
    candidates: int = AgentSettings.candidates
    """hybrid: plans meaning the same that the critic compares where side effects count
    (`AgentSettings.candidates`). Part of hybrid's configuration"""
    planner_seed: int = 0
    """the world-model agents' planner seed (`AgentSettings.planner_seed`); part of their
    configuration where it is not 0"""

    def __post_init__(self):
        if not self.agents:
            raise ValueError("name at least one agent, e.g. --agents hybrid,llm-only")
        unknown = [a for a in self.agents if a not in KINDS]
        if unknown:
            raise ValueError(f"unknown agent(s) {', '.join(unknown)}; choose from: "
                             f"{', '.join(KINDS)}")
        if len(set(self.agents)) != len(self.agents):
            raise ValueError(f"an agent is named twice in {', '.join(self.agents)}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, not {self.workers}")

    @property
    def db(self) -> Path:
        return self.out / DB_NAME

    @property
    def home(self) -> Path:
        return (self.out / "runs").resolve()


def plan_jobs(suite: Suite, cfg: SweepConfig, store: ResultStore) -> list[Job]:
    """The jobs not yet stored, episode by episode (so a partial sweep compares agents on
    the same episodes)."""
    blind = sum(not ep.subgoals for ep in suite.episodes)
    oracles = [a for a in cfg.agents if needs_ground_truth(a)]
    if blind and oracles:
        raise ValueError(f"the {oracles[0]} agent needs ground-truth subgoals, and {blind} "
                         f"episode(s) of suite {suite.name!r} have none; add 'subgoals' to "
                         "every entry or drop the oracle agents")
    done = store.finished(include_errors=not cfg.retry_errors)
    return [Job(a, i, ep, suite.name) for i, ep in enumerate(suite.episodes)
            for a in cfg.agents if (a, ep.key) not in done]


def run_sweep(suite: Suite, cfg: SweepConfig, factory: Callable = default_factory,
              on_start: Callable[[int], None] | None = None,
              on_row: Callable[[dict], None] | None = None) -> ResultStore:
    """Run every (agent, episode) of `suite` that `cfg.out` has no row for yet, for each
    agent's configuration (`agent.evaluation.configs`); another suite in `cfg.out`, or another
    configuration of an agent without `cfg.new`, raises `StoredElsewise` before anything runs.

    `factory(kind, llm, home)` builds an agent (module-level, so workers can import it).
    `on_start(n)` hears how many jobs will run; `on_row(row)` each row once it is stored.
    """
    settings = AgentSettings(llm=cfg.llm, obs=cfg.obs, candidates=cfg.candidates,
                             planner_seed=cfg.planner_seed)
    configs = {a: configuration(a, suite.name, settings) for a in cfg.agents}
    if cfg.obs != "state":  # a module-level function with a keyword: workers can import it
        factory = partial(factory, obs=cfg.obs)
    if cfg.candidates != AgentSettings.candidates:
        factory = partial(factory, candidates=cfg.candidates)
    if cfg.planner_seed:
        factory = partial(factory, planner_seed=cfg.planner_seed)
    cfg.out.mkdir(parents=True, exist_ok=True)
    store = ResultStore(cfg.db)
    try:
        store.save_suite(suite)
        store.adopt(list(configs.values()), suite.name, cfg.command, new=cfg.new)
    except StoredElsewise:
        store.close()
        raise
    jobs = plan_jobs(suite, cfg, store)
    if on_start:
        on_start(len(jobs))
    if not jobs:
        return store
    if cfg.ray is not None:
        rows = _on_ray(jobs, cfg, factory)
    elif cfg.workers == 1:
        worker = EpisodeWorker(factory, cfg.llm, cfg.home)
        rows = (worker.run(job) for job in jobs)
    else:
        rows = _in_pool(jobs, cfg, factory)
    written: set[tuple[str, str]] = set()
    with closing(rows):
        for row in rows:
            if "build_error" in row:
                raise AgentBuildError(row["build_error"])
            store.write({**row, "config": configs[row["agent"]].id})
            written.add((row["agent"], row["key"]))
            if on_row:
                on_row(row)
    lost = {job.id for job in jobs} - written
    if lost:  # a harness bug; rerunning the command runs them, but say so loudly
        raise RuntimeError(f"{len(lost)} episode(s) ended without a row, e.g. {min(lost)}; "
                           "rerun the same command to run them")
    return store


# --- a local process pool -----------------------------------------------------------------
_WORKER: EpisodeWorker | None = None


def _init_worker(factory: Callable, llm: str | None, home: Path) -> None:
    global _WORKER
    os.environ.setdefault("MUJOCO_GL", "egl")
    _WORKER = EpisodeWorker(factory, llm, home)


def _run_in_worker(job: Job) -> dict:
    assert _WORKER is not None
    return _WORKER.run(job)


def _died(job: Job, deaths: Counter, why: str) -> dict | None:
    """An error row once a job has been in flight at ATTEMPTS_AFTER_DEATH deaths, else None."""
    deaths[job.id] += 1
    if deaths[job.id] < ATTEMPTS_AFTER_DEATH:
        return None
    base = episode_columns(job.suite, job.idx, job.episode)
    return error_row(base, job.agent, f"the worker died during the episode ({why})", 0.0, "")


def _in_pool(jobs: list[Job], cfg: SweepConfig, factory: Callable) -> Iterator[dict]:
    # spawn, not fork: the parent may hold threads (progress bar, torch, an LLM client).
    ctx = mp.get_context("spawn")
    queue, suspects, deaths = deque(jobs), deque(), Counter()
    while queue or suspects:
        pool = ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_init_worker,
                                   initargs=(factory, cfg.llm, cfg.home))
        inflight: dict = {}
        clean = broken = False
        try:
            while (queue or suspects or inflight) and not broken:
                batch = _next_jobs(queue, suspects, len(inflight), 2 * cfg.workers)
                for k, job in enumerate(batch):
                    try:
                        inflight[pool.submit(_run_in_worker, job)] = job
                    except BrokenProcessPool:  # back where they came from, in order
                        for left in reversed(batch[k:]):
                            (suspects if deaths[left.id] else queue).appendleft(left)
                        broken = True
                        break
                if broken:
                    break
                for fut in wait(inflight, return_when=FIRST_COMPLETED).done:
                    if isinstance(fut.exception(), BrokenProcessPool):
                        broken = True
                        continue
                    inflight.pop(fut)
                    yield fut.result()  # any other exception is a harness bug: raise it
            # A dead worker breaks the whole pool: every job still in flight is suspect and
            # runs again alone, so only the one that kills its worker again gets an error row.
            for fut, job in inflight.items():
                if fut.done() and fut.exception() is None:
                    yield fut.result()
                    continue
                row = _died(job, deaths, "process pool broken")
                if row is None:
                    suspects.append(job)
                else:
                    yield row
            clean = True
        finally:
            if not clean:  # interrupted: unfinished episodes are simply not stored
                for proc in list(getattr(pool, "_processes", {}).values()):
                    proc.terminate()
            pool.shutdown(wait=True, cancel_futures=True)


def _next_jobs(queue: deque, suspects: deque, running: int, limit: int) -> list[Job]:
    """Jobs to submit now: a suspect alone (nothing else running), else up to `limit` in
    flight (two per worker: a crash or Ctrl-C loses little)."""
    if suspects:
        return [suspects.popleft()] if running == 0 else []
    return [queue.popleft() for _ in range(min(len(queue), limit - running))]


# --- Ray ------------------------------------------------------------------------------------
def _on_ray(jobs: list[Job], cfg: SweepConfig, factory: Callable) -> Iterator[dict]:
    """Jobs as calls on `cfg.workers` Ray actors, each an EpisodeWorker (agents built once
    per actor; with `--llm URL` they share one LLM server)."""
    try:
        import ray
        from ray.exceptions import RayActorError, RayTaskError
    except ImportError:
        raise ValueError(RAY_MISSING) from None
    started = not ray.is_initialized()
    if started:
        env = {k: os.environ[k] for k in ("PYTHONPATH", "MUJOCO_GL", "WMAGENT_HOME")
               if k in os.environ}
        local = cfg.ray == "local"
        ray.init(address=cfg.ray, num_cpus=cfg.workers if local else None,
                 include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": env} if env else None)
    actor_cls = ray.remote(num_cpus=1)(EpisodeWorker)
    actors = [actor_cls.remote(factory, cfg.llm, str(cfg.home)) for _ in range(cfg.workers)]
    idle, inflight, queue, deaths = list(actors), {}, deque(jobs), Counter()
    try:
        while queue or inflight:
            while queue and idle:
                actor, job = idle.pop(), queue.popleft()
                inflight[actor.run.remote(job)] = (actor, job)
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                actor, job = inflight.pop(ref)
                try:
                    row = ray.get(ref)
                except (RayActorError, RayTaskError) as e:
                    if getattr(e, "actor_init_failed", False):  # a setup problem, not a result
                        raise AgentBuildError(f"a Ray worker could not start: {e}") from None
                    fresh = actor_cls.remote(factory, cfg.llm, str(cfg.home))
                    actors.append(fresh)
                    idle.append(fresh)
                    row = _died(job, deaths, f"{type(e).__name__}: {str(e).splitlines()[0]}")
                    if row is None:
                        queue.appendleft(job)
                        continue
                else:
                    idle.append(actor)
                yield row
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()
