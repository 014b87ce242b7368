"""Answers over the sample report with the extractive answerer: the right figure, cited to a passage that
contains it, and abstention when the report does not say. Real embedder, real Chroma."""

from pathlib import Path

import pytest

from rag.errors import BadQuestionError, EmptyIndexError
from tests.conftest import write_injected_report

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
    ("How much more memory capacity will be needed worldwide in 2026?", "26%"),
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


def test_missing_local_model_is_a_clear_error(assistant, tmp_path, monkeypatch):
    from rag.errors import AnswererError

    monkeypatch.setattr(assistant.settings.llm, "model_path", str(tmp_path / "missing.gguf"))
    monkeypatch.setattr(assistant, "_answerers", {})
    with pytest.raises(AnswererError, match="missing.gguf"):
        assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="local")


def test_unreachable_openai_endpoint_falls_back_to_extractive(assistant, monkeypatch):
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(assistant.settings.llm, "openai_base_url", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setattr(assistant, "_answerers", {})
    answer = assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="openai")
    assert answer.answerer == "extractive" and "1Q26" in answer.text
    assert any("answered extractively" in w for w in answer.warnings)


def test_instructions_inside_a_document_are_not_followed(fresh_assistant, tmp_path):
    fresh_assistant.ingest([write_injected_report(tmp_path)])
    answer = fresh_assistant.ask("What revenue growth does Acme Robotics expect in 2026?", answerer="extractive")
    assert "12%" in answer.text and "confidential" not in answer.text


class CannedModel:
    """A generative model that always says the same thing and records the prompts it was given."""

    name = "local"

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def generate(self, messages, on_token=None):
        self.prompts.append(messages[-1]["content"])
        return self.reply


def test_model_citing_a_sentence_about_another_year_is_not_trusted(assistant, monkeypatch):
    # 40% is in the passage, so the figure check alone would pass; but that sentence is about 2025.
    model = CannedModel("The NAND price index will rise by over 40% in 2026 [1].")
    monkeypatch.setitem(assistant._answerers, "local", model)
    answer = assistant.ask("How much will the NAND price index rise in 2026?", answerer="local")
    assert len(model.prompts) == 2, "one repair attempt before falling back"
    assert answer.answerer == "extractive"
    assert any("does not state what the question asks for" in w for w in answer.warnings)
    assert "over 40% in 2026" not in answer.text


def test_model_citing_a_sentence_about_another_name_is_not_trusted(assistant, monkeypatch):
    # The passage holds both memories; the sentence with 40% is about NAND's price index, not DRAM prices.
    model = CannedModel("DRAM prices rose by over 40% from September to December [1].")
    monkeypatch.setitem(assistant._answerers, "local", model)
    answer = assistant.ask("How much did DRAM prices rise from September to December 2025?", answerer="local")
    assert len(model.prompts) == 2, "one repair attempt before falling back"
    assert any("does not state what the question asks for" in w for w in answer.warnings)
    assert answer.abstained, answer.text


def test_model_figure_from_the_wrong_sentence_of_a_cited_passage_is_not_trusted(assistant, monkeypatch):
    """The 1.5B model answered "since 3Q25" citing a passage that does hold 3Q25, in a sentence about the
    market's consensus; the cycle's bottom was the second half of 2023."""
    import re

    question = "When did the electronics industry cycle hit bottom and rebound?"
    probe = CannedModel("NOT_IN_REPORTS")
    monkeypatch.setitem(assistant._answerers, "local", probe)
    assistant.ask(question, answerer="local")
    [n] = [n for n, text in re.findall(r"\[(\d+)\] ([^\[]*)", probe.prompts[0]) if "3Q25" in text][:1]
    model = CannedModel(f"The electronics industry cycle hit bottom and rebounded since 3Q25 [{n}].")
    monkeypatch.setitem(assistant._answerers, "local", model)
    answer = assistant.ask(question, answerer="local")
    assert answer.answerer == "extractive" and not answer.abstained
    assert "second half of 2023" in answer.text and "3Q25" not in answer.text
    assert any("figure(s) 3Q25 not in the sentence that answers" in w for w in answer.warnings), answer.warnings


def test_model_saying_in_words_that_the_passages_lack_the_answer_abstains(assistant, monkeypatch):
    model = CannedModel("Luxshare Precision Industry's dividend yield is not provided in the given passages. [1]")
    monkeypatch.setitem(assistant._answerers, "local", model)
    answer = assistant.ask("What dividend yield does the bank expect for Luxshare Precision Industry?",
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


def test_model_answer_with_an_invented_figure_falls_back_to_extractive(assistant, monkeypatch):
    model = CannedModel("Global AI server shipments will grow 35% in 2026 [1].")
    monkeypatch.setitem(assistant._answerers, "local", model)
    answer = assistant.ask("How much will global AI server shipments grow in 2026?", answerer="local")
    assert answer.answerer == "extractive" and "20.9%" in answer.text and "35%" not in answer.text
    assert any("35" in w for w in answer.warnings)


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


@pytest.mark.parametrize(("question", "measured", "percent"), [
    ("By how much are DRAM contract prices expected to rise in 2026?", ["pric"], False),
    ("How much had the semiconductor sub-index risen as of December 16?", ["sub", "index"], False),
    ("How fast is the market for chips expected to grow?", ["market"], True),
    ("What exact growth rate does WSTS forecast for 2026?", [], True),
    ("For how many consecutive quarters have sales grown year-on-year?", [], False),
    ("How much does Guosen think the market will grow?", ["market"], False),
    ("How much do analysts expect DRAM prices to rise?", ["pric"], False),
    ("How much will shipments to China fall?", ["shipment"], False),
    ("Which company has the largest share of the foundry market?", [], False),  # a name, not a percentage
    ("Since when has the AI chain's performance been a consensus?", [], False),  # a date
    ("What is the current ratio?", [], False),  # 1.2, not a percentage
])
def test_question_profile_names_what_is_measured(question, measured, percent):
    from rag.answer import QuestionProfile

    profile = QuestionProfile(question)
    assert profile.measured == measured
    assert profile.wants_percent is percent


@pytest.mark.parametrize(("text", "expected"), [
    ("margins widened 25bps", True), ("a 50bp cut", True), ("up 3pp", True), ("up 2 ppt", True),
    ("增长15％", True), ("增长百分之五", True), ("trades at 1.2x", True), ("20.9%", True),
    ("double-digit growth in 2026", False), ("shipments of 20 million", False),
])
def test_percentages_in_their_usual_forms(text, expected):
    from rag.answer import has_percent

    assert has_percent(text) is expected


def test_product_codes_are_not_folded_into_their_predecessors():
    from rag.lexical import fold as _fold

    assert _fold("hbm3e") != _fold("hbm3") and _fold("fy25e") == "fy25e"
    assert _fold("prices") == _fold("price") and _fold("increases") == _fold("increased")


def test_a_comparison_quotes_a_sentence_on_each_side(assistant):
    # DRAM's 26% and NAND's 40% are in two sentences, neither of which names the other memory.
    answer = assistant.ask("How do expected 2026 DRAM bit demand growth and the late-2025 NAND price rise compare?",
                           answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "26%" in answer.text and "40%" in answer.text
    assert len(answer.citations) == 2


@pytest.mark.parametrize(("question", "noun", "count"), [
    ("How many AI servers does TrendForce expect to be shipped in 2026?", "server", True),
    ("How many Blackwell and Rubin series GPUs does NVIDIA expect to ship?", "gpus", True),
    ("How many units of the Huawei Mate series were sold?", "unit", True),
    ("How many companies' operating data did the bank's statistics cover?", "compani", True),
    ("How much more memory capacity will the world need in 2026?", "capacity", False),
    ("How much memory will each AI server need?", "memory", False),
    ("How many of Nvidia's accelerators will have shipped?", "", False),  # the count of a part: no noun
    ("How much will the biggest cloud providers spend?", "", False),
    ("How much higher is the gross margin than in 2021?", "", False),
])
def test_question_profile_names_what_is_counted_or_measured(question, noun, count):
    from rag.answer import QuestionProfile

    profile = QuestionProfile(question)
    assert (profile.quantity_noun, profile.wants_count) == (noun, count)


@pytest.mark.parametrize(("text", "expected"), [
    ("the operating data of 146 companies", True), ("to reach 20 million by the end of 26", True),
    ("growth for eight consecutive quarters", True), ("sold 1,200 units", True),
    ("shipments will increase by 20.9%", False), ("over $600 billion in 2026", False),
    ("around 2000W by 2030", False), ("in 1Q26 and 4Q26", False), ("by the end of 26, with", False),
    ("trades at 3 times book", False),
])
def test_counts_are_told_from_rates_money_and_dates(text, expected):
    from rag.answer import has_count

    assert has_count(text) is expected


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


@pytest.mark.parametrize(("question", "per_unit", "metrics", "subject"), [
    ("How much memory will each AI server need in 2026?", ["server"], [], []),
    ("How much power will each server rack draw at peak?", ["server", "rack"], [], []),
    ("What power consumption per GPU does Infineon predict by 2030?", ["gpu"], ["consumption"], []),
    ("Where should one look for information on notes payable?", [], [], []),  # "one" is a pronoun here
    ("How fast will sales grow each year?", [], ["sale"], []),  # a yearly rate, not a figure per year
    ("What is Infineon's revenue forecast for 2030?", [], ["revenu"], []),
    ("What is the localization rate of analog chips in China?", [], [], ["analog", "chip"]),
    ("What was the electronics sector's full-year gain in 2024?", [], [], ["electronic"]),
    ("What slice of the high-speed interconnect chip market will China hold?", [], [],
     ["high", "speed", "interconnect", "chip"]),
    ("What portion of worldwide chip revenue came from China in 2024?", [], ["revenu"], ["worldwid", "chip", "revenu"]),
    ("Which handset line's comeback marked the trough?", [], [], []),  # a name is asked for, not a figure
    ("What demand drivers sit behind the capex jump?", [], ["capex"], []),  # drivers are asked for, not demand
    ("Which shocks preceded the consensus on AI earnings?", [], [], []),  # events are asked for
])
def test_question_profile_names_the_unit_metric_and_subject_of_a_figure(question, per_unit, metrics, subject):
    from rag.answer import QuestionProfile

    profile = QuestionProfile(question)
    assert (profile.per_unit, profile.metrics, profile.subject) == (per_unit, metrics, subject)


def test_the_end_of_the_decade_is_a_year_the_answer_must_name():
    from datetime import date

    from rag.answer import QuestionProfile, fits

    profile = QuestionProfile("What energy draw is one accelerator expected to hit at the end of the decade?",
                              today=date(2026, 11, 28))
    assert profile.years == ["2030"]
    assert fits(profile, "power consumption of a single GPU reaching around 2000W by 2030")
    assert not fits(profile, "power consumption of a single GPU reaching around 1500W by 2028")
    assert QuestionProfile("... by the decade's end?", today=date(2031, 1, 5)).years == ["2040"]


def test_a_misspelt_subject_still_finds_its_sentence():
    from rag.answer import QuestionProfile, names_stated

    profile = QuestionProfile("What is the value of the assumed liabilites from the acquisition?")
    assert names_stated(profile, "The balance sheet includes $58.2 million of assumed liabilities.")
    assert not names_stated(profile, "The balance sheet includes $58.2 million of assumed leases.")


@pytest.mark.parametrize(("written", "short"), [
    ("in Q4 2026?", "in 4Q26?"), ("3Q 2025", "3Q25"), ("Q3'25", "3Q25"), ("Q2 FY25", "2Q25"),
    ("the third quarter of 2025", "the 3Q25"), ("1Q26", "1Q26"), ("Q3 results", "Q3 results"),
    ("FY26 capex", "2026 capex"), ("CY2025", "2025"),
])
def test_quarters_are_read_in_the_brokers_short_form(written, short):
    from rag.answer import quarters_as_written

    assert quarters_as_written(written) == short


def test_names_are_found_as_plurals_as_the_reports_quarters_and_through_the_glossary():
    from rag.answer import QuestionProfile, names_stated

    profile = QuestionProfile("Which Huawei product will be listed in Q4 2026?")
    assert profile.years == ["4q26"]
    assert names_stated(profile, "Huawei plans to list the Atlas 950 SuperPoD in 4Q26.")
    assert QuestionProfile("How many GPUs will NVIDIA ship?").holds("gpus", {"gpu"})
    assert QuestionProfile("How many GPU cards will NVIDIA ship?").holds("gpu", {"gpus"})
    # The country and its adjective are one name; another country is not.
    assert names_stated(QuestionProfile("How long has China's tech sector been building up?"),
                        "the Chinese technology industry, after more than 5 years of accumulation")
    assert not names_stated(QuestionProfile("How long has Japan's tech sector been building up?"),
                            "the Chinese technology industry, after more than 5 years of accumulation")


@pytest.mark.parametrize(("question", "number", "percent", "reason"), [
    ("What's the expected ASP of an AI server in 2026?", True, False, False),  # "What's" is "What is"
    ("What was global semiconductor sales growth YoY in 2024, in %?", True, True, False),
    ("Why did China's chip self-sufficiency slip in 2024?", False, False, True),
    ("What reason does the report give for TI's return to growth?", False, False, True),
    ("What caused the increase in interest income?", False, False, True),
    ("What is the interest income?", True, False, False),
])
def test_question_profile_reads_figure_percent_and_reason_questions(question, number, percent, reason):
    from rag.answer import QuestionProfile

    profile = QuestionProfile(question)
    assert (profile.wants_number, profile.wants_percent, profile.wants_reason) == (number, percent, reason)


def test_a_reason_is_answered_by_a_sentence_that_gives_one():
    from rag.answer import QuestionProfile, fits

    profile = QuestionProfile("What reason does the report give for TI's and ADI's return to revenue growth?")
    assert not fits(profile, "Major companies such as TI and ADI saw year-on-year revenue growth in 2025.")
    assert fits(profile, "TI and ADI returned to revenue growth in 2025, driven by restocking in industrial markets.")


def test_a_fiscal_year_finds_the_calendar_year_and_the_reports_fy():
    from rag.answer import QuestionProfile, fits

    profile = QuestionProfile("What capex does TrendForce expect for FY26?")
    assert profile.years == ["2026"]
    assert fits(profile, "capex of the top eight CSPs will reach over $600 billion in 2026")
    assert fits(profile, "FY26 capex is set at $600 billion")
    assert not fits(profile, "capex of the top eight CSPs reached $450 billion in 2025")


def test_a_quarter_in_words_is_the_same_quarter_in_short_form():
    from rag.answer import QuestionProfile, fits

    profile = QuestionProfile("What was the goodwill impairment charge in the fourth quarter of 2019?")
    assert fits(profile, "We recorded a goodwill impairment charge of $1.9 million in the fourth quarter of 2019.")
    assert fits(profile, "We recorded a goodwill impairment charge of $1.9 million in 4Q19.")
    assert not fits(profile, "We recorded a goodwill impairment charge of $14.7 million in the third quarter of 2019.")
