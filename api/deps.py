"""Dependencies the routes declare: the Assistant, the chat service, and the API-key check with its rate
limit. Keys come from settings.api (env RAG_API_KEYS); with none configured every caller is let in, and
`rag serve` binds to loopback only."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag.assistant import Assistant

from .errors import ApiError
from .limits import RateLimiter
from .service import ChatService

_bearer = HTTPBearer(auto_error=False, description="An API key from RAG_API_KEYS.")


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


def get_service(request: Request) -> ChatService:
    return request.app.state.service


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
ServiceDep = Annotated[ChatService, Depends(get_service)]


def _matches(key: str, allowed: list[str]) -> bool:
    # Constant-time comparison: a key check must not leak how much of a guess was right.
    return any(hmac.compare_digest(key.encode(), a.encode()) for a in allowed)


def require_key(request: Request, service: ServiceDep,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    """The caller's key (or its address when no keys are configured), after auth and the rate limit."""
    keys = service.settings.api.key_list
    if keys:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise ApiError(401, "missing API key: send 'Authorization: Bearer <key>'", "unauthorized",
                           {"WWW-Authenticate": "Bearer"})
        if not _matches(credentials.credentials, keys):
            raise ApiError(401, "invalid API key", "unauthorized", {"WWW-Authenticate": "Bearer"})
        caller = credentials.credentials
    else:
        caller = f"addr:{request.client.host if request.client else 'unknown'}"
    wait_s = service.limiter.check(caller)
    if wait_s:
        service.metrics.rate_limited.inc()
        raise ApiError(429, f"rate limit of {service.limiter.per_minute} requests a minute reached; retry in "
                       f"{RateLimiter.retry_after(wait_s)} s", "rate_limited",
                       {"Retry-After": RateLimiter.retry_after(wait_s)})
    request.state.caller = caller
    return caller


CallerDep = Annotated[str, Depends(require_key)]


def require_writer(caller: CallerDep, service: ServiceDep) -> str:
    writers = service.settings.api.write_key_list
    if service.settings.api.key_list and writers and not _matches(caller, writers):
        raise ApiError(403, "this API key may read but not upload or delete documents", "forbidden")
    return caller


WriterDep = Annotated[str, Depends(require_writer)]
