"""Response bodies shared by several routes, so the OpenAPI schema says what the server really sends (and
schemathesis can hold it to that). They mirror the to_dict() of rag.types on purpose: the wire format is a
contract, and a field added to a dataclass must not reach clients unannounced. Documents are named by doc_id and
title, never by the server's path to the file."""

from __future__ import annotations

from pydantic import BaseModel, Field


class HitOut(BaseModel):
    rank: int
    chunk_id: str
    doc_id: str
    title: str
    page: int | None
    start: int = Field(description="Offsets of the passage within its document.")
    end: int
    text: str
    score: float


class CitationOut(BaseModel):
    n: int = Field(description="The [n] marker in the answer.")
    chunk_id: str
    doc_id: str
    title: str
    page: int | None
    start: int = Field(description="Offsets of the cited text within its document.")
    end: int
    text: str = Field(description="The exact sentence cited.")


class DocumentOut(BaseModel):
    doc_id: str
    filename: str = Field(description="The file's name (never its path on the server).")
    title: str | None
    publisher: str | None
    broker: str | None
    published: str | None = Field(description="Publication date, YYYY-MM-DD, when known.")
    companies: list[str]
    chunks: int
    pages: int | None = Field(None, description="Pages, for a paged document (PDF).")
    status: str = Field(description="ready, or pending while it is being indexed.")
