"""Report metadata: read from the sample report, stored with its chunks and usable as search filters."""

from __future__ import annotations

import pytest

from rag.errors import FilterError
from rag.load import load_file
from rag.metadata import extract_metadata
from tests.conftest import SAMPLE_REPORT

QUESTION = "How much will global AI server shipments grow in 2026?"


def test_sample_report_metadata():
    [doc] = load_file(SAMPLE_REPORT, SAMPLE_REPORT.name)
    assert doc.title.startswith("Guosen: The AI industry chain is moving from divergence to consensus")
    assert doc.publisher == "GMT Eight"
    assert doc.broker == "Guosen"
    assert doc.published == "2025-12-31"
    for company in ("Cambricon", "Montage Technology", "Luxshare Precision Industry", "NAURA Technology Group"):
        assert company in doc.companies


@pytest.mark.parametrize(
    ("text", "published"),
    [
        ("Report\n2025年3月7日 发布", "2025-03-07"),
        ("Note dated March 7, 2025 by the desk", "2025-03-07"),
        ("Updated 7 Mar 2025", "2025-03-07"),
        ("Posted 2025-03-07T10:00:00Z", "2025-03-07"),
        ("No date here, only 2025 as a year", ""),
        ("Invalid 31/02/2025 date", ""),
    ],
)
def test_publication_date_formats(text, published):
    assert extract_metadata(text, {}).published == published


def test_tickers_are_companies():
    meta = extract_metadata("We like Kweichow Moutai (600519.SH) and Tencent (0700.HK), and (NASDAQ: NVDA).", {})
    assert {"600519.SH", "0700.HK", "NVDA"} <= set(meta.companies)


def test_catalog_and_chroma_hold_the_metadata(assistant):
    [record] = assistant.documents()
    assert (record.publisher, record.broker, record.published) == ("GMT Eight", "Guosen", "2025-12-31")
    assert "Cambricon" in record.companies
    chunk_ids = assistant.catalog.chunk_ids(record.doc_id)
    stored = assistant.store._collection.get(ids=chunk_ids[:3], include=["metadatas"])["metadatas"]
    for meta in stored:
        assert meta["publisher"] == "GMT Eight" and meta["published"] == "2025-12-31"
        assert meta["doc_id"] == record.doc_id and "Cambricon" in meta["companies"]


@pytest.mark.parametrize(
    "filters",
    [
        {"publisher": "GMT Eight"},
        {"publisher": "gmt eight"},
        {"broker": "Guosen"},
        {"company": "Cambricon"},
        {"ticker": "montage"},
        {"date_from": "2025-12-01", "date_to": "2025-12-31"},
        {"doc_id": SAMPLE_REPORT.name},
        ["publisher=GMT Eight", "date_from=2025-12-31"],
    ],
)
def test_matching_filters_keep_the_report(assistant, filters):
    hits = assistant.search(QUESTION, k=3, filters=filters)
    assert len(hits) == 3 and all(h.doc_id == SAMPLE_REPORT.name for h in hits)


@pytest.mark.parametrize(
    "filters",
    [
        {"publisher": "Reuters"},
        {"company": "Nonexistent Widgets"},
        {"date_from": "2026-01-01"},
        {"date_to": "2025-12-30"},
        {"doc_id": "other.txt"},
    ],
)
def test_non_matching_filters_exclude_the_report(assistant, filters):
    assert assistant.search(QUESTION, k=3, filters=filters) == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"colour": "red"}, "unknown filter 'colour'"),
        (["publisher"], "is not key=value"),
        ({"date_from": "31/12/2025"}, "dates are YYYY-MM-DD"),
        ({"publisher": " "}, "empty value"),
    ],
)
def test_malformed_filters_are_rejected(assistant, filters, message):
    with pytest.raises(FilterError, match=message):
        assistant.search(QUESTION, filters=filters)
