"""Baselines: documents -> a naive LangChain retriever to compare the assistant with.

The naive pipeline is what a quick prototype would do: LangChain's RecursiveCharacterTextSplitter at
1000/200 characters, one Chroma collection of its own in a temporary directory, and the same packaged
embedder as the assistant, so the comparison isolates chunking and hybrid retrieval. BM25-alone and
dense-alone baselines need no code here: they are `assistant.search(..., mode="lexical" | "dense")`.
"""

from __future__ import annotations

import math
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from rag.embed import Embedder
from rag.errors import StoreError

if TYPE_CHECKING:
    # numpy and langchain_chroma load when a baseline is built, not when evals/ is imported.
    import numpy as np
    import numpy.typing as npt
    from langchain_chroma import Chroma


@dataclass
class Span:
    """A retrieved passage, located in its document: what retrieval metrics compare with the gold evidence."""

    doc_id: str
    start: int
    end: int
    text: str


class OkapiBM25:
    """Okapi BM25 over pre-tokenized documents, scored through term -> postings arrays: the plain baselines the
    project's retrieval is measured beside (bigram BM25 on FinCUGE, page BM25 on FinanceBench)."""

    def __init__(self, documents: list[list[str]], k1: float, b: float) -> None:
        import numpy as np

        self._np = np
        counts = [Counter(terms) for terms in documents]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        norm = k1 * (1 - b + b * lengths / max(lengths.mean() if len(lengths) else 0.0, 1.0))
        by_term: dict[str, list[tuple[int, int]]] = {}
        for i, c in enumerate(counts):
            for term, tf in c.items():
                by_term.setdefault(term, []).append((i, tf))
        self.size = len(documents)
        # term -> (indices of the documents that hold it, its BM25 weight in each)
        self.postings: dict[str, tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]] = {}
        for term, rows in by_term.items():
            ids = np.array([i for i, _ in rows], dtype=np.intp)
            freqs = np.array([t for _, t in rows], dtype=np.float64)
            idf = math.log(1 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5))
            self.postings[term] = (ids, idf * freqs * (k1 + 1) / (freqs + norm[ids]))

    def top(self, terms: Iterable[str], k: int) -> list[int]:
        """Indices of the `k` best-scoring documents that hold any of `terms`, best first."""
        np = self._np
        scores = np.zeros(self.size)
        for term in set(terms):
            if term in self.postings:
                ids, weights = self.postings[term]
                scores[ids] += weights
        best = np.argsort(-scores)[:k]
        return [int(i) for i in best if scores[i] > 0]


class PackagedEmbeddings(Embeddings):
    """The assistant's embedder behind LangChain's Embeddings interface."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


class QueryCache:
    """An embedder that embeds each distinct query once: an eval asks the same question of several retrievers
    and the answerer, and on a busy 2-core machine the repeated encodes dominate the run."""

    def __init__(self, embedder: Embedder) -> None:
        self.inner = embedder
        self.name = embedder.name
        self.dimension = embedder.dimension
        self._queries: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        if text not in self._queries:
            self._queries[text] = self.inner.embed_query(text)
        return self._queries[text]


class NaiveLangChain:
    """RecursiveCharacterTextSplitter + Chroma + the packaged embedder, in a throwaway collection.

    Use as a context manager. Without `persist_dir` the collection lives in a temporary directory deleted on
    exit; with one, it is kept there and reused by the next run (building it embeds every chunk again).
    """

    name = "naive_langchain"

    def __init__(self, embedder: Embedder, chunk_chars: int = 1000, overlap_chars: int = 200,
                 persist_dir: Path | None = None) -> None:
        if overlap_chars >= chunk_chars:
            raise ValueError(f"overlap_chars ({overlap_chars}) must be smaller than chunk_chars ({chunk_chars})")
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_chars, chunk_overlap=overlap_chars,
                                                       add_start_index=True)
        self.embeddings = PackagedEmbeddings(embedder)
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if persist_dir:
            self._path = str(persist_dir)
        else:
            self._temp = tempfile.TemporaryDirectory(prefix="rag-naive-")
            self._path = self._temp.name
        self._store: Chroma | None = None
        self.chunks = 0
        self.reused = False

    def __enter__(self) -> NaiveLangChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def build(self, documents: Iterable[tuple[str, str]], batch: int = 2000) -> None:
        """Split and index (doc_id, text) pairs."""
        from langchain_chroma import Chroma

        ids, texts = [], []
        for doc_id, text in documents:
            ids.append(doc_id)
            texts.append(text)
        pieces = self.splitter.create_documents(texts, metadatas=[{"doc_id": d} for d in ids])
        name = f"naive_{uuid.uuid4().hex[:12]}" if self._temp else "naive"
        try:
            store = self._store = Chroma(collection_name=name, embedding_function=self.embeddings,
                                         persist_directory=self._path, collection_metadata={"hnsw:space": "cosine"})
            if not self._temp and store._collection.count() == len(pieces):
                # A kept collection of the same corpus (the caller keys persist_dir by the corpus' hash).
                self.chunks, self.reused = len(pieces), True
                return
            if not self._temp:
                store.reset_collection()
            for i in range(0, len(pieces), batch):
                store.add_documents(pieces[i:i + batch])
        except Exception as exc:  # chromadb raises many types; the caller only needs to know the baseline failed
            raise StoreError(f"naive LangChain baseline: cannot build its Chroma collection ({exc})") from exc
        self.chunks = len(pieces)

    def search(self, query: str, k: int) -> list[Span]:
        if self._store is None:
            raise StoreError("naive LangChain baseline: build() it before searching")
        found = self._store.similarity_search(query, k=k)
        return [Span(d.metadata["doc_id"], int(d.metadata["start_index"]),
                     int(d.metadata["start_index"]) + len(d.page_content), d.page_content) for d in found]

    def close(self) -> None:
        if self._temp is None:
            self._store = None
            return
        if self._store is not None:
            try:
                self._store.delete_collection()
            except Exception:  # noqa: BLE001 - the directory goes anyway
                pass
            self._store = None
        self._temp.cleanup()
