"""Retrieve: a question -> ranked Hits, fusing rankings of chunks by weighted reciprocal rank, within the
documents the filters allow: dense (Chroma) and lexical (BM25) over whole chunks, and the same two over each
chunk's best sentence or table row. The unit rankings find the one row of a long table, or the one sentence of
a paragraph, that a question is about, where a whole-chunk vector or BM25 score dilutes it (TAT-QA dev hit@5
0.818 -> 0.858: see README, "Evaluation").

Languages: English chunks and questions are embedded by all-MiniLM-L6-v2, Chinese ones by the multilingual
encoder, whose space holds both languages. A Chinese question is ranked by BM25 and the multilingual vectors of
every chunk (English ones too, when they have them); an English question adds the multilingual ranking of the
Chinese chunks to its English rankings, so it reaches a Chinese report.

Named documents: a question that names some documents' issuer, ticker or title ("What was Amcor's FY2023
EBITDA?", rag/scope.py) is ranked twice, over the whole corpus and within those documents, and the two fused:
the second finds the named filing's own page where the whole corpus has stronger matches for its words
elsewhere (FinanceBench dev: see README, "Evaluation").

Boilerplate: a chunk marked at ingest as a part of a filing or report there by rule (auditor's report,
certifications, signatures, exhibit lists, safe-harbour text: rag/boilerplate.txt) is returned only for a
question that asks about that kind: it names the company and the year, so it matches questions it cannot answer."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from datetime import date

import numpy as np
from cachetools import LRUCache
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from rag.boilerplate import Boilerplate, load_boilerplate
from rag.catalog import Catalog
from rag.embed import Embedder
from rag.errors import BadQuestionError, EmptyIndexError, FilterError
from rag.ingest import write_unit_vectors
from rag.lexical import has_fewer_tokens, is_chinese
from rag.scope import DocumentNames
from rag.settings import RetrieveSettings
from rag.store import VectorStore
from rag.types import Chunk, Hit

log = logging.getLogger(__name__)

# Query embeddings kept; the least recently asked go first.
QUERY_VECTOR_CACHE_SIZE = 4096

FILTER_KEYS = ("doc_id", "source", "publisher", "broker", "company", "ticker", "date_from", "date_to")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_filters(pairs: list[str] | dict[str, str] | None) -> dict[str, str]:
    """Check `key=value` filters (or a dict of them) and return them as a dict.

    Raises:
        FilterError: unknown key, missing '=', or a date that is not YYYY-MM-DD.
    """
    if not pairs:
        return {}
    items = pairs.items() if isinstance(pairs, dict) else [_split_pair(p) for p in pairs]
    filters: dict[str, str] = {}
    for key, value in items:
        key = key.strip().lower()
        if key not in FILTER_KEYS:
            raise FilterError(f"unknown filter {key!r}; use one of {', '.join(FILTER_KEYS)}")
        value = str(value).strip()
        if not value:
            raise FilterError(f"filter {key!r} has an empty value")
        if key in ("date_from", "date_to"):
            if not _ISO_DATE.match(value):
                raise FilterError(f"filter {key}={value!r}: dates are YYYY-MM-DD")
            try:
                date.fromisoformat(value)
            except ValueError:
                raise FilterError(f"filter {key}={value!r} is not a date on the calendar") from None
        filters[key] = value
    if filters.get("date_from", "") > filters.get("date_to", "9999"):
        raise FilterError(f"date_from {filters['date_from']} is after date_to {filters['date_to']}: no report "
                          "can match")
    return filters


def _split_pair(pair: str) -> tuple[str, str]:
    if "=" not in pair:
        raise FilterError(f"filter {pair!r} is not key=value")
    key, value = pair.split("=", 1)
    return key, value


class HybridRetriever:
    """Dense + BM25 retrieval, over chunks and over their units, fused by weighted reciprocal rank."""

    def __init__(self, catalog: Catalog, store: VectorStore, embedder: Embedder, settings: RetrieveSettings,
                 multilingual: Embedder | None = None, boilerplate: Boilerplate | None = None) -> None:
        self.catalog = catalog
        self.boilerplate = boilerplate or load_boilerplate()
        self.store = store
        self.embedder = embedder
        self.multilingual = multilingual
        self.settings = settings
        # Analysts and dashboards repeat questions; the query embedding is the costliest step of a search.
        self._query_vectors: LRUCache[tuple[str, str], list[float]] = LRUCache(maxsize=QUERY_VECTOR_CACHE_SIZE)
        self._cache_lock = threading.Lock()
        # Two questions finding the same new chunks encode their units once.
        self._units_lock = threading.Lock()
        self._names: tuple[tuple[int, int], DocumentNames] | None = None

    def named_documents(self, question: str) -> set[str]:
        """The documents `question` names (empty when none, or all); the names are re-read when the catalog
        changes, in this process or another."""
        version = self.catalog.version()
        names = self._names
        if names is None or names[0] != version:
            names = (version, DocumentNames(self.catalog.document_names()))
            self._names = names
        return names[1].named_in(question)

    def _query_vector(self, question: str, encoder: Embedder | None = None) -> list[float]:
        encoder = encoder or self.embedder
        key = (encoder.name, question)
        with self._cache_lock:
            vector = self._query_vectors.get(key)  # and marks it recently used
        if vector is None:
            vector = encoder.embed_query(question)
            with self._cache_lock:
                self._query_vectors[key] = vector
        return vector

    def retrieve(self, question: str, top_k: int | None = None, filters: dict[str, str] | None = None,
                 mode: str = "hybrid") -> list[Hit]:
        """The `top_k` passages best matching `question`.

        Args:
            mode: "hybrid" (default), "dense" or "lexical" (the last two for baselines and diagnosis).

        Raises:
            EmptyIndexError: nothing is indexed.
            FilterError: a malformed filter.
        """
        top_k = top_k or self.settings.top_k
        if top_k < 1 or top_k > 100:
            raise FilterError(f"k={top_k}: choose between 1 and 100 passages")
        if not self.catalog.has_chunks():
            raise EmptyIndexError("nothing is indexed yet: run `rag ingest corpus/` first")
        doc_ids = self.catalog.filter_doc_ids(parse_filters(filters))
        return self._retrieve(question, top_k, doc_ids, mode)

    def within(self, question: str, doc_ids: set[str], top_k: int | None = None) -> list[Hit]:
        """The best passages for `question` among the documents `doc_ids` (hybrid ranking)."""
        return self._retrieve(question, top_k or self.settings.top_k, doc_ids, "hybrid") if doc_ids else []

    def _retrieve(self, question: str, top_k: int, doc_ids: set[str] | None, mode: str) -> list[Hit]:
        candidates = max(self.settings.candidates, top_k)
        chinese = is_chinese(question)
        # The lexical baseline needs no embedding (nor then a relevance, which is dense similarity). The English
        # encoder reads a Chinese question's Hanzi as [UNK]: its rankings would only add noise.
        dense_wanted = mode in ("hybrid", "dense")
        query_vector = (self._query_vector(question)
                        if dense_wanted and not (chinese and self.multilingual is not None) else None)
        across_vector = (self._query_vector(question, self.multilingual)
                         if dense_wanted and self.multilingual is not None
                         and (chinese or self.catalog.holds_chinese()) else None)
        named = self.named_documents(question) if mode == "hybrid" and self.settings.named_weight > 0 else set()
        if doc_ids is not None:
            named &= doc_ids
        scopes = [(1.0, doc_ids)] + ([(self.settings.named_weight, named)] if named and named != doc_ids else [])
        fused: dict[str, float] = {}
        similarity: dict[str, float] = {}
        for scale, scope in scopes:
            rankings, found = self._rankings(question, mode, chinese, query_vector, across_vector, candidates, scope)
            similarity.update(found)
            for weight, ranking in rankings:
                for rank, (chunk_id, _) in enumerate(ranking, start=1):
                    fused[chunk_id] = fused.get(chunk_id, 0.0) + scale * weight / (self.settings.rrf_k + rank)
        records = self.catalog.chunks(sorted(fused, key=lambda cid: -fused[cid])[: top_k * 3])
        asked = self.boilerplate.asked(question)
        records = {cid: r for cid, r in records.items() if not r.boilerplate or r.boilerplate in asked}
        for cid, record in records.items():
            # A heading alone ("Accounts Receivable") matches a question's words well but cannot answer it.
            # Words counted as BM25 sees them: Chinese has no spaces, and a whole paragraph of it is one "word".
            if has_fewer_tokens(record.text, self.settings.short_chunk_words):
                fused[cid] *= self.settings.short_chunk_penalty
        ranked = sorted(fused, key=lambda cid: -fused[cid])
        ranked = [cid for cid in ranked if cid in records][:top_k]
        # Relevance is the dense similarity, by the English encoder where it has the chunk and the question.
        for vector, lookup in ((query_vector, self.store.vectors), (across_vector, self.store.multilingual_vectors)):
            missing = [cid for cid in ranked if cid not in similarity]
            if vector is not None and missing:
                for cid, chunk_vector in lookup(missing).items():
                    similarity[cid] = _cosine(vector, chunk_vector)
        hits = []
        for rank, cid in enumerate(ranked, start=1):
            r = records[cid]
            hits.append(Hit(rank=rank, chunk_id=cid, doc_id=r.doc_id, title=r.title, source=r.source, page=r.page,
                            start=r.start, end=r.end, text=r.text, score=fused[cid], publisher=r.publisher,
                            published=r.published, relevance=max(0.0, similarity.get(cid, 0.0)),
                            section=r.section, context=r.context))
        return hits

    def _rankings(self, question: str, mode: str, chinese: bool, query_vector: list[float] | None,
                  across_vector: list[float] | None, candidates: int,
                  doc_ids: set[str] | None) -> tuple[list[tuple[float, list[tuple[str, float]]]], dict[str, float]]:
        """(weight, ranking) of each signal the mode uses, within `doc_ids` (None: everywhere), and the dense
        similarity of the chunks the dense rankings found."""
        dense = self.store.query(query_vector, candidates, doc_ids) if query_vector is not None else []
        across = (self.store.query_multilingual(across_vector, candidates, doc_ids, chinese_only=not chinese)
                  if across_vector is not None else [])
        lexical = self.catalog.lexical_search(question, candidates, doc_ids) if mode in ("hybrid", "lexical") else []
        if mode == "hybrid":
            rankings = [(self.settings.dense_weight, dense), (self.settings.lexical_weight, lexical),
                        (self.settings.unit_lexical_weight, self.catalog.unit_search(question, candidates, doc_ids)),
                        (self.settings.multilingual_weight_zh if chinese else self.settings.multilingual_weight_en,
                         across)]
            if query_vector is not None:
                found_by = list(dict.fromkeys(cid for _, ranking in rankings
                                              for cid, _ in ranking[: self.settings.unit_candidates]))
                rankings.append((self.settings.unit_dense_weight, self._unit_ranking(query_vector, found_by, candidates)))
        else:
            # The baselines rank whole chunks by one signal each, at full weight.
            rankings = [(1.0, (dense or across) if mode == "dense" else lexical)]
        return rankings, {**dict(across), **dict(dense)}

    def _unit_ranking(self, query_vector: list[float], chunk_ids: list[str], limit: int) -> list[tuple[str, float]]:
        """The chunks among `chunk_ids` (those the other rankings found) by their best unit's similarity.

        Only found chunks take part: on TAT-QA dev that ranked the evidence in the top 5 for 0.862 of questions,
        against 0.856 when every unit of the corpus was ranked, so no unit needs a vector before a question finds
        its chunk. Vectors not yet made (Indexer without units_at_ingest) are made here and stored."""
        if not chunk_ids:
            return []
        vectors = self.store.units_of(chunk_ids)
        missing = [cid for cid in chunk_ids if cid not in vectors]
        if missing:
            with self._units_lock:
                vectors.update(self._make_unit_vectors(missing))
        query = np.asarray(query_vector, dtype=np.float32)
        # In the order the other rankings found them, so that equal units (a row repeated in overlapping chunks)
        # rank the same whether their vectors were made at ingest or now.
        best = {cid: float(np.max(np.asarray(vectors[cid], dtype=np.float32) @ query))
                for cid in chunk_ids if vectors.get(cid)}
        return sorted(best.items(), key=lambda item: -item[1])[:limit]

    def _make_unit_vectors(self, chunk_ids: list[str]) -> dict[str, list[Sequence[float]]]:
        # Another question may have made some while this one waited for the lock.
        made = self.store.units_of(chunk_ids)
        wanted = [cid for cid in chunk_ids if cid not in made]
        texts = self.catalog.unit_texts(wanted)
        records = self.catalog.chunks(list(texts))
        # Chinese chunks have no English vectors: the English encoder reads Hanzi as [UNK].
        chunks = [Chunk(chunk_id=cid, doc_id=r.doc_id, index=r.index, text=r.text, start=r.start, end=r.end,
                        page=r.page, context=r.context, units=texts[cid])
                  for cid, r in records.items() if not is_chinese(r.text)]
        if chunks:
            log.debug("encoding the units of %d chunk(s) a question found first", len(chunks))
            for chunk, vectors in zip(chunks, write_unit_vectors(chunks, self.embedder, self.store)):
                made[chunk.chunk_id] = [*vectors]
        return made


def _cosine(a: list[float], b: list[float]) -> float:
    x, y = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / norm if norm else 0.0


class ReportRetriever(BaseRetriever):
    """The hybrid retriever as a LangChain retriever: `assistant.as_langchain_retriever().invoke("...")` gives
    Documents whose metadata carry what a citation needs (doc_id, title, source, page, start, end)."""

    retriever: HybridRetriever
    k: int | None = None
    filters: dict[str, str] = Field(default_factory=dict)

    model_config = {"arbitrary_types_allowed": True}

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None) -> list[LCDocument]:
        """`invoke(query, k=3)` overrides the constructor's k for one call, as LangChain's retrievers do. An empty
        query is refused as `Assistant.search` refuses it: a ranking of nothing is no result."""
        if not query.strip():
            raise BadQuestionError("the question is empty")
        return [LCDocument(page_content=h.text, metadata={
                    "chunk_id": h.chunk_id, "doc_id": h.doc_id, "title": h.title, "source": h.source,
                    "page": h.page, "start": h.start, "end": h.end, "score": h.score, "rank": h.rank})
                for h in self.retriever.retrieve(query, top_k=k or self.k, filters=self.filters)]
