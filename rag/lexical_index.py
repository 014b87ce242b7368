"""Lexical index: BM25 over chunks and over their units (sentences, table rows), in tantivy, beside the catalog.

SQLite's FTS5 scores every row that matches any term of a query: at 100k chunks a question of common words
("total revenue in 2019") scored thousands of rows, p50 146 ms. Tantivy, a search-engine library, keeps BM25
(k1 1.2, b 0.75, as FTS5) and phrase queries but skips the rows that cannot reach the top k (block-max WAND):
p50 6 ms on the same 100k chunks. Text is tokenized by rag.lexical (figures whole, Chinese bigrams) and only
split on spaces, folded to ASCII and stemmed here, so chunks and questions meet on the same terms.

Crash safety is the catalog's: documents are written here before the catalog marks them ready and removed
here before the catalog forgets them, and every search drops hits of documents that are not ready. Another
process's commits are seen after `reload()`, which the catalog calls when SQLite's data_version moves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from rag.errors import StoreError

log = logging.getLogger(__name__)

KINDS = ("chunks", "units")
_TOKENIZER = "report_terms"
# Indexing memory per writer thread (tantivy's minimum is 15 MB).
_WRITER_HEAP = 64_000_000


def _quote(term: str) -> str:
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'


def query_string(tokens: list[str], phrases: list[tuple[str, str]]) -> str:
    """Tantivy query syntax for "any of these terms, or any of these adjacent pairs as a phrase"."""
    parts = [_quote(t) for t in tokens] + [_quote(f"{a} {b}") for a, b in phrases]
    return " OR ".join(dict.fromkeys(parts))


class LexicalIndex:
    """Two tantivy indexes under `folder`: chunks/ and units/, each row tagged with its chunk and document."""

    def __init__(self, folder: Path) -> None:
        import tantivy

        self._tantivy = tantivy
        self.folder = folder
        self._indexes = {}
        self._lock = threading.RLock()
        try:
            for kind in KINDS:
                path = folder / kind
                path.mkdir(parents=True, exist_ok=True)
                builder = tantivy.SchemaBuilder()
                builder.add_text_field("tokens", stored=False, tokenizer_name=_TOKENIZER, index_option="position")
                builder.add_text_field("chunk_id", stored=True, tokenizer_name="raw", index_option="basic")
                builder.add_text_field("doc_id", stored=True, tokenizer_name="raw", index_option="basic")
                index = tantivy.Index(builder.build(), path=str(path))
                index.register_tokenizer(_TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
                                         .filter(tantivy.Filter.ascii_fold())
                                         .filter(tantivy.Filter.stemmer("english")).build())
                self._indexes[kind] = index
        except (ValueError, OSError) as exc:
            raise StoreError(f"{folder}: cannot open the lexical index ({exc})") from exc

    def count(self, kind: str) -> int:
        return int(self._indexes[kind].searcher().num_docs)

    def reload(self) -> None:
        """See what other processes have committed."""
        with self._lock:
            for index in self._indexes.values():
                index.reload()

    def write(self, rows: dict[str, list[tuple[str, str, str]]], remove_doc_ids: Iterable[str] = (),
              remove_chunk_ids: Iterable[str] = ()) -> None:
        """Remove the rows of `remove_doc_ids` (from both kinds) and of `remove_chunk_ids` (from the kinds that
        `rows` adds to), then add `rows` (kind -> [(chunk_id, doc_id, tokens)]), one commit per kind touched.
        Writers take turns through the assistant's write lock; tantivy's own lock file refuses a second one."""
        tantivy = self._tantivy
        remove_doc_ids, remove_chunk_ids = list(remove_doc_ids), list(remove_chunk_ids)
        with self._lock:
            for kind in KINDS:
                added = rows.get(kind, [])
                chunk_ids = remove_chunk_ids if kind in rows else []
                if not (remove_doc_ids or chunk_ids or added):
                    continue
                index = self._indexes[kind]
                try:
                    writer = index.writer(heap_size=_WRITER_HEAP, num_threads=1)
                    for doc_id in remove_doc_ids:
                        writer.delete_documents_by_term("doc_id", doc_id)
                    for chunk_id in chunk_ids:
                        writer.delete_documents_by_term("chunk_id", chunk_id)
                    for chunk_id, doc_id, tokens in added:
                        doc = tantivy.Document()
                        doc.add_text("tokens", tokens)
                        doc.add_text("chunk_id", chunk_id)
                        doc.add_text("doc_id", doc_id)
                        writer.add_document(doc)
                    writer.commit()
                    writer.wait_merging_threads()
                except ValueError as exc:
                    raise StoreError(f"{self.folder / kind}: lexical index write failed ({exc})") from exc
                index.reload()

    def search(self, kind: str, tokens: list[str], phrases: list[tuple[str, str]], limit: int,
               doc_ids: set[str] | None) -> list[tuple[str, str, float]]:
        """[(chunk_id, doc_id, BM25 score)] of the best `limit` rows of `kind`, best first."""
        if not tokens or limit <= 0 or (doc_ids is not None and not doc_ids):
            return []
        tantivy = self._tantivy
        index = self._indexes[kind]
        # No lock: a searcher is a snapshot, safe beside other searches and a reload, and the API searches from
        # many threads at once.
        try:
            query = index.parse_query(query_string(tokens, phrases), ["tokens"])
            if doc_ids is not None:
                query = tantivy.Query.boolean_query([
                    (tantivy.Occur.Must, query),
                    # Scored 0 so that a filter changes which rows are found, never their scores.
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(
                        tantivy.Query.term_set_query(index.schema, "doc_id", sorted(doc_ids)), 0.0)),
                ])
            searcher = index.searcher()
            hits = searcher.search(query, limit).hits
            found = []
            for score, address in hits:
                stored = searcher.doc(address)
                found.append((stored["chunk_id"][0], stored["doc_id"][0], float(score)))
            return found
        except ValueError as exc:
            raise StoreError(f"{self.folder / kind}: lexical search failed ({exc})") from exc
