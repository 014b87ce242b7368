"""Reading question files: every input format, and each bad input's message."""

from __future__ import annotations

import zipfile

import pytest

from rag.batch import read_batch
from rag.errors import RagError
from tests.batch.conftest import ASCEND, GROWTH, write_jsonl, write_xlsx


def test_txt_one_question_per_line_skips_blank_lines(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(f"{GROWTH}\n\n   \n{ASCEND}\n", encoding="utf-8")
    items = read_batch(path)
    assert [i.question for i in items] == [GROWTH, ASCEND]
    assert [i.row for i in items] == [1, 4]


def test_keys_are_stable_hashes_without_ids_and_repeats_get_their_own_key(tmp_path):
    path = tmp_path / "q.txt"
    path.write_text(f"{GROWTH}\n{ASCEND}\n{GROWTH}\n", encoding="utf-8")
    first, second, repeat = read_batch(path)
    assert first.key != second.key and repeat.key == first.key + "#2"
    assert [i.key for i in read_batch(path)] == [first.key, second.key, repeat.key]


def test_csv_carries_other_columns_and_uses_the_id_column(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(f"ID,question,analyst\nA1,{GROWTH},Li\nA2,\"{ASCEND}\",Wang\n", encoding="utf-8")
    items = read_batch(path)
    assert [(i.key, i.question, i.fields) for i in items] == [("A1", GROWTH, {"analyst": "Li"}),
                                                            ("A2", ASCEND, {"analyst": "Wang"})]


def test_csv_with_a_bom_reads_the_first_column_name_cleanly(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(f"question,topic\n{GROWTH},servers\n".encode("utf-8-sig"))
    assert read_batch(path)[0].question == GROWTH


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_csv_in_chinese_windows_encodings(tmp_path, encoding):
    path = tmp_path / "q.csv"
    path.write_bytes("问题,分析师\n华为什么时候推出昇腾950PR？,李明\n".encode(encoding))
    items = read_batch(path, column="问题")
    assert items[0].question == "华为什么时候推出昇腾950PR？"
    assert items[0].fields == {"分析师": "李明"}


def test_missing_question_column_lists_the_columns_found(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(f"id,query,notes\n1,{GROWTH},x\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"no 'question' column; columns found: 'id', 'query', 'notes'.*--column"):
        read_batch(path)


def test_column_option_picks_another_column_case_insensitively(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(f"id,Query\n1,{GROWTH}\n", encoding="utf-8")
    assert read_batch(path, column="query")[0].question == GROWTH


@pytest.mark.parametrize("name, content", [("q.txt", b""), ("q.csv", b""), ("q.jsonl", b"")])
def test_empty_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RagError, match="the file is empty"):
        read_batch(path)


def test_header_without_questions(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("id,question\n1,\n2,  \n", encoding="utf-8")
    with pytest.raises(RagError, match="no questions found"):
        read_batch(path)


def test_xlsx_with_another_column_name_and_numeric_ids(tmp_path):
    path = write_xlsx(tmp_path / "q.xlsx", [["id", "Question text", "sector"], [1, GROWTH, "servers"],
                                            [None, None, None], [2, ASCEND, "chips"]])
    items = read_batch(path, column="Question text")
    assert [(i.key, i.question, i.fields) for i in items] == [("1", GROWTH, {"sector": "servers"}),
                                                            ("2", ASCEND, {"sector": "chips"})]


def test_cells_under_a_blank_header_are_carried_through(tmp_path):
    path = write_xlsx(tmp_path / "q.xlsx", [["question", None, "sector"], [GROWTH, "ask the PM", "servers"],
                                            [ASCEND, None, "chips"]])
    items = read_batch(path)
    assert [i.fields for i in items] == [{"column 2": "ask the PM", "sector": "servers"}, {"sector": "chips"}]
    csv = tmp_path / "q.csv"
    csv.write_text(f"question,,sector\n{GROWTH},ask the PM,servers\n", encoding="utf-8")
    assert read_batch(csv)[0].fields == {"column 2": "ask the PM", "sector": "servers"}


def test_corrupt_xlsx_gives_a_clear_message(tmp_path):
    path = tmp_path / "q.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a workbook")
    with pytest.raises(RagError, match=r"q.xlsx: not a readable .xlsx workbook.*save it again"):
        read_batch(path)


def test_xlsx_zip_without_a_workbook_gives_a_clear_message(tmp_path):
    path = tmp_path / "q.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(RagError, match="not a readable .xlsx workbook"):
        read_batch(path)


def test_jsonl_ids_and_extra_keys(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"id": "g1", "question": GROWTH, "lang": "en"}, {"question": ASCEND}])
    first, second = read_batch(path)
    assert (first.key, first.fields) == ("g1", {"lang": "en"})
    assert second.key.startswith("q") and second.question == ASCEND


def test_jsonl_bad_line_names_its_number(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "a?"}\n{"question": \n', encoding="utf-8")
    with pytest.raises(RagError, match=r"q.jsonl:2: not valid JSON"):
        read_batch(path)


def test_unsupported_type_and_missing_file(tmp_path):
    (tmp_path / "q.xls").write_bytes(b"x")
    with pytest.raises(RagError, match=r"unsupported question file type '.xls'"):
        read_batch(tmp_path / "q.xls")
    with pytest.raises(RagError, match="no such file"):
        read_batch(tmp_path / "missing.csv")
