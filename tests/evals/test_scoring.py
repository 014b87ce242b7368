"""The scorers on their own: normalisation, fact matching, spans, rank metrics, suite parsing, comparing."""

import json

import pytest

from evals.baselines import Span
from evals.run import (
    all_facts,
    compare_outcomes,
    find_span,
    first_rank,
    has_fact,
    load_report,
    load_suite,
    normalize,
    percentile,
    retrieval_metrics,
    spans_overlap,
)
from evals.tatqa import exact_match, shifted_year_questions, token_f1
from rag.errors import RagError


@pytest.mark.parametrize("answer", ["grow by 20.9 %", "grow by 20.9 percent", "GROW BY 20.9 per cent", "20.9％"])
def test_percent_spellings_match(answer):
    assert has_fact("20.9%", answer)


def test_thousands_separators_and_currency_spacing_are_ignored():
    assert has_fact("$1,496.5", "sales were $ 1496.5 million")
    assert has_fact("2000W", "power reaches 2,000W per GPU")


def test_a_figure_inside_a_longer_figure_does_not_match():
    assert not has_fact("20.9%", "shipments rose 120.9%")
    assert not has_fact("26%", "demand up 26.5%")
    assert not all_facts(["28%", "4.5%"], "China held 28% of sales")
    assert all_facts(["28%", "4.5%"], "China held 28% of sales [1], local supply 4.5% [2]")


def test_citation_markers_do_not_glue_to_figures():
    assert normalize("rose 40.22%[1].") == "rose 40.22% ."


def test_find_span_tolerates_whitespace_runs():
    text = "First line.\nThe  evidence\nsentence here. Last."
    assert find_span(text, "The evidence sentence here.") == (12, 40)
    assert find_span(text, "absent sentence") is None


def test_overlap_needs_half_of_the_shorter_span():
    assert spans_overlap((0, 100), (40, 60))
    assert spans_overlap((50, 200), (0, 100))
    assert not spans_overlap((90, 300), (0, 100))
    assert not spans_overlap((100, 200), (0, 100))


def test_retrieval_metrics_from_ranks():
    m = retrieval_metrics([1, 3, None, 7])
    assert m["hit@1"] == 0.25 and m["hit@5"] == 0.5 and m["hit@10"] == 0.75
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    assert first_rank([Span("a", 0, 1, ""), Span("b", 0, 1, "")], lambda s: s.doc_id == "b") == 2


def test_percentile_interpolates():
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([5], 95) == 5 and percentile([], 50) == 0


def test_squad_scores():
    assert exact_match("The $1,496.5 [1]", ["$1,496.5"]) == 1
    assert token_f1("sales were 1496.5", ["1496.5 million"]) == pytest.approx(0.4)


def test_bundled_suite_is_well_formed():
    from evals.run import DEFAULT_SUITE

    items = load_suite(DEFAULT_SUITE)
    assert len(items) >= 50
    assert sum(not i.answerable for i in items) >= 8 and sum(i.lang == "zh" for i in items) >= 5


def test_malformed_suite_line_names_file_and_line(tmp_path):
    suite = tmp_path / "suite.jsonl"
    good = {"id": "q1", "question": "Q?", "key_facts": ["1"], "evidence": "E.", "answerable": True}
    suite.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"suite\.jsonl:3: not valid JSON"):
        load_suite(suite)


def test_answerable_item_without_key_facts_is_rejected(tmp_path):
    suite = tmp_path / "suite.jsonl"
    suite.write_text(json.dumps({"id": "q1", "question": "Q?", "evidence": "E.", "answerable": True}) + "\n")
    with pytest.raises(RagError, match=r"suite\.jsonl:1: an answerable question needs 'key_facts'"):
        load_suite(suite)


def test_compare_names_changed_questions():
    old = [{"id": "a", "question": "A?", "status": "correct", "answerable": True, "ranks": {"hybrid": 1}},
           {"id": "b", "question": "B?", "status": "abstained", "answerable": False, "ranks": {}}]
    new = [{"id": "a", "question": "A?", "status": "wrong", "answerable": True, "ranks": {"hybrid": 8}},
           {"id": "b", "question": "B?", "status": "abstained", "answerable": False, "ranks": {}}]
    changes = compare_outcomes(old, new)
    assert [c["id"] for c in changes] == ["a"]
    assert changes[0]["detail"] == "correct -> wrong; evidence rank 1 -> 8"


def test_load_report_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{}")
    with pytest.raises(RagError, match="not an eval report"):
        load_report(path)


@pytest.mark.parametrize(("question", "answer", "abstained", "status"), [
    ({"answer_type": "yesno", "answer": "Yes"}, "Yes, cash fell [1].", False, "correct"),
    ({"answer_type": "yesno", "answer": "No"}, "Cash decreased in the quarter [1].", False, "wrong"),
    ({"answer_type": "number", "answer": "$3215.00"}, "Free cash flow was $3,230 million [1].", False, "correct"),
    ({"answer_type": "number", "answer": "93.86"}, "DPO was 97.2 days [1].", False, "wrong"),
    ({"answer_type": "number", "answer": "93.86"}, "", True, "abstained"),
    ({"answer_type": "free", "answer": "Packaging"}, "Amcor makes packaging [1].", False, "ungraded"),
])
def test_financebench_grading_reads_yes_no_by_the_first_word_and_numbers_within_one_percent(
        question, answer, abstained, status):
    from evals.financebench import grade

    assert grade(question, answer, abstained) == status


def test_financebench_evidence_pages_are_one_based_with_their_neighbours():
    from evals.financebench import evidence_pages

    pages = evidence_pages([{"evidence_doc_ids": ["AMCOR_2023_10K:p49", "AMCOR_2023_10K:p0"]}], neighbours=1)
    assert pages == {"AMCOR_2023_10K": {1, 2, 49, 50, 51}}


def test_okapi_bm25_baseline_ranks_by_rare_terms_and_skips_documents_without_any():
    from evals.baselines import OkapiBM25

    docs = [["total", "revenue", "2019"], ["total", "cost", "of", "revenue", "2019"], ["headcount", "grew"],
            ["total", "revenue", "2018"]]
    bm25 = OkapiBM25(docs, k1=1.5, b=0.75)
    assert bm25.top(["cost", "revenue"], 5)[0] == 1  # "cost" is the rarer term
    assert 2 not in bm25.top(["cost", "revenue"], 5)
    assert bm25.top(["nothing"], 5) == []


def test_near_misses_ask_about_a_year_before_any_their_context_mentions():
    # TAT-QA dev (context 3ffd9053): sales by contract type for the years ended September 30, 2017-2019.
    corpus = [{"doc_id": "c1:t", "context_id": "c1", "text": "Total sales | 2019: $1,496.5; 2018: $1,202.9; "
               "2017: $1,107.7", "table_raw": [["", "2019", "2018", "2017"]]},
              {"doc_id": "c1:p1", "context_id": "c1", "text": "Substantially all of our contracts are fixed-price."}]
    questions = [{"id": "a", "context_id": "c1", "question": "What is the amount of total sales in 2019?"},
                 # Two years, or a year the context does not mention, make no near miss.
                 {"id": "b", "context_id": "c1", "question": "What was the change in total sales from 2018 to 2019?"},
                 {"id": "c", "context_id": "c1", "question": "What were total sales in 2012?"}]
    assert shifted_year_questions(corpus, questions) == [
        {"id": "a", "asked": "What is the amount of total sales in 2019?", "context_id": "c1",
         "question": "What is the amount of total sales in 2016?"}]


def test_a_blind_filing_suite_grades_the_first_figure_yes_no_and_near_misses():
    from evals.financebench import grade_suite_answer

    number = {"answer": "0.68", "answer_type": "number", "answerable": True}
    assert grade_suite_answer(number, "0.68 = 5,121.3 / 7,491.5 (current ratio [1])", False) == "correct"
    # The operands come after the result: an operand equal to the gold is not the answer.
    assert grade_suite_answer({**number, "answer": "5121.3"}, "0.68 = 5,121.3 / 7,491.5", False) == "wrong"
    assert grade_suite_answer(number, "", True) == "false_abstention"
    yes_no = {"answer": "Yes", "answer_type": "yes_no", "answerable": True}
    assert grade_suite_answer(yes_no, "Yes: working capital in 2022 is 2,278.", False) == "correct"
    assert grade_suite_answer(yes_no, "No: gross margin fell.", False) == "wrong"
    near_miss = {"answer": "", "answer_type": "none", "answerable": False}
    assert grade_suite_answer(near_miss, "", True) == "abstained"
    assert grade_suite_answer(near_miss, "12.5% = ...", False) == "answered_unanswerable"
