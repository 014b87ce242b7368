"""The glossary: how its lines are read, what a question's words may stand for, and that a team's own file
changes what the answerer accepts, over a real index."""

import re

import pytest

from rag.glossary import Glossary, GlossaryError, load_glossary
from tests.conftest import make_settings


def test_equal_terms_stand_for_each_other_and_a_broad_term_for_its_narrower_ones_only():
    glossary = Glossary.parse("capex = capital expenditure\naccelerator => GPU, ASIC\n", "g.txt")
    assert glossary.expansions(["capex"]) == {"capex": [("capital", "expenditur")]}
    assert glossary.expansions(["capital", "expenditur"])["capital"] == [("capex",)]
    assert glossary.expansions(["accelerator"]) == {"accelerator": [("asic",), ("gpu",)]}
    # A question about GPUs is not answered by a sentence about accelerators, which may be ASICs.
    assert glossary.expansions(["gpu"]) == {}


def test_a_phrase_keeps_its_small_words():
    from rag.glossary import phrase_in

    yoy = Glossary.parse("year-on-year = yoy\n", "g.txt").expansions(["yoy"])["yoy"]
    assert yoy == [("year", "on", "year")]
    assert not phrase_in(yoy[0], {"year", "2026"})  # "a year of harvest" says nothing year-on-year
    assert phrase_in(yoy[0], {"year", "on", "increase"})


def test_a_short_plural_in_the_question_matches_its_entry():
    glossary = Glossary.parse("LLM = large model\n", "g.txt")
    assert glossary.expansions(["llms"]) == {"llms": [("larg", "model")]}


def test_phrases_match_only_as_a_whole_and_in_order():
    glossary = Glossary.parse("energy draw = power consumption\n", "g.txt")
    assert "energy" in glossary.expansions(["energy", "draw"])
    assert glossary.expansions(["draw", "energy"]) == {}
    assert glossary.expansions(["energy", "efficiency"]) == {}


@pytest.mark.parametrize(("text", "message"), [
    ("capex\n", "g.txt:1: expected 'a = b'"),
    ("# terms\n\nmemory => DRAM = HBM\n", "g.txt:3: one '=>' per line"),
    ("capex =\n", "g.txt:1: a term has no words to match: (blank)"),
    ("capex = %\n", "g.txt:1: a term has no words to match: %"),
])
def test_malformed_lines_name_the_file_and_line(text, message):
    with pytest.raises(GlossaryError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Glossary.parse(text, "g.txt")


def test_the_packaged_glossary_loads_and_a_missing_file_is_a_clear_error(tmp_path):
    assert load_glossary().expansions(["capex"])
    with pytest.raises(GlossaryError, match="cannot read the glossary .*nope.txt"):
        load_glossary(str(tmp_path / "nope.txt"))


# TAT-QA dev (BCE's 2019 annual report): the question's "capex" and "year on year" are the report's "capital
# spending" and "year over year".
BCE = ("Capital expenditures\n\nWireline capital spending was $96 million higher year over year, mainly due to the "
       "timing of our spending.\n")


def test_a_question_in_other_words_is_answered_through_the_glossary(fresh_assistant, tmp_path):
    (tmp_path / "bce.txt").write_text(BCE, encoding="utf-8")
    fresh_assistant.ingest([tmp_path / "bce.txt"])
    answer = fresh_assistant.ask("How much higher was Wireline capex year on year?", answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "$96 million" in answer.text


# Each entry of the packaged glossary, on a sentence of a filing or an annual report (TAT-QA dev unless named).
ENTRIES = [
    ("How much did BCE's net earnings grow in Q4 2019?", "grow",
     "BCE net earnings increased by 12.6% in Q4 2019, compared to Q4 2018."),
    ("How far did normalised gross profit fall?", "fall",
     "Normalised gross profit declined by 54 bps reflecting business mix."),
    ("What does SGRE forecast for onshore wind installations?", "forecast",
     "SGRE expects global onshore wind installations to grow clearly in fiscal 2020."),
    ("How are worldwide wind installations expected to grow?", "worldwide",
     "SGRE expects global onshore wind installations to grow clearly in fiscal 2020."),
    ("Was Bell Wireline stable YoY?", "yoy", "Bell Wireline remained stable year over year."),
    ("How much did MSA revenue increase?", "revenue", "MSA net sales increased by $13.8 million."),
    ("How much did BCE's net income grow in Q4 2019?", "income",
     "BCE net earnings increased by 12.6% in Q4 2019, compared to Q4 2018."),
    ("What was the operating income on Kyocera resale products?", "income",
     "During fiscal 2019 sales of Kyocera resale products were $18,951, and related operating profit was $3,300."),
    ("What was the cost of sales for license and subscription?", "sale",
     "Cost of revenue: License and subscription | 2019 Amount: $ 64,798"),
    ("How much higher was Wireline capex?", "capex", "Wireline capital spending was $96 million higher year over year."),
    ("What was the adjusted earnings per share in Q4 2019?", "earnings",
     "Adjusted EPS decreased to $0.88, from $0.89 in Q4 2018."),
    ("What tariff expense did goods from China bring?", "china",
     "Fiscal 2019 includes net tariff expense on imported Chinese goods of $2.3 million."),
    ("Which currencies besides Japan's yen are hedged?", "japan",
     "Peso, Australian Dollar, Brazilian Real, British Pound, Canadian Dollar, Euro, Japanese Yen."),
]


@pytest.mark.parametrize(("question", "term", "sentence"), ENTRIES)
def test_each_packaged_entry_holds_on_a_real_report(question, term, sentence):
    from rag.lexical import fold
    from rag.normalise import token_set
    from rag.question import QuestionProfile

    profile = QuestionProfile.read(question)
    assert fold(term) not in token_set(sentence), "the example must need the glossary"
    assert profile.covers(fold(term), token_set(sentence))


def test_every_line_of_the_packaged_glossary_has_an_example_above():
    """A new entry comes with its example from a real report; a country and its adjective are one rule."""
    from rag.glossary import PACKAGED_GLOSSARY, phrase_of
    from rag.lexical import fold

    examples = {fold(term) for _, term, _ in ENTRIES}
    without = []
    for raw in PACKAGED_GLOSSARY.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or re.fullmatch(r"[A-Z][a-z]+ = [A-Z][a-z]+", line):
            continue
        terms = re.split(r"=>|=|,", line)
        if not any(set(phrase_of(t)) & examples for t in terms):
            without.append(line)
    assert not without, f"glossary lines without an example: {without}"


STAFF = "People\n\nThe company had 4,210 employees at the end of 2019, up from 3,900 in 2018.\n"
QUESTION = "How many staff did the company have at the end of 2019?"


@pytest.mark.parametrize(("entries", "answered"), [
    ("capex = capital expenditure\n", False),
    ("capex = capital expenditure\nstaff => employees\n", True),
])
def test_a_teams_own_glossary_replaces_the_packaged_one(tmp_path, entries, answered):
    from rag.assistant import Assistant

    own = tmp_path / "glossary.txt"
    own.write_text(entries, encoding="utf-8")
    (tmp_path / "people.txt").write_text(STAFF, encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "index", answer={"glossary_path": str(own)}))
    assistant.ingest([tmp_path / "people.txt"])
    answer = assistant.ask(QUESTION, answerer="extractive")
    assert answer.abstained is not answered, (answer.text, answer.warnings)


def test_a_bad_glossary_in_the_settings_is_a_clear_error(tmp_path):
    from rag.assistant import Assistant

    own = tmp_path / "glossary.txt"
    own.write_text("capex = capital expenditure\nstaff\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match="glossary.txt:2"):
        _ = Assistant.from_settings(make_settings(tmp_path / "index", answer={"glossary_path": str(own)})).glossary
