"""Batch questions over HTTP: upload a question file -> a job id; poll its progress; download its answers.

POST /v1/batch (multipart: file, column?, llm?, filter*, k?) -> 202 {id, status, total, ...}
GET  /v1/batch/{id} -> status and progress
GET  /v1/batch/{id}/result?format=csv|jsonl|xlsx -> the answers as a file

Jobs run one at a time in a background thread through rag.batch.BatchRunner. Each job's upload, journal and
state live under settings.home/batch/<id>/, so a restarted server still serves finished results.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from rag.batch import (
    INPUT_FORMATS,
    BatchItem,
    BatchProgress,
    BatchRunner,
    atomic_write,
    read_batch,
    read_journal,
    render,
)
from rag.errors import RagError
from rag.retrieve import parse_filters

from ..deps import AssistantDep, CallerDep, ServiceDep
from ..errors import ApiError

if TYPE_CHECKING:
    # For annotations only: importing rag.assistant loads every stage, which a front end defers.
    from rag.assistant import Assistant

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/batch", tags=["batch"])

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson",
          "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class BatchJob(BaseModel):
    id: str = Field(examples=["3f2b6c0e9d2a4e1b8c7d6e5f4a3b2c1d"])
    status: Literal["queued", "running", "done", "failed", "interrupted"] = Field(
        examples=["running"], description="interrupted: the server stopped mid-job; the results so far are kept.")
    filename: str = Field(examples=["checklist.xlsx"])
    total: int = Field(examples=[30], description="Questions in the file.")
    done: int = Field(0, examples=[12], description="Questions finished (answered, abstained or failed).")
    answered: int = 0
    abstained: int = 0
    failed: int = Field(0, description="Questions whose answering failed; each row holds its error.")
    error: str | None = Field(None, description="Why the whole job failed, when status is failed.")
    created: float = Field(examples=[1767139200.0], description="Unix time.")
    finished: float | None = None
    result_url: str = Field(examples=["/v1/batch/3f2b6c0e9d2a4e1b8c7d6e5f4a3b2c1d/result?format=csv"])


class BatchJobs:
    """The jobs kept under one index directory, run one at a time so they do not fight over the cores."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._live: dict[str, BatchJob] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-job")

    def submit(self, assistant: Assistant, filename: str, data: bytes, column: str, llm: str | None,
               filters: list[str], k: int | None, encoding: str | None = None) -> BatchJob:
        suffix = Path(filename).suffix.lower()
        if suffix not in INPUT_FORMATS:
            raise RagError(f"{filename}: unsupported question file type {suffix or '(none)'!r}; upload "
                           f"{', '.join(INPUT_FORMATS)}")
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir(parents=True)
        source = folder / f"input{suffix}"
        source.write_bytes(data)
        try:
            # Read now so a bad file (or filter) is a 400 on upload, not a failed job found later.
            items = read_batch(source, column=column, encoding=encoding)
            parse_filters(filters)
            if llm:
                assistant.resolve_answerer(llm)
        except RagError as exc:
            _remove_folder(folder)
            raise RagError(str(exc).replace(str(source), filename)) from exc
        job = BatchJob(id=job_id, status="queued", filename=filename, total=len(items), created=time.time(),
                       result_url=f"/v1/batch/{job_id}/result?format=csv")
        self._save(job)
        queued = job.model_copy()  # the worker changes `job` from here on
        self._pool.submit(self._run, assistant, job, items, llm, filters, k)
        return queued

    def _run(self, assistant: Assistant, job: BatchJob, items: list[BatchItem], llm: str | None, filters: list[str],
             k: int | None) -> None:
        job.status = "running"
        self._save(job)
        last_save = 0.0

        def on_progress(p: BatchProgress) -> None:
            nonlocal last_save
            with self._lock:
                job.done, job.answered, job.abstained, job.failed = p.done, p.answered, p.abstained, p.failed
            if time.monotonic() - last_save > 1.0:
                last_save = time.monotonic()
                self._save(job)

        try:
            runner = BatchRunner(assistant, self.root / job.id / "results.jsonl", answerer=llm, filters=filters, k=k)
            runner.run(items, on_progress=on_progress)
            job.status = "done"
        except Exception as exc:  # noqa: BLE001 - recorded on the job; the server goes on
            log.exception("batch job %s failed", job.id)
            job.status, job.error = "failed", str(exc)
        job.finished = time.time()
        self._save(job)

    def _save(self, job: BatchJob) -> None:
        with self._lock:
            self._live[job.id] = job
            atomic_write(self.root / job.id / "job.json", job.model_dump_json().encode())

    def get(self, job_id: str) -> BatchJob:
        if not _JOB_ID.match(job_id):
            raise KeyError(job_id)
        with self._lock:
            if job_id in self._live:
                return self._live[job_id].model_copy()
        path = self.root / job_id / "job.json"
        if not path.exists():
            raise KeyError(job_id)
        job = BatchJob.model_validate(json.loads(path.read_text()))
        if job.status in ("queued", "running"):
            # Saved by a server that has since stopped: nothing runs it any more.
            job.status = "interrupted"
        return job

    def result(self, job_id: str) -> list[dict]:
        path = self.root / job_id / "results.jsonl"
        return read_journal(path) if path.exists() else []


def _remove_folder(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


_jobs: dict[Path, BatchJobs] = {}
_jobs_lock = threading.Lock()


def jobs_for(home: Path) -> BatchJobs:
    root = Path(home).resolve() / "batch"
    with _jobs_lock:
        if root not in _jobs:
            _jobs[root] = BatchJobs(root)
        return _jobs[root]


@router.post("", status_code=202, response_model=BatchJob, summary="Start answering a file of questions",
             responses={400: {"description": "Unreadable question file"}, 413: {"description": "File too large"}})
async def start_batch(
    assistant: AssistantDep,
    service: ServiceDep,
    caller: CallerDep,
    file: Annotated[UploadFile, File(description="Questions: .txt (one per line), .csv/.xlsx (a question column), "
                                                 ".jsonl ({id?, question} lines).")],
    column: Annotated[str, Form(description="The column or JSON key holding the questions.")] = "question",
    llm: Annotated[str | None, Form(description="auto | extractive | local | openai")] = None,
    filter: Annotated[list[str] | None, Form(description="key=value filters, as for search.")] = None,  # noqa: A002
    k: Annotated[int | None, Form(ge=1, le=100, description="Passages to retrieve per question.")] = None,
    encoding: Annotated[str | None, Form(description="Text encoding of a .txt/.csv/.jsonl file (default: detected).",
                                         examples=["cp1252"])] = None,
) -> BatchJob:
    """Upload questions (.txt, .csv, .xlsx or .jsonl); they are answered in the background. Poll the job."""
    limit = service.settings.api.max_upload_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"the question file is larger than the upload limit of {limit} bytes", "too_large")
    try:
        # In a worker thread: reading a 50k-row workbook takes seconds, and every other request (SSE streams
        # too) would wait for it on the event loop.
        return await run_in_threadpool(jobs_for(service.settings.home).submit, assistant, file.filename or "",
                                       data, column, llm or None, filter or [], k, encoding or None)
    except RagError as exc:
        raise ApiError(400, str(exc), "bad_question_file") from exc


@router.get("/{job_id}", response_model=BatchJob, summary="A batch job's status and progress",
            responses={404: {"description": "No such job"}})
def batch_status(service: ServiceDep, caller: CallerDep, job_id: str) -> BatchJob:
    try:
        return jobs_for(service.settings.home).get(job_id)
    except KeyError:
        raise ApiError(404, f"no batch job {job_id!r}", "not_found") from None


def _without_source(item):
    return {k: v for k, v in item.items() if k != "source"} if isinstance(item, dict) else item


@router.get("/{job_id}/result", summary="A batch job's answers as CSV, JSONL or XLSX",
            responses={200: {"content": {m.split(";")[0]: {} for m in _MEDIA.values()}},
                       404: {"description": "No such job"}, 409: {"description": "The job is not finished"}})
def batch_result(service: ServiceDep, caller: CallerDep, job_id: str,
                 format: Annotated[Literal["csv", "jsonl", "xlsx"], Query()] = "csv") -> Response:  # noqa: A002
    jobs = jobs_for(service.settings.home)
    try:
        job = jobs.get(job_id)
    except KeyError:
        raise ApiError(404, f"no batch job {job_id!r}", "not_found") from None
    if job.status in ("queued", "running"):
        raise ApiError(409, f"batch job {job_id} is {job.status} ({job.done}/{job.total} done); poll "
                       f"GET /v1/batch/{job_id} until it is done", "not_ready")
    # Answers leave the server naming documents by doc_id and title, as /v1/ask's do: not by its file paths.
    records = [{**r, **{key: [_without_source(item) for item in r[key]] for key in ("citations", "closest_matches")
                        if isinstance(r.get(key), list)}} for r in jobs.result(job_id)]
    body = render(records, format)
    return Response(body, media_type=_MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="batch-{job_id}.{format}"'})
