"""Fixtures for the chat API: real uvicorn servers on free 127.0.0.1 ports, in threads of the test process,
over the sample index with the extractive answerer. The one fake is a deliberately slow generative model
(see SlowModel) for the LLM queue behaviour."""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from tests.conftest import free_port, make_settings

READER, WRITER = "reader-key", "writer-key"



@dataclass
class Server:
    url: str
    app: object
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, key: str | None = READER, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)


def start_server(app) -> Server:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    while httpx.get(f"{url}/readyz").status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the server never became ready")
        time.sleep(0.05)
    return Server(url, app, server, thread)


def api_settings(home, **api):
    settings = make_settings(home, llm={"answerer": "extractive"})
    settings.api.keys = f"{READER},{WRITER}"
    settings.api.write_keys = WRITER
    settings.api.rate_limit_per_minute = 10_000
    for key, value in api.items():
        setattr(settings.api, key, value)
    return settings


@pytest.fixture(scope="session")
def server(assistant, tmp_path_factory):
    """Read-mostly server over the shared sample index (uploads go to a server of their own)."""
    from api.main import create_app

    srv = start_server(create_app(assistant, api_settings(tmp_path_factory.mktemp("api-home"))))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def writable_server(sample_index, tmp_path_factory):
    """A server over its own copy of the sample index, for uploads and deletes; uploads capped at 64 KB."""
    from api.main import create_app
    from rag.assistant import Assistant

    home = tmp_path_factory.mktemp("writable") / "index"
    shutil.copytree(sample_index, home)
    settings = api_settings(home, max_upload_bytes=64 * 1024)
    # Generated requests may ask for answerer=local: SlowModel without delay keeps the schema test fast.
    assistant = Assistant.from_settings(settings, chat_models={"local": SlowModel(delay_s=0)})
    srv = start_server(create_app(assistant, settings))
    yield srv
    srv.stop()
    assistant.catalog.close()


class SlowModel:
    """A generative model that answers from the passages it is given, one word every `delay_s`.

    NOTE: the real local model (Qwen2.5 1.5B) needs 5-15 s an answer on 2 cores plus its load time, with
    timings too uneven to assert a queue's behaviour within the 4-minute test budget; this stand-in makes
    "the LLM is busy for about a second" exact. Everything around it (gate, fallback, SSE) is the real code.
    """

    name = "local"

    def __init__(self, delay_s: float = 0.06) -> None:
        self.delay_s = delay_s
        self.calls = 0

    def generate(self, messages, on_token=None) -> str:
        if len(messages) == 1:  # the answerability check (one user turn): judged on the real model elsewhere
            return "Yes"
        self.calls += 1
        user = messages[-1]["content"]
        if "Standalone question" in user:  # a condense request
            return "How much will global AI server shipments grow in 2026?"
        passages = re.findall(r"^\[(\d+)\] (.*)$", user, re.MULTILINE)
        sentence, n = next(((s, n) for n, text in passages for s in re.split(r"(?<=\.)\s+", text) if "20.9%" in s),
                           ("NOT_IN_REPORTS", None))
        text = f"{sentence.rstrip('.')} [{n}]." if n else sentence
        pieces = re.findall(r"\S+\s*", text)
        for piece in pieces:
            time.sleep(self.delay_s)
            if on_token:
                on_token(piece)
        return text


@pytest.fixture(scope="module")
def slow_llm_server(sample_index, tmp_path_factory):
    """A server over the sample index whose "local" answerer is SlowModel, given to the Assistant as its chat
    model (so the server counts it loaded); one waiter at most, 0.3 s wait budget."""
    from api.main import create_app
    from rag.assistant import Assistant

    model = SlowModel()
    slow = Assistant.from_settings(make_settings(sample_index), chat_models={"local": model})
    settings = api_settings(tmp_path_factory.mktemp("slow-home"), llm_wait_s=0.3, llm_queue_size=1)
    settings.llm.answerer = "local"
    srv = start_server(create_app(slow, settings))
    srv.model = model
    yield srv
    srv.stop()
    slow.catalog.close()
