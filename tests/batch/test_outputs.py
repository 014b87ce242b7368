"""`rag batch` output files: inputs sharing a stem get outputs of their own, created readable as any file is."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.batch.conftest import ASCEND, CAMBRICON, GROWTH, read_jsonl, write_jsonl, write_xlsx

PUBLISHER = "Who published the report on AI servers?"


def rag_batch(*args) -> dict:
    result = CliRunner().invoke(app, ["batch", *map(str, args), "--llm", "extractive", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_inputs_with_one_stem_never_share_an_output(sample_index, tmp_path):
    (tmp_path / "q.txt").write_text(GROWTH + "\n", encoding="utf-8")
    (tmp_path / "q.csv").write_text(f"question\n{ASCEND}\n", encoding="utf-8")
    write_jsonl(tmp_path / "q.jsonl", [{"question": CAMBRICON}])
    write_xlsx(tmp_path / "q.xlsx", [["question"], [PUBLISHER]])
    asked = {"q.txt": GROWTH, "q.csv": ASCEND, "q.jsonl": CAMBRICON, "q.xlsx": PUBLISHER}
    summaries = {name: rag_batch(tmp_path / name, "--index", sample_index) for name in asked}

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        *asked,
        "q.txt.answers.jsonl", "q.txt.answers.jsonl.report.md",
        "q.answers.csv", "q.answers.csv.journal.jsonl", "q.answers.csv.report.md",
        "q.answers.jsonl", "q.answers.jsonl.report.md",
        "q.answers.xlsx", "q.answers.xlsx.journal.jsonl", "q.answers.xlsx.report.md"])
    for name, question in asked.items():
        summary = summaries[name]
        assert (summary["total"], summary["skipped"], summary["failed"]) == (1, 0, 0), name
        output = tmp_path / summary["output"]
        journal = output if output.suffix == ".jsonl" else output.with_name(output.name + ".journal.jsonl")
        assert [r["question"] for r in read_jsonl(journal)] == [question]
        report = (tmp_path / summary["report"]).read_text(encoding="utf-8")
        assert [q for q in asked.values() if q in report] == [question], f"{summary['report']} is {name}'s alone"


@pytest.fixture
def umask():
    """os.umask, with the process's own mask put back after the test."""
    previous = os.umask(0o022)  # the only way to read the mask is to set one
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask, mode", [pytest.param(0o022, 0o644, id="umask022"),
                                        pytest.param(0o002, 0o664, id="umask002")])
@pytest.mark.parametrize("source", ["q.csv", "q.txt"])
def test_every_output_is_created_as_open_would_create_it(sample_index, tmp_path, umask, mask, mode, source):
    # mkstemp made the table and report 0600 beside a 0644 journal: a colleague could read one and not the other.
    inputs = tmp_path / "in"
    inputs.mkdir()
    path = inputs / source
    path.write_text(("question\n" if source.endswith(".csv") else "") + GROWTH + "\n", encoding="utf-8")
    umask(mask)
    rag_batch(path, "--index", sample_index)
    outputs = sorted(p for p in inputs.iterdir() if p != path)
    assert len(outputs) == (3 if source.endswith(".csv") else 2), outputs
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in outputs} == {p.name: oct(mode) for p in outputs}
