"""GET /v1/conversations (the caller's, latest first), GET /v1/conversations/{id} (its turns, with the answers
as they were sent) and POST /v1/feedback (helpful / wrong on an answer, stored as the Slack bot stores it).

A caller sees and rates only what it asked: conversations and answers are kept under an opaque id of its API
key (or of its address when the server has no keys)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from ..deps import CallerDep, ServiceDep
from ..errors import ApiError
from ..service import owner_id

router = APIRouter(prefix="/v1", tags=["conversations"])


class ConversationOut(BaseModel):
    conversation_id: str
    title: str = Field(description="The conversation's first question.")
    created: float = Field(description="Unix time.")
    updated: float = Field(description="Unix time of the latest turn.")
    turns: int


class ConversationsResponse(BaseModel):
    conversations: list[ConversationOut]


class TurnOut(BaseModel):
    role: Literal["user", "assistant"]
    text: str = Field(description="The question (as made standalone), or the answer's text.")
    created: float
    question: str | None = Field(None, description="A user turn: the question as it was asked.")
    filters: dict[str, str] | None = Field(None, description="A user turn: the filters it was asked with.")
    answer: dict | None = Field(None, description="An assistant turn: the answer as POST /v1/ask sent it.")
    verdict: str | None = Field(None, description="An assistant turn: the caller's feedback on it, if any.")


class ConversationResponse(BaseModel):
    conversation_id: str
    turns: list[TurnOut]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(..., min_length=1, max_length=64, description="The answer's `id` from POST /v1/ask.")
    verdict: Literal["helpful", "wrong"]


class FeedbackResponse(BaseModel):
    answer_id: str
    verdict: str


# A list for a sidebar, not an archive: older conversations stay on record, resumable by id.
LISTED_CONVERSATIONS = 50


@router.get("/conversations", response_model=ConversationsResponse)
def conversations(service: ServiceDep, caller: CallerDep) -> dict:
    """The caller's latest conversations (at most 50), the latest active first."""
    return {"conversations": service.conversations.conversations(owner_id(caller), limit=LISTED_CONVERSATIONS)}


@router.get("/conversations/{conversation_id}", response_model=ConversationResponse,
            responses={404: {"description": "Unknown conversation_id"}})
def conversation(conversation_id: Annotated[str, Path(max_length=64)], service: ServiceDep,
                 caller: CallerDep) -> dict:
    """Every turn of one of the caller's conversations, oldest first; continue it with POST /v1/ask and its id."""
    owner = owner_id(caller)
    if not service.conversations.exists(conversation_id, owner):
        raise ApiError(404, f"unknown conversation_id {conversation_id!r}", "unknown_conversation")
    stored = service.conversations.turns(conversation_id)
    answer_ids = [t["data"]["id"] for t in stored if t["role"] == "assistant" and (t["data"] or {}).get("id")]
    verdicts = service.feedback.verdicts(answer_ids, owner) if service.feedback is not None else {}
    turns = []
    for turn in stored:
        data = turn["data"] or {}
        out = {"role": turn["role"], "text": turn["text"], "created": turn["created"]}
        if turn["role"] == "user":
            out.update(question=data.get("question"), filters=data.get("filters"))
        else:
            out.update(answer=data or None, verdict=verdicts.get(data.get("id", "")))
        turns.append(out)
    return {"conversation_id": conversation_id, "turns": turns}


@router.post("/feedback", response_model=FeedbackResponse, responses={404: {"description": "Unknown answer_id"}})
def feedback(request: FeedbackRequest, service: ServiceDep, caller: CallerDep) -> dict:
    """Say an answer was helpful or wrong (again to change it); kept with the question, answer and citations
    in the table the Slack bot's buttons write, for the evals."""
    owner = owner_id(caller)
    store = service.feedback
    if store is None or store.asker(request.answer_id) != owner:
        raise ApiError(404, f"no answer {request.answer_id!r} of yours is on record", "unknown_answer",
                       param="answer_id")
    store.record_feedback(request.answer_id, owner, request.verdict)
    return {"answer_id": request.answer_id, "verdict": request.verdict}
