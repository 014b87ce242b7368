"""Loaders on real files of every supported format, generated per test, and on broken ones."""

from __future__ import annotations

import pytest

from rag.chunk import Chunker
from rag.errors import LoadError
from rag.load import iter_files, load_file
from rag.settings import ChunkSettings
from tests.fixtures.documents import (
    CHINESE_TEXT,
    FILING_HEADER,
    FILING_PROSE,
    FILING_TABLE,
    FILING_TABLE_TITLE,
    TABLE_HEADER,
    TABLE_TITLE,
    make_bad_files,
    make_docx,
    make_encoded_text,
    make_filing_pdf,
    make_html,
    make_jsonl,
    make_markdown,
    make_pdf,
)


def small_chunker() -> Chunker:
    return Chunker(ChunkSettings(chunk_tokens=60, overlap_tokens=10))


def test_pdf_keeps_page_numbers_on_chunks(tmp_path):
    [doc] = load_file(make_pdf(tmp_path / "report.pdf"), "report.pdf")
    assert [p.page for p in doc.pages] == [1, 2, 3]
    chunks = small_chunker().chunk(doc)
    assert {c.page for c in chunks} == {1, 2, 3}
    # Each page names one company only; a chunk that names it must be marked with that page.
    for page, company in ((1, "Zephyr"), (2, "Orion"), (3, "Quasar")):
        naming = [c for c in chunks if company in c.text]
        assert naming, company
        assert all(c.page == page for c in naming), [(c.page, c.text) for c in naming]


def test_pdf_running_header_and_page_numbers_are_dropped_and_pages_kept(tmp_path):
    [doc] = load_file(make_filing_pdf(tmp_path / "halcyon.pdf"), "halcyon.pdf")
    assert [p.page for p in doc.pages] == [1, 2, 3, 4]
    assert "Halcyon Freight Inc." not in doc.text and FILING_HEADER.split(" | ")[1] not in doc.text
    lines = doc.text.split("\n")
    assert not any(line.strip() in {"1", "2", "3", "4"} for line in lines)
    assert doc.text[doc.pages[3].start :].startswith("Capital expenditure of 310 million")


def test_pdf_lines_wrapped_by_the_page_are_rejoined_into_sentences(tmp_path):
    [doc] = load_file(make_filing_pdf(tmp_path / "halcyon.pdf"), "halcyon.pdf")
    # fpdf2 wraps these paragraphs over two or three lines; each sentence must come back whole.
    for prose in (p for p in FILING_PROSE if p):
        assert prose.strip() in doc.text.split("\n")


def test_pdf_table_rows_become_units_headed_by_title_and_column_line(tmp_path):
    [doc] = load_file(make_filing_pdf(tmp_path / "halcyon.pdf"), "halcyon.pdf")
    [(start, end, header)] = doc.tables
    assert header == f"Table: {FILING_TABLE_TITLE}\n{FILING_TABLE[0]}"
    assert doc.text[start:end].split("\n")[-1] == FILING_TABLE[-1]
    chunks = Chunker(ChunkSettings()).chunk(doc)
    [table_chunk] = [c for c in chunks if "Air freight" in c.text]
    assert table_chunk.page == 3
    row_unit = f"Table: {FILING_TABLE_TITLE} Air freight 2,304 2,118 1,987"
    assert row_unit in table_chunk.units
    assert table_chunk.units.index(row_unit) in table_chunk.unit_vector_ids


def test_html_drops_navigation_asides_and_the_sites_header_and_footer(tmp_path):
    path = tmp_path / "brief.html"
    path.write_text("""<html><body><header><p>Marketwatch Daily | Subscribe | Log in</p></header>
<nav><ul><li>Markets</li><li>Opinion</li></ul></nav>
<main><article><header><h1>Tidewater Ports lifts its dividend</h1></header>
<p>Tidewater Ports raised its quarterly dividend to 0.42 dollars a share.</p></article></main>
<aside><p>Most read: ten stocks to watch</p></aside>
<footer><p>Copyright Marketwatch Daily. All rights reserved.</p></footer></body></html>""", encoding="utf-8")
    [doc] = load_file(path, "brief.html")
    assert doc.text == ("Tidewater Ports lifts its dividend\n\n"
                        "Tidewater Ports raised its quarterly dividend to 0.42 dollars a share.")


def test_docx_table_chunks_carry_title_and_header_row(tmp_path):
    [doc] = load_file(make_docx(tmp_path / "review.docx", rows=60), "review.docx")
    assert doc.title == "Widget Holdings quarterly review"
    assert doc.publisher == "Example Securities"
    assert len(doc.tables) == 1
    header_row = " | ".join(TABLE_HEADER)
    table_start, table_end, _ = doc.tables[0]
    chunks = [c for c in small_chunker().chunk(doc) if c.start < table_end and c.end > table_start]
    assert len(chunks) >= 3, "the table should span several chunks"
    for chunk in chunks:
        shown = chunk.indexed_text
        assert TABLE_TITLE in shown, chunk
        assert header_row in shown, chunk
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_html_drops_scripts_and_keeps_table_header(tmp_path):
    [doc] = load_file(make_html(tmp_path / "nimbus.html", rows=40), "nimbus.html")
    assert "do not index me" not in doc.text
    assert doc.title == "Nimbus Cloud outlook"
    assert doc.publisher == "Example Wire"
    assert doc.published == "2025-11-03"
    assert "8.2 billion" in doc.text
    header_row = " | ".join(TABLE_HEADER)
    table_start, table_end, header = doc.tables[0]
    assert TABLE_TITLE in header and header_row in header
    table_chunks = [c for c in small_chunker().chunk(doc) if c.start < table_end and c.end > table_start]
    assert len(table_chunks) >= 3
    assert all(TABLE_TITLE in c.indexed_text and header_row in c.indexed_text for c in table_chunks)


def test_markdown_table_header_found(tmp_path):
    [doc] = load_file(make_markdown(tmp_path / "helios.md"), "helios.md")
    assert doc.title.startswith("# Helios Energy note")
    [(start, end, header)] = doc.tables
    assert "Capacity by site" in header and "| Site | GWh |" in header
    assert "| Shanghai | 40 |" in doc.text[start:end]


def test_jsonl_keeps_doc_id_title_and_extra_fields(tmp_path):
    path = make_jsonl(tmp_path / "corpus.jsonl", [
        {"doc_id": "tatqa:1", "title": "First", "text": "Revenue rose 5%.", "split": "dev", "table_raw": [["a"]]},
        {"doc_id": "tatqa:2", "title": "Second", "text": "Table: Sales | columns: 2019\nTotal | 2019: 1,496.5",
         "publisher": "Example Wire"},
    ])
    first, second = load_file(path, "ignored")
    assert (first.doc_id, first.title, first.text) == ("tatqa:1", "First", "Revenue rose 5%.")
    assert first.extra == {"split": "dev", "table_raw": [["a"]]}
    assert second.publisher == "Example Wire"
    assert second.tables == [(0, len(second.text), "Table: Sales | columns: 2019")]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-16-le", "utf-8-sig"])
def test_legacy_and_utf16_text_is_decoded(tmp_path, encoding):
    [doc] = load_file(make_encoded_text(tmp_path / f"{encoding}.txt", encoding), "x")
    assert doc.text == CHINESE_TEXT


def test_chinese_text_chunks_split_on_chinese_punctuation(tmp_path):
    text = "".join(f"第{i}句说明存储芯片的供给偏紧。" for i in range(40))
    [doc] = load_file(make_encoded_text(tmp_path / "zh.txt", "gb18030", text), "zh")
    chunks = small_chunker().chunk(doc)
    assert len(chunks) > 1
    assert all(c.text.endswith("。") for c in chunks)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("empty", "empty file"),
        ("binary", "binary"),
        ("corrupt_pdf", "corrupt or unreadable PDF"),
        ("encrypted_pdf", "encrypted PDF"),
        ("corrupt_docx", "docx|Word"),
        ("broken_symlink", "cannot read"),
        ("malformed_jsonl", r"malformed.jsonl:2: not valid JSON"),
    ],
)
def test_bad_file_raises_load_error_naming_path_and_reason(tmp_path, kind, reason):
    path = make_bad_files(tmp_path / "bad")[kind]
    with pytest.raises(LoadError, match=reason) as info:
        load_file(path, path.name)
    assert str(path) in str(info.value)


def test_directory_entry_cannot_be_read_as_file(tmp_path):
    folder = tmp_path / "looks-like.txt"
    folder.mkdir()
    with pytest.raises(LoadError, match="cannot read"):
        load_file(folder, "x")


def test_iter_files_lists_broken_symlinks_so_they_are_reported(tmp_path):
    bad = make_bad_files(tmp_path / "bad")
    (tmp_path / "bad" / ".hidden.txt").write_text("secret", encoding="utf-8")
    (tmp_path / "bad" / "notes.xyz").write_text("ignored type", encoding="utf-8")
    listed = set(iter_files([tmp_path / "bad"]))
    assert listed == set(bad.values())


def test_unsupported_suffix_given_explicitly_is_a_load_error(tmp_path):
    path = tmp_path / "sheet.xyz"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(LoadError, match="unsupported file type .xyz"):
        load_file(path, "sheet")


def test_missing_path_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="no such file or directory"):
        list(iter_files([tmp_path / "nope"]))
