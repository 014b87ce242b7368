"""Vocabulary: the words of financial language the answer stage reads as data rather than writes as code (metric
words, the units a figure is written with, the scales of a table). Entries live in vocabulary.txt, whose header
explains its sections; question.py, evidence.py, cite.py and calculate.py read their word lists from it once,
at import."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from rag.data_files import read_data_file
from rag.errors import RagError

PACKAGED_VOCABULARY = Path(__file__).resolve().with_name("vocabulary.txt")

# Each section the code reads, and how its lines are written: "words" lines hold words apart by spaces, "pairs"
# lines say `word = meaning`. A section the code does not read is a mistake (a typo would silently drop a list).
SECTIONS: dict[str, Literal["words", "pairs"]] = {
    "metric words": "words",
    "not figure heads": "words",
    "generic subjects": "words",
    "qualifiers": "words",
    "period words": "words",
    "generic units": "words",
    "amount words": "words",
    "figure units": "words",
    "table scales": "pairs",
    "counting scales": "pairs",
}


# How a meaning is written in each section of pairs: a table scale is named by its word ("thousand"), a Chinese
# count word as a multiple of one ("100 million").
_MEANINGS = {"table scales": re.compile(r"thousand|million|billion"),
             "counting scales": re.compile(r"[1-9]\d* (?:thousand|million|billion)")}


class VocabularyError(RagError):
    """A vocabulary file could not be read or has a malformed line."""


@dataclass(frozen=True)
class Vocabulary:
    # Section -> entry -> its meaning ("" in a section of words), in the file's order.
    entries: MappingProxyType[str, MappingProxyType[str, str]]

    @classmethod
    def parse(cls, text: str, source: str) -> Vocabulary:
        found: dict[str, dict[str, str]] = {name: {} for name in SECTIONS}
        section = ""
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            where = f"{source}:{number}"
            if not line:
                continue
            if line.startswith("["):
                section = line.strip("[]").strip()
                if not line.endswith("]") or section not in SECTIONS:
                    raise VocabularyError(f"{where}: unknown section {line!r}; the sections are {', '.join(SECTIONS)}")
                continue
            if not section:
                raise VocabularyError(f"{where}: an entry before any [section]: {raw.strip()!r}")
            if SECTIONS[section] == "pairs":
                word, equals, meaning = (part.strip() for part in line.partition("="))
                if not equals or not word or " " in word or not _MEANINGS[section].fullmatch(meaning):
                    raise VocabularyError(f"{where}: expected 'word = {_MEANINGS[section].pattern}' in [{section}]: "
                                          f"{raw.strip()!r}")
                pairs = [(word, meaning)]
            else:
                if "=" in line:
                    raise VocabularyError(f"{where}: [{section}] holds words apart by spaces, not '=': {raw.strip()!r}")
                pairs = [(word, "") for word in line.split()]
            for word, meaning in pairs:
                if word in found[section]:
                    raise VocabularyError(f"{where}: {word!r} is already in [{section}]")
                found[section][word] = meaning
        return cls(MappingProxyType({name: MappingProxyType(words) for name, words in found.items()}))

    def words(self, section: str) -> frozenset[str]:
        """The entries of a section, as written."""
        return frozenset(self.entries[section])

    def meanings(self, section: str) -> dict[str, str]:
        """Entry -> meaning, for a section of `word = meaning` lines."""
        return dict(self.entries[section])


@lru_cache(maxsize=8)
def vocabulary(path: str | None = None) -> Vocabulary:
    """The vocabulary in the file at `path`, else the packaged one; read once."""
    return Vocabulary.parse(*read_data_file(path, PACKAGED_VOCABULARY, VocabularyError, "vocabulary"))
