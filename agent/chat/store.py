"""Chat sessions on disk: scene, current state, the run in progress and the conversation.

Two tables in the run store's SQLite file (`$WMAGENT_HOME/agent.sqlite`), beside LangGraph's
checkpoints, so one file holds everything a crashed chat needs to come back:

- `wm_chat_sessions`: one row per session: scenario, seed, the scene's current true state
  (JSON list, NULL for the layout's start), `active_thread` (the agent run in progress; set
  before a run starts, cleared when it ends, so a crash leaves it set) and whether videos
  are written.
- `wm_chat_messages`: the conversation in order: `role` is `you` (a goal or an answer the
  person typed), `agent` (questions and outcomes) or `note`; `thread_id` ties a message to a run.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class ChatSession:
    """What a chat remembers between goals and across restarts."""

    session_id: str
    scenario: str
    seed: int
    state: list[float] | None = None
    """the scene's true state now; None: the layout's start state"""
    active_thread: str | None = None
    """the agent run in progress (set while it runs: a crash leaves it set)"""
    video: bool = False
    """write a video of every episode"""
    threads: list[str] = field(default_factory=list)
    """the session's runs, oldest first"""


class ChatStore:
    """Sessions and messages in an open SQLite connection (the run store's)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        with self.conn:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS wm_chat_sessions (session_id TEXT PRIMARY KEY, "
                "scenario TEXT NOT NULL, seed INTEGER NOT NULL, state TEXT, "
                "active_thread TEXT, video INTEGER DEFAULT 0, created REAL, updated REAL)")
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS wm_chat_messages (session_id TEXT NOT NULL, "
                "n INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, thread_id TEXT, "
                "created REAL, PRIMARY KEY (session_id, n))")

    def create(self, scenario: str, seed: int) -> ChatSession:
        session = ChatSession(uuid.uuid4().hex[:8], scenario, seed)
        now = time.time()
        with self.conn:
            self.conn.execute(
                "INSERT INTO wm_chat_sessions (session_id, scenario, seed, created, updated) "
                "VALUES (?, ?, ?, ?, ?)", (session.session_id, scenario, seed, now, now))
        return session

    def save(self, s: ChatSession) -> None:
        """Write the session's scene, state, active run and settings."""
        with self.conn:
            self.conn.execute(
                "UPDATE wm_chat_sessions SET scenario=?, seed=?, state=?, active_thread=?, "
                "video=?, updated=? WHERE session_id=?",
                (s.scenario, s.seed, json.dumps(s.state) if s.state is not None else None,
                 s.active_thread, int(s.video), time.time(), s.session_id))

    def find(self, prefix: str) -> ChatSession | None:
        """The session whose id starts with `prefix`; ValueError when several do."""
        rows = self.conn.execute(
            "SELECT session_id, scenario, seed, state, active_thread, video FROM "
            "wm_chat_sessions WHERE session_id LIKE ? ESCAPE '\\'",
            (_like_prefix(prefix),)).fetchall()
        if len(rows) > 1:
            raise ValueError(f"{prefix!r} names {len(rows)} chat sessions; type more of the id")
        if not rows:
            return None
        sid, scenario, seed, state, active, video = rows[0]
        threads = [r[0] for r in self.conn.execute(
            "SELECT DISTINCT thread_id FROM wm_chat_messages WHERE session_id=? AND "
            "thread_id IS NOT NULL ORDER BY n", (sid,))]
        return ChatSession(sid, scenario, seed, json.loads(state) if state else None, active,
                           bool(video), threads)

    def sessions(self, limit: int = 10) -> list[dict]:
        """Recent sessions, newest first, with their number of messages."""
        rows = self.conn.execute(
            "SELECT s.session_id, s.scenario, s.seed, s.updated, "
            "(SELECT COUNT(*) FROM wm_chat_messages m WHERE m.session_id = s.session_id) "
            "FROM wm_chat_sessions s ORDER BY s.updated DESC LIMIT ?", (limit,)).fetchall()
        keys = ("session_id", "scenario", "seed", "updated", "messages")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def add_message(self, session_id: str, role: str, text: str,
                    thread_id: str | None = None) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO wm_chat_messages (session_id, n, role, text, thread_id, created) "
                "VALUES (?, (SELECT COALESCE(MAX(n), 0) + 1 FROM wm_chat_messages "
                "WHERE session_id = ?), ?, ?, ?, ?)",
                (session_id, session_id, role, text, thread_id, time.time()))

    def messages(self, session_id: str) -> list[dict]:
        rows = self.conn.execute(
            "SELECT role, text, thread_id, created FROM wm_chat_messages WHERE session_id=? "
            "ORDER BY n", (session_id,)).fetchall()
        return [dict(zip(("role", "text", "thread_id", "created"), r, strict=True)) for r in rows]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
