"""Results on disk: one SQLite row per (agent, episode, configuration), written as soon as
the episode ends.

The primary key (agent, episode key, configuration) is what makes a sweep resumable: a rerun
asks which keys are done for its configuration and runs only the rest, so an interrupted sweep
neither repeats nor loses episodes, and rows made another way are never taken for its own.
Table `configs` holds each configuration's fingerprint; one per agent is *current*: the one
the report covers. One file holds one suite.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from agent.evaluation.configs import LEGACY, Configuration, differences
from agent.evaluation.suites import Episode, Suite

COLUMNS = {
    "agent": "TEXT NOT NULL", "key": "TEXT NOT NULL", "config": "TEXT NOT NULL",
    "suite": "TEXT",
    "idx": "INTEGER", "scenario": "TEXT", "seed": "INTEGER", "instruction": "TEXT",
    "grp": "TEXT", "n_subgoals": "INTEGER",
    "status": "TEXT", "reason": "TEXT", "success": "INTEGER", "plan_exact": "INTEGER",
    "has_plan": "INTEGER",
    "subgoals_done": "INTEGER", "subgoals_total": "INTEGER", "steps": "INTEGER",
    "seconds": "REAL", "wall_seconds": "REAL", "llm_calls": "INTEGER",
    "prompt_tokens": "INTEGER", "completion_tokens": "INTEGER", "llm_seconds": "REAL",
    "decision_ms_median": "REAL", "revisions": "INTEGER", "llm": "TEXT",
    "world_model": "TEXT", "side_effects": "TEXT", "thread_id": "TEXT", "worker": "TEXT",
    "error": "TEXT",
    "record": "TEXT", "finished": "REAL",
}
"""The `episodes` table; `record` holds the full EpisodeRecord as JSON."""
PRIMARY_KEY = ("agent", "key", "config")


CURRENT = ("episodes e JOIN configs c ON c.agent = e.agent AND c.config = e.config "
           "AND c.current = 1")
"""the rows of the current configurations (alias e)"""


class StoredElsewise(ValueError):
    """The results file holds another suite, or another configuration of an agent."""


def episode_columns(suite: str, idx: int, ep: Episode) -> dict:
    """The columns that describe the episode itself (the same for every agent)."""
    return {"key": ep.key, "suite": suite, "idx": idx, "scenario": ep.scenario,
            "seed": ep.seed, "instruction": ep.instruction, "grp": ep.group,
            "n_subgoals": ep.horizon}


def row_from_record(base: dict, record, wall_seconds: float, worker: str) -> dict:
    """A result row from an `EpisodeRecord` (success is the record's, i.e. the predicates')."""
    return {
        **base, "agent": record.agent, "status": record.status, "reason": record.reason,
        "success": int(record.success),
        "plan_exact": None if record.plan_exact is None else int(record.plan_exact),
        "has_plan": int(record.plan is not None), "subgoals_done": record.subgoals_done,
        "subgoals_total": record.subgoals_total, "steps": record.steps,
        "seconds": record.seconds, "wall_seconds": wall_seconds,
        "llm_calls": record.llm_calls, "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens, "llm_seconds": record.llm_seconds,
        "decision_ms_median": record.decision_ms_median, "revisions": record.revisions,
        "llm": record.llm, "world_model": record.world_model,
        "side_effects": ",".join(e["kind"] for e in record.side_effects),
        "thread_id": record.thread_id,
        "worker": worker, "error": None, "record": record.model_dump_json(),
        "finished": time.time(),
    }


def error_row(base: dict, agent: str, error: str, wall_seconds: float, worker: str) -> dict:
    """A row for an episode that crashed: it counts as a failure and names the error."""
    return {**base, "agent": agent, "status": "error", "reason": error, "success": 0,
            "plan_exact": None, "has_plan": 0, "subgoals_done": 0,
            "subgoals_total": base["n_subgoals"] or 0,
            "steps": 0, "seconds": 0.0, "wall_seconds": wall_seconds, "llm_calls": 0,
            "prompt_tokens": 0, "completion_tokens": 0, "llm_seconds": 0.0,
            "decision_ms_median": None, "revisions": 0, "llm": "", "world_model": "",
            "side_effects": None, "thread_id": None, "worker": worker, "error": error,
            "record": None,
            "finished": time.time()}


class ResultStore:
    """The sweep's SQLite file: `episodes` (results), `configs` (what made them) and `suite`
    (what was asked)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60)
        self.conn.execute("PRAGMA journal_mode=WAL")
        with self.conn:
            self.conn.execute("CREATE TABLE IF NOT EXISTS configs (agent TEXT NOT NULL, "
                              "config TEXT NOT NULL, suite TEXT, fingerprint TEXT, "
                              "command TEXT, created REAL, current INTEGER, "
                              "PRIMARY KEY (agent, config))")
            self._migrate()
            cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS episodes ({cols}, "
                              f"PRIMARY KEY ({', '.join(PRIMARY_KEY)}))")
            self.conn.execute("CREATE TABLE IF NOT EXISTS suite (suite TEXT, idx INTEGER, "
                              "key TEXT, episode TEXT, PRIMARY KEY (suite, idx))")

    def _migrate(self) -> None:
        """Bring a results file of an older version to this layout: missing columns are added
        (as NULL), and rows stored before configurations were recorded are kept under the
        configuration `legacy` (current, so that a report still shows them until replaced)."""
        info = self.conn.execute("PRAGMA table_info(episodes)").fetchall()
        if not info:
            return
        have = {r[1] for r in info}
        for k, v in COLUMNS.items():
            if k not in have:
                self.conn.execute(f"ALTER TABLE episodes ADD COLUMN {k} "
                                  f"{v.replace(' NOT NULL', '')}")
        if tuple(r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]) == PRIMARY_KEY:
            return
        cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
        self.conn.execute(f"CREATE TABLE episodes_keyed ({cols}, "
                          f"PRIMARY KEY ({', '.join(PRIMARY_KEY)}))")
        names = ", ".join(COLUMNS)
        picks = ", ".join(f"'{LEGACY}'" if k == "config" else k for k in COLUMNS)
        self.conn.execute(f"INSERT INTO episodes_keyed ({names}) SELECT {picks} FROM episodes")
        self.conn.execute("DROP TABLE episodes")
        self.conn.execute("ALTER TABLE episodes_keyed RENAME TO episodes")
        self.conn.execute(
            "INSERT OR IGNORE INTO configs SELECT agent, ?, MIN(suite), ?, '', MIN(finished), 1 "
            "FROM episodes GROUP BY agent", (LEGACY, json.dumps({"legacy": True})))

    def save_suite(self, suite: Suite) -> None:
        """Record the suite's episodes, or refuse if this file holds another suite. (A suite
        file edited since needs no check: rows are keyed by episode, and a report covers only
        the episodes the suite has now.)"""
        names = {r[0] for r in self.conn.execute(
            "SELECT DISTINCT suite FROM suite UNION SELECT DISTINCT suite FROM episodes")
                 if r[0] is not None}
        if names - {suite.name}:
            raise StoredElsewise(
                f"{self.path} holds results of suite {', '.join(sorted(names))}, not "
                f"{suite.name!r}; one results folder holds one suite: pass another --out")
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO suite VALUES (?, ?, ?, ?)",
                [(suite.name, i, ep.key, ep.model_dump_json())
                 for i, ep in enumerate(suite.episodes)])

    def adopt(self, configs: list[Configuration], suite: str, command: str = "",
              new: bool = False) -> None:
        """Make `configs` the current configuration of their agents. An agent whose current
        configuration differs is refused (nothing is changed) unless `new`: then the old rows
        are kept, no longer reported, and this configuration runs afresh (or picks up its own
        earlier rows, if it ran here before)."""
        current = self.current()
        clashes = []
        for c in configs:
            old = current.get(c.agent)
            if old and old["config"] != c.id and not new:
                diff = ("it was stored by an older wmagent that did not record configurations"
                        if old["config"] == LEGACY else
                        "; ".join(differences(old["fingerprint"], c.fingerprint)))
                clashes.append(f"{c.agent} ({diff})")
        if clashes:
            raise StoredElsewise(
                f"{self.path.parent} holds results made another way for "
                f"{' and '.join(clashes)}. Pass --new to run this configuration afresh (the "
                "old rows are kept but no longer reported), or pass another --out")
        with self.conn:
            for c in configs:
                self.conn.execute("UPDATE configs SET current = 0 WHERE agent = ?", (c.agent,))
                self.conn.execute(
                    "INSERT INTO configs VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (agent, "
                    "config) DO UPDATE SET current = 1, command = excluded.command",
                    (c.agent, c.id, suite, json.dumps(c.fingerprint, sort_keys=True), command,
                     time.time()))

    def current(self) -> dict[str, dict]:
        """agent -> its current configuration (config id, fingerprint, command), in the order
        the agents were first stored."""
        cur = self.conn.execute("SELECT agent, config, fingerprint, command FROM configs "
                                "WHERE current = 1 ORDER BY created, agent")
        return {a: {"config": c, "fingerprint": json.loads(f or "{}"), "command": cmd or ""}
                for a, c, f, cmd in cur.fetchall()}

    def write(self, row: dict) -> None:
        """Store one finished episode; committed before this returns."""
        names = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        with self.conn:
            self.conn.execute(f"INSERT OR REPLACE INTO episodes ({names}) VALUES ({marks})",
                              [row.get(k) for k in COLUMNS])

    def finished(self, include_errors: bool = True) -> set[tuple[str, str]]:
        """(agent, key) of every stored row of a current configuration (without error rows
        unless `include_errors`)."""
        sql = f"SELECT e.agent, e.key FROM {CURRENT}"
        if not include_errors:
            sql += " WHERE e.error IS NULL"
        return set(self.conn.execute(sql).fetchall())

    def rows(self, agents: list[str] | None = None, keys: list[str] | None = None) -> list[dict]:
        """Rows of the current configurations as dicts, ordered by agent and episode index."""
        cur = self.conn.execute(f"SELECT e.* FROM {CURRENT} ORDER BY e.agent, e.idx")
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if agents is not None:
            out = [r for r in out if r["agent"] in agents]
        if keys is not None:
            wanted = set(keys)
            out = [r for r in out if r["key"] in wanted]
        return out

    def record(self, agent: str, key: str) -> dict | None:
        """The full EpisodeRecord (as a dict) of one row of the current configuration."""
        row = self.conn.execute(f"SELECT e.record FROM {CURRENT} WHERE e.agent = ? AND "
                                "e.key = ?", (agent, key)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def close(self) -> None:
        self.conn.close()
