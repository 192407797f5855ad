"""Where runs live on disk: the LangGraph SQLite checkpoints, trajectories, episode records."""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import threading
from pathlib import Path

import numpy as np
import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer


def default_home() -> Path:
    """`$WMAGENT_HOME`, or `.wmagent` in the working directory."""
    return Path(os.environ.get("WMAGENT_HOME", ".wmagent"))


# What a checkpoint of ours may rebuild: LangGraph's own control objects (an interrupt and its
# answer). Everything else in AgentState is plain data (str, numbers, lists, dicts, bytes).
ALLOWED_TYPES = frozenset({("langgraph.types", n) for n in ("Interrupt", "Command", "Send")})
_OBJECT_EXTS = range(0, 6)  # LangGraph's msgpack codes that name a class or method to call
_NESTED_EXTS = (7,)  # a delta snapshot: msgpack inside


THREAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class UnsafeCheckpoint(ValueError):
    """A checkpoint asks to rebuild an object that wmagent never writes: refused, not run."""


class StrictSerializer(JsonPlusSerializer):
    """LangGraph's serializer that rebuilds only `ALLOWED_TYPES` and refuses the rest.

    LangGraph's default imports and calls whatever class a checkpoint names (CVE-2026-28277),
    so an edited `agent.sqlite`, e.g. one shared from an eval folder, could run code on
    resume. Here every object a checkpoint names is checked before anything is built; one
    outside the allowlist stops the load with `UnsafeCheckpoint`, naming the file.
    """

    def __init__(self, source: str | os.PathLike = "the run store"):
        super().__init__(allowed_msgpack_modules=sorted(ALLOWED_TYPES))
        self.source = str(source)

    def loads_typed(self, data: tuple[str, bytes]) -> object:
        kind, blob = data
        if kind == "msgpack":
            self._check(blob)
        elif kind not in ("null", "bytes", "bytearray"):
            self._refuse(f"data serialized as {kind!r}")
        return super().loads_typed(data)

    def _check(self, blob: bytes) -> None:
        refused: list[str] = []

        def hook(code: int, raw: bytes) -> None:
            if code in _OBJECT_EXTS or code in _NESTED_EXTS:
                inner = ormsgpack.unpackb(raw, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
                if code in _OBJECT_EXTS and (inner[0], inner[1]) not in ALLOWED_TYPES:
                    refused.append(f"{inner[0]}.{inner[1]}")
                    raise UnsafeCheckpoint(refused[-1])
            return None

        try:
            ormsgpack.unpackb(blob, ext_hook=hook, option=ormsgpack.OPT_NON_STR_KEYS)
        except (ValueError, TypeError, IndexError) as e:
            self._refuse(f"an object {refused[0]}" if refused else f"unreadable data ({e})")

    def _refuse(self, what: str) -> None:
        raise UnsafeCheckpoint(
            f"refused to load a checkpoint from {self.source}: it holds {what}, which wmagent "
            "never writes, so the file was changed by something else; nothing from it was run. "
            "Start a new run, or use a WMAGENT_HOME you trust")


class RunStore:
    """One SQLite file for checkpoints and records, one .npy trajectory per thread.

    A process running a thread holds a lock on `locks/THREAD.lock` until the run ends; the
    operating system drops it when the process dies, however it dies. So a row still marked
    `running` whose lock is free belongs to a dead process and is shown as `interrupted`.
    """

    def __init__(self, home: str | os.PathLike | None = None):
        self.home = Path(home) if home is not None else default_home()
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "trajectories").mkdir(exist_ok=True)
        (self.home / "locks").mkdir(exist_ok=True)
        self._claims: dict[str, int] = {}
        self.db_path = self.home / "agent.sqlite"
        self.conn = sqlite3.connect(self.db_path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self.conn:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS wm_runs (thread_id TEXT PRIMARY KEY, agent TEXT, "
                "scenario TEXT, seed INTEGER, instruction TEXT, status TEXT, record TEXT, "
                "updated REAL DEFAULT (julianday('now')), obs TEXT DEFAULT 'state')")
            columns = {r[1] for r in self.conn.execute("PRAGMA table_info(wm_runs)")}
            if "obs" not in columns:  # a store written before runs kept their observation
                self.conn.execute("ALTER TABLE wm_runs ADD COLUMN obs TEXT DEFAULT 'state'")

    def checkpointer(self):
        from langgraph.checkpoint.sqlite import SqliteSaver

        return SqliteSaver(self.conn, serde=StrictSerializer(self.db_path))

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
        # The partial file must not look like a trajectory (`*.npy`) to anyone listing them
        # while it is being written, and must be on disk before it replaces the old one.
        tmp = path.with_name(f".{path.name}.partial")
        with open(tmp, "wb") as f:
            np.save(f, np.concatenate([old, states]).astype(np.float64))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def trajectory(self, thread_id: str) -> np.ndarray:
        path = self.trajectory_path(thread_id)
        if not path.exists():
            raise FileNotFoundError(f"no trajectory recorded for thread {thread_id}")
        return np.load(path)

    # --- records --------------------------------------------------------------------------
    def save_run(self, thread_id: str, agent: str, scenario: str, seed: int, instruction: str,
                 status: str, record: dict | None = None, obs: str = "state") -> None:
        """Write the run's row; `running` claims the thread for this process, anything else
        releases it. `obs` is what its world model reads, which a resume must read too."""
        if status == "running":
            self._claim(thread_id)
        with self._lock, self.conn:
            self.conn.execute(
                "INSERT INTO wm_runs (thread_id, agent, scenario, seed, instruction, status, "
                "record, obs) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(thread_id) DO UPDATE "
                "SET status=excluded.status, record=excluded.record, updated=julianday('now')",
                (thread_id, agent, scenario, seed, instruction, status,
                 json.dumps(record) if record is not None else None, obs))
        if status != "running":
            self.release(thread_id)

    def mark_running(self, thread_id: str) -> None:
        """A stopped run continues in this process."""
        self._claim(thread_id)
        with self._lock, self.conn:
            self.conn.execute("UPDATE wm_runs SET status='running', updated=julianday('now') "
                              "WHERE thread_id=?", (thread_id,))

    def _lock_path(self, thread_id: str) -> Path:
        if not THREAD_ID.fullmatch(thread_id):
            raise ValueError(f"{thread_id!r} is not a thread id: use 1-64 letters, digits, "
                             "'-' or '_' (`wmagent runs` lists the ids)")
        return self.home / "locks" / f"{thread_id}.lock"

    def _claim(self, thread_id: str) -> None:
        if thread_id in self._claims:
            return
        fd = os.open(self._lock_path(thread_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ValueError(f"thread {thread_id} is running in another process right now; "
                             "wait for it to end, or stop it first") from None
        self._claims[thread_id] = fd

    def release(self, thread_id: str) -> None:
        """This process stopped running the thread (a row left `running` on disk then shows
        as `interrupted` until resumed)."""
        fd = self._claims.pop(thread_id, None)
        if fd is not None:
            os.close(fd)  # closing drops the lock
            self._lock_path(thread_id).unlink(missing_ok=True)

    def _alive(self, thread_id: str) -> bool:
        """Some process (this one or another) is running the thread now."""
        if thread_id in self._claims:
            return True
        try:
            fd = os.open(self._lock_path(thread_id), os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def _status(self, thread_id: str, status: str) -> str:
        return "interrupted" if status == "running" and not self._alive(thread_id) else status

    def run_info(self, thread_id: str) -> dict | None:
        """The thread's row; a `running` row whose process died reads `interrupted`."""
        row = self.conn.execute(
            "SELECT thread_id, agent, scenario, seed, instruction, status, record, obs FROM "
            "wm_runs WHERE thread_id = ?", (thread_id,)).fetchone()
        if row is None:
            return None
        keys = ("thread_id", "agent", "scenario", "seed", "instruction", "status", "record",
                "obs")
        info = dict(zip(keys, row, strict=True))
        info["record"] = json.loads(info["record"]) if info["record"] else None
        info["status"] = self._status(thread_id, info["status"])
        return info

    def runs(self, limit: int = 20) -> list[dict]:
        rows = self.conn.execute(
            "SELECT thread_id, agent, scenario, seed, instruction, status FROM wm_runs "
            "ORDER BY updated DESC LIMIT ?", (limit,)).fetchall()
        keys = ("thread_id", "agent", "scenario", "seed", "instruction", "status")
        out = [dict(zip(keys, r, strict=True)) for r in rows]
        for r in out:
            r["status"] = self._status(r["thread_id"], r["status"])
        return out

    def close(self) -> None:
        for thread_id in list(self._claims):
            self.release(thread_id)
        self.conn.close()
