"""Assistant: wires the stages together. ingest() = load -> chunk -> embed -> store; ask() = retrieve ->
answer -> cite. Every front end (CLI, chat API, Slack bot, batch files) calls this and nothing deeper."""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property, lru_cache
from pathlib import Path

from cachetools import LRUCache
from filelock import FileLock

from rag.answer import Answerer, Draft, ExtractiveAnswerer, ReaderAnswerer, SentenceScorer, about_report, abstention
from rag.calculate import Calculator, Row, column_line_in, is_table_row, names_periods, read_rows
from rag.catalog import Catalog, DocumentRecord
from rag.chat_models import ChatModel, GenerationAbandoned, OpenAIChatModel, TokenSink, cached_llama
from rag.chunk import Chunker
from rag.embed import Embedder, build_embedder, build_multilingual_embedder
from rag.errors import AnswererError, BadQuestionError, NotFoundError, RagError
from rag.glossary import Glossary, load_glossary
from rag.ingest import Indexer, ProgressCallback
from rag.metrics import MetricCalculator
from rag.models import default_llm_path, llama_runtime_installed, qwen_parts_installed
from rag.read import Question, QuestionReader
from rag.retrieve import HybridRetriever, ReportRetriever, parse_filters
from rag.settings import Settings
from rag.store import ChromaStore, VectorStore
from rag.types import Answer, Hit, IngestReport

log = logging.getLogger(__name__)


# Extractive answers kept for repeated questions (they are deterministic for a given index).
ANSWER_CACHE_SIZE = 2048


class Assistant:
    """The library entry point: `Assistant.from_settings(settings).ask("...")`."""

    def __init__(self, settings: Settings, catalog: Catalog, store: VectorStore, embedder: Embedder,
                 multilingual: Embedder | None = None, chat_models: Mapping[str, ChatModel] | None = None) -> None:
        """Args:
            chat_models: the chat model behind an answerer name ("local", "openai"), used as given instead of
                being loaded from settings on first use: a test's fake, or a model the application holds.
        """
        self.settings = settings
        self.catalog = catalog
        self.store = store
        self.embedder = embedder
        self.indexer = Indexer(catalog, store, embedder, Chunker(settings.chunk), multilingual=multilingual,
                               cross_lingual=settings.embed.cross_lingual,
                               units_at_ingest=settings.embed.unit_vectors == "ingest")
        self.retriever = HybridRetriever(catalog, store, embedder, settings.retrieve, multilingual=multilingual,
                                         boilerplate=self.indexer.chunker.boilerplate)
        self._models: dict[str, ChatModel] = dict(chat_models or {})
        self._models_lock = threading.Lock()
        # Ingest and remove change the index; one at a time keeps the catalog and Chroma in step.
        self._write_lock = threading.Lock()
        # Extractive answers are deterministic for a given index, so repeated questions are served from a
        # cache that every ingest or removal invalidates: this process's by bumping the generation, another
        # process's through the catalog's data_version (see _index_version).
        self._generation = 0
        self._answer_cache: LRUCache[tuple, Answer] = LRUCache(maxsize=ANSWER_CACHE_SIZE)
        self._answer_cache_lock = threading.Lock()
        # Extractive answers being worked out now, by key: the same question asked again meanwhile waits for it.
        self._answering: dict[tuple, threading.Event] = {}

    @classmethod
    def from_settings(cls, settings: Settings, chat_models: Mapping[str, ChatModel] | None = None) -> Assistant:
        catalog = Catalog(settings.catalog_path)
        store = ChromaStore(settings.chroma.collection, path=settings.chroma_path, url=settings.chroma.url,
                            write_batch=settings.chroma.write_batch)
        return cls(settings, catalog, store, build_embedder(settings.embed),
                   build_multilingual_embedder(settings.embed), chat_models=chat_models)

    # Index ---------------------------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer per index, across threads and processes: a server taking an upload while `rag ingest`
        runs must not take the other's pending documents for a crashed run's and clean them up. The OS
        releases the file lock when a writer dies, so a killed ingest never blocks the next."""
        with self._write_lock:
            self.settings.home.mkdir(parents=True, exist_ok=True)
            with FileLock(self.settings.home / "write.lock"):
                yield

    def ingest(self, paths: list[Path], prune: bool = False, on_progress: ProgressCallback | None = None) -> IngestReport:
        with self._writing():
            try:
                return self.indexer.ingest(paths, prune=prune, on_progress=on_progress)
            finally:
                self._generation += 1

    def remove(self, doc_id: str) -> None:
        with self._writing():
            if self.catalog.document(doc_id) is None:
                raise NotFoundError(f"no indexed document has doc_id {doc_id!r}")
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
        record = self.read(question)
        parsed = parse_filters(filters)
        reader = self.answerer(answerer or self.settings.llm.answerer)
        cache_key = (record.text, k, tuple(sorted(parsed.items())), self._index_version())
        if reader.name != "extractive":  # a model's answer is not kept: it may differ, and costs seconds anyway
            return self._answer(record, k, parsed, reader, on_token, id, cache_key)
        with self._answering_first(cache_key) as cached:
            return replace(cached, id=id) if cached is not None else self._answer(
                record, k, parsed, reader, on_token, id, cache_key)

    def read(self, text: str) -> Question:
        """The question record every stage after reading gets: `text` read once (see rag/read.py)."""
        return self.question_reader.read(self.check_question(text))

    def _answer(self, question: Question, k: int | None, parsed: dict[str, str], reader: Answerer,
                on_token: TokenSink | None, id: str | None, cache_key: tuple) -> Answer:
        started = time.perf_counter()
        hits = self.retrieve(question, k, parsed)
        retrieved = time.perf_counter()
        draft = self.answer_from(question, hits, reader, on_token)
        answered = time.perf_counter()
        answer = Answer(question=question.text, text=draft.text, citations=draft.citations, hits=hits,
                        abstained=draft.abstained, answerer=draft.answerer, warnings=draft.warnings, id=id,
                        calculation=draft.calculation,
                        timings={"retrieve_ms": (retrieved - started) * 1000, "answer_ms": (answered - retrieved) * 1000})
        if draft.answerer == "extractive" and reader.name == "extractive":
            self._cache_answer(cache_key, answer)
        return answer

    def answer_from(self, question: Question, hits: list[Hit], reader: Answerer,
                    on_token: TokenSink | None = None) -> Draft:
        """The draft answer to `question` from `hits`. A question about the report itself is answered from its
        header. A derived figure (a metric, a change, an average, a ratio) or a judgement of one is computed by
        code from the table rows it needs, whichever reader was asked for: a reader can only quote the
        operands, and a small model's arithmetic is not to be trusted with an analyst's figures. What a reader
        says instead must have the shape the question asks for."""
        if question.about_report:
            # Who published the report and when is read from its header, not generated.
            meta = about_report(question.profile, hits)
            if meta is not None:
                return meta
        computed = self._metric_draft(question, hits, reader)
        if computed is not None and not computed.abstained:
            return computed
        if question.calculation is not None:
            computed = self.calculator.answer(question.calculation, hits, reader.name, self.table_rows)
            if not computed.abstained:
                return computed
        elif question.pair is not None:
            computed = self.calculator.answer_pair(question.pair, hits, reader.name, self.table_rows)
            if not computed.abstained:
                return computed
        read = reader.answer(question, hits, on_token)
        if read.abstained:
            return computed if computed is not None else read
        problem = self._shape_problem(question, read)
        if problem:
            return computed if computed is not None else abstention(read.answerer, problem)
        return read

    def _metric_draft(self, question: Question, hits: list[Hit], reader: Answerer) -> Draft | None:
        """A defined metric, or a yes/no judgement of one, computed; None when the question asks for neither."""
        if question.metric is None:
            return None
        # A metric's line items sit in one filing's statements: search the documents the question names and those
        # of its best passages, not the whole index.
        scope = self.retriever.named_documents(question.text) | {h.doc_id for h in hits[:3]}

        def search(query: str, best: Hit) -> list[Hit]:
            return self.retriever.within(query, scope)

        if question.judgement is not None:
            return self.metric_calculator.judge(question.judgement, hits, reader.name, search, self.table_rows)
        return self.metric_calculator.answer(question.metric, hits, reader.name, search, self.table_rows)

    def _shape_problem(self, question: Question, read: Draft) -> str:
        """Why a reader's answer does not answer the question as asked, or ''."""
        if question.yes_no and not re.match(r"\s*(?:yes|no)\b", read.text, re.IGNORECASE):
            # A quoted sentence that merely shares the question's names is no answer to "Was there a drop?".
            return "a yes/no question: the passages were quoted, not answered yes or no"
        operation = question.operation
        if operation is not None:
            # No row to calculate from: a sentence may still state the figure ("sales rose 12% in 2025 from
            # 2024"): it stands if it says the operation beside a figure and names every year the question
            # names. A table row gives the operands, and a sentence about one of the years often gives another
            # figure of that year.
            years = question.calculation.named if question.calculation is not None else ()
            for cited in read.citations:
                if (is_table_row(cited.text) or not names_periods(cited.text, years)
                        or not self.calculator.calculations.stated_in(operation, cited.text)):
                    return (f"the question asks for a {operation}; no sentence states it for what was asked, and "
                            "no table row was found to calculate it from")
        return ""

    def table_rows(self, hit: Hit) -> list[Row]:
        """The table rows of a passage, their figures keyed by the years of the table's column line: in the
        passage, in its chunk's table header, or else above it in its document (a page of a statement cut
        into several chunks, with the column line in the first)."""
        rows = read_rows(hit)
        if rows or not hit.text.strip():
            return rows
        return read_rows(hit, self._column_line_above(hit.chunk_id, hit.doc_id))

    @lru_cache(maxsize=1024)  # noqa: B019 - one per assistant; passages repeat across a question's operands
    def _column_line_above(self, chunk_id: str, doc_id: str) -> str:
        ids = self.catalog.chunk_ids(doc_id)
        if chunk_id not in ids:
            return ""
        before = ids[max(0, ids.index(chunk_id) - 3) : ids.index(chunk_id)]
        records = self.catalog.chunks(before)
        for previous in reversed(before):
            if previous in records:
                found = column_line_in(records[previous].text)
                if found:
                    return found
        return ""

    def retrieve(self, question: Question, k: int | None = None, filters: dict[str, str] | None = None) -> list[Hit]:
        """The passages an answerer reads: the hybrid search's hits, led by the report's header for a
        question about the report itself (who published it, when)."""
        hits = self.retriever.retrieve(question.text, top_k=k, filters=filters or {})
        if hits and question.about_report:
            hits = self._with_report_header(hits)
        return hits

    def _index_version(self) -> tuple[int, int]:
        """Changes with every ingest or removal, by this process (the generation) or by another one sharing
        the catalog (a server worker, `rag ingest`), so a cached answer never outlives the index it read.
        Taken before retrieving: an answer read while another process commits is filed under the old version."""
        return self._generation, self.catalog.data_version()

    @contextmanager
    def _answering_first(self, key: tuple) -> Iterator[Answer | None]:
        """Yields None to the first caller of a key, who answers; one who asks the same while it does waits and
        gets its cached answer. Fifty analysts opening the same question at once (a shared link, a Slack
        thread) would otherwise each read it again, every one slower for the others on 2 cores."""
        started = time.perf_counter()
        while True:
            with self._answer_cache_lock:
                cached = self._answer_cache.get(key)  # and marks it recently used
                if cached is not None:
                    break
                running = self._answering.get(key)
                if running is None:
                    self._answering[key] = done = threading.Event()
                    break
            # The first caller's answer may not be cached (a failure, a flagged fallback): then the next
            # waiter takes over.
            running.wait(timeout=60)
        if cached is not None:
            yield replace(cached, timings={"retrieve_ms": 0.0, "answer_ms": (time.perf_counter() - started) * 1000})
            return
        try:
            yield None
        finally:
            with self._answer_cache_lock:
                del self._answering[key]
            done.set()

    def _cache_answer(self, key: tuple, answer: Answer) -> None:
        with self._answer_cache_lock:
            self._answer_cache[key] = replace(answer, id=None)

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
                     published=r.published, relevance=hits[0].relevance, section=r.section, context=r.context)
        return [header] + [h for h in hits if h.chunk_id != r.chunk_id]

    # Answerers -----------------------------------------------------------------------------------------

    @cached_property
    def scorer(self) -> SentenceScorer:
        return SentenceScorer(self.embedder, multilingual=self.retriever.multilingual)

    @cached_property
    def glossary(self) -> Glossary:
        """The words analysts ask in and the words reports write for them (the team's file, or the packaged)."""
        return load_glossary(self.settings.answer.glossary_path)

    @cached_property
    def question_reader(self) -> QuestionReader:
        return QuestionReader(self.glossary, self.calculator, self.metric_calculator)

    @cached_property
    def calculator(self) -> Calculator:
        return Calculator(glossary=self.glossary)

    @cached_property
    def metric_calculator(self) -> MetricCalculator:
        return MetricCalculator(calculations=self.calculator.calculations)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        return ExtractiveAnswerer(self.scorer, self.settings.answer)

    def resolve_answerer(self, name: str) -> str:
        """The answerer `name` stands for: 'auto' is 'local' when its model and llama.cpp are installed, else
        'extractive'."""
        if name == "auto":
            model = self._local_model_path(assemble=False) or qwen_parts_installed()
            return "local" if model and llama_runtime_installed() else "extractive"
        if name not in ("extractive", "local", "openai"):
            raise AnswererError(f"unknown answerer {name!r}; choose auto, extractive, local or openai")
        return name

    def answerer(self, name: str) -> Answerer:
        """The answerer `name` (auto | extractive | local | openai) stands for."""
        name = self.resolve_answerer(name)
        if name == "extractive":
            return self.extractive
        return ReaderAnswerer(self.chat_model(name), self.scorer, self.extractive, self.glossary, self.settings.answer)

    def _local_model_path(self, assemble: bool = True) -> str | None:
        if self.settings.llm.model_path:
            return self.settings.llm.model_path
        path = default_llm_path(assemble=assemble)
        return str(path) if path else None

    def model_loaded(self, name: str) -> bool:
        """Whether the chat model behind `name` is loaded already: the first `local` answer loads the model
        first, which takes tens of seconds on a CPU, and a front end says so meanwhile."""
        with self._models_lock:
            return name in self._models

    def chat_model(self, name: str) -> ChatModel:
        """The chat model behind the `local` or `openai` answerer, loaded once."""
        with self._models_lock:
            if name not in self._models:
                if name == "local":
                    path = self._local_model_path()
                    if not path or not Path(path).exists():
                        raise AnswererError(
                            f"the local model is not installed ({path or 'no model path'}); run `make install` "
                            "or set RAG_LLM__MODEL_PATH to a GGUF file")
                    self._models[name] = cached_llama(self.settings.llm.model_dump_json(), path)
                elif name == "openai":
                    self._models[name] = OpenAIChatModel(self.settings.llm)
                else:
                    raise AnswererError(f"{name!r} has no chat model; choose local or openai")
            return self._models[name]

    def as_langchain_retriever(self, k: int | None = None, filters: dict[str, str] | None = None) -> ReportRetriever:
        """This index as a LangChain BaseRetriever, for LangChain chains and agents."""
        return ReportRetriever(retriever=self.retriever, k=k, filters=parse_filters(filters))
