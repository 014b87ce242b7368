"""Glossary: the words analysts ask in and the words reports write in ("energy draw of one accelerator" /
"power consumption of a single GPU"). The answerer counts a question's term as present in a sentence that
says it in the report's words. Entries live in glossary.txt (its header explains the two kinds);
AnswerSettings.glossary_path swaps in a team's own file."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from rag.errors import RagError
from rag.lexical import fold, lexical_tokens

PACKAGED_GLOSSARY = Path(__file__).resolve().with_name("glossary.txt")

# Folded tokens: ("power", "consumption"), ("year", "on", "year").
Phrase = tuple[str, ...]


class GlossaryError(RagError):
    """A glossary file could not be read or has a malformed line."""


def phrase_of(text: str) -> Phrase:
    # Stop words stay: without "on", "year-on-year" would be found in any sentence that says "year".
    return tuple(fold(t) for t in lexical_tokens(text, keep_stop_words=True))


def phrase_in(phrase: Phrase, tokens: AbstractSet[str]) -> bool:
    """Whether a sentence's folded tokens hold every word of `phrase`. The light fold leaves short plurals
    alone ("gpus"), so those are tried too."""
    return all(t in tokens or t + "s" in tokens for t in phrase)


@dataclass(frozen=True)
class Glossary:
    # A phrase as a question says it -> the phrases a report may say instead.
    alternatives: dict[Phrase, tuple[Phrase, ...]]

    @classmethod
    def parse(cls, text: str, source: str) -> Glossary:
        found: dict[Phrase, set[Phrase]] = defaultdict(set)
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "=>" in line:
                broad, narrow = line.split("=>", 1)
                if "=" in broad or "=" in narrow:
                    raise GlossaryError(f"{source}:{number}: one '=>' per line, without '=': {raw.strip()!r}")
                left, right = [broad], narrow.split(",")
            elif "=" in line:
                left = right = line.split("=")
            else:
                raise GlossaryError(f"{source}:{number}: expected 'a = b' or 'broad => narrow, ...': {raw.strip()!r}")
            if len(left) + len(right) < 2 + (left is right):
                raise GlossaryError(f"{source}:{number}: needs at least two terms: {raw.strip()!r}")
            phrases = {term: phrase_of(term) for term in [*left, *right]}
            empty = [term.strip() or "(blank)" for term, phrase in phrases.items() if not phrase]
            if empty:
                raise GlossaryError(f"{source}:{number}: a term has no words to match: {', '.join(empty)}")
            for term in left:
                found[phrases[term]].update(phrases[other] for other in right if phrases[other] != phrases[term])
        return cls({phrase: tuple(sorted(alts)) for phrase, alts in found.items()})

    def expansions(self, tokens: list[str]) -> dict[str, list[Phrase]]:
        """For each of a question's folded tokens (stop words kept, in order) that belongs to a glossary
        phrase the question says, the phrases a report may use instead."""
        out: dict[str, list[Phrase]] = defaultdict(list)
        # Only the phrases that start with one of the question's words (or its singular) can match; they are
        # tried in glossary order, as all of them were before.
        first_words = {w for token in tokens for w in (token, token[:-1] if token.endswith("s") else token)}
        for number in sorted({n for word in first_words for n in self._by_first_word.get(word, ())}):
            phrase, alts = self._entries[number]
            n = len(phrase)
            for i in range(len(tokens) - n + 1):
                # The light fold leaves short plurals alone: "LLMs" is "LLM".
                if all(t in (p, p + "s") for t, p in zip(tokens[i : i + n], phrase)):
                    for token in tokens[i : i + n]:
                        out[token].extend(a for a in alts if a not in out[token])
        return dict(out)

    @cached_property
    def _entries(self) -> list[tuple[Phrase, tuple[Phrase, ...]]]:
        return list(self.alternatives.items())

    @cached_property
    def _by_first_word(self) -> dict[str, tuple[int, ...]]:
        index: dict[str, list[int]] = defaultdict(list)
        for number, (phrase, _) in enumerate(self._entries):
            index[phrase[0]].append(number)
        return {word: tuple(numbers) for word, numbers in index.items()}


@lru_cache(maxsize=8)
def load_glossary(path: str | None = None) -> Glossary:
    source = Path(path) if path else PACKAGED_GLOSSARY
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GlossaryError(f"cannot read the glossary {source}: {exc}") from exc
    return Glossary.parse(text, str(source))
