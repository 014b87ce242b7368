"""End to end on the real parts: the naive LangChain baseline on the packaged embedder and real Chroma, the
report files, and `rag eval` over the shared sample index."""

import json

import pytest
from typer.testing import CliRunner

from evals.baselines import NaiveLangChain
from evals.report import write_report
from evals.run import DEFAULT_SUITE, load_suite, run_suite
from rag.cli import app
from rag.errors import EmptyIndexError

runner = CliRunner()


def test_empty_index_says_to_ingest_first(fresh_assistant):
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        run_suite(fresh_assistant, load_suite(DEFAULT_SUITE)[:1])


def test_naive_baseline_finds_the_document_and_offsets_point_into_it(assistant):
    texts = {"chips": "Huawei plans to launch the Ascend 950PR in 1Q26. " * 30,
             "food": "Rice prices in Thailand fell sharply during the monsoon season. " * 30}
    with NaiveLangChain(assistant.embedder) as naive:
        naive.build(texts.items())
        assert naive.chunks > 2  # the 1000-character splitter cut each text
        spans = naive.search("When does the Ascend 950PR launch?", k=2)
    assert spans[0].doc_id == "chips"
    assert all(texts[s.doc_id][s.start:s.end] == s.text for s in spans)


def test_report_files_hold_the_measured_figures(suite_run, tmp_path):
    paths = write_report({"suite": suite_run}, tmp_path, name="run")
    assert json.loads(paths["json"].read_text())["suite"]["metrics"] == suite_run["metrics"]
    accuracy = suite_run["metrics"]["key_fact_accuracy"]
    assert f"| key fact accuracy | {100 * accuracy:.1f}% |" in paths["md"].read_text()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rag_eval_writes_a_report_and_compares_with_an_older_one(sample_index, tmp_path):
    args = ["eval", "--index", str(sample_index), "--limit", "4", "--no-baselines", "--out", str(tmp_path)]
    first = runner.invoke(app, [*args, "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["suite"]["metrics"]["questions"] == 4
    old_path = tmp_path / "old.json"
    old = json.loads(open(summary["reports"]["json"]).read())
    old["suite"]["questions"][0]["status"] = "false_abstention"
    old_path.write_text(json.dumps(old))
    second = runner.invoke(app, [*args, "--compare", str(old_path)])
    assert second.exit_code == 0, second.output
    qid = old["suite"]["questions"][0]["id"]
    assert "1 question(s) changed" in second.stdout and f"{qid}: false_abstention -> " in second.stdout
    assert "suite retrieval" in second.stdout and "project (hybrid)" in second.stdout  # the terminal tables


def test_rag_eval_names_a_malformed_suite_line(sample_index, tmp_path):
    suite = tmp_path / "bad.jsonl"
    suite.write_text('{"id": "q1", "question": "Q?", "answerable": false}\n["a list"]\n')
    result = runner.invoke(app, ["eval", "--index", str(sample_index), "--suite", str(suite)])
    assert result.exit_code == 1
    assert "bad.jsonl:2: each line must be a JSON object" in result.stderr


def test_rag_eval_without_an_index_says_to_ingest(tmp_path):
    result = runner.invoke(app, ["eval", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and "rag ingest" in result.stderr
