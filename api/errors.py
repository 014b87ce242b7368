"""Errors at the HTTP edge: every failure is a 4xx/5xx with one JSON body, {"error": {"type", "message",
"status", "code", "param"}}, the shape OpenAI clients read too (ErrorResponse documents it in the OpenAPI
schema). RagError subclasses map to status codes in one place."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import (
    AnswererError,
    BadQuestionError,
    EmbedError,
    EmptyIndexError,
    FilterError,
    LoadError,
    NotFoundError,
    RagError,
    StoreError,
)

log = logging.getLogger(__name__)

# Most specific first: the first isinstance match wins. A status comes from the error's class alone, never its
# message, so rewording a message cannot change what a client is told.
STATUS_BY_ERROR: list[tuple[type[RagError], int]] = [
    (NotFoundError, 404),
    (BadQuestionError, 422),
    (FilterError, 400),
    (EmptyIndexError, 409),
    (AnswererError, 503),
    (LoadError, 422),
    (StoreError, 503),
    (EmbedError, 503),
    (RagError, 400),
]
PARAM_BY_ERROR: dict[type[RagError], str] = {BadQuestionError: "question", FilterError: "filters"}

# OpenAI's API answers every bad request with 400 and its SDKs raise BadRequestError for it; the rest of the
# API keeps FastAPI's 422 for a well-formed request with unusable values.
OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")


class ErrorDetail(BaseModel):
    type: str = Field(examples=["invalid_request"], description="What kind of failure.")
    message: str = Field(examples=["question: String should have at least 1 character"])
    status: int = Field(examples=[422], description="The HTTP status, repeated for clients that lose it.")
    code: str = Field(examples=["invalid_request"], description="A stable, machine-readable code.")
    param: str | None = Field(None, examples=["question"], description="The request field at fault, if one is.")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An HTTP failure raised by the API itself (auth, rate limit, overload, unknown ids, uploads)."""

    def __init__(self, status: int, message: str, type: str = "api_error", headers: dict[str, str] | None = None,
                 param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.headers = headers or {}
        self.param = param


def status_for(exc: RagError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name.removesuffix("Error")).lower() or "rag"


def error_body(status: int, type: str, message: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"type": type, "message": message, "status": status, "code": code or type, "param": param}}


def error_response(status: int, type: str, message: str, headers: dict[str, str] | None = None,
                   param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, type, message, param), status_code=status, headers=headers)


def rag_error_payload(exc: RagError) -> tuple[int, dict]:
    status = status_for(exc)
    param = next((p for cls, p in PARAM_BY_ERROR.items() if isinstance(exc, cls)), None)
    return status, error_body(status, type(exc).__name__, str(exc), param, _snake(type(exc).__name__))


def _describe_validation(exc: RequestValidationError) -> tuple[int, str, str, str | None]:
    problems = []
    param = None
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return 400, "malformed_json", f"the request body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})", None
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")) or "body"
        param = param or where
        if err.get("type") == "extra_forbidden":
            problems.append(f"{where}: unknown field")
        else:
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return 422, "invalid_request", "; ".join(problems) or "invalid request", param


def _for_route(request: Request, status: int, body: dict) -> tuple[int, dict]:
    if request.url.path in OPENAI_PATHS:
        if status == 422:
            status = 400
            body["error"]["status"] = 400
        if body["error"]["param"] == "question":
            # An OpenAI request has no question field: the question is the last of its messages.
            body["error"]["param"] = "messages"
    return status, body


# Failures any /v1 route can answer with, besides those a route documents itself.
_COMMON_ERRORS = {"401": "Missing or invalid API key", "429": "Rate limited", "500": "Internal error",
                  "503": "The index, the embedder or the model is unavailable, or the model is busy"}
_BODY_ERRORS = {"400": "Malformed JSON, or a bad filter", "422": "A field is missing or has an unusable value"}


def document_errors(schema: dict) -> dict:
    """Make an OpenAPI schema say what errors really look like: FastAPI documents 422 as {"detail": [...]},
    while every error here is ErrorResponse; OpenAI-compatible routes answer 400 where others answer 422."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorResponse"] = error_schema
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith("/v1"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            has_input = bool(operation.get("parameters") or operation.get("requestBody"))
            extra = {**_COMMON_ERRORS, **(_BODY_ERRORS if has_input else {})}
            for code, description in extra.items():
                responses.setdefault(code, {"description": description})
            if path in OPENAI_PATHS and "422" in responses:
                responses.setdefault("400", responses.pop("422"))
            for code, response in responses.items():
                if code[0] in "45":
                    response["content"] = content
    return schema


def install_error_handlers(app: FastAPI) -> None:
    def respond(request: Request, status: int, body: dict, headers: dict[str, str] | None = None) -> JSONResponse:
        status, body = _for_route(request, status, body)
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return respond(request, exc.status, error_body(exc.status, exc.type, exc.message, exc.param), exc.headers)

    @app.exception_handler(RagError)
    async def _rag_error(request: Request, exc: RagError) -> JSONResponse:
        status, body = rag_error_payload(exc)
        headers = {"Retry-After": "30"} if status == 503 else None
        return respond(request, status, body, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, type, message, param = _describe_validation(exc)
        return respond(request, status, error_body(status, type, message, param))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        cause = exc.__cause__
        if isinstance(cause, UnicodeDecodeError):
            # FastAPI's own words are "There was an error parsing the body"; say which byte.
            return respond(request, 400, error_body(400, "malformed_json", "the request body is not UTF-8 (byte "
                                                    f"0x{cause.object[cause.start]:02x} at offset {cause.start}); "
                                                    "send JSON encoded as UTF-8"))
        return respond(request, exc.status_code, error_body(exc.status_code, "http_error", str(exc.detail)),
                       getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}")
