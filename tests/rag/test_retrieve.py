"""Hybrid retrieval over the indexed sample report: exact tokens, figures, paraphrases, and each side alone."""

from __future__ import annotations

import pytest

from rag.errors import EmptyIndexError, FilterError
from tests.conftest import SAMPLE_REPORT


def top_texts(assistant, query, k=3, mode="hybrid"):
    return [h.text for h in assistant.search(query, k=k, mode=mode)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Ascend 950PR", "Ascend 950PR"),
        ("20.9%", "20.9%"),
        ("When will Huawei launch the Ascend 950PR?", "1Q26"),
        ("How much will global AI server shipments grow in 2026?", "20.9%"),
        # Paraphrases that share few words with the passage.
        ("When does Huawei release its next AI processor?", "Ascend 950PR"),
        ("Will memory chips stay scarce next year?", "storage"),
    ],
)
def test_hybrid_finds_the_passage(assistant, query, expected):
    assert any(expected.lower() in t.lower() for t in top_texts(assistant, query)), query


def test_lexical_side_finds_exact_figures(assistant):
    assert "20.9%" in top_texts(assistant, "20.9%", k=1, mode="lexical")[0]
    assert "Ascend 950PR" in top_texts(assistant, "950PR", k=1, mode="lexical")[0]


def test_dense_side_finds_a_paraphrase(assistant):
    texts = top_texts(assistant, "When does Huawei release its next AI processor?", mode="dense")
    assert any("Ascend 950PR" in t for t in texts)


def test_hits_are_ranked_with_exact_offsets(assistant):
    document = SAMPLE_REPORT.read_text(encoding="utf-8")
    hits = assistant.search("Ascend 950PR", k=5)
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.chunk_id for h in hits}) == 5
    for hit in hits:
        assert document[hit.start : hit.end] == hit.text
        assert 0 <= hit.relevance <= 1


def test_chinese_query_is_tokenized(assistant):
    from rag.lexical import lexical_tokens

    tokens = lexical_tokens("华为昇腾950PR的发布时间是什么时候？AI服务器出货量增长20.9%")
    assert "950pr" in tokens and "20.9%" in tokens and "华为" in tokens
    assert "的" not in tokens


def test_k_out_of_range_is_rejected(assistant):
    with pytest.raises(FilterError, match="choose between 1 and 100"):
        assistant.search("Ascend", k=101)


def test_empty_index_says_so(fresh_assistant):
    with pytest.raises(EmptyIndexError, match="nothing is indexed yet"):
        fresh_assistant.search("Ascend 950PR")


def test_unit_rankings_name_each_chunk_once_by_its_best_sentence(assistant):
    question = "How much will global AI server shipments grow in 2026?"
    vector = assistant.embedder.embed_query(question)
    for ranking in (assistant.store.query_units(vector, 5, None), assistant.catalog.unit_search(question, 5)):
        chunk_ids = [cid for cid, _ in ranking]
        assert len(chunk_ids) == len(set(chunk_ids)) == 5
        assert [s for _, s in ranking] == sorted((s for _, s in ranking), reverse=True)
        assert "20.9%" in assistant.catalog.chunks(chunk_ids[:1])[chunk_ids[0]].text
    # Filters hold for the unit rankings too.
    assert assistant.store.query_units(vector, 5, {"no-such-report"}) == []
    assert assistant.catalog.unit_search(question, 5, {"no-such-report"}) == []


def test_the_one_matching_row_of_a_long_table_finds_its_chunk(fresh_assistant, tmp_path):
    """Whole-chunk scores dilute one row among many; the row's own unit (headed by its table's title) does not."""
    import json

    rows = ["Cloud services", "Devices", "Licensing", "Advertising", "Consulting", "Hardware support", "Other"]
    lines = []
    for n, title in enumerate(["Revenue by segment", "Operating expenses", "Headcount by region"]):
        body = "\n".join(f"{r} | 2025: {100 + 7 * i + n}; 2024: {90 + 5 * i + n}" for i, r in enumerate(rows))
        extra = "\nTotal cost of revenue | 2025: 512.4; 2024: 498.1" if n == 0 else ""
        lines.append(json.dumps({"doc_id": f"t{n}", "title": f"Filing {n}",
                                 "text": f"Table: {title} | columns: 2025; 2024\n{body}{extra}"}))
    corpus = tmp_path / "tables.jsonl"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fresh_assistant.ingest([corpus])
    [hit] = fresh_assistant.search("What was the total cost of revenue in 2025?", k=1)
    assert hit.doc_id == "t0" and "512.4" in hit.text


def test_documents_being_rewritten_are_not_found_by_bm25(fresh_assistant, corpus_copy):
    fresh_assistant.ingest([corpus_copy])
    assert fresh_assistant.catalog.lexical_search("Ascend 950PR", 5)
    assert fresh_assistant.catalog.unit_search("Ascend 950PR", 5)
    [record] = fresh_assistant.catalog.documents()
    # What an ingest does first when a file changed; its old chunks stay until the new ones are committed.
    fresh_assistant.catalog.mark_pending([(record.doc_id, record.source, "changed")])
    assert fresh_assistant.catalog.lexical_search("Ascend 950PR", 5) == []
    assert fresh_assistant.catalog.unit_search("Ascend 950PR", 5) == []


def test_a_filter_matching_more_documents_than_sqlite_has_variables(assistant):
    """A filter can match tens of thousands of reports (every report of one broker in a large corpus); SQLite,
    behind both the catalog and Chroma, refuses statements with more than 32,766 variables."""
    question = "How much will global AI server shipments grow in 2026?"
    vector = assistant.embedder.embed_query(question)
    [record] = assistant.catalog.documents()
    many = {record.doc_id} | {f"report-{i:05d}" for i in range(40_000)}
    for search, args in ((assistant.store.query, (vector, 5)), (assistant.store.query_units, (vector, 5)),
                         (assistant.catalog.lexical_search, (question, 5)),
                         (assistant.catalog.unit_search, (question, 5))):
        assert search(*args, many) == search(*args, {record.doc_id}) == search(*args, None), search.__name__


def test_filter_dates_must_be_on_the_calendar_and_in_order():
    import pytest

    from rag.errors import FilterError
    from rag.retrieve import parse_filters

    for bad, says in ((["date_from=2026-13-45"], "not a date on the calendar"),
                      (["date_to=2025-02-29"], "not a date on the calendar"),
                      (["date_from=2026-03-01", "date_to=2026-02-01"], "after date_to")):
        with pytest.raises(FilterError, match=says):
            parse_filters(bad)
    assert parse_filters(["date_from=2024-02-29", "date_to=2024-02-29"]) == {"date_from": "2024-02-29",
                                                                               "date_to": "2024-02-29"}


class CountingEmbedder:
    """The packaged embedder, counting what it is asked to encode."""

    def __init__(self, embedder) -> None:
        self.embedder, self.name, self.queries, self.documents = embedder, embedder.name, [], []

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return self.embedder.embed_query(text)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents.extend(texts)
        return self.embedder.embed_documents(texts)


def test_query_vectors_are_kept_for_the_most_recently_asked_questions(assistant, monkeypatch):
    import rag.retrieve
    from rag.retrieve import HybridRetriever

    monkeypatch.setattr(rag.retrieve, "QUERY_VECTOR_CACHE_SIZE", 2)
    embedder = CountingEmbedder(assistant.embedder)
    retriever = HybridRetriever(assistant.catalog, assistant.store, embedder, assistant.settings.retrieve)
    a, b, c = "Ascend 950PR launch", "AI server shipments 2026", "high-speed interconnect chips"
    for question in (a, b, a, c, a, b):  # c pushes out b, the least recently asked, not a
        assert retriever.retrieve(question, top_k=3)
    assert {q: embedder.queries.count(q) for q in (a, b, c)} == {a: 1, b: 2, c: 1}
