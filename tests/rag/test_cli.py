"""`rag ingest`, `rag search`, `rag remove`, `rag documents`: output shapes, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

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


def run_rag(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


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
