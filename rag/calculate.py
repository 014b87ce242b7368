"""Calculate: a question asking for a figure derived from a line item over several periods (a change, a
percentage change, an average, a total, a ratio) and its retrieved Hits -> a Draft whose answer is the figure
followed by its calculation, every operand cited to the table row it was read from.

Code, not a model, reads the operands: a table row is matched to the line item the question names, its cells
to the periods the question names (by the years in the table's column header), and each figure is taken as
the report writes it ((1,234) is negative, "$ 1,452.4" is 1452.4). The arithmetic is done here, never by
`eval`. A question that asks for a calculation whose operands are not all found is an abstention that says
which were not found; a question that asks for no calculation is left to the readers (None).

What counts as asking for which calculation is data: rag/calculations.txt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.answer import Draft, abstention, citation_for
from rag.data_files import read_data_file
from rag.glossary import Glossary, load_glossary, phrase_in
from rag.lexical import STOP_WORDS, fold, lexical_tokens
from rag.normalise import normalise_periods
from rag.question import asks_reason
from rag.types import Hit
from rag.vocabulary import vocabulary

PACKAGED_CALCULATIONS = Path(__file__).with_name("calculations.txt")
OPERATIONS = ("percent change", "change", "difference", "average", "total", "ratio", "share")
# Operations over exactly two periods, and those of them taken in the question's order rather than by date.
_TWO_PERIODS = {"change", "percent change", "difference", "ratio"}
_AS_NAMED = {"difference", "ratio"}


class CalculationsError(ValueError):
    """A malformed calculations file, named by file and line."""


@dataclass(frozen=True)
class Calculations:
    """Operation name -> the phrases that ask for it, longest first."""

    phrases: tuple[tuple[str, str], ...]  # (phrase, operation), longest phrase first
    # Names of metrics that hold an operation's word ("average selling price"): no operation.
    names: tuple[str, ...] = ()
    # operation -> the words a sentence stating its result uses
    says: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Phrases opening a parenthetical that gives a company's other name: "Block (formerly known as Square)".
    aliases: tuple[str, ...] = ()

    def without_aliases(self, text: str) -> tuple[str, tuple[str, ...]]:
        """`text` less its parentheticals naming a company's other name, and that name's words (folded): the
        name says whose line item it is, and a filing from before a renaming writes only the old one."""
        names: list[str] = []

        def drop(match: re.Match[str]) -> str:
            inner = match.group(1).strip().lower()
            phrase = next((a for a in self.aliases if inner.startswith(a + " ")), None)
            if phrase is None:
                return match.group(0)
            names.extend(fold(t) for t in lexical_tokens(inner[len(phrase):]))
            return " "

        return re.sub(r"\(([^()]*)\)", drop, text), tuple(dict.fromkeys(names))

    def stated_in(self, operation: str, text: str) -> bool:
        """Whether `text` states the result of `operation` itself: one of its words beside a figure (a
        percentage change also needs a change word)."""
        if not re.search(r"\d", text):
            return False
        low = f" {text.lower()} "
        words = dict(self.says)

        def says(name: str) -> bool:
            return any((w in low) if not w[0].isalnum() else re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", low)
                       for w in words.get(name, ()))

        if operation == "percent change":
            return says("percent change") and says("change")
        return says(operation)

    @classmethod
    def parse(cls, text: str, source: str) -> Calculations:
        found: list[tuple[str, str]] = []
        names: list[str] = []
        says: list[tuple[str, tuple[str, ...]]] = []
        aliases: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if not line:
                continue
            name, sep, rest = line.partition(":")
            name = name.strip().lower()
            if sep and name == "not":
                names += [p.strip().lower() for p in rest.split(",") if p.strip()]
                continue
            if sep and name == "alias":
                aliases += [p.strip().lower() for p in rest.split(",") if p.strip()]
                continue
            if sep and name.startswith("says ") and name[5:] in OPERATIONS:
                says.append((name[5:], tuple(p.strip().lower() for p in rest.split(",") if p.strip())))
                continue
            if not sep or name not in OPERATIONS:
                raise CalculationsError(f"{source}:{number}: expected 'operation: phrase, ...' with an operation "
                                        f"of {', '.join(OPERATIONS)}")
            phrases = [p.strip().lower() for p in rest.split(",") if p.strip()]
            if not phrases:
                raise CalculationsError(f"{source}:{number}: {name!r} has no phrase")
            found += [(p, name) for p in phrases]
        return cls(tuple(sorted(found, key=lambda pair: -len(pair[0]))), tuple(names), tuple(says),
                   tuple(sorted(aliases, key=len, reverse=True)))


def load_calculations(path: str | None = None) -> Calculations:
    return Calculations.parse(*read_data_file(path, PACKAGED_CALCULATIONS, CalculationsError, "calculations"))


# The question ----------------------------------------------------------------------------------------------

# A year, not part of a figure ("2,019.5", "2019.5", "2019%").
YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d\d(?!\d|[.,]\d|%)")
_DECIMALS = re.compile(r"\b(?:round(?:ed)?|to|in)\b[^.?]{0,30}?\b(no|zero|one|two|three|four|\d)\s+decimal",
                       re.IGNORECASE)
_WHOLE = re.compile(r"\b(?:nearest|whole) (?:whole )?(?:number|integer|dollar|percent)\b", re.IGNORECASE)
# "from 2015 to 2019", "between 2017-2019", "2016 through 2018": every year of a range.
_RANGE = re.compile(r"\b((?:19|20)\d\d)\s*(?:-|–|to|through)\s*((?:19|20)\d\d)\b")
MAX_RANGE_YEARS = 10
_YES_NO = re.compile(r"\s*(?:did|does|do|is|are|was|were|has|have|had|can|could|will|would|should)\b", re.IGNORECASE)
# "How is it calculated?", "In 2019, why did the gross margin decrease?": a method or a cause, not a figure.
_HOW_OR_WHY = re.compile(r"^\s*how\b(?!\s+(?:much|many)\b)|\bwhy\b", re.IGNORECASE)
# "What was the increase in free cash flow from 2018 to 2019 driven by?": the cause of a change.
_CAUSE_TAIL = re.compile(r"\b(?:driven by|due to|attributable to|caused by|the result of|a result of)\W*$", re.IGNORECASE)
_IN_PERCENT = re.compile(r"\bin (?:units of )?(?:percent|percentage)s?\b|\bin %|\(%\)", re.IGNORECASE)
# The sentence that says how to round or state the answer names no line item.
_ROUNDING = re.compile(r"\(?\b(?:in units of|units of|round(?:ed)?|to (?:one|two|three|\d) decimal|in (?:units of )?percents?)\b"
                       r"[^.?)]*\)?", re.IGNORECASE)
_NUMBER_WORDS = {"no": 0, "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4}
# Words of a question that say which periods or how to answer, not which line item: never required of a row.
_FRAME_WORDS = frozenset(
    "years yearly fiscal fy periods annual between from to during respectively "
    "respective company company's group round rounded decimal decimals place places answer units unit value "
    "amount amounts figure figures number balance balances calculate compute what was were is are the".split())
# "Other" is a line item of most tables ("Other", "Other income"), not a stop word there.
_ITEM_STOP_WORDS = STOP_WORDS - {"other"}
# Line-item words a row may leave to its table's title or imply: "total sales" is the row "Total sales" or the
# table "Sales" with the row "Total".
_OPTIONAL_WORDS = frozenset({"total", "year", "period", "end", "ended", "ending"})


@dataclass(frozen=True)
class CalculationRequest:
    """What a question asks to be calculated: the operation, the periods (years, in the question's order), and
    the line item's folded words."""

    question: str
    operation: str
    periods: tuple[str, ...]
    item: tuple[str, ...]
    decimals: int | None = None
    named: tuple[str, ...] = ()  # the years the question itself writes (one year's average adds the year before)
    owners: tuple[str, ...] = ()  # words of a possessive ("IMFT's"): whose line item, not which

    @property
    def chronological(self) -> tuple[str, ...]:
        return tuple(sorted(self.periods))


# A question that asks for a figure: "What is/was the ...", "How much ...", "By how much ...".
_ASKS_FIGURE = re.compile(r"\s*(?:what\s+(?:is|was|are|were|will\s+be|has\s+been)\b|how\s+much\b|by\s+how\s+much\b|"
                          r"how\s+many\b)", re.IGNORECASE)


def asks_for_figure(question: str) -> bool:
    """Whether a question asks for a figure, not for a description ("What do the changes relate to?")."""
    return bool(_ASKS_FIGURE.match(question))


def is_yes_no(question: str) -> bool:
    """Whether a question is answered yes or no ("Was there any drop in cash ...?", "Does X have ...?")."""
    return bool(_YES_NO.match(question))


def is_cause_or_method(question: str) -> bool:
    """Whether a question asks why something happened or how it is done, not for a figure."""
    return bool(_HOW_OR_WHY.search(question) or asks_reason(question) or _CAUSE_TAIL.search(question))


def read_operation(question: str, calculations: Calculations) -> tuple[str, re.Match[str], str] | None:
    """(operation, where its phrase is, the asking sentence lowercased) of a question that asks for a derived
    figure, or None: no operation phrase, or a yes/no, how, why or what-drove question."""
    if _YES_NO.match(question) or _HOW_OR_WHY.search(question) or asks_reason(question) or _CAUSE_TAIL.search(question):
        # "Did X increase?" is answered yes or no, "What drove the increase?" by a cause, "How is the average
        # price calculated?" by a method.
        return None
    # "2017,2018 and 2019" lists years, though "2017,2" would start a figure.
    normalised = re.sub(r"\b((?:19|20)\d\d),(?=(?:19|20)\d\d\b)", r"\1, ", normalise_periods(question))
    # The sentence that asks: a question may go on to define terms or say how to answer ("Round to one decimal
    # place. Use the income statement."), and those words name no line item.
    for sentence in re.split(r"(?<=[.?!])\s+(?=[A-Z])", normalised):
        found = operation_in(sentence, calculations)
        if found:
            return found
    return None


def operation_in(sentence: str, calculations: Calculations) -> tuple[str, re.Match[str], str] | None:
    """(operation, where its phrase is, the sentence lowercased, metric names joined by "_") of one sentence."""
    low = sentence.lower()
    for name in calculations.names:
        low = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", lambda m: m.group(0).replace(" ", "_"), low)
    found = [(operation, match) for phrase, operation in calculations.phrases
             for match in [re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", low)] if match]
    share = next(((o, m, low) for o, m in found if o == "share"), None)
    for operation, match in found:
        # "the change in Services as a % of total revenue": beside another operation a share names what
        # changes; but "Other sales as a percentage of total sales" asks for the share, "total" naming a row.
        if operation != "share" and not (share and match.group(0) == "total"):
            return operation, match, low
    return share


def read_request(question: str, calculations: Calculations) -> CalculationRequest | None:
    """The calculation `question` asks for, or None when it asks for none this module does (one period, no
    operation phrase, a quarter rather than years)."""
    found = read_operation(question, calculations)
    if found is None:
        return None
    operation, at, low = found
    if operation == "change" and _IN_PERCENT.search(question):
        operation = "percent change"  # "the change in revenue (in percent)"
    normalised = low
    periods = named = tuple(dict.fromkeys(YEAR.findall(normalised)))
    span = _RANGE.search(normalised)
    if operation in ("average", "total") and span and 0 < int(span.group(2)) - int(span.group(1)) <= MAX_RANGE_YEARS:
        # "the average from 2015 to 2019" is over every year of the range.
        periods = tuple(str(y) for y in range(int(span.group(1)), int(span.group(2)) + 1))
    elif len(periods) == 1 and operation == "average":
        # "the 2019 average" of a balance is over the year's opening and closing figures: 2018's and 2019's.
        # (One year's "increase" is left to the readers: "the expected increase in 2026" is a stated forecast.)
        periods = (str(int(periods[0]) - 1), periods[0])
    if operation == "share" or (operation in _TWO_PERIODS and len(periods) != 2):
        return None  # a share is of one line item in another, read by read_pair_request
    if operation == "total" and len(periods) < 2:
        return None  # one year's total is a figure to read, not to add up
    if operation == "average" and len(periods) == 1:
        return None
    if re.search(r"\b[1-4]q\d\d\b|\bquarter|\bmonth|\bhalf\b", low):
        return None  # a quarter's or a month's figure is not a year's column
    rest = (low[: at.start()] + " " + low[at.end():]).replace("_", " ")
    rest, other_names = calculations.without_aliases(rest)
    # "IMFT's total assets": the owner names whose figures, which a table of that company's figures need
    # not repeat; it counts for a row that says it, and is not required of one that does not.
    owners = tuple(dict.fromkeys(_owners(rest) + other_names))
    item = _item_words(rest)
    if not item:
        return None
    return CalculationRequest(question=question, operation=operation, periods=periods, item=item,
                              decimals=_decimals_asked(question), named=named, owners=owners)


def _item_words(text: str) -> tuple[str, ...]:
    """The folded words of a line item as a question names it, without its periods and framing."""
    text = YEAR.sub(" ", _ROUNDING.sub(" ", text.replace("_", " ")))
    return tuple(dict.fromkeys(fold(t) for t in lexical_tokens(text, keep_stop_words=True)
                               if t not in _ITEM_STOP_WORDS and t not in _FRAME_WORDS and not t[:1].isdigit()))


def _owners(text: str) -> tuple[str, ...]:
    """The folded words of a question's possessives ("IMFT's"): whose line item, not which."""
    return tuple(dict.fromkeys(fold(t) for o in re.findall(r"([\w&.-]+)['’]s?(?=\s)", text)
                               for t in lexical_tokens(o)))


def _decimals_asked(question: str) -> int | None:
    """The decimals a question asks its answer in ("round to two decimal places"), or None."""
    match = _DECIMALS.search(question)
    if match:
        word = match.group(1).lower()
        return _NUMBER_WORDS[word] if word in _NUMBER_WORDS else int(word)
    return 0 if _WHOLE.search(question) else None


@dataclass(frozen=True)
class PairRequest:
    """A calculation over two line items in one year: one as a share of the other, their ratio, difference or
    sum ("What is the ratio of total assets to total liabilities in 2019?")."""

    question: str
    operation: str  # share | ratio | difference | total
    year: str
    first: tuple[str, ...]
    second: tuple[str, ...]
    owners: tuple[str, ...] = ()
    decimals: int | None = None

    def side(self, item: tuple[str, ...]) -> CalculationRequest:
        return CalculationRequest(question=self.question, operation="total", periods=(self.year,), item=item,
                                  owners=self.owners)


_YEAR_PHRASE = re.compile(r"\s*\b(?:in|for|as at|as of|at|on|during|of|by)?\s*(?:the\s+)?(?:fiscal\s+(?:year\s+)?|fy\s*)?"
                          r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s*)?"
                          r"(?:19|20)\d\d\b")

# How a question joins its two line items, by operation: "A as a percentage of B", "percentage of A in B",
# "ratio of A to B", "difference between A and B", "sum of A and B".
_PAIR_JOIN = {"share": r"\s(?:in|out of|over|among|within|to|of|for)\s", "ratio": r"\s(?:to|over|and)\s",
              "difference": r"\s(?:and|to)\s", "total": r"\s(?:and|plus)\s"}


def read_pair_request(question: str, calculations: Calculations) -> PairRequest | None:
    """The two-item calculation `question` asks for in one year, or None."""
    found = read_operation(question, calculations)
    if found is None:
        return None
    operation, _, low = found
    if operation not in _PAIR_JOIN:
        return None
    years = list(dict.fromkeys(YEAR.findall(low)))
    if len(years) != 1 or re.search(r"\b[1-4]q\d\d\b|\bquarter|\bmonth|\bhalf\b", low):
        return None
    # The year said once for both ("... in 2019?", "as at September 30, 2019") belongs to neither item.
    low = _YEAR_PHRASE.sub(" ", low)
    at: re.Match[str] | None = next((m for p, o in calculations.phrases if o == operation
                                     for m in [re.search(rf"(?<!\w){re.escape(p)}(?!\w)", low)] if m is not None), None)
    if at is None:
        return None
    before, after = low[: at.start()], low[at.end():]
    before = re.sub(r"^.*?\b(?:what|how much)\s+(?:is|was|are|were)\s+(?:the\s+)?", "", before)
    if re.search(r"[a-z]{3,}", before) and operation == "share":
        first, second = before, after  # "A as a percentage of B"
    else:
        parts = re.split(_PAIR_JOIN[operation], after)
        if len(parts) < 2:
            return None
        # "percentage of A in the total B": the last join word parts the two, as names hold "of" and "and".
        first, second = " ".join(parts[:-1]), parts[-1]
    a, b = _item_words(first), _item_words(second)
    if len(a) == 1 and len(b) > 1 and a[0] not in b:
        a = a + b[1:]  # "the domestic and international discount rates": both are discount rates
    if not a or not b or set(a) == set(b):
        return None
    return PairRequest(question, operation, years[0], a, b, _owners(low), _decimals_asked(question))


# Table rows ------------------------------------------------------------------------------------------------

_CELL = re.compile(r"^\(?-?[$€£]?\s*\(?-?\d[\d,]*(?:\.\d+)?\)?%?\)?$")
_TRAILING_CELLS = re.compile(r"(?:\s+(?:[$€£]\s*)?\(?-?\d[\d,]*(?:\.\d+)?\)?%?)+\s*$")
_NOTE_REFERENCE = re.compile(r"\((?:notes?|see note)\s[^)]*\)", re.IGNORECASE)
# "(in thousands)", "($000s)": the scale of a table's figures, as the word a computed answer states.
_SCALE_WORD = vocabulary().meanings("table scales")
_SCALE_WRITTEN = sorted(map(re.escape, _SCALE_WORD), key=len, reverse=True)
# Only a word is a scale after a bare "in": "in 000" is a figure, not a heading.
_SCALE = re.compile(rf"\bin ({'|'.join(w for w in _SCALE_WRITTEN if w.isalpha())})\b|"
                    rf"\(\s*(?:[$€£]|usd|us\$)?\s*(?:in )?({'|'.join(_SCALE_WRITTEN)})\b", re.IGNORECASE)


def parse_figure(text: str) -> float | None:
    """A cell as reports write it -> its value: "(1,234)" -> -1234.0, "$ 1,452.4" -> 1452.4, "41.2%" -> 41.2;
    None for a dash or anything that is not one figure."""
    cell = text.strip().replace(" ", "")
    if not cell or not _CELL.match(cell):
        return None
    # "(1,234)", "$(7)", "(3.1)%" and "-2,085" are negative; a currency sign may stand before the bracket.
    bare = cell.lstrip("$€£")
    negative = (bare.startswith("(") and ")" in bare) or cell.startswith("(") or bare.startswith("-")
    digits = re.sub(r"[^\d.]", "", cell)
    try:
        value = float(digits)
    except ValueError:
        return None
    return -value if negative else value


@dataclass
class Row:
    """One table row of a retrieved passage: its label, its figures by column year, where it sits."""

    label: str
    cells: dict[str, list[tuple[str, str]]]  # year -> its columns: (column name, the figure as written)
    hit: Hit
    start: int  # document offsets of the row's line
    end: int
    title: str = ""  # the table's title and column line
    scale: str = ""  # "million" when the table says its figures are in millions
    label_tokens: frozenset[str] = field(default_factory=frozenset)
    title_tokens: frozenset[str] = field(default_factory=frozenset)


# "2 0 1 8": a year whose digits a PDF's letter spacing pulled apart.
_SPACED_YEAR = re.compile(r"(?<![\d ])([12]) (\d) (\d) (\d)(?![\d])")


def _years_in(header: str) -> list[str]:
    return YEAR.findall(_SPACED_YEAR.sub(r"\1\2\3\4", header))


def _tokens(text: str) -> frozenset[str]:
    return frozenset(fold(t) for t in lexical_tokens(normalise_periods(text), keep_stop_words=True)
                     if t not in _ITEM_STOP_WORDS and not t[:1].isdigit())


def read_rows(hit: Hit, header: str = "") -> list[Row]:
    """The table rows of a passage: "Label | 2019: 44.1; 2018: 56.7" rows (years named in each cell), and PDF
    rows "Cost of sales 71,651 88,265 111,934" whose columns are the years of the column line above them
    ("Year Ended December 31, 2015 2016 2017") or of the table header of the passage (`hit.context`), for a
    passage cut from the middle of a table, or else `header`: the column line found above the passage in its
    document."""
    rows: list[Row] = []
    text, context = hit.text, hit.context if _years_in(hit.context) else header
    columns = _years_in(_VERSUS.sub(" ", context)) if len(_years_in(context)) >= 2 else []
    changes = 1 if _VERSUS.search(context) else 0
    title = context
    scale_of = _scale(context) or _scale(hit.section)
    offset = 0
    for line in text.split("\n"):
        start, offset = offset, offset + len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("Table:"):
            title, scale_of = stripped, _scale(stripped) or scale_of
            head = stripped.partition("| columns:")[2]
            columns = _years_in(head) if head else columns
            continue
        if " | " in stripped:
            label, _, rest = stripped.partition(" | ")
            cells: dict[str, list[tuple[str, str]]] = {}
            for cell in rest.split("; "):
                name, sep, value = cell.rpartition(": ")
                years = _years_in(name) if sep else []
                if len(years) == 1:
                    cells.setdefault(years[0], []).append((name, value.strip()))
            if cells:
                rows.append(_row(label, cells, hit, start, start + len(line), title, scale_of))
            continue
        if _is_column_line(stripped):
            columns = _years_in(_VERSUS.sub(" ", stripped))
            changes = 1 if _VERSUS.search(stripped) else 0
            scale_of = _scale(stripped) or scale_of
            continue
        if _scale(stripped):
            scale_of = _scale(stripped)
        # "Inventories (Notes 1 and 3) 12,483 10,387": a note reference is part of the label, not a figure.
        stripped = _NOTE_REFERENCE.sub(" ", stripped)
        trailing = _TRAILING_CELLS.search(stripped)
        if not trailing or not columns:
            continue
        label = stripped[: trailing.start()].strip().rstrip(":$").strip()
        values = [v for v in re.findall(r"\(?-?\d[\d,]*(?:\.\d+)?\)?%?", trailing.group(0))]
        if changes and len(values) == len(columns) + changes:
            values = values[: len(columns)]  # the change column after the years'
        if not label or len(values) != len(columns) or not re.search(r"[A-Za-z]", label):
            continue
        cells = {}
        for year, value in zip(columns, values):
            cells.setdefault(year, []).append((year, value))
        rows.append(_row(label, cells, hit, start, start + len(line), title, scale_of))
    return rows


def is_table_row(text: str) -> bool:
    """Whether a cited text is a table row ("Other | 2019: 44.1; 2018: 56.7", "Cost of sales 71,651 88,265"):
    the operands of a calculation, not a statement of its result."""
    line = text.strip()
    if "\n" in line:
        return all(is_table_row(part) for part in line.split("\n") if part.strip())
    if " | " in line and re.search(r":\s*\S*\d", line):
        return True
    trailing = _TRAILING_CELLS.search(line)
    return trailing is not None and len(re.findall(r"\d[\d,.]*", trailing.group(0))) >= 2


def names_periods(text: str, periods: tuple[str, ...]) -> bool:
    """Whether a sentence names every year of `periods` ("2019 compared to 2018", "fiscal 2019 and 2018")."""
    said = set(YEAR.findall(normalise_periods(text)))
    return all(p in said for p in periods)


def _row(label: str, cells: dict[str, list[tuple[str, str]]], hit: Hit, start: int, end: int, title: str, scale: str) -> Row:
    return Row(label=label.strip(), cells=cells, hit=hit, start=hit.start + start, end=hit.start + end, title=title,
               scale=scale, label_tokens=_tokens(label), title_tokens=_tokens(f"{title}\n{hit.section}"))


_MONTH_DAY = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?", re.IGNORECASE)


def column_line_in(text: str) -> str:
    """The last line of column years in `text`, or ''."""
    return next((line.strip() for line in reversed(text.split("\n")) if _is_column_line(line.strip())), "")


# "22 vs. 21", "2022 vs 2021": a column of the change between two years, after the years' own columns.
_VERSUS = re.compile(r"\b(?:\d\d|(?:19|20)\d\d)\s+vs\.?\s+(?:\d\d|(?:19|20)\d\d)\b", re.IGNORECASE)


def _is_column_line(line: str) -> bool:
    """A line of column years: "2015 2016 2017", "Fiscal 2020 2019", "May 31, 2020 May 26, 2019", "2022 2021
    22 vs. 21"."""
    tokens = _VERSUS.sub(" ", _MONTH_DAY.sub(" ", line)).split()
    years = [t for t in tokens if YEAR.fullmatch(t.strip(",;"))]
    digits = [t for t in tokens if any(ch.isdigit() for ch in t)]
    return len(years) >= 2 and len(years) >= len(digits) - 1


def _scale(text: str) -> str:
    match = _SCALE.search(text or "")
    return _SCALE_WORD.get((match.group(1) or match.group(2) or "").lower(), "") if match else ""


# Matching and computing ------------------------------------------------------------------------------------

@dataclass
class Match:
    row: Row
    label_share: float  # of the item's words, the share in the row's own label
    precision: float  # of the label's words, the share the question names


_NEUTRAL_LABEL_WORDS = frozenset({"total", "net", "consolidated"})
# Of the line item's words, the share a row's own label must hold: the rest may be in its table's title or passage.
MIN_LABEL_SHARE = 0.5
# Of a row label's own words (all but "total", "net"), the share the question must name.
MIN_LABEL_PRECISION = 0.5


@lru_cache(maxsize=4096)
def _passage_tokens_of(text: str, title: str, section: str) -> frozenset[str]:
    return _tokens(f"{title}\n{section}\n{text}")


def _passage_tokens(hit: Hit) -> frozenset[str]:
    return _passage_tokens_of(hit.text, hit.title, hit.section)


def match_rows(request: CalculationRequest, rows: list[Row], glossary: Glossary, min_periods: int = 2) -> list[Match]:
    """Rows holding a figure for every period asked for, whose label (with its table's title and passage) holds
    every word of the line item, best first: most of the item in the label itself, then fewest other words in
    the label, then the better-ranked passage."""
    alternatives = glossary.expansions(list(request.item))
    required = [t for t in request.item if t not in _OPTIONAL_WORDS and t not in request.owners]
    optional = [t for t in request.item if t in _OPTIONAL_WORDS or t in request.owners]

    def holds(term: str, tokens: frozenset[str]) -> bool:
        return term in tokens or any(phrase_in(alt, tokens) for alt in alternatives.get(term, ()))

    matches = []
    for row in rows:
        periods = periods_for(request, row)
        if not required or len(periods) < min_periods or any(column(request, row, p) is None for p in periods):
            continue
        # The label and its column names: "APAC | Fiscal Year 2018 % of Total: 40.0%" is APAC's percent of total.
        own_words = row.label_tokens | frozenset().union(*(_column_tokens(name) for name, _ in
                                                           (c for cells in row.cells.values() for c in cells)))
        # Words the label leaves out must be said around it: "Fixed Price" is a row of a table of sales.
        everything = row.label_tokens | row.title_tokens | _passage_tokens(row.hit) | own_words
        if not all(holds(t, everything) for t in required):
            continue
        in_label = sum(holds(t, own_words) for t in required)
        if in_label < MIN_LABEL_SHARE * len(required):
            continue
        # Label words the question does not say make the row another thing: "Cost of sales" is not revenue,
        # though it says "sales". "Total" and "net" change no line item's meaning ("Total net sales" is sales).
        own = [t for t in row.label_tokens if t not in _NEUTRAL_LABEL_WORDS]
        named = sum(1 for t in own if t in request.item or any(
            t in alt for alts in alternatives.values() for alt in alts))
        extra = sum(holds(t, row.label_tokens) for t in optional)
        precision = named / max(1, len(own))
        if precision < MIN_LABEL_PRECISION:
            continue
        matches.append(Match(row, in_label / len(required) + 0.01 * extra, precision))
    return sorted(matches, key=lambda m: (-m.label_share, -m.precision, m.row.hit.rank, m.row.start))


_SHARE_COLUMN = re.compile(r"%|percent|change|variance", re.IGNORECASE)


def periods_for(request: CalculationRequest, row: Row) -> tuple[str, ...]:
    """The periods to read from `row`: as the question names them for a difference or a ratio, else by date;
    for an average that names none, every year the row gives."""
    if not request.periods:
        return tuple(sorted(row.cells))
    return request.periods if request.operation in _AS_NAMED else request.chronological


def column(request: CalculationRequest, row: Row, year: str) -> tuple[str, str] | None:
    """(column name, figure) of `row` for `year`: its one column for that year, or where a table gives a year
    several ("2019 Amount", "2019 % of total revenue"), the one the question names, else the one amount among
    them; None when it stays ambiguous."""
    options = row.cells.get(year, [])
    if len(options) <= 1:
        return options[0] if options else None
    # The question's words that the row's label does not account for name the column: "Services as a % of
    # total revenue" asks for the share column of the row "Services", "total cost of revenue" for the amount.
    unexplained = set(request.item) - row.label_tokens
    overlap = {option: len(_column_tokens(option[0]) & unexplained) for option in options}
    most = max(overlap.values())
    named = [option for option in options if most and overlap[option] == most]
    if len(named) == 1:
        return named[0]
    amounts = [option for option in options if not _SHARE_COLUMN.search(option[0])]
    return amounts[0] if len(amounts) == 1 else None


def _column_tokens(name: str) -> frozenset[str]:
    # "% of Total" is what a question calls the percent of total.
    return _tokens(name) | ({"percent", "percentag"} if "%" in name else set())


def _decimals(written: str) -> int:
    digits = re.sub(r"[^\d.]", "", written)
    return len(digits.split(".", 1)[1]) if "." in digits else 0


def format_number(value: float, decimals: int) -> str:
    text = f"{value:,.{decimals}f}"
    return "0" if re.fullmatch(r"-?0(?:\.0+)?", text) and decimals == 0 else text.replace("-0.00", "0.00")


@dataclass
class Calculation:
    """A computed figure and how it was computed: the value, its text, and the operands (written, period)."""

    value: float
    text: str
    expression: str
    operands: list[tuple[str, str]]


def compute(request: CalculationRequest, row: Row) -> Calculation | None:
    """The operation over the row's figures for the periods asked; None where a figure is a dash or the
    operation divides by zero."""
    periods = periods_for(request, row)
    chosen = [column(request, row, p) or ("", "") for p in periods]
    written = [value for _, value in chosen]
    values = [parse_figure(w) for w in written]
    if any(v is None for v in values):
        return None
    v = [float(x) for x in values if x is not None]
    shown = [w.replace("$", "").replace(" ", "") for w in written]
    percent_row = any(w.strip().endswith("%") or "%" in name for name, w in chosen)
    places = max(_decimals(w) for w in written)
    op = request.operation
    if op == "difference":
        value, expression, unit = v[0] - v[1], f"{shown[0]} - {shown[1]}", "pp" if percent_row else row.scale
    elif op == "change":
        value, expression, unit = v[1] - v[0], f"{shown[1]} - {shown[0]}", "pp" if percent_row else row.scale
    elif op == "percent change":
        if v[0] == 0:
            return None
        # Over the earlier figure as signed: (later - earlier) / earlier, as annual reports compute it.
        value, expression, unit = (v[1] - v[0]) / v[0] * 100, f"({shown[1]} - {shown[0]}) / {shown[0]}", "%"
        places = 2
    elif op == "average":
        value, expression = sum(v) / len(v), f"({' + '.join(shown)}) / {len(v)}"
        unit, places = ("%" if percent_row else row.scale), 2
    elif op == "total":
        value, expression, unit = sum(v), " + ".join(shown), "%" if percent_row else row.scale
    else:  # ratio
        if v[1] == 0:
            return None
        value, expression, unit, places = v[0] / v[1], f"{shown[0]} / {shown[1]}", "", 2
    if request.decimals is not None:
        places = request.decimals
    text = format_number(round(value, places), places)
    if unit == "%":
        text += "%"
    elif unit == "pp":
        text += " percentage points"
    elif unit:
        text += f" {unit}"
    return Calculation(value=value, text=text, expression=expression, operands=list(zip(written, periods)))


_VERB = {"difference": "difference in", "change": "change in", "percent change": "percentage change in", "average": "average of",
         "total": "total of", "ratio": "ratio of"}


class Calculator:
    """Answers the questions that ask for a calculation (rag/calculations.txt) from the table rows of the
    retrieved passages; every operand is cited."""

    name = "calculator"

    def __init__(self, calculations: Calculations | None = None, glossary: Glossary | None = None) -> None:
        self.calculations = calculations or load_calculations()
        self.glossary = glossary or load_glossary()

    def request(self, question: str) -> CalculationRequest | None:
        return read_request(question, self.calculations)

    def pair_request(self, question: str) -> PairRequest | None:
        return read_pair_request(question, self.calculations)

    def answer_pair(self, request: PairRequest, hits: list[Hit], answerer: str,
                    rows_of: Callable[[Hit], list[Row]] = read_rows) -> Draft:
        """Two line items of one document in one year, combined; both rows cited."""
        rows = [row for hit in hits for row in rows_of(hit)]
        firsts = match_rows(request.side(request.first), rows, self.glossary, min_periods=1)
        seconds = match_rows(request.side(request.second), rows, self.glossary, min_periods=1)
        names = f"{' '.join(request.first)!r} and {' '.join(request.second)!r} in {request.year}"
        pair = None
        for a in firsts:
            b = next((m for m in seconds if m.row.hit.doc_id == a.row.hit.doc_id and m.row.start != a.row.start), None)
            if b is not None:
                pair = (a, b)
                break
        if pair is None:
            return abstention(answerer, f"a calculation needs the rows for {names} in one document; not found")
        a, b = pair
        written = [column(request.side(request.first), a.row, request.year),
                   column(request.side(request.second), b.row, request.year)]
        if None in written:
            return abstention(answerer, f"the rows for {names} have no single figure for {request.year}")
        x, y = (parse_figure(w[1]) for w in written if w is not None)
        if x is None or y is None or (request.operation in ("share", "ratio") and y == 0):
            return abstention(answerer, f"the rows for {names} have no figure to calculate with")
        shown = [w[1].replace("$", "").replace(" ", "") for w in written if w is not None]
        op = request.operation
        if op == "share":
            value, expression, unit, places = x / y * 100, f"{shown[0]} / {shown[1]} * 100", "%", 2
        elif op == "ratio":
            value, expression, unit, places = x / y, f"{shown[0]} / {shown[1]}", "", 2
        elif op == "difference":
            value, expression, unit = x - y, f"{shown[0]} - {shown[1]}", a.row.scale
            places = max(_decimals(shown[0]), _decimals(shown[1]))
        else:
            value, expression, unit = x + y, f"{shown[0]} + {shown[1]}", a.row.scale
            places = max(_decimals(shown[0]), _decimals(shown[1]))
        if request.decimals is not None:
            places = request.decimals
        text = format_number(round(value, places), places) + ("%" if unit == "%" else f" {unit}" if unit else "")
        citations = [citation_for(1, a.row.hit, a.row.start, a.row.end)]
        second_n = 1
        if (b.row.start, b.row.hit.doc_id) != (a.row.start, a.row.hit.doc_id):
            citations.append(citation_for(2, b.row.hit, b.row.start, b.row.end))
            second_n = 2
        text = (f"{text} = {expression} ({a.row.label} {request.year} {shown[0]} [1]; {b.row.label} "
                f"{request.year} {shown[1]} [{second_n}])")
        return Draft(text=text, citations=citations, abstained=False, answerer=answerer, calculation=text,
                     warnings=[f"calculated from the rows {a.row.label!r} and {b.row.label!r}"])

    def asked_operation(self, question: str) -> str | None:
        """The operation a question asks for, read or not into a request this module computes."""
        found = read_operation(question, self.calculations)
        return found[0] if found else None

    def answer(self, request: CalculationRequest, hits: list[Hit], answerer: str,
               rows_of: Callable[[Hit], list[Row]] = read_rows) -> Draft:
        """The calculated answer, or an abstention naming what was not found. `rows_of` reads a passage's table
        rows (the assistant's also finds the column line above a passage cut from inside a table)."""
        rows = [row for hit in hits for row in rows_of(hit)]
        matches = match_rows(request, rows, self.glossary)
        item = " ".join(request.item)
        if not matches:
            return abstention(answerer, f"a calculation needs the row for {item!r} in "
                                        f"{' and '.join(request.chronological)}; no table row found holds it")
        best = matches[0]
        calculation = compute(request, best.row)
        if calculation is None:
            return abstention(answerer, f"the row {best.row.label!r} has no figure to calculate with for "
                                        f"{' and '.join(periods_for(request, best.row))}")
        # Two reports' tables that fit the question as well as each other and give different figures: the
        # question does not say which report it means, and a figure from the wrong one is the worst answer.
        # (Rows of one document's different tables that tie are left to the passages' rank: on TAT-QA dev
        # arithmetic, abstaining on them as well took 10 wrong answers of 750 away over the whole corpus, and 13
        # right ones within the questions' own contexts.)
        # One table with the same label twice ("Granted" under RSUs and under PSUs; "Net sales" under each
        # segment) is as ambiguous: the label does not say which the question means, whichever comes first.
        for other in matches[1:]:
            if (other.label_share, other.precision) != (best.label_share, best.precision):
                break
            same_table = (other.row.hit.chunk_id == best.row.hit.chunk_id
                          and other.row.label.lower() == best.row.label.lower())
            if not same_table and other.row.hit.doc_id == best.row.hit.doc_id:
                continue
            rival = compute(request, other.row)
            if rival is None or rival.text == calculation.text:
                continue
            if same_table:
                return abstention(answerer, f"the passage has two rows {best.row.label!r} (under different "
                                            f"headings) with different figures ({calculation.text}; {rival.text}); "
                                            "name which")
            return abstention(answerer, f"rows of two documents fit {item!r} alike and give different figures "
                                        f"({best.row.hit.title}: {calculation.text}; {other.row.hit.title}: "
                                        f"{rival.text}); name the report")
        cited = citation_for(1, best.row.hit, best.row.start, best.row.end)
        operands = ", ".join(f"{period} {written.strip()}" for written, period in calculation.operands)
        text = (f"{calculation.text} = {calculation.expression} ({_VERB[request.operation]} {best.row.label}: "
                f"{operands} [1])")
        return Draft(text=text, citations=[cited], abstained=False, answerer=answerer, calculation=text,
                     warnings=[f"calculated from the row {best.row.label!r}"])

