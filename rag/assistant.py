"""Assistant: wires the stages together. ingest() = load -> chunk -> embed -> store; ask() = retrieve ->
answer -> cite. Every front end (CLI, chat API, Slack bot, batch files) calls this and nothing deeper."""

from __future__ import annotations

import fcntl
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from langchain_core.runnables import Runnable, RunnableLambda

from rag.answer import (
    Draft, ExtractiveAnswerer, LlamaCppAnswerer, OpenAIAnswerer, Passage, PassageScorer,
    TokenSink, abstention, build_messages, cached_llama, citation_for, fits, gate,
    names_stated, passages_for_model, says_not_in_reports,
)
from rag.catalog import Catalog, DocumentRecord
from rag.chunk import Chunker, sentence_spans
from rag.cite import Verification, figures, verify
from rag.embed import Embedder, build_embedder
from rag.errors import AnswererError, BadQuestionError, RagError
from rag.ingest import Indexer, ProgressCallback
from rag.lexical import lexical_tokens
from rag.models import default_llm_path, qwen_parts_installed
from rag.retrieve import HybridRetriever, parse_filters
from rag.settings import Settings
from rag.store import ChromaStore, VectorStore
from rag.types import Answer, Citation, Hit, IngestReport

log = logging.getLogger(__name__)


class GenerationAbandoned(Exception):
    """Raised inside a generation whose stream consumer has gone, to stop it."""


class Assistant:
    """The library entry point: `Assistant.from_settings(settings).ask("...")`."""

    def __init__(self, settings: Settings, catalog: Catalog, store: VectorStore, embedder: Embedder) -> None:
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.indexer = Indexer(catalog, store, embedder, Chunker(settings.chunk))
        self.retriever = HybridRetriever(catalog, store, embedder, settings.retrieve)
        self._answerers: dict[str, object] = {}
        self._answerers_lock = threading.Lock()
        # Ingest and remove change the index; one at a time keeps the catalog and Chroma in step.
        self._write_lock = threading.Lock()
        # Extractive answers are deterministic for a given index, so repeated questions are served from a
        # cache that every ingest or removal invalidates by bumping the generation.
        self._generation = 0
        self._answer_cache: OrderedDict[tuple, Answer] = OrderedDict()
        self._answer_cache_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Assistant":
        catalog = Catalog(settings.catalog_path)
        store = ChromaStore(settings.chroma.collection, path=settings.chroma_path, url=settings.chroma.url,
                            write_batch=settings.chroma.write_batch)
        return cls(settings, catalog, store, build_embedder(settings.embed))

    # Index ---------------------------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer per index, across threads and processes: a server taking an upload while `rag ingest`
        runs must not take the other's pending documents for a crashed run's and clean them up. The OS
        releases the file lock when a writer dies, so a killed ingest never blocks the next."""
        with self._write_lock:
            self.settings.home.mkdir(parents=True, exist_ok=True)
            with (self.settings.home / "write.lock").open("w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def ingest(self, paths: list[Path], prune: bool = False, on_progress: ProgressCallback | None = None) -> IngestReport:
        with self._writing():
            try:
                return self.indexer.ingest(paths, prune=prune, on_progress=on_progress)
            finally:
                self._generation += 1

    def remove(self, doc_id: str) -> None:
        with self._writing():
            if self.catalog.document(doc_id) is None:
                raise RagError(f"no indexed document has doc_id {doc_id!r}")
            try:
                self.indexer.remove([doc_id])
            finally:
                self._generation += 1

    def documents(self) -> list[DocumentRecord]:
        return self.catalog.documents(status="ready")

    # Query -------------------------------------------------------------------------------------------

    def search(self, query: str, k: int | None = None, filters: dict[str, str] | list[str] | None = None,
               mode: str = "hybrid") -> list[Hit]:
        query = self.check_question(query)
        return self.retriever.retrieve(query, top_k=k, filters=parse_filters(filters), mode=mode)

    def check_question(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise BadQuestionError("the question is empty")
        question = question.strip()
        limit = self.settings.answer.max_question_chars
        if len(question) > limit:
            raise BadQuestionError(f"the question is {len(question)} characters long; the limit is {limit}")
        return question

    def ask(self, question: str, k: int | None = None, filters: dict[str, str] | list[str] | None = None,
            answerer: str | None = None, on_token: TokenSink | None = None, id: str | None = None) -> Answer:
        """Answer `question` from the indexed reports, every claim cited.

        Args:
            k: passages to retrieve (default: settings.retrieve.top_k).
            filters: key=value filters (doc_id, source, publisher, broker, company, ticker, date_from, date_to).
            answerer: auto | extractive | local | openai (default: settings.llm.answerer).
            on_token: called with each generated token when a model answers (for streaming).

        Raises:
            BadQuestionError, EmptyIndexError, FilterError, AnswererError (a missing local model).
        """
        question = self.check_question(question)
        parsed = parse_filters(filters)
        name = self.resolve_answerer(answerer or self.settings.llm.answerer)
        key = (question, k, tuple(sorted(parsed.items())), self._generation)
        if name == "extractive":
            started = time.perf_counter()
            with self._answer_cache_lock:
                cached = self._answer_cache.get(key)
                if cached is not None:
                    self._answer_cache.move_to_end(key)
                    lookup_ms = (time.perf_counter() - started) * 1000
                    return replace(cached, id=id, timings={"retrieve_ms": 0.0, "answer_ms": lookup_ms})
        result = self._chain.invoke({"question": question, "k": k, "filters": parsed, "answerer": name,
                                     "on_token": on_token})
        if name == "extractive" and result.answerer == "extractive":
            with self._answer_cache_lock:
                self._answer_cache[key] = result
                if len(self._answer_cache) > 2048:
                    self._answer_cache.popitem(last=False)
        return replace(result, id=id)

    def ask_stream(self, question: str, **kwargs) -> Iterator[dict]:
        """ask() as events: {"type": "token", "text"} while a model generates, then {"type": "answer",
        "answer": Answer}, or {"type": "error", "error": RagError}."""
        events: queue.Queue = queue.Queue()
        abandoned = threading.Event()

        def on_token(text: str) -> None:
            # A consumer that stopped listening (a closed SSE stream) stops the generation too, so the model
            # is free for the next request instead of finishing an answer nobody reads.
            if abandoned.is_set():
                raise GenerationAbandoned("the reader of this stream has gone")
            events.put({"type": "token", "text": text})

        def run() -> None:
            try:
                answer = self.ask(question, on_token=on_token, **kwargs)
                events.put({"type": "answer", "answer": answer})
            except GenerationAbandoned:
                pass
            except RagError as exc:
                events.put({"type": "error", "error": exc})
            except Exception as exc:  # noqa: BLE001 - surfaced to the consumer instead of dying in a thread
                log.exception("ask failed")
                events.put({"type": "error", "error": RagError(f"internal error: {exc}")})

        threading.Thread(target=run, daemon=True).start()
        try:
            while True:
                event = events.get()
                yield event
                if event["type"] != "token":
                    return
        finally:
            abandoned.set()

    @cached_property
    def _chain(self) -> Runnable:
        # retrieve -> (prompt -> model -> parse citations -> verify, with repair and fallback)
        return RunnableLambda(self._retrieve_step) | RunnableLambda(self._answer_step)

    def _retrieve_step(self, state: dict) -> dict:
        started = time.perf_counter()
        hits = self.retriever.retrieve(state["question"], top_k=state["k"], filters=state["filters"])
        if hits and self.extractive.profile(state["question"]).is_meta:
            hits = self._with_report_header(hits)
        return {**state, "hits": hits, "retrieve_ms": (time.perf_counter() - started) * 1000}

    def _with_report_header(self, hits: list[Hit]) -> list[Hit]:
        """Questions about the report itself are answered from its header (title, date, publisher), which is
        in its first chunk: put that chunk first."""
        first_ids = self.catalog.chunk_ids(hits[0].doc_id)[:1]
        records = self.catalog.chunks(first_ids)
        if not records or first_ids[0] == hits[0].chunk_id:
            return hits
        r = records[first_ids[0]]
        header = Hit(rank=0, chunk_id=r.chunk_id, doc_id=r.doc_id, title=r.title, source=r.source, page=r.page,
                     start=r.start, end=r.end, text=r.text, score=hits[0].score, publisher=r.publisher,
                     published=r.published, relevance=hits[0].relevance)
        return [header] + [h for h in hits if h.chunk_id != r.chunk_id]

    def _answer_step(self, state: dict) -> Answer:
        started = time.perf_counter()
        draft = self.answer_with(state["answerer"], state["question"], state["hits"], state["on_token"])
        answer_ms = (time.perf_counter() - started) * 1000
        return Answer(question=state["question"], text=draft.text, citations=draft.citations, hits=state["hits"],
                      abstained=draft.abstained, answerer=draft.answerer,
                      timings={"retrieve_ms": state["retrieve_ms"], "answer_ms": answer_ms}, warnings=draft.warnings)

    # Answerers -----------------------------------------------------------------------------------------

    @cached_property
    def scorer(self) -> PassageScorer:
        return PassageScorer(self.embedder)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.scorer, self.settings.answer)

    def resolve_answerer(self, name: str) -> str:
        """The answerer `name` stands for: 'auto' is 'local' when its model is installed, else 'extractive'."""
        if name == "auto":
            return "local" if self._local_model_path(assemble=False) or qwen_parts_installed() else "extractive"
        if name not in ("extractive", "local", "openai"):
            raise AnswererError(f"unknown answerer {name!r}; choose auto, extractive, local or openai")
        return name

    def _local_model_path(self, assemble: bool = True) -> str | None:
        if self.settings.llm.model_path:
            return self.settings.llm.model_path
        path = default_llm_path(assemble=assemble)
        return str(path) if path else None

    def generative(self, name: str) -> LlamaCppAnswerer | OpenAIAnswerer:
        with self._answerers_lock:
            if name not in self._answerers:
                if name == "local":
                    path = self._local_model_path()
                    if not path or not Path(path).exists():
                        raise AnswererError(
                            f"the local model is not installed ({path or 'no model path'}); run `make install` "
                            "or set RAG_LLM__MODEL_PATH to a GGUF file")
                    self._answerers[name] = cached_llama(self.settings.llm.model_dump_json(), path)
                else:
                    self._answerers[name] = OpenAIAnswerer(self.settings.llm)
            return self._answerers[name]  # type: ignore[return-value]

    def answer_with(self, name: str, question: str, hits: list[Hit], on_token: TokenSink | None = None) -> Draft:
        name = self.resolve_answerer(name)
        if name == "extractive":
            return self.extractive.answer(question, hits)
        return self._generate(self.generative(name), question, hits, on_token)

    def _generate(self, model, question: str, hits: list[Hit], on_token: TokenSink | None) -> Draft:
        profile = self.extractive.profile(question)
        if profile.is_meta:
            # Who published the report and when is read from its header, not generated.
            meta = self.extractive.about_report(profile, hits)
            if meta:
                return meta
        reason = gate(profile, hits, self.settings.answer)
        if reason:
            return abstention(model.name, reason)
        passages = passages_for_model(profile, hits, self.scorer, self.settings.answer.llm_passages,
                                      self.settings.answer.llm_passage_tokens)
        if not passages:
            return abstention(model.name, "no passage mentions what the question asks about")
        warnings: list[str] = []
        repair_note = ""
        for attempt in range(2):
            try:
                raw = model.generate(build_messages(question, passages, repair_note), on_token)
            except AnswererError as exc:
                log.warning("%s; answering extractively", exc)
                return self._fallback(question, hits, [f"{exc}; answered extractively instead"])
            if says_not_in_reports(raw):
                return abstention(model.name, "the model found no answer in the passages")
            check = verify(raw, [p.text for p in passages])
            warnings.extend(check.problems() if check.invalid_markers else [])
            citations = self._citations(check, passages) if check.cited else []
            misfits = [c for c in citations if not fits(profile, c.text) or not names_stated(
                profile, f"{c.text}\n{c.title}\n{passages[c.n - 1].text if profile.wants_list else ''}")]
            if check.ok and not misfits:
                # Every figure is in a cited passage, but perhaps in the wrong sentence of it ("hit bottom since
                # 3Q25" where the report says the second half of 2023). Where the extractive answerer finds the
                # sentence that answers, a model figure it does not hold is not trusted.
                quoted = self.extractive.answer(question, hits)
                unquoted = _figures_beyond(check.text, quoted, question)
                if unquoted:
                    quoted.warnings = warnings + [
                        f"the model's figure(s) {', '.join(unquoted)} not in the sentence that answers the "
                        "question; quoted that sentence instead"] + quoted.warnings
                    return quoted
                return Draft(text=check.text, citations=citations, abstained=False, answerer=model.name,
                             warnings=warnings)
            problems = "; ".join(check.problems() + [
                f"cited passage [{c.n}] does not state what the question asks for" for c in misfits])
            warnings.append(f"attempt {attempt + 1}: {problems}")
            repair_note = (f"Your previous answer was rejected ({problems}). Use only figures written in the "
                           "passages and end every sentence with its [n].")
        return self._fallback(question, hits, warnings + ["the model's answer failed verification twice; "
                                                          "answered extractively instead"])

    def _fallback(self, question: str, hits: list[Hit], warnings: list[str]) -> Draft:
        draft = self.extractive.answer(question, hits)
        draft.warnings = warnings + draft.warnings
        return draft

    @staticmethod
    def _citations(check: Verification, passages: list[Passage]) -> list[Citation]:
        """Each cited passage, narrowed to its sentence that shares most with the answer, for highlighting."""
        answer_tokens = set(lexical_tokens(check.text))
        answer_figures = set(figures(check.text))
        citations = []
        for n in check.cited:
            p = passages[n - 1]
            best = max(sentence_spans(p.text), default=(0, len(p.text)),
                       key=lambda se: (len(answer_figures & set(figures(p.text[se[0]:se[1]]))),
                                       len(answer_tokens & set(lexical_tokens(p.text[se[0]:se[1]])))))
            citations.append(citation_for(n, p.hit, p.start + best[0], p.start + best[1]))
        return citations


def _figures_beyond(answer: str, quoted: Draft, question: str) -> list[str]:
    """Figures of a model's answer that neither the extractive answer's quotes nor the question hold ([] when the
    extractive answerer abstained: then the model may have understood what it could not)."""
    if quoted.abstained:
        return []
    known = set(figures(quoted.text)) | set(figures(question))
    beyond = {key: written for key, written in figures(answer).items() if key not in known}
    # "3Q25" also counts as 2025: name the quarter once.
    return [written for key, written in beyond.items() if not any(k.startswith(f"{key}Q") for k in beyond)]
