"""Block Kit rendering: sources, abstention, and splitting to Slack's limits (3,000 chars per section text,
50 blocks per message)."""

from __future__ import annotations

import re

import pytest
from slack_fakes import blocks_text

from rag.slack_format import (
    CONTINUED,
    MESSAGE_BLOCKS,
    SECTION_CHARS,
    answer_messages,
    escape,
    split_text,
    strip_mentions,
)
from rag.types import Answer, Citation


def citation(n: int, text: str, page: int | None = 3) -> Citation:
    return Citation(n=n, chunk_id=f"c{n}", doc_id="d1", title="Guosen 2026 outlook", source="r.txt", page=page,
                    start=0, end=len(text), text=text)


def long_answer(sentences: int = 400, sources: int = 60) -> Answer:
    text = " ".join(f"Sentence {i} says shipments & margins <grow> by {i}% [{i % sources + 1}]."
                    for i in range(sentences))
    cites = [citation(n, f"Cited sentence {n}: " + "figures " * (500 if n == 1 else 5)) for n in range(1, sources + 1)]
    return Answer(question="q", text=text, citations=cites, hits=[], abstained=False, answerer="extractive",
                  timings={"retrieve_ms": 10.0, "answer_ms": 5.0})


def all_texts(block: dict) -> list[str]:
    texts = [block["text"]["text"]] if "text" in block else []
    return texts + [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]


def test_long_answer_is_split_within_slack_limits_without_losing_text():
    answer = long_answer()
    messages = answer_messages(answer, feedback_id="abc")
    assert len(messages) > 1
    for message in messages:
        assert 0 < len(message.blocks) <= MESSAGE_BLOCKS
        assert all(len(t) <= SECTION_CHARS for b in message.blocks for t in all_texts(b))
    blocks = [b for m in messages for b in m.blocks]
    answer_sections = []
    for block in blocks:
        if block["type"] == "divider":
            break
        answer_sections.append(block["text"]["text"])
    assert len(answer_sections) > 1
    assert " ".join(answer_sections).split() == escape(answer.text).split()
    # Every source is there once, in order; the feedback buttons end the last message only.
    numbers = [int(m) for m in re.findall(r"^\*\[(\d+)\]\*", blocks_text(blocks), re.MULTILINE)]
    assert numbers == list(range(1, 61))
    assert messages[-1].blocks[-1]["type"] == "actions"
    assert [m.text for m in messages[1:]] == [CONTINUED] * (len(messages) - 1)


def test_sources_show_title_page_and_the_cited_sentence():
    answer = Answer(question="q", text="Shipments grow 20.9% [1].", hits=[], abstained=False, answerer="extractive",
                    citations=[citation(1, "global AI server shipments will increase by 20.9%", page=4)])
    [message] = answer_messages(answer)
    text = blocks_text(message.blocks)
    assert "*[1]* Guosen 2026 outlook, p. 4\n>global AI server shipments will increase by 20.9%" in text
    assert message.text == "Shipments grow 20.9% [1]."


def test_abstention_says_the_reports_do_not_cover_it():
    answer = Answer(question="q", text="The indexed reports do not answer this question.", citations=[], hits=[],
                    abstained=True, answerer="extractive")
    [message] = answer_messages(answer)
    assert "The indexed reports do not cover this." in blocks_text(message.blocks)
    assert "Sources" not in blocks_text(message.blocks)


def test_split_never_cuts_inside_an_escaped_character():
    text = escape("<" * 5000)
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 and p.endswith("&lt;") for p in pieces)
    assert "".join(pieces) == text


def test_split_rejects_a_useless_limit():
    with pytest.raises(ValueError, match="limit must be at least 16"):
        split_text("text", 3)


def test_mentions_are_stripped_from_the_question():
    assert strip_mentions("<@UBOT> how much <@U2|ann> growth?") == "how much growth?"

