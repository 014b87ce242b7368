"""Answers as they were given, and analysts' verdicts on them (helpful / wrong), for the evals.

In: an `Answer` with where it was asked (a Slack channel and thread, or the chat API and its conversation) and
who asked; later a verdict on it by id. Out: rows of one SQLite file (settings.slack_db_path, `.rag/slack.sqlite`)
whose `feedback` table is self-contained (question, answer, citations JSON), so the eval suite reads it without
joining anything. The Slack bot and the web page share this store, so a verdict from either lands in the same
table, in the same shape.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from rag.types import Answer

VERDICTS = ("helpful", "wrong")

# synchronous=NORMAL: every API answer is recorded, behind one lock; a sync of the WAL on each commit would queue
# them behind the disk. A crashed process loses nothing; a power cut may lose the last few rows.
_SCHEMA = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, channel TEXT, thread_ts TEXT, user_id TEXT,
    question TEXT NOT NULL, asked TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER NOT NULL,
    answerer TEXT NOT NULL, citations TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL, user_id TEXT NOT NULL, verdict TEXT NOT NULL, created_at REAL NOT NULL,
    question TEXT NOT NULL, asked TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER NOT NULL,
    answerer TEXT NOT NULL, citations TEXT NOT NULL, PRIMARY KEY (answer_id, user_id));
"""


class FeedbackStore:
    """Answers and feedback in SQLite. One connection behind a lock: callers come from several threads (bolt's
    workers, the API's thread pool); a second process (the Slack bot beside `rag serve`) opens its own."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        # NOTE: the timeout lets a write wait for the other process's write instead of failing at once.
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=10)
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

    def record_answer(self, answer: Answer, question: str, channel: str | None, thread_ts: str | None,
                      user_id: str | None) -> str:
        """Keep `answer` so a verdict on it can be stored later.

        Args:
            question: the question as the user wrote it (`answer.question` is what was asked, a follow-up made
                standalone).
            channel, thread_ts: where it was asked: a Slack channel and thread, or "api" (the chat API, which
                the web page uses) and the conversation id.
            user_id: who asked (a Slack user id, or the API caller's opaque id).

        Returns:
            The answer's id, which a verdict names.
        """
        answer_id = uuid.uuid4().hex
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, time.time(), channel, thread_ts, user_id, question, answer.question, answer.text,
                 int(answer.abstained), answer.answerer,
                 json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)))
        return answer_id

    def asker(self, answer_id: str) -> str | None:
        """Who asked the answer `answer_id` ("" when not recorded), or None when there is no such answer."""
        with self._lock:
            row = self._db.execute("SELECT user_id FROM answers WHERE id = ?", (answer_id,)).fetchone()
        return None if row is None else (row[0] or "")

    def record_feedback(self, answer_id: str, user_id: str, verdict: str) -> bool:
        """Store (or replace: a user may change their mind) `verdict` on an answer; False if it is unknown.

        Raises:
            ValueError: `verdict` is not one of VERDICTS.
        """
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; choose {' or '.join(VERDICTS)}")
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT OR REPLACE INTO feedback SELECT id, ?, ?, ?, question, asked, answer, abstained, answerer, "
                "citations FROM answers WHERE id = ?", (user_id, verdict, time.time(), answer_id))
            return cursor.rowcount == 1

    def verdicts(self, answer_ids: list[str], user_id: str) -> dict[str, str]:
        """`user_id`'s verdict on each of `answer_ids` that has one."""
        if not answer_ids:
            return {}
        marks = ",".join("?" * len(answer_ids))
        with self._lock:
            rows = self._db.execute(f"SELECT answer_id, verdict FROM feedback WHERE user_id = ? AND answer_id IN ({marks})",
                                    (user_id, *answer_ids)).fetchall()
        return dict(rows)

    def feedback(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute("SELECT * FROM feedback ORDER BY created_at")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row)) for row in cursor.fetchall()]
        for row in rows:
            row["citations"] = json.loads(row["citations"])
        return rows

    def close(self) -> None:
        with self._lock:
            self._db.close()
