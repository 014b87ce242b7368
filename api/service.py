"""What the chat routes share: make a follow-up standalone, route generative answers through the LLM gate,
ask the Assistant, remember the turns, and shape the answer for the web page. Routes only parse and format."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rag.conversation import ConversationStore, FollowUps
from rag.errors import BadQuestionError, EmptyIndexError, RagError
from rag.feedback import FeedbackStore
from rag.retrieve import parse_filters
from rag.settings import Settings
from rag.types import Answer

from .errors import ApiError
from .limits import LlmGate, RateLimiter
from .metrics import Metrics

if TYPE_CHECKING:
    # For annotations only: importing rag.assistant loads every stage, which a front end defers.
    from rag.assistant import Assistant

log = logging.getLogger(__name__)

# C0 control characters other than tab and line breaks: no one types them, and NUL breaks SQLite and Chroma
# text handling further in. An unpaired surrogate (JSON allows "\ud800") is no character at all: the
# tokenizers refuse it.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

GENERATIVE_GATED = ("local",)  # the in-process model; a remote OpenAI-compatible server queues on its own


@dataclass
class Turn:
    """One request, prepared: the question as asked, the conversation it belongs to, the answerer that will
    run, and whether it holds the LLM slot (to be released when the answer is done)."""

    question: str
    conversation_id: str | None
    history: list[tuple[str, str]]
    answerer: str
    holds_llm: bool = False
    warnings: list[str] = field(default_factory=list)
    standalone: str = ""
    # Who asked (owner_id of the caller): their conversations and answers are theirs. None: not recorded.
    owner: str | None = None
    public: dict | None = None  # the answer as sent to the client, once it is made
    filters: dict[str, str] = field(default_factory=dict)


class ChatService:
    def __init__(self, assistant: Assistant, settings: Settings, conversations: ConversationStore, metrics: Metrics,
                 feedback: FeedbackStore | None = None) -> None:
        self.assistant = assistant
        self.settings = settings
        self.conversations = conversations
        self.metrics = metrics
        self.feedback = feedback
        self.follow_ups = FollowUps(settings.conversation)
        self.gate = LlmGate(settings.api.llm_wait_s, settings.api.llm_queue_size)
        self.limiter = RateLimiter(settings.api.rate_limit_per_minute)

    # Preparing ----------------------------------------------------------------------------------------

    def check_question(self, question: str) -> str:
        question = self.assistant.check_question(question)
        check_text(question, "the question")
        if not any(ch.isalnum() for ch in question):
            raise BadQuestionError("the question holds no letters or digits")
        return question

    def prepare(self, question: str, answerer: str | None, conversation_id: str | None = None,
                history: Sequence[tuple[str, str]] | None = None, new_conversation: bool = True,
                filters: dict[str, str] | list[str] | None = None, owner: str | None = None) -> Turn:
        """Validate the question and filters, load the conversation and take the LLM slot when needed. Raises
        before any answering starts, so a stream can still answer with a plain 4xx/503.

        With `owner` (owner_id of the caller), the conversation is created as theirs, another's is refused as
        unknown, and the answer is recorded so that the caller can give feedback on it."""
        question = self.check_question(question)
        checked_filters = parse_filters(filters)
        if not self.assistant.catalog.has_chunks():
            # Checked here too, not only by retrieval: a stream would otherwise report it as an event of a 200.
            raise EmptyIndexError("nothing is indexed yet: run `rag ingest corpus/` first")
        if conversation_id is not None:
            if not self.conversations.exists(conversation_id, owner):
                raise ApiError(404, f"unknown conversation_id {conversation_id!r}; omit it to start a new conversation",
                               "unknown_conversation")
            history = self.conversations.history(conversation_id, limit=self.follow_ups.history_turns)
        elif new_conversation:
            conversation_id = self.conversations.create(owner)
        name = self.assistant.resolve_answerer(answerer or self.settings.llm.answerer)
        if name == "openai" and not self.assistant.settings.llm.openai_base_url:
            # The caller asked for something this server does not offer: their choice to change, not a 503.
            raise ApiError(422, "the openai answerer is not configured on this server (RAG_LLM__OPENAI_BASE_URL); "
                           "use auto, extractive or local", "answerer_unavailable")
        turn = Turn(question=question, conversation_id=conversation_id, history=list(history or []), answerer=name,
                    owner=owner, filters=checked_filters)
        if name in GENERATIVE_GATED:
            started = time.perf_counter()
            self.metrics.llm_waiting.set(self.gate.waiting + 1)
            turn.holds_llm = self.gate.acquire()
            self.metrics.llm_waiting.set(self.gate.waiting)
            self.metrics.stage.labels(stage="llm_wait").observe(time.perf_counter() - started)
            if not turn.holds_llm:
                if self.settings.api.llm_overload == "reject":
                    self.metrics.llm_fallbacks.labels(outcome="rejected").inc()
                    raise ApiError(503, "the local model is busy; retry later or ask with answerer=extractive",
                                   "llm_busy", {"Retry-After": RateLimiter.retry_after(self.gate.retry_after_s())})
                self.metrics.llm_fallbacks.labels(outcome="extractive").inc()
                turn.answerer = "extractive"
                turn.warnings.append("the local model was busy; answered extractively instead")
        return turn

    def release(self, turn: Turn) -> None:
        if turn.holds_llm:
            turn.holds_llm = False
            self.gate.release()

    def _condense(self, turn: Turn) -> str:
        if not turn.history:
            return turn.question
        started = time.perf_counter()
        # Only a request that holds the model may use it to condense: an extractive request must not wait
        # behind someone else's generation.
        model_ok = turn.holds_llm or turn.answerer == "openai"
        standalone = self.follow_ups.standalone(turn.question, turn.history, self.assistant if model_ok else None)
        self.metrics.stage.labels(stage="condense").observe(time.perf_counter() - started)
        return standalone

    # Answering ----------------------------------------------------------------------------------------

    def answer(self, turn: Turn, k: int | None = None, filters=None) -> Answer:
        try:
            turn.standalone = self._condense(turn)
            answer = self.assistant.ask(turn.standalone, k=k, filters=filters, answerer=turn.answerer)
        finally:
            self.release(turn)
        return self._finish(turn, answer)

    def stream(self, turn: Turn, k: int | None = None, filters=None) -> Iterator[dict]:
        """Events: {"type": "token"}*, then {"type": "answer", "answer"} or {"type": "error", "error"}."""
        try:
            turn.standalone = self._condense(turn)
            for event in self.assistant.ask_stream(turn.standalone, k=k, filters=filters, answerer=turn.answerer):
                if event["type"] == "answer":
                    event = {"type": "answer", "answer": self._finish(turn, event["answer"])}
                yield event
        except RagError as exc:
            yield {"type": "error", "error": exc}
        finally:
            self.release(turn)

    def status(self, turn: Turn) -> dict:
        """What the answer waits on, for a front end to show before the first token: {"state", "message"}."""
        if turn.answerer in GENERATIVE_GATED and not self.assistant.model_loaded(turn.answerer):
            return {"state": "loading_model", "message": "Loading the local model (the first question takes tens of "
                    "seconds), then reading the reports"}
        if turn.answerer in GENERATIVE_GATED or turn.answerer == "openai":
            return {"state": "answering", "message": "Searching the reports; the model then writes the answer"}
        return {"state": "answering", "message": "Searching the reports"}

    def _finish(self, turn: Turn, answer: Answer) -> Answer:
        answer.warnings = turn.warnings + answer.warnings
        self.metrics.observe_answer(answer)
        if answer.warnings:
            # The verifier's notes ("citation [2] moved to [1]") are for whoever tunes the answer path: logged
            # here, and sent in `warnings` for a front end to keep behind a details toggle.
            log.info("answer notes for %r (%s): %s", turn.standalone or turn.question, answer.answerer,
                     "; ".join(answer.warnings))
        if turn.owner is not None and self.feedback is not None:
            answer.id = self.feedback.record_answer(answer, turn.question, "api", turn.conversation_id, turn.owner)
        turn.public = self._public(turn, answer)
        if turn.conversation_id is not None:
            # The standalone form is stored so that a chain of follow-ups keeps its subject; the question as
            # asked and the answer as sent go beside, so a resumed conversation shows what was shown.
            self.conversations.append(turn.conversation_id, "user", turn.standalone or turn.question,
                                      {"question": turn.question, "filters": turn.filters})
            self.conversations.append(turn.conversation_id, "assistant", answer.text, turn.public)
        return answer

    def answer_json(self, turn: Turn, answer: Answer) -> dict:
        return turn.public if turn.public is not None else self._public(turn, answer)

    def _public(self, turn: Turn, answer: Answer) -> dict:
        data = public_answer(answer)
        data["conversation_id"] = turn.conversation_id
        if turn.standalone and turn.standalone != turn.question:
            data["condensed_question"] = turn.standalone
        data["passages"] = passages_for(answer)
        return data


def owner_id(caller: str) -> str:
    """An opaque, stable id for an API caller (its key, or its address when no keys are set): conversations
    and feedback name it, never the key itself."""
    return hashlib.sha256(f"rag-owner:{caller}".encode()).hexdigest()[:32]


def public_answer(answer: Answer) -> dict:
    """Answer.to_dict() for clients: documents named by doc_id and title, never the server's file path."""
    data = answer.to_dict()
    for key in ("citations", "closest_matches"):
        data[key] = [{k: v for k, v in item.items() if k != "source"} for item in data[key]]
    return data


def check_text(text: str, what: str) -> str:
    """`text`, or BadQuestionError naming the first character in it that is not text."""
    for pattern, kind in ((_CONTROL, "the control character"), (_SURROGATE, "the unpaired surrogate")):
        found = pattern.search(text)
        if found:
            raise BadQuestionError(f"{what} holds {kind} {found.group(0)!r} at position {found.start()}; "
                                   "send plain text")
    return text


def passages_for(answer: Answer) -> list[dict]:
    """The passage behind each citation, with the cited sentence's offsets within it, for the web page."""
    hits = {h.chunk_id: h for h in answer.hits}
    out = []
    for c in answer.citations:
        hit = hits.get(c.chunk_id)
        text = hit.text if hit else c.text
        start = text.find(c.text) if c.text else -1
        if start < 0 and hit is not None:
            start = max(0, min(len(text), c.start - hit.start))
        start = max(start, 0)
        end = min(len(text), start + len(c.text))
        out.append({"n": c.n, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "page": c.page,
                    "publisher": hit.publisher if hit else "", "published": hit.published if hit else "",
                    "text": text, "highlight_start": start, "highlight_end": end})
    return out
