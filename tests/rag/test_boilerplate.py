"""Boilerplate: each kind of rag/boilerplate.txt marked on real filings as the PDF loader reads them (FinanceBench
dev: Best Buy's and Corning's 2022/2023 10-Ks, Johnson & Johnson's 2022 10-K), the filing proper left unmarked,
and a marked passage used as evidence only for a question about its kind."""

import json

import pytest

from rag.boilerplate import Boilerplate, BoilerplateError, is_heading_line, load_boilerplate
from rag.chunk import Chunker
from rag.settings import ChunkSettings
from rag.types import Document, PageSpan
from tests.conftest import make_settings

# BESTBUY_2023_10K page 36 (the auditor's report) and page 40 (the statement of earnings that follows it).
BBY_AUDITOR = ("REPORT OF INDEPENDENT REGISTERED PUBLIC ACCOUNTING FIRM\nTo the shareholders and the Board of "
               "Directors of\nBest Buy Co., Inc.\nRichfield, Minnesota.\nOpinion on the Financial Statements\nWe have "
               "audited the accompanying consolidated balance sheets of Best Buy Co., Inc. and subsidiaries (the "
               "\"Company\") as of January 28, 2023 and January 29, 2022, the related consolidated statements of "
               "earnings, comprehensive income, cash flows and changes in shareholders' equity for each of the three "
               "years in the period ended January 28, 2023.\nBasis for Opinion\nThese financial statements are the "
               "responsibility of the Company's management. Our responsibility is to express an opinion on the "
               "Company's financial statements based on our audits.")
BBY_EARNINGS = ("Consolidated Statements of Earnings\n$ and shares in millions, except per share amounts Fiscal Years "
                "Ended January 28, 2023 January 29, 2022 January 30, 2021\nRevenue $ 46,298 $ 51,761 $ 47,262\n"
                "Cost of sales 36,386 40,121 36,689\nGross profit 9,912 11,640 10,573\nOperating income 1,795 3,039 "
                "2,391")
# BESTBUY_2023_10K pages 68 (signatures), 69 (exhibit 21.1), 72 (exhibit 31.1) and 3 (contents).
BBY_SIGNATURES = ("SIGNATURES\nPursuant to the requirements of Section 13 or 15(d) of the Securities Exchange Act of "
                  "1934, the registrant has duly caused this report to be signed on its behalf by the undersigned, "
                  "thereunto duly authorized.\nBest Buy Co., Inc.\n(Registrant)\nBy: /s/ Corie Barry\nCorie Barry\n"
                  "Chief Executive Officer")
BBY_SUBSIDIARIES = ("Exhibit 21.1\nBEST BUY CO., INC.\nSUBSIDIARIES OF THE REGISTRANT AT January 28, 2023 *\nState or "
                    "Other Jurisdiction of Incorporation or Organization\nBBC Investment Co. Nevada\nBBY Networks, Inc. "
                    "Minnesota\nBBC Property Co. Minnesota")
BBY_CERTIFICATION = ("Exhibit 31.1\nCERTIFICATION PURSUANT TO\nRULES 13a-14(a) AND 15d-14(a) UNDER THE SECURITIES\n"
                     "EXCHANGE ACT OF 1934, AS ADOPTED PURSUANT TO\nSECTION 302 OF THE SARBANES-OXLEY ACT OF 2002\nI, "
                     "Corie Barry, certify that:\n1. I have reviewed this Annual Report on Form 10-K of Best Buy Co., "
                     "Inc.;")
BBY_CONTENTS = ("BEST BUY FISCAL 2023 FORM 10-K\nTABLE OF CONTENTS\nPART I 4\nItem 1. Business. 4\nItem 1A. Risk "
                "Factors. 8\nItem 1B. Unresolved Staff Comments. 18\nItem 2. Properties. 19\nItem 3. Legal "
                "Proceedings. 20")
# CORNING_2022_10K page 1 (cover), page 43 (safe harbour) and page 60 (balance sheet).
GLW_COVER = ("UNITED STATES\nSECURITIES AND EXCHANGE COMMISSION\nWASHINGTON, D.C. 20549\nForm 10-K\nFor the fiscal year "
             "ended December 31, 2022\nCommission file number: 1-3247\nCORNING INCORPORATED\n(Exact name of registrant "
             "as specified in its charter)\nSecurities registered pursuant to Section 12(b) of the Act:\nTitle of each "
             "class Trading Symbol(s) Name of each exchange on which registered Common Stock, $0.50 par value per "
             "share GLW New York Stock Exchange")
GLW_FORWARD = ("FORWARD-LOOKING STATEMENTS\nThe statements in this Annual Report on Form 10-K, in reports subsequently "
               "filed by Corning with the Securities and Exchange Commission on Form 10-Q and Form 8-K and related "
               "comments by management that are not historical facts or information are forward-looking statements.")
GLW_BALANCE = ("Consolidated Balance Sheets Corning Incorporated and Subsidiary Companies\nDecember 31,\n(in millions, "
               "except share and per share amounts) 2022 2021\nAssets\nCurrent assets:\nCash and cash equivalents "
               "$ 1,671 $ 2,148\nInventories (Note 5) 2,904 2,481\nTotal current assets 7,453 7,659")
# JOHNSON_JOHNSON_2022_10K page 109: a report heading in the plural.
JNJ_AUDITOR = ("Report of Independent Registered Public Accounting Firm\nTo the Board of Directors and Shareholders of "
               "Johnson & Johnson\nOpinions on the Financial Statements and Internal Control over Financial "
               "Reporting\nWe have audited the accompanying consolidated balance sheets of Johnson & Johnson and its "
               "subsidiaries as of January 1, 2023 and January 2, 2022.")


def _pages(*texts: str) -> Document:
    text, pages = "", []
    for n, page in enumerate(texts, 1):
        pages.append(PageSpan(n, len(text)))
        text += page + "\n"
    return Document(doc_id="filing", text=text, source="filing.pdf", pages=pages)


def _kinds(doc: Document, chunk_tokens: int = 60) -> list[tuple[int | None, str]]:
    return [(c.page, c.boilerplate) for c in Chunker(ChunkSettings(chunk_tokens=chunk_tokens, overlap_tokens=0)).chunk(doc)]


@pytest.mark.parametrize("page, kind", [
    (BBY_AUDITOR, "auditor"), (JNJ_AUDITOR, "auditor"), (BBY_SIGNATURES, "signatures"),
    (BBY_SUBSIDIARIES, "exhibits"), (BBY_CERTIFICATION, "certification"), (BBY_CONTENTS, "contents"),
    (GLW_COVER, "cover"), (GLW_FORWARD, "forward_looking"),
])
def test_each_kind_of_filing_boilerplate_is_marked_on_every_chunk_of_its_page(page, kind):
    kinds = _kinds(_pages(page))
    assert kinds and all(k == kind for _, k in kinds), kinds


def test_the_statements_after_the_auditors_report_are_the_filing_proper():
    # Paginated: the part ends with its page. Converted from HTML (one page): the statement's heading ends it.
    for doc in (_pages(BBY_AUDITOR, BBY_EARNINGS), _pages(BBY_AUDITOR + "\n" + BBY_EARNINGS)):
        chunker = Chunker(ChunkSettings(chunk_tokens=60, overlap_tokens=0))
        chunks = chunker.chunk(doc)
        earnings = [c for c in chunks if "Revenue $ 46,298" in c.text]
        report = [c for c in chunks if "We have audited" in c.text]
        assert earnings and all(c.boilerplate == "" for c in earnings), [(c.text[:40], c.boilerplate) for c in chunks]
        assert report and all(c.boilerplate == "auditor" for c in report)


def test_a_contents_link_at_the_top_of_a_statement_page_marks_nothing():
    # Some filings print "Table of Contents" atop every page; only a listing of page numbers is a contents page.
    kinds = _kinds(_pages("Table of Contents\n" + GLW_BALANCE))
    assert all(k == "" for _, k in kinds), kinds


def test_heading_lines_are_short_capitalised_and_end_no_sentence():
    assert is_heading_line("REPORT OF INDEPENDENT REGISTERED PUBLIC ACCOUNTING FIRM")
    assert is_heading_line("Report of Independent Registered Public Accounting Firm")
    assert not is_heading_line("Signatures are required of the principal executive officer.")
    assert not is_heading_line("Item 1A. Risk Factors. 8")  # a contents line: it ends in its page number
    assert not is_heading_line("see the disclaimer at the end of this report and the analyst certification")


def test_questions_ask_about_a_kind_only_in_its_own_words():
    rules = load_boilerplate()
    assert "auditor" in rules.asked("Who is Best Buy's auditor?")
    assert "certification" in rules.asked("Which officers signed the Sarbanes-Oxley certifications?")
    assert rules.asked("What was Best Buy's revenue in fiscal 2023?") == frozenset()
    assert rules.asked("Does Corning have positive working capital at the end of 2022?") == frozenset()


def test_a_malformed_boilerplate_file_names_its_line(tmp_path):
    with pytest.raises(BoilerplateError, match=r"bad.txt:2"):
        Boilerplate.parse("auditor asks: auditor\nauditor mentions: we have audited\n", "bad.txt")
    with pytest.raises(BoilerplateError, match="no 'asks' line"):
        Boilerplate.parse("auditor says: we have audited\n", "bad.txt")
    with pytest.raises(BoilerplateError, match="cannot read"):
        load_boilerplate(str(tmp_path / "missing.txt"))


def test_a_boilerplate_passage_is_evidence_only_for_a_question_about_it(tmp_path):
    from rag.assistant import Assistant

    corpus = tmp_path / "filings.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in [
        {"doc_id": "bby-p36", "title": "Best Buy 2023 10-K, page 36", "text": BBY_AUDITOR},
        {"doc_id": "bby-p40", "title": "Best Buy 2023 10-K, page 40", "text": BBY_EARNINGS},
        {"doc_id": "bby-p68", "title": "Best Buy 2023 10-K, page 68", "text": BBY_SIGNATURES},
        {"doc_id": "glw-p1", "title": "Corning 2022 10-K, page 1", "text": GLW_COVER},
        {"doc_id": "glw-p60", "title": "Corning 2022 10-K, page 60", "text": GLW_BALANCE}]), encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    marked = {"bby-p36", "bby-p68", "glw-p1"}
    # Questions that share the company and the year with the auditor's report, the signatures and the cover.
    for question in ("What were Best Buy's consolidated statements of earnings for fiscal 2023?",
                     "What did Corning report as of December 31, 2022?"):
        hits = assistant.search(question, k=5)
        assert hits and not {h.doc_id for h in hits} & marked, [(h.doc_id, h.text[:40]) for h in hits]
    auditor = assistant.search("Who is Best Buy's auditor?", k=5)
    assert auditor[0].doc_id == "bby-p36", [h.doc_id for h in auditor]
    listed = assistant.search("On which exchange is Corning's common stock registered?", k=5)
    assert "glw-p1" in {h.doc_id for h in listed}


def test_an_index_written_before_boilerplate_was_marked_is_marked_on_the_next_ingest(tmp_path):
    from rag.assistant import Assistant

    corpus = tmp_path / "filings.jsonl"
    corpus.write_text(json.dumps({"doc_id": "bby-p68", "title": "Best Buy 2023 10-K, page 68",
                                  "text": BBY_SIGNATURES}) + "\n", encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "home"))
    assistant.ingest([corpus])
    catalog = assistant.indexer.catalog
    with catalog._transaction() as conn:  # as an earlier version left it
        conn.execute("UPDATE chunks SET boilerplate = NULL")
    assert len(catalog.chunks_without_boilerplate()) >= 1
    assistant.ingest([corpus])
    assert catalog.chunks_without_boilerplate() == []
    assert not assistant.search("What did Best Buy report for fiscal 2023?", k=5)
