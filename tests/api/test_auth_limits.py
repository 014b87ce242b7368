"""API keys (401/403), per-key rate limits (429 with Retry-After), health and Prometheus metrics."""

from __future__ import annotations

import time

import httpx

from api.limits import RateLimiter
from tests.api.conftest import READER, WRITER, api_settings, start_server


def test_missing_key_is_401(server):
    response = httpx.post(f"{server.url}/v1/ask", json={"question": "hi"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["error"]["message"]


def test_wrong_key_is_401(server):
    with server.client("not-a-key") as client:
        assert client.get("/v1/documents").status_code == 401


def test_health_needs_no_key(server):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.url}/readyz").json()["status"] == "ready"


def test_rate_limit_is_per_key_with_retry_after(assistant, tmp_path):
    from api.main import create_app

    srv = start_server(create_app(assistant, api_settings(tmp_path, rate_limit_per_minute=3)))
    try:
        with srv.client(READER) as reader, srv.client(WRITER) as writer:
            codes = [reader.get("/v1/documents").status_code for _ in range(4)]
            limited = reader.get("/v1/documents")
            other = writer.get("/v1/documents")
        assert codes == [200, 200, 200, 429]
        assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
        assert other.status_code == 200
    finally:
        srv.stop()


def metric(text: str, name: str) -> float:
    line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), f"{name} 0")
    return float(line.rsplit(" ", 1)[1])


def test_an_unhandled_error_is_counted_as_a_500(assistant, tmp_path):
    """The metrics middleware sits inside the server's error handler: a route that raises must still be
    counted, by its route and as a 500, and the client gets a 500."""
    from api.main import create_app

    app = create_app(assistant, api_settings(tmp_path / "api-home"))

    def broken() -> dict:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/v1/broken", broken, methods=["GET"])
    srv = start_server(app)
    try:
        assert httpx.get(f"{srv.url}/v1/broken").status_code == 500
        counted = 'rag_http_requests_total{method="GET",route="/v1/broken",status="500"}'
        assert metric(httpx.get(f"{srv.url}/metrics").text, counted) == 1
    finally:
        srv.stop()


def test_metrics_count_requests_answers_and_abstentions(server):
    before = httpx.get(f"{server.url}/metrics").text
    with server.client() as client:
        client.post("/v1/ask", json={"question": "How much will global AI server shipments grow in 2026?"})
        client.post("/v1/ask", json={"question": "What is Cambricon's revenue in 2025?"})
    after = httpx.get(f"{server.url}/metrics").text
    asks = 'rag_http_requests_total{method="POST",route="/v1/ask",status="200"}'
    assert metric(after, asks) == metric(before, asks) + 2
    assert metric(after, 'rag_answers_total{answerer="extractive"}') == metric(
        before, 'rag_answers_total{answerer="extractive"}') + 2
    assert metric(after, "rag_abstentions_total") == metric(before, "rag_abstentions_total") + 1
    assert metric(after, 'rag_stage_seconds_count{stage="retrieve"}') >= 2


def test_rate_limiter_forgets_keys_a_window_after_their_last_request():
    limiter = RateLimiter(per_minute=5, window_s=0.3)
    for n in range(200):
        assert limiter.check(f"addr:10.0.{n // 250}.{n % 250}") == 0
    assert len(limiter) == 200
    time.sleep(0.4)
    assert limiter.check("addr:10.9.9.9") == 0
    assert len(limiter) == 1


def test_a_limited_key_is_kept_until_its_requests_leave_the_window():
    limiter = RateLimiter(per_minute=2, window_s=0.5)
    assert limiter.check("k1") == 0 and limiter.check("k1") == 0
    assert 0 < limiter.check("k1") <= 0.5
    time.sleep(0.2)
    assert limiter.check("k1") > 0, "a refused request must not reset the window"
    time.sleep(0.4)
    assert limiter.check("k1") == 0
