"""A wheel built from the repo (not the editable install) holds what the server reads at run time: the web page
(api/static/) and the prompts (prompts/). Installed on its own and run outside the checkout, it serves / and
answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

import httpx
import pytest

from tests.conftest import ROOT, SAMPLE_REPORT, free_port, serve_on_loopback

SOURCES = ("pyproject.toml", "README.md", "rag", "api", "evals", "prompts")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel's files installed into a folder of their own (dependencies come from the test venv)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                            if (ROOT / name).is_dir() else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(work / "dist"), str(source)], check=True, timeout=300)
    (wheel,) = (work / "dist").glob("rag-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(work / "site"),
                    str(wheel)], check=True, timeout=300)
    return wheel, work


def run_installed(work, *args: str, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(work / "site")}
    return subprocess.run([sys.executable, *args], cwd=work, env=env, capture_output=True, text=True, timeout=300,
                          **kwargs)


def test_wheel_holds_the_web_page_and_the_prompts(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "api/static/index.html" in names
    assert {"prompts/answer.md", "prompts/system.md", "prompts/condense.md"} <= set(names)


def test_installed_wheel_loads_its_prompts_outside_the_checkout(installed):
    _, work = installed
    result = run_installed(work, "-c", "import rag, rag.prompts as p; print(rag.__file__); "
                                       "print(p.load_prompt('answer').variables)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(work / "site")), "must import the installed copy, not the checkout"


def test_installed_wheel_serves_the_page_and_answers(installed):
    _, work = installed
    corpus = work / "corpus"
    corpus.mkdir(exist_ok=True)
    shutil.copy(SAMPLE_REPORT, corpus / SAMPLE_REPORT.name)
    index = work / "index"
    ingest = run_installed(work, "-m", "rag.cli", "ingest", str(corpus), "--index", str(index))
    assert ingest.returncode == 0, ingest.stderr
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(work / "site"), "RAG_LLM": "extractive"}
    # -P: the server runs from the checkout's folder, which must not shadow the installed copy.
    command = [sys.executable, "-P", "-m", "rag.cli", "serve", "--port", str(port), "--index", str(index)]
    url = f"http://127.0.0.1:{port}"
    with serve_on_loopback("installed rag serve", command, f"{url}/readyz", work / "serve.log", 120, env=env):
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "<title>Broker report assistant</title>" in page.text
        answer = httpx.post(f"{url}/v1/ask", json={"question": "How much will global AI server shipments grow "
                                                               "in 2026?"}, timeout=60).json()
        assert "20.9%" in answer["answer"] and answer["citations"]
