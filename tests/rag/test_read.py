"""Reading a question: once per answer, into a frozen record that retrieval, the answerers and the checks all
get, over a real index."""

from dataclasses import FrozenInstanceError

import pytest

from rag.question import QuestionProfile

# TAT-QA dev (BCE's 2019 annual report), and the header of a broker note on another company (made up in the
# layout the loader reads: title line, publisher, date).
BCE = ("Capital expenditures\n\nWireline capital spending was $96 million higher year over year, mainly due to the "
       "timing of our spending.\n\nWireless capital spending was $52 million lower year over year.\n")
NOTE = ("Northwind Securities: BCE Inc. (BCE) Q4 2019 review\n\nPublisher: Northwind Securities\nDate: 2020-02-07\n\n"
        "BCE's wireline capital spending was $96 million higher year over year in 2019.\n")


@pytest.fixture
def reads(monkeypatch):
    """Every question text QuestionProfile.read is called with."""
    seen: list[str] = []
    original = QuestionProfile.read.__func__

    def counting(cls, question, glossary=None):
        seen.append(question)
        return original(cls, question, glossary)

    monkeypatch.setattr(QuestionProfile, "read", classmethod(counting))
    return seen


def test_a_question_is_read_once_whichever_reader_answers(fresh_llm_assistant, fake_llm, reads, tmp_path):
    (tmp_path / "bce.txt").write_text(BCE, encoding="utf-8")
    fresh_llm_assistant.ingest([tmp_path / "bce.txt"])

    question = "How much higher was Wireline capital spending year over year?"
    quoted = fresh_llm_assistant.ask(question, answerer="extractive")
    assert not quoted.abstained and "$96 million" in quoted.text, quoted.warnings
    assert reads == [question]

    # The model's answer is checked, and the extractive reader gives its second opinion, on the same record.
    reads.clear()
    fake_llm.reply = "Wireline capital spending was $96 million higher year over year [{n:Wireline}]."
    read = fresh_llm_assistant.ask(question, answerer="local")
    assert read.answerer == "local" and "$96 million" in read.text, read.warnings
    assert reads == [question]

    # A model answer that fails its checks falls back to the extractive reader, still without reading again.
    reads.clear()
    fake_llm.reply = "Wireline capital spending was $69 million higher year over year [{n:Wireline}]."
    fallen_back = fresh_llm_assistant.ask(question, answerer="local")
    assert fallen_back.answerer == "extractive" and "$96 million" in fallen_back.text, fallen_back.warnings
    assert reads == [question]


def test_the_question_record_cannot_be_changed_by_a_stage(fresh_assistant):
    question = fresh_assistant.read("  What was Wireless capital spending in 2019?  ")
    assert question.text == "What was Wireless capital spending in 2019?"
    assert question.profile.years == ("2019",)
    with pytest.raises(FrozenInstanceError):
        question.profile.years = ()  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        question.text = "another question"  # type: ignore[misc]


@pytest.mark.parametrize(("text", "asks"), [
    ("When was this note published?", "date"),
    ("Whose report is this?", "broker"),
    ("Who published the BCE review?", "publisher"),
    ("What was BCE's wireline capital spending in 2019?", ""),
])
def test_what_a_question_about_the_report_asks_is_read_with_the_rest(fresh_assistant, text, asks):
    assert fresh_assistant.read(text).profile.about_report == asks


def test_a_question_about_the_report_is_answered_from_its_header_by_every_reader(fresh_llm_assistant, fake_llm,
                                                                              tmp_path):
    (tmp_path / "note.txt").write_text(NOTE, encoding="utf-8")
    fresh_llm_assistant.ingest([tmp_path / "note.txt"])
    fake_llm.reply = "NOT_IN_REPORTS"
    for answerer in ("extractive", "local"):
        answer = fresh_llm_assistant.ask("Who published the BCE review?", answerer=answerer)
        assert answer.text == "The report is published by Northwind Securities [1].", (answerer, answer.warnings)
        assert answer.citations[0].text == "Northwind Securities"
    # The model was never asked: who published a report is read from its header, not generated.
    assert fake_llm.calls == []
