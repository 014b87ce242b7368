"""Boilerplate: the parts of a filing or broker report that are there by rule (cover page, contents, auditor's
report, certifications, signatures, exhibit lists, safe-harbour and disclosure text). They name the company and
the period in every line, so they match almost any question about either, and answer none but questions about
themselves. Chunks are marked with their part's kind at ingest (Chunk.boilerplate); retrieval keeps a marked
chunk only for a question that asks about its kind. What marks each kind lives in boilerplate.txt."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.data_files import read_data_file
from rag.errors import RagError

PACKAGED_BOILERPLATE = Path(__file__).resolve().with_name("boilerplate.txt")

# A table of contents is a contents heading over lines that end in page numbers; "Table of Contents" alone at
# the top of every page (a link some filings print) marks nothing.
CONTENTS = "contents"
_CONTENTS_LINES_SHARE = 0.5

# Lower-case words a title-case heading leaves small ("Report of Independent ...", "Basis for Opinion").
_SMALL_WORDS = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with", "under",
                "regarding", "concerning", "pursuant"}
HEADING_MAX_WORDS = 12
HEADING_MAX_CHARS_CJK = 20


class BoilerplateError(RagError):
    """The boilerplate file could not be read or has a malformed line."""


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("‘", "'")).strip().lower()


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def is_heading_line(line: str) -> bool:
    """A line that can open a part: short, not ending a sentence or a listing entry (a contents line ends in
    its page number), in capitals or title case."""
    line = line.strip()
    if not line or line.endswith((".", ";", ",", "。", "；", "，")) or line[-1].isdigit():
        return False
    if _has_cjk(line):
        return len(line) <= HEADING_MAX_CHARS_CJK
    words = re.findall(r"[A-Za-z][\w'’-]*", line)
    if not words or len(line.split()) > HEADING_MAX_WORDS:
        return False
    big = [w for w in words if w.lower() not in _SMALL_WORDS]
    return bool(big) and sum(w[0].isupper() for w in big) >= 0.7 * len(big)


def _starts_with(text: str, phrase: str) -> bool:
    # At a word start and ending at a word end, unless the phrase itself ends inside one ("item 1" opens "item 1a").
    return text.startswith(phrase) and (len(text) == len(phrase) or not text[len(phrase)].isalpha()
                                        or phrase[-1].isdigit() or phrase == "part i")


def _holds(text: str, phrase: str) -> bool:
    """Whether normalised `text` holds `phrase` starting at a word start."""
    at = text.find(phrase)
    while at >= 0:
        if at == 0 or not text[at - 1].isalnum() or _has_cjk(phrase):
            return True
        at = text.find(phrase, at + 1)
    return False


@dataclass(frozen=True)
class Kind:
    name: str
    headings: tuple[str, ...] = ()
    says: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Boilerplate:
    kinds: tuple[Kind, ...]
    ends: tuple[str, ...]

    @classmethod
    def parse(cls, text: str, source: str) -> Boilerplate:
        fields: dict[str, dict[str, list[str]]] = {}
        ends: list[str] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            head, sep, rest = line.partition(":")
            phrases = [_norm(p) for p in rest.split(",") if p.strip()]
            if not sep or not phrases:
                raise BoilerplateError(f"{source}:{number}: expected 'kind heading|says|asks: phrase, ...' or "
                                       f"'ends: phrase, ...': {raw.strip()!r}")
            if head.strip() == "ends":
                ends.extend(phrases)
                continue
            parts = head.split()
            if len(parts) != 2 or parts[1] not in ("heading", "says", "asks"):
                raise BoilerplateError(f"{source}:{number}: expected 'kind heading|says|asks:', got {head!r}")
            fields.setdefault(parts[0], {}).setdefault(parts[1], []).extend(phrases)
        kinds = []
        for name, found in fields.items():
            if not found.get("asks"):
                raise BoilerplateError(f"{source}: kind {name!r} has no 'asks' line: nothing could ever cite it")
            kinds.append(Kind(name, tuple(found.get("heading", ())), tuple(found.get("says", ())),
                              tuple(found["asks"])))
        return cls(tuple(kinds), tuple(ends))

    def heading_kind(self, line: str) -> str | None:
        """The kind a heading line opens, '' for a line that opens the filing's next part, None otherwise."""
        if not is_heading_line(line):
            return None
        text = _norm(line).rstrip(":")
        for kind in self.kinds:
            if any(_starts_with(text, h) for h in kind.headings):
                return kind.name
        return "" if any(_starts_with(text, e) for e in self.ends) else None

    def spans(self, text: str, page_starts: list[int]) -> list[tuple[int, int, str]]:
        """(start, end, kind) of the parts of `text` opened by a heading line; a part ends at its page's end
        (`page_starts`: where each page begins; none: one page), at a heading of another kind, or at a line
        opening the filing's next part."""
        bounds = sorted({0, *page_starts}) + [len(text)]
        found: list[tuple[int, int, str]] = []
        for page_start, page_end in zip(bounds, bounds[1:]):
            open_kind, open_at = "", page_start
            offset = page_start
            for line in text[page_start:page_end].split("\n"):
                kind = self.heading_kind(line)
                if kind is not None and kind != open_kind:
                    if open_kind:
                        found.append((open_at, offset, open_kind))
                    open_kind, open_at = kind, offset
                offset += len(line) + 1
            if open_kind:
                found.append((open_at, page_end, open_kind))
        return found

    def kind_of(self, text: str, span_kind: str = "") -> str:
        """The kind of a passage: one its own words say, else that of the part it sits in (`span_kind`, from
        `spans`); '' for a passage of the filing proper. (Not the chunker's section heading: a statement's title
        on a line of its own without a blank line before it opens no section there, so the auditor's report
        would run on over the statements.)"""
        norm = _norm(text)
        for kind in self.kinds:
            if any(_holds(norm, s) for s in kind.says):
                return kind.name
        if span_kind == CONTENTS and not _lists_pages(text):
            return ""
        return span_kind

    def part_of(self, parts: list[tuple[int, int, str]], start: int, end: int) -> str:
        """The kind of the part (of `spans`) holding most of the text from `start` to `end`, or ''."""
        for p_start, p_end, kind in parts:
            if 2 * (min(p_end, end) - max(p_start, start)) >= end - start:
                return kind
        return ""

    def asked(self, question: str) -> frozenset[str]:
        """The kinds a question asks about."""
        norm = _norm(question)
        return frozenset(k.name for k in self.kinds if any(_holds(norm, a) for a in k.asks))


def _lists_pages(text: str) -> bool:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    return bool(lines) and sum(ln[-1].isdigit() for ln in lines) >= _CONTENTS_LINES_SHARE * len(lines)


@lru_cache(maxsize=8)
def load_boilerplate(path: str | None = None) -> Boilerplate:
    """The rules in `path`, else the packaged boilerplate.txt."""
    text, source = read_data_file(path, PACKAGED_BOILERPLATE, BoilerplateError, "boilerplate")
    return Boilerplate.parse(text, source)
