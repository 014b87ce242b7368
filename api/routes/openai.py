"""POST /v1/chat/completions: the OpenAI chat API, so existing chat clients and SDKs can ask the reports.

The last user message is the question; earlier user/assistant messages are the conversation used to make a
follow-up standalone. `model` picks the answerer ("rag" or "auto", "extractive", "local", "openai", also as
"rag-extractive"...); any other name gets the server default, since clients often hard-code a model name.
Citations come as [n] in the text, a Sources list after it, and an extra `citations` field.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CallerDep, ServiceDep
from api.errors import ApiError, rag_error_payload
from api.service import ChatService, Turn
from rag.types import Answer

router = APIRouter(prefix="/v1", tags=["openai"])

_ANSWERERS = ("auto", "extractive", "local", "openai")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: str = "text"
    text: str = ""


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    # Ignore, rather than refuse, the many sampling fields SDKs send (temperature, top_p, n, ...).
    model_config = ConfigDict(extra="ignore")

    model: str = Field("rag", examples=["rag", "rag-extractive"])
    messages: list[Message] = Field(..., min_length=1, examples=[[
        {"role": "user", "content": "How much will global AI server shipments grow in 2026?"}]])
    stream: bool = Field(False, strict=True)
    filters: dict[str, str] | list[str] | None = Field(None, description="Extra: key=value search filters.")


def answerer_for(model: str) -> str | None:
    name = model.lower().removeprefix("rag-").removeprefix("rag")
    return name if name in _ANSWERERS else None


def _with_sources(answer: Answer) -> str:
    if answer.abstained or not answer.citations:
        return answer.text
    lines = [f"[{c.n}] {c.title}{f', p. {c.page}' if c.page else ''}: \"{c.text}\"" for c in answer.citations]
    return answer.text + "\n\nSources:\n" + "\n".join(lines)


def _turn(request: ChatCompletionRequest, service: ChatService) -> Turn:
    if request.messages[-1].role != "user" or not request.messages[-1].text().strip():
        raise ApiError(422, "the last message must be a non-empty user message (the question)", "invalid_request")
    history = [(m.role, m.text()) for m in request.messages[:-1] if m.role in ("user", "assistant") and m.text()]
    return service.prepare(request.messages[-1].text(), answerer_for(request.model), history=history,
                           new_conversation=False, filters=request.filters)


def _extra(answer: Answer) -> dict:
    return {"citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained,
            "answerer": answer.answerer, "warnings": answer.warnings}


@router.post("/chat/completions", responses={
    200: {"content": {"text/event-stream": {}}, "description": "A chat.completion, or chunks when stream is true."}})
def chat_completions(request: ChatCompletionRequest, service: ServiceDep, caller: CallerDep):
    """OpenAI-compatible chat completion over the reports."""
    turn = _turn(request, service)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if request.stream:
        # As in chat.py: the background task frees the LLM slot if the client leaves before streaming starts.
        return StreamingResponse(_chunks(service, turn, request, completion_id, created),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"},
                                 background=BackgroundTask(service.release, turn))
    answer = service.answer(turn, filters=request.filters)
    text = _with_sources(answer)
    return {"id": completion_id, "object": "chat.completion", "created": created, "model": request.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, **_extra(answer)}


def _chunks(service: ChatService, turn: Turn, request: ChatCompletionRequest, completion_id: str,
            created: int) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed = []
    for event in service.stream(turn, filters=request.filters):
        if event["type"] == "token":
            streamed.append(event["text"])
            yield chunk({"content": event["text"]})
        elif event["type"] == "answer":
            answer = event["answer"]
            text = _with_sources(answer)
            raw = "".join(streamed)
            if not raw:
                yield chunk({"content": text})
            elif raw.strip() != answer.text.strip():
                # The streamed draft failed verification (or was repaired): what a client cannot retract, we
                # follow with the verified answer, marked as such.
                yield chunk({"content": f"\n\nVerified answer: {text}"})
            else:
                yield chunk({"content": text[len(answer.text):]})
            yield chunk({}, "stop", **_extra(answer))
        else:
            status, body = rag_error_payload(event["error"])
            yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
