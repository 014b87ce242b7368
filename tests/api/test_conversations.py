"""Conversations listed and resumed, feedback from the web stored as Slack's is, answers that name no server
path, and the headers a deployment needs: over a real uvicorn and the sample index."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3

from tests.api.conftest import READER, WRITER
from tests.api.test_chat import GROWTH, sse_events

# The columns the Slack bot's feedback rows have (api/slack.py before the store moved to rag/feedback.py): the
# evals read this table, whichever front end wrote it.
SLACK_FEEDBACK_COLUMNS = ["answer_id", "user_id", "verdict", "created_at", "question", "asked", "answer",
                          "abstained", "answerer", "citations"]


def test_a_conversation_is_listed_and_its_turns_come_back_with_their_sources(server):
    with server.client() as client:
        first = client.post("/v1/ask", json={"question": GROWTH, "filters": {"date_from": "2025-01-01"}}).json()
        conversation_id = first["conversation_id"]
        client.post("/v1/ask", json={"question": "and in 2027?", "conversation_id": conversation_id})
        listed = client.get("/v1/conversations").json()["conversations"]
        turns = client.get(f"/v1/conversations/{conversation_id}").json()["turns"]
    mine = next(c for c in listed if c["conversation_id"] == conversation_id)
    assert mine["title"] == GROWTH and mine["turns"] == 4 and listed[0]["conversation_id"] == conversation_id
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0]["question"] == GROWTH and turns[2]["question"] == "and in 2027?"
    assert turns[0]["filters"] == {"date_from": "2025-01-01"} and turns[2]["filters"] == {}
    assert turns[1]["answer"]["answer"] == first["answer"] and turns[1]["answer"]["passages"] == first["passages"]
    assert turns[1]["answer"]["id"] == first["id"]


def test_another_key_neither_sees_nor_continues_a_conversation(server):
    with server.client(READER) as reader:
        conversation_id = reader.post("/v1/ask", json={"question": GROWTH}).json()["conversation_id"]
    with server.client(WRITER) as other:
        listed = [c["conversation_id"] for c in other.get("/v1/conversations").json()["conversations"]]
        opened = other.get(f"/v1/conversations/{conversation_id}")
        continued = other.post("/v1/ask", json={"question": "and in 2027?", "conversation_id": conversation_id})
    assert conversation_id not in listed
    assert opened.status_code == 404 and continued.status_code == 404


def test_web_feedback_is_stored_in_the_slack_feedback_table(server):
    with server.client() as client:
        answer = client.post("/v1/ask", json={"question": GROWTH}).json()
        wrong = client.post("/v1/feedback", json={"answer_id": answer["id"], "verdict": "wrong"})
        assert wrong.status_code == 200 and wrong.json() == {"answer_id": answer["id"], "verdict": "wrong"}
        turns = client.get(f"/v1/conversations/{answer['conversation_id']}").json()["turns"]
    assert turns[1]["verdict"] == "wrong"
    with sqlite3.connect(server.app.state.settings.slack_db_path) as db:
        cursor = db.execute("SELECT * FROM feedback WHERE answer_id = ?", (answer["id"],))
        columns = [d[0] for d in cursor.description]
        [row] = cursor.fetchall()
    record = dict(zip(columns, row))
    assert columns == SLACK_FEEDBACK_COLUMNS
    assert record["verdict"] == "wrong" and record["question"] == GROWTH and record["answer"] == answer["answer"]
    assert "20.9%" in record["citations"] and READER not in record["user_id"]


def test_changing_a_verdict_replaces_it(server):
    with server.client() as client:
        answer_id = client.post("/v1/ask", json={"question": GROWTH}).json()["id"]
        client.post("/v1/feedback", json={"answer_id": answer_id, "verdict": "wrong"})
        client.post("/v1/feedback", json={"answer_id": answer_id, "verdict": "helpful"})
    with sqlite3.connect(server.app.state.settings.slack_db_path) as db:
        verdicts = db.execute("SELECT verdict FROM feedback WHERE answer_id = ?", (answer_id,)).fetchall()
    assert verdicts == [("helpful",)]


def test_feedback_on_an_unknown_or_anothers_answer_is_404(server):
    with server.client(READER) as reader:
        answer_id = reader.post("/v1/ask", json={"question": GROWTH}).json()["id"]
    with server.client(WRITER) as other:
        theirs = other.post("/v1/feedback", json={"answer_id": answer_id, "verdict": "wrong"})
        unknown = other.post("/v1/feedback", json={"answer_id": "no-such-answer", "verdict": "wrong"})
        bad = other.post("/v1/feedback", json={"answer_id": answer_id, "verdict": "meh"})
    assert theirs.status_code == 404 and unknown.status_code == 404
    assert theirs.json()["error"]["param"] == "answer_id" and bad.status_code == 422


def test_answers_name_documents_by_id_and_title_never_by_server_path(server, assistant):
    doc = assistant.documents()[0]
    with server.client() as client:
        answered = client.post("/v1/ask", json={"question": GROWTH})
        streamed = client.post("/v1/ask/stream", json={"question": GROWTH})
        abstained = client.post("/v1/ask", json={"question": "What is Cambricon's revenue in 2025?"})
        searched = client.get("/v1/search", params={"q": "AI server shipments"})
        completion = client.post("/v1/chat/completions", json={"model": "rag", "messages": [
            {"role": "user", "content": GROWTH}]})
        documents = client.get("/v1/documents")
    for response in (answered, streamed, abstained, searched, completion, documents):
        assert response.status_code == 200 and doc.source not in response.text and '"source"' not in response.text
    citation = answered.json()["citations"][0]
    assert citation["doc_id"] == doc.doc_id and citation["title"] == doc.title
    assert sse_events(streamed)[-2][1]["citations"][0]["doc_id"] == doc.doc_id
    listed = documents.json()["documents"][0]
    assert listed["filename"] == doc.source.rsplit("/", 1)[-1] and listed["status"] == "ready"


def test_the_page_allows_only_its_own_inline_script_and_style(server):
    with server.client(None) as client:
        page = client.get("/")
        api = client.get("/v1/documents")
    policy = page.headers["content-security-policy"]
    for tag in ("script", "style"):
        [block] = re.findall(rf"<{tag}>(.*?)</{tag}>", page.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        [sources] = [d.split()[1:] for d in policy.split(";") if d.split()[:1] == [f"{tag}-src"]]
        assert f"'sha256-{digest}'" in sources
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    # Errors too: a 401 is JSON and says so.
    assert api.status_code == 401 and api.headers["x-content-type-options"] == "nosniff"
