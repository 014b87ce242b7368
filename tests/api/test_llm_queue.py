"""Load behaviour: the local LLM answers one request at a time; a request that cannot get it within the wait
budget is answered extractively (flagged) or refused with 503 + Retry-After; extractive answers and search
keep serving meanwhile. The model is SlowModel (see conftest for why)."""

from __future__ import annotations

import json
import threading
import time

from tests.api.test_chat import GROWTH, sse_events


def _busy(server, results: dict) -> threading.Thread:
    calls_before = server.model.calls  # the model is shared by the module's tests

    def run() -> None:
        with server.client() as client:
            results["llm"] = client.post("/v1/ask", json={"question": GROWTH})

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 5
    while server.model.calls == calls_before and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def test_stream_sends_tokens_then_verified_answer_then_done(slow_llm_server):
    with slow_llm_server.client() as client:
        response = client.post("/v1/ask/stream", json={"question": GROWTH})
    events = sse_events(response)
    names = [name for name, _ in events]
    # The Assistant was given its model, so nothing is loading: the page is told the model writes the answer.
    assert events[0] == ("status", {"state": "answering", "message": events[0][1]["message"]})
    assert "the model then writes the answer" in events[0][1]["message"]
    assert names[1] == "token" and names[-2:] == ["answer", "done"] and names.count("token") > 3
    answer = events[-2][1]
    assert answer["answerer"] == "local" and "20.9%" in answer["answer"] and answer["citations"]
    assert "".join(data["text"] for name, data in events if name == "token").strip() == answer["answer"]


def test_busy_llm_falls_back_to_extractive_while_others_keep_serving(slow_llm_server):
    results: dict = {}
    thread = _busy(slow_llm_server, results)
    with slow_llm_server.client() as client:
        started = time.monotonic()
        extractive = client.post("/v1/ask", json={"question": GROWTH, "answerer": "extractive"})
        search = client.get("/v1/search", params={"q": "Ascend 950PR"})
        served_s = time.monotonic() - started
        second = client.post("/v1/ask", json={"question": GROWTH})
    thread.join()
    assert extractive.json()["answerer"] == "extractive" and search.status_code == 200
    assert served_s < 1.5  # the generation takes ~1 s of sleeps; these did not queue behind it
    assert second.json()["answerer"] == "extractive"
    assert "the local model was busy" in second.json()["warnings"][0]
    assert results["llm"].json()["answerer"] == "local"


def test_busy_llm_can_refuse_with_retry_after(slow_llm_server):
    api = slow_llm_server.app.state.settings.api
    api.llm_overload = "reject"
    try:
        results: dict = {}
        thread = _busy(slow_llm_server, results)
        with slow_llm_server.client() as client:
            refused = client.post("/v1/ask", json={"question": GROWTH})
        thread.join()
    finally:
        api.llm_overload = "extractive"
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert "busy" in json.loads(refused.text)["error"]["message"]


def test_abandoned_stream_frees_the_model(slow_llm_server):
    import socket
    from urllib.parse import urlparse

    with slow_llm_server.client() as client:
        url = urlparse(str(client.base_url))
    body = json.dumps({"question": GROWTH}).encode()
    with socket.create_connection((url.hostname, url.port)) as raw:  # ask, then leave without reading
        raw.sendall(b"POST /v1/ask/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    deadline = time.monotonic() + 10
    answerer = None
    with slow_llm_server.client() as client:
        while time.monotonic() < deadline and answerer != "local":
            answerer = client.post("/v1/ask", json={"question": GROWTH}).json()["answerer"]
            time.sleep(0.2)
    assert answerer == "local", "the model slot was never released after the client left"


def test_a_local_model_not_loaded_yet_is_announced_as_loading(sample_index, tmp_path):
    """A first local answer loads the model (tens of seconds on a CPU): the status sent before it says so,
    until the model is loaded; a model given to the Assistant is loaded already."""
    from api.main import create_app
    from api.service import Turn
    from rag.assistant import Assistant
    from tests.api.conftest import SlowModel, api_settings
    from tests.conftest import make_settings

    def status(assistant: Assistant) -> dict:
        app = create_app(assistant, api_settings(tmp_path / "home"))
        try:
            return app.state.service.status(Turn(question=GROWTH, conversation_id=None, history=[], answerer="local"))
        finally:
            assistant.catalog.close()

    unloaded = status(Assistant.from_settings(make_settings(sample_index)))
    assert unloaded["state"] == "loading_model" and "Loading the local model" in unloaded["message"]
    given = status(Assistant.from_settings(make_settings(sample_index), chat_models={"local": SlowModel()}))
    assert given["state"] == "answering"
