"""The README's Chat API examples, typed as shown (curl and the OpenAI SDK), against a real server; and the
OpenAPI page they point to."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest

from tests.api.conftest import READER
from tests.conftest import ROOT


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section("Chat API"), re.DOTALL)


def for_server(text: str, server) -> str:
    """The example aimed at the test server: its port and its key instead of localhost:8000 and k1."""
    host = server.url.removeprefix("http://")
    text = re.sub(r"(?:localhost|127\.0\.0\.1):8000", host, text)
    return text.replace("Bearer k1", f"Bearer {READER}").replace('api_key="k1"', f'api_key="{READER}"')


CURLS = [line for block in blocks("bash") for line in block.splitlines() if line.startswith("curl ")]


def test_the_readme_has_examples_to_run():
    assert len(CURLS) >= 3 and blocks("python")


@pytest.mark.parametrize("command", CURLS, ids=[c.split()[2] for c in CURLS])
def test_curl_example_works_as_typed(server, command):
    # --fail-with-body: a 4xx/5xx (the README's first example once got 422) fails the command.
    result = subprocess.run(for_server(command, server) + " --fail-with-body", shell=True, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    if "/v1/ask/stream" in command:
        assert "event: answer" in result.stdout and "1Q26" in result.stdout
    elif "/v1/ask" in command:
        assert "20.9%" in result.stdout
    elif "/v1/models" in command:
        assert '"rag-extractive"' in result.stdout


def test_python_example_works_as_typed(server):
    (code,) = blocks("python")
    result = subprocess.run([sys.executable, "-c", for_server(code, server)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "20.9%" in result.stdout and "Sources:" in result.stdout


def test_the_api_docs_page_and_its_schema_load(server):
    docs = httpx.get(f"{server.url}/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert "ErrorResponse" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
