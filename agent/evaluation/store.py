"""Results on disk: one SQLite row per (agent, episode), written as soon as the episode ends.

The primary key (agent, episode key) is what makes a sweep resumable: a rerun asks which keys
are done and runs only the rest, so an interrupted sweep neither repeats nor loses episodes.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from agent.evaluation.suites import Episode, Suite

COLUMNS = {
    "agent": "TEXT NOT NULL", "key": "TEXT NOT NULL", "suite": "TEXT",
    "idx": "INTEGER", "scenario": "TEXT", "seed": "INTEGER", "instruction": "TEXT",
    "grp": "TEXT", "n_subgoals": "INTEGER",
    "status": "TEXT", "reason": "TEXT", "success": "INTEGER", "plan_exact": "INTEGER",
    "has_plan": "INTEGER",
    "subgoals_done": "INTEGER", "subgoals_total": "INTEGER", "steps": "INTEGER",
    "seconds": "REAL", "wall_seconds": "REAL", "llm_calls": "INTEGER",
    "prompt_tokens": "INTEGER", "completion_tokens": "INTEGER", "llm_seconds": "REAL",
    "decision_ms_median": "REAL", "revisions": "INTEGER", "llm": "TEXT",
    "world_model": "TEXT", "thread_id": "TEXT", "worker": "TEXT", "error": "TEXT",
    "record": "TEXT", "finished": "REAL",
}
"""The `episodes` table; `record` holds the full EpisodeRecord as JSON."""


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
        "llm": record.llm, "world_model": record.world_model, "thread_id": record.thread_id,
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
            "thread_id": None, "worker": worker, "error": error, "record": None,
            "finished": time.time()}


class ResultStore:
    """The sweep's SQLite file: `episodes` (results) and `suite` (what was asked)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60)
        self.conn.execute("PRAGMA journal_mode=WAL")
        cols = ", ".join(f"{k} {v}" for k, v in COLUMNS.items())
        with self.conn:
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS episodes ({cols}, "
                              "PRIMARY KEY (agent, key))")
            # A results file from an older version gains the columns added since (as NULL).
            have = {r[1] for r in self.conn.execute("PRAGMA table_info(episodes)")}
            for k, v in COLUMNS.items():
                if k not in have:
                    self.conn.execute(f"ALTER TABLE episodes ADD COLUMN {k} "
                                      f"{v.replace(' NOT NULL', '')}")
            self.conn.execute("CREATE TABLE IF NOT EXISTS suite (suite TEXT, idx INTEGER, "
                              "key TEXT, episode TEXT, PRIMARY KEY (suite, idx))")

    def save_suite(self, suite: Suite) -> None:
        """Record the suite's episodes (what a later report or a person can look up)."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO suite VALUES (?, ?, ?, ?)",
                [(suite.name, i, ep.key, ep.model_dump_json())
                 for i, ep in enumerate(suite.episodes)])

    def write(self, row: dict) -> None:
        """Store one finished episode; committed before this returns."""
        names = ", ".join(COLUMNS)
        marks = ", ".join("?" for _ in COLUMNS)
        with self.conn:
            self.conn.execute(f"INSERT OR REPLACE INTO episodes ({names}) VALUES ({marks})",
                              [row.get(k) for k in COLUMNS])

    def finished(self, include_errors: bool = True) -> set[tuple[str, str]]:
        """(agent, key) of every stored row (without error rows unless `include_errors`)."""
        sql = "SELECT agent, key FROM episodes"
        if not include_errors:
            sql += " WHERE error IS NULL"
        return set(self.conn.execute(sql).fetchall())

    def rows(self, agents: list[str] | None = None, keys: list[str] | None = None) -> list[dict]:
        """Result rows as dicts, ordered by agent and episode index."""
        cur = self.conn.execute("SELECT * FROM episodes ORDER BY agent, idx")
        names = [d[0] for d in cur.description]
        out = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if agents is not None:
            out = [r for r in out if r["agent"] in agents]
        if keys is not None:
            wanted = set(keys)
            out = [r for r in out if r["key"] in wanted]
        return out

    def record(self, agent: str, key: str) -> dict | None:
        """The full EpisodeRecord (as a dict) of one row, or None."""
        row = self.conn.execute("SELECT record FROM episodes WHERE agent = ? AND key = ?",
                                (agent, key)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def close(self) -> None:
        self.conn.close()
