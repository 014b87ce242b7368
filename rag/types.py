"""The data that flows between stages: Document -> Chunk -> Hit -> Answer (with Citations)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PageSpan:
    """Where one page of a document starts in the document's text (pages are 1-based)."""

    page: int
    start: int


@dataclass
class Document:
    """One loaded report: its full text plus what we know about it."""

    doc_id: str
    text: str
    source: str
    title: str = ""
    publisher: str = ""
    broker: str = ""
    published: str = ""  # ISO date (YYYY-MM-DD) when the document shows one
    companies: list[str] = field(default_factory=list)
    pages: list[PageSpan] = field(default_factory=list)
    # Spans of the text that are one table: (start, end, header) where header is the table's title and
    # column row, repeated at the top of every chunk cut from the table.
    tables: list[tuple[int, int, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def page_at(self, offset: int) -> int | None:
        page = None
        for span in self.pages:
            if span.start <= offset:
                page = span.page
            else:
                break
        return page


@dataclass
class Chunk:
    """A passage of a document, with offsets into the document's text."""

    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    page: int | None = None
    # Table title and header row prepended for retrieval and reading; `text` stays the exact document span.
    context: str = ""
    # The chunk's sentences, and its table rows each headed by the table's title. Each is embedded and
    # matched on its own, so a long table or paragraph is found by the one row or sentence that answers.
    units: list[str] = field(default_factory=list)
    # Indices into `units` of those embedded on their own (rows, sentences long enough to matter); None: all of
    # them. The rest are matched by BM25 only: their own vector would cost the encoder as much as a chunk's.
    unit_vector_ids: list[int] | None = None
    # The heading in force where the chunk starts ("AI edge", "Risk warning"): what its lists are about.
    section: str = ""
    # The kind of filing or report boilerplate the chunk is ("auditor", "certification", rag/boilerplate.txt), ''
    # for the document proper: evidence only for a question that asks about that kind.
    boilerplate: str = ""

    @property
    def indexed_text(self) -> str:
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass
class Hit:
    """A chunk found by search, with what a reader needs to cite it."""

    rank: int
    chunk_id: str
    doc_id: str
    title: str
    source: str
    page: int | None
    start: int
    end: int
    text: str
    score: float
    publisher: str = ""
    published: str = ""
    # Relevance in 0..1 used for abstention: the passage's cosine similarity to the question.
    relevance: float = 0.0
    section: str = ""  # the heading in force where the chunk starts
    # The table title and column line of a passage cut from inside a table (Chunk.context): what its rows'
    # figures are columns of.
    context: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "source": self.source,
            "page": self.page,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 6),
        }


@dataclass
class Citation:
    """Passage [n] of an answer: the exact text it quotes and where it sits in its report."""

    n: int
    chunk_id: str
    doc_id: str
    title: str
    source: str
    page: int | None
    start: int  # offsets of the cited text within the document
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    text: str
    citations: list[Citation]
    hits: list[Hit]
    abstained: bool
    answerer: str
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    id: str | None = None
    calculation: str = ""  # a computed figure's calculation, each operand with its [n]; "" for a quoted answer

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.id is not None:
            data["id"] = self.id
        data.update(
            question=self.question,
            answer=self.text,
            abstained=self.abstained,
            answerer=self.answerer,
            citations=[c.to_dict() for c in self.citations],
            closest_matches=[h.to_dict() for h in self.hits] if self.abstained else [],
            timings={k: round(v, 1) for k, v in self.timings.items()},
            warnings=list(self.warnings),
            calculation=self.calculation,
        )
        return data


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
