"""Conversations: follow-up questions made standalone, and the turns they depend on.

`condense_question(question, history)` turns "and in 2027?" into "How much will global AI server shipments
grow in 2027?" using the previous turns (the LLM when a generative answerer is configured, else a heuristic),
so retrieval sees the whole question. `FollowUps` is that policy as every front end applies it: the last
`settings.conversation.history_turns` turns, then condense_question. `ConversationStore` keeps the turns in SQLite under settings.home so a
conversation survives a restart; the chat API and the Slack bot share both.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

log = logging.getLogger(__name__)

_CONNECTOR = re.compile(
    r"^\s*(?:(?:and|but|so|also|ok(?:ay)?|then)\b[\s,]*)*"
    r"(?:(?:what|how)\s+about|what\s+of|and\s+for|as\s+for|same\s+for|likewise\s+for)?\b[\s,]*",
    re.IGNORECASE)
_FOLLOW_UP_START = re.compile(
    r"^\s*(?:and|but|also|what\s+about|how\s+about|what\s+of|as\s+for|same\s+for|which\s+of\s+(?:those|these|them)"
    r"|(?:and\s+)?in\s+(?:19|20)\d\d)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(?:it|its|they|them|their|those|these|that|this|ones?)\b", re.IGNORECASE)
_REFERRING = re.compile(r"\b(?:those|these|them|they|it|that|this)\b", re.IGNORECASE)
# Years, quarters and halves as the reports write them: 2026, FY2026, 2026E, 1Q26, Q1 2026, 2H26, 1H2026.
_PERIOD = re.compile(
    r"\b(?:FY\s?)?(?:19|20)\d\d[EF]?\b|\b[1-4]Q(?:\d\d){1,2}\b|\bQ[1-4](?:\s+(?:19|20)\d\d)?\b|\b[12]H(?:\d\d){1,2}\b",
    re.IGNORECASE)
_LEADING_QUESTION = re.compile(
    r"^\s*(?:how\s+(?:much|many|fast|big|large)|what|which|when|where|who|whose|why|how)\b"
    r"(?:\s+(?:will|would|is|are|was|were|do|does|did|can|could|has|have|had|should|might|may))?\s*",
    re.IGNORECASE)
# Words that end the subject of a question such as "How much will global AI server shipments grow in 2026?".
_SUBJECT_END = {
    "grow", "increase", "rise", "fall", "decline", "reach", "launch", "release", "ship", "be", "become", "have",
    "expand", "drop", "exceed", "account", "achieve", "make", "cost", "say", "expect", "see", "take", "mean",
    "in", "by", "during", "from", "to", "for", "over", "between", "at", "on", "than", "compared", "versus", "vs",
}
_SHORT_WORDS = 5

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.settings import ConversationSettings



class FollowUps:
    """How a front end reads a follow-up: with the conversation's last `history_turns` turns, made standalone by
    condense_question. The API, its OpenAI-compatible route and the Slack bot all ask through one of these, so a
    follow-up means the same wherever it is asked."""

    def __init__(self, settings: ConversationSettings) -> None:
        self.history_turns = settings.history_turns

    def recent(self, history: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The last `history_turns` of `history` [(role, text)], oldest first."""
        # NOTE: history[-0:] would be all of it.
        return list(history[-self.history_turns:]) if self.history_turns else []

    def standalone(self, question: str, history: Sequence[tuple[str, str]],
                   assistant: Assistant | None = None) -> str:
        """`question` made standalone from the recent turns of `history`; see condense_question for `assistant`
        (None: the heuristic only, for a caller that must not wait for the model)."""
        return condense_question(question, self.recent(history), assistant)


def condense_question(question: str, history: list[tuple[str, str]], assistant: Assistant | None = None) -> str:
    """A standalone question for `question`, given the conversation so far.

    Args:
        question: the user's new message.
        history: [(role, text)] with role "user" or "assistant", oldest first.
        assistant: when its configured answerer resolves to "local" or "openai", that model rewrites the
            question (prompts/condense.md); any failure falls back to the heuristic.

    Returns:
        The question unchanged when it needs no context, else a question that carries the previous subject.
    """
    question = question.strip()
    previous = _previous_user_question(history)
    if not question or not previous or not _is_follow_up(question):
        return question
    if assistant is not None:
        rewritten = _condense_with_model(question, history, assistant)
        if rewritten:
            return rewritten
    return _condense_heuristic(question, previous)


def _previous_user_question(history: list[tuple[str, str]]) -> str:
    for role, text in reversed(history):
        if role == "user" and text.strip():
            return text.strip()
    return ""


def _is_follow_up(question: str) -> bool:
    words = re.findall(r"\w+", question)
    return (len(words) <= _SHORT_WORDS or bool(_FOLLOW_UP_START.search(question))
            or bool(_PRONOUN.search(question)))


def _condense_heuristic(question: str, previous: str) -> str:
    body = _CONNECTOR.sub("", question).strip().rstrip("?.! ").strip()
    new_periods = _PERIOD.findall(body)
    old_periods = _PERIOD.findall(previous)
    rest = _PERIOD.sub("", body)
    rest = re.sub(r"\b(?:in|for|during|by|the|year|of)\b", " ", rest, flags=re.IGNORECASE).strip(" ,")
    if new_periods and old_periods and not rest:
        # "and in 2027?" asks the previous question again for another period.
        condensed = previous
        for old, new in zip(old_periods, new_periods + [new_periods[-1]] * len(old_periods)):
            condensed = condensed.replace(old, new, 1)
        return condensed
    subject = _subject(previous)
    if _REFERRING.search(body):
        # "which of those are domestic?": the pronoun stands for the previous question's subject.
        replaced = _REFERRING.sub(lambda m: f"{m.group(0)} ({subject})", body, count=1)
        return _as_question(replaced)
    if new_periods and not old_periods:
        return _as_question(f"{_strip_question_mark(previous)} in {' '.join(new_periods)}")
    # "what about Cambricon?": the new subject, asked the way the previous question asked.
    suffix = " ".join(old_periods)
    context = f" ({subject}{', ' + suffix if suffix and suffix not in body else ''})" if subject else ""
    return _as_question(f"{body}{context}")


def _subject(previous: str) -> str:
    core = _LEADING_QUESTION.sub("", _strip_question_mark(previous))
    words = core.split()
    kept: list[str] = []
    for word in words:
        low = word.lower().strip(",")
        # A past-tense verb ("launched", "raised") ends the subject too.
        if kept and (low in _SUBJECT_END or (low.endswith("ed") and word[:1].islower() and len(low) > 4)):
            break
        kept.append(word)
    return " ".join(kept) or core


def _strip_question_mark(text: str) -> str:
    return text.strip().rstrip("?.! ").strip()


def _as_question(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip("?.! ") + "?"


def _condense_with_model(question: str, history: list[tuple[str, str]], assistant: Assistant) -> str:
    try:
        name = assistant.resolve_answerer(assistant.settings.llm.answerer)
        if name not in ("local", "openai"):
            return ""
        from rag.prompts import load_prompt

        lines = [f"{'User' if role == 'user' else 'Assistant'}: {text.strip()}" for role, text in history]
        prompt = load_prompt("condense").render(history="\n".join(lines), question=question)
        raw = assistant.chat_model(name).generate([{"role": "user", "content": prompt}])
    except Exception as exc:  # noqa: BLE001 - a failed rewrite must not fail the answer; the heuristic stands in
        log.warning("condensing with the model failed (%s); using the heuristic", exc)
        return ""
    line = next((ln.strip() for ln in raw.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:standalone question|question)\s*:\s*", "", line, flags=re.IGNORECASE).strip().strip('"')
    # A rewrite that is empty or rambles is worse than the heuristic.
    if not line or len(line) > 4 * max(len(question), 80):
        return ""
    return line


class ConversationStore:
    """Conversation turns in SQLite. Thread-safe: one connection guarded by a lock, usable from any thread.

    A conversation may have an owner (an opaque id of the API caller that started it): only that owner lists
    it or continues it. An answer turn may carry `data`, the answer as the front end showed it (citations,
    passages), so a resumed conversation shows its sources again.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            # NOTE: every answer appends its turns, one lock around the connection: with a sync of the WAL on
            # each commit (FULL) the appends queue behind the disk. NORMAL survives a crashed process and loses
            # at most the last turns to a power cut.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created REAL NOT NULL)")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS turns (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT "
                "NOT NULL REFERENCES conversations(id), role TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL)")
            self._db.execute("CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns (conversation_id, seq)")
            # Columns added after the first version: a store written by it gains them, empty.
            for table, column in (("conversations", "owner TEXT"), ("turns", "data TEXT")):
                names = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                if column.split()[0] not in names:
                    try:
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
                    except sqlite3.OperationalError as exc:
                        # Another worker process of `rag serve --workers N` added it a moment ago.
                        if "duplicate column" not in str(exc):
                            raise
            self._db.execute("CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, created)")

    def create(self, owner: str | None = None) -> str:
        conversation_id = uuid.uuid4().hex
        with self._lock, self._db:
            self._db.execute("INSERT INTO conversations (id, created, owner) VALUES (?, ?, ?)",
                             (conversation_id, time.time(), owner))
        return conversation_id

    def exists(self, conversation_id: str, owner: str | None = None) -> bool:
        """Whether the conversation is on record and, with `owner`, open to that caller (its owner, or none
        recorded: a conversation started before owners were kept, or by a Slack thread)."""
        with self._lock:
            row = self._db.execute("SELECT owner FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        return row is not None and (owner is None or row[0] is None or row[0] == owner)

    def append(self, conversation_id: str, role: str, text: str, data: dict | None = None) -> None:
        if role not in ("user", "assistant"):
            raise ValueError(f"role must be 'user' or 'assistant', not {role!r}")
        payload = json.dumps(data, ensure_ascii=False) if data is not None else None
        with self._lock, self._db:
            # A conversation id minted elsewhere (a Slack thread) is adopted on its first turn.
            self._db.execute("INSERT OR IGNORE INTO conversations (id, created) VALUES (?, ?)",
                             (conversation_id, time.time()))
            self._db.execute("INSERT INTO turns (conversation_id, role, text, created, data) VALUES (?, ?, ?, ?, ?)",
                             (conversation_id, role, text, time.time(), payload))

    def history(self, conversation_id: str, limit: int = 10) -> list[tuple[str, str]]:
        """The last `limit` turns, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT role, text FROM turns WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?",
                (conversation_id, limit)).fetchall()
        return [(role, text) for role, text in reversed(rows)]

    def turns(self, conversation_id: str) -> list[dict]:
        """Every turn, oldest first: {"role", "text", "created", "data"} (data: what `append` was given, or None)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT role, text, created, data FROM turns WHERE conversation_id = ? ORDER BY seq",
                (conversation_id,)).fetchall()
        return [{"role": role, "text": text, "created": created, "data": json.loads(data) if data else None}
                for role, text, created, data in rows]

    def conversations(self, owner: str, limit: int = 50) -> list[dict]:
        """`owner`'s conversations that have turns, latest activity first: {"conversation_id", "title" (the
        first question), "created", "updated", "turns"}."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.created, MAX(t.created), COUNT(t.seq), "
                "(SELECT text FROM turns f WHERE f.conversation_id = c.id AND f.role = 'user' ORDER BY f.seq LIMIT 1) "
                "FROM conversations c JOIN turns t ON t.conversation_id = c.id WHERE c.owner = ? "
                "GROUP BY c.id ORDER BY MAX(t.seq) DESC LIMIT ?", (owner, limit)).fetchall()
        return [{"conversation_id": cid, "title": title or "", "created": created, "updated": updated, "turns": n}
                for cid, created, updated, n, title in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
