"""FinanceBench page retrieval scoring: gold pages read 1-based from the 0-based references, hit@5 counted on
the first five distinct pages, and the BM25 page baseline ranking pages by the question's terms."""

from __future__ import annotations

from evals.financebench import PageBM25, gold_pages, page_hits


def test_gold_pages_are_one_based():
    assert gold_pages({"evidence_doc_ids": ["TIDEWATER_2022_10K:p41", "TIDEWATER_2022_10K:p0"]}) == {
        ("TIDEWATER_2022_10K", 42), ("TIDEWATER_2022_10K", 1)}


def test_page_hit_counts_the_first_five_pages_and_filing_hit_any_page_of_the_filing():
    questions = [{"evidence_doc_ids": ["A_10K:p9"]}, {"evidence_doc_ids": ["B_10Q:p2"]}]
    found = [[("A_10K", 3), ("A_10K", 10)],
             [("C", 1), ("C", 2), ("C", 3), ("C", 4), ("B_10Q", 7), ("B_10Q", 3)]]
    assert page_hits(found, questions) == {"page_hit@5": 0.5, "filing_hit@5": 1.0}


def test_bm25_page_baseline_ranks_the_page_holding_the_questions_terms_first():
    pages = [(("HARBOR_2023_10K", 1), "Harbor Logistics annual report cover page."),
             (("HARBOR_2023_10K", 2), "Dredging capital expenditure was 84 million dollars in fiscal 2023."),
             (("HARBOR_2023_10K", 3), "Risk factors: storms may close ports for weeks.")]
    assert PageBM25(pages).top("What was dredging capital expenditure in 2023?", 2)[0] == ("HARBOR_2023_10K", 2)
