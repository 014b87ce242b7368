"""Which documents a question names: "What was Amcor's adjusted EBITDA?" is about Amcor's filings and the
reports that cover Amcor, wherever else the words "adjusted EBITDA" appear.

A document's names are what identifies it rather than what it discusses: its title, its file name, its issuer
and tickers and the companies it covers (rag/metadata.py), and its broker when that is a known research house.
A question names a document when it writes one of those words as a name (capitalised, as analysts write
"Amcor", "AMCOR's", "JnJ", "JPM") or runs a multi-word name together as a file name does ("Best Buy" and
BESTBUY). The retriever searches the named documents beside the whole corpus (rag/retrieve.py), so that a
question about one issuer among hundreds finds its pages, and a question naming nothing is searched as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from rag.lexical import STOP_WORDS
from rag.metadata import KNOWN_BROKERS

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[&.][A-Za-z0-9]+)*|\d+[A-Za-z]+[A-Za-z0-9]*")
_POSSESSIVE = re.compile(r"['’]s?\b")
# Capitalised words that name a period, a reporting basis or a metric in any filing or report, never a
# document: "FY2023", "Q2", "GAAP", "EBITDA", "US". A question is full of them; a file name or title may be too.
_NOT_NAMES = frozenset("""fy q1 q2 q3 q4 h1 h2 1q 2q 3q 4q 1h 2h ytd yoy qoq mom ttm ltm gaap ifrs non adjusted
ebitda ebitdar ebit eps dps pe roe roa roic roce rotce fcf cogs sga capex opex dpo dso dio ceo cfo coo usd rmb
cny eur gbp jpy hkd us usa uk eu inc corp co ltd plc llc lp group holdings company corporation incorporated
form annual report quarterly results earnings release exhibit press fiscal quarter year first second third
fourth half full note notes table figure page item part section statement statements total net gross
january february march april may june july august september october november december jan feb mar apr jun
jul aug sep sept oct nov dec""".split())
_PERIOD = re.compile(r"^(?:fy|cy|q[1-4]|[1-4]q|h[12]|[12]h)?\d{2,4}(?:q[1-4]|h[12]|e|a|f)?$")


def _words(text: str) -> list[str]:
    return _WORD.findall(_POSSESSIVE.sub("", text))


def _fold(word: str) -> str:
    return word.lower().replace("&", "").replace(".", "")


def _name_words(name: str) -> list[str]:
    """A name's words that can tell documents apart, a dotted word by its first part where that is a word
    ("AMAZON.COM, INC." -> amazon; "J.P." -> jp)."""
    words = []
    for word in _words(name):
        first = re.split(r"[.&]", word)[0]
        words.append(_fold(first) if len(first) > 2 else _fold(word))
    return [w for w in dict.fromkeys(words) if _usable(w)]


def _usable(term: str) -> bool:
    return len(term) > 1 and term not in _NOT_NAMES and term not in STOP_WORDS and not _PERIOD.match(term)


@dataclass(frozen=True)
class NamedDocument:
    doc_id: str
    title: str
    source: str
    broker: str
    companies: tuple[str, ...]


class DocumentNames:
    """The names of every ready document, and the documents a question names."""

    def __init__(self, documents: list[NamedDocument]) -> None:
        self.doc_ids = {d.doc_id for d in documents}
        by_term: dict[frozenset[str], set[str]] = {}
        for doc in documents:
            for term in self._terms(doc):
                by_term.setdefault(term, set()).add(doc.doc_id)
        # A name every document carries ("TAT-QA", a shared file name) tells none of them apart.
        n = len(self.doc_ids)
        self._docs_of = {t: ids for t, ids in by_term.items() if len(ids) < n or n == 1}
        # Names by their words, so that a question is matched against the names sharing a word with it, not
        # against every name of a large corpus.
        self._names_with: dict[str, list[frozenset[str]]] = {}
        for name in self._docs_of:
            for word in name:
                self._names_with.setdefault(word, []).append(name)

    @staticmethod
    @lru_cache(maxsize=200_000)
    def _terms(doc: NamedDocument) -> frozenset[frozenset[str]]:
        """Each name as the set of words a question must write: one word of a title or file name; a company's
        or broker's name by its first two words ("Blue Harbor" names Blue Harbor Foods, while "Cash & cash
        equivalents" does not name Cash for Business, a product a filing lists), or run together ("Best Buy"
        is BESTBUY in a file name)."""
        # "AMCOR_2023_10K.pdf", "best-buy-q2.pdf": a file name's words, split where the name splits them.
        stem = PurePath(doc.source or doc.doc_id).stem
        single = [doc.title, re.sub(r"[_\-.]+", " ", stem)]
        whole = list(doc.companies)
        if doc.broker and any(doc.broker.lower() == b.lower() for b in KNOWN_BROKERS):
            whole.append(doc.broker)
        terms: set[frozenset[str]] = set()
        for name in single:
            terms.update(frozenset([w]) for w in _name_words(name))
        for name in whole:
            words = _name_words(name)
            if words:
                terms.add(frozenset(words[:2]))
                if len(words) > 1:
                    terms.update((frozenset(["".join(words)]), frozenset(["".join(words[:2])])))
        # Kept per document (the names are re-read after every ingest; most documents did not change).
        return frozenset(terms)

    def named_in(self, question: str) -> set[str]:
        """The documents whose names the question writes as names; empty when it names none, or names every
        document (a question naming the only report's company is about all of the corpus)."""
        words = _words(question)
        # A name is capitalised where a common word would not be. A question's first word is capitalised
        # anyway; it still counts, since only documents' names are matched, and no name is a stop word.
        terms = {_fold(w) for w in words if w[0].isupper()}
        terms |= {n for w in words if w[0].isupper() for n in _name_words(w)}
        terms |= {_fold(a) + _fold(b) for a, b in zip(words, words[1:]) if a[0].isupper() and b[0].isupper()}
        terms = {t for t in terms if _usable(t)}
        found: set[str] = set()
        for term in terms:
            for name in self._names_with.get(term, ()):
                if name <= terms:
                    found |= self._docs_of[name]
        return found if found != self.doc_ids else set()
