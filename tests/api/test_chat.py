"""POST /v1/ask: answers, SSE streaming, follow-ups and bad input, over a real uvicorn."""

from __future__ import annotations

import json

import httpx

from tests.api.conftest import start_server

GROWTH = "How much will global AI server shipments grow in 2026?"


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_ask_answers_with_a_citation_and_a_conversation(server):
    with server.client() as client:
        data = client.post("/v1/ask", json={"question": GROWTH}).json()
    assert "20.9%" in data["answer"] and not data["abstained"]
    assert data["answerer"] == "extractive" and data["conversation_id"]
    assert data["citations"][0]["n"] == 1 and "20.9%" in data["citations"][0]["text"]
    passage = data["passages"][0]
    assert passage["text"][passage["highlight_start"]:passage["highlight_end"]] == data["citations"][0]["text"]


def test_ask_abstains_when_the_reports_do_not_answer(server):
    with server.client() as client:
        data = client.post("/v1/ask", json={"question": "What is Cambricon's revenue in 2025?"}).json()
    assert data["abstained"] and data["citations"] == [] and data["closest_matches"]


def test_stream_sends_answer_then_done(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": GROWTH, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    names = [name for name, _ in events]
    assert names[0] == "status" and names[-2:] == ["answer", "done"] and set(names[1:-2]) <= {"token"}
    assert events[0][1]["state"] == "answering" and events[0][1]["message"]
    assert "20.9%" in events[-2][1]["answer"]
    assert events[-1][1]["conversation_id"] == events[-2][1]["conversation_id"]


def test_follow_up_is_condensed_with_the_conversation(server):
    with server.client() as client:
        first = client.post("/v1/ask", json={"question": GROWTH}).json()
        follow = client.post("/v1/ask", json={"question": "and in 2027?",
                                              "conversation_id": first["conversation_id"]}).json()
    assert follow["condensed_question"] == "How much will global AI server shipments grow in 2027?"
    assert follow["conversation_id"] == first["conversation_id"]


def test_conversations_survive_a_restart(assistant, tmp_path):
    from api.main import create_app
    from tests.api.conftest import api_settings

    settings = api_settings(tmp_path)
    first = start_server(create_app(assistant, settings))
    with first.client() as client:
        conversation_id = client.post("/v1/ask", json={"question": GROWTH}).json()["conversation_id"]
    first.stop()
    second = start_server(create_app(assistant, settings))
    try:
        with second.client() as client:
            follow = client.post("/v1/ask", json={"question": "and in 2027?", "conversation_id": conversation_id})
        assert follow.status_code == 200
        assert "2027" in follow.json()["condensed_question"]
    finally:
        second.stop()


def test_unknown_conversation_is_404(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": GROWTH, "conversation_id": "nope"})
    assert response.status_code == 404 and "conversation_id" in response.json()["error"]["message"]


def test_empty_question_is_422_naming_it(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": "   "})
    assert response.status_code == 422
    assert response.json()["error"] == {"type": "BadQuestionError", "message": "the question is empty", "status": 422,
                                        "code": "bad_question", "param": "question"}


def test_too_long_question_is_422_with_the_limit(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": "x" * 2001})
    assert response.status_code == 422 and "limit is 2000" in response.json()["error"]["message"]


def test_malformed_json_is_400(server):
    with server.client() as client:
        response = client.post("/v1/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]


def test_unknown_field_is_422_naming_it(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": GROWTH, "colour": "blue"})
    assert response.status_code == 422 and "colour: unknown field" in response.json()["error"]["message"]


def test_bad_filter_is_400(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": GROWTH, "filters": ["colour=blue"]})
    assert response.status_code == 400 and "colour" in response.json()["error"]["message"]


def test_unconfigured_openai_answerer_is_422(server):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": GROWTH, "answerer": "openai"})
    assert response.status_code == 422 and "RAG_LLM__OPENAI_BASE_URL" in response.json()["error"]["message"]


def test_search_returns_hits(server):
    with server.client() as client:
        data = client.get("/v1/search", params={"q": "Ascend 950PR launch", "k": 2}).json()
    assert len(data["hits"]) == 2 and any("950PR" in h["text"] for h in data["hits"])
