"""GET /v1/search, GET /v1/documents, POST /v1/documents (multipart upload, then ingested),
GET /v1/documents/{doc_id}/file (the original, for a viewer) and DELETE /v1/documents/{doc_id}."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from rag.catalog import DocumentRecord
from rag.errors import LoadError
from rag.load import SUPPORTED_SUFFIXES

from ..deps import AssistantDep, CallerDep, ServiceDep, WriterDep
from ..errors import ApiError
from ..schemas import DocumentOut, HitOut

router = APIRouter(prefix="/v1", tags=["documents"])

_UNSAFE = re.compile(r"[^A-Za-z0-9._\- ]+")
_COPY_BYTES = 1024 * 1024
# File systems allow 255 bytes a name; the upload is first written as ".<name>.<8 hex>.part".
_MAX_NAME_CHARS = 200


class SearchResponse(BaseModel):
    query: str
    hits: list[HitOut]


class DocumentsResponse(BaseModel):
    documents: list[DocumentOut]


class IngestReportOut(BaseModel):
    added: int
    updated: int
    unchanged: int
    removed: int
    failed: list[dict[str, str]]
    chunks: int


class UploadResponse(BaseModel):
    filename: str
    bytes: int
    report: IngestReportOut
    documents: list[DocumentOut]


class RemovedResponse(BaseModel):
    removed: str


def document_out(record: DocumentRecord, pages: dict[str, int]) -> dict:
    """A document as clients see it: named by doc_id, title and file name, never by the server's path."""
    data = record.to_dict()
    data["filename"] = Path(data.pop("source")).name
    data["pages"] = pages.get(record.doc_id)
    return data


def safe_filename(name: str | None) -> str:
    """The last path component of `name`, reduced to safe characters: "../../etc/x.txt" -> "x.txt"."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    if len(base) > _MAX_NAME_CHARS:
        suffix = Path(base).suffix[:16]
        base = base[: _MAX_NAME_CHARS - len(suffix)].rstrip(" .") + suffix
    return base or f"upload-{uuid.uuid4().hex[:8]}"


@router.get("/search", response_model=SearchResponse, responses={409: {"description": "Nothing indexed"}})
def search(assistant: AssistantDep, service: ServiceDep, caller: CallerDep,
           q: Annotated[str, Query(description="What to look for.", examples=["Ascend 950PR launch"])],
           k: Annotated[int, Query(ge=1, le=100, description="Passages to return.")] = 5,
           filter: Annotated[list[str] | None, Query(description="key=value, repeatable.")] = None) -> dict:
    """Passages found by meaning and exact words (hybrid BM25 + vectors)."""
    hits = assistant.search(service.check_question(q), k=k, filters=filter)
    return {"query": q, "hits": [h.to_dict() for h in hits]}


@router.get("/documents", response_model=DocumentsResponse)
def documents(assistant: AssistantDep, caller: CallerDep) -> dict:
    """The indexed documents with their metadata, and those being indexed now (status pending)."""
    pages = assistant.catalog.page_counts()
    return {"documents": [document_out(d, pages) for d in assistant.catalog.documents()]}


# Types a browser may show in place; anything else is sent as a download. An uploaded HTML report is never
# served as HTML: on this origin its scripts would run with the page's rights.
_INLINE_TYPES = {".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8"}


@router.get("/documents/{doc_id:path}/file", response_class=FileResponse, responses={
    200: {"content": {"application/pdf": {}, "application/octet-stream": {}}, "description": "The original file."},
    404: {"description": "No such document, or its file is gone"}})
def document_file(doc_id: str, assistant: AssistantDep, caller: CallerDep) -> FileResponse:
    """The document's original file as it was indexed (a PDF opens in the browser's viewer; add #page=N)."""
    record = assistant.catalog.document(doc_id)
    # The path comes from the catalog, never from the request: only indexed files can be read this way.
    path = Path(record.source) if record is not None else None
    if path is None or not path.is_file():
        raise ApiError(404, f"no indexed document has doc_id {doc_id!r}" if record is None else
                       f"the file of {doc_id!r} is no longer on the server; re-upload it", "not_found")
    suffix = path.suffix.lower()
    media_type = _INLINE_TYPES.get(suffix, "application/octet-stream")
    # Opened on its own, a file other than a PDF runs nothing and reaches nothing of this origin (a PDF needs
    # the browser's viewer, which a sandbox would block).
    policy = "frame-ancestors 'self'" if suffix == ".pdf" else "default-src 'none'; frame-ancestors 'self'; sandbox"
    return FileResponse(path, media_type=media_type, filename=path.name,
                        content_disposition_type="inline" if suffix in _INLINE_TYPES else "attachment",
                        headers={"Content-Security-Policy": policy, "Cache-Control": "private, no-cache"})


@router.post("/documents", status_code=201, response_model=UploadResponse, responses={
    403: {"description": "Key may not write"}, 413: {"description": "File too large"},
    415: {"description": "Unsupported file type"}, 422: {"description": "File could not be read"}})
async def upload(file: Annotated[UploadFile, File(description=f"One report: {', '.join(SUPPORTED_SUFFIXES)}")],
                 assistant: AssistantDep, service: ServiceDep, caller: WriterDep) -> dict:
    """Upload a report; it is stored under the index's uploads/ folder and indexed (a same-named file is
    replaced, as a new version)."""
    name = safe_filename(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ApiError(415, f"unsupported file type {suffix or '(none)'} for {name!r}; supported: "
                       f"{', '.join(SUPPORTED_SUFFIXES)}", "unsupported_media_type")
    limit = service.settings.api.max_upload_bytes
    folder = service.settings.uploads_path
    folder.mkdir(parents=True, exist_ok=True)
    # Written aside first, so a too-large or unreadable upload never replaces a stored version.
    partial = folder / f".{name}.{uuid.uuid4().hex[:8]}.part"
    size = 0
    try:
        with partial.open("wb") as out:
            while chunk := await file.read(_COPY_BYTES):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, f"{name!r} is larger than the upload limit of {limit} bytes", "too_large")
                out.write(chunk)
        if size == 0:
            raise ApiError(422, f"{name!r} is empty", "empty_file")
        target = folder / name
        previous = folder / f".{name}.previous"
        if target.exists():
            target.replace(previous)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    def restore_previous() -> None:
        # Put back the version that was indexed before, so a bad upload leaves the index as it was.
        if previous.exists():
            previous.replace(target)
        else:
            target.unlink(missing_ok=True)

    try:
        report = await run_in_threadpool(assistant.ingest, [target])
    except Exception:
        # The index (Chroma or the embedder) failed mid-write: restore the old file and index it again, so
        # the pending document is rewritten now rather than dropped by the next run's recovery.
        restore_previous()
        if target.exists():
            await run_in_threadpool(assistant.ingest, [target])
        raise
    if report.failed:
        restore_previous()
        raise LoadError("; ".join(f["error"] for f in report.failed))
    previous.unlink(missing_ok=True)
    resolved = str(target.resolve())
    pages = assistant.catalog.page_counts()
    docs = [document_out(d, pages) for d in assistant.documents() if d.source in (str(target), resolved)
            or Path(d.source).resolve() == target.resolve()]
    return {"filename": name, "bytes": size, "report": report.to_dict(), "documents": docs}


# :path, because a document ingested from a subfolder has a "/" in its doc_id.
@router.delete("/documents/{doc_id:path}", response_model=RemovedResponse, responses={
    403: {"description": "Key may not write"},404: {"description": "No such document"}})
def delete(doc_id: str, assistant: AssistantDep, caller: WriterDep) -> dict:
    """Remove one document and its chunks from the index."""
    if not any(d.doc_id == doc_id for d in assistant.documents()):
        raise ApiError(404, f"no indexed document has doc_id {doc_id!r}", "not_found")
    assistant.remove(doc_id)
    return {"removed": doc_id}
