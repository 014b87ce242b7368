"""`rag batch` as a user runs it: a subprocess on the sample index, killed with SIGKILL mid-run and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.batch.conftest import write_jsonl
from tests.conftest import ROOT


def rag_batch(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "rag.cli", "batch", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def eval_questions() -> list[dict]:
    lines = (ROOT / "evals" / "guosen_qa.jsonl").read_text(encoding="utf-8").splitlines()
    return [{"id": r["id"], "question": r["question"]} for r in map(json.loads, filter(str.strip, lines))]


def test_kill_9_mid_run_then_rerun_holds_every_answer_exactly_once(sample_index, tmp_path):
    questions = eval_questions()
    source = write_jsonl(tmp_path / "questions.jsonl", questions)
    output = tmp_path / "answers.jsonl"
    args = (str(source), "--out", str(output), "--llm", "extractive", "--index", str(sample_index))

    first = rag_batch(*args)
    deadline = time.monotonic() + 90
    while not output.exists() or output.read_bytes().count(b"\n") < 5:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "no answers written"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    before = output.read_bytes()
    finished = before.count(b"\n")
    assert 5 <= finished < len(questions), "the kill must land mid-run"

    second = rag_batch(*args)
    stdout, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert output.read_bytes().startswith(before), "answers written before the kill are kept as they were"
    ids = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()]
    assert sorted(ids) == sorted(q["id"] for q in questions)
    assert len(ids) == len(set(ids))
    assert f"{len(questions) - finished} answered" in stdout and f"{finished} already done" in stdout
    assert output.with_name(output.name + ".report.md").exists()


def test_bad_input_is_one_clear_line_and_the_output_is_untouched(tmp_path):
    source = tmp_path / "q.csv"
    source.write_text("id,query\n1,How much?\n", encoding="utf-8")
    output = tmp_path / "answers.jsonl"
    output.write_text('{"id": "old", "question": "kept?", "answer": "yes"}\n', encoding="utf-8")
    run = rag_batch(str(source), "--out", str(output))
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 1
    assert " ".join(stderr.split()) == f"error: {source}: no 'question' column; columns found: 'id', 'query' (name one with --column)"
    assert output.read_text(encoding="utf-8") == '{"id": "old", "question": "kept?", "answer": "yes"}\n'
