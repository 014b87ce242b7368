"""Chunker: token limits, overlap, exact offsets, sentence boundaries in English and Chinese."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rag.chunk import Chunker, count_tokens, heading_of, sentence_spans
from rag.load import load_file
from rag.settings import ChunkSettings
from rag.types import Document, PageSpan
from tests.conftest import SAMPLE_REPORT


def chunker(size: int, overlap: int) -> Chunker:
    return Chunker(ChunkSettings(chunk_tokens=size, overlap_tokens=overlap))


@pytest.fixture(scope="module")
def sample_doc() -> Document:
    return load_file(SAMPLE_REPORT, SAMPLE_REPORT.name)[0]


@pytest.mark.parametrize(("size", "overlap"), [(64, 0), (64, 16), (180, 40), (400, 80)])
def test_offsets_are_exact_and_chunks_respect_the_token_limit(sample_doc, size, overlap):
    chunks = chunker(size, overlap).chunk(sample_doc)
    assert chunks
    for i, chunk in enumerate(chunks):
        assert sample_doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.index == i and chunk.doc_id == sample_doc.doc_id
        assert count_tokens(chunk.text) <= size + 2, (count_tokens(chunk.text), chunk.text)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_chunks_cover_the_whole_document(sample_doc):
    chunks = chunker(120, 20).chunk(sample_doc)
    covered = [False] * len(sample_doc.text)
    for chunk in chunks:
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    assert all(covered[i] for i, ch in enumerate(sample_doc.text) if not ch.isspace())


def test_consecutive_chunks_overlap_by_whole_sentences(sample_doc):
    chunks = chunker(120, 40).chunk(sample_doc)
    overlapping = [(a, b) for a, b in zip(chunks, chunks[1:]) if b.start < a.end]
    assert len(overlapping) >= len(chunks) // 2
    for a, b in overlapping:
        shared = sample_doc.text[b.start : a.end]
        assert count_tokens(shared) <= 40 + 2
        assert b.start > a.start, "every chunk must move forward"


def test_no_overlap_setting_gives_disjoint_chunks(sample_doc):
    chunks = chunker(100, 0).chunk(sample_doc)
    assert all(b.start >= a.end for a, b in zip(chunks, chunks[1:]))


def test_chunk_ids_are_deterministic(sample_doc):
    first = [c.chunk_id for c in chunker(180, 40).chunk(sample_doc)]
    second = [c.chunk_id for c in chunker(180, 40).chunk(sample_doc)]
    assert first == second


def test_english_sentences_do_not_split_at_abbreviations():
    text = "Foxconn Industrial Internet Co., Ltd. expects growth. Shipments rise 20.9% in 2026! Is that U.S. demand?"
    parts = [text[s:e] for s, e in sentence_spans(text)]
    assert parts == [
        "Foxconn Industrial Internet Co., Ltd. expects growth.",
        "Shipments rise 20.9% in 2026!",
        "Is that U.S. demand?",
    ]


def test_chinese_punctuation_ends_sentences():
    text = "存储短缺将持续。华为推出昇腾950PR！需求是否旺盛？供给偏紧；价格上涨"
    parts = [text[s:e] for s, e in sentence_spans(text)]
    assert parts == ["存储短缺将持续。", "华为推出昇腾950PR！", "需求是否旺盛？", "供给偏紧；", "价格上涨"]


def test_chinese_chunks_end_at_chinese_sentence_ends():
    text = "".join(f"第{i}条：国产算力芯片持续迭代，存储供给偏紧。" for i in range(60))
    doc = Document(doc_id="zh", text=text, source="zh.txt")
    chunks = chunker(64, 16).chunk(doc)
    assert len(chunks) > 3
    assert all(c.text.endswith("。") for c in chunks)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)


def test_a_sentence_longer_than_a_chunk_is_cut_by_tokens_with_exact_offsets():
    text = "word " * 500 + "end."
    doc = Document(doc_id="long", text=text.strip(), source="long.txt")
    chunks = chunker(50, 10).chunk(doc)
    assert len(chunks) >= 10
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert count_tokens(chunk.text) <= 52
    assert chunks[-1].end == len(doc.text)


def test_chunks_do_not_cross_pages():
    pages = ["Alpha page sentence one. Alpha page sentence two.", "Beta page sentence one. Beta page sentence two."]
    doc = Document(doc_id="p", text="\n\n".join(pages), source="p.pdf",
                   pages=[PageSpan(1, 0), PageSpan(2, len(pages[0]) + 2)])
    chunks = chunker(400, 40).chunk(doc)
    assert [(c.page, c.text) for c in chunks] == [(1, pages[0]), (2, pages[1])]


def test_overlap_must_be_smaller_than_chunk():
    with pytest.raises(ValidationError, match="overlap_tokens .* must be smaller than chunk_tokens"):
        ChunkSettings(chunk_tokens=50, overlap_tokens=50)


def test_units_are_the_sentences_of_a_chunk(sample_doc):
    for chunk in chunker(180, 40).chunk(sample_doc)[:20]:
        assert chunk.units, chunk.chunk_id
        assert all(unit in chunk.text for unit in chunk.units)
        assert [chunk.text[s:e] for s, e in sentence_spans(chunk.text)] == chunk.units


def test_table_rows_are_units_headed_by_the_table_title():
    intro = "Revenue grew in every segment."
    table = "Table: Revenue by segment (RMB m)\nSegment | 2024 | 2025\nCloud | 120 | 150\nDevices | 80 | 95"
    text = f"{intro}\n\n{table}"
    doc = Document(doc_id="t", text=text, source="t.html",
                   tables=[(len(intro) + 2, len(text), "Table: Revenue by segment (RMB m)\nSegment | 2024 | 2025")])
    # Small chunks: the rows after the first chunk arrive without the title in their own text.
    units = [u for c in chunker(24, 0).chunk(doc) for u in c.units]
    assert units[0] == intro
    assert "Table: Revenue by segment (RMB m) Cloud | 120 | 150" in units
    assert "Table: Revenue by segment (RMB m) Devices | 80 | 95" in units
    assert units.count("Table: Revenue by segment (RMB m)") == 1


@pytest.mark.parametrize(("text", "heading"), [
    ("AI edge: AIAgent reshapes the interaction paradigm.", "AI edge"),
    ("Risk warning: demand falls short of expectations.", "Risk warning"),
    ("Investment thesis\nMargins recover in 2026.", "Investment thesis"),
    ("Source: Wind, Guosen Securities.", ""),
    ("Figure 3: DRAM prices by quarter.", ""),
    ("The bank believes that: margins recover.", ""),
    ("Margins recover in 2026.", ""),
    ("Segment | 2024 | 2025", ""),
])
def test_headings_are_short_lines_or_inline_labels(text, heading):
    first_line_end = text.find("\n") if "\n" in text else len(text)
    assert heading_of(text, 0, first_line_end) == heading


def test_chunks_record_the_section_they_start_in():
    body = " ".join(f"Demand point {i} grows {i}% as supply stays tight." for i in range(30))
    text = f"Storage power: prices rise. {body} AI edge: devices get agents. {body}"
    doc = Document(doc_id="s", text=text, source="s.txt")
    chunks = chunker(64, 0).chunk(doc)
    sections = [c.section for c in chunks]
    assert sections[0] == "" and "Storage power" in sections and sections[-1] == "AI edge"
    edge_start = text.index("AI edge:")
    assert all(c.section == "Storage power" for c in chunks if 0 < c.start <= edge_start)
