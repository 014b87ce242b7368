"""`rag ingest`, `rag search`, `rag remove`, `rag documents`, `rag --version` and option checks: output shapes,
exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.conftest import ROOT, SAMPLE_REPORT
from tests.fixtures.documents import make_bad_files

HIT_KEYS = {"rank", "chunk_id", "doc_id", "title", "source", "page", "start", "end", "text", "score"}


@pytest.fixture
def cli():
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return run


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_ingest_json_summary_and_failure_exit_code(cli, corpus_copy, tmp_path):
    index = tmp_path / "index"
    result = cli("ingest", corpus_copy, "--index", index, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"added": 1, "updated": 0, "unchanged": 0, "removed": 0, "failed": [],
                                         "chunks": json.loads(result.stdout)["chunks"]}
    assert json.loads(result.stdout)["chunks"] > 5
    bad = make_bad_files(corpus_copy / "bad")
    result = cli("ingest", corpus_copy, "--index", index, "--json")
    assert result.exit_code == 2
    summary = json.loads(result.stdout)
    assert summary["unchanged"] == 1 and summary["added"] == 0
    assert {f["path"] for f in summary["failed"]} == {str(p) for p in bad.values()}
    assert all(set(f) == {"path", "error"} for f in summary["failed"])


def test_search_json_hit_shape(cli, sample_index):
    result = cli("search", "When will Huawei launch the Ascend 950PR?", "-k", 3, "--index", sample_index, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["query"] == "When will Huawei launch the Ascend 950PR?"
    assert [h["rank"] for h in data["hits"]] == [1, 2, 3]
    assert all(set(h) == HIT_KEYS for h in data["hits"])
    text = SAMPLE_REPORT.read_text(encoding="utf-8")
    for hit in data["hits"]:
        assert text[hit["start"] : hit["end"]] == hit["text"]
    assert "1Q26" in data["hits"][0]["text"]


def test_search_with_filter(cli, sample_index):
    args = ("search", "Ascend 950PR", "--index", sample_index, "--json")
    assert json.loads(cli(*args, "--filter", "publisher=GMT Eight").stdout)["hits"]
    assert json.loads(cli(*args, "--filter", "date_from=2026-01-01").stdout)["hits"] == []
    result = cli(*args, "--filter", "colour=red")
    assert result.exit_code == 1 and "unknown filter 'colour'" in result.stderr


def test_search_file_writes_one_line_per_query(cli, sample_index, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "question": "Ascend 950PR launch"}\n\n'
                       '{"id": 7, "question": "AI server shipments 2026"}\n', encoding="utf-8")
    result = cli("search", "--file", queries, "-k", 2, "--index", sample_index, "--json")
    assert result.exit_code == 0, result.output
    lines = json_lines(result.stdout)
    assert [line["id"] for line in lines] == ["a", "7"]
    assert all(len(line["hits"]) == 2 and set(line["hits"][0]) == HIT_KEYS for line in lines)
    assert any("20.9%" in h["text"] for h in lines[1]["hits"])


def test_search_file_with_bad_line_names_it(cli, sample_index, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "question": "Ascend"}\n{"id": "b"}\n', encoding="utf-8")
    result = cli("search", "--file", queries, "--index", sample_index, "--json")
    assert result.exit_code == 1
    assert f"{queries}:2: each line needs a string 'question'" in result.stderr


def test_documents_and_remove(cli, corpus_copy, tmp_path):
    index = tmp_path / "index"
    cli("ingest", corpus_copy, "--index", index)
    [doc] = json_lines(cli("documents", "--index", index, "--json").stdout)
    assert doc["doc_id"] == SAMPLE_REPORT.name and doc["publisher"] == "GMT Eight"
    assert doc["published"] == "2025-12-31" and doc["status"] == "ready" and doc["chunks"] > 5
    result = cli("remove", SAMPLE_REPORT.name, "--index", index)
    assert result.exit_code == 0 and f"removed {SAMPLE_REPORT.name}" in result.stdout
    assert cli("documents", "--index", index, "--json").stdout.strip() == ""
    result = cli("remove", SAMPLE_REPORT.name, "--index", index)
    assert result.exit_code == 1 and "no indexed document" in result.stderr


def run_rag(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_missing_path_and_missing_index_are_one_line_errors(tmp_path):
    """Run as real processes: what a user sees on the terminal, without a traceback."""
    result = run_rag("ingest", tmp_path / "nope", "--index", tmp_path / "index")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope'}: no such file or directory"
    result = run_rag("search", "Ascend", "--index", tmp_path / "missing-index")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: no index at {tmp_path / 'missing-index'}: run `rag ingest corpus/` first (or pass --index DIR)"]
    assert "Traceback" not in result.stderr


def test_version_is_the_installed_distributions():
    name = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    result = run_rag("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{name} {version(name)}\n"


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_port_out_of_range_is_refused_naming_the_option(tmp_path, port):
    # Unchecked, 99999 was announced as served while the server listened elsewhere; the short timeout turns
    # such a server into a failure here rather than a hung test.
    result = run_rag("serve", "--port", port, "--index", tmp_path / "index", timeout=60)
    assert result.returncode == 2
    assert "Invalid value for '--port'" in result.stderr and "serving on" not in result.stderr
    assert not (tmp_path / "index").exists(), "nothing was opened"


@pytest.mark.parametrize("command", [("ask", "How much?"), ("batch", "q.txt"), ("eval", "--suite", "q.jsonl"), ("slack",)],
                         ids=lambda command: command[0])
def test_unknown_llm_is_refused_as_the_command_line_is_parsed(tmp_path, command):
    # Each command would otherwise fail later, with exit 1, on the missing index or file; `ask` used to load
    # the embedder for ~30 s before refusing the answerer.
    args = [tmp_path / a if a.startswith("q.") else a for a in command]
    result = run_rag(*args, "--llm", "bogus", "--index", tmp_path / "index", timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: --llm: unknown answerer 'bogus'; choose one of auto, extractive, local, openai"]


# Runs the CLI in a fresh interpreter and names the embedder libraries it imported by the end.
LOADED_PROBE = """
import sys
from rag.cli import app
try:
    app(sys.argv[1:])
finally:
    print("loaded:", *sorted({"torch", "sentence_transformers", "rag.embed"} & set(sys.modules)), file=sys.stderr)
"""


def test_documents_lists_the_catalog_without_loading_the_embedder(sample_index, assistant):
    docs = assistant.documents()
    as_text = subprocess.run([sys.executable, "-c", LOADED_PROBE, "documents", "--index", str(sample_index)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert as_text.returncode == 0, as_text.stderr
    assert as_text.stderr.splitlines()[-1] == "loaded:"
    assert as_text.stdout.splitlines() == [
        f"{d.doc_id}  {d.chunk_count} chunks  {d.publisher or '-'}  {d.published or '-'}  {d.title[:70]}"
        for d in docs]
    as_json = subprocess.run([sys.executable, "-c", LOADED_PROBE, "documents", "--index", str(sample_index), "--json"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert as_json.returncode == 0, as_json.stderr
    assert as_json.stderr.splitlines()[-1] == "loaded:"
    assert json_lines(as_json.stdout) == [d.to_dict() for d in docs]


def test_serve_says_answers_are_extractive_until_llama_cpp_is_installed(cli, tmp_path, monkeypatch):
    # `make run` serves while it builds llama.cpp in the background; the model's parts are there, the runtime
    # is not yet. serve reads both from rag.models when it runs.
    import uvicorn

    import rag.models

    monkeypatch.setattr(rag.models, "qwen_parts_installed", lambda: True)
    monkeypatch.setattr(rag.models, "llama_runtime_installed", lambda: False)
    monkeypatch.setenv("RAG_LLM__ANSWERER", "auto")
    monkeypatch.delenv("RAG_API_KEYS", raising=False)
    # NOTE: uvicorn.run would block serving until stopped; this stand-in records what it was asked to serve.
    served: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append({"app": app, **options}))
    result = cli("serve", "--index", tmp_path / "index", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert ("llama.cpp is not installed yet (make run builds it in the background: .venv/llm-build.log): answers "
            "are extractive until it is, then the local model answers") in result.stderr
    assert "serving on http://127.0.0.1:8123/" in result.stderr
    assert [(s["host"], s["port"]) for s in served] == [("127.0.0.1", 8123)]


def test_serve_says_nothing_of_llama_cpp_once_it_is_installed(cli, tmp_path, monkeypatch):
    import uvicorn

    import rag.models

    monkeypatch.setattr(rag.models, "qwen_parts_installed", lambda: True)
    monkeypatch.setattr(rag.models, "llama_runtime_installed", lambda: True)
    monkeypatch.setenv("RAG_LLM__ANSWERER", "auto")
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    result = cli("serve", "--index", tmp_path / "index", "--port", "8123")
    assert result.exit_code == 0, result.output
    assert "llama.cpp" not in result.stderr and "serving on" in result.stderr
