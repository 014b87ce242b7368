"""Documents a question names: issuer, tickers and file names read from filings, matched however an analyst
writes the name, and a retrieval that finds the named filing's page where other filings match its words
better. The filings here are invented, laid out as SEC cover pages are (10-K, 10-Q)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.metadata import extract_metadata
from rag.scope import DocumentNames, NamedDocument
from tests.conftest import make_settings

COVER = """UNITED STATES
SECURITIES AND EXCHANGE COMMISSION
FORM 10-K
For the fiscal year ended December 31, 2024
Commission File Number 001-12345
{name}
(Exact name of registrant as specified in its charter)
Delaware 12-3456789
Securities registered pursuant to Section 12(b) of the Act:
Title of each class Trading Symbol(s) Name of each exchange on which registered
Common Stock, $0.01 par value {ticker} New\u00a0York\u00a0Stock\u00a0Exchange
Depositary Shares, each a 1/400th interest in a share of 5.75% Preferred Stock, Series B {ticker} PR B New York Stock Exchange
"""


def test_a_filing_cover_names_its_registrant_and_tickers():
    meta = extract_metadata(COVER.format(name="NORTHWIND TRADERS, INC.", ticker="NWT"), {})
    assert meta.companies[:2] == ["NORTHWIND TRADERS, INC.", "NWT"]
    # "NWT PR B" is a preferred series: its lone letter is not a ticker.
    assert "B" not in meta.companies


def test_a_file_number_run_into_the_name_is_dropped():
    cover = COVER.format(name="", ticker="LKS").replace("Commission File Number 001-12345\n\n",
                                                          "Commission File Number 001-12345 LAKESIDE PAYMENTS, INC.\n")
    assert extract_metadata(cover, {}).companies[0] == "LAKESIDE PAYMENTS, INC."


def _names() -> DocumentNames:
    return DocumentNames([
        NamedDocument("NORTHWIND_2024_10K.pdf", "0000950123-25-000101", "/filings/NORTHWIND_2024_10K.pdf", "",
                      ("NORTHWIND TRADERS, INC.", "NWT")),
        NamedDocument("NORTHWIND_2025Q1_10Q.pdf", "Northwind Traders Q1 2025", "/filings/NORTHWIND_2025Q1_10Q.pdf",
                      "", ("NWT",)),
        NamedDocument("BLUEHARBOR_2024_10K.pdf", "UNITED STATES", "/filings/BLUEHARBOR_2024_10K.pdf", "",
                      ("BLUE HARBOR FOODS CO.", "BHF", "Cash for Business")),
        NamedDocument("note.txt", "Sector note: packaged food margins", "/notes/note.txt", "Morgan Stanley",
                      ("Blue Harbor Foods",)),
    ])


@pytest.mark.parametrize(("question", "expected"), [
    ("What was Northwind's FY2024 operating margin?", {"NORTHWIND_2024_10K.pdf", "NORTHWIND_2025Q1_10Q.pdf"}),
    ("Did NORTHWIND's inventory rise in Q1 2025?", {"NORTHWIND_2024_10K.pdf", "NORTHWIND_2025Q1_10Q.pdf"}),
    ("How much cash did NWT return to shareholders?", {"NORTHWIND_2024_10K.pdf", "NORTHWIND_2025Q1_10Q.pdf"}),
    # A multi-word name, written as a file name runs it together, or as the registrant spells it.
    ("Is Blue Harbor's gross margin stable?", {"BLUEHARBOR_2024_10K.pdf", "note.txt"}),
    ("Blueharbor capex in FY2024?", {"BLUEHARBOR_2024_10K.pdf", "note.txt"}),
    # A known research house names its note.
    ("What does Morgan Stanley expect for food margins?", {"note.txt"}),
])
def test_a_question_names_documents_however_the_name_is_written(question, expected):
    assert _names().named_in(question) == expected


@pytest.mark.parametrize("question", [
    "What was the FY2024 adjusted EBITDA margin?",          # periods and metrics are not names
    "Which segment had the highest GAAP operating income in Q4?",
    "what was northwind's revenue?",                        # a name written as a common word is not read as one
    "Did Cash & Cash equivalents fall in Q2?",              # one word of a product's name does not name it
])
def test_a_question_naming_no_document_is_searched_everywhere(question):
    assert _names().named_in(question) == set()


def test_a_name_every_document_carries_tells_none_apart():
    names = DocumentNames([NamedDocument(f"d{i}", f"Northwind report {i}", "/x/corpus.jsonl", "", ()) for i in range(3)])
    assert names.named_in("What is Northwind's margin?") == set()


FILING = """{cover}
Item 7. Management's Discussion and Analysis
{body}
"""


def test_retrieval_finds_the_named_filings_page(tmp_path):
    """Three invented filings all discuss gross margin; the question names the issuer whose filing says least
    about it. Without the named-document search the other filings' margin pages take the top places."""
    from rag.assistant import Assistant

    folder = tmp_path / "filings"
    folder.mkdir()
    margin = ("Gross margin expanded to {m}% in fiscal 2024 from {p}% in fiscal 2023, as gross margin benefited "
              "from lower freight costs; gross margin in the fourth quarter was {q}%. ")
    for stem, name, ticker, body in [
        ("NORTHWIND_2024_10K", "NORTHWIND TRADERS, INC.", "NWT",
         "Net sales rose 4% to $2.1 billion. Our gross margin was 31.2% for the year."),
        ("BLUEHARBOR_2024_10K", "BLUE HARBOR FOODS CO.", "BHF", margin.format(m=38.1, p=36.4, q=37.9) * 3),
        ("REDCEDAR_2024_10K", "RED CEDAR HOMES CORP.", "RCH", margin.format(m=24.5, p=22.0, q=25.1) * 3),
    ]:
        (folder / f"{stem}.txt").write_text(FILING.format(cover=COVER.format(name=name, ticker=ticker), body=body),
                                            encoding="utf-8")
    settings = make_settings(tmp_path / "index")
    assistant = Assistant.from_settings(settings)
    assistant.ingest([folder])
    question = "What was Northwind's gross margin in fiscal 2024?"

    def first_docs(k=2):
        return [h.doc_id for h in assistant.search(question, k=k)]

    assert first_docs()[0] == "NORTHWIND_2024_10K.txt"
    assistant.retriever.settings.named_weight = 0.0
    assert "NORTHWIND_2024_10K.txt" not in first_docs(), "the test no longer needs the named-document search"
    # An explicit filter still wins: the named document is outside it.
    assistant.retriever.settings.named_weight = 1.5
    only = assistant.search(question, k=3, filters={"doc_id": "REDCEDAR_2024_10K.txt"})
    assert {h.doc_id for h in only} == {"REDCEDAR_2024_10K.txt"}
    assert Path(only[0].source).name == "REDCEDAR_2024_10K.txt"


def test_a_document_ingested_by_this_process_is_named_at_once(tmp_path):
    """The names are kept between searches; this process's own ingest must refresh them (SQLite's data_version
    only moves for other connections' commits)."""
    from rag.assistant import Assistant

    folder = tmp_path / "filings"
    folder.mkdir()
    (folder / "NORTHWIND_2024_10K.txt").write_text(
        COVER.format(name="NORTHWIND TRADERS, INC.", ticker="NWT") + "Net sales rose 4% to $2.1 billion.\n",
        encoding="utf-8")
    (folder / "REDCEDAR_2024_10K.txt").write_text(
        COVER.format(name="RED CEDAR HOMES CORP.", ticker="RCH") + "Home deliveries rose 9% to 4,210.\n",
        encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "index"))
    assistant.ingest([folder / "NORTHWIND_2024_10K.txt", folder / "REDCEDAR_2024_10K.txt"])
    question = "How many homes did Blue Harbor deliver?"
    assert assistant.retriever.named_documents(question) == set()
    (folder / "BLUEHARBOR_2024_10K.txt").write_text(
        COVER.format(name="BLUE HARBOR FOODS CO.", ticker="BHF") + "Net sales were $900 million.\n",
        encoding="utf-8")
    assistant.ingest([folder])
    assert assistant.retriever.named_documents(question) == {"BLUEHARBOR_2024_10K.txt"}
