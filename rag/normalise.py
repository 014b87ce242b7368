"""Normalise: how reports and questions write periods and words, made one form so the two compare.

"Q3 2025", "3Q 2025", "Q3'25", "the third quarter of 2025" and "2025年第三季度" are one quarter; "FY26" and "fiscal
2026" one year; "Sep" is September. Question reading (rag/question.py), the evidence checks (rag/evidence.py),
the calculators (rag/calculate.py, rag/metrics.py) and the reader's notation (rag/answer.py) all compare through
these, so a period written one way in a question and another in a sentence is still the same period.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from functools import lru_cache

from rag.lexical import fold, lexical_tokens

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
_MONTH_ABBREVIATION = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b\.?")
_ABBREVIATED = {m[:3]: m for m in MONTHS} | {"Sept": "September"}
# "Sep–Dec '25", "in '26": a year written with an apostrophe.
_APOSTROPHE_YEAR = re.compile(r"(?<![\w'’])['’](\d\d)\b")
_QUARTER_FORMS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # "Q2 of FY2024", "2021 Q1": a quarter and its year apart.
    (re.compile(r"\bQ([1-4])\s+(?:of|in)\s+(?:fiscal\s+)?(?:FY|CY)?\s?['’]?(?:20)?(\d\d)\b", re.IGNORECASE), r"\1Q\2"),
    (re.compile(r"\b(?:(?:FY|CY)\s?)?20(\d\d)\s+Q([1-4])\b", re.IGNORECASE), r"\2Q\1"),
    # "Q3 2025", "Q3'25", "Q2 FY25", "Q32025"; not "Q126", which is no period anyone writes.
    (re.compile(r"\bQ([1-4])(?:\s*(?:FY|CY)?\s*['’]\s*|\s+(?:FY|CY)?\s*|\s*(?:FY|CY)\s*)(?:20)?(\d\d)\b", re.IGNORECASE),
     r"\1Q\2"),
    (re.compile(r"\bQ([1-4])(?:FY|CY)?20(\d\d)\b", re.IGNORECASE), r"\1Q\2"),
    (re.compile(r"\b([1-4])Q\s*(?:FY|CY)?\s*['’]?\s*(?:20)?(\d\d)\b", re.IGNORECASE), r"\1Q\2"),
    (re.compile(r"\b(first|second|third|fourth) quarter (?:of |in )?(?:fiscal |calendar )?(?:20)?(\d\d)\b",
                re.IGNORECASE),
     lambda m: f"{['first', 'second', 'third', 'fourth'].index(m.group(1).lower()) + 1}Q{m.group(2)}"),
    # Chinese reports: "2020年第一季度", "2019年一季度", "2019年3季度", "19年二季度", "2020年Q1", "2019Q3". Hanzi are
    # word characters, so these are bounded by digits, not by \b. Not "前三季度" (the first three quarters).
    (re.compile(r"(?<!\d)(?:20(\d\d)\s*(?:年度?)?|(\d\d)年)\s*第?\s*([一二三四1-4])\s*季度"),
     lambda m: f"{'一二三四'.index(m.group(3)) + 1 if m.group(3) in '一二三四' else m.group(3)}Q{m.group(1) or m.group(2)}"),
    (re.compile(r"(?<!\d)20(\d\d)\s*(?:年\s*)?Q([1-4])(?!\d)", re.IGNORECASE), r"\2Q\1"),
    (re.compile(r"\b(?:FY|CY)\s?['’]?(?:20)?(\d\d)\b", re.IGNORECASE), r"20\1"),
    (re.compile(r"\bfiscal (?:year )?(20\d\d)\b", re.IGNORECASE), r"\1"),
]
YEAR = re.compile(r"^(19|20)\d\d$")
QUARTER = re.compile(r"^([1-4])q(\d\d)$")


def normalise_periods(text: str) -> str:
    """Periods as reports most often write them, so a question and a sentence compare: "Q3 2025", "3Q 2025",
    "Q3'25" and "the third quarter of 2025" -> "3Q25"; "FY26" and "fiscal 2026" -> "2026"; "'25" -> "2025";
    "Sep" -> "September"."""
    text = _APOSTROPHE_YEAR.sub(r"20\1", text)
    text = _MONTH_ABBREVIATION.sub(lambda m: _ABBREVIATED[m.group(1)], text)
    for pattern, replacement in _QUARTER_FORMS:
        text = pattern.sub(replacement, text)
    return text


def quarters_written(text: str) -> dict[str, str]:
    """Each quarter `text` names, as its normalised key ("3Q25") -> the way `text` first writes it."""
    found: dict[str, str] = {}
    for pattern, _ in _QUARTER_FORMS:
        for match in pattern.finditer(text):
            key = normalise_periods(match.group(0))
            if QUARTER.match(key.lower()):
                found.setdefault(key, match.group(0))
    return found


# The same retrieved sentences are scored for question after question (and for the answer, its repair and its
# verification): tokenising them again cost about a third of an extractive answer.
@lru_cache(maxsize=8192)
def token_set(text: str) -> frozenset[str]:
    """The folded tokens of a sentence or question, periods normalised."""
    return frozenset(fold(t) for t in lexical_tokens(normalise_periods(text), keep_stop_words=True))


def anchor_in(anchor: str, tokens: AbstractSet[str]) -> bool:
    """Whether folded `tokens` hold an anchor as written or as reports abbreviate it."""
    anchor = fold(anchor)
    # The light fold leaves short plurals alone: "ADRs" and "ADR".
    if anchor in tokens or anchor + "s" in tokens or (len(anchor) > 3 and anchor.endswith("s") and anchor[:-1] in tokens):
        return True
    # Reports write "in 25", "1Q26" and "FY26" for 2025 and 2026.
    if YEAR.match(anchor) and (anchor[2:] in tokens or any(t.endswith(("q" + anchor[2:], "fy" + anchor[2:]))
                                                           for t in tokens)):
        return True
    # ... and some write "Q3 2025" or "3Q2025" for 3Q25.
    quarter = QUARTER.match(anchor)
    if quarter:
        number, year = quarter.groups()
        return f"{number}q20{year}" in tokens or (f"q{number}" in tokens and bool({year, "20" + year} & tokens))
    return False
