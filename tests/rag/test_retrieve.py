"""Hybrid retrieval over the indexed sample report: exact tokens, figures, paraphrases, and each side alone."""

from __future__ import annotations

import pytest
from tests.conftest import SAMPLE_REPORT

from rag.errors import EmptyIndexError, FilterError


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
