"""The vocabulary: how rag/vocabulary.txt is read, and each of its entries shown doing what it is there for on a
question about, or a sentence of, a filing or an annual report (TAT-QA dev, FinanceBench dev) or Chinese
financial news (FinCUGE dev), never on the sample broker report."""

import pytest

from rag.vocabulary import SECTIONS, Vocabulary, VocabularyError, vocabulary


def test_sections_of_words_and_of_pairs_are_read_in_order():
    parsed = Vocabulary.parse("[qualifiers]\nyoy  ytd # to date\nttm\n[table scales]\nthousands = thousand\n", "v.txt")
    assert list(parsed.entries["qualifiers"]) == ["yoy", "ytd", "ttm"]
    assert parsed.meanings("table scales") == {"thousands": "thousand"}
    assert parsed.words("metric words") == frozenset()


@pytest.mark.parametrize(("text", "message"), [
    ("yoy\n", "v.txt:1: an entry before any [section]"),
    ("# words\n[metric word]\nrevenue\n", "v.txt:2: unknown section '[metric word]'"),
    ("[qualifiers\nyoy\n", "v.txt:1: unknown section"),
    ("[qualifiers]\nyoy = year on year\n", "v.txt:2: [qualifiers] holds words apart by spaces"),
    ("[table scales]\nthousands\n", "v.txt:2: expected 'word = "),
    ("[counting scales]\n万 = ten thousand\n", "v.txt:2: expected 'word = "),
    ("[qualifiers]\nyoy ttm\n\nyoy\n", "v.txt:4: 'yoy' is already in [qualifiers]"),
])
def test_malformed_lines_name_the_file_and_line(text, message):
    with pytest.raises(VocabularyError, match=message.replace("[", r"\[").replace("(", r"\(")):
        Vocabulary.parse(text, "v.txt")


def test_the_packaged_vocabulary_fills_every_section_and_a_missing_file_is_a_clear_error(tmp_path):
    assert all(vocabulary().entries[section] for section in SECTIONS)
    with pytest.raises(VocabularyError, match="cannot read the vocabulary file .*nope.txt"):
        vocabulary(str(tmp_path / "nope.txt"))
