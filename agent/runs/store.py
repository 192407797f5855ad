"""Where runs live on disk: the LangGraph SQLite checkpoints, trajectories, episode records."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np


def default_home() -> Path:
    """`$WMAGENT_HOME`, or `.wmagent` in the working directory."""
    return Path(os.environ.get("WMAGENT_HOME", ".wmagent"))


class RunStore:
    """One SQLite file for checkpoints and records, one .npy trajectory per thread."""

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = Path(home) if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "trajectories").mkdir(exist_ok=True)
        self.db_path = self.home / "agent.sqlite"
        self.conn = sqlite3.connect(self.db_path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self.conn:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS wm_runs (thread_id TEXT PRIMARY KEY, agent TEXT, "
                "scenario TEXT, seed INTEGER, instruction TEXT, status TEXT, record TEXT, "
                "updated REAL DEFAULT (julianday('now')))")

    def checkpointer(self):
        from langgraph.checkpoint.sqlite import SqliteSaver

        return SqliteSaver(self.conn)

    # --- trajectories ---------------------------------------------------------------------
    def trajectory_path(self, thread_id: str) -> Path:
        return self.home / "trajectories" / f"{thread_id}.npy"

    def append_trajectory(self, thread_id: str, keep: int, states: np.ndarray) -> None:
        """Keep the first `keep` states of the thread's trajectory and append `states`.

        Truncating to what the last checkpoint knew makes a resumed run rewrite, not repeat,
        the segment that a crash interrupted.
        """
        path = self.trajectory_path(thread_id)
        old = np.load(path)[:keep] if path.exists() and keep else np.zeros((0, states.shape[1]))
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, np.concatenate([old, states]).astype(np.float64))
        os.replace(tmp, path)

    def trajectory(self, thread_id: str) -> np.ndarray:
        path = self.trajectory_path(thread_id)
        if not path.exists():
            raise FileNotFoundError(f"no trajectory recorded for thread {thread_id}")
        return np.load(path)

    # --- records --------------------------------------------------------------------------
    def save_run(self, thread_id: str, agent: str, scenario: str, seed: int, instruction: str,
                 status: str, record: dict | None = None) -> None:
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT INTO wm_runs (thread_id, agent, scenario, seed, instruction, status, "
                "record) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(thread_id) DO UPDATE SET "
                "status=excluded.status, record=excluded.record, updated=julianday('now')",
                (thread_id, agent, scenario, seed, instruction, status,
                 json.dumps(record) if record is not None else None))

    def run_info(self, thread_id: str) -> dict | None:
        row = self.conn.execute(
            "SELECT thread_id, agent, scenario, seed, instruction, status, record FROM wm_runs "
            "WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is None:
            return None
        keys = ("thread_id", "agent", "scenario", "seed", "instruction", "status", "record")
        info = dict(zip(keys, row, strict=True))
        info["record"] = json.loads(info["record"]) if info["record"] else None
        return info

    def runs(self, limit: int = 20) -> list[dict]:
        rows = self.conn.execute(
            "SELECT thread_id, agent, scenario, seed, instruction, status FROM wm_runs "
            "ORDER BY updated DESC LIMIT ?", (limit,)).fetchall()
        keys = ("thread_id", "agent", "scenario", "seed", "instruction", "status")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def close(self) -> None:
        self.conn.close()
