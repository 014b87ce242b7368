"""Answers over the sample report with the extractive answerer: the right figure, cited to a passage that
contains it, and abstention when the report does not say. Real embedder, real Chroma."""

from pathlib import Path

import pytest

from rag.answer import in_report_notation
from rag.errors import BadQuestionError, EmptyIndexError
from tests.conftest import make_settings, write_injected_report

ANSWERABLE = [
    ("How much will global AI server shipments grow in 2026?", "20.9%"),
    ("When will Huawei launch the Ascend 950PR?", "1Q26"),
    ("When will the Atlas 950 SuperPoD be listed?", "4Q26"),
    ("How much will the capital expenditure of the top eight CSPs grow in 2026?", "40%"),
    ("How many Blackwell and Rubin GPUs does NVIDIA expect to ship by the end of 26?", "20 million"),
    ("What is the total order value NVIDIA expects for Blackwell and Rubin GPUs?", "$500 billion"),
    ("How much is DRAM bit demand expected to increase in 2026?", "26%"),
    ("What CAGR does the bank forecast for the global high-speed interconnect chip market?", "21.2%"),
    ("What will the power consumption of a single GPU reach by 2030?", "2000W"),
    ("What will the peak power consumption of a rack exceed?", "300kW"),
    ("What share of global semiconductor sales did China account for in 2024?", "28%"),
    ("What was China's local semiconductor supply ratio?", "4.5%"),
    ("How much has the electronics industry risen as of December 16?", "40.22%"),
    ("How many companies' operating data did the bank analyse?", "146"),
    ("What was the highest quarterly revenue share in 2025?", "54%"),
    ("How much did the NAND price index rise from September to December?", "40%"),
    # In other words than the report's, through the glossary ("memory capacity" / "bit demand for DRAM").
    ("How much power will each server rack draw at peak?", "300kW"),
]

UNANSWERABLE = [
    "What is Cambricon's revenue in 2025?",
    "What is the target price for Luxshare Precision Industry?",
    "How many GPUs will NVIDIA ship in 2027?",
    "How many units of the Huawei Mate series were sold?",
    "What is the dividend yield of Xiaomi Group?",
    "What was China's semiconductor self-sufficiency rate in 2023?",
    # Near misses: the report has a figure close by, about something else.
    "What growth rate does WSTS expect for semiconductors in 2026?",  # it says "double-digit growth" only
    "How much are DRAM contract prices expected to rise in 2026?",  # its 26% is DRAM bit demand
    "How much had the semiconductor index risen as of December 16?",  # its 40.22% is the electronics industry
    # The figure sits next to the name, in a sentence about something else.
    "How much did DRAM prices rise from September to December 2025?",  # its 40% is the NAND price index
    "How many AI servers does TrendForce expect to be shipped in 2026?",  # it gives their growth, 20.9%
    "How much memory will each AI server need in 2026?",  # nothing about memory per server
    "How much DRAM will each AI server need in 2026?",  # its 26% is total DRAM bit demand
    "What is the memory demand per AI server in 2026?",  # ... and 20.9% is the growth of server shipments
    "What revenue does Infineon forecast for 2030?",  # Infineon's forecast is of GPU power consumption
    "Measured in dollar terms, what semiconductor revenue did China account for in 2024?",  # 28% is a share
    "What is the local supply ratio of analog chips in China?",  # 4.5% is for all semiconductors
]


def _norm(text: str) -> str:
    return text.replace(",", "").lower()


@pytest.mark.parametrize(("question", "figure"), ANSWERABLE)
def test_answer_has_the_figure_and_cites_a_passage_containing_it(assistant, question, figure):
    answer = assistant.ask(question, answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert _norm(figure) in _norm(answer.text)
    assert answer.citations, "an answer must cite"
    assert any(_norm(figure) in _norm(c.text) for c in answer.citations)
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        document = Path(c.source).read_text(encoding="utf-8")
        assert document[c.start : c.end] == c.text, "citation offsets must point at the exact text"


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_question_the_report_does_not_answer_abstains(assistant, question):
    answer = assistant.ask(question, answerer="extractive")
    assert answer.abstained, answer.text
    assert answer.citations == []
    assert "do not answer" in answer.text
    assert answer.to_dict()["closest_matches"], "the nearest passages are shown, not cited"


def test_questions_about_the_report_itself(assistant):
    answer = assistant.ask("Who published this article?", answerer="extractive")
    assert "GMT Eight" in answer.text and answer.citations[0].text == "GMT Eight"
    answer = assistant.ask("When was the report published?", answerer="extractive")
    assert "31/12/2025" in answer.text


def test_answer_json_shape(assistant):
    data = assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="extractive", id="q1").to_dict()
    assert data["id"] == "q1" and data["answerer"] == "extractive" and data["abstained"] is False
    assert set(data["citations"][0]) == {"n", "chunk_id", "doc_id", "title", "source", "page", "start", "end", "text"}
    assert set(data["timings"]) == {"retrieve_ms", "answer_ms"}


@pytest.mark.parametrize(("question", "message"), [("", "empty"), ("   \n", "empty"), ("x" * 2001, "limit is 2000")])
def test_bad_questions_are_refused(assistant, question, message):
    with pytest.raises(BadQuestionError, match=message):
        assistant.ask(question, answerer="extractive")


def test_empty_index_says_to_ingest_first(fresh_assistant):
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        fresh_assistant.ask("How much will AI server shipments grow?", answerer="extractive")


def test_missing_local_model_is_a_clear_error(sample_index, tmp_path):
    from rag.assistant import Assistant
    from rag.errors import AnswererError

    assistant = Assistant.from_settings(make_settings(sample_index, llm={"model_path": str(tmp_path / "missing.gguf")}))
    with pytest.raises(AnswererError, match="missing.gguf"):
        assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="local")
    assistant.catalog.close()


def test_unreachable_openai_endpoint_falls_back_to_extractive(sample_index):
    import socket

    from rag.assistant import Assistant

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assistant = Assistant.from_settings(make_settings(sample_index,
                                                      llm={"openai_base_url": f"http://127.0.0.1:{port}/v1"}))
    answer = assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="openai")
    assistant.catalog.close()
    assert answer.answerer == "extractive" and "1Q26" in answer.text
    assert any("answered extractively" in w for w in answer.warnings)


def test_instructions_inside_a_document_are_not_followed(fresh_assistant, tmp_path):
    fresh_assistant.ingest([write_injected_report(tmp_path)])
    answer = fresh_assistant.ask("What revenue growth does Acme Robotics expect in 2026?", answerer="extractive")
    assert "12%" in answer.text and "confidential" not in answer.text


def test_the_model_reads_numbered_sentences_and_its_citation_is_that_sentence(llm_assistant, fake_llm):
    fake_llm.reply = "Huawei plans to launch the Ascend 950PR in 1Q26 [{n:950PR in 1Q26}]."
    answer = llm_assistant.ask("When is Huawei's Ascend 950PR due?", answerer="local")
    assert answer.answerer == "local" and not answer.warnings, answer.warnings
    assert answer.text.endswith("[1].") and len(answer.citations) == 1
    cited = answer.citations[0]
    assert cited.text.startswith("Huawei plans to launch Ascend 950PR in 1Q26") and cited.text.endswith("4Q26.")


def test_model_moving_a_figure_to_another_year_is_not_trusted(llm_assistant, fake_llm):
    # 40% is in the cited sentence, but that sentence is not about 2026.
    fake_llm.reply = "The NAND price index will rise by over 40% in 2026 [{n:price index rising}]."
    answer = llm_assistant.ask("How much will the NAND price index rise in 2026?", answerer="local")
    assert len(fake_llm.prompts) == 2, "one repair attempt before falling back"
    assert answer.answerer == "extractive"
    assert any("figure 2026" in w for w in answer.warnings), answer.warnings
    assert "over 40% in 2026" not in answer.text


def test_the_repair_request_follows_the_first_answer_and_the_prompt_stays_in_budget(llm_assistant, fake_llm):
    """The sentences are sent once: the repair is a further turn after the model's first answer, so llama.cpp
    rereads nothing; and no more sentences are shown than the settings allow."""
    fake_llm.reply = "The NAND price index will rise by over 40% in 2026 [{n:price index rising}]."
    llm_assistant.ask("How much will the NAND price index rise in 2026?", answerer="local")
    first, second = fake_llm.calls
    assert second[: len(first)] == first
    assert second[len(first)]["role"] == "assistant" and "rejected" in second[-1]["content"]
    import re

    numbered = re.findall(r"^\[\d+\] ", first[1]["content"], re.M)
    assert 1 <= len(numbered) <= llm_assistant.settings.answer.llm_sentences


def test_model_moving_a_figure_to_another_name_is_not_trusted(llm_assistant, fake_llm):
    # The sentence with 40% is about NAND's price index, not DRAM prices.
    fake_llm.reply = "DRAM prices rose by over 40% from September to December [{n:price index rising}]."
    answer = llm_assistant.ask("How much did DRAM prices rise from September to December 2025?", answerer="local")
    assert len(fake_llm.prompts) == 2, "one repair attempt before falling back"
    assert any("name DRAM" in w for w in answer.warnings), answer.warnings
    assert answer.abstained, answer.text


def test_model_figure_from_a_sentence_about_something_else_is_not_trusted(llm_assistant, fake_llm):
    """A 1.5B model dated the cycle's bottom with a date from a sentence about something else (it once answered
    "since 3Q25", the date of a shift in sentiment); the bottom was the second half of 2023."""
    fake_llm.reply = "The electronics industry cycle hit bottom and rebounded on December 16 [{n:As of December 16}]."
    answer = llm_assistant.ask("When did the electronics industry cycle hit bottom and rebound?", answerer="local")
    assert answer.answerer == "extractive" and "December 16" not in answer.text
    assert any("wording" in w for w in answer.warnings), answer.warnings


def test_model_saying_in_words_that_the_passages_lack_the_answer_abstains(llm_assistant, fake_llm):
    fake_llm.reply = "Luxshare Precision Industry's dividend yield is not provided in the given passages. [1]"
    answer = llm_assistant.ask("What dividend yield does the bank expect for Luxshare Precision Industry?",
                               answerer="local")
    assert answer.abstained and answer.citations == []
    assert any("found no answer" in w for w in answer.warnings)


@pytest.mark.parametrize(("reply", "declines"), [
    ("NOT_IN_REPORTS", True), ("not in reports", True),
    ("The passages do not mention a target price.", True),
    ("The dividend yield is not provided in the given passages. [2]", True),
    ("Shipments will grow 20.9% [1].", False),
    ("Revenue was not disclosed, but margins rose 3% [1].", False),  # a claim with a figure is checked as one
])
def test_model_replies_that_decline(reply, declines):
    from rag.answer import says_not_in_reports

    assert says_not_in_reports(reply) is declines


def test_model_answer_with_an_invented_figure_falls_back_to_extractive(llm_assistant, fake_llm):
    fake_llm.reply = "Global AI server shipments will grow 35% in 2026 [{n:AI server shipments}]."
    answer = llm_assistant.ask("How much will global AI server shipments grow in 2026?", answerer="local")
    assert answer.answerer == "extractive" and "20.9%" in answer.text and "35%" not in answer.text
    assert any("figure 35" in w for w in answer.warnings), answer.warnings


def test_where_the_model_and_the_quote_disagree_the_quote_of_the_best_sentence_wins(fresh_llm_assistant, fake_llm,
                                                                                 monkeypatch, tmp_path):
    # TAT-QA dev (context a5fb7f90): two sentences of one paragraph, each a passable answer to a loose question.
    report = tmp_path / "cms.txt"
    report.write_text(
        "Segment results\n\nSales: CMS sales increased 59% to $328.8 million in fiscal 2019 compared to $207.0 "
        "million in 2018. Adjusted EBITDA: CMS Adjusted EBITDA increased 31% to $34.4 million in 2019 compared to "
        "$26.2 million in 2018.\n", encoding="utf-8")
    fresh_llm_assistant.ingest([report])
    fake_llm.reply = "CMS Adjusted EBITDA increased 31% to $34.4 million in 2019 [{n:Adjusted EBITDA:}]."
    monkeypatch.setattr(fresh_llm_assistant.settings.answer, "max_sentences", 1)
    question = "How much did CMS grow in fiscal 2019?"
    quoted = fresh_llm_assistant.ask(question, answerer="extractive")
    assert "$328.8 million" in quoted.text
    answer = fresh_llm_assistant.ask(question, answerer="local")
    assert answer.answerer == "extractive" and "$328.8 million" in answer.text, answer.warnings
    assert any("best-supported" in w for w in answer.warnings)


def test_no_gate_keyed_to_the_question_s_words_runs_before_the_reader(llm_assistant, fake_llm):
    """Abbreviations and shorthand the report never writes ("YoY", "Sep–Dec '25") reach the model; its answer
    is then checked against the sentence it cites."""
    llm_assistant.ask("How much did the NAND price index run up over Sep–Dec '25, YoY?", answerer="local")
    assert len(fake_llm.prompts) == 1 and "NAND" in fake_llm.prompts[0]


def test_the_langchain_retriever_gives_documents_with_citation_metadata(assistant):
    from langchain_core.retrievers import BaseRetriever

    retriever = assistant.as_langchain_retriever(k=3)
    assert isinstance(retriever, BaseRetriever)
    documents = retriever.invoke("When will Huawei launch the Ascend 950PR?")
    assert len(documents) == 3
    first = documents[0]
    assert "950PR" in first.page_content
    assert {"doc_id", "title", "source", "page", "start", "end"} <= set(first.metadata)


def test_question_about_another_report_is_not_answered_from_this_ones_header(assistant):
    answer = assistant.ask("Who published the report on Tesla deliveries?", answerer="extractive")
    assert answer.abstained, answer.text


def test_a_list_question_quotes_the_list_of_its_section(assistant):
    """The report has two "Companies to watch include ..." lists; the one under "AI edge:" answers this."""
    answer = assistant.ask("In AI edge, which companies does the bank say to watch?", answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert len(answer.citations) == 1
    assert "Bestechnic" in answer.text and "Foxconn" not in answer.text


def test_a_line_the_report_repeats_is_quoted_once(assistant):
    answer = assistant.ask("Which year will be a harvest year for local hard technology?", answerer="extractive")
    assert not answer.abstained and "2026" in answer.text
    quoted = [c.text.lower() for c in answer.citations]
    assert sum("spark to a full-blown fire" in q for q in quoted) == 1, quoted


def test_a_comparison_quotes_a_sentence_on_each_side(assistant):
    # DRAM's 26% and NAND's 40% are in two sentences, neither of which names the other memory.
    answer = assistant.ask("How do expected 2026 DRAM bit demand growth and the late-2025 NAND price rise compare?",
                           answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "26%" in answer.text and "40%" in answer.text
    assert len(answer.citations) == 2


def test_joined_subjects_are_each_quoted_and_each_must_be_named(fresh_assistant, tmp_path):
    report = tmp_path / "compensation.txt"
    report.write_text(
        "Stock compensation\n\n"
        "The unrecognized expense related to the ESPP as of December 31, 2019 will be amortized over a "
        "weighted-average period of 2.87 years. The unrecognized expense related to RSUs as of December 31, 2019 "
        "will be amortized over a weighted-average period of 2.69 years. Office leases run for 7 years.\n",
        encoding="utf-8")
    fresh_assistant.ingest([report])
    both = fresh_assistant.ask("Over how many years will the unrecognized expense for the ESPP and RSUs be "
                               "amortized?", answerer="extractive")
    assert not both.abstained, both.warnings
    assert "2.87" in both.text and "2.69" in both.text and len(both.citations) == 2
    # Nothing is said about warrants: half an answer would read as the whole one.
    half = fresh_assistant.ask("Over how many years will the unrecognized expense for RSUs and Warrants be "
                               "amortized?", answerer="extractive")
    assert half.abstained, half.text


def test_the_best_sentence_that_answers_is_quoted_when_a_better_scoring_one_does_not(fresh_assistant, tmp_path):
    # The table's lead-in shares most words with the question but names no currency pair; the next one answers.
    report = tmp_path / "fx.txt"
    report.write_text(
        "Currency\n\n"
        "Average currency exchange rates during FY 2019 for the three major currencies are given below:\n\n"
        "FY 2019 saw volatility in USD-INR, ranging from 64.90 to 74.10, and averaging at 70.07. "
        "The company hedges part of its exposure.\n", encoding="utf-8")
    fresh_assistant.ingest([report])
    answer = fresh_assistant.ask("What was the average USD-INR exchange rate in FY 2019?", answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "70.07" in answer.text and "given below" not in answer.text


def test_the_same_question_asked_at_once_is_answered_once(sample_index):
    """Many callers of one new question (a shared link) wait for the first one's answer instead of each
    retrieving and scoring it again, and all get the same answer."""
    import threading

    from rag.assistant import Assistant
    from tests.conftest import make_settings

    assistant = Assistant.from_settings(make_settings(sample_index))
    retrievals = []
    retrieve = assistant.retrieve

    def counted(*args, **kwargs):
        retrievals.append(threading.get_ident())
        return retrieve(*args, **kwargs)

    assistant.retrieve = counted
    start = threading.Barrier(8)
    answers = []

    def ask():
        start.wait()
        answers.append(assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="extractive"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 8 and len(retrievals) == 1
    assert len({(a.text, tuple(c.text for c in a.citations)) for a in answers}) == 1
    assert "1Q26" in answers[0].text
    assistant.catalog.close()


def test_a_when_answer_giving_only_the_year_of_a_dated_sentence_is_not_trusted(fresh_llm_assistant, fake_llm,
                                                                               tmp_path):
    # TAT-QA dev: an Australian group's capital management note.
    report = tmp_path / "capital.txt"
    report.write_text(
        "Capital management\n\n"
        "On 27 May 2019, the Group completed an off-market share buy-back of 58,733,844 ordinary shares. The "
        "ordinary shares were bought back at $28.94, representing a 14% discount to the Group's market price.\n",
        encoding="utf-8")
    fresh_llm_assistant.ingest([report])
    fake_llm.reply = "The Group completed the off-market share buy-back in 2019 [{n:off-market}]."
    answer = fresh_llm_assistant.ask("When did the Group complete its off-market share buy-back?", answerer="local")
    assert len(fake_llm.prompts) == 2 and "dates it May" in fake_llm.prompts[1]
    assert answer.answerer == "extractive" and "27 May 2019" in answer.text, answer.warnings


@pytest.mark.parametrize(("answer", "sentence", "shown"), [
    # TAT-QA dev (context bcbd7783): the reader's "4Q19" is shown as the report writes it.
    ("Adjusted EBITDA margin rose 0.6 pts to 43.3% in 4Q19 [1].",
     "Adjusted EBITDA margin increased 0.6 pts to 43.3% in Q4 2019, compared to Q4 2018, mainly due to the "
     "favourable impact from the adoption of IFRS 16 in 2019.",
     "Adjusted EBITDA margin rose 0.6 pts to 43.3% in Q4 2019 [1]."),
    # FinanceBench dev, Johnson & Johnson's 8-K: a spelt-out quarter reads on either side and stays.
    ("J&J expects a gain of about $20 billion in Q3 2023 [1].",
     "Johnson & Johnson will present its Consumer Health business as discontinued operations, including a gain "
     "of approximately $20 billion in the third quarter of 2023.",
     "J&J expects a gain of about $20 billion in Q3 2023 [1]."),
    # A quarter the sentence does not name is left for the verifier to judge.
    ("Sales rose in Q3 2019 [1].", "Sales rose in Q4 2019.", "Sales rose in Q3 2019 [1]."),
    # FinCUGE dev, 卓翼科技's first-quarter report: a Chinese quarter is spelt out and stays; so does the
    # reader's code beside it.
    ("Revenue was RMB 647.7 million in Q1 2020 [1].", "2020年第一季度实现营收647,729,880.41元",
     "Revenue was RMB 647.7 million in Q1 2020 [1]."),
    ("Revenue was RMB 647.7 million in Q12020 [1].", "2020Q1实现营收647,729,880.41元",
     "Revenue was RMB 647.7 million in 2020Q1 [1]."),
])
def test_the_reader_s_quarters_are_shown_in_the_report_s_notation(answer, sentence, shown):
    assert in_report_notation(answer, [sentence]) == shown


def test_the_model_reads_only_sentences_near_the_best_one_s_score(fresh_llm_assistant, fake_llm, monkeypatch,
                                                                  tmp_path):
    # TAT-QA dev: Lifeway Foods' market information, and a sentence about something else beside it.
    report = tmp_path / "lifeway.txt"
    report.write_text(
        "Market information\n\n"
        "Our common stock is listed on the Nasdaq Global Market under the symbol LWAY. Trading commenced on "
        "March 29, 1988. The Company's kefir is sold in supermarkets across the United States.\n",
        encoding="utf-8")
    fresh_llm_assistant.ingest([report])
    question = "When did trading in the common stock commence?"
    prompts = {}
    fake_llm.reply = "Trading commenced on March 29, 1988 [{n:Trading commenced}]."
    for ratio in (0.0, 0.5):
        fake_llm.prompts.clear()
        monkeypatch.setattr(fresh_llm_assistant.settings.answer, "llm_min_score_ratio", ratio)
        answer = fresh_llm_assistant.ask(question, answerer="local")
        assert answer.answerer == "local" and "March 29, 1988" in answer.text, answer.warnings
        prompts[ratio] = fake_llm.prompts[0]
    assert "kefir" in prompts[0.0] and "Nasdaq" in prompts[0.0]
    assert "kefir" not in prompts[0.5] and "Nasdaq" not in prompts[0.5] and "Trading commenced" in prompts[0.5]


def test_a_question_joining_two_subjects_reads_a_sentence_on_each_however_far_apart_they_score(
        fresh_llm_assistant, fake_llm, monkeypatch, tmp_path):
    # After TAT-QA dev's stock compensation notes: the second subject's sentence shares few of the question's words.
    report = tmp_path / "compensation.txt"
    report.write_text(
        "Stock compensation\n\n"
        "The unrecognized compensation expense related to the ESPP as of December 31, 2019 will be amortized over "
        "a weighted-average period of 2.87 years. The figure for RSUs is 2.69. Office leases run for 7 years.\n",
        encoding="utf-8")
    fresh_llm_assistant.ingest([report])
    monkeypatch.setattr(fresh_llm_assistant.settings.answer, "llm_min_score_ratio", 0.8)
    prompts = {}
    for subjects in ("the ESPP", "the ESPP and RSUs"):
        fake_llm.prompts.clear()
        fresh_llm_assistant.ask(f"Over how many years will the unrecognized compensation expense for {subjects} be "
                                "amortized?", answerer="local")
        prompts[subjects] = fake_llm.prompts[0]
    assert "RSUs is 2.69" not in prompts["the ESPP"]
    assert "RSUs is 2.69" in prompts["the ESPP and RSUs"] and "2.87 years" in prompts["the ESPP and RSUs"]


def test_sentence_vectors_beyond_the_cache_push_out_the_least_recently_read(assistant):
    from rag.answer import SentenceScorer
    from tests.rag.test_retrieve import CountingEmbedder

    embedder = CountingEmbedder(assistant.embedder)
    scorer = SentenceScorer(embedder, cache_size=3)
    first = ["Shipments grow 20.9% in 2026.", "Ascend 950PR launches in 1Q26.", "Memory stays scarce."]
    scorer._embed(embedder, first)
    scorer._embed(embedder, [first[0], first[2]])
    scorer._embed(embedder, ["Interconnect chips grow at a 21.2% CAGR."])
    embedder.documents.clear()
    scorer._embed(embedder, first)
    assert embedder.documents == [first[1]], "only the least recently read sentence is encoded again"


def test_repeated_questions_are_answered_from_a_cache_of_the_most_recently_asked(sample_index, monkeypatch):
    import rag.assistant
    from rag.assistant import Assistant
    from tests.conftest import make_settings

    monkeypatch.setattr(rag.assistant, "ANSWER_CACHE_SIZE", 2)
    assistant = Assistant.from_settings(make_settings(sample_index))
    a, b, c = ("How much will global AI server shipments grow in 2026?",
               "When will Huawei launch the Ascend 950PR?",
               "What CAGR does the bank forecast for the global high-speed interconnect chip market?")
    for question in (a, b, a, c):  # c pushes out b, the least recently asked, not a
        assistant.ask(question, answerer="extractive")
    # A cached answer is not retrieved again: it reports no retrieval time.
    assert assistant.ask(a, answerer="extractive").timings["retrieve_ms"] == 0.0
    assert assistant.ask(b, answerer="extractive").timings["retrieve_ms"] > 0.0
