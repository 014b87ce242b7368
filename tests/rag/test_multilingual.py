"""Chinese text and questions across languages, on the real encoders and a real Chroma: Chinese chunks are
embedded by the multilingual encoder only, BM25 matches Chinese however a name is segmented, and questions
reach reports written in the other language. The Chinese report is a fixture of invented facts
(tests/fixtures/zh_fixture_report.txt says so in its first line)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.lexical import cjk_bigrams, is_chinese, lexical_tokens
from tests.conftest import CORPUS, make_settings

ZH_REPORT = Path(__file__).resolve().parent.parent / "fixtures" / "zh_fixture_report.txt"
# Two FinCUGE dev passages (Chinese financial news), cut short: the same company written whole in one and as
# the question would write it in the other.
NEWS = [
    ("ck.txt", "长实集团(1113.HK)斥252亿元全购Greene投资英国酒馆业，麦格理维持跑赢大市评级及目标价95.19港元。"),
    ("hejia.txt", "和佳医疗控股股东郝镇熙累计质押股数约为1.09亿股，占其所持股份比例为91.89%。"),
]


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    """An index of the sample report (English), the invented Chinese report and two Chinese news items."""
    from rag.assistant import Assistant

    root = tmp_path_factory.mktemp("bilingual")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "000_4f14df6d3ec4a280.txt", corpus)
    shutil.copy(ZH_REPORT, corpus)
    for name, text in NEWS:
        (corpus / name).write_text(text, encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(root / "index"))
    report = assistant.ingest([corpus])
    assert report.failed == [] and report.added == 4
    yield assistant
    assistant.catalog.close()


def test_language_of_text_counts_hanzi_against_latin_letters():
    assert is_chinese("鼎捷软件公告，一致行动人股东Digital China合计持有5013万股")
    assert not is_chinese("Cheung Kong (长实) agreed to buy Greene King for GBP 2.7bn")
    assert not is_chinese("Revenue rose 12% in 2019")


def test_chinese_tokens_do_not_depend_on_how_a_name_is_segmented():
    # "长实集团" is one word to a segmenter in the passage; a question may write "长实" and "集团" apart.
    passage = set(lexical_tokens("长实集团斥252亿元全购Greene"))
    assert set(lexical_tokens("长实 集团")) <= passage
    assert set(cjk_bigrams("长实")) <= passage
    assert cjk_bigrams("股") == ["股"]


def test_bm25_finds_a_name_split_differently_in_question_and_passage(bilingual):
    found = bilingual.catalog.lexical_search("长实 集团收购了哪家英国公司？", 3)
    assert found and bilingual.catalog.chunks([found[0][0]])[found[0][0]].doc_id == "ck.txt"


def test_chinese_chunks_get_no_english_vectors(bilingual):
    chinese = [r.doc_id for r in bilingual.documents() if r.doc_id != "000_4f14df6d3ec4a280.txt"]
    english_ids = set(bilingual.store._collection.get(include=[])["ids"])
    for doc_id in chinese:
        ids = bilingual.catalog.chunk_ids(doc_id)
        assert ids and not english_ids & set(ids), f"{doc_id} was embedded by the English encoder"
        assert sorted(bilingual.store.ids_for(doc_id)) == sorted(ids)
    assert bilingual.store.count() == bilingual.catalog.chunk_count()


def test_english_question_finds_the_chinese_report(bilingual):
    hits = bilingual.search("What revenue growth does Xinghe Semiconductor expect for 2026?", k=5)
    assert "zh_fixture_report.txt" in [h.doc_id for h in hits]
    answer = bilingual.ask("What revenue growth does Xinghe Semiconductor expect for 2026?", answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "18.5%" in answer.text
    assert answer.citations[0].doc_id == "zh_fixture_report.txt" and "18.5%" in answer.citations[0].text


def test_chinese_question_finds_the_english_report(bilingual):
    question = "根据SIA数据，2024年中国占全球半导体销售额的比例是多少？"
    hits = bilingual.search(question, k=5)
    assert any(h.doc_id == "000_4f14df6d3ec4a280.txt" and "28%" in h.text for h in hits)
    answer = bilingual.ask(question, answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert answer.citations[0].doc_id == "000_4f14df6d3ec4a280.txt" and "28%" in answer.citations[0].text


def test_chinese_question_over_a_chinese_report_quotes_its_sentence(bilingual):
    answer = bilingual.ask("星河半导体新晶圆厂总投资多少？", answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "65亿元" in answer.text
    assert answer.citations[0].text.startswith("公司计划在苏州新建")


def test_chinese_question_with_no_answer_in_the_reports_abstains(bilingual):
    answer = bilingual.ask("星河半导体2026年的研发费用是多少？", answerer="extractive")
    assert answer.abstained


def test_chinese_counts_support_their_english_forms():
    """A FinCUGE dev sentence: 1.09亿股 is 109 million shares; a claim moving the figure is still caught."""
    from rag.evidence import claim_problems
    from rag.glossary import load_glossary

    sentence = "截至本公告日，郝镇熙累计质押股数约为1.09亿股，占其所持股份比例为91.89%。"
    glossary = load_glossary()
    assert claim_problems("Hao Zhenxi has pledged 109 million shares, 91.89% of his holding.", sentence, "", glossary
                          ) == ["name Hao", "name Zhenxi"]  # a romanised name is not the sentence's: no pass
    assert claim_problems("郝镇熙累计质押1.09亿股。", sentence, "", glossary) == []
    assert claim_problems("郝镇熙累计质押1.9亿股。", sentence, "", glossary) == ["figure 1.9"]


def test_a_chinese_question_names_what_it_asks_for_before_its_question_word():
    from rag.question import QuestionProfile

    assert QuestionProfile.read("星河半导体2026年的研发费用是多少？").chinese_head == "费用"
    assert QuestionProfile.read("宜买车企业融资事件对应的领投方是什么？").chinese_head == "领投方"
    # A kind of answer is looked for as a kind (a date), not as a word.
    assert QuestionProfile.read("正海集团解除质押事件对应的事件时间是什么？").chinese_head == ""
    assert QuestionProfile.read("正海集团解除质押事件对应的事件时间是什么？").wants_date


def test_with_cross_lingual_vectors_a_chinese_question_without_names_finds_the_english_report(tmp_path):
    """RAG_EMBED__CROSS_LINGUAL=true gives English chunks a multilingual vector too: a question that shares
    nothing but a year with the English text is still ranked to its sentence."""
    from rag.assistant import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "000_4f14df6d3ec4a280.txt", corpus)
    settings = make_settings(tmp_path / "index")
    settings.embed.cross_lingual = True
    assistant = Assistant.from_settings(settings)
    assistant.ingest([corpus])
    english_chunks = assistant.catalog.chunk_ids()
    assert set(assistant.store.multilingual_vectors(english_chunks)) == set(english_chunks)
    question = "2024年中国占全球半导体销售额的比例是多少？"
    assert any("28%" in h.text for h in assistant.search(question, k=5))
    answer = assistant.ask(question, answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "28%" in answer.citations[0].text


def test_the_per_question_language_lookup_uses_an_index_not_a_scan(tmp_path):
    """Every English question asks whether any chunk is Chinese; a scan would grow with the corpus."""
    from rag.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.sqlite")
    plan = catalog._query("EXPLAIN QUERY PLAN SELECT 1 FROM chunks c JOIN documents d USING (doc_id) "
                          "WHERE c.lang = 'zh' AND d.status = 'ready' LIMIT 1")
    assert any("USING INDEX chunks_zh" in row[-1] for row in plan), plan
    assert catalog.holds_chinese() is False


@pytest.mark.parametrize("text", [
    "Accounts Receivable",                                     # a TAT-QA heading
    "Total revenue for the year ended December 31, 2019 was $1,234.5 million, up 12% year-on-year.",
    "长江实业集团宣布以252亿元收购英国Greene King公司",           # FinCUGE-style: Hanzi runs around Latin words
    "营收", "",
])
def test_the_short_chunk_check_counts_as_bm25_does_without_reading_past_the_limit(text):
    from rag.lexical import has_fewer_tokens

    count = len(lexical_tokens(text, keep_stop_words=True))
    for limit in range(0, count + 3):
        assert has_fewer_tokens(text, limit) == (count < limit), (text, limit)
