"""FeedbackStore: answers kept as given, verdicts on them in one self-contained table (shared by the Slack bot
and the web page)."""

from __future__ import annotations

import json

import pytest

from rag.feedback import FeedbackStore
from rag.types import Answer, Citation

CITATION = Citation(n=1, chunk_id="c1", doc_id="report.pdf", title="AI outlook", source="/srv/reports/report.pdf",
                    page=3, start=10, end=60, text="Global AI server shipments will increase by 20.9%.")


def answer(text: str = "Shipments will grow 20.9% [1].") -> Answer:
    return Answer(question="How much will AI server shipments grow in 2026?", text=text, citations=[CITATION],
                  hits=[], abstained=False, answerer="extractive")


def test_a_verdict_is_stored_with_the_question_answer_and_citations(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")
    answer_id = store.record_answer(answer(), "and in 2026?", "web", "conv-1", "owner-1")
    assert store.record_feedback(answer_id, "owner-1", "wrong")
    [row] = store.feedback()
    assert row["verdict"] == "wrong" and row["question"] == "and in 2026?"
    assert row["asked"] == "How much will AI server shipments grow in 2026?"
    assert row["citations"][0]["text"] == CITATION.text and store.asker(answer_id) == "owner-1"


def test_a_second_verdict_replaces_the_first(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")
    answer_id = store.record_answer(answer(), "q", "web", None, "owner-1")
    store.record_feedback(answer_id, "owner-1", "wrong")
    store.record_feedback(answer_id, "owner-1", "helpful")
    assert [r["verdict"] for r in store.feedback()] == ["helpful"]
    assert store.verdicts([answer_id, "other"], "owner-1") == {answer_id: "helpful"}


def test_an_unknown_answer_or_verdict_is_refused(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")
    assert not store.record_feedback("no-such-answer", "owner-1", "wrong") and store.asker("no-such-answer") is None
    answer_id = store.record_answer(answer(), "q", "web", None, "owner-1")
    with pytest.raises(ValueError, match="unknown verdict 'meh'"):
        store.record_feedback(answer_id, "owner-1", "meh")


def test_rows_survive_a_reopen_and_read_as_json(tmp_path):
    path = tmp_path / "f.sqlite"
    store = FeedbackStore(path)
    answer_id = store.record_answer(answer(), "q", "C1", "123.4", "U1")
    store.record_feedback(answer_id, "U1", "helpful")
    store.close()
    [row] = FeedbackStore(path).feedback()
    assert row["answer_id"] == answer_id and json.dumps(row["citations"])
