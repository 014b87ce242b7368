"""Slack's side, played on 127.0.0.1: a fake Web API that records every call (and serves response_urls),
a websocket server for Socket Mode, a real uvicorn serving the FastAPI app, and HMAC v0 request signing.
Slack's cloud is the only fake; the bolt app, the assistant and the HTTP stack are real."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

import httpx

BOT_USER = "UBOT"
SIGNING_SECRET = "test-signing-secret"


class FakeSlack:
    """Slack's Web API: answers auth.test, chat.*, conversations.replies, apps.connections.open and any
    response_url under /response/; keeps posted messages so conversations.replies returns real threads."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.messages: list[dict] = []
        self.ws_url: str | None = None
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                url = urlparse(self.path)
                params = dict(parse_qsl(url.query))
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if raw and "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw))
                elif raw:
                    params.update(parse_qsl(raw))
                if url.path.startswith("/response/"):
                    fake._record("response_url", {**params, "path": url.path})
                    self._send(200, b"ok", "text/plain")
                    return
                method = url.path.rsplit("/", 1)[-1]
                body = fake._answer(method, params)
                fake._record(method, params)
                self._send(200, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = f"{self.url}/api/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def add_message(self, channel: str, text: str, user: str = "U1", thread_ts: str | None = None,
                    bot: bool = False) -> str:
        ts = self.next_ts()
        message = {"type": "message", "ts": ts, "text": text, "user": BOT_USER if bot else user}
        if bot:
            message["bot_id"] = "BBOT"
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._cond:
            self.messages.append({**message, "channel": channel})
        return ts

    def _answer(self, method: str, params: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "Test", "user": "rag",
                    "team_id": "T1", "user_id": BOT_USER, "bot_id": "BBOT", "is_enterprise_install": False}
        if method == "chat.postMessage":
            ts = self.add_message(params["channel"], params.get("text", ""), thread_ts=params.get("thread_ts"),
                                  bot=True)
            return {"ok": True, "channel": params["channel"], "ts": ts, "message": {"text": params.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self.next_ts()}
        if method == "conversations.replies":
            with self._cond:
                thread = [m for m in self.messages if m["channel"] == params.get("channel")
                          and (m["ts"] == params.get("ts") or m.get("thread_ts") == params.get("ts"))]
            return {"ok": True, "messages": thread, "has_more": False}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url} if self.ws_url else {"ok": False, "error": "invalid_auth"}
        return {"ok": True}

    def _record(self, method: str, params: dict) -> None:
        with self._cond:
            self.calls.append((method, params))
            self._cond.notify_all()

    def calls_to(self, method: str, **match) -> list[dict]:
        with self._cond:
            return [p for m, p in self.calls if m == method and all(p.get(k) == v for k, v in match.items())]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30, **match) -> list[dict]:
        """The first `count` calls to `method` whose params include `match`; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [p for m, p in self.calls if m == method and all(p.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count} {method} call(s) matching {match} within {timeout} s; "
                                         f"calls: {[m for m, _ in self.calls]}")
                self._cond.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeSocketModeServer:
    """Slack's side of Socket Mode: says hello, sends the queued envelopes, records what the app sends back."""

    def __init__(self, envelopes: list[dict]) -> None:
        self.envelopes = envelopes
        self.received: list[dict] = []
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Future | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the websocket server did not start")
        self.url = f"ws://127.0.0.1:{self.port}/link/?ticket=test"

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._stop = self._loop.create_future()
        async with serve(self._session, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop

    async def _session(self, websocket) -> None:
        await websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                         "debug_info": {"host": "test"}, "connection_info": {"app_id": "A1"}}))
        for envelope in self.envelopes:
            await websocket.send(json.dumps(envelope))
        async for message in websocket:
            with self._cond:
                self.received.append(json.loads(message))
                self._cond.notify_all()

    def wait_for_ack(self, envelope_id: str, timeout: float = 15) -> dict:
        with self._cond:
            if not self._cond.wait_for(lambda: any(m.get("envelope_id") == envelope_id for m in self.received),
                                       timeout):
                raise AssertionError(f"no ack for envelope {envelope_id}; received {self.received}")
            return next(m for m in self.received if m.get("envelope_id") == envelope_id)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(app):
    """`app` served by a real uvicorn on 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for `body`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def post_event(url: str, event: dict, event_id: str, headers: dict | None = None, **sign_args) -> httpx.Response:
    body = json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event": event, "event_id": event_id, "event_time": int(time.time()),
                       "authorizations": [{"team_id": "T1", "user_id": BOT_USER, "is_bot": True}]})
    return httpx.post(url, content=body, timeout=10,
                      headers={"Content-Type": "application/json", **sign(body, **sign_args), **(headers or {})})


def post_form(url: str, form: dict) -> httpx.Response:
    body = httpx.QueryParams(form).__str__()
    return httpx.post(url, content=body, timeout=10,
                      headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)})


def mention(fake: FakeSlack, text: str, channel: str = "C1", thread_ts: str | None = None) -> dict:
    """An app_mention event for a message the fake also keeps (so it shows in conversations.replies)."""
    ts = fake.add_message(channel, text, thread_ts=thread_ts)
    event = {"type": "app_mention", "user": "U1", "text": text, "ts": ts, "channel": channel, "event_ts": ts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def blocks_text(blocks: list[dict] | str) -> str:
    """All the mrkdwn/plain text in `blocks` (as sent: a list, or the JSON string of a form post)."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            parts.append(text["text"] if isinstance(text, dict) else text or "")
    return "\n".join(parts)
