"""GET /healthz (the process is up), GET /readyz (index and models loaded), GET /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Still loading, or the index is unusable"}})
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
