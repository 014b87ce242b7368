"""Store: chunk vectors in Chroma, embedded (PersistentClient under the index directory) or a Chroma
server (HttpClient). Vectors are always computed by our embedder and passed in, so Chroma never loads
(or downloads) a model of its own.

Three collections: one all-MiniLM-L6-v2 vector per English chunk (`<collection>`), one per retrieval unit of an
English chunk, its sentences and table rows (`<collection>__units`), each unit tagged with its chunk and
document, and one multilingual vector per Chinese chunk, and per English chunk when cross-lingual search is on
(`<collection>__multilingual`, tagged with the chunk's language). A chunk is in `<collection>` or has
lang "zh" in `<collection>__multilingual`, never neither."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from rag.errors import StoreError
from rag.types import Chunk, Document


class VectorStore(Protocol):
    def upsert(self, items: list[tuple[Document, Chunk]], vectors: list[list[float]],
               unit_vectors: list[list[list[float]]] | None = None) -> None: ...

    def delete_documents(self, doc_ids: list[str]) -> None: ...

    def query(self, vector: list[float], limit: int, doc_ids: set[str] | None) -> list[tuple[str, float]]: ...

    def upsert_units(self, chunks: list[Chunk], unit_vectors: list[list[list[float]]]) -> None: ...

    def upsert_multilingual(self, items: list[tuple[Chunk, str]], vectors: list[list[float]]) -> None: ...

    def units_of(self, chunk_ids: list[str]) -> dict[str, list[Sequence[float]]]: ...

    def query_multilingual(self, vector: list[float], limit: int, doc_ids: set[str] | None,
                           chinese_only: bool = False) -> list[tuple[str, float]]: ...

    def multilingual_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]: ...

    def vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]: ...

    def count(self) -> int: ...


UNITS_SUFFIX = "__units"
MULTILINGUAL_SUFFIX = "__multilingual"
# Documents per Chroma "$in" filter: Chroma spends one SQL variable on each, and SQLite allows 32,766.
FILTER_PART = 10_000


class ChromaStore:
    """Chroma collections of chunk vectors (with each chunk's report metadata) and unit vectors, cosine space."""

    def __init__(self, collection: str, path: Path | None = None, url: str | None = None,
                 write_batch: int = 256) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaClientSettings

        client_settings = ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if url:
                parsed = urlparse(url)
                if parsed.scheme not in ("http", "https") or not parsed.hostname:
                    raise StoreError(f"--chroma-url {url!r} is not an http(s)://host:port URL")
                self._client = chromadb.HttpClient(
                    host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https", settings=client_settings)
                self.location = url
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True)
                self._client = chromadb.PersistentClient(path=str(path), settings=client_settings)
                self.location = str(path)
            # embedding_function=None: Chroma's default function would download a model.
            self._collection = self._client.get_or_create_collection(
                name=collection, embedding_function=None, metadata={"hnsw:space": "cosine"})
            self._units = self._client.get_or_create_collection(
                name=collection + UNITS_SUFFIX, embedding_function=None, metadata={"hnsw:space": "cosine"})
            self._multilingual = self._client.get_or_create_collection(
                name=collection + MULTILINGUAL_SUFFIX, embedding_function=None, metadata={"hnsw:space": "cosine"})
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises ValueError, ConnectionError, httpx errors, ...
            where = url or path
            raise StoreError(f"cannot open Chroma collection {collection!r} at {where}: {exc}") from exc
        self.write_batch = write_batch

    def upsert(self, items: list[tuple[Document, Chunk]], vectors: list[list[float]],
               unit_vectors: list[list[list[float]]] | None = None) -> None:
        """Write chunks (each with its document) and their vectors, in batches of `write_batch`, and, given
        `unit_vectors` (one list per chunk, one vector per `chunk.units`), the chunks' unit vectors."""
        if unit_vectors is not None:
            self.upsert_units([chunk for _, chunk in items], unit_vectors)
        for i in range(0, len(items), self.write_batch):
            part = items[i : i + self.write_batch]
            try:
                self._collection.upsert(
                    ids=[c.chunk_id for _, c in part],
                    embeddings=_embeddings(vectors[i : i + self.write_batch]),
                    documents=[c.text for _, c in part],
                    metadatas=[self._metadata(d, c) for d, c in part],
                )
            except Exception as exc:
                raise StoreError(f"Chroma write failed for {part[0][0].doc_id}: {exc}") from exc

    def upsert_units(self, chunks: list[Chunk], unit_vectors: list[list[list[float]]]) -> None:
        """Write the vectors of `chunks`' units (one list per chunk, one vector per `chunk.unit_vector_ids`, or
        per `chunk.units` where that is None)."""
        # In an ingest, units go first: a chunk is only found once its own vector is written, and a crash in
        # between leaves the document pending, to be deleted from both collections.
        # A unit keeps its index in `chunk.units` as its id even where only some units have vectors.
        rows = [(f"{chunk.chunk_id}/{n}", vector, {"doc_id": chunk.doc_id, "chunk_id": chunk.chunk_id})
                for chunk, vectors in zip(chunks, unit_vectors, strict=True)
                for n, vector in zip(chunk.unit_vector_ids if chunk.unit_vector_ids is not None
                                     else range(len(vectors)), vectors, strict=True)]
        for i in range(0, len(rows), self.write_batch):
            part = rows[i : i + self.write_batch]
            try:
                self._units.upsert(ids=[r[0] for r in part], embeddings=_embeddings([r[1] for r in part]),
                                   metadatas=[r[2] for r in part])
            except Exception as exc:
                raise StoreError(f"Chroma write failed for units of {part[0][2]['doc_id']}: {exc}") from exc

    def upsert_multilingual(self, items: list[tuple[Chunk, str]], vectors: list[list[float]]) -> None:
        """Write the multilingual vectors of (chunk, language) pairs, language "zh" or "en"."""
        for i in range(0, len(items), self.write_batch):
            part = items[i : i + self.write_batch]
            try:
                self._multilingual.upsert(
                    ids=[c.chunk_id for c, _ in part], embeddings=_embeddings(vectors[i : i + self.write_batch]),
                    metadatas=[{"doc_id": c.doc_id, "lang": lang} for c, lang in part])
            except Exception as exc:
                raise StoreError(f"Chroma write failed for multilingual vectors of {part[0][0].doc_id}: {exc}") from exc

    @staticmethod
    def _metadata(doc: Document, chunk: Chunk) -> dict:
        meta = {
            "doc_id": doc.doc_id, "index": chunk.index, "start": chunk.start, "end": chunk.end,
            "title": doc.title[:500], "source": doc.source, "publisher": doc.publisher, "broker": doc.broker,
            "published": doc.published, "companies": "; ".join(doc.companies)[:4000],
        }
        if chunk.page is not None:
            meta["page"] = chunk.page
        if chunk.context:
            meta["context"] = chunk.context[:2000]
        # Fields a .jsonl corpus line carried beyond doc_id/title/text; Chroma metadata holds scalars only.
        for key, value in doc.extra.items():
            if isinstance(value, (int, float, bool)) or (isinstance(value, str) and len(value) <= 1000):
                meta[f"extra_{key}"] = value
        return meta

    def delete_documents(self, doc_ids: list[str]) -> None:
        if not doc_ids:
            return
        try:
            for i in range(0, len(doc_ids), 500):
                part = doc_ids[i : i + 500]
                where = _where_in("doc_id", part)
                self._collection.delete(where=where)
                self._units.delete(where=where)
                self._multilingual.delete(where=where)
        except Exception as exc:
            raise StoreError(f"Chroma delete failed: {exc}") from exc

    def query(self, vector: list[float], limit: int, doc_ids: set[str] | None) -> list[tuple[str, float]]:
        """Nearest chunks as [(chunk_id, cosine similarity)], best first."""
        return self._nearest(self._collection, vector, limit, doc_ids)

    def query_units(self, vector: list[float], limit: int, doc_ids: set[str] | None) -> list[tuple[str, float]]:
        """The chunks holding the nearest units, as [(chunk_id, its best unit's cosine similarity)], best first."""
        # A chunk has a handful of units: fetching a few per wanted chunk yields about `limit` distinct chunks.
        best: dict[str, float] = {}
        for unit_id, similarity in self._nearest(self._units, vector, limit * 4, doc_ids):
            chunk_id = unit_id.rsplit("/", 1)[0]
            best.setdefault(chunk_id, similarity)
        return list(best.items())[:limit]

    def query_multilingual(self, vector: list[float], limit: int, doc_ids: set[str] | None,
                           chinese_only: bool = False) -> list[tuple[str, float]]:
        """Nearest chunks by multilingual vector, [(chunk_id, cosine similarity)], best first; `chinese_only`
        keeps to Chinese chunks (an English question's English chunks are ranked by the English encoder)."""
        return self._nearest(self._multilingual, vector, limit, doc_ids, {"lang": "zh"} if chinese_only else None)

    @staticmethod
    def _nearest(collection, vector: list[float], limit: int, doc_ids: set[str] | None,
                 also: dict | None = None) -> list[tuple[str, float]]:
        if doc_ids is None:
            return ChromaStore._query(collection, vector, limit, also)
        # Chroma turns "$in" into one SQL variable per value and fails past SQLite's 32,766. The nearest items
        # of a large filter are the nearest among each part's nearest, so querying in parts stays exact.
        ids = sorted(doc_ids)
        found: list[tuple[str, float]] = []
        for i in range(0, len(ids), FILTER_PART):
            part = ids[i : i + FILTER_PART]
            where = _where_in("doc_id", part)
            found += ChromaStore._query(collection, vector, limit, {"$and": [where, also]} if also else where)
        return sorted(found, key=lambda item: -item[1])[:limit]

    @staticmethod
    def _query(collection, vector: list[float], limit: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        try:
            result = collection.query(query_embeddings=[vector], n_results=limit, where=where, include=["distances"])
        except Exception as exc:
            raise StoreError(f"Chroma query failed: {exc}") from exc
        ids = result["ids"][0] if result["ids"] else []
        distances = result["distances"][0] if result.get("distances") else [1.0] * len(ids)
        return [(item_id, 1.0 - float(d)) for item_id, d in zip(ids, distances)]

    def vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        return self._vectors(self._collection, chunk_ids)

    def multilingual_vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        return self._vectors(self._multilingual, chunk_ids)

    def units_of(self, chunk_ids: list[str]) -> dict[str, list[Sequence[float]]]:
        """The stored unit vectors of each chunk among `chunk_ids` that has any, as Chroma returns them (numpy
        rows: a search compares them with the question as they are, with no list of floats in between)."""
        found: dict[str, list[Sequence[float]]] = {}
        for i in range(0, len(chunk_ids), FILTER_PART):
            part = chunk_ids[i : i + FILTER_PART]
            where = _where_in("chunk_id", part)
            try:
                result = self._units.get(where=where, include=["embeddings"])
            except Exception as exc:
                raise StoreError(f"Chroma read failed: {exc}") from exc
            # None only when "embeddings" is not in `include`; kept so the loop reads plainly for mypy.
            for unit_id, vector in zip(result["ids"], result["embeddings"] if result["embeddings"] is not None else []):
                found.setdefault(unit_id.rsplit("/", 1)[0], []).append(vector)
        return found

    def unit_vectors(self, unit_ids: list[str]) -> dict[str, list[float]]:
        """Vectors of units by id ("<chunk_id>/<n>", n counting the chunk's units from 0)."""
        return self._vectors(self._units, unit_ids)

    @staticmethod
    def _vectors(collection, ids: list[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        try:
            result = collection.get(ids=ids, include=["embeddings"])
        except Exception as exc:
            raise StoreError(f"Chroma read failed: {exc}") from exc
        return {item_id: list(vec) for item_id, vec in zip(result["ids"], result["embeddings"])}

    def ids_for(self, doc_id: str) -> list[str]:
        """Ids of the document's chunks, English ones from the chunk collection and Chinese ones from the
        multilingual one."""
        return self._chunk_ids({"doc_id": doc_id})

    def all_ids(self) -> list[str]:
        return self._chunk_ids(None)

    def _chunk_ids(self, where: dict[str, Any] | None) -> list[str]:
        chinese: dict[str, Any] = {"lang": "zh"} if where is None else {"$and": [where, {"lang": "zh"}]}
        try:
            return (list(self._collection.get(where=where, include=[])["ids"])
                    + list(self._multilingual.get(where=chinese, include=[])["ids"]))
        except Exception as exc:
            raise StoreError(f"Chroma read failed: {exc}") from exc

    def all_unit_ids(self) -> list[str]:
        try:
            return list(self._units.get(include=[])["ids"])
        except Exception as exc:
            raise StoreError(f"Chroma read failed: {exc}") from exc

    def count(self) -> int:
        """Chunks stored: English ones in the chunk collection, Chinese ones in the multilingual one."""
        try:
            chinese = len(self._multilingual.get(where={"lang": "zh"}, include=[])["ids"])
            return int(self._collection.count()) + chinese
        except Exception as exc:
            raise StoreError(f"Chroma count failed: {exc}") from exc


def _where_in(key: str, values: list[str]) -> dict[str, Any]:
    """Chroma's filter for `key` being one of `values`: a plain equality for one value."""
    return {key: values[0]} if len(values) == 1 else {key: {"$in": values}}


def _embeddings(vectors: list[list[float]]) -> list[Sequence[float] | Sequence[int]]:
    """`vectors` as chromadb's annotations name a list of vectors (its list type is invariant)."""
    return list(vectors)
