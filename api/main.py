"""The chat API and web chat page as one FastAPI app: `create_app()` builds it from settings, or over a
given Assistant (tests, the load benchmark). Run it with `rag serve`."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders

from rag.conversation import ConversationStore
from rag.feedback import FeedbackStore
from rag.settings import Settings, get_settings

from .errors import document_errors, error_response, install_error_handlers
from .metrics import Metrics
from .routes import batch, chat, conversations, documents, health, openai
from .service import ChatService

if TYPE_CHECKING:
    # For annotations only: importing rag.assistant loads every stage, which a front end defers.
    from rag.assistant import Assistant

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
# Multipart framing around an upload: headers and boundaries, well under this.
_MULTIPART_OVERHEAD_BYTES = 64 * 1024

# The web page's Content-Security-Policy, sent with every response that sets none of its own. Scripts and styles
# come from this origin's files, plus the page's own inline <script>/<style> blocks by hash ({scripts} and
# {styles} are filled in from static/index.html when the app is built); requests go to this origin only; frames
# (the PDF viewer) show this origin's pages or blob: URLs of files the page fetched; no plugins, no <base>, and no
# other site may frame the page. Answers quote uploaded documents, so inline script stays limited to the hashes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' {scripts}; style-src 'self' {styles}; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self' blob:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from their CDNs and start them with inline script.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'"
)


def create_app(assistant: Assistant | None = None, settings: Settings | None = None) -> FastAPI:
    """The app over `assistant` (default: `Assistant.from_settings(settings)`, built at startup)."""
    settings = settings or (assistant.settings if assistant is not None else get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        threading.Thread(target=_warm_up, args=(app,), name="rag-warm-up", daemon=True).start()
        yield

    app = FastAPI(title="Broker report assistant", version="0.1.0", lifespan=lifespan,
                  description="Ask questions of broker research reports; every answer cites its passages. "
                  "Every /v1 route needs 'Authorization: Bearer <key>' when RAG_API_KEYS is set.")
    if assistant is None:
        from rag.assistant import Assistant

        assistant = Assistant.from_settings(settings)
    metrics = Metrics()
    app.state.assistant = assistant
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.conversations = ConversationStore(settings.conversations_path)
    # The Slack bot's database: a verdict from the page lands in the same feedback table as one from Slack.
    app.state.feedback = FeedbackStore(settings.slack_db_path)
    app.state.service = ChatService(assistant, settings, app.state.conversations, metrics, app.state.feedback)
    app.state.ready = threading.Event()
    app.state.ready_error = None
    install_error_handlers(app)
    app.add_middleware(JsonBodyMiddleware)
    for router in (chat.router, openai.router, documents.router, conversations.router, health.router, batch.router):
        app.include_router(router)
    if settings.slack.bot_token or settings.slack.signing_secret:
        # Imported only when configured: slack-bolt is the optional `slack` extra.
        from .slack import mount_slack

        mount_slack(app, assistant, settings)  # POST /slack/events, HTTP Events mode

    # Outermost, so it times and counts every request, including those refused below it.
    app.add_middleware(ObserveMiddleware, settings=settings, metrics=metrics)
    # Outside that, so an upload refused there carries the headers too.
    docs_paths = {p for p in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url) if p is not None}
    page = (STATIC / "index.html").read_bytes()
    app.add_middleware(SecurityHeadersMiddleware, policy=page_policy(page.decode("utf-8")),
                       docs_paths=frozenset(docs_paths))

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(get_openapi(title=app.title, version=app.version,
                                                             description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema

    # Its Content-Security-Policy comes from SecurityHeadersMiddleware, as every response's does.
    page_headers = {"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=page_headers)

    return app


def page_policy(html: str) -> str:
    """CONTENT_SECURITY_POLICY with the sha256 of each inline <script> and <style> block of `html`."""

    def hashes(tag: str) -> str:
        blocks = re.findall(rf"<{tag}(?![^>]*\bsrc=)[^>]*>(.*?)</{tag}>", html, re.DOTALL | re.IGNORECASE)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
                        for b in blocks if b.strip())

    return CONTENT_SECURITY_POLICY.format(scripts=hashes("script"), styles=hashes("style"))


class SecurityHeadersMiddleware:
    """X-Content-Type-Options: nosniff on every response, so a browser never runs an uploaded or quoted text as
    script or style; and a Content-Security-Policy on each that has none of its own: `policy`, or the docs
    pages' policy on `docs_paths`. Plain ASGI, as ObserveMiddleware is, for its cost per request."""

    def __init__(self, app, policy: str, docs_paths: frozenset[str]) -> None:
        self.app, self.policy, self.docs_paths = app, policy, docs_paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CONTENT_SECURITY_POLICY if scope["path"] in self.docs_paths else self.policy

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Content-Security-Policy", policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Routes whose body is a JSON object. curl -d sends application/x-www-form-urlencoded, and FastAPI would hand
# such a body to the model as bytes ("Input should be a valid dictionary").
JSON_ROUTES = frozenset({"/v1/ask", "/v1/ask/stream", "/v1/chat/completions", "/v1/feedback"})


class JsonBodyMiddleware:
    """Reads the body of a JSON route as JSON whatever its Content-Type says (a malformed one is still a 400)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in JSON_ROUTES:
            # In place, not a copy: the metrics middleware outside reads the matched route from this scope.
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            scope["headers"] = headers + [(b"content-type", b"application/json")]
        await self.app(scope, receive, send)


class ObserveMiddleware:
    """Request latency and counts per route, and the early refusal of an oversized upload (SecurityHeadersMiddleware,
    outside it, gives every response nosniff and a CSP). Plain ASGI rather than @app.middleware("http"): that
    wrapper's task group and memory streams cost more event-loop time per request than a cached answer does, and
    on 2 cores the event loop is what a busy server waits on."""

    def __init__(self, app, settings: Settings, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        self.upload_limit = settings.api.max_upload_bytes + _MULTIPART_OVERHEAD_BYTES
        self.max_upload_bytes = settings.api.max_upload_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-length"), "")
        if scope["path"] == "/v1/documents" and length.isdigit() and int(length) > self.upload_limit:
            # Refused before the body is read: a 2 GB upload must not be spooled to disk first.
            response = error_response(413, "too_large", f"the upload is {length} bytes; the limit is "
                                      f"{self.max_upload_bytes} bytes", {"Connection": "close"})
            await response(scope, receive, send)
            return
        started = time.perf_counter()
        observed = False

        def observe(status: int) -> None:
            nonlocal observed
            observed = True
            # The router writes the matched route into this same scope dict.
            path = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.latency.labels(route=path).observe(time.perf_counter() - started)
            self.metrics.requests.labels(route=path, method=scope["method"], status=str(status)).inc()

        async def send_observed(message) -> None:
            # Timed to the response's start, as before: a streamed answer's latency is its first byte's.
            if message["type"] == "http.response.start" and not observed:
                observe(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception:
            # An unhandled error becomes a 500 outside this middleware; a client that went away is not one.
            if not observed:
                observe(500)
            raise


def _warm_up(app: FastAPI) -> None:
    """Load the embedder and open the index before /readyz says ready, so the first question is not slow."""
    try:
        assistant = app.state.assistant
        assistant.embedder.embed_query("warm up")
        assistant.documents()
        app.state.ready.set()
    except Exception as exc:  # noqa: BLE001 - reported by /readyz rather than killing the server
        log.exception("warm-up failed")
        app.state.ready_error = str(exc)
