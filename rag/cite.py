"""Cite: the [n] markers of an answer, and the figures of a text in one canonical form so an answer's and a
sentence's can be compared (rag/evidence.py does the comparing)."""

from __future__ import annotations

import re

from rag.vocabulary import vocabulary

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_QUARTER_NQYY = re.compile(r"\b([1-4])Q(\d{2}|\d{4})\b", re.IGNORECASE)
# "Q1 2026", "Q1'26", "Q1 FY26", "Q12026"; not "Q126", which is no quarter anyone writes.
_QUARTER_QNYY = re.compile(r"\bQ([1-4])(?:[\s']+(?:FY)?\s*|FY)?(\d{4}|(?<=[\s'Y])\d{2})\b", re.IGNORECASE)
_ORDINAL_QUARTER = re.compile(r"\b(first|second|third|fourth)\s+quarter\s+(?:of\s+)?(\d{4})\b", re.IGNORECASE)
# A digit run after letters still counts ("RMB99.9bn", "增长35%", "GB200": the same on both sides).
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?([A-Za-z]*)")
# A number glued to letters is part of a name ("3peak", "950PR") unless the letters are a unit ("2000W").
FIGURE_UNITS = vocabulary().words("figure units")
_UNITS = FIGURE_UNITS | {""}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def markers_in(text: str) -> list[int]:
    found: list[int] = []
    for match in MARKER.finditer(text):
        for number in re.split(r"\s*[,;]\s*", match.group(1)):
            n = int(number)
            if n not in found:
                found.append(n)
    return found


def figures(text: str) -> dict[str, str]:
    """Canonical figure -> how it was written. Quarters become '2026Q1' (and their year); numbers become
    their value without thousands separators or trailing zeros, so '1,496.50' == '1496.5'."""
    found: dict[str, str] = {}
    text = MARKER.sub(" ", text)
    for pattern, order in ((_QUARTER_NQYY, "nq"), (_QUARTER_QNYY, "qn"), (_ORDINAL_QUARTER, "ord")):
        for match in pattern.finditer(text):
            q = _ORDINALS[match.group(1).lower()] if order == "ord" else int(match.group(1))
            year = int(match.group(2))
            year = year + 2000 if year < 100 else year
            found[f"{year}Q{q}"] = match.group(0)
            found.setdefault(_number_key(str(year), None), str(year))
        text = pattern.sub(" ", text)
    for match in _NUMBER.finditer(text):
        if match.group(3).lower() in _UNITS:
            found.setdefault(_number_key(match.group(1), match.group(2)), match.group(0))
    return found


def _number_key(integer: str, fraction: str | None) -> str:
    integer = integer.replace(",", "").lstrip("0") or "0"
    fraction = (fraction or "").rstrip("0")
    return f"{integer}.{fraction}" if fraction else integer
