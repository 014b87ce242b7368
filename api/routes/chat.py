"""POST /v1/ask (JSON, or Server-Sent Events with stream=true) and POST /v1/ask/stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from ..deps import CallerDep, ServiceDep
from ..errors import rag_error_payload
from ..schemas import CitationOut, HitOut
from ..service import ChatService, Turn, owner_id

router = APIRouter(prefix="/v1", tags=["chat"])

Answerer = Literal["auto", "extractive", "local", "openai"]


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., description="The question (at most 2,000 characters).",
                          examples=["How much will global AI server shipments grow in 2026?"])
    k: int | None = Field(None, ge=1, le=100, description="Passages to retrieve.")
    filters: dict[str, str] | list[str] | None = Field(
        None, description="key=value filters: doc_id, source, publisher, broker, company, ticker, date_from, date_to.",
        examples=[{"publisher": "GMT Eight"}])
    answerer: Answerer | None = Field(None, description="Default: the server's setting (auto).")
    conversation_id: str | None = Field(
        None, max_length=64, description="Continue a conversation: follow-ups are made standalone from its history.")
    # Strict: lax pydantic reads "yes" or "no" as a bool, so a typo would silently pick the format.
    stream: bool = Field(False, strict=True, description="Answer as Server-Sent Events: token*, answer, done.")


class PassageOut(BaseModel):
    n: int
    chunk_id: str
    doc_id: str
    title: str
    page: int | None
    publisher: str = Field(description="Who published the report, when known.")
    published: str = Field(description="The report's date, YYYY-MM-DD, when known.")
    text: str = Field(description="The whole cited passage.")
    highlight_start: int = Field(description="Offset of the cited sentence within text.")
    highlight_end: int


class ChatResponse(BaseModel):
    id: str | None = Field(None, description="The answer's id, to send POST /v1/feedback about it.")
    question: str
    answer: str
    abstained: bool
    answerer: str
    citations: list[CitationOut]
    closest_matches: list[HitOut] = Field(description="When the answer abstains: the nearest passages, not citations.")
    timings: dict[str, float]
    warnings: list[str] = Field(description="Notes from the answer's checks (a citation moved, a fallback): "
                                "for a details view and the logs, not for every answer's text.")
    calculation: str = Field("", description="A computed figure's calculation, each operand with its [n].")
    conversation_id: str | None
    condensed_question: str | None = Field(None, description="The standalone question a follow-up became.")
    passages: list[PassageOut]


def sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def sse_events(service: ChatService, turn: Turn, request: ChatRequest) -> Iterator[str]:
    yield sse("status", service.status(turn))
    for event in service.stream(turn, k=request.k, filters=request.filters):
        if event["type"] == "token":
            yield sse("token", {"text": event["text"]})
        elif event["type"] == "answer":
            yield sse("answer", service.answer_json(turn, event["answer"]))
        else:
            status, body = rag_error_payload(event["error"])
            yield sse("error", body)
    yield sse("done", {"conversation_id": turn.conversation_id})


def _turn(service: ChatService, request: ChatRequest, caller: str) -> Turn:
    return service.prepare(request.question, request.answerer, request.conversation_id, filters=request.filters,
                           owner=owner_id(caller))


def streaming_response(service: ChatService, request: ChatRequest, caller: str) -> StreamingResponse:
    turn = _turn(service, request, caller)
    # The background task frees the LLM slot even when the client leaves before the stream starts, in
    # which case the generator (whose finally also frees it) never runs.
    return StreamingResponse(sse_events(service, turn, request), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                             background=BackgroundTask(service.release, turn))


@router.post("/ask", response_model=ChatResponse, responses={
    200: {"content": {"text/event-stream": {}}, "description": "The answer; SSE when stream is true."},
    401: {"description": "Missing or invalid API key"}, 404: {"description": "Unknown conversation_id"},
    409: {"description": "Nothing indexed"}, 422: {"description": "Bad question or request"},
    429: {"description": "Rate limited"}, 503: {"description": "LLM busy or unavailable"}})
def ask(request: ChatRequest, service: ServiceDep, caller: CallerDep):
    """Answer a question from the reports, every claim cited as [n]; or say the reports do not answer it."""
    if request.stream:
        return streaming_response(service, request, caller)
    turn = _turn(service, request, caller)
    answer = service.answer(turn, k=request.k, filters=request.filters)
    return service.answer_json(turn, answer)


@router.post("/ask/stream", response_class=StreamingResponse, responses={
    404: {"description": "Unknown conversation_id"}, 409: {"description": "Nothing indexed"},
    200: {"content": {"text/event-stream": {}}, "description": "event: status (data {state, message}: what the "
          "answer waits on, e.g. loading_model), event: token (data {text})*, then event: answer (the JSON of "
          "/v1/ask) or event: error, then event: done."}})
def ask_stream(request: ChatRequest, service: ServiceDep, caller: CallerDep):
    """/v1/ask as Server-Sent Events, whatever `stream` says."""
    return streaming_response(service, request, caller)
