"""Answering question files on the sample report with the real embedder and the extractive answerer."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from rag.batch import BatchRunner, journal_path, read_batch, report_path
from rag.errors import RagError
from tests.batch.conftest import ASCEND, CAMBRICON, GROWTH, read_jsonl, write_jsonl


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "questions.csv"
    path.write_text(f"id,question,analyst\nq1,{GROWTH},Li\nq2,{ASCEND},Wang\nq3,{CAMBRICON},Li\n", encoding="utf-8")
    return read_batch(path)


def run(assistant, output, items, **kwargs):
    return BatchRunner(assistant, output, answerer="extractive", **kwargs).run(items)


def check_answers(by_id: dict[str, dict]) -> None:
    assert "20.9%" in by_id["q1"]["answer"]
    assert "1Q26" in by_id["q2"]["answer"]


def test_jsonl_output_holds_the_full_answer_json(assistant, questions, tmp_path):
    output = tmp_path / "answers.jsonl"
    summary = run(assistant, output, questions)
    records = {r["id"]: r for r in read_jsonl(output)}
    check_answers(records)
    assert records["q1"]["citations"][0]["text"] in records["q1"]["answer"]
    assert records["q1"]["abstained"] is False and records["q3"]["abstained"] is True
    assert records["q3"]["closest_matches"], "an abstention lists its closest passages"
    assert records["q2"]["fields"] == {"analyst": "Wang"}
    assert (summary.answered, summary.abstained, summary.failed) == (3, 1, 0)


def test_csv_output_is_a_table_with_sources_and_carried_columns(assistant, questions, tmp_path):
    output = tmp_path / "answers.csv"
    run(assistant, output, questions)
    assert output.read_bytes().startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    with output.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "question", "answer", "calculation", "abstained", "sources", "cited_text", "error",
                            "analyst"]
    by_id = {r["id"]: r for r in rows}
    check_answers(by_id)
    assert by_id["q1"]["sources"].startswith("[1] Guosen")
    assert "20.9%" in by_id["q1"]["cited_text"]
    assert [r["abstained"] for r in rows] == ["no", "no", "yes"]
    assert by_id["q3"]["analyst"] == "Li"
    assert journal_path(output).exists()


def test_xlsx_output(assistant, questions, tmp_path):
    output = tmp_path / "answers.xlsx"
    run(assistant, output, questions)
    sheet = openpyxl.load_workbook(output).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    by_id = {r[0]: dict(zip(header, r)) for r in rows[1:]}
    check_answers(by_id)
    assert by_id["q3"]["abstained"] == "yes" and by_id["q2"]["analyst"] == "Wang"


def test_report_lists_questions_answers_and_cited_passages(assistant, questions, tmp_path):
    output = tmp_path / "answers.csv"
    run(assistant, output, questions)
    report = report_path(output).read_text(encoding="utf-8")
    assert report.index(GROWTH) < report.index(ASCEND) < report.index(CAMBRICON)
    assert "3 questions: 2 answered, 1 not answered by the reports, 0 failed." in report
    assert "> Huawei plans to launch Ascend 950PR in 1Q26" in report


def test_duplicate_questions_are_answered_once_and_copied(counting, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(f"{GROWTH}\n{ASCEND}\n{GROWTH.upper()}\n{GROWTH}\n", encoding="utf-8")
    output = tmp_path / "answers.jsonl"
    summary = run(counting, output, read_batch(path))
    assert sorted(counting.asked) == sorted([GROWTH, ASCEND])
    records = read_jsonl(output)
    assert len(records) == 4 and len({r["id"] for r in records}) == 4
    assert len({r["answer"] for r in records if "20.9%" in r["answer"]}) == 1
    assert summary.duplicates == 2


def test_rerun_skips_answered_questions_and_keeps_the_file(counting, questions, tmp_path):
    output = tmp_path / "answers.jsonl"
    run(counting, output, questions[:2])
    before = output.read_bytes()
    counting.asked.clear()
    summary = run(counting, output, questions)
    assert counting.asked == [CAMBRICON]
    assert output.read_bytes().startswith(before)
    assert summary.skipped == 2 and [r["id"] for r in read_jsonl(output)] == ["q1", "q2", "q3"]


def test_rerun_of_a_csv_output_rebuilds_the_table_from_the_journal(counting, questions, tmp_path):
    output = tmp_path / "answers.csv"
    run(counting, output, questions[:1])
    counting.asked.clear()
    run(counting, output, questions)
    assert counting.asked == [ASCEND, CAMBRICON]
    with output.open(encoding="utf-8-sig", newline="") as handle:
        assert [r["id"] for r in csv.DictReader(handle)] == ["q1", "q2", "q3"]


def test_a_too_long_question_fails_only_its_row(counting, tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"id": "a", "question": GROWTH}, {"id": "long", "question": "x" * 2500},
                                             {"id": "b", "question": ASCEND}])
    output = tmp_path / "answers.csv"
    summary = run(counting, output, read_batch(path))
    assert (summary.answered, summary.failed) == (2, 1)
    with output.open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["id"]: r for r in csv.DictReader(handle)}
    assert rows["long"]["error"] == "the question is 2500 characters long; the limit is 2000"
    assert rows["long"]["answer"] == "" and rows["long"]["abstained"] == ""
    assert "1Q26" in rows["b"]["answer"]
    assert "**Failed:** the question is 2500 characters long" in report_path(output).read_text(encoding="utf-8")


def test_a_rerun_retries_failed_rows_and_keeps_one_line_per_question(counting, tmp_path):
    output = tmp_path / "answers.jsonl"
    path = write_jsonl(tmp_path / "q.jsonl", [{"id": "a", "question": GROWTH}, {"id": "long", "question": "x" * 2500}])
    run(counting, output, read_batch(path))
    counting.asked.clear()
    run(counting, output, read_batch(path))
    assert counting.asked == ["x" * 2500]
    records = read_jsonl(output)
    assert [r["id"] for r in records] == ["a", "long"] and "error" in records[1]


def test_parallel_workers_give_the_same_answers(assistant, questions, tmp_path):
    run(assistant, tmp_path / "one.jsonl", questions)
    run(assistant, tmp_path / "two.jsonl", questions, workers=2)
    strip = lambda r: {k: v for k, v in r.items() if k != "timings"}  # noqa: E731
    one = sorted((strip(r) for r in read_jsonl(tmp_path / "one.jsonl")), key=lambda r: r["id"])
    two = sorted((strip(r) for r in read_jsonl(tmp_path / "two.jsonl")), key=lambda r: r["id"])
    assert one == two


def test_a_table_output_without_a_journal_is_left_untouched(assistant, questions, tmp_path):
    output = tmp_path / "answers.csv"
    output.write_text("someone's,own,table\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"answers.csv exists but its journal .* does not.*nothing was changed"):
        BatchRunner(assistant, output, answerer="extractive")
    assert output.read_text(encoding="utf-8") == "someone's,own,table\n"


def test_a_jsonl_output_holding_other_data_is_left_untouched(assistant, tmp_path):
    output = tmp_path / "answers.jsonl"
    output.write_text('{"not": "an answer"}\n{"id": "x", "question": "q"}\n', encoding="utf-8")
    before = output.read_bytes()
    with pytest.raises(RagError, match=r"answers.jsonl:1: this file holds lines that are not batch answers"):
        BatchRunner(assistant, output, answerer="extractive")
    assert output.read_bytes() == before


def test_a_line_cut_short_by_a_kill_is_asked_again(counting, questions, tmp_path):
    output = tmp_path / "answers.jsonl"
    run(counting, output, questions[:1])
    with output.open("ab") as handle:
        handle.write(b'{"id": "q2", "question": "When will Hua')
    counting.asked.clear()
    run(counting, output, questions)
    assert counting.asked == [ASCEND, CAMBRICON]
    assert [r["id"] for r in read_jsonl(output)] == ["q1", "q2", "q3"], "the fragment is dropped"
    counting.asked.clear()
    run(counting, output, questions)
    assert counting.asked == []


def test_unsupported_output_type(assistant, tmp_path):
    with pytest.raises(RagError, match=r"unsupported output type '.txt'; use .jsonl, .csv, .xlsx"):
        BatchRunner(assistant, tmp_path / "answers.txt")
