"""`rag serve` and the settings it reads from the environment: a bad value is one line naming the variable and
exit 2, never a traceback; the section's name alone (RAG_LLM=extractive) picks the answerer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag.settings import Settings


def rag(args: list[str], cwd, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "SLACK_"))}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("variable, value, named", [
    ("RAG_LLM", "bogus", "RAG_LLM__ANSWERER: unknown answerer 'bogus'"),
    ("RAG_LLM__ANSWERER", "bogus", "RAG_LLM__ANSWERER: unknown answerer 'bogus'"),
    ("RAG_RETRIEVE__TOP_K", "many", "RAG_RETRIEVE__TOP_K: Input should be a valid integer"),
    ("RAG_RETRIEVE", "{not json", "RAG_RETRIEVE:"),
])
def test_serve_with_a_bad_env_value_names_it_in_one_line_and_exits_2(tmp_path, variable, value, named):
    result = rag(["serve", "--index", str(tmp_path / "index")], tmp_path, **{variable: value})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0 and named in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_value_in_dotenv_is_named_too(tmp_path):
    (tmp_path / ".env").write_text("RAG_API__RATE_LIMIT_PER_MINUTE=0\n")
    result = rag(["serve", "--index", str(tmp_path / "index")], tmp_path)
    assert result.returncode == 2 and "RAG_API__RATE_LIMIT_PER_MINUTE" in result.stderr


def test_rag_llm_names_the_answerer(monkeypatch):
    monkeypatch.setenv("RAG_LLM", "extractive")
    assert Settings().llm.answerer == "extractive"


def test_rag_llm_keeps_the_sections_other_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_LLM", "extractive")
    monkeypatch.setenv("RAG_LLM__MAX_TOKENS", "50")
    assert (Settings().llm.answerer, Settings().llm.max_tokens) == ("extractive", 50)
    # The same two lines in .env.
    monkeypatch.delenv("RAG_LLM")
    monkeypatch.delenv("RAG_LLM__MAX_TOKENS")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("RAG_LLM=local\nRAG_LLM__MAX_TOKENS=33\n")
    assert (Settings().llm.answerer, Settings().llm.max_tokens) == ("local", 33)


def test_a_bad_nested_value_beside_rag_llm_is_named(tmp_path):
    result = rag(["serve", "--index", str(tmp_path / "index")], tmp_path, RAG_LLM="extractive",
                 RAG_LLM__MAX_TOKENS="lots")
    assert result.returncode == 2 and "RAG_LLM__MAX_TOKENS" in result.stderr, result.stderr
