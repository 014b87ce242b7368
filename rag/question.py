"""Question analysis: a question -> a QuestionProfile saying what it asks for.

Nothing here decides whether a question is answered. The profile names the constraints an answer must meet
(the periods, names and metric the question asks about, the kind of answer: a figure, a rate, an amount, a
date, a list, a cause), and rag/evidence.py checks them against the sentence an answer cites. Every rule is
about how financial questions are written in general; the examples in comments come from annual reports and
filings, not from any one report the project was tried on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

from rag.glossary import Glossary, load_glossary, phrase_in
from rag.lexical import STOP_WORDS, chinese_words, fold, lexical_tokens
from rag.normalise import MONTHS, YEAR, anchor_in, normalise_periods
from rag.vocabulary import vocabulary

CJK = re.compile(r"[\u3400-\u9fff]")

_NUMBER_Q = re.compile(
    r"\b(how (much|many|fast|big|large|high|sharply)|what (exact |expected |projected |annual )?(percentage|percent|"
    r"share|rate|proportion|portion|slice|value|amount|level|price|number|cagr|growth|fraction|multiple)|how did .{0,60} "
    r"perform|what (is|was|are|were|will be) (the |its |their )?([\w'’-]+ ){0,4}(price|revenue|sales|profit|margin|yield|"
    r"rate|share|value|size|ratio|eps|income|capex|spending|shipments|valuation|gain|return|asp|cost|demand|consumption|"
    r"dividend|backlog|earnings|ebitda|ebitdar|ebit)s?|by how much|what is the (expected )?(growth|share|cagr|rate|ratio|price)|"
    r"grow(th)? rate|cagr|ratio|percentage)\b|多少|百分|增长|增速|比例|占比|份额|规模", re.IGNORECASE)
_DATE_Q = re.compile(r"\b(when|what year|which year|which quarter|what quarter|by when|what date|what time)\b|"
                     r"什么时候|何时|哪一年|哪年|哪个季度|日期|时间", re.IGNORECASE)
_LIST_Q = re.compile(r"\b(which|what) ([\w-]+ ){0,3}(companies|firms|stocks|names|chips|devices|risks|products|areas|"
                     r"sectors|segments|types|technologies|markets|countries|regions)\b|\blist\b|哪些", re.IGNORECASE)
# Rates, shares and performance are answered by a percentage (or a multiple), not by any figure: "double-digit
# growth" does not say what the growth rate is.
_PERCENT_Q = re.compile(
    r"\b(percentage|percent|growth rate|rate of growth|cagr|share of|what share|proportion|fraction|"
    r"how fast|how sharply|how did .{0,60} perform)\b|\bin\s?%|\(%\)|百分|比例|占比|份额|增速", re.IGNORECASE)
_AMOUNT_Q = re.compile(r"\b(worth|in dollars|in (?:us )?dollar terms|in (?:usd|rmb|yuan)|market size|how much money|"
                       r"valued at|value of)\b|金额|市场规模", re.IGNORECASE)
_META_Q = re.compile(
    r"\b(who (published|wrote|issued|released)|which (outlet|site|publication|publisher|media)|"
    r"when was (this|the) (report|article|note) (published|released|issued)|publication date|"
    r"(date|day) (was )?(this|the) (report|article|note)|(what|which) date was (this|the) (report|article)|"
    r"whose (research|report)|which (bank|broker|brokerage|firm|house)('s)? (research|report)|"
    r"(published|released) (on|by) what|who is the (publisher|author|source))\b|谁发布|发布日期|哪家券商|哪个券商|发布时间",
    re.IGNORECASE)
_JOINED_Q = re.compile(r"\b(and|or|compare[sd]?|comparison|versus|vs|relative to|differ|difference)\b|&|和|与|比较|相比|对比",
                       re.IGNORECASE)
# A question about the cause of an event or a change, answered by a sentence that gives one. Not "Why is pro
# forma information presented?": a purpose answers that, in words no list of connectives holds.
_REASON_Q = re.compile(r"^\s*why (?:did|has|have|had|was|were)\b|\bwhat (?:reasons?|caused?|causes|drove|drives|"
                       r"is driving|explains|led to)\b|\breasons? (?:for|behind)\b|为什么|原因", re.IGNORECASE)


def asks_reason(question: str) -> bool:
    """Whether a question asks for the cause of an event or a change ("What drove ...", "Why did ...")."""
    return bool(_REASON_Q.search(question))


# "growth", "增长": a rate of change, which a sentence giving a level or a share does not state.
_GROWTH_Q = re.compile(r"\bgrowth\b|增长|增速|增幅", re.IGNORECASE)
_ASKS_NAME_Q = re.compile(r"\s*(?:which|who|whose|whom|where|why)\b", re.IGNORECASE)
_CONTRACTION = re.compile(r"\b(what|how|who|where|when|which|that|it)['’]s\b", re.IGNORECASE)

_QUESTION_WORDS = {"what", "which", "who", "when", "where", "why", "how", "is", "are", "does", "do", "did", "will",
                   "can", "according", "in", "by", "the", "name", "list", "give", "tell"}
# Qualifiers that most figures in a report carry without saying so (an annual growth rate is year-on-year, a
# price move "as of" a date is year to date): a question's "YoY" does not make a sentence without it a miss.
QUALIFIERS = vocabulary().words("qualifiers")

# The words that name a period rather than what happened in it ("for the quarter ended July 29, 2023").
PERIOD_WORDS = vocabulary().words("period words")
# What a figure measures. A figure for one of these does not answer a question about another: a forecast of
# power consumption is not a revenue forecast, and growth in unit demand is not a price rise.
METRICS = frozenset(fold(w) for w in vocabulary().words("metric words"))
# "demand drivers", "price trends": a metric word that heads no figure.
_NOT_FIGURE_HEADS = frozenset(fold(w) for w in vocabulary().words("not figure heads"))

# "By how much did operating expenses rise?": what changes is named just before the verb of change, and a
# sentence about a neighbouring measure does not answer.
_MEASURED_Q = re.compile(
    r"\b(?:by )?how (?:much|sharply|fast) (?:had|has|have|did|does|do|will|is|are|was|were) (?P<np>(?:[\w'’-]+ ){1,5}?)"
    r"(?:been |be |expected to |likely to |projected to |forecast to |set to )?"
    r"(?:rise|risen|rose|grow|grown|grew|increase|increased|climb|climbed|fall|fallen|fell|drop|dropped|decline|"
    r"declined|gain|gained|jump|jumped|surge|surged|run up|ran up)\b", re.IGNORECASE)
_REPORTING_VERBS = {"think", "thinks", "expect", "expects", "say", "says", "believe", "believes", "forecast",
                    "forecasts", "predict", "predicts", "estimate", "estimates", "see", "sees", "project", "projects"}
_HEAD_ENDS = {"of", "for", "in", "on", "at", "to", "from", "with", "among", "across", "by", "between", "per", "each",
              "over", "during", "since", "through"}
_AUXILIARIES = {"will", "would", "could", "should", "may", "might", "can", "to", "be", "been", "have", "has", "had"}
# "How many employees did ...", "How much inventory is ...": the noun phrase up to the verb.
_QUANTITY_Q = re.compile(
    r"\bhow (?P<kind>many|much) (?:more |additional |extra )?(?P<np>(?!of\b)(?:[\w'’-]+ ){0,5}?[\w'’-]+) "
    r"(?:is|are|was|were|will|would|did|does|do|has|have|had|can|could|should|may|might|must)\b", re.IGNORECASE)
# Words after "how much" that are not what is measured: comparatives ("how much higher") and the words an amount
# is given in ("how much money", "how many millions").
_NOT_QUANTITY_NOUNS = {"more", "less", "higher", "lower", "bigger", "larger", "smaller", "faster", "further",
                       "longer", "money", "time", "fewer", "greater", "better", "worse"} | vocabulary().words("amount words")
# "the rate of return on plan assets", "the CAGR for the packaging market", "the segment's margin": what the
# figure is about. The sentence that answers must be about it too.
_SUBJECT_OF_Q = re.compile(
    r"\b(?:rate|ratio|share|portion|slice|price|prices|cagr|growth|value|size|revenue|sales|demand|margin|margins|"
    r"shipments|capex|consumption|gain|gains|return|returns|penetration)\s+(?:of|for|in)\s+(?:the\s+)?"
    r"(?P<np>[\w-]+(?:\s+[\w-]+){0,3})", re.IGNORECASE)
_OWNER_Q = re.compile(r"\b(?P<np>(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)(?:'s|’s|s'|s’)\s", re.IGNORECASE)
# Verbs that end a subject ("worldwide revenue came from ...").
_SUBJECT_ENDS = frozenset("""come came comes compare compared account accounted hold holds reach reached grow grew
    rise rose fall fell see saw expect expected change changed drive drove hit perform performed stand end""".split())
# Words that name no particular subject: "the packaging market" is about packaging, "the bank's view" about nothing.
_GENERIC_SUBJECT = frozenset(fold(w) for w in vocabulary().words("generic subjects"))
# "each share", "per employee", "a single store"; not "per cent" or "each year". Not "one", which is as often a
# pronoun ("Where should one look ...").
_PER_UNIT_Q = re.compile(r"\b(?:each|every|per|a single)\s+(?!of\b|cent\b|another\b)(?P<np>(?:[\w-]+\s+){0,2}[\w-]+)",
                         re.IGNORECASE)
# Verbs that end the unit: "each store need", "one plant draw".
_UNIT_VERBS = frozenset("""need needs draw draws consume consumes use uses cost costs require requires get gets make
    makes earn earns generate generates ship ships sell sells carry carries take takes""".split())
# A rate "per year" or "each quarter" is written as annual growth or a CAGR, not with the word "year".
_GENERIC_UNITS = vocabulary().words("generic units")


@dataclass(frozen=True)
class QuestionProfile:
    """What a question asks for: its content tokens, the anchors (names, periods) an answer's sentence must
    share with it, and the kind of answer it expects (a figure, a date, a list). Read once from the question's
    words by `read` and never changed: every later stage reads the same profile."""

    question: str
    normalised: str  # periods written one way, contractions spelt out
    tokens: tuple[str, ...]
    # A question's word also counts as present where a sentence says it in the report's words ("capex" /
    # "capital expenditure"): folded token -> phrases that stand for it.
    alternatives: Mapping[str, list[tuple[str, ...]]]
    is_chinese: bool
    wants_number: bool
    wants_date: bool
    wants_list: bool
    wants_amount: bool
    wants_percent: bool
    # What a question about the report itself asks (its publication date, whose research it is, who published
    # it), answered from its header, not its body; "" for a question about what the report says.
    about_report: Literal["", "date", "broker", "publisher"]
    wants_reason: bool
    wants_change: bool
    # "How did revenue and operating income compare?": names that may be answered by one sentence each.
    joins_subjects: bool
    anchors: tuple[str, ...]
    measured: tuple[str, ...]
    chinese_head: str
    quantity_noun: str
    wants_count: bool
    per_unit: tuple[str, ...]
    metrics: tuple[str, ...]
    subject: tuple[str, ...]
    # Years and quarters ("2026", "3q25"): the sentence that answers must be about that period.
    years: tuple[str, ...]
    # Names and other anchors: the sentence that answers must speak of them, not only its passage.
    names: tuple[str, ...]

    @classmethod
    def read(cls, question: str, glossary: Glossary | None = None) -> QuestionProfile:
        """The profile of `question`; `glossary` gives the other words a report may use for its words."""
        normalised = _CONTRACTION.sub(r"\1 is", normalise_periods(question))
        tokens = list(dict.fromkeys(lexical_tokens(normalised, within_words=True)))
        glossary = glossary or load_glossary()
        alternatives = glossary.expansions([fold(t) for t in lexical_tokens(normalised, keep_stop_words=True)])
        is_chinese = bool(CJK.search(normalised))
        wants_number = bool(_NUMBER_Q.search(normalised))
        wants_date = bool(_DATE_Q.search(normalised))
        wants_list = bool(_LIST_Q.search(normalised))
        wants_amount = bool(_AMOUNT_Q.search(normalised))
        anchors = _anchors(normalised, is_chinese)
        if is_chinese:
            # "12月16日" is "December 16" in an English report: let the date anchor the search.
            for month, day in re.findall(r"(\d{1,2})月(\d{1,2})日", normalised):
                if 1 <= int(month) <= 12:
                    written = lexical_tokens(f"{MONTHS[int(month) - 1]} {int(day)}", keep_stop_words=True)
                    anchors += written
                    tokens += written
        measured = _measured(normalised)
        quantity_noun, wants_count = _quantity_noun(normalised)
        # What a figure measures; "What demand drivers ..." asks for drivers, not for demand.
        asks_figure = wants_number or wants_amount or bool(quantity_noun or measured)
        folded = [fold(t) for t in lexical_tokens(normalised, keep_stop_words=True)]
        metrics = [] if _ASKS_NAME_Q.match(normalised) and not asks_figure else list(dict.fromkeys(
            t for t, after in zip(folded, [*folded[1:], ""]) if t in METRICS and after not in _NOT_FIGURE_HEADS))
        years = [a for a in anchors if YEAR.match(a) or re.fullmatch(r"[1-4]q\d{2}(\d{2})?", a)]
        return cls(
            question=question, normalised=normalised, tokens=tuple(tokens), alternatives=alternatives,
            is_chinese=is_chinese, wants_number=wants_number, wants_date=wants_date, wants_list=wants_list,
            wants_amount=wants_amount,
            # Only for a figure question: "Which company has the largest share of ..." is answered by a name.
            wants_percent=(wants_number and not wants_date and not wants_list and bool(_PERCENT_Q.search(normalised))),
            about_report=_about_report(normalised), wants_reason=bool(_REASON_Q.search(normalised)),
            wants_change=bool(_GROWTH_Q.search(normalised)), joins_subjects=bool(_JOINED_Q.search(normalised)),
            anchors=tuple(anchors), measured=tuple(measured),
            chinese_head=_chinese_head(normalised) if is_chinese else "",
            quantity_noun=quantity_noun, wants_count=wants_count, per_unit=tuple(_per_unit(normalised)),
            metrics=tuple(metrics),
            # The subject of a figure, only for a figure: "Which product line's recovery ..." is answered by a
            # name, in words a subject check would refuse.
            subject=tuple(_subject(normalised)) if asks_figure else (),
            years=tuple(years), names=tuple(a for a in anchors if a not in years))

    def holds(self, anchor: str, tokens: AbstractSet[str]) -> bool:
        """Whether a sentence's folded tokens hold one of the question's anchors: as written, as the report
        abbreviates it ("3Q25", "in 25"), or in words the glossary gives for it ("Chinese")."""
        return anchor_in(anchor, tokens) or self.covers(fold(anchor), tokens)

    def covers(self, term: str, tokens: AbstractSet[str]) -> bool:
        """Whether a sentence's folded tokens hold the question's folded `term`, as written or in the words the
        glossary lets a report use for it."""
        return term in tokens or any(phrase_in(alt, tokens) for alt in self.alternatives.get(term, ()))


def _about_report(question: str) -> Literal["", "date", "broker", "publisher"]:
    if not _META_Q.search(question):
        return ""
    if re.search(r"\bwhen\b|date|day|日期|时间", question, re.IGNORECASE):
        return "date"
    if re.search(r"whose|bank|broker|brokerage|firm|house|券商", question, re.IGNORECASE):
        return "broker"
    return "publisher"


def _measured(question: str) -> list[str]:
    """The head noun of what a "how much did X rise" question measures, as folded tokens; [] for others."""
    match = _MEASURED_Q.search(question)
    if not match:
        return []
    words = match.group("np").split()
    # "How much does management think sales will grow": what grows follows the reporting verb.
    for i in range(len(words) - 1, -1, -1):
        if words[i].lower() in _REPORTING_VERBS:
            words = words[i + 1 :]
            break
    # "the market for chips" measures the market: the head comes before a preposition.
    for i, word in enumerate(words):
        if word.lower() in _HEAD_ENDS and i > 0:
            words = words[:i]
            break
    while words and words[-1].lower() in _AUXILIARIES:
        words = words[:-1]
    if not words or words[-1].lower() in STOP_WORDS:
        return []
    return [fold(t) for t in lexical_tokens(words[-1], keep_stop_words=True)]

def _subject(question: str) -> list[str]:
    """The folded lowercase words of what a figure is asked about (capitalized ones are names, checked
    anyway): "plan assets" of "the rate of return on plan assets"."""
    phrases = [m.group("np").split() for m in _SUBJECT_OF_Q.finditer(question)]
    # An owner's words run backwards from its "'s": "the segment's".
    phrases += [m.group("np").split()[::-1] for m in _OWNER_Q.finditer(question)]
    words = [w for phrase in phrases for w in _phrase_words(phrase, _PHRASE_ENDS, _GENERIC_SUBJECT, True)]
    return list(dict.fromkeys(words))

def _per_unit(question: str) -> list[str]:
    """The folded head noun of what an "each/per X" question divides by ("share" of "earnings per share",
    "store" of "each flagship store"); the sentence that answers must name it."""
    heads = []
    for match in _PER_UNIT_Q.finditer(question):
        words = _phrase_words(match.group("np").split()[:3], _PHRASE_ENDS | _UNIT_VERBS, set())
        if words and words[-1] not in _GENERIC_UNITS:
            heads.append(words[-1])
    return list(dict.fromkeys(heads))

def _quantity_noun(question: str) -> tuple[str, bool]:
    """The folded head noun of a "how many/much NP ..." question, and whether it asks for a count."""
    match = _QUANTITY_Q.search(question)
    if not match:
        return "", False
    words = match.group("np").split()
    # "how many stores' sales": the possessive is what is counted.
    for i, word in enumerate(words):
        if word.endswith(("'", "’")) or word.lower().endswith(("'s", "’s")):
            words = words[: i + 1]
            break
    for i, word in enumerate(words):
        if word.lower() in _HEAD_ENDS:
            words = words[:i]
            break
    if not words or words[-1].lower() in _NOT_QUANTITY_NOUNS:
        return "", False
    head = lexical_tokens(words[-1].rstrip("'’").removesuffix("'s").removesuffix("’s"), keep_stop_words=True)
    if not head or head[-1] in STOP_WORDS:
        return "", False
    return fold(head[-1]), match.group("kind").lower() == "many"

def _anchors(question: str, is_chinese: bool) -> list[str]:
    """The names and periods of a question an answer's sentence must share with it, as folded tokens."""
    anchors = []
    matches = list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9.\-'’/]*", question))
    for i, match in enumerate(matches):
        word = match.group(0).rstrip(".'’").removesuffix("'s").removesuffix("’s")
        low = word.lower()
        if (low in _QUESTION_WORDS and i == 0) or low in QUALIFIERS:
            continue
        # A word that opens a sentence of the question ("... FY2023? If gross margin is not ...", "Round your
        # answer") is capitalized for that, not because it names something.
        opens_sentence = i == 0 or bool(re.search(r"[.?!:;]\s*[\"'(“]?$", question[: match.start()]))
        if opens_sentence and word[:1].isupper() and word[1:].islower():
            continue
        # A question written in title case ("What Was AMCOR's Adjusted Non GAAP EBITDA for FY 2023") capitalizes
        # its function words too; those name nothing.
        if low in STOP_WORDS and not word.isupper():
            continue
        tokens = lexical_tokens(word, keep_stop_words=True)
        if any(ch.isdigit() for ch in word):
            # Of "late-2025" only the year anchors; a Chinese date's month and day ("12月16日") do not,
            # since an English text writes "December 16".
            tokens = [t for t in tokens if any(ch.isdigit() for ch in t)]
            if is_chinese:
                tokens = [t for t in tokens if not (t.isdigit() and int(t) < 100)]
            anchors.extend(tokens)
        elif (word[:1].isupper() and low not in _QUESTION_WORDS) or (word.isupper() and len(word) > 1):
            anchors.extend(t for t in tokens if t not in QUALIFIERS)
    return list(dict.fromkeys(anchors))


# A Chinese question names what it asks about just before its question word: "2026年的研发费用是多少？",
# "质押物占持股比是什么？", "新晶圆厂总投资多少？".
# Only for a figure or a thing asked for: before "什么时候" or "如何" stands a verb, not what is asked about.
_CHINESE_ASK = re.compile(r"(?:是|为|有|约|大约|达到|共|一共)?(?:多少|什么(?!时候)|几|哪些|哪个|哪家)")


def _chinese_head(question: str) -> str:
    """The last word of two or more characters before a Chinese question's question word, the thing asked for
    ("研发费用" of "2026年的研发费用是多少？"); empty when there is none."""
    match = _CHINESE_ASK.search(question)
    before = question[: match.start()] if match else ""
    words = [w for w in chinese_words(before.rsplit("的", 1)[-1]) if len(w) > 1]
    head = words[-1] if words else ""
    # "披露时间", "占总股本比例", "金额": a kind of answer, which the kind checks look for, not a word to find.
    return "" if _DATE_Q.search(head) or _PERCENT_Q.search(head) or _AMOUNT_Q.search(head) else head


_PHRASE_ENDS = STOP_WORDS | _AUXILIARIES | _HEAD_ENDS | _REPORTING_VERBS | _SUBJECT_ENDS


def _phrase_words(words: list[str], ends: frozenset[str], skipped: frozenset[str] | set[str],
                  lowercase_only: bool = False) -> list[str]:
    """The folded words of a noun phrase, up to the first word that ends it (a verb, a preposition), leaving out
    those in `skipped` and, with `lowercase_only`, names and figures (checked elsewhere)."""
    out: list[str] = []
    for word in words:
        low = word.lower().strip(".,?!'’")
        if low in ends:
            break
        if lowercase_only and (not word[:1].islower() or any(ch.isdigit() for ch in low)):
            continue
        # "pre-tax" is two words in a sentence's tokens, as in the question's.
        out.extend(t for t in map(fold, lexical_tokens(low, keep_stop_words=True)) if t not in skipped)
    return out
