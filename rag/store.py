"""Store: chunk vectors in Chroma, embedded (PersistentClient under the index directory) or a Chroma
server (HttpClient). Vectors are always computed by our embedder and passed in, so Chroma never loads
(or downloads) a model of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from rag.errors import StoreError
from rag.types import Chunk, Document


class VectorStore(Protocol):
    def upsert(self, items: list[tuple[Document, Chunk]], vectors: list[list[float]]) -> None: ...

    def delete_documents(self, doc_ids: list[str]) -> None: ...

    def query(self, vector: list[float], limit: int, doc_ids: set[str] | None) -> list[tuple[str, float]]: ...

    def vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]: ...

    def count(self) -> int: ...


class ChromaStore:
    """One Chroma collection of chunk vectors (cosine space) with each chunk's report metadata."""

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
        except StoreError:
            raise
        except Exception as exc:  # chromadb raises ValueError, ConnectionError, httpx errors, ...
            where = url or path
            raise StoreError(f"cannot open Chroma collection {collection!r} at {where}: {exc}") from exc
        self.write_batch = write_batch

    def upsert(self, items: list[tuple[Document, Chunk]], vectors: list[list[float]]) -> None:
        """Write chunks (each with its document) and their vectors, in batches of `write_batch`."""
        for i in range(0, len(items), self.write_batch):
            part = items[i : i + self.write_batch]
            try:
                self._collection.upsert(
                    ids=[c.chunk_id for _, c in part],
                    embeddings=vectors[i : i + self.write_batch],
                    documents=[c.text for _, c in part],
                    metadatas=[self._metadata(d, c) for d, c in part],
                )
            except Exception as exc:
                raise StoreError(f"Chroma write failed for {part[0][0].doc_id}: {exc}") from exc

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
                where = {"doc_id": part[0]} if len(part) == 1 else {"doc_id": {"$in": part}}
                self._collection.delete(where=where)
        except Exception as exc:
            raise StoreError(f"Chroma delete failed: {exc}") from exc

    def query(self, vector: list[float], limit: int, doc_ids: set[str] | None) -> list[tuple[str, float]]:
        """Nearest chunks as [(chunk_id, cosine similarity)], best first."""
        if doc_ids is not None and not doc_ids:
            return []
        where = None
        if doc_ids is not None:
            ids = sorted(doc_ids)
            where = {"doc_id": ids[0]} if len(ids) == 1 else {"doc_id": {"$in": ids}}
        try:
            result = self._collection.query(
                query_embeddings=[vector], n_results=limit, where=where, include=["distances"])
        except Exception as exc:
            raise StoreError(f"Chroma query failed: {exc}") from exc
        ids = result["ids"][0] if result["ids"] else []
        distances = result["distances"][0] if result.get("distances") else [1.0] * len(ids)
        return [(chunk_id, 1.0 - float(d)) for chunk_id, d in zip(ids, distances)]

    def vectors(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        if not chunk_ids:
            return {}
        try:
            result = self._collection.get(ids=chunk_ids, include=["embeddings"])
        except Exception as exc:
            raise StoreError(f"Chroma read failed: {exc}") from exc
        return {cid: list(vec) for cid, vec in zip(result["ids"], result["embeddings"])}

    def ids_for(self, doc_id: str) -> list[str]:
        try:
            return list(self._collection.get(where={"doc_id": doc_id}, include=[])["ids"])
        except Exception as exc:
            raise StoreError(f"Chroma read failed: {exc}") from exc

    def all_ids(self) -> list[str]:
        try:
            return list(self._collection.get(include=[])["ids"])
        except Exception as exc:
            raise StoreError(f"Chroma read failed: {exc}") from exc

    def count(self) -> int:
        try:
            return int(self._collection.count())
        except Exception as exc:
            raise StoreError(f"Chroma count failed: {exc}") from exc
