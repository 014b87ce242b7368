"""The batch job flow over HTTP: create_app from api/main.py served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time

import httpx
import openpyxl
import pytest

from tests.batch.conftest import ASCEND, CAMBRICON, GROWTH
from tests.conftest import make_settings

KEY = "batch-test-key"


@pytest.fixture(scope="module")
def base_url(assistant, tmp_path_factory):
    import uvicorn

    from api.main import create_app

    settings = make_settings(tmp_path_factory.mktemp("batch-api-home"), api={"keys": KEY})
    app = create_app(assistant, settings=settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30) as http:
        yield http


def wait_done(client, job_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = client.get(f"/v1/batch/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_upload_poll_and_download_in_every_format(client):
    questions = f"id,question,analyst\nq1,{GROWTH},Li\nq2,{ASCEND},Wang\nq3,{CAMBRICON},Li\nq4,{'x' * 2100},Li\n"
    response = client.post("/v1/batch", files={"file": ("checklist.csv", questions.encode("gbk"), "text/csv")},
                           data={"llm": "extractive"})
    assert response.status_code == 202, response.text
    started = response.json()
    assert started["total"] == 4 and started["status"] == "queued"
    job = wait_done(client, started["id"])
    assert (job["status"], job["done"], job["answered"], job["abstained"], job["failed"]) == ("done", 4, 3, 1, 1)

    rows = list(csv.DictReader(io.StringIO(client.get(job["result_url"]).content.decode("utf-8-sig"))))
    by_id = {r["id"]: r for r in rows}
    assert "20.9%" in by_id["q1"]["answer"] and "1Q26" in by_id["q2"]["answer"]
    assert by_id["q3"]["abstained"] == "yes" and "limit is 2000" in by_id["q4"]["error"]
    assert by_id["q2"]["analyst"] == "Wang"

    lines = client.get(f"/v1/batch/{job['id']}/result", params={"format": "jsonl"}).text.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == ["q1", "q2", "q3", "q4"]
    assert records[0]["citations"][0]["doc_id"] == "000_4f14df6d3ec4a280.txt"
    # Named by doc_id and title, as /v1/ask names them: the server's paths stay on the server.
    assert "source" not in records[0]["citations"][0] and "source" not in records[2]["closest_matches"][0]

    xlsx = client.get(f"/v1/batch/{job['id']}/result", params={"format": "xlsx"})
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:4] == ["id", "question", "answer", "calculation"] and sheet.max_row == 5


def test_a_file_without_the_question_column_is_refused_with_the_columns_found(client):
    response = client.post("/v1/batch", files={"file": ("q.csv", b"id,query\n1,a?\n", "text/csv")})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == \
        "q.csv: no 'question' column; columns found: 'id', 'query' (name one with --column)"


def test_a_corrupt_workbook_is_refused(client):
    response = client.post("/v1/batch", files={"file": ("q.xlsx", b"PK\x03\x04garbage", "application/octet-stream")})
    assert response.status_code == 400 and "not a readable .xlsx workbook" in response.json()["error"]["message"]


def test_unknown_job_and_unknown_format(client):
    assert client.get("/v1/batch/0123456789abcdef0123456789abcdef").status_code == 404
    assert client.get("/v1/batch/../../etc").status_code == 404
    started = client.post("/v1/batch", files={"file": ("q.txt", GROWTH.encode(), "text/plain")},
                          data={"llm": "extractive"}).json()
    wait_done(client, started["id"])
    assert client.get(f"/v1/batch/{started['id']}/result", params={"format": "pdf"}).status_code == 422


def test_batch_routes_need_an_api_key(base_url):
    assert httpx.post(f"{base_url}/v1/batch", files={"file": ("q.txt", b"a?", "text/plain")}).status_code == 401
    assert httpx.get(f"{base_url}/v1/batch/0123456789abcdef0123456789abcdef").status_code == 401
