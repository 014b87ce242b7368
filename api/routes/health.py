"""GET /healthz (the process is up), GET /readyz (index and models loaded), GET /metrics (Prometheus)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "loading", "error"]
    documents: int | None = Field(None, description="Indexed documents, once ready.")
    error: str | None = Field(None, description="Why the server cannot answer, when status is error.")


@router.get("/healthz", response_model=Health)
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={
    503: {"model": Readiness, "description": "Still loading, or the index is unusable"}})
def readyz(request: Request):
    state = request.app.state
    if state.ready_error:
        return JSONResponse({"status": "error", "error": state.ready_error}, status_code=503)
    if not state.ready.is_set():
        return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "2"})
    return {"status": "ready", "documents": len(state.assistant.documents())}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
