"""Every bad request gets a clear 4xx naming the problem, the same on every route that takes it, over a real
uvicorn; and the requests clients really send (curl -d, subfolder doc_ids, long file names) work."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import WRITER, api_settings, start_server

GROWTH = "How much will global AI server shipments grow in 2026?"
REPORT = (b"Acme Securities research note, 3 March 2026.\n\nZephyr Robotics expects its humanoid robot deliveries "
          b"to reach 12,400 units in 2026, up from 3,100 units in 2025, driven by automotive factory orders.\n")


def _post_question(client, route: str, question: str, **extra):
    if route == "/v1/chat/completions":
        return client.post(route, json={"messages": [{"role": "user", "content": question}], **extra})
    if route == "/v1/search":
        return client.get(route, params={"q": question, **extra})
    return client.post(route, json={"question": question, **extra})


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions", "/v1/search"])
@pytest.mark.parametrize("question", ["\x00", f"{GROWTH}\x00"])
def test_nul_in_the_question_is_refused_on_every_route(server, route, question):
    with server.client() as client:
        response = _post_question(client, route, question)
    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    param = "messages" if route == "/v1/chat/completions" else "question"
    assert "control character '\\x00'" in error["message"] and error["param"] == param


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions"])
def test_an_unpaired_surrogate_is_refused_not_a_500(server, route):
    body = '{"question": "\\ud800 growth?"}' if route != "/v1/chat/completions" else \
        '{"messages": [{"role": "user", "content": "\\ud800 growth?"}]}'
    with server.client() as client:
        response = client.post(route, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422) and "unpaired surrogate" in response.json()["error"]["message"]


@pytest.mark.parametrize("question", ["?!", "\u202e\u200b", "..."])
def test_a_question_without_letters_or_digits_is_refused(server, question):
    with server.client() as client:
        response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 422 and "no letters or digits" in response.json()["error"]["message"]


def test_nul_in_an_earlier_openai_message_is_refused_naming_it(server):
    with server.client() as client:
        response = client.post("/v1/chat/completions", json={"messages": [
            {"role": "user", "content": "a\x00"}, {"role": "assistant", "content": "b"},
            {"role": "user", "content": GROWTH}]})
    assert response.status_code == 400 and "message 1 holds the control character" in response.json()["error"]["message"]


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/chat/completions"])
def test_stream_must_be_a_boolean_not_a_string(server, route):
    with server.client() as client:
        response = _post_question(client, route, GROWTH, stream="yes")
    assert response.status_code in (400, 422)
    assert response.json()["error"]["param"] == "stream" and "boolean" in response.json()["error"]["message"]


@pytest.mark.parametrize("filters, named", [({"colour": "red"}, "unknown filter 'colour'"),
                                            ({"date_from": "March 2026"}, "dates are YYYY-MM-DD")])
@pytest.mark.parametrize("route", ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions"])
def test_bad_filter_is_the_same_400_on_every_route(server, route, filters, named):
    with server.client() as client:
        response = _post_question(client, route, GROWTH, filters=filters)
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]["message"] and response.json()["error"]["param"] == "filters"


def test_curl_form_content_type_is_read_as_json(server):
    # What `curl -d '{"question": ...}'` sends: a JSON body labelled as a form.
    with server.client() as client:
        response = client.post("/v1/ask", content=json.dumps({"question": GROWTH}),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text
    assert "20.9%" in response.json()["answer"]


def test_malformed_body_with_form_content_type_is_400(server):
    with server.client() as client:
        response = client.post("/v1/ask", content="question=hi",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and response.json()["error"]["type"] == "malformed_json"


def test_a_body_that_is_not_utf8_is_400_naming_the_byte(server):
    with server.client() as client:
        response = client.post("/v1/ask", content='{"question": "café?"}'.encode("cp1252"),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not UTF-8 (byte 0xe9 at offset 17)" in response.json()["error"]["message"]


def test_openai_bad_request_is_400_with_code_and_param(server):
    with server.client() as client:
        response = client.post("/v1/chat/completions", json={"messages": []})
    error = response.json()["error"]
    assert response.status_code == 400 and error["status"] == 400
    assert error["param"] == "messages" and error["code"] == "invalid_request"


def test_long_upload_file_name_is_shortened_not_a_500(writable_server):
    name = "a" * 300 + ".txt"
    with writable_server.client(WRITER) as client:
        response = client.post("/v1/documents", files={"file": (name, REPORT, "text/plain")})
        assert response.status_code == 201, response.text
        stored = response.json()["filename"]
        assert stored.endswith(".txt") and len(stored) <= 200
        assert client.delete(f"/v1/documents/{response.json()['documents'][0]['doc_id']}").status_code == 200


def test_document_from_a_subfolder_can_be_deleted(writable_server, tmp_path):
    (tmp_path / "reports" / "2026").mkdir(parents=True)
    (tmp_path / "reports" / "2026" / "zephyr.txt").write_bytes(REPORT)
    writable_server.app.state.assistant.ingest([tmp_path / "reports"])
    with writable_server.client(WRITER) as client:
        assert "2026/zephyr.txt" in [d["doc_id"] for d in client.get("/v1/documents").json()["documents"]]
        response = client.delete("/v1/documents/2026/zephyr.txt")
        assert response.status_code == 200, response.text
        assert response.json() == {"removed": "2026/zephyr.txt"}
        assert "2026/zephyr.txt" not in [d["doc_id"] for d in client.get("/v1/documents").json()["documents"]]


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions"])
def test_an_empty_index_is_409_on_every_route(tmp_path, route):
    from api.main import create_app
    from rag.assistant import Assistant

    settings = api_settings(tmp_path / "empty")
    srv = start_server(create_app(Assistant.from_settings(settings), settings))
    try:
        with srv.client() as client:
            response = _post_question(client, route, GROWTH)
    finally:
        srv.stop()
    assert response.status_code == 409 and "nothing is indexed yet" in response.json()["error"]["message"]
