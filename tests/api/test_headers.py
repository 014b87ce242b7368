"""Security headers on a real server: the page's Content-Security-Policy (its inline blocks by hash, frames for
the PDF viewer, nothing from other sites) and X-Content-Type-Options: nosniff on every response."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from api.main import STATIC


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def inline_hashes(tag: str) -> list[str]:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    return [f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
            for block in re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.DOTALL)]


def test_the_page_allows_its_own_scripts_and_styles_and_no_other_inline_code(server):
    policy = directives(httpx.get(f"{server.url}/").headers["content-security-policy"])
    for directive, tag in (("script-src", "script"), ("style-src", "style")):
        assert policy[directive][0] == "'self'"
        assert set(policy[directive][1:]) == set(inline_hashes(tag))
        assert "'unsafe-inline'" not in policy[directive] and "'unsafe-eval'" not in policy[directive]
    assert policy["default-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]


def test_the_page_may_frame_its_own_and_blob_documents_and_no_site_may_frame_it(server):
    policy = directives(httpx.get(f"{server.url}/").headers["content-security-policy"])
    assert policy["frame-src"] == ["'self'", "blob:"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]


def test_every_response_says_nosniff(server):
    with server.client() as client, server.client(key=None) as anonymous:
        responses = [client.get("/"), client.get("/v1/documents"), client.get("/healthz"),
                     anonymous.get("/v1/documents"), client.get("/no-such-page")]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 404]
    assert all(r.headers["x-content-type-options"] == "nosniff" for r in responses)
    assert all("content-security-policy" in r.headers for r in responses)


def test_the_api_docs_page_may_load_swagger_ui_from_its_cdn(server):
    policy = directives(httpx.get(f"{server.url}/docs").headers["content-security-policy"])
    assert "https://cdn.jsdelivr.net" in policy["script-src"]
