"""Lexical tokens for BM25: lowercase words, figures kept whole ("20.9%", "1q26", "950pr"), Chinese as
overlapping character bigrams, English stop words dropped. The same function tokenizes chunks and queries.

Chinese has no spaces, and a word segmenter cuts a name or a figure differently in a short question than in the
passage around it ("长实集团" as one word in one, "长实" + "集团" in the other), so its words miss each other.
Every pair of adjacent characters matches whatever the segmentation would have been: on FinCUGE dev, bigrams
found the evidence passage in the top 5 for 0.987 of the questions where jieba's words found 0.968.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

# Part of every index fingerprint: a change to how text becomes tokens re-indexes what was tokenized before.
LEXICAL_VERSION = 2

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Figures keep their decimal point and percent sign; thousands separators are dropped so "1,496.5" and
# "1496.5" match.
_TOKEN = re.compile(r"[a-z0-9]*[a-z][a-z0-9]*(?:['’][a-z]+)?|\d[\d,]*(?:\.\d+)?%?", re.IGNORECASE)

STOP_WORDS = frozenset(
    """a an and are as at be been being but by can could did do does for from had has have how if in into is
    it its of on or over so such than that the their them then there these they this those to was were what
    when where which while who whom why will with would about after also any both each few more most other
    our out own same some very just you your we us i me my he she his her please tell much many""".split()
) | frozenset("的 了 和 是 在 有 与 及 对 将 于 为 等 吗 呢 什么 多少 哪些 如何 怎么 是否 请问".split())


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_LETTER = re.compile(r"[A-Za-z]")


def is_chinese(text: str) -> bool:
    """Whether `text` is written in Chinese: a Hanzi says about as much as three Latin letters, so a Chinese
    passage full of tickers and English names still counts, and an English one naming "长实" does not."""
    hanzi = len(_CJK_CHAR.findall(text))
    return hanzi > 0 and 3 * hanzi >= len(_LATIN_LETTER.findall(text))


def _stem(token: str) -> str:
    # A light plural/possessive fold; FTS5's porter stemmer then handles English inflections.
    if token.endswith(("'s", "’s")):
        token = token[:-2]
    return token


def lexical_tokens(text: str, keep_stop_words: bool = False, within_words: bool = False) -> list[str]:
    """Tokens of `text`; `within_words` keeps only the Chinese bigrams that lie inside a word (jieba's), the terms
    of a question: "总投资多少" gives 总投 and 投资, not the "资多" that only joins two words and that no passage
    would hold, lowering the share of a question's terms that the sentence answering it holds."""
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(text):
        tokens.extend(_latin_tokens(text[position : match.start()]))
        run = match.group(0)
        if within_words:
            tokens.extend(b for word in _jieba().cut(run) if len(word) > 1 and word not in STOP_WORDS
                          for b in cjk_bigrams(word))
        else:
            tokens.extend(cjk_bigrams(run))
        position = match.end()
    tokens.extend(_latin_tokens(text[position:]))
    if keep_stop_words:
        return tokens
    return [t for t in tokens if t not in STOP_WORDS]


def has_fewer_tokens(text: str, limit: int) -> bool:
    """Whether `text` has fewer than `limit` of lexical_tokens' tokens (stop words kept), reading no further into
    it than the limit: a long chunk costs what a short one does."""
    count, position = 0, 0
    for match in _CJK_RUN.finditer(text):
        count += _count_latin(text[position : match.start()], limit - count)
        count += max(1, len(match.group(0)) - 1)
        if count >= limit:
            return False
        position = match.end()
    return count + _count_latin(text[position:], limit - count) < limit


def _count_latin(text: str, limit: int) -> int:
    count = 0
    for _ in _TOKEN.finditer(text):
        count += 1
        if count >= limit:
            break
    return count


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def chinese_words(text: str) -> list[str]:
    """The words (jieba's) of the last run of Chinese characters in `text`."""
    runs = _CJK_RUN.findall(text)
    return [w for w in _jieba().cut(runs[-1]) if w.strip()] if runs else []


def cjk_bigrams(run: str) -> list[str]:
    """"长实集团" -> ["长实", "实集", "集团"]; a lone character stands for itself."""
    return [run] if len(run) == 1 else [a + b for a, b in zip(run, run[1:])]


def _latin_tokens(text: str) -> list[str]:
    out = []
    for match in _TOKEN.finditer(text):
        token = match.group(0).lower()
        if token[0].isdigit():
            token = token.replace(",", "").rstrip(".")
        out.append(_stem(token))
    return out


def fold(token: str) -> str:
    """A light stemmer for matching a question's words in a sentence (BM25 has FTS5's porter stemmer):
    "shipments" meets "shipment", "grows" meets "grow" and "40.22%" meets "40.22"."""
    token = token.rstrip("%")
    if token[:1].isdigit():
        return token
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 3 and token.endswith(suffix):
            token = token[: -len(suffix)]
            break
    # "prices" -> "pric" and "price" -> "pric"; "increased", "increases", "increase" -> "increas". Codes keep
    # their "e": HBM3E is not HBM3.
    return token[:-1] if len(token) > 4 and token.endswith("e") and token.isalpha() else token


def phrase_pairs(tokens: list[str]) -> list[tuple[str, str]]:
    """Adjacent pairs of a query's tokens, searched as phrases beside the tokens: they reward passages that say
    "total sales" over ones that merely contain "total" and "sales" (TAT-QA dev hit@5 0.760 -> 0.801). Chinese
    bigrams already overlap: a phrase of two of them would only ask for a trigram, at a second lookup a pair."""
    return [(a, b) for a, b in zip(tokens, tokens[1:]) if not (_CJK_RUN.match(a) or _CJK_RUN.match(b))]
