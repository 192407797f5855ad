"""Evaluation suites: the episodes every agent is measured on, built in or read from YAML.

An episode is a seeded scene, an instruction and, when known, the ground-truth subgoals.
Every agent of a sweep gets exactly the same episodes; an episode's `key` (a hash of its
content) identifies its result rows, so a rerun skips what is already measured.

Built-in suites (`--suite NAME`) come from the instruction generator's held-out `test` split,
on scene seeds from `SEED_BASE` up (layouts the training data, which starts at seed 0, is
unlikely to contain), and never contain an episode whose first subgoal holds at the start:

- `FAMILY-K` for every scenario family and K in 1, 2, 4, 6 subgoals (e.g. `push-2`, `sort-4`)
- `default`: push and sort, alternating, 2 to 4 subgoals
- `horizon`: pads, push, rooms and sort at 1, 2, 4 and 6 subgoals (success against plan
  length)
- `foresight`: the families with consequences (`Scenario.consequences`: clutter, fragile, ledge),
  alternating, 1 to 4 subgoals, only tasks where a straight execution could cause a side
  effect (`scenarios.side_effects.at_risk`); success there needs no side effect
- `paraphrase`: each task said several ways (`group` names the task): planning should not
  depend on the wording

Suite files (`--suite FILE.yaml`) are documented in `docs/suites.md`:

    name: my-suite                  # optional; default: the file name
    description: what it measures   # optional
    episodes:
      - scenario: push
        seed: 3
        instruction: push the red block into the green zone
        subgoals:                   # optional: judges the decomposition, and oracle agents need it
          - {skill: push, object: red block, target: green zone}

Everything is checked against the seeded scene before anything runs; each problem is reported
with the file, the entry (and its line) and the field.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from scenarios import instructions, names, world_for
from scenarios.instructions import Task
from scenarios.registry import get
from scenarios.scene import SceneDescription
from scenarios.side_effects import at_risk
from scenarios.subgoals import Subgoal

SEED_BASE = 10_000
"""First scene seed of the built-in suites."""
HORIZONS = (1, 2, 4, 6)
CLASSIC = ("pads", "push", "rooms", "sort")
"""the families of the `horizon` suite: those before the foresight families, so that its
episodes (and every figure measured on it) stay the same"""
PARAPHRASES = 3
"""Phrasings per task in the paraphrase suite."""


class Episode(BaseModel):
    """One thing to do: the same for every agent of a sweep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: str
    seed: int
    instruction: str
    subgoals: list[Subgoal] | None = None
    """the ground truth, in order; None when the suite does not know it"""
    group: str = ""
    """what the episode belongs to (built-in: the sub-suite; paraphrase: the task)"""

    @property
    def key(self) -> str:
        """Identifies the episode's result rows: a hash of scenario, seed, words and truth."""
        truth = [s.model_dump() for s in self.subgoals] if self.subgoals else None
        blob = json.dumps([self.scenario, self.seed, self.instruction, truth], sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:16]

    @property
    def horizon(self) -> int | None:
        """Number of ground-truth subgoals (None without ground truth)."""
        return len(self.subgoals) if self.subgoals else None


@dataclass(frozen=True)
class Suite:
    """A named, ordered list of episodes."""

    name: str
    description: str
    episodes: tuple[Episode, ...]
    source: str = ""
    """'built-in' or the path of the suite file"""


class SuiteFileError(ValueError):
    """A suite file that cannot be run; the message lists every problem with its place."""


# --- built-in suites ----------------------------------------------------------------------
def _solved_at_start(task: Task | Episode) -> bool:
    return bool(task.subgoals) and world_for(task.scenario, task.seed).holds(task.subgoals[0])


def _fresh(tasks: Iterator[Task], n: int, group: str) -> list[Episode]:
    """The first `n` tasks whose first subgoal does not already hold, as episodes.

    The generator already avoids solved starts; this re-samples (takes the next task) if one
    slips through, because a solved start inflates success rates.
    """
    kept = itertools.islice((t for t in tasks if not _solved_at_start(t)), n)
    return [Episode(scenario=t.scenario, seed=t.seed, instruction=t.instruction,
                    subgoals=list(t.subgoals), group=group) for t in kept]


def _tasks(scenario: str, horizons: tuple[int, ...], seed: int = SEED_BASE) -> Iterator[Task]:
    # Lazy and unbounded: the generator is deterministic, so any prefix is reproducible.
    return instructions.generate(scenario, 10**9, "test", seed=seed, subgoals=horizons)


def _family(scenario: str, k: int) -> Callable[[int], list[Episode]]:
    return lambda n: _fresh(_tasks(scenario, (k,)), n, f"{scenario}-{k}")


def _mix(scenarios: tuple[str, ...], horizons: tuple[int, ...], n: int) -> list[Episode]:
    """Round-robin over `scenarios`; each cycles through `horizons`."""
    per = -(-n // len(scenarios))
    lists = [_fresh(_tasks(s, horizons), per, f"{s}-mix") for s in scenarios]
    eps = [ep for row in itertools.zip_longest(*lists) for ep in row if ep is not None]
    return [e.model_copy(update={"group": f"{e.scenario}-{e.horizon}"}) for e in eps[:n]]


def _foresight(n: int) -> list[Episode]:
    """`n` episodes round-robin over the families with consequences, 1-4 subgoals, keeping
    the tasks `at_risk` of a side effect."""
    families = tuple(s for s in names() if get(s).consequences)
    per = -(-n // len(families))

    def risky(scenario: str) -> Iterator[Task]:
        return (t for t in _tasks(scenario, (1, 2, 3, 4))
                if at_risk(get(scenario).layout(t.seed), list(t.subgoals)))

    lists = [_fresh(risky(s), per, s) for s in families]
    eps = [ep for row in itertools.zip_longest(*lists) for ep in row if ep is not None]
    return [e.model_copy(update={"group": f"{e.scenario}-{e.horizon}"}) for e in eps[:n]]


def _paraphrase(n: int) -> list[Episode]:
    """`n` episodes: tasks from `horizon`-like mixes, each phrased PARAPHRASES ways."""
    bases = _mix(("push", "sort", "pads", "rooms"), (2, 3), -(-n // PARAPHRASES))
    out = []
    for b, base in enumerate(bases):
        layout = get(base.scenario).layout(base.seed)
        rng = np.random.default_rng([SEED_BASE, b])
        said = {base.instruction}
        out.append(base.model_copy(update={"group": f"task-{b}"}))
        for _ in range(20 * PARAPHRASES):
            if len(said) == PARAPHRASES:
                break
            text = instructions.phrase(layout, list(base.subgoals or []), rng, "test")
            if text not in said:
                said.add(text)
                out.append(base.model_copy(update={"instruction": text, "group": f"task-{b}"}))
    return out[:n]


@dataclass(frozen=True)
class BuiltIn:
    description: str
    build: Callable[[int], list[Episode]]
    default_episodes: int


def _builtins() -> dict[str, BuiltIn]:
    out = {
        "default": BuiltIn("push and sort, 2-4 subgoals, held-out phrasings",
                           lambda n: _mix(("push", "sort"), (2, 3, 4), n), 60),
        "horizon": BuiltIn("pads, push, rooms and sort at 1, 2, 4 and 6 subgoals, held-out "
                           "phrasings", lambda n: _mix(CLASSIC, HORIZONS, n), 64),
        "foresight": BuiltIn("the families with consequences, 1-4 subgoals, only tasks a "
                             "straight execution could spoil, held-out phrasings",
                             _foresight, 60),
        "paraphrase": BuiltIn(f"each task phrased {PARAPHRASES} ways (held-out phrasings)",
                              _paraphrase, 60),
    }
    for scenario in names():
        for k in HORIZONS:
            out[f"{scenario}-{k}"] = BuiltIn(
                f"{scenario}, {k} subgoal{'s' * (k > 1)}, held-out phrasings",
                _family(scenario, k), 30)
    return out


BUILTINS = _builtins()


def builtin_names() -> list[str]:
    return list(BUILTINS)


def load_suite(spec: str | Path, episodes: int | None = None) -> Suite:
    """The built-in suite called `spec`, or the suite file at `spec`.

    `episodes` sets the size of a built-in suite (default: its own) and caps a file's entries.
    """
    if episodes is not None and episodes < 1:
        raise ValueError(f"episodes must be at least 1, not {episodes}")
    if str(spec) in BUILTINS:
        b = BUILTINS[str(spec)]
        n = episodes or b.default_episodes
        return Suite(str(spec), b.description, tuple(b.build(n)), "built-in")
    path = Path(spec)
    if path.suffix in (".yaml", ".yml", ".json") or path.exists():
        suite = load_suite_file(path)
        return Suite(suite.name, suite.description, suite.episodes[:episodes], suite.source)
    raise ValueError(f"unknown suite {str(spec)!r}: give a suite file (.yaml) or one of: "
                     f"{', '.join(BUILTINS)}")


# --- suite files --------------------------------------------------------------------------
FIELDS = ("scenario", "seed", "instruction", "subgoals", "group")


def _entry_lines(text: str) -> list[int]:
    """Line number (1-based) of each entry under `episodes`, for error messages."""
    try:
        root = yaml.compose(text)
        seq = next(v for k, v in root.value if k.value == "episodes")
        return [node.start_mark.line + 1 for node in seq.value]
    except (AttributeError, StopIteration, TypeError, yaml.YAMLError):
        return []


def _field_of(problem: str) -> str:
    """Which subgoal field a `SceneDescription.subgoal_problems` sentence is about."""
    return "target" if "targets are" in problem or "pushed into zones" in problem else "object"


def _check_entry(raw: object) -> tuple[Episode | None, list[tuple[str, str]]]:
    """An episode and the (field, problem) pairs of one suite-file entry."""
    if not isinstance(raw, dict):
        return None, [("", f"an entry is a mapping with {', '.join(FIELDS[:3])} "
                           f"(and optionally subgoals), not {type(raw).__name__}")]
    errs = [(str(k), f"unknown field; fields are {', '.join(FIELDS)}")
            for k in raw if k not in FIELDS]
    for f in FIELDS[:3]:
        if f not in raw:
            errs.append((f, "missing"))
    scenario, seed, text = raw.get("scenario"), raw.get("seed"), raw.get("instruction")
    if "scenario" in raw and scenario not in names():
        errs.append(("scenario", f"unknown scenario {scenario!r}; choose one of: "
                                 f"{', '.join(names())}"))
    if "seed" in raw and (isinstance(seed, bool) or not isinstance(seed, int)
                          or not 0 <= seed < 2**63):
        errs.append(("seed", f"a seed is an integer from 0 to 2**63 - 1, not {seed!r}"))
    if "instruction" in raw and (not isinstance(text, str) or not text.strip()):
        errs.append(("instruction", "an instruction is a non-empty string"))
    if "group" in raw and not isinstance(raw["group"], str):
        errs.append(("group", "a group is a string"))
    subgoals = raw.get("subgoals")
    if subgoals is not None and (not isinstance(subgoals, list) or not subgoals):
        errs.append(("subgoals", "subgoals is a non-empty list of {skill, object, target}"))
        subgoals = None
    if errs:
        return None, errs
    scene = SceneDescription.from_layout(get(scenario).layout(seed))
    parsed: list[Subgoal] = []
    for j, s in enumerate(subgoals or [], 1):
        where = f"subgoals[{j}]"
        try:
            sub = Subgoal.model_validate(s)
        except ValidationError as e:
            for err in e.errors():
                loc = ".".join(str(x) for x in err["loc"])
                errs.append((f"{where}.{loc}" if loc else where, err["msg"]))
            continue
        errs += [(f"{where}.{_field_of(p)}", p) for p in scene.subgoal_problems(sub)]
        parsed.append(sub)
    if errs:
        return None, errs
    ep = Episode(scenario=scenario, seed=seed, instruction=text.strip(),
                 subgoals=parsed or None, group=raw.get("group", ""))
    if _solved_at_start(ep):
        errs.append(("subgoals[1]", f"'{parsed[0].text()}' already holds at the start of "
                                    f"{scenario} seed {seed}; pick another seed (a solved "
                                    "start inflates success)"))
    return ep, errs


def load_suite_file(path: str | Path) -> Suite:
    """Read and check a suite file; a SuiteFileError lists every problem with its place."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"suite file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SuiteFileError(f"{path}: not a text file (not UTF-8); a suite is YAML text "
                             "(see docs/suites.md)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise SuiteFileError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("episodes"), list):
        raise SuiteFileError(f"{path}: a suite file is a mapping with an 'episodes' list "
                             "(see docs/suites.md)")
    extra = set(data) - {"name", "description", "episodes"}
    if extra:
        raise SuiteFileError(f"{path}: unknown top-level field(s) {', '.join(sorted(extra))}; "
                             "fields are name, description, episodes")
    lines = _entry_lines(text)
    problems, episodes, seen = [], [], {}
    for i, raw in enumerate(data["episodes"], 1):
        line = f" (line {lines[i - 1]})" if i <= len(lines) else ""
        ep, errs = _check_entry(raw)
        if ep is not None and not errs and ep.key in seen:
            errs = [("", f"repeats entry {seen[ep.key]}")]
        for field, msg in errs:
            at = f", field '{field}'" if field else ""
            problems.append(f"{path}: entry {i}{line}{at}: {msg}")
        if ep is not None and not errs:
            seen[ep.key] = i
            episodes.append(ep)
    if not data["episodes"]:
        problems.append(f"{path}: 'episodes' is empty")
    if problems:
        raise SuiteFileError("\n".join(problems))
    return Suite(str(data.get("name") or path.stem), str(data.get("description") or ""),
                 tuple(episodes), str(path))
