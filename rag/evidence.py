"""Evidence checking: does a cited sentence support what an answer says, and what the question asks?

Two checks, the same for every answerer:
- `check_claims`: every figure, period (year, quarter, month), name (company, product, organisation, country)
  and metric word (revenue, margin, shipments ...) of each answer sentence must be in the sentence(s) it cites,
  their section heading or their report's title, after normalising how periods and numbers are written. A
  reader that moves a figure to another year, subject or metric fails here, whatever the question was.
- `fits` and `names_stated`: the question's own constraints (the periods and names it asks about, the metric
  and subject of the figure, the kind of answer: a rate, an amount, a date, a count, a cause) must hold in the
  cited sentence(s) themselves, not only somewhere in their passage.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from rag.chunk import sentence_spans
from rag.cite import FIGURE_UNITS, MARKER, figures, markers_in
from rag.glossary import Glossary, load_glossary, phrase_in
from rag.instructions import is_instruction
from rag.lexical import STOP_WORDS, fold, is_chinese, lexical_tokens
from rag.normalise import MONTHS, YEAR, anchor_in, normalise_periods, token_set
from rag.question import CJK, METRICS, QUALIFIERS, QuestionProfile
from rag.types import Hit
from rag.vocabulary import vocabulary

_CLAUSE_BREAK = re.compile(r",\s+(?=and |while |with |which |but |whereas |as well as |along with )|;\s+")
_BECAUSE = re.compile(
    r"\b(?:due to|because|as a result|result(?:s|ed|ing)? (?:from|in)|driven by|owing to|thanks to|attribut(?:able|ed) "
    r"to|caused by|benefit(?:s|ing|ed)? from|led by|on the back of|amid|reflect(?:s|ing|ed)?|c(?:a|o)me[s]? from|"
    r"stem(?:s|med)? from|(?:primarily|mainly|mostly|largely) (?:from|by|on)|in light of|supported by|fu?ell?ed by|"
    r"boosted by|helped by|hurt by|offset by|following|in response to|therefore|thus|hence|so that|given)\b|"
    r"由于|因为|受益于|得益于|导致", re.IGNORECASE)
# "in 26" and "end of 26" are years, not figures.
_SHORT_YEAR = re.compile(r"\b(?:in|of|by|from|to|since)\s+(\d{2})\b(?![.%\d])")
# A statement's period and dates are no figure: "Three Months Ended June 30, 2023", "as of 31 December 2019".
# Month names whole or as written short ("Sept."), never a word they begin: "decreased 15%" is a figure.
_MONTH_NAMES = "|".join([*MONTHS, *(m[:3] for m in MONTHS), "Sept"])
_PERIOD_TEXT = re.compile(rf"\b(?:three|six|nine|twelve|fifty-two|fifty-three|\d{{1,2}})[- ](?:months?|weeks?) "
                          rf"(?:ended|ending)\b|\b(?:{_MONTH_NAMES})\b\.? \d{{1,2}}\b|\b\d{{1,2}} (?:{_MONTH_NAMES})\b",
                          re.IGNORECASE)
# Words that say something changed: what a growth question needs from the sentence that answers it.
_CHANGE = re.compile(r"\b(?:grow|grew|grown|growth|increas\w*|ris(?:e|es|ing|en)|rose|climb\w*|declin\w*|fall\w*|fell|"
                     r"drop\w*|decreas\w*|up|down|expand\w*|contract\w*|gain\w*|surg\w*|jump\w*|cagr|yoy|y/y|"
                     r"year[- ]on[- ]year|year[- ]over[- ]year|higher|lower)\b|增长|增速|增幅|下降|同比|提升", re.IGNORECASE)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                 "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
                 "fifty": 50, "hundred": 100}
# Chinese counts in 万 (10^4) and 亿 (10^8): "42.3亿元" is 4.23 billion yuan, "5013万股" 50.13 million shares. Each
# is written in vocabulary.txt as a multiple of an English scale ("亿 = 100 million"); the scale above is 1,000
# times larger, so the figure is also that multiple / 1,000 of it ("0.1 billion").
_CHINESE_AS = {word: (Decimal(meaning.split()[0]) / 1000, Decimal(meaning.split()[0]))
               for word, meaning in vocabulary().meanings("counting scales").items()}
_CHINESE_SCALE = re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*({'|'.join(map(re.escape, _CHINESE_AS))})")
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
# Share of a claim's content words that its cited sentence must hold (a paraphrase keeps most of them).
MIN_SHARED_WORDS = 0.5
# Capitalized words an answer sentence may open with that name nothing.
_SENTENCE_OPENERS = frozenset("""according based overall total both also however meanwhile yes no answer per
    while although as since after before during further additionally in on at for from by with under""".split())
_NAME = re.compile(r"(?<![A-Za-z0-9])(?:[A-Z][A-Za-z0-9&'’.-]*[A-Za-z0-9]|[A-Z]|\d+[A-Za-z][A-Za-z0-9-]*)")
# A figure with its unit ("2.5GW", "96bps") is no name: the same units cite.figures reads as figures.
_UNIT_SUFFIX = re.compile(rf"^\d[\d,.]*(?:{'|'.join(map(re.escape, sorted(FIGURE_UNITS)))})$", re.IGNORECASE)


# Kinds of figure ----------------------------------------------------------------------------------------
# Each is asked of the same retrieved sentences for question after question: the answers are kept.

@lru_cache(maxsize=8192)
def has_non_year_figure(text: str) -> bool:
    text = _PERIOD_TEXT.sub(" ", text)
    short_years = {str(int(m.group(1))) for m in _SHORT_YEAR.finditer(text)}
    for key in figures(text):
        if "Q" in key or YEAR.match(key) or key in short_years:
            continue
        return True
    return bool(re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve|dozen|hundred|"
                          r"thousand|million|billion)\b", text, re.IGNORECASE))


_WORD_COUNTS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
                r"hundreds|thousands|millions|billions|dozens?")
_COUNT = re.compile(
    rf"(?<![\w$¥€£.,])(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+)(?:\.\d+)?(?:\s?(?:million|billion|thousand|mn|bn))?|"
    rf"(?:{_WORD_COUNTS})\b)(?![\w%％])(?!\s?(?:%|％|percent|per ?cent|x\b|times\b|basis|percentage|ppts?\b|"
    rf"bps\b|pp\b))\s+[A-Za-z]", re.IGNORECASE)


@lru_cache(maxsize=8192)
def has_count(text: str) -> bool:
    """Whether the text counts something ("146 stores", "20 million units", "eight consecutive quarters"),
    rather than giving only rates, money, measurements or dates."""
    text = _SHORT_YEAR.sub(" ", text)
    for match in _COUNT.finditer(text):
        number = match.group(0).rsplit(None, 1)[0].strip()
        if YEAR.match(number):
            continue
        return True
    return False


@lru_cache(maxsize=8192)
def has_amount(text: str) -> bool:
    return bool(re.search(r"[$¥€£]\s?\d|\b\d[\d,.]*\s?(billion|million|trillion|bn|mn)\b|\b(RMB|USD|yuan)\b|亿|万元",
                          text, re.IGNORECASE))


@lru_cache(maxsize=8192)
def has_percent(text: str) -> bool:
    return bool(re.search(r"\d\s?(%|％|bps?\b|ppts?\b|pp\b|x\b|times\b)|\bper ?cent\b|basis points?|"
                          r"percentage points?|百分点|百分之", text, re.IGNORECASE))


_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")\b")


@lru_cache(maxsize=8192)
def has_date(text: str) -> bool:
    keys = figures(normalise_periods(text))
    return any("Q" in k or YEAR.match(k) for k in keys) or bool(_MONTH.search(text))


# The question's constraints -------------------------------------------------------------------------------

def fits(profile: QuestionProfile, text: str) -> bool:
    """Whether `text` (the cited sentences) holds the kind of answer asked for: a figure, an amount, a date, a
    count of the thing counted, for the metric and period the question names."""
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
    if profile.wants_change and not _CHANGE.search(text):
        return False
    tokens = token_set(text)
    if is_chinese(text) and not profile.is_chinese:
        # An English question's words are not a Chinese sentence's: its period still must be the sentence's.
        return not profile.years or any(profile.holds(y, tokens) for y in profile.years)
    # What a Chinese question asks for must be what the sentence speaks of ("研发费用", not another line item).
    # A long head may be said shorter ("领投方" as "由...领投"): half of its bigrams will do.
    if profile.chinese_head and is_chinese(text):
        head = lexical_tokens(profile.chinese_head)
        if 2 * sum(b in tokens for b in head) < len(head):
            return False
    if profile.quantity_noun:
        if not profile.covers(profile.quantity_noun, tokens):
            return False
        # A count must share a clause with the counted noun: "revenue grew 12%, and the company opened 40 stores"
        # counts stores, not customers.
        if profile.wants_count and not any(
                profile.covers(profile.quantity_noun, token_set(clause)) and has_count(clause)
                for clause in _CLAUSE_BREAK.split(text)):
            return False
    if profile.measured and not all(profile.covers(t, tokens) for t in profile.measured):
        return False
    if profile.per_unit and not any(profile.covers(t, tokens) for t in profile.per_unit):
        return False
    # One of them is enough: "the price per share of the final dividend" is answered by the dividend per share.
    if profile.metrics and not any(profile.covers(m, tokens) for m in profile.metrics):
        return False
    # A period the question names must be the sentence's, not one elsewhere in the passage.
    if profile.years and not any(profile.holds(y, tokens) for y in profile.years):
        return False
    return True


def dates_dropped(profile: QuestionProfile, answer: str, cited: str) -> list[str]:
    """For a question asking when: the months the cited sentences date it by, where the answer gives only
    a year or a quarter. Such a year is often not the event's date at all but what the sentence is about
    ("in March 2019 the company issued notes due 2029"; "in December, WSTS raised its forecast for 2026")."""
    if not profile.wants_date or profile.wants_number or _MONTH.search(normalise_periods(profile.question)):
        return []
    answer = normalise_periods(answer)
    # An answer with no period at all ("when revenue is recognised") is a condition, not a coarser date.
    if _MONTH.search(answer) or not has_date(answer):
        return []
    return list(dict.fromkeys(m.group(0) for m in _MONTH.finditer(normalise_periods(cited))))


def names_stated(profile: QuestionProfile, text: str) -> bool:
    """Whether `text` names what the question names: all of it, or at least one where the question joins or
    compares subjects (the answerer then checks that its quotes name them all together); and whether it speaks
    of the subject a figure is asked about, in the report's words or the glossary's."""
    tokens = token_set(text)
    if not profile.joins_subjects and not all(profile.covers(t, tokens) or misspelt_in(t, tokens)
                                              for t in profile.subject):
        return False
    if not profile.names:
        return True
    found = [profile.holds(a, tokens) for a in profile.names]
    return any(found) if profile.joins_subjects else all(found)


def names_missing(profile: QuestionProfile, texts: list[str]) -> list[str]:
    tokens = token_set("\n".join(texts))
    return [a for a in profile.names if not profile.holds(a, tokens)]


def misspelt_in(term: str, tokens: AbstractSet[str]) -> bool:
    """Whether a long word appears in the sentence misspelt by a letter or two ("liabilites")."""
    if len(term) < 6:
        return False
    return any(abs(len(t) - len(term)) <= 2 and t[:2] == term[:2] and
               difflib.SequenceMatcher(None, term, t).ratio() >= 0.85 for t in tokens)


def eligible_hits(profile: QuestionProfile, hits: list[Hit]) -> list[Hit]:
    """Hits that mention every anchor (name, period) of the question somewhere in their text or title."""
    if not profile.anchors:
        return list(hits)
    return [hit for hit in hits
            if all(profile.holds(a, token_set(f"{hit.title}\n{hit.section}\n{hit.text}")) for a in profile.anchors)]


# The answer's claims --------------------------------------------------------------------------------------

@dataclass
class Cited:
    """What answer marker [n] may draw on: the sentence itself and the words around it that say what it is
    about (its section heading, its report's title)."""

    n: int
    text: str
    context: str = ""


@dataclass
class ClaimCheck:
    text: str  # the answer with markers that point at nothing removed
    cited: list[int]
    invalid_markers: list[int] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # "figure 26% (not in [2])", "name DRAM (not in [1])"
    moved: list[str] = field(default_factory=list)  # "citation [1] moved to [2]": claims repointed

    @property
    def ok(self) -> bool:
        return bool(self.cited) and not self.unsupported

    def problems(self) -> list[str]:
        out = []
        if self.invalid_markers:
            out.append("citation marker(s) pointing at no sentence: " + ", ".join(f"[{n}]" for n in self.invalid_markers))
        out.extend(self.unsupported)
        if not self.cited:
            out.append("the answer cites no sentence")
        return out


def check_claims(answer: str, evidence: list[Cited], glossary: Glossary | None = None,
                 repoint: bool = False) -> ClaimCheck:
    """Check every sentence of `answer` against the evidence its [n] markers cite (evidence[n-1]), with their
    context; a sentence without markers is checked against everything the answer cites. Each claim is checked
    once.

    With `repoint`, a claim its own markers do not support is pointed at the one evidence sentence that
    supports all of it, where exactly one does: a small model often writes the right claim with the wrong
    number. The claim is then cited, and passes, as that sentence's; `ClaimCheck.moved` says what moved."""
    glossary = glossary or load_glossary()
    invalid: list[int] = []

    def keep_valid(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        good = [n for n in numbers if 1 <= n <= len(evidence)]
        invalid.extend(n for n in numbers if n not in good and n not in invalid)
        return "".join(f"[{n}]" for n in good)

    def problems_of(claim: str, own: list[int]) -> list[str]:
        """What `claim` says that the sentences `own` points at do not hold, each naming those sentences."""
        where = "".join(f"[{n}]" for n in own)
        if any(is_instruction(evidence[n - 1].text) for n in own):
            return [f"cites an instruction to an assistant, which is no evidence ({where})"]
        return [f"{problem} (not in {where})" for problem in claim_problems(
            MARKER.sub(" ", claim), "\n".join(evidence[n - 1].text for n in own),
            "\n".join(evidence[n - 1].context for n in own), glossary)]

    cleaned = re.sub(r"[ \t]+([.,;])", r"\1", MARKER.sub(keep_valid, answer)).strip()
    # First the claims that cite their own sentences (repointed where one other sentence holds them), then
    # the claims without markers, against all that the answer then cites.
    claims: list[tuple[str, list[str] | None]] = []  # (claim, its problems' notes; None: it has no markers)
    moved: list[str] = []
    position, between = 0, []
    for start, end in sentence_spans(cleaned):
        between.append(cleaned[position:start])
        position = end
        claim = cleaned[start:end]
        own = markers_in(claim)
        if not own or not MARKER.sub("", claim).strip(" .[]"):
            claims.append((claim, None))
            continue
        problems = problems_of(claim, own)
        if problems and repoint:
            bare = MARKER.sub(" ", claim)
            holders = [e.n for e in evidence if not is_instruction(e.text)
                       and not claim_problems(bare, e.text, e.context, glossary)]
            if len(holders) == 1:
                claim = MARKER.sub("", claim).rstrip()
                stop = claim[-1] if claim[-1:] in ".!?。" else ""
                claim = f"{claim[:len(claim) - len(stop)].rstrip()} [{holders[0]}]{stop}"
                moved.append(f"citation {''.join(f'[{n}]' for n in own)} moved to [{holders[0]}]")
                problems = []
        claims.append((claim, problems))
    text = "".join(b + c for b, (c, _) in zip(between, claims)) + cleaned[position:]
    cited = markers_in(text)
    unsupported: list[str] = []
    if not re.search(r"\w", MARKER.sub(" ", text)):
        unsupported.append("the answer says nothing but its markers")
    for claim, found in claims:
        if found is None:
            if not cited or not MARKER.sub("", claim).strip(" .[]"):
                continue
            found = problems_of(claim, cited)
        unsupported.extend(note for note in dict.fromkeys(found) if note not in unsupported)
    return ClaimCheck(text=text, cited=cited, invalid_markers=invalid, unsupported=unsupported, moved=moved)


def claim_problems(claim: str, sentences: str, context: str, glossary: Glossary) -> list[str]:
    """The figures and periods of `claim` that its cited `sentences` do not hold, and the names, metric words
    and wording that neither they nor their `context` (heading, report title) hold. A year in a report's title
    is what the report is about, not the period of every figure in it."""
    claim, sentences = normalise_periods(claim), normalise_periods(sentences)
    allowed = f"{sentences}\n{normalise_periods(context)}"
    problems = []
    allowed_figures = _figure_keys(sentences)
    for key, written in figures(claim).items():
        if not _figure_supported(key, allowed_figures):
            problems.append(f"figure {written}")
    tokens = token_set(allowed)
    folded_claim = [fold(t) for t in lexical_tokens(claim, keep_stop_words=True)]
    alternatives = glossary.expansions(folded_claim)

    def held(term: str) -> bool:
        return (anchor_in(term, tokens) or misspelt_in(term, tokens)
                or any(phrase_in(alt, tokens) for alt in alternatives.get(term, ())))

    for name in _names(claim):
        folded = [fold(t) for t in lexical_tokens(name, keep_stop_words=True)]
        if _initials_of(name, allowed):
            continue
        if folded and not all(held(t) for t in folded if t not in QUALIFIERS and not _UNIT_SUFFIX.match(t)):
            problems.append(f"name {name}")
    # A claim in another language than its sentence (a Chinese answer from an English report, an English one
    # from a Chinese report) is held to its figures and names: its words cannot be the sentence's.
    across = (CJK.search(claim) and not CJK.search(allowed)) or (is_chinese(sentences) and not is_chinese(claim))
    for term in dict.fromkeys(folded_claim):
        if term in METRICS and not held(term) and not across:
            problems.append(f"metric {term}")
    # A figure attached to a sentence about something else: the claim's own words are mostly not the sentence's
    # ("the cycle hit bottom in 3Q25" citing a sentence that only dates a shift in sentiment to 3Q25).
    words = [fold(t) for t in lexical_tokens(claim) if t.isascii() and not t[:1].isdigit() and fold(t) not in QUALIFIERS]
    if words and not across:
        shared = sum(held(w) for w in dict.fromkeys(words))
        if shared < MIN_SHARED_WORDS * len(set(words)):
            problems.append(f"wording ({shared} of {len(set(words))} of its words)")
    return problems


def _names(claim: str) -> list[str]:
    """Capitalized words, acronyms and codes ("Q3", "950PR") of a claim, less the word that opens it when
    that is an ordinary word, and figures (checked as figures)."""
    names = []
    for match in _NAME.finditer(claim):
        word = match.group(0).rstrip(".'’").removesuffix("'s").removesuffix("’s")
        low = word.lower()
        if not word or low in STOP_WORDS or low in _SENTENCE_OPENERS or low in QUALIFIERS:
            continue
        if word[0].isdigit() and _UNIT_SUFFIX.match(word):
            continue
        if re.fullmatch(r"[1-4]Q\d\d|\d+[QH]\d*", word):  # quarters are figures
            continue
        names.append(word)
    return list(dict.fromkeys(names))


def _initials_of(name: str, text: str) -> bool:
    """Whether `name` is written as the initials of a name in `text`: "J&J" for "Johnson & Johnson", "GM" for
    "General Motors"."""
    letters = re.sub(r"[&.\s]", "", name)
    if not (2 <= len(letters) <= 5 and letters.isupper() and letters.isalpha()):
        return False
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", text) if w.lower() not in ("of", "and", "the", "for")]
    initials = "".join(w[0] if w[0].isupper() else " " for w in words)
    return letters in initials


def _figure_keys(text: str) -> set[str]:
    keys = set(figures(text))
    # "the top eight" supports an answer's "top 8".
    keys.update(str(_NUMBER_WORDS[m.group(1).lower()]) for m in _NUMBER_WORD.finditer(text))
    # "42.3亿" supports an answer's "4.23 billion" (or "4,230 million").
    for match in _CHINESE_SCALE.finditer(text):
        value = Decimal(match.group(1))
        keys.update(_plain(value * factor) for factor in _CHINESE_AS[match.group(2)])
    return keys


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _figure_supported(key: str, allowed: set[str]) -> bool:
    if key in allowed:
        return True
    # "2026" in an answer is supported by a sentence that says "in 26" or "1Q26".
    return bool(re.fullmatch(r"20\d\d", key)) and (key[2:].lstrip("0") or "0") in allowed
