"""POST /v1/chat/completions and GET /v1/models: the OpenAI chat API, so existing chat clients and SDKs can ask
the reports.

The last user message is the question; earlier user/assistant messages are the conversation used to make a
follow-up standalone. `model` picks the answerer ("rag" or "auto", "extractive", "local", "openai", also as
"rag-extractive"...); any other name gets the server default, since clients often hard-code a model name.
Citations come as [n] in the text, a Sources list after it, and an extra `citations` field. `usage` counts
cl100k_base tokens of the messages and of the reply; a stream ends with a usage chunk when the request's
stream_options.include_usage is true, as OpenAI's does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from rag.chunk import count_tokens
from rag.types import Answer

from ..deps import CallerDep, ServiceDep
from ..errors import ApiError, rag_error_payload
from ..schemas import CitationOut
from ..service import ChatService, Turn, check_text, public_answer

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


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = Field(False, strict=True, description="End the stream with a chunk holding `usage`.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ReplyMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int
    message: ReplyMessage
    finish_reason: Literal["stop"]


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    citations: list[CitationOut] = Field(description="Extra: the passages behind the [n] markers.")
    abstained: bool = Field(description="Extra: true when the reports do not answer the question.")
    answerer: str
    warnings: list[str]


class ModelCard(BaseModel):
    id: str = Field(examples=["rag-extractive"])
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ChatCompletionRequest(BaseModel):
    # Ignore, rather than refuse, the many sampling fields SDKs send (temperature, top_p, n, ...).
    model_config = ConfigDict(extra="ignore")

    model: str = Field("rag", examples=["rag", "rag-extractive"])
    messages: list[Message] = Field(..., min_length=1, examples=[[
        {"role": "user", "content": "How much will global AI server shipments grow in 2026?"}]])
    stream: bool = Field(False, strict=True)
    stream_options: StreamOptions | None = None
    filters: dict[str, str] | list[str] | None = Field(None, description="Extra: key=value search filters.")


def answerer_for(model: str) -> str | None:
    name = model.lower().removeprefix("rag-").removeprefix("rag")
    return name if name in _ANSWERERS else None


def usage(request: ChatCompletionRequest, reply: str) -> dict:
    prompt = sum(count_tokens(m.text()) for m in request.messages)
    completion = count_tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def model_ids(service: ChatService) -> list[str]:
    names = [n for n in _ANSWERERS if n != "openai" or service.settings.llm.openai_base_url]
    return ["rag"] + [f"rag-{n}" for n in names]


def _card(model_id: str) -> dict:
    # Any fixed `created` will do: clients only show it.
    return {"id": model_id, "object": "model", "created": 1767225600, "owned_by": "rag"}


@router.get("/models", response_model=ModelList)
def models(service: ServiceDep, caller: CallerDep) -> dict:
    """The model names this server answers to; each picks an answerer ("rag" is the server's default)."""
    return {"object": "list", "data": [_card(m) for m in model_ids(service)]}


@router.get("/models/{model}", response_model=ModelCard, responses={404: {"description": "No such model"}})
def model(model: str, service: ServiceDep, caller: CallerDep) -> dict:
    if model not in model_ids(service):
        raise ApiError(404, f"no model {model!r}; GET /v1/models lists them", "model_not_found", param="model")
    return _card(model)


def _with_sources(answer: Answer) -> str:
    if answer.abstained or not answer.citations:
        return answer.text
    lines = [f"[{c.n}] {c.title}{f', p. {c.page}' if c.page else ''}: \"{c.text}\"" for c in answer.citations]
    return answer.text + "\n\nSources:\n" + "\n".join(lines)


def _turn(request: ChatCompletionRequest, service: ChatService) -> Turn:
    if request.messages[-1].role != "user" or not request.messages[-1].text().strip():
        raise ApiError(422, "the last message must be a non-empty user message (the question)", "invalid_request",
                       param="messages")
    history = [(m.role, check_text(m.text(), f"message {i + 1}")) for i, m in enumerate(request.messages[:-1])
               if m.role in ("user", "assistant") and m.text()]
    return service.prepare(request.messages[-1].text(), answerer_for(request.model), history=history,
                           new_conversation=False, filters=request.filters)


def _extra(answer: Answer) -> dict:
    return {"citations": public_answer(answer)["citations"], "abstained": answer.abstained,
            "answerer": answer.answerer, "warnings": answer.warnings}


@router.post("/chat/completions", response_model=ChatCompletion, responses={
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
            "usage": usage(request, text), **_extra(answer)}


def _chunks(service: ChatService, turn: Turn, request: ChatCompletionRequest, completion_id: str,
            created: int) -> Iterator[str]:
    include_usage = request.stream_options is not None and request.stream_options.include_usage
    sent: list[str] = []

    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        sent.append(delta.get("content") or "")
        # As OpenAI's: with include_usage every chunk has "usage": null but the last, whose choices are empty.
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
                **({"usage": None} if include_usage else {})}
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
    if include_usage:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": request.model,
                "choices": [], "usage": usage(request, "".join(sent))}
        yield f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
