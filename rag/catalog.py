"""Catalog: the SQLite record of what is indexed, and the BM25 side of hybrid search.

It holds every document's content hash and metadata and every chunk's text and offsets, and keeps the lexical
index of chunks and units (rag/lexical_index.py, beside the catalog file) in step with them. A document is
marked `pending` *before* Chroma or the lexical index is touched and `ready` in the transaction that writes its
chunks, so after a crash the pending marks say exactly which documents to clean up; searches drop whatever is
not ready.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.errors import StoreError
from rag.lexical import is_chinese, lexical_tokens, phrase_pairs
from rag.lexical_index import LexicalIndex
from rag.scope import NamedDocument
from rag.types import Chunk, Document

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready')),
    title TEXT NOT NULL DEFAULT '',
    publisher TEXT NOT NULL DEFAULT '',
    broker TEXT NOT NULL DEFAULT '',
    published TEXT NOT NULL DEFAULT '',
    companies TEXT NOT NULL DEFAULT '[]',
    chunk_count INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE INDEX IF NOT EXISTS documents_unready ON documents(doc_id) WHERE status != 'ready';
CREATE TABLE IF NOT EXISTS companies (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    name TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS companies_name ON companies(name);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    section TEXT NOT NULL DEFAULT '',
    lang TEXT NOT NULL DEFAULT 'en',
    -- NULL: written before boilerplate was marked; Indexer.backfill_boilerplate marks it.
    boilerplate TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS units (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL REFERENCES chunks(chunk_id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL,
    -- The unit as it is encoded (a row headed by its table's title). NULL: written before texts were kept;
    -- stored_chunk_units rebuilds it from the chunk.
    text TEXT
);
CREATE INDEX IF NOT EXISTS units_doc ON units(doc_id);
-- Deleting a chunk makes SQLite look up the units that reference it (the foreign key), and the backfill asks
-- which chunks have none: without this, each is a scan of every unit (1.3 s after a 400-page ingest, and
-- quadratic in the corpus).
CREATE INDEX IF NOT EXISTS units_chunk ON units(chunk_id);
"""


@dataclass
class DocumentRecord:
    doc_id: str
    source: str
    content_hash: str
    status: str
    title: str
    publisher: str
    broker: str
    published: str
    companies: list[str]
    chunk_count: int

    def to_dict(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "publisher": self.publisher,
            "broker": self.broker,
            "published": self.published,
            "companies": self.companies,
            "chunks": self.chunk_count,
            "status": self.status,
        }


@dataclass
class ChunkRecord:
    chunk_id: str
    doc_id: str
    index: int
    start: int
    end: int
    page: int | None
    text: str
    context: str
    title: str
    source: str
    publisher: str
    published: str
    section: str
    boilerplate: str = ""


class Catalog:
    """SQLite catalog of documents and chunks with an FTS5 BM25 index. Safe to share across threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._own_commits = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(_SCHEMA)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(chunks)")}
            # Catalogs written before sections or languages were recorded.
            for column, kind in (("section", "TEXT NOT NULL DEFAULT ''"), ("lang", "TEXT NOT NULL DEFAULT 'en'"),
                                 ("boilerplate", "TEXT")):
                if column not in columns:
                    self._add_column("chunks", column, kind)
            if "text" not in {row[1] for row in self._conn.execute("PRAGMA table_info(units)")}:
                self._add_column("units", "text", "TEXT")
            # Asked on every English question: the partial index must match the query's own `lang = 'zh'` term,
            # or SQLite scans every chunk (5.5 ms a question at 30k chunks).
            self._conn.execute("DROP INDEX IF EXISTS chunks_lang")
            self._conn.execute("CREATE INDEX IF NOT EXISTS chunks_zh ON chunks(doc_id) WHERE lang = 'zh'")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: cannot open the index catalog ({exc})") from exc
        self._lock = threading.RLock()
        self.lexical = LexicalIndex(path.parent / f"{path.stem}-lexical")
        self._lexical_seen = self.data_version()
        if self.lexical.count("chunks") == 0 and self._query("SELECT 1 FROM chunks LIMIT 1"):
            self._rebuild_lexical()

    def _add_column(self, table: str, column: str, kind: str) -> None:
        try:
            self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError as exc:  # another process added it first
            if "duplicate column" not in str(exc):
                raise

    def _rebuild_lexical(self) -> None:
        """Index the chunks of a catalog written when BM25 lived in SQLite's FTS5 tables, and drop those."""
        from rag.chunk import stored_chunk_units

        rows = self._query("SELECT c.chunk_id, c.doc_id, c.text, c.context, d.title FROM chunks c "
                           "JOIN documents d USING (doc_id)")
        chunks, units = [], []
        for chunk_id, doc_id, text, context, title in rows:
            chunk = Chunk(chunk_id=chunk_id, doc_id=doc_id, index=0, text=text, start=0, end=0, context=context)
            chunks.append((chunk_id, doc_id, " ".join(lexical_tokens(f"{title}\n{chunk.indexed_text}"))))
            units += [(chunk_id, doc_id, " ".join(lexical_tokens(u))) for u in stored_chunk_units(text, context)]
        self.lexical.write({"chunks": chunks, "units": units})
        self._conn.executescript("DROP TABLE IF EXISTS chunks_fts; DROP TABLE IF EXISTS units_fts;")

    def close(self) -> None:
        self._conn.close()

    def data_version(self) -> int:
        """A number that changes whenever another connection, in this process or another, commits to the
        catalog (this connection's own commits leave it alone): SQLite's PRAGMA data_version. Caches of what
        the index answers key on it, so a server sees documents another process ingested."""
        return int(self._query("PRAGMA data_version")[0][0])

    def version(self) -> tuple[int, int]:
        """Changes with every commit to the catalog, by this connection or any other."""
        return self._own_commits, self.data_version()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
                self._own_commits += 1
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: catalog query failed ({exc})") from exc

    # Documents -----------------------------------------------------------------------------------

    def documents(self, status: str | None = None) -> list[DocumentRecord]:
        sql = "SELECT doc_id, source, content_hash, status, title, publisher, broker, published, companies, " \
              "chunk_count FROM documents"
        rows = self._query(sql + (" WHERE status = ?" if status else "") + " ORDER BY doc_id",
                           (status,) if status else ())
        return [_document_record(row) for row in rows]

    def document_names(self) -> list[NamedDocument]:
        """What names each ready document (rag/scope.py): title, source, broker and companies."""
        rows = self._query("SELECT doc_id, title, source, broker, companies FROM documents WHERE status = 'ready'")
        return [NamedDocument(doc_id, title, source, broker, tuple(json.loads(companies)))
                for doc_id, title, source, broker, companies in rows]

    def page_counts(self) -> dict[str, int]:
        """Each paged document's last page that holds a chunk (its page count, short of trailing blank pages);
        documents without pages (text, HTML) are left out."""
        rows = self._query("SELECT doc_id, MAX(page) FROM chunks WHERE page IS NOT NULL GROUP BY doc_id")
        return {doc_id: int(pages) for doc_id, pages in rows if pages}

    def document(self, doc_id: str) -> DocumentRecord | None:
        found = [d for d in self._documents_where("doc_id = ?", (doc_id,))]
        return found[0] if found else None

    def _documents_where(self, where: str, params: tuple) -> list[DocumentRecord]:
        rows = self._query(
            "SELECT doc_id, source, content_hash, status, title, publisher, broker, published, companies, "
            f"chunk_count FROM documents WHERE {where}", params)
        return [_document_record(row) for row in rows]

    def hashes(self) -> dict[str, tuple[str, str, str]]:
        """doc_id -> (content_hash, status, source)."""
        return {r[0]: (r[1], r[2], r[3]) for r in self._query(
            "SELECT doc_id, content_hash, status, source FROM documents")}

    def mark_pending(self, docs: list[tuple[str, str, str]]) -> None:
        """Record (doc_id, source, content_hash) as being written; must precede any Chroma write."""
        with self._transaction() as conn:
            for doc_id, source, content_hash in docs:
                conn.execute(
                    "INSERT INTO documents (doc_id, source, content_hash, status) VALUES (?, ?, ?, 'pending') "
                    "ON CONFLICT(doc_id) DO UPDATE SET status='pending', content_hash=excluded.content_hash, "
                    "source=excluded.source, updated_at=datetime('now')",
                    (doc_id, source, content_hash),
                )

    def write_ready(self, docs: list[tuple[Document, str, list[Chunk]]]) -> None:
        """Replace the chunks of each document and mark it ready, all in one transaction (after their lexical
        rows, which no search returns until then)."""
        rows: dict[str, list[tuple[str, str, str]]] = {"chunks": [], "units": []}
        for doc, _, chunks in docs:
            for chunk in chunks:
                rows["chunks"].append((chunk.chunk_id, doc.doc_id,
                                       " ".join(lexical_tokens(f"{doc.title}\n{chunk.indexed_text}"))))
                rows["units"] += self._unit_rows(chunk)
        self.lexical.write(rows, remove_doc_ids=[doc.doc_id for doc, _, _ in docs])
        with self._transaction() as conn:
            for doc, content_hash, chunks in docs:
                self._delete_chunks(conn, doc.doc_id)
                conn.execute(
                    "UPDATE documents SET status='ready', content_hash=?, source=?, title=?, publisher=?, broker=?, "
                    "published=?, companies=?, chunk_count=?, updated_at=datetime('now') WHERE doc_id=?",
                    (content_hash, doc.source, doc.title, doc.publisher, doc.broker, doc.published,
                     json.dumps(doc.companies, ensure_ascii=False), len(chunks), doc.doc_id),
                )
                conn.execute("DELETE FROM companies WHERE doc_id = ?", (doc.doc_id,))
                conn.executemany("INSERT INTO companies (doc_id, name) VALUES (?, ?)",
                                 [(doc.doc_id, name.lower()) for name in doc.companies])
                for chunk in chunks:
                    conn.execute(
                        'INSERT INTO chunks (chunk_id, doc_id, idx, start, "end", page, text, context, section, lang, '
                        "boilerplate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (chunk.chunk_id, chunk.doc_id, chunk.index, chunk.start, chunk.end, chunk.page,
                         chunk.text, chunk.context, chunk.section, "zh" if is_chinese(chunk.text) else "en",
                         chunk.boilerplate),
                    )
                    self._insert_units(conn, chunk)

    @staticmethod
    def _unit_rows(chunk: Chunk) -> list[tuple[str, str, str]]:
        return [(chunk.chunk_id, chunk.doc_id, " ".join(lexical_tokens(unit))) for unit in chunk.units]

    @staticmethod
    def _insert_units(conn: sqlite3.Connection, chunk: Chunk) -> None:
        conn.executemany("INSERT INTO units (chunk_id, doc_id, text) VALUES (?, ?, ?)",
                         [(chunk.chunk_id, chunk.doc_id, unit) for unit in chunk.units])

    def unit_texts(self, chunk_ids: list[str]) -> dict[str, list[str]]:
        """Each chunk's units in order, as written at ingest; rebuilt from the chunk's text and context where an
        older catalog kept no unit texts. Chunks without units are left out."""
        found: dict[str, list[str | None]] = {}
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i : i + 500]
            for chunk_id, text in self._query(f"SELECT chunk_id, text FROM units WHERE chunk_id IN "
                                              f"({','.join('?' * len(part))}) ORDER BY rowid", tuple(part)):
                found.setdefault(chunk_id, []).append(text)
        old = [cid for cid, texts in found.items() if any(t is None for t in texts)]
        if old:
            from rag.chunk import stored_chunk_units

            records = self.chunks(old)
            for cid in old:
                if cid in records:
                    found[cid] = list(stored_chunk_units(records[cid].text, records[cid].context))
        return {cid: [t or "" for t in texts] for cid, texts in found.items()}

    def chunks_without_units(self) -> list[Chunk]:
        """Ready chunks that have no units (written before units existed), units not filled in."""
        rows = self._query(
            'SELECT c.chunk_id, c.doc_id, c.idx, c.text, c.start, c."end", c.page, c.context, c.section FROM chunks c '
            "JOIN documents d USING (doc_id) WHERE d.status = 'ready' AND c.text != '' AND NOT EXISTS "
            "(SELECT 1 FROM units u WHERE u.chunk_id = c.chunk_id) ORDER BY c.rowid")
        return [Chunk(chunk_id=r[0], doc_id=r[1], index=r[2], text=r[3], start=r[4], end=r[5], page=r[6],
                      context=r[7], section=r[8]) for r in rows]

    def chunks_without_boilerplate(self) -> list[tuple[str, str]]:
        """(chunk_id, text) of the chunks written before boilerplate was marked, in order."""
        return [(r[0], r[1]) for r in self._query(
            "SELECT chunk_id, text FROM chunks WHERE boilerplate IS NULL ORDER BY rowid")]

    def set_boilerplate(self, kinds: dict[str, str]) -> None:
        """Record the boilerplate kind ('' for none) of chunks by id."""
        with self._transaction() as conn:
            conn.executemany("UPDATE chunks SET boilerplate = ? WHERE chunk_id = ?",
                             [(kind, chunk_id) for chunk_id, kind in kinds.items()])

    def add_units(self, chunks: list[Chunk]) -> None:
        """Record the units of chunks that have none yet (those that do are left as they are)."""
        have = {r[0] for r in self._query("SELECT DISTINCT chunk_id FROM units")}
        missing = [chunk for chunk in chunks if chunk.chunk_id not in have]
        # A crash after this write and before the transaction leaves rows the next run's write replaces.
        self.lexical.write({"units": [row for chunk in missing for row in self._unit_rows(chunk)]},
                           remove_chunk_ids=[chunk.chunk_id for chunk in missing])
        with self._transaction() as conn:
            for chunk in chunks:
                if not conn.execute("SELECT 1 FROM units WHERE chunk_id = ?", (chunk.chunk_id,)).fetchone():
                    self._insert_units(conn, chunk)

    def delete_documents(self, doc_ids: list[str]) -> None:
        self.lexical.write({}, remove_doc_ids=doc_ids)
        with self._transaction() as conn:
            for doc_id in doc_ids:
                self._delete_chunks(conn, doc_id)
                conn.execute("DELETE FROM companies WHERE doc_id = ?", (doc_id,))
                conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))

    @staticmethod
    def _delete_chunks(conn: sqlite3.Connection, doc_id: str) -> None:
        conn.execute("DELETE FROM units WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))

    # Chunks ----------------------------------------------------------------------------------------

    def chunk_count(self) -> int:
        return int(self._query("SELECT count(*) FROM chunks c JOIN documents d USING (doc_id) "
                               "WHERE d.status = 'ready'")[0][0])

    def holds_chinese(self) -> bool:
        """Whether any ready chunk is written in Chinese (a partial index makes this one lookup)."""
        return bool(self._query("SELECT 1 FROM chunks c JOIN documents d USING (doc_id) "
                                "WHERE c.lang = 'zh' AND d.status = 'ready' LIMIT 1"))

    def has_chunks(self) -> bool:
        """Whether anything is searchable: asked on every query, so it stops at the first ready chunk."""
        return bool(self._query("SELECT EXISTS (SELECT 1 FROM chunks c JOIN documents d USING (doc_id) "
                                "WHERE d.status = 'ready')")[0][0])

    def chunk_ids(self, doc_id: str | None = None) -> list[str]:
        if doc_id:
            return [r[0] for r in self._query("SELECT chunk_id FROM chunks WHERE doc_id = ? ORDER BY idx", (doc_id,))]
        return [r[0] for r in self._query("SELECT chunk_id FROM chunks ORDER BY doc_id, idx")]

    def chunks(self, chunk_ids: list[str]) -> dict[str, ChunkRecord]:
        """The ready chunks among `chunk_ids`, with their document's metadata."""
        found: dict[str, ChunkRecord] = {}
        for i in range(0, len(chunk_ids), 500):
            part = chunk_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._query(
                'SELECT c.chunk_id, c.doc_id, c.idx, c.start, c."end", c.page, c.text, c.context, d.title, d.source, '
                f"d.publisher, d.published, c.section, COALESCE(c.boilerplate, '') FROM chunks c "
                f"JOIN documents d USING (doc_id) WHERE d.status = 'ready' AND c.chunk_id IN ({marks})", part)
            for row in rows:
                found[row[0]] = ChunkRecord(*row)
        return found

    def lexical_search(self, query: str, limit: int, doc_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """BM25 over chunk tokens: [(chunk_id, score)], best first (score higher is better)."""
        return self._bm25("chunks", query, limit, doc_ids)

    def unit_search(self, query: str, limit: int, doc_ids: set[str] | None = None) -> list[tuple[str, float]]:
        """BM25 over chunks' sentences and table rows: [(chunk_id, its best unit's score)], best first."""
        # bm25() cannot sit inside an aggregate: the best units come first, and a chunk has a handful of them.
        best: dict[str, float] = {}
        for chunk_id, score in self._bm25("units", query, limit * 4, doc_ids):
            best.setdefault(chunk_id, score)
        return list(best.items())[:limit]

    def _bm25(self, kind: str, query: str, limit: int, doc_ids: set[str] | None) -> list[tuple[str, float]]:
        """[(chunk_id, BM25 score)] of the lexical index's `kind` rows (chunks or units) matching `query`, best
        first, of ready documents only."""
        tokens = lexical_tokens(query)
        if not tokens or limit <= 0 or (doc_ids is not None and not doc_ids):
            return []
        seen = self.data_version()
        if seen != self._lexical_seen:  # another process has written
            self.lexical.reload()
            self._lexical_seen = seen
        # A few spare rows stand in for those of documents being written or removed (pending).
        unready = {r[0] for r in self._query("SELECT doc_id FROM documents WHERE status != 'ready'")}
        found = self.lexical.search(kind, tokens, phrase_pairs(tokens), limit + (20 if unready else 0), doc_ids)
        return [(chunk_id, score) for chunk_id, doc_id, score in found if doc_id not in unready][:limit]

    def filter_doc_ids(self, filters: dict[str, str]) -> set[str] | None:
        """Documents matching all filters (None when there are none). Keys: doc_id, source, publisher, broker,
        company (or ticker), date_from, date_to (ISO dates, inclusive)."""
        if not filters:
            return None
        clauses, params = ["status = 'ready'"], []
        for key, value in filters.items():
            if key in ("doc_id", "source"):
                clauses.append(f"{key} = ?")
                params.append(value)
            elif key in ("publisher", "broker"):
                clauses.append(f"lower({key}) = lower(?)")
                params.append(value)
            elif key in ("company", "ticker"):
                clauses.append("doc_id IN (SELECT doc_id FROM companies WHERE name LIKE ?)")
                params.append(f"%{value.lower()}%")
            elif key == "date_from":
                clauses.append("published != '' AND published >= ?")
                params.append(value)
            elif key == "date_to":
                clauses.append("published != '' AND published <= ?")
                params.append(value)
        rows = self._query(f"SELECT doc_id FROM documents WHERE {' AND '.join(clauses)}", params)
        return {r[0] for r in rows}


def _document_record(row: tuple) -> DocumentRecord:
    """A documents row as _documents_where and documents() select it; companies are stored as JSON."""
    doc_id, source, content_hash, status, title, publisher, broker, published, companies, chunk_count = row
    return DocumentRecord(doc_id, source, content_hash, status, title, publisher, broker, published,
                          json.loads(companies), chunk_count)
