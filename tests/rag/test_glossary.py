"""The glossary: how its lines are read, what a question's words may stand for, and that a team's own file
changes what the answerer accepts, over a real index."""

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


REPORT = ("Memory\n\nAI-driven demand is expected to accelerate growth, with the bit demand for DRAM in 2026 likely "
          "to increase by 26% year-on-year. NAND prices rose by over 40%.\n")
# "How much ... capacity" must be answered by a figure about capacity: "bit demand" counts only through the
# glossary's "memory capacity => bit demand".
QUESTION = "How much more memory capacity will be needed in 2026?"


def test_a_question_in_other_words_is_answered_through_the_glossary(fresh_assistant, tmp_path):
    (tmp_path / "memory.txt").write_text(REPORT, encoding="utf-8")
    fresh_assistant.ingest([tmp_path / "memory.txt"])
    answer = fresh_assistant.ask(QUESTION, answerer="extractive")
    assert not answer.abstained, answer.warnings
    assert "26%" in answer.text


@pytest.mark.parametrize(("entries", "answered"), [
    ("capex = capital expenditure\n", False),
    ("capex = capital expenditure\nmemory capacity => bit demand, bit supply\n", True),
])
def test_a_teams_own_glossary_replaces_the_packaged_one(tmp_path, entries, answered):
    from rag.assistant import Assistant

    own = tmp_path / "glossary.txt"
    own.write_text(entries, encoding="utf-8")
    (tmp_path / "memory.txt").write_text(REPORT, encoding="utf-8")
    assistant = Assistant.from_settings(make_settings(tmp_path / "index", answer={"glossary_path": str(own)}))
    assistant.ingest([tmp_path / "memory.txt"])
    answer = assistant.ask(QUESTION, answerer="extractive")
    assert answer.abstained is not answered, (answer.text, answer.warnings)


def test_a_bad_glossary_in_the_settings_is_a_clear_error(tmp_path):
    from rag.assistant import Assistant

    own = tmp_path / "glossary.txt"
    own.write_text("capex = capital expenditure\nmemory\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match="glossary.txt:2"):
        _ = Assistant.from_settings(make_settings(tmp_path / "index", answer={"glossary_path": str(own)})).extractive
