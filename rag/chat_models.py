"""Chat models: messages -> the model's reply, streamed token by token. The seam every generative answerer
(and the follow-up condenser) talks to; nothing here knows about passages or citations.

- LlamaCppChatModel runs a local GGUF model in-process (default: the packaged Qwen2.5-Coder-1.5B-Instruct).
- OpenAIChatModel talks to any OpenAI-compatible endpoint as a LangChain chain: prompt | ChatOpenAI | parser.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, cast

from rag.errors import AnswererError
from rag.settings import LLMSettings

if TYPE_CHECKING:
    from llama_cpp.llama_types import CreateChatCompletionStreamResponse

log = logging.getLogger(__name__)

TokenSink = Callable[[str], None]
Messages = list[dict[str, str]]


class GenerationAbandoned(Exception):
    """Raised by a token sink whose reader has gone (a closed stream), to stop the generation."""


class ChatModel(Protocol):
    name: str

    def generate(self, messages: Messages, on_token: TokenSink | None = None) -> str:
        """The model's whole reply to `messages`; each piece also goes to `on_token` as it is generated.

        Raises:
            AnswererError: the model is missing, unreachable or failed.
        """
        ...


class LlamaCppChatModel:
    """A local GGUF chat model run by llama-cpp-python in this process, one generation at a time.

    The model lives on one worker thread that loads it and runs every generation, which serializes them
    (llama.cpp contexts are not reentrant) and lets that thread, and the compute threads llama.cpp starts from
    it, run at a lower priority: under load, extractive answers and search then keep their latency while a
    generation is under way."""

    name = "local"

    def __init__(self, settings: LLMSettings, model_path: str) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise AnswererError("llama-cpp-python is not installed: pip install 'llama-cpp-python[server]'") from exc
        self.settings = settings
        self.model_path = model_path
        self._jobs: queue.Queue = queue.Queue()
        # Futures carry each result or exception from the generation thread back to the caller's.
        loaded: Future[None] = Future()
        threading.Thread(target=self._work, args=(loaded,), name="llm-generation", daemon=True).start()
        loaded.result()

    def _work(self, loaded: Future[None]) -> None:
        from llama_cpp import Llama

        if self.settings.nice:
            try:  # Linux: niceness is per thread and inherited by the threads this one starts
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.settings.nice)
            except (AttributeError, OSError):
                pass
        threads = self.settings.n_threads or os.cpu_count() or 2
        try:
            llm = Llama(model_path=self.model_path, n_ctx=self.settings.n_ctx, n_threads=threads, verbose=False,
                        seed=0)
        except Exception as exc:  # llama.cpp raises ValueError for a missing or corrupt file
            loaded.set_exception(AnswererError(f"cannot load the local model {self.model_path}: {exc}"))
            return
        # Closing at exit, while the library is still loaded, avoids llama.cpp's noisy __del__ at shutdown.
        atexit.register(llm.close)
        loaded.set_result(None)
        while True:
            messages, on_token, job = self._jobs.get()
            try:
                pieces: list[str] = []
                stream = llm.create_chat_completion(
                    messages=messages, stream=True, temperature=self.settings.temperature,
                    max_tokens=self.settings.max_tokens, seed=0)
                # stream=True returns chunks; llama_cpp annotates the call with both shapes in one union.
                for event in cast("Iterator[CreateChatCompletionStreamResponse]", stream):
                    content = event["choices"][0].get("delta", {}).get("content")
                    delta = content if isinstance(content, str) else ""
                    if delta:
                        pieces.append(delta)
                        if on_token:
                            on_token(delta)
                job.set_result("".join(pieces))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                job.set_exception(exc)

    def generate(self, messages: Messages, on_token: TokenSink | None = None) -> str:
        job: Future[str] = Future()
        self._jobs.put((messages, on_token, job))
        return job.result()


class OpenAIChatModel:
    """Any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, DeepSeek, OpenAI), as the LangChain
    chain prompt | ChatOpenAI | StrOutputParser."""

    name = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.openai_base_url:
            raise AnswererError("the openai answerer needs a base URL: set RAG_LLM__OPENAI_BASE_URL")
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
        from langchain_openai import ChatOpenAI

        # langchain-openai sends its max_tokens as max_completion_tokens, which llama_cpp.server and other
        # OpenAI-compatible servers ignore; the classic field goes in the request body as it is.
        model = ChatOpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                           model=settings.openai_model, temperature=settings.temperature,
                           extra_body={"max_tokens": settings.max_tokens}, timeout=settings.openai_timeout_s,
                           max_retries=0)
        prompt = ChatPromptTemplate.from_messages([MessagesPlaceholder("messages")])
        self._chain = prompt | model | StrOutputParser()
        self.settings = settings

    def generate(self, messages: Messages, on_token: TokenSink | None = None) -> str:
        pieces = []
        try:
            for delta in self._chain.stream({"messages": [(m["role"], m["content"]) for m in messages]}):
                if delta:
                    pieces.append(delta)
                    if on_token:
                        on_token(delta)
        except (AnswererError, GenerationAbandoned):
            raise
        except Exception as exc:  # openai/httpx connection, auth and server errors
            raise AnswererError(f"the OpenAI-compatible endpoint {self.settings.openai_base_url} failed: "
                                f"{type(exc).__name__}: {exc}") from exc
        return "".join(pieces)


@lru_cache(maxsize=2)
def cached_llama(settings_json: str, model_path: str) -> LlamaCppChatModel:
    """One loaded model per (settings, file) in a process: loading takes seconds and a GB of memory."""
    return LlamaCppChatModel(LLMSettings.model_validate_json(settings_json), model_path)
