"""Answer: a question and its retrieved Hits -> a Draft answer whose every claim carries an [n] marker.

Answerers:
- ExtractiveAnswerer picks the sentence(s), or the clause of a long sentence, that answer the question and
  quotes them. No generative model: deterministic, fast, and the fallback for the others.
- LlamaCppAnswerer runs a local GGUF model in-process (default: the packaged Qwen2.5-Coder-1.5B-Instruct).
- OpenAIAnswerer talks to any OpenAI-compatible endpoint through LangChain's ChatOpenAI.
Both generative answerers only see passages that passed the relevance gate, as numbered [n] windows.
"""

from __future__ import annotations

import difflib
import logging
import math
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from rag.chunk import count_tokens, heading_of, sentence_spans
from rag.cite import figures
from rag.embed import Embedder
from rag.errors import AnswererError
from rag.glossary import Glossary, load_glossary, phrase_in
from rag.lexical import STOP_WORDS, fold, lexical_tokens
from rag.prompts import load_prompt
from rag.settings import AnswerSettings, LLMSettings
from rag.types import Citation, Hit

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The indexed reports do not answer this question."
NOT_IN_REPORTS = "NOT_IN_REPORTS"
# A small model sometimes says it in its own words ("... is not provided in the given passages. [3]").
_SAYS_NOT_IN_PASSAGES = re.compile(
    r"\b(is|are|was|were) not (provided|mentioned|stated|given|specified|included|disclosed|available)\b|"
    r"\b(does|do|did) not (say|mention|provide|state|specify|include|contain|give|disclose)\b|"
    r"\bno (information|data|mention|figure)s? (is |are )?(given|provided|available|about|on|for)\b|"
    r"\bcannot be (determined|found|answered)\b", re.IGNORECASE)


def says_not_in_reports(raw: str) -> bool:
    """Whether a model's reply declines to answer: the agreed NOT_IN_REPORTS, or the same said in words and
    without a figure to back any claim."""
    if NOT_IN_REPORTS in raw.upper().replace(" ", "_"):
        return True
    return bool(_SAYS_NOT_IN_PASSAGES.search(raw)) and not figures(raw)
TokenSink = Callable[[str], None]

_CJK = re.compile(r"[\u3400-\u9fff]")
_NUMBER_Q = re.compile(
    r"\b(how (much|many|fast|big|large|high|sharply)|what (exact |expected |projected |annual )?(percentage|percent|"
    r"share|rate|proportion|portion|slice|value|amount|level|price|number|cagr|growth|fraction|multiple)|how did .{0,60} perform|what (is|was|are|were|will be) (the |its |their )?([\w'’-]+ ){0,4}(price|revenue|sales|"
    r"profit|margin|yield|rate|share|value|size|ratio|eps|income|capex|spending|shipments|valuation|gain|return|asp|"
    r"cost|demand|consumption|dividend|backlog|earnings)s?|by how much|what is the (expected )?(growth|share|cagr|rate|ratio|price)|"
    r"grow(th)? rate|cagr|ratio|percentage)\b|多少|百分|增长|增速|比例|占比|份额|规模", re.IGNORECASE)
_DATE_Q = re.compile(r"\b(when|what year|which year|which quarter|what quarter|by when|what date|what time)\b|"
                     r"什么时候|何时|哪一年|哪年|哪个季度|日期", re.IGNORECASE)
_LIST_Q = re.compile(r"\b(which|what) ([\w-]+ ){0,3}(companies|firms|stocks|names|chips|devices|risks|products|areas|sectors|"
                     r"types|technologies|markets)\b|\blist\b|哪些", re.IGNORECASE)
_QUESTION_WORDS = {"what", "which", "who", "when", "where", "why", "how", "is", "are", "does", "do", "did", "will",
                   "can", "according", "in", "by", "the", "name", "list", "give", "tell"}
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
# Rates, shares and performance are answered by a percentage (or a multiple), not by any figure: "double-digit
# growth for three years" does not say what growth rate WSTS forecasts.
_PERCENT_Q = re.compile(
    r"\b(percentage|percent|growth rate|rate of growth|cagr|share of|what share|proportion|fraction|"
    r"how fast|how sharply|how did .{0,60} perform)\b|\bin\s?%|\(%\)|百分|比例|占比|份额|增速", re.IGNORECASE)
# "By how much are DRAM contract prices expected to rise?": the thing that changes is named just before the verb
# of change; a sentence about a neighbouring measure ("bit demand for DRAM ... increase by 26%") does not answer.
_MEASURED_Q = re.compile(
    r"\b(?:by )?how (?:much|sharply|fast) (?:had|has|have|did|does|do|will|is|are|was|were) (?P<np>(?:[\w'’-]+ ){1,5}?)"
    r"(?:been |be |expected to |likely to |projected to |forecast to |set to )?"
    r"(?:rise|risen|rose|grow|grown|grew|increase|increased|climb|climbed|fall|fallen|fell|drop|dropped|decline|"
    r"declined|gain|gained|jump|jumped|surge|surged)\b", re.IGNORECASE)
_REPORTING_VERBS = {"think", "thinks", "expect", "expects", "say", "says", "believe", "believes", "forecast",
                    "forecasts", "predict", "predicts", "estimate", "estimates", "see", "sees", "project", "projects"}
_HEAD_ENDS = {"of", "for", "in", "on", "at", "to", "from", "with", "among", "across", "by", "between", "per", "each"}
_AUXILIARIES = {"will", "would", "could", "should", "may", "might", "can", "to", "be", "been", "have", "has", "had"}
# "How many AI servers does ...", "How much more memory capacity will ...": the noun phrase up to the verb.
_QUANTITY_Q = re.compile(
    r"\bhow (?P<kind>many|much) (?:more |additional |extra )?(?P<np>(?!of\b)(?:[\w'’-]+ ){0,5}?[\w'’-]+) "
    r"(?:is|are|was|were|will|would|did|does|do|has|have|had|can|could|should|may|might|must)\b", re.IGNORECASE)
# Words after "how much" that are not what is measured ("how much higher", "how much money").
_NOT_QUANTITY_NOUNS = {"more", "less", "higher", "lower", "bigger", "larger", "smaller", "faster", "further",
                       "longer", "money", "time", "fewer", "greater", "better", "worse", "hundred", "hundreds",
                       "thousand", "thousands", "million", "millions", "billion", "billions", "dollars", "percent"}
_AMOUNT_Q = re.compile(r"\b(worth|in dollars|in (?:us )?dollar terms|in (?:usd|rmb|yuan)|market size|how much money|valued at|"
                        r"value of)\b|金额|市场规模", re.IGNORECASE)
_META_Q = re.compile(
    r"\b(who (published|wrote|issued|released)|which (outlet|site|publication|publisher|media)|"
    r"when was (this|the) (report|article|note) (published|released|issued)|publication date|"
    r"(date|day) (was )?(this|the) (report|article|note)|(what|which) date was (this|the) (report|article)|"
    r"whose (research|report)|which (bank|broker|brokerage|firm|house)('s)? (research|report)|"
    r"(published|released) (on|by) what|who is the (publisher|author|source))\b|谁发布|发布日期|哪家券商|哪个券商|发布时间",
    re.IGNORECASE)
_JOINED_Q = re.compile(r"\b(and|or|compare[sd]?|comparison|versus|vs|relative to|differ|difference)\b|&|和|与|比较|相比|对比",
                       re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r",\s+(?=and |while |with |which |but |whereas |as well as |along with )|;\s+")
_YEAR = re.compile(r"^(19|20)\d\d$")
_QUARTER = re.compile(r"^([1-4])q(\d\d)$")
_CONTRACTION = re.compile(r"\b(what|how|who|where|when|which|that|it)['’]s\b", re.IGNORECASE)
# A question about the cause of an event or a change, answered by a sentence that gives one (_BECAUSE); one that
# only states the event gives no cause. Not "Why is pro forma information presented?": a purpose answers that
# ("for information purposes only"), in words no list of connectives holds.
_REASON_Q = re.compile(r"^\s*why (?:did|has|have|had|was|were)\b|\bwhat (?:reasons?|caused?|causes|drove|drives|"
                       r"is driving|explains|led to)\b|\breasons? (?:for|behind)\b|为什么|原因", re.IGNORECASE)
_BECAUSE = re.compile(
    r"\b(?:due to|because|as a result|result(?:s|ed|ing)? (?:from|in)|driven by|owing to|thanks to|attribut(?:able|ed) "
    r"to|caused by|benefit(?:s|ing|ed)? from|led by|on the back of|amid|reflect(?:s|ing|ed)?|c(?:a|o)me[s]? from|"
    r"stem(?:s|med)? from|(?:primarily|mainly|mostly|largely) (?:from|by|on)|in light of|supported by|fu?ell?ed by|"
    r"boosted by|helped by|hurt by|offset by|following|in response to|therefore|thus|hence|so that|given)\b|"
    r"由于|因为|受益于|得益于|导致", re.IGNORECASE)
_QUARTER_FORMS = [
    (re.compile(r"\bQ([1-4])\s*(?:FY|CY)?\s*['’]?\s*(?:20)?(\d\d)\b", re.IGNORECASE), r"\1Q\2"),
    (re.compile(r"\b([1-4])Q\s*(?:FY|CY)?\s*['’]?\s*(?:20)?(\d\d)\b", re.IGNORECASE), r"\1Q\2"),
    (re.compile(r"\b(first|second|third|fourth) quarter (?:of |in )?(?:20)?(\d\d)\b", re.IGNORECASE),
     lambda m: f"{['first', 'second', 'third', 'fourth'].index(m.group(1).lower()) + 1}Q{m.group(2)}"),
    (re.compile(r"\b(?:FY|CY)\s?['’]?(?:20)?(\d\d)\b", re.IGNORECASE), r"20\1"),
]
# What a figure measures. A question about one of these is not answered by a figure for another: Infineon's
# power forecast is not its revenue forecast, and DRAM bit demand growth is not an ASP rise.
_METRICS = frozenset(fold(w) for w in """revenue revenues sales profit profits earnings income margin margins price
    prices asp capex expenditure shipments demand consumption dividend dividends yield eps valuation cost costs
    backlog inventory inventories cagr growth""".split())
_ASKS_NAME_Q = re.compile(r"\s*(?:which|who|whose|whom|where|why)\b", re.IGNORECASE)
# "demand drivers", "price trends": a metric word that heads no figure.
_NOT_FIGURE_HEADS = frozenset(fold(w) for w in """driver drivers factor factors reason reasons risk risks trend trends
    outlook catalyst catalysts source sources side dynamics condition conditions environment""".split())
# "the localization rate of analog chips", "CAGR for the silicon photonics chip market", "the electronics
# sector's gain": what the figure is about. The sentence that answers must be about it too.
_SUBJECT_OF_Q = re.compile(
    r"\b(?:rate|ratio|share|portion|slice|price|prices|cagr|growth|value|size|revenue|sales|demand|margin|margins|"
    r"shipments|capex|consumption|gain|gains|return|returns|penetration)\s+(?:of|for|in)\s+(?:the\s+)?"
    r"(?P<np>[\w-]+(?:\s+[\w-]+){0,3})", re.IGNORECASE)
_OWNER_Q = re.compile(r"\b(?P<np>(?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)(?:'s|’s|s'|s’)\s", re.IGNORECASE)
# Verbs that end a subject ("worldwide chip revenue came from China").
_SUBJECT_ENDS = frozenset("""come came comes compare compared account accounted hold holds reach reached grow grew
    rise rose fall fell see saw expect expected change changed drive drove hit perform performed stand end""".split())
# Words that name no particular subject: "the chip market" is about chips, "the bank's view" about nothing.
_GENERIC_SUBJECT = frozenset(fold(w) for w in """market markets sector sectors industry industries segment segments
    space business company companies firm firms group total overall current latest new next whole entire bank
    broker report house analyst analysts brokerage year years quarter""".split())
_DECADE_END = re.compile(r"\b(?:(?:the )?end of (?:the|this) decade|(?:the )?decade'?s end|decade-end)\b", re.IGNORECASE)
# "each AI server", "per share", "a single GPU"; not "per cent" or "each year". Not "one", which is as often a
# pronoun ("Where should one look ...").
_PER_UNIT_Q = re.compile(r"\b(?:each|every|per|a single)\s+(?!of\b|cent\b|another\b)(?P<np>(?:[\w-]+\s+){0,2}[\w-]+)",
                         re.IGNORECASE)
# Verbs that end the unit: "each AI server need", "one GPU draw".
_UNIT_VERBS = frozenset("""need needs draw draws consume consumes use uses cost costs require requires get gets make
    makes earn earns generate generates ship ships sell sells carry carries take takes""".split())
# A rate "per year" or "each quarter" is written as annual growth or a CAGR, not with the word "year"; "AI" is in
# nearly every sentence of an AI report and tells nothing apart.
_GENERIC_UNITS = {"ai", "year", "annum", "quarter", "month", "week", "day", "time"}


@dataclass
class Draft:
    """An answer before it becomes an Answer: text with [n] markers, citations, and what happened."""

    text: str
    citations: list[Citation]
    abstained: bool
    answerer: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Sentence:
    hit: Hit
    start: int  # offsets in the document
    end: int
    text: str
    previous: str = ""  # the sentence before, within the same passage
    section: str = ""  # the heading in force at the sentence ("AI edge")
    coverage: float = 0.0
    similarity: float = 0.0
    score: float = 0.0
    needs_previous: bool = False


class QuestionProfile:
    """What a question asks for: its content tokens, the anchors (names, figures) a passage must share with
    it, and the kind of answer it expects (a figure, a date, a list)."""

    def __init__(self, question: str, glossary: Glossary | None = None, today: date | None = None) -> None:
        self.question = question
        # "Q3 2025", "3Q 2025" and "the third quarter of 2025" are the report's "3Q25"; "FY26" is 2026; "What's"
        # is "What is".
        question = _CONTRACTION.sub(r"\1 is", quarters_as_written(question))
        self.tokens = list(dict.fromkeys(lexical_tokens(question)))
        # A question's word also counts as present where a sentence says it in the report's words ("energy
        # draw" / "power consumption"): folded token -> phrases that stand for it.
        glossary = glossary or load_glossary()
        self.alternatives = glossary.expansions([fold(t) for t in lexical_tokens(question, keep_stop_words=True)])
        self.is_chinese = bool(_CJK.search(question))
        self.wants_number = bool(_NUMBER_Q.search(question))
        self.wants_date = bool(_DATE_Q.search(question))
        self.wants_list = bool(_LIST_Q.search(question))
        self.wants_amount = bool(_AMOUNT_Q.search(question))
        # Only for a figure question: "Which company has the largest share of ..." is answered by a name, and
        # "Since when has the chain's performance ..." by a date.
        self.wants_percent = (self.wants_number and not self.wants_date and not self.wants_list
                              and bool(_PERCENT_Q.search(question)))
        self.measured = self._measured(question)
        self.is_meta = bool(_META_Q.search(question))
        self.wants_reason = bool(_REASON_Q.search(question))
        # "How do DRAM bit demand and the NAND price rise compare?", "... stock options and ESPP, and RSUs": names
        # that may be answered by one sentence each.
        self.joins_subjects = bool(_JOINED_Q.search(question))
        self.anchors = self._anchors(question)
        # "by the end of the decade" is a year, and the sentence that answers must name it.
        decade = _DECADE_END.search(question)
        if decade:
            year = str(((today or date.today()).year // 10 + 1) * 10)
            self.anchors.append(year)
            for token in lexical_tokens(decade.group(0)):
                self.alternatives.setdefault(fold(token), []).append((year,))
        if self.is_chinese:
            # "12月16日" is "December 16" in an English report: let the date anchor the search.
            for month, day in re.findall(r"(\d{1,2})月(\d{1,2})日", question):
                if 1 <= int(month) <= 12:
                    written = f"{_MONTH_NAMES[int(month) - 1]} {int(day)}"
                    self.anchors += lexical_tokens(written, keep_stop_words=True)
                    self.tokens += lexical_tokens(written, keep_stop_words=True)
        # "How many AI servers ..." is answered by a count of servers, and "How much memory ..." by a figure
        # about memory, not by any number in a sentence about the topic.
        self.quantity_noun, self.wants_count = self._quantity_noun(question)
        # "How much memory will each AI server need?" is answered by a figure per server, not by total demand.
        self.per_unit = self._per_unit(question)
        # What a figure measures; "What demand drivers ..." asks for drivers, not for demand, and "Which two
        # shocks preceded the consensus on AI earnings?" for events, not for earnings.
        asks_figure = self.wants_number or self.wants_amount or bool(self.quantity_noun or self.measured)
        folded = [fold(t) for t in lexical_tokens(question, keep_stop_words=True)]
        self.metrics = [] if _ASKS_NAME_Q.match(question) and not asks_figure else list(dict.fromkeys(
            t for t, after in zip(folded, [*folded[1:], ""]) if t in _METRICS and after not in _NOT_FIGURE_HEADS))
        # The subject of a figure. Only for a figure: "Which handset line's comeback ..." is answered by "the
        # Huawei Mate series", in words a subject check would refuse.
        self.subject = self._subject(question) if asks_figure else []
        # Years and quarters ("2026", "3q25"): the sentence that answers must be about that period.
        self.years = [a for a in self.anchors if _YEAR.match(a) or re.fullmatch(r"[1-4]q\d{2}(\d{2})?", a)]
        # Names and other anchors: the sentence that answers must speak of them, not only its passage.
        self.names = [a for a in self.anchors if a not in self.years]

    @staticmethod
    def _measured(question: str) -> list[str]:
        """The head noun of what a "how much did X rise" question measures, as folded tokens ("sub-index" ->
        ["sub", "index"]); [] for other questions."""
        match = _MEASURED_Q.search(question)
        if not match:
            return []
        words = match.group("np").split()
        # "How much does Guosen think the market will grow": what grows follows the reporting verb.
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

    def holds(self, anchor: str, tokens: set[str]) -> bool:
        """Whether a sentence's (or passage's) folded tokens hold one of the question's anchors: as written, as
        the report abbreviates it ("3Q25", "in 25"), or in words the glossary gives for it ("Chinese")."""
        return _anchor_in(anchor, tokens) or self.covers(fold(anchor), tokens)

    def covers(self, term: str, tokens: set[str]) -> bool:
        """Whether a sentence's folded tokens hold the question's folded `term`, as written or in the words the
        glossary lets a report use for it."""
        return term in tokens or any(phrase_in(alt, tokens) for alt in self.alternatives.get(term, ()))

    @staticmethod
    def _subject(question: str) -> list[str]:
        """The folded words of what a figure is asked about, where the question says it in lowercase words
        (capitalized ones are names, checked anyway): "analog chips" of "the rate of analog chips in China"."""
        phrases = [m.group("np").split() for m in _SUBJECT_OF_Q.finditer(question)]
        # An owner's words run backwards from its "'s": "the electronics sector's".
        phrases += [m.group("np").split()[::-1] for m in _OWNER_Q.finditer(question)]
        words = [w for phrase in phrases for w in _phrase_words(phrase, _PHRASE_ENDS, _GENERIC_SUBJECT, True)]
        return list(dict.fromkeys(words))

    @staticmethod
    def _per_unit(question: str) -> list[str]:
        """The folded words of what an "each/per/one X" question divides by ("server" of "each AI server need",
        "server" and "rack" of "each server rack draw"); the sentence that answers must name one of them."""
        words = [w for match in _PER_UNIT_Q.finditer(question)
                 for w in _phrase_words(match.group("np").split()[:3], _PHRASE_ENDS | _UNIT_VERBS, _GENERIC_UNITS)]
        return list(dict.fromkeys(words))

    @staticmethod
    def _quantity_noun(question: str) -> tuple[str, bool]:
        """The folded head noun of a "how many/much NP ..." question, and whether it asks for a count."""
        match = _QUANTITY_Q.search(question)
        if not match:
            return "", False
        words = match.group("np").split()
        # "how many companies' operating data": the possessive is what is counted.
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

    def _anchors(self, question: str) -> list[str]:
        anchors = []
        words = re.findall(r"[A-Za-z0-9][A-Za-z0-9.\-'’]*", question)
        for i, word in enumerate(words):
            word = word.rstrip(".'’").removesuffix("'s").removesuffix("’s")
            low = word.lower()
            if low in _QUESTION_WORDS and i == 0:
                continue
            tokens = lexical_tokens(word, keep_stop_words=True)
            if any(ch.isdigit() for ch in word):
                # Of "late-2025" only the year anchors; a Chinese date's month and day ("12月16日") do not,
                # since the English text writes "December 16".
                tokens = [t for t in tokens if any(ch.isdigit() for ch in t)]
                if self.is_chinese:
                    tokens = [t for t in tokens if not (t.isdigit() and int(t) < 100)]
                anchors.extend(tokens)
            elif (word[:1].isupper() and i > 0 and low not in _QUESTION_WORDS) or (word.isupper() and len(word) > 1):
                anchors.extend(tokens)
        return [a for a in dict.fromkeys(anchors) if a not in ("ai",)]


_PHRASE_ENDS = STOP_WORDS | _AUXILIARIES | _HEAD_ENDS | _REPORTING_VERBS | _SUBJECT_ENDS


def _phrase_words(words: list[str], ends: frozenset[str], skipped: frozenset[str] | set[str],
                  lowercase_only: bool = False) -> list[str]:
    """The folded words of a noun phrase, up to the first word that ends it (a verb, a preposition), leaving out
    those in `skipped` and, with `lowercase_only`, names and figures (checked elsewhere)."""
    out = []
    for word in words:
        low = word.lower().strip(".,?!'’")
        if low in ends:
            break
        if lowercase_only and (not word[:1].islower() or any(ch.isdigit() for ch in low)):
            continue
        # "high-speed" is two words in a sentence's tokens, as in the question's.
        out.extend(t for t in map(fold, lexical_tokens(low, keep_stop_words=True)) if t not in skipped)
    return out


def _place_text(profile: QuestionProfile, sentence: _Sentence) -> str:
    """The words that say what a sentence is about: its own, its section heading's, the report title's and,
    for a list, those of the sentence that introduces it."""
    place = f"{sentence.text}\n{sentence.section}\n{sentence.hit.title}"
    return f"{place}\n{sentence.previous}" if profile.wants_list else place


def names_stated(profile: QuestionProfile, text: str) -> bool:
    """Whether `text` names what the question names: all of it, or at least one where the question joins or
    compares subjects (the answerer then checks that its quotes name them all together); and whether it speaks
    of the subject a figure is asked about ("analog chips"), in the report's words or the glossary's."""
    tokens = _token_set(text)
    if not profile.joins_subjects and not all(profile.covers(t, tokens) or _misspelt_in(t, tokens)
                                              for t in profile.subject):
        return False
    if not profile.names:
        return True
    found = [profile.holds(a, tokens) for a in profile.names]
    # "How do DRAM bit demand growth and the NAND price rise compare?" is answered by one sentence on each.
    return any(found) if profile.joins_subjects else all(found)


def _misspelt_in(term: str, tokens: set[str]) -> bool:
    """Whether a long word of the question appears in the sentence misspelt by a letter or two ("liabilites")."""
    if len(term) < 6:
        return False
    return any(abs(len(t) - len(term)) <= 2 and t[:2] == term[:2] and
               difflib.SequenceMatcher(None, term, t).ratio() >= 0.85 for t in tokens)


def _token_set(text: str) -> set[str]:
    # Quarters and fiscal years read alike in questions and sentences: "the fourth quarter of 2019" is "4Q19".
    return {fold(t) for t in lexical_tokens(quarters_as_written(text), keep_stop_words=True)}


# "in 26" and "end of 26" are years, not figures.
_SHORT_YEAR = re.compile(r"\b(?:in|of|by|from|to|since)\s+(\d{2})\b(?![.%\d])")


def has_non_year_figure(text: str) -> bool:
    short_years = {str(int(m.group(1))) for m in _SHORT_YEAR.finditer(text)}
    for key in figures(text):
        if "Q" in key or _YEAR.match(key) or key in short_years:
            continue
        return True
    return bool(re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|dozen|hundred|"
                          r"thousand|million|billion)\b", text, re.IGNORECASE))


_WORD_NUMBERS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
                 r"hundreds|thousands|millions|billions|dozens?")
_COUNT = re.compile(
    rf"(?<![\w$¥€£.,])(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:\s?(?:million|billion|thousand|mn|bn))?|"
    rf"(?:{_WORD_NUMBERS})\b)(?![\w%％])(?!\s?(?:%|％|percent|per ?cent|x\b|times\b|basis|percentage|ppts?\b|"
    rf"bps\b|pp\b))\s+[A-Za-z]", re.IGNORECASE)


def has_count(text: str) -> bool:
    """Whether the text counts something ("146 companies", "20 million by", "eight consecutive quarters"),
    rather than giving only rates, money, measurements or dates."""
    text = _SHORT_YEAR.sub(" ", text)
    for match in _COUNT.finditer(text):
        number = match.group(0).rsplit(None, 1)[0].strip()
        if _YEAR.match(number):
            continue
        return True
    return False


def has_amount(text: str) -> bool:
    return bool(re.search(r"[$¥€£]\s?\d|\b\d[\d,.]*\s?(billion|million|trillion|bn|mn)\b|\b(RMB|USD|yuan)\b|亿|万元",
                          text, re.IGNORECASE))


def has_percent(text: str) -> bool:
    return bool(re.search(r"\d\s?(%|％|bps?\b|ppts?\b|pp\b|x\b|times\b)|\bper ?cent\b|basis points?|"
                          r"percentage points?|百分点|百分之", text, re.IGNORECASE))


def has_date(text: str) -> bool:
    keys = figures(text)
    return any("Q" in k or _YEAR.match(k) for k in keys) or bool(
        re.search(r"\b(January|February|March|April|May|June|July|August|September|October|November|December)\b",
                  text))


def eligible_hits(profile: QuestionProfile, hits: list[Hit]) -> list[Hit]:
    """Hits that mention every anchor (name, figure, year) of the question: a passage about another company
    or another year must not answer it."""
    if not profile.anchors:
        return list(hits)
    kept = []
    for hit in hits:
        tokens = _token_set(f"{hit.title}\n{hit.text}")
        if all(profile.holds(a, tokens) for a in profile.anchors):
            kept.append(hit)
    return kept


def quarters_as_written(text: str) -> str:
    """Quarters in the broker's short form: "Q3 2025", "3Q 2025", "Q3'25", "the third quarter of 2025" -> "3Q25";
    fiscal and calendar years as years: "FY26" -> "2026"."""
    for pattern, replacement in _QUARTER_FORMS:
        text = pattern.sub(replacement, text)
    return text


def _anchor_in(anchor: str, tokens: set[str]) -> bool:
    anchor = fold(anchor)
    # The light fold leaves short plurals alone: "GPUs" and "GPU".
    if anchor in tokens or anchor + "s" in tokens or (len(anchor) > 3 and anchor.endswith("s") and anchor[:-1] in tokens):
        return True
    # Reports write "in 25", "1Q26" and "FY26" for 2025 and 2026.
    if _YEAR.match(anchor) and (anchor[2:] in tokens or any(t.endswith(("q" + anchor[2:], "fy" + anchor[2:]))
                                                            for t in tokens)):
        return True
    # ... and some write "Q3 2025" or "3Q2025" for 3Q25.
    quarter = _QUARTER.match(anchor)
    if quarter:
        number, year = quarter.groups()
        return f"{number}q20{year}" in tokens or (f"q{number}" in tokens and bool({year, "20" + year} & tokens))
    return False


class PassageScorer:
    """Scores the sentences of retrieved passages against a question: lexical coverage of the question's
    terms (weighted by rarity among the candidates), embedding similarity, and the kind of answer."""

    def __init__(self, embedder: Embedder, cache_size: int = 20000) -> None:
        self.embedder = embedder
        self._cache: dict[str, list[float]] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def sentences(self, hits: list[Hit]) -> list[_Sentence]:
        out = []
        for hit in hits:
            previous, section = "", hit.section
            for s, e in sentence_spans(hit.text):
                out.append(_Sentence(hit=hit, start=hit.start + s, end=hit.start + e, text=hit.text[s:e],
                                     previous=previous, section=section))
                previous = hit.text[s:e]
                section = heading_of(hit.text, s, e) or section
        return out

    def eligible(self, profile: QuestionProfile, hits: list[Hit]) -> list[Hit]:
        return eligible_hits(profile, hits)

    def score(self, profile: QuestionProfile, sentences: list[_Sentence]) -> list[_Sentence]:
        if not sentences:
            return []
        question_terms = [fold(t) for t in profile.tokens]
        sentence_tokens = [_token_set(s.text) for s in sentences]
        n = len(sentences)

        def held(toks: set[str]) -> float:
            return sum(idf[t] for t in question_terms if profile.covers(t, toks)) / total

        idf = {t: math.log(1 + n / (1 + sum(profile.covers(t, toks) for toks in sentence_tokens))) + 0.1
               for t in question_terms}
        total = sum(idf.values()) or 1.0
        vectors = self._embed([s.text for s in sentences])
        query = self.embedder.embed_query(profile.question)
        for sentence, toks, vector in zip(sentences, sentence_tokens, vectors):
            own = held(toks)
            # A list sentence ("Companies to watch include ...") often leaves its subject to the sentence before,
            # or to the heading of its section ("AI edge: ...").
            context_toks = toks | _token_set(sentence.previous) if sentence.previous else toks
            with_context = held(context_toks)
            sentence.needs_previous = with_context * 0.85 > own and (profile.wants_list or own < 0.3)
            sentence.coverage = max(own, 0.85 * with_context) if sentence.needs_previous else own
            if sentence.section and profile.wants_list:
                sentence.coverage = max(sentence.coverage, 0.8 * held(context_toks | _token_set(sentence.section)))
            sentence.similarity = sum(a * b for a, b in zip(query, vector))
            bonus = 0.0
            if profile.wants_number:
                bonus += 0.1 if has_non_year_figure(sentence.text) else -0.3
            if profile.wants_amount:
                bonus += 0.1 if has_amount(sentence.text) else -0.3
            if profile.wants_percent:
                bonus += 0.1 if has_percent(sentence.text) else -0.3
            if profile.wants_date:
                bonus += 0.1 if has_date(sentence.text) else -0.3
            if profile.wants_list:
                bonus += 0.1 if sentence.text.count(",") >= 3 else -0.1
            sentence.score = 0.5 * sentence.coverage + 0.5 * sentence.similarity + bonus
        return sorted(sentences, key=lambda s: -s.score)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        # Read the cache into a local dict: another thread may clear it while this one is embedding.
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self.embedder.embed_documents(missing)
            found.update(zip(missing, vectors))
            with self._lock:
                if len(self._cache) + len(missing) > self._cache_size:
                    self._cache.clear()
                self._cache.update(zip(missing, vectors))
        return [found[t] for t in texts]


class ExtractiveAnswerer:
    """Quotes the best-supported sentence(s), each with its [n] citation."""

    name = "extractive"

    def __init__(self, scorer: PassageScorer, settings: AnswerSettings) -> None:
        self.scorer = scorer
        self.settings = settings
        self.glossary = load_glossary(settings.glossary_path)

    def profile(self, question: str) -> QuestionProfile:
        return QuestionProfile(question, self.glossary)

    def answer(self, question: str, hits: list[Hit]) -> Draft:
        profile = self.profile(question)
        if profile.is_meta:
            meta = self.about_report(profile, hits)
            if meta:
                return meta
        reason = gate(profile, hits, self.settings)
        if reason:
            return abstention(self.name, reason)
        ranked = self.scorer.score(profile, self.scorer.sentences(self.scorer.eligible(profile, hits)))
        # The top-scoring sentence may speak of the topic without the answer ("Average exchange rates during
        # FY 2019 are given below:"); the best one that does answer is quoted.
        best = next((s for s in ranked if self.supports(profile, s)), None)
        if best is None:
            return abstention(self.name, "no sentence in the retrieved passages answers the question")
        ranked = ranked[ranked.index(best):]
        chosen = [best]
        # A list question is answered by one list; a second one nearby is a list of something else. A Chinese
        # question is judged by its names and figures alone: quote only the sentence that holds the most of them.
        most = 1 if profile.wants_list or profile.is_chinese else self.settings.max_sentences
        for other in ranked[1:]:
            if len(chosen) >= most:
                break
            if other.score >= 0.92 * best.score and self.supports(profile, other) and self._adds(other, chosen):
                chosen.append(other)
        if profile.joins_subjects:
            # Joined subjects get a sentence each, however far the second one ranks below the first.
            for other in ranked[1:]:
                missing = self._names_missing(profile, chosen)
                if not missing:
                    break
                # A sentence on another subject adds to the answer even if it repeats the first one's wording
                # ("... related to stock options ... 2.87 years", "... related to RSUs ... 2.69 years").
                if (set(missing) - set(self._names_missing(profile, [other])) and self.supports(profile, other)
                        and not self._overlaps(other, chosen)):
                    chosen.append(other)
            missing = self._names_missing(profile, chosen)
            if missing:
                return abstention(self.name, f"no sentence that answers names: {', '.join(missing)}")
        chosen.sort(key=lambda s: (s.hit.rank, s.start))
        parts, citations = [], []
        for sentence in chosen:
            start = sentence.start
            # ... unless that sentence is already quoted on its own.
            quoted_before = any(c is not sentence and c.text == sentence.previous for c in chosen)
            if sentence.needs_previous and sentence.previous and not quoted_before:
                # Quote the sentence that names the subject too, so the list reads on its own.
                found = sentence.hit.text.rfind(sentence.previous, 0, sentence.start - sentence.hit.start)
                if found >= 0:
                    start = sentence.hit.start + found
            n = len(citations) + 1
            cited = citation_for(n, sentence.hit, start, sentence.end)
            citations.append(cited)
            parts.append(f"{_as_quote(cited.text)} [{n}]")
        return Draft(text=" ".join(parts), citations=citations, abstained=False, answerer=self.name)

    def supports(self, profile: QuestionProfile, sentence: _Sentence) -> bool:
        """Whether quoting `sentence` answers the question rather than merely touching its topic."""
        if not fits(profile, sentence.text) or not self.names_in_place(profile, sentence):
            return False
        if profile.is_chinese:
            # English-only embeddings cannot judge a Chinese question; its names and figures must carry it.
            return bool(profile.anchors) and sentence.coverage > 0
        if sentence.score < self.settings.min_sentence_score:
            return False
        # Either the sentence shares enough of the question's words, or it means the same thing in others.
        return sentence.coverage >= self.settings.min_coverage or sentence.similarity >= self.settings.min_similarity

    @staticmethod
    def names_in_place(profile: QuestionProfile, sentence: _Sentence) -> bool:
        """Whether the names the question asks about are those the sentence speaks of (see names_stated). The
        passage alone is not enough: "NAND ... price index rising by over 40%" sits next to a sentence about
        DRAM and does not say how much DRAM prices rose."""
        return names_stated(profile, _place_text(profile, sentence))

    @staticmethod
    def _names_missing(profile: QuestionProfile, chosen: list[_Sentence]) -> list[str]:
        tokens = _token_set("\n".join(_place_text(profile, c) for c in chosen))
        return [a for a in profile.names if not profile.holds(a, tokens)]

    @staticmethod
    def _overlaps(candidate: _Sentence, chosen: list[_Sentence]) -> bool:
        return any(c.hit.doc_id == candidate.hit.doc_id and not (candidate.end <= c.start or candidate.start >= c.end)
                   for c in chosen)

    @classmethod
    def _adds(cls, candidate: _Sentence, chosen: list[_Sentence]) -> bool:
        """Whether quoting `candidate` beside `chosen` tells the reader something more."""
        if cls._overlaps(candidate, chosen):
            return False
        # Reports repeat their key lines ("2026 is expected to be a year of ..." in the summary and the body).
        said = set().union(*(_token_set(c.text) for c in chosen))
        own = _token_set(candidate.text)
        return len(own - said) > 0.3 * len(own)

    def about_report(self, profile: QuestionProfile, hits: list[Hit]) -> Draft | None:
        """Questions about the report itself (who published it, when, whose research) are answered from its
        metadata, citing the place in the text where that metadata is written."""
        if not hits:
            return None
        hit = hits[0]
        if not eligible_hits(profile, [hit]):  # "Who published the report on Tesla?" is not about this one
            return None
        q = profile.question.lower()
        wants_date = bool(re.search(r"\bwhen\b|date|day|日期|时间", q))
        wants_broker = bool(re.search(r"whose|bank|broker|brokerage|firm|house|券商", q))
        value = ""
        if wants_date and hit.published:
            value = _date_as_written(hit, hit.published)
        elif wants_broker:
            value = hit.title.split(":", 1)[0] if ":" in hit.title else ""
        elif hit.publisher:
            value = hit.publisher
        if not value:
            return None
        found = hit.text.find(value)
        if found < 0:
            return None
        label = "published on" if wants_date else ("research by" if wants_broker else "published by")
        cited = citation_for(1, hit, hit.start + found, hit.start + found + len(value))
        return Draft(text=f"The report is {label} {value} [1].", citations=[cited], abstained=False,
                     answerer=self.name)


def _date_as_written(hit: Hit, iso: str) -> str:
    y, m, d = iso.split("-")
    for written in (f"{d}/{m}/{y}", f"{int(d)}/{int(m)}/{y}", iso, f"{y}年{int(m)}月{int(d)}日"):
        if written in hit.text:
            return written
    return ""


def fits(profile: QuestionProfile, text: str) -> bool:
    """Whether a sentence holds the kind of answer asked for: a figure, an amount, a date, a count of the
    thing counted, in the year the question names. Applied to quoted sentences and to the sentences a model
    cites alike, so a model cannot answer a 2026 question from a sentence about 2025."""
    if profile.wants_number and not has_non_year_figure(text):
        return False
    if profile.wants_amount and not has_amount(text):
        return False
    if profile.wants_percent and not has_percent(text):
        return False
    if profile.wants_date and not profile.wants_number and not has_date(text):
        return False
    if profile.wants_reason and not _BECAUSE.search(text):
        return False
    tokens = _token_set(text)
    if profile.quantity_noun:
        if not profile.covers(profile.quantity_noun, tokens):
            return False
        # "global AI server shipments will increase by 20.9%" counts no servers; "the top eight CSPs" in the
        # same sentence counts something else: the count must share a clause with the counted noun.
        if profile.wants_count and not any(
                profile.covers(profile.quantity_noun, _token_set(clause)) and has_count(clause)
                for clause in _CLAUSE_BREAK.split(text)):
            return False
    if profile.measured and not all(profile.covers(t, tokens) for t in profile.measured):
        return False
    if profile.per_unit and not any(profile.covers(t, tokens) for t in profile.per_unit):
        return False
    # One of them is enough: "the price per share for the final dividend" is answered by the dividend per share.
    if profile.metrics and not any(profile.covers(m, tokens) for m in profile.metrics):
        return False
    # A year the question names must be the sentence's year, not just one elsewhere in the passage.
    if profile.years and not any(profile.holds(y, tokens) for y in profile.years):
        return False
    return True


def _as_quote(text: str) -> str:
    text = text.strip().rstrip(",;")
    return text if text.endswith((".", "!", "?", "。", "！", "？", '"', "”")) else text + "."


def gate(profile: QuestionProfile, hits: list[Hit], settings: AnswerSettings) -> str:
    """Why the question cannot be answered from these hits, or '' if it may be."""
    if not hits:
        return "nothing relevant was found in the indexed reports"
    if not profile.is_chinese and max(h.relevance for h in hits) < settings.min_relevance:
        return "no passage in the indexed reports is relevant enough"
    if profile.anchors and not eligible_hits(profile, hits):
        missing = ", ".join(profile.anchors)
        return f"no passage mentions all of: {missing}"
    return ""


def abstention(answerer: str, reason: str) -> Draft:
    return Draft(text=ABSTAIN_TEXT, citations=[], abstained=True, answerer=answerer, warnings=[reason])


def citation_for(n: int, hit: Hit, start: int, end: int) -> Citation:
    return Citation(n=n, chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title, source=hit.source, page=hit.page,
                    start=start, end=end, text=hit.text[start - hit.start : end - hit.start])


# Generative answerers ---------------------------------------------------------------------------------


# How far below the best sentence a passage's best sentence may score and still be shown to a model.
PASSAGE_SCORE_MARGIN = 0.25


@dataclass
class Passage:
    """A window of a hit given to a model as [n]: contiguous sentences around the best one."""

    n: int
    hit: Hit
    start: int
    end: int
    text: str


def passages_for_model(profile: QuestionProfile, hits: list[Hit], scorer: PassageScorer, max_passages: int,
                       max_tokens: int) -> list[Passage]:
    """Number the eligible hits' best windows [1]..[n], each at most `max_tokens` long, so the prompt stays
    short enough for a small CPU model to start answering within seconds.

    Passages are ordered by how well their best sentence answers the question, and those far behind the
    best are left out: a 1.5B model leans on [1] and is easily pulled to a distractor's figure."""
    eligible = scorer.eligible(profile, hits)
    ranked = scorer.score(profile, scorer.sentences(eligible))
    if not ranked:
        return []
    best_by_hit: dict[str, _Sentence] = {}
    for sentence in ranked:  # best first
        best_by_hit.setdefault(sentence.hit.chunk_id, sentence)
    top = ranked[0].score
    # At least two: given a single passage, the model still cited "[2]" after the prompt's two-passage example.
    chosen = [s.hit for i, s in enumerate(best_by_hit.values())
              if i < 2 or s.score >= top - PASSAGE_SCORE_MARGIN][:max_passages]
    passages = []
    for hit in chosen:
        own = sorted((s for s in ranked if s.hit is hit), key=lambda s: s.start)
        best = best_by_hit[hit.chunk_id]
        i = own.index(best)
        lo, hi = i, i
        tokens = count_tokens(best.text)
        while True:
            grew = False
            for j in (hi + 1, lo - 1):
                if 0 <= j < len(own) and not (lo <= j <= hi):
                    extra = count_tokens(own[j].text)
                    if tokens + extra <= max_tokens:
                        tokens += extra
                        lo, hi = min(lo, j), max(hi, j)
                        grew = True
            if not grew:
                break
        start, end = own[lo].start, own[hi].end
        passages.append(Passage(n=len(passages) + 1, hit=hit, start=start, end=end,
                                text=hit.text[start - hit.start : end - hit.start]))
    return passages


def build_messages(question: str, passages: list[Passage], repair_note: str = "") -> list[dict[str, str]]:
    # Passages go in bare: a 1.5B model copied a (truncated) report title into its answer. The citations
    # carry the titles and pages instead.
    numbered = "\n".join(f"[{p.n}] {p.text}" for p in passages)
    user = load_prompt("answer").render(passages=numbered, question=question)
    if repair_note:
        user = f"{repair_note}\n\n{user}"
    return [{"role": "system", "content": load_prompt("system").render()}, {"role": "user", "content": user}]


class LlamaCppAnswerer:
    """A local GGUF chat model run by llama-cpp-python in this process, one generation at a time.

    The model lives on one worker thread that loads it and runs every generation, which serializes them
    (llama.cpp contexts are not reentrant) and lets that thread, and the compute threads llama.cpp starts from
    it, run at a lower priority: under load, extractive answers and search then keep their latency while a
    generation is under way."""

    name = "local"

    def __init__(self, settings: LLMSettings, model_path: str) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise AnswererError("llama-cpp-python is not installed: pip install 'llama-cpp-python[server]'") from exc
        self.settings = settings
        self.model_path = model_path
        self._jobs: queue.Queue = queue.Queue()
        loaded = _Job()
        threading.Thread(target=self._work, args=(loaded,), name="llm-generation", daemon=True).start()
        loaded.wait()

    def _work(self, loaded: "_Job") -> None:
        import atexit
        import os

        from llama_cpp import Llama

        if self.settings.nice:
            try:  # Linux: niceness is per thread and inherited by the threads this one starts
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.settings.nice)
            except (AttributeError, OSError):
                pass
        threads = self.settings.n_threads or os.cpu_count() or 2
        try:
            llm = Llama(model_path=self.model_path, n_ctx=self.settings.n_ctx, n_threads=threads, verbose=False,
                        seed=0)
        except Exception as exc:  # llama.cpp raises ValueError for a missing or corrupt file
            loaded.fail(AnswererError(f"cannot load the local model {self.model_path}: {exc}"))
            return
        # Closing at exit, while the library is still loaded, avoids llama.cpp's noisy __del__ at shutdown.
        atexit.register(llm.close)
        loaded.finish(None)
        while True:
            messages, on_token, job = self._jobs.get()
            try:
                pieces = []
                stream = llm.create_chat_completion(
                    messages=messages, stream=True, temperature=self.settings.temperature,
                    max_tokens=self.settings.max_tokens, seed=0)
                for event in stream:
                    delta = event["choices"][0].get("delta", {}).get("content") or ""
                    if delta:
                        pieces.append(delta)
                        if on_token:
                            on_token(delta)
                job.finish("".join(pieces))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                job.fail(exc)

    def generate(self, messages: list[dict[str, str]], on_token: TokenSink | None = None) -> str:
        job = _Job()
        self._jobs.put((messages, on_token, job))
        return job.wait()


class _Job:
    def __init__(self) -> None:
        self._done = threading.Event()
        self._result = None
        self._error: BaseException | None = None

    def finish(self, result) -> None:
        self._result = result
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def wait(self):
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result


class OpenAIAnswerer:
    """Any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, DeepSeek, OpenAI)."""

    name = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        if not settings.openai_base_url:
            raise AnswererError("the openai answerer needs a base URL: set RAG_LLM__OPENAI_BASE_URL")
        from langchain_openai import ChatOpenAI

        self._model = ChatOpenAI(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                                 model=settings.openai_model, temperature=settings.temperature,
                                 max_tokens=settings.max_tokens, timeout=settings.openai_timeout_s, max_retries=0)
        self.settings = settings

    def generate(self, messages: list[dict[str, str]], on_token: TokenSink | None = None) -> str:
        pieces = []
        try:
            for chunk in self._model.stream([(m["role"], m["content"]) for m in messages]):
                delta = chunk.content if isinstance(chunk.content, str) else ""
                if delta:
                    pieces.append(delta)
                    if on_token:
                        on_token(delta)
        except Exception as exc:  # openai/httpx connection, auth and server errors
            raise AnswererError(f"the OpenAI-compatible endpoint {self.settings.openai_base_url} failed: "
                                f"{type(exc).__name__}: {exc}") from exc
        return "".join(pieces)


@lru_cache(maxsize=2)
def cached_llama(settings_json: str, model_path: str) -> LlamaCppAnswerer:
    return LlamaCppAnswerer(LLMSettings.model_validate_json(settings_json), model_path)
