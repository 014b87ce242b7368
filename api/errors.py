"""Errors at the HTTP edge: every failure is a 4xx/5xx with one JSON body, {"error": {"type", "message",
"status"}}, the shape OpenAI clients read too. RagError subclasses map to status codes in one place."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import (
    AnswererError, BadQuestionError, EmbedError, EmptyIndexError, FilterError, LoadError, RagError, StoreError,
)

log = logging.getLogger(__name__)

# Most specific first: the first isinstance match wins.
STATUS_BY_ERROR: list[tuple[type[RagError], int]] = [
    (BadQuestionError, 422),
    (FilterError, 400),
    (EmptyIndexError, 409),
    (AnswererError, 503),
    (LoadError, 422),
    (StoreError, 503),
    (EmbedError, 503),
]


class ApiError(Exception):
    """An HTTP failure raised by the API itself (auth, rate limit, overload, unknown ids, uploads)."""

    def __init__(self, status: int, message: str, type: str = "api_error", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.headers = headers or {}


def status_for(exc: RagError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    message = str(exc)
    if message.startswith("no indexed document"):
        return 404
    return 400


def error_body(status: int, type: str, message: str) -> dict:
    return {"error": {"type": type, "message": message, "status": status}}


def error_response(status: int, type: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, type, message), status_code=status, headers=headers)


def rag_error_payload(exc: RagError) -> tuple[int, dict]:
    status = status_for(exc)
    return status, error_body(status, type(exc).__name__, str(exc))


def _describe_validation(exc: RequestValidationError) -> tuple[int, str, str]:
    problems = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return 400, "malformed_json", f"the request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        if err.get("type") == "extra_forbidden":
            problems.append(f"{where}: unknown field")
        else:
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return 422, "invalid_request", "; ".join(problems) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.type, exc.message, exc.headers)

    @app.exception_handler(RagError)
    async def _rag_error(request: Request, exc: RagError) -> JSONResponse:
        status, body = rag_error_payload(exc)
        headers = {"Retry-After": "30"} if status == 503 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, type, message = _describe_validation(exc)
        return error_response(status, type, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "http_error", str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}")
