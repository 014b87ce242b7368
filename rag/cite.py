"""Cite: parse the [n] markers of an answer and verify them against the passages it was given.

A marker that points at no passage is removed and reported. Every figure in the answer (numbers,
percentages, amounts, years, quarters such as 1Q26) must appear in a passage cited by the same sentence (or,
for a sentence without markers, by the answer). Prose that cites nothing is not a supported answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
_QUARTER_NQYY = re.compile(r"\b([1-4])Q(\d{2}|\d{4})\b", re.IGNORECASE)
_QUARTER_QNYY = re.compile(r"\bQ([1-4])[\s']*(?:FY)?(\d{4}|\d{2})\b", re.IGNORECASE)
_ORDINAL_QUARTER = re.compile(r"\b(first|second|third|fourth)\s+quarter\s+(?:of\s+)?(\d{4})\b", re.IGNORECASE)
# A digit run after letters still counts ("RMB99.9bn", "增长35%", "GB200": the same on both sides).
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?([A-Za-z]*)")
# A number glued to letters is part of a name ("3peak", "950PR") unless the letters are a unit ("2000W").
_UNITS = {"", "w", "kw", "mw", "gw", "kwh", "mwh", "gwh", "twh", "nm", "mm", "cm", "km", "b", "bn", "mn", "m", "k",
          "t", "tn", "x", "gb", "tb", "pb", "s", "th", "st", "nd", "rd", "bp", "bps", "pp", "ppt", "e", "f", "a",
          "yr", "yrs", "usd", "rmb", "cny", "hkd"}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}


@dataclass
class Verification:
    text: str  # the answer with invalid markers removed
    cited: list[int]  # valid passage numbers in order of first use
    invalid_markers: list[int] = field(default_factory=list)
    unsupported_figures: list[str] = field(default_factory=list)

    @property
    def uncited(self) -> bool:
        return not self.cited

    @property
    def ok(self) -> bool:
        # Invalid markers are removed and reported but do not sink an otherwise supported answer.
        return not self.uncited and not self.unsupported_figures

    def problems(self) -> list[str]:
        out = []
        if self.invalid_markers:
            out.append("removed citation marker(s) pointing at no passage: " +
                       ", ".join(f"[{n}]" for n in self.invalid_markers))
        if self.unsupported_figures:
            out.append("figure(s) not found in the cited passages: " + ", ".join(self.unsupported_figures))
        if self.uncited:
            out.append("the answer cites no passage")
        return out


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


def _supported(figure: str, passage_figures: set[str]) -> bool:
    if figure in passage_figures:
        return True
    # "2026" in an answer is supported by a passage that says "in 26" or "1Q26".
    if re.fullmatch(r"20\d\d", figure) and (figure[2:].lstrip("0") or "0") in passage_figures:
        return True
    return False


def verify(answer: str, passages: list[str]) -> Verification:
    """Check an answer's markers and figures against `passages` (passage n is passages[n-1])."""
    invalid: list[int] = []

    def keep_valid(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        good = [n for n in numbers if 1 <= n <= len(passages)]
        invalid.extend(n for n in numbers if n not in good and n not in invalid)
        return "".join(f"[{n}]" for n in good)

    cleaned = MARKER.sub(keep_valid, answer)
    cleaned = re.sub(r"[ \t]+([.,;])", r"\1", cleaned).strip()
    cited = markers_in(cleaned)
    passage_figures = [set(figures(p)) for p in passages]
    unsupported: list[str] = []
    for sentence in _SENTENCE.split(cleaned):
        own = markers_in(sentence) or cited
        allowed: set[str] = set().union(*(passage_figures[n - 1] for n in own)) if own else set()
        for key, written in figures(sentence).items():
            if not _supported(key, allowed) and written not in unsupported:
                unsupported.append(written)
    return Verification(text=cleaned, cited=cited, invalid_markers=invalid, unsupported_figures=unsupported)
