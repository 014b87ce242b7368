"""Slack rendering: an Answer in, Slack messages (fallback text + Block Kit blocks) out.

The answer text keeps its [n] markers; numbered sources follow with report title, page and the cited
sentence; an abstention says plainly that the reports do not cover the question. Everything is split to
Slack's limits: 3,000 characters per section text and 50 blocks per message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rag.types import Answer

SECTION_CHARS = 3000
MESSAGE_BLOCKS = 50
# Slack truncates a message's top-level text beyond 40,000 characters; stay well under it.
FALLBACK_CHARS = 39000
FEEDBACK_ACTIONS = {"rag_feedback_helpful": "helpful", "rag_feedback_wrong": "wrong"}
# Continuation messages carry this text so a thread's history can skip them (the first message has the answer).
CONTINUED = "(continued)"
USAGE = ("Ask me a question about the indexed broker reports, for example: "
         "*How much will global AI server shipments grow in 2026?* "
         "Mention me in a channel, message me directly, or use `/ask <question>`.")
NOT_COVERED = "*The indexed reports do not cover this.* There is no passage I can cite to answer it."

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


@dataclass
class SlackMessage:
    """One chat.postMessage (or response_url) payload: fallback `text` for notifications plus `blocks`."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters; everything else shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def strip_mentions(text: str) -> str:
    """The question in a message such as "<@U123> how much ...?": user mentions removed, spaces tidied."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def split_text(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at a paragraph, line, sentence or word break
    when one lies in the second half of the window, and never inside an &amp;-style entity."""
    if limit < 16:
        raise ValueError(f"limit must be at least 16 characters, not {limit}")
    pieces = []
    text = text.strip()
    while len(text) > limit:
        cut = 0
        for sep in ("\n\n", "\n", ". ", " "):
            found = text.rfind(sep, limit // 2, limit)
            if found != -1:
                cut = found + len(sep)
                break
        if not cut:
            cut = limit
            tail = _ENTITY_TAIL.search(text[:cut])
            if tail:
                cut = tail.start()
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def text_message(text: str) -> SlackMessage:
    """A plain notice (usage hint, error) as a one-section message; `text` is mrkdwn, already escaped."""
    return SlackMessage(text=text[:FALLBACK_CHARS], blocks=[_section(piece) for piece in split_text(text)][:MESSAGE_BLOCKS])


def answer_messages(answer: Answer, feedback_id: str | None = None, asked: str | None = None) -> list[SlackMessage]:
    """The Slack messages for `answer`, in posting order.

    Args:
        feedback_id: when given, helpful / wrong buttons carrying it end the last message.
        asked: the standalone question actually answered, shown when it differs from what the user typed
            (a thread follow-up rewritten with the thread's context).

    Returns:
        One message, or more when the blocks exceed 50; the first carries the answer as its fallback text.
    """
    blocks: list[dict[str, Any]] = []
    if asked:
        blocks.append(_context(f"Answering: _{escape(asked)}_"))
    if answer.abstained:
        blocks.append(_section(NOT_COVERED))
        if answer.hits:
            lines = [f"• {escape(_source_label(h.title, h.page))}" for h in answer.hits[:3]]
            blocks.extend(_section(piece) for piece in split_text("Closest passages (not an answer):\n" + "\n".join(lines)))
    else:
        blocks.extend(_section(piece) for piece in split_text(escape(answer.text)))
        if answer.citations:
            blocks.append({"type": "divider"})
            blocks.append(_section("*Sources*"))
        for c in answer.citations:
            quoted = " ".join(c.text.split())
            body = f"*[{c.n}]* {escape(_source_label(c.title, c.page))}\n>{escape(quoted)}"
            # A very long cited sentence continues in further quoted sections.
            blocks.extend(_section(piece if i == 0 else f">{piece}")
                          for i, piece in enumerate(split_text(body, SECTION_CHARS - 1)))
    footer = f"answered by {answer.answerer}"
    if answer.timings:
        footer += f" in {sum(answer.timings.values()) / 1000:.1f} s"
    blocks.append(_context(escape(footer)))
    if feedback_id:
        blocks.append({"type": "actions", "block_id": "rag_feedback", "elements": [
            _button("Helpful", "rag_feedback_helpful", feedback_id, "primary"),
            _button("Wrong", "rag_feedback_wrong", feedback_id, "danger"),
        ]})
    fallback = NOT_COVERED.replace("*", "") if answer.abstained else escape(answer.text)
    pages = [blocks[i:i + MESSAGE_BLOCKS] for i in range(0, len(blocks), MESSAGE_BLOCKS)]
    return [SlackMessage(text=fallback[:FALLBACK_CHARS] if i == 0 else CONTINUED, blocks=page)
            for i, page in enumerate(pages)]


def _source_label(title: str, page: int | None) -> str:
    title = " ".join((title or "untitled report").split())
    return f"{title}, p. {page}" if page else title


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": split_text(mrkdwn)[0]}]}


def _button(label: str, action_id: str, value: str, style: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id,
            "value": value, "style": style}
