"""The BM25 side in tantivy beside the catalog: kept in step with the catalog's ready marks, seen by other
connections (other processes) once they commit, and rebuilt for a catalog that has none (one written when
BM25 lived in SQLite's FTS5 tables). Real tantivy, real SQLite; documents from TAT-QA-like filings text."""

from __future__ import annotations

import shutil

from rag.catalog import Catalog
from rag.types import Chunk, Document

FILING = Document(doc_id="ar-2019", text="", source="/reports/ar-2019.txt", title="Annual report 2019")
CHUNKS = [
    Chunk(chunk_id="ar-2019#0", doc_id="ar-2019", index=0, start=0, end=60,
          text="Total cost of revenue increased to $1,496.5 million in 2019.",
          units=["Total cost of revenue increased to $1,496.5 million in 2019."]),
    Chunk(chunk_id="ar-2019#1", doc_id="ar-2019", index=1, start=60, end=120,
          text="Accounts receivable, net of allowances, were $219.8 million.",
          units=["Accounts receivable, net of allowances, were $219.8 million."]),
]


def write(catalog: Catalog, doc: Document = FILING, chunks: list[Chunk] = CHUNKS) -> None:
    catalog.mark_pending([(doc.doc_id, doc.source, "hash")])
    catalog.write_ready([(doc, "hash", chunks)])


def test_rows_follow_the_ready_mark_and_removal(tmp_path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    write(catalog)
    assert [c for c, _ in catalog.lexical_search("cost of revenue 2019", 5)][0] == "ar-2019#0"
    assert catalog.lexical.count("chunks") == 2 and catalog.lexical.count("units") == 2
    catalog.mark_pending([(FILING.doc_id, FILING.source, "changed")])
    assert catalog.lexical_search("cost of revenue 2019", 5) == []
    catalog.delete_documents([FILING.doc_id])
    assert catalog.lexical.count("chunks") == 0 and catalog.unit_search("accounts receivable", 5) == []


def test_another_connection_sees_a_commit_once_the_catalog_moves(tmp_path):
    reader = Catalog(tmp_path / "catalog.sqlite")
    assert reader.lexical_search("accounts receivable", 5) == []
    writer = Catalog(tmp_path / "catalog.sqlite")  # what another process holds
    write(writer)
    assert [c for c, _ in reader.lexical_search("accounts receivable", 5)][0] == "ar-2019#1"


def test_a_catalog_without_a_lexical_index_is_indexed_when_opened(tmp_path):
    path = tmp_path / "catalog.sqlite"
    catalog = Catalog(path)
    write(catalog)
    expected = catalog.lexical_search("cost of revenue 2019", 5), catalog.unit_search("allowances", 5)
    catalog.close()
    shutil.rmtree(tmp_path / "catalog-lexical")
    reopened = Catalog(path)
    assert reopened.lexical.count("chunks") == 2 and reopened.lexical.count("units") == 2
    assert (reopened.lexical_search("cost of revenue 2019", 5), reopened.unit_search("allowances", 5)) == expected
