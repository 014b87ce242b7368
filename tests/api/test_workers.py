"""Several server processes over one index directory and one Chroma server (`chroma run` on 127.0.0.1): what
is uploaded or deleted through one process is what another searches and answers, and `rag serve --workers N`
runs N processes on one port, but refuses the embedded Chroma store, which processes cannot share."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from rag.assistant import Assistant
from rag.cli import app
from tests.api.conftest import READER, WRITER
from tests.conftest import CORPUS, free_port, make_settings, serve_on_loopback
from tests.rag.test_chroma_server import chroma_url  # noqa: F401 - the session's `chroma run` server

RAG = Path(sys.executable).parent / "rag"


def report(company: str, figure: str) -> bytes:
    return (f"Acme Securities research note, 3 March 2026.\n\n{company} expects its battery shipments to reach "
            f"{figure} GWh in 2027, up from 1.9 GWh in 2026, driven by grid storage orders.\n").encode()


def question(company: str) -> str:
    return f"How many GWh of batteries will {company} ship in 2027?"


@dataclass
class Index:
    home: Path
    collection: str


@dataclass
class Process:
    url: str

    def client(self, key: str = READER) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


@pytest.fixture(scope="module")
def index(chroma_url, tmp_path_factory) -> Index:  # noqa: F811
    """The sample report, indexed into a catalog of its own and a collection of its own on the Chroma server."""
    settings = make_settings(tmp_path_factory.mktemp("shared") / "index")
    settings.chroma.url = chroma_url
    settings.chroma.collection = f"workers_{uuid.uuid4().hex[:12]}"
    assistant = Assistant.from_settings(settings)
    assistant.ingest([CORPUS])
    assistant.catalog.close()
    return Index(settings.home, settings.chroma.collection)


@contextmanager
def rag_serve(index: Index, chroma: str, log: Path, *args: str) -> Iterator[Process]:
    """`rag serve` as its own process tree over `index`, extractive answers, until /readyz says ready."""
    port = free_port()
    env = {**os.environ, "RAG_API_KEYS": f"{READER},{WRITER}", "RAG_API__WRITE_KEYS": WRITER,
           "RAG_API__RATE_LIMIT_PER_MINUTE": "10000", "RAG_LLM__ANSWERER": "extractive",
           "RAG_CHROMA__COLLECTION": index.collection}
    command = [str(RAG), "serve", "--port", str(port), "--index", str(index.home), "--chroma-url", chroma, *args]
    url = f"http://127.0.0.1:{port}"
    with serve_on_loopback("rag serve", command, f"{url}/readyz", log, timeout_s=120, env=env):
        yield Process(url)


@pytest.fixture(scope="module")
def two(index, chroma_url, tmp_path_factory) -> Iterator[tuple[Process, Process]]:  # noqa: F811
    """Two separate `rag serve` processes over the same index directory and Chroma collection."""
    logs = tmp_path_factory.mktemp("logs")
    with ExitStack() as stack:
        yield (stack.enter_context(rag_serve(index, chroma_url, logs / "a.log")),
               stack.enter_context(rag_serve(index, chroma_url, logs / "b.log")))


def upload(process: Process, name: str, body: bytes) -> str:
    with process.client(WRITER) as client:
        response = client.post("/v1/documents", files={"file": (name, body, "text/plain")})
    assert response.status_code == 201, response.text
    return response.json()["documents"][0]["doc_id"]


def search(process: Process, query: str) -> list[dict]:
    with process.client() as client:
        response = client.get("/v1/search", params={"q": query, "k": 3})
    assert response.status_code == 200, response.text
    return response.json()["hits"]


def ask(process: Process, text: str) -> dict:
    with process.client() as client:
        response = client.post("/v1/ask", json={"question": text, "answerer": "extractive"})
    assert response.status_code == 200, response.text
    return response.json()


def test_an_upload_through_one_process_is_found_by_the_other(two):
    a, b = two
    assert not any("Zephyr" in h["text"] for h in search(b, question("Zephyr Energy")))
    doc_id = upload(a, "zephyr.txt", report("Zephyr Energy", "4.2"))
    hits = search(b, question("Zephyr Energy"))
    assert hits[0]["doc_id"] == doc_id and "4.2 GWh" in hits[0]["text"]


def test_an_upload_through_one_process_is_answered_by_the_other_after_it_had_answered_without_it(two):
    a, b = two
    # Asked twice first, so the second answer comes from b's answer cache: the upload must invalidate it.
    before = [ask(b, question("Orion Power")) for _ in range(2)]
    assert not any("7.5" in answer["answer"] for answer in before)
    doc_id = upload(a, "orion.txt", report("Orion Power", "7.5"))
    answer = ask(b, question("Orion Power"))
    assert "7.5 GWh" in answer["answer"] and answer["citations"][0]["doc_id"] == doc_id


def test_a_delete_through_one_process_is_gone_from_the_other(two):
    a, b = two
    doc_id = upload(b, "vega.txt", report("Vega Cells", "3.3"))
    assert "3.3 GWh" in ask(a, question("Vega Cells"))["answer"]
    with b.client(WRITER) as client:
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 200
    assert not any(h["doc_id"] == doc_id for h in search(a, question("Vega Cells")))
    assert "3.3" not in ask(a, question("Vega Cells"))["answer"]


def test_uploads_through_both_processes_at_once_are_all_indexed(two):
    a, b = two
    # Each process takes the index's write lock in turn; neither may clean up the other's pending documents.
    uploads = [(a if i % 2 else b, f"lyra{i}.txt", report(f"Lyra {i} Storage", f"{10 + i}.5")) for i in range(6)]
    with ThreadPoolExecutor(len(uploads)) as pool:
        doc_ids = list(pool.map(lambda job: upload(*job), uploads))
    with a.client() as client:
        listed = {d["doc_id"]: d["status"] for d in client.get("/v1/documents").json()["documents"]}
    assert all(listed.get(doc_id) == "ready" for doc_id in doc_ids), listed
    for i, doc_id in enumerate(doc_ids):
        assert search(a if i % 2 else b, question(f"Lyra {i} Storage"))[0]["doc_id"] == doc_id


def worker_pids(parent: int) -> list[int]:
    """Children of `parent` running a uvicorn worker (multiprocessing spawns them with spawn_main)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children
            if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]


def is_serve_on(pid: int, url: str) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    port = url.rsplit(":", 1)[1].encode()
    return b"serve" in argv and port in argv and any(Path(a.decode(errors="replace")).name == "rag" for a in argv)


def test_serve_workers_runs_that_many_processes_on_one_port(index, chroma_url, tmp_path):  # noqa: F811
    with rag_serve(index, chroma_url, tmp_path / "workers.log", "--workers", "2") as server:
        [parent] = [int(p) for p in os.listdir("/proc") if p.isdigit() and is_serve_on(int(p), server.url)]
        assert len(worker_pids(parent)) == 2
        doc_id = upload(server, "nova.txt", report("Nova Grid", "5.6"))
        # Many connections at once reach both workers; every one of them must find the new report.
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: ask(server, question("Nova Grid")), range(16)))
        assert all("5.6 GWh" in a["answer"] and a["citations"][0]["doc_id"] == doc_id for a in answers)


def test_workers_refuse_the_embedded_store(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--index", str(tmp_path / "index")])
    assert result.exit_code == 2
    assert "cannot share the embedded Chroma store" in result.output and "--chroma-url" in result.output
    assert not (tmp_path / "index").exists(), "nothing may be opened before the refusal"
