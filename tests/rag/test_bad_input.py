"""Inputs that once ran for minutes or mangled a document: each is refused with its limit named, or read in
seconds with what the encoder would be given kept small. Real files, the real loader and chunker; the cases
that need an index (repeated text, a reused doc_id) are in test_ingest.py."""

from __future__ import annotations

import pytest

from rag.chunk import Chunker
from rag.errors import LoadError
from rag.load import MAX_LINE_CHARS, MAX_TABLE_ROWS, load_file
from rag.settings import ChunkSettings


def test_a_single_5_mb_line_is_refused_naming_the_line_limit(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_text("QmFzZTY0IGRhdGEgZnJvbSBhIGRhdGFiYXNlIGV4cG9ydA" * 110_000, encoding="utf-8")
    assert path.stat().st_size > 5_000_000
    with pytest.raises(LoadError, match=rf"dump\.txt: line 1 .* over {MAX_LINE_CHARS:,} characters \(MAX_LINE_CHARS\)"):
        load_file(path, "dump.txt")


def test_50000_tiny_lines_give_the_encoder_one_text_per_chunk(tmp_path):
    path = tmp_path / "ledger.txt"
    path.write_text("\n".join(f"acct {n}" for n in range(50_000)), encoding="utf-8")
    (doc,) = load_file(path, "ledger.txt")
    chunks = Chunker(ChunkSettings()).chunk(doc)
    # Lines this short are matched by BM25 over units and by their chunk's vector; none gets a vector of its own.
    assert len(chunks) > 500
    assert sum(len(c.units) for c in chunks) >= 50_000
    assert sum(len(c.unit_vector_ids or []) for c in chunks) == 0


def test_a_1_mb_markdown_table_is_refused_naming_the_row_limit(tmp_path):
    rows = ["| Store | Sales | Staff |", "|---|---|---|"] + [f"| Store {n} | {n * 7} | {n % 40} |" for n in range(45_000)]
    path = tmp_path / "stores.md"
    path.write_text("Store list\n\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert path.stat().st_size > 1_000_000
    with pytest.raises(LoadError, match=rf"stores\.md: a table .* has 45,002 rows; tables over {MAX_TABLE_ROWS:,} rows"):
        load_file(path, "stores.md")


def test_a_docx_of_one_huge_repeated_paragraph_is_refused_naming_the_line_limit(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph("Freight costs rose on higher fuel surcharges. " * 50_000)
    path = tmp_path / "memo.docx"
    document.save(path)
    with pytest.raises(LoadError, match=r"memo\.docx: line 1 .*MAX_LINE_CHARS"):
        load_file(path, "memo.docx")


def test_invalid_utf8_bytes_are_replaced_and_the_rest_kept(tmp_path):
    text = "Umsatz 2024: 3,2 Mrd. € (Vorjahr 2,9 Mrd. €), Überschuss gestiegen; 营业收入增长 12%."
    data = text.encode("utf-8")
    cut = data.index("Überschuss".encode())
    path = tmp_path / "bericht.txt"
    path.write_bytes(data[:cut] + b"\xff\xfe\xc3" + data[cut:])
    (doc,) = load_file(path, "bericht.txt")
    assert doc.text.replace("\ufffd", "") == text
    assert doc.text.count("\ufffd") == 3
