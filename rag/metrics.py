"""Metrics: a question naming a defined metric and a fiscal year ("What is General Mills's FY2020 working capital
ratio?") -> the metric computed by code from the line items its definition needs, each read from a table row of
the filing and cited.

The definitions and the labels filings use for each line item are data: rag/metrics.txt. A formula is parsed
once, at load, into a small tree of + - * / over line items, numbers, avg() (two balance-sheet dates) and abs();
it is evaluated here, never by `eval`. The line items a question's passages lack are searched for one by one
within the documents the question names (a ratio needs rows from two statements).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.answer import Draft, abstention, citation_for
from rag.calculate import (
    YEAR,
    Calculations,
    Row,
    format_number,
    is_cause_or_method,
    is_yes_no,
    load_calculations,
    operation_in,
    parse_figure,
    read_operation,
    read_rows,
)
from rag.data_files import read_data_file
from rag.normalise import normalise_periods
from rag.types import Citation, Hit

PACKAGED_METRICS = Path(__file__).with_name("metrics.txt")


class MetricsError(ValueError):
    """A malformed metrics file, named by file and line."""


# Formulas -------------------------------------------------------------------------------------------------

Node = tuple  # ("num", value) | ("item", name) | ("avg", name) | ("abs", node) | (op, left, right)


def _parse_formula(text: str, items: set[str], where: str) -> Node:
    """`text` -> a tree; line item names are matched longest first."""
    names = sorted(items, key=len, reverse=True)
    tokens: list[tuple[str, str]] = []
    rest = text.strip().lower()
    while rest:
        rest = rest.lstrip()
        if not rest:
            break
        if rest[0] in "+-*/()":
            tokens.append(("op", rest[0]))
            rest = rest[1:]
            continue
        number = re.match(r"\d+(?:\.\d+)?", rest)
        if number:
            tokens.append(("num", number.group(0)))
            rest = rest[number.end():]
            continue
        function = re.match(r"(avg|abs)\s*\(", rest)
        if function:
            tokens.append(("fn", function.group(1)))
            rest = rest[function.end():]
            continue
        name = next((n for n in names if rest.startswith(n) and not rest[len(n):len(n) + 1].isalnum()), None)
        if name is None:
            raise MetricsError(f"{where}: {rest.split()[0]!r} is no line item of this file")
        tokens.append(("item", name))
        rest = rest[len(name):]
    position = 0

    def peek() -> tuple[str, str] | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal position
        if position >= len(tokens):
            raise MetricsError(f"{where}: the formula ends too soon")
        position += 1
        return tokens[position - 1]

    def expression() -> Node:
        node = term()
        while peek() in (("op", "+"), ("op", "-")):
            node = (take()[1], node, term())
        return node

    def term() -> Node:
        node = factor()
        while peek() in (("op", "*"), ("op", "/")):
            node = (take()[1], node, factor())
        return node

    def factor() -> Node:
        kind, value = take()
        if kind == "num":
            return ("num", float(value))
        if kind == "item":
            return ("item", value)
        if kind == "fn":
            if value == "avg":
                inner = take()
                if inner[0] != "item" or take() != ("op", ")"):
                    raise MetricsError(f"{where}: avg() takes one line item")
                return ("avg", inner[1])
            node = expression()
            if take() != ("op", ")"):
                raise MetricsError(f"{where}: a bracket is not closed")
            return ("abs", node)
        if (kind, value) == ("op", "("):
            node = expression()
            if take() != ("op", ")"):
                raise MetricsError(f"{where}: a bracket is not closed")
            return node
        raise MetricsError(f"{where}: {value!r} where a line item or number belongs")

    tree = expression()
    if position != len(tokens):
        raise MetricsError(f"{where}: {tokens[position][1]!r} after the end of the formula")
    return tree


def _items_in(node: Node) -> list[tuple[str, int]]:
    """(line item, years back) pairs a formula reads: avg(x) reads x this year and the year before."""
    kind = node[0]
    if kind == "item":
        return [(node[1], 0)]
    if kind == "avg":
        return [(node[1], 0), (node[1], 1)]
    if kind == "num":
        return []
    if kind == "abs":
        return _items_in(node[1])
    return _items_in(node[1]) + _items_in(node[2])


def _evaluate(node: Node, values: dict[tuple[str, int], float]) -> float:
    kind = node[0]
    if kind == "num":
        return node[1]
    if kind == "item":
        return values[(node[1], 0)]
    if kind == "avg":
        return (values[(node[1], 0)] + values[(node[1], 1)]) / 2
    if kind == "abs":
        return abs(_evaluate(node[1], values))
    left, right = _evaluate(node[1], values), _evaluate(node[2], values)
    if kind == "+":
        return left + right
    if kind == "-":
        return left - right
    if kind == "*":
        return left * right
    if right == 0:
        raise ZeroDivisionError
    return left / right


def _divides(node: Node) -> bool:
    if node[0] in ("num", "item"):
        return False
    if node[0] in ("avg", "/"):
        return True
    return any(_divides(child) for child in node[1:] if isinstance(child, tuple))


def _decimals_of(written: str) -> int:
    digits = re.sub(r"[^\d.]", "", written)
    return len(digits.split(".", 1)[1]) if "." in digits else 0


def _show(node: Node, shown: dict[tuple[str, int], str], top: bool = True) -> str:
    kind = node[0]
    if kind == "num":
        return f"{node[1]:g}"
    if kind == "item":
        return shown[(node[1], 0)]
    if kind == "avg":
        average = f"({shown[(node[1], 0)]} + {shown[(node[1], 1)]}) / 2"
        return average if top else f"({average})"
    if kind == "abs":
        return f"|{_show(node[1], shown, False)}|"
    text = f"{_show(node[1], shown, False)} {kind} {_show(node[2], shown, False)}"
    return text if top or kind in "*/" else f"({text})"


@dataclass(frozen=True)
class Metric:
    names: tuple[str, ...]
    formula: Node
    percent: bool
    text: str  # the definition as written


@dataclass(frozen=True)
class Metrics:
    metrics: tuple[Metric, ...]
    labels: dict[str, tuple[str, ...]]  # line item -> its labels in filings, preferred first
    judgements: tuple[tuple[str, str], ...] = ()  # (word, direction: above | below | up | down), longest first

    @classmethod
    def parse(cls, text: str, source: str) -> Metrics:
        metric_lines: list[tuple[int, str]] = []
        labels: dict[str, tuple[str, ...]] = {}
        judgements: list[tuple[str, str]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, sep, rest = line.partition(":")
            if sep and kind.strip() == "item" and "=" in rest:
                name, _, written = rest.partition("=")
                found = tuple(_label_key(w) for w in written.split(";") if w.strip())
                if not name.strip() or not found:
                    raise MetricsError(f"{source}:{number}: an item needs a name and at least one label")
                labels[name.strip().lower()] = found
            elif sep and kind.strip() == "metric" and "=" in rest:
                metric_lines.append((number, rest))
            elif sep and kind.strip() == "judge" and "=" in rest:
                words, _, direction = rest.partition("=")
                direction = direction.strip().lower()
                if direction not in ("above zero", "below zero", "up", "down"):
                    raise MetricsError(f"{source}:{number}: a judgement is 'above zero', 'below zero', 'up' or 'down'")
                judgements += [(w.strip().lower(), direction.split()[0]) for w in words.split(",") if w.strip()]
            else:
                raise MetricsError(f"{source}:{number}: expected 'metric: name, ... = formula', "
                                   "'item: line item = label; ...' or 'judge: word, ... = direction'")
        metrics = []
        for number, rest in metric_lines:
            names, _, formula = rest.partition("=")
            formula = formula.strip()
            percent = formula.endswith("%")
            tree = _parse_formula(formula.rstrip("% ").strip(), set(labels), f"{source}:{number}")
            metrics.append(Metric(tuple(n.strip().lower() for n in names.split(",") if n.strip()), tree, percent,
                                  formula))
        return cls(tuple(metrics), labels, tuple(sorted(judgements, key=lambda pair: -len(pair[0]))))


def load_metrics(path: str | None = None) -> Metrics:
    return Metrics.parse(*read_data_file(path, PACKAGED_METRICS, MetricsError, "metrics"))


def _label_key(label: str) -> str:
    """A row label as compared: lowercase words, without punctuation, footnote marks, a leading "total" or a
    trailing "net" ("Inventories, net" is inventories; "Total revenues" is revenues)."""
    # Footnote marks and note references go: "Inventories (Note 5)", "Provision for taxes on income (Note 8)".
    label = re.sub(r"\((?:\d+|notes? [^)]*)\)", " ", label.lower())
    words = re.sub(r"[^a-z0-9 ]", " ", label.replace("’", "'").replace("'", "")).split()
    words = [w for w in words if w != "and"]
    if words and words[0] == "total" and len(words) > 1:
        words = words[1:]
    if words and words[-1] == "net" and len(words) > 1:
        words = words[:-1]
    return " ".join(words)


# Questions --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRequest:
    metric: Metric
    year: str
    previous: str = ""  # for a change in the metric: the earlier year


def read_metric_request(question: str, metrics: Metrics, calculations: Calculations) -> MetricRequest | None:
    """The metric and fiscal year a question asks for, or None. A question naming two years and a change asks
    for the metric's change between them."""
    if is_cause_or_method(question) or (read_operation(question, calculations) is None and is_yes_no(question)):
        return None  # "Does X have an improving gross margin?" is answered yes or no; "What drove ..." by a cause
    normalised = normalise_periods(question)
    metric, asking = None, ""
    # The first sentence naming a metric asks for it ("Roughly how many times has X sold its inventory in
    # FY2022? Calculate the inventory turnover ratio for FY2022.").
    for sentence in re.split(r"(?<=[.?!])\s+(?=[A-Z])", normalised):
        asking = sentence.lower()
        for candidate in sorted(metrics.metrics, key=lambda m: -max(len(n) for n in m.names)):
            if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", asking) for n in candidate.names):
                metric = candidate
                break
        if metric is not None:
            break
    if metric is None:
        return None
    years = list(dict.fromkeys(YEAR.findall(asking)))
    # The operation of the sentence naming the metric: a definition after it ("Define the ratio as total
    # current assets divided by ...") asks for no sum.
    operation = operation_in(asking, calculations)
    # "the 2019 average free cash flow" asks for an average of the metric, which the calculations answer.
    if len(years) == 1 and operation is None:
        return MetricRequest(metric, years[0])
    if len(years) == 2 and operation is not None and operation[0] in ("change", "difference"):
        early, late = sorted(years)
        return MetricRequest(metric, late, early)
    return None


@dataclass(frozen=True)
class Judgement:
    """A yes/no question about a metric: is it above or below zero in a year, or up or down since the year
    before ("Does Corning have positive working capital based on FY2022 data?", "Does Amcor have an improving
    gross margin profile as of FY2023?")."""

    request: MetricRequest
    direction: str  # above | below | up | down
    word: str


def read_judgement(question: str, metrics: Metrics) -> Judgement | None:
    if not is_yes_no(question):
        return None
    normalised = normalise_periods(question)
    asking = re.split(r"(?<=[.?!])\s+(?=[A-Z])", normalised)[0].lower()
    metric = next((m for m in sorted(metrics.metrics, key=lambda m: -max(len(n) for n in m.names))
                   if any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", asking) for n in m.names)), None)
    words = [(w, d) for w, d in metrics.judgements if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", asking)]
    years = list(dict.fromkeys(YEAR.findall(asking)))
    # One direction, one year: "improved or declined" asks which, not whether.
    if metric is None or len({d for _, d in words}) != 1 or len(years) != 1:
        return None
    word, direction = words[0]
    previous = str(int(years[0]) - 1) if direction in ("up", "down") else ""
    return Judgement(MetricRequest(metric, years[0], previous), direction, word)




# Answering ----------------------------------------------------------------------------------------------------

Search = Callable[[str, Hit], list[Hit]]  # (query, the question's best passage) -> passages of the same filing


@dataclass
class Operand:
    item: str
    year: str
    row: Row
    written: str
    value: float


class MetricCalculator:
    def __init__(self, metrics: Metrics | None = None, calculations: Calculations | None = None) -> None:
        self.metrics = metrics or load_metrics()
        self.calculations = calculations or load_calculations()

    def request(self, question: str) -> MetricRequest | None:
        return read_metric_request(question, self.metrics, self.calculations)

    def answer(self, request: MetricRequest, hits: list[Hit], answerer: str, search: Search | None = None,
               rows_of: Callable[[Hit], list[Row]] = read_rows) -> Draft:
        """The metric for the year asked (or its change since the earlier year), the calculation shown and every
        row read cited; an abstention naming the line items not found."""
        return self._drafted(request, hits, answerer, search, rows_of)[0]

    def _drafted(self, request: MetricRequest, hits: list[Hit], answerer: str, search: Search | None,
                 rows_of: Callable[[Hit], list[Row]]) -> tuple[Draft, dict[str, float]]:
        """The draft answer and the metric's value by year."""
        metric = request.metric
        if not hits:
            return abstention(answerer, f"{metric.names[0]} needs its line items; nothing relevant was found"), {}
        years = [request.year] + ([request.previous] if request.previous else [])
        operands: dict[tuple[str, str], Operand] = {}
        rows = [row for hit in hits for row in rows_of(hit)]
        reported = self._reported(request, years, rows, answerer)
        if reported is not None:
            return reported
        searched: set[str] = set()
        missing = []
        for year in years:
            for item, back in _items_in(metric.formula):
                at = str(int(year) - back)
                if (item, at) in operands:
                    continue
                found = self._find(item, at, rows)
                if found is None and search is not None and item not in searched:
                    searched.add(item)
                    rows += [row for hit in search(f"{item} {at}", hits[0]) for row in rows_of(hit)]
                    found = self._find(item, at, rows)
                if found is None:
                    missing.append(f"{item} ({at})")
                else:
                    operands[(item, at)] = found
        if missing:
            return abstention(answerer, f"{metric.names[0]} = {metric.text}: no table row found for "
                                        f"{', '.join(dict.fromkeys(missing))}"), {}
        scales = {o.row.scale for o in operands.values() if o.row.scale}
        if len(scales) > 1:
            return abstention(answerer, f"{metric.names[0]}: its line items are stated in different units "
                                        f"({', '.join(sorted(scales))})"), {}
        results = {}
        for year in years:
            values = {(item, back): operands[(item, str(int(year) - back))].value
                      for item, back in _items_in(metric.formula)}
            try:
                results[year] = _evaluate(metric.formula, values)
            except ZeroDivisionError:
                return abstention(answerer, f"{metric.names[0]} for {year} divides by zero"), {}
        # One citation per row read, numbered in the order the calculation uses them.
        order: dict[tuple[int, int, str], int] = {}
        for operand in operands.values():
            order.setdefault((operand.row.start, operand.row.end, operand.row.hit.doc_id), len(order) + 1)
        citations: list[Citation] = []
        for operand in operands.values():
            key = (operand.row.start, operand.row.end, operand.row.hit.doc_id)
            if len(citations) < order[key]:
                citations.append(citation_for(order[key], operand.row.hit, operand.row.start, operand.row.end))
        unit = "%" if metric.percent else ""
        # A sum or difference of amounts is shown as precisely as its operands; a ratio to two places.
        places = (2 if _divides(metric.formula) or metric.percent
                  else max(_decimals_of(o.written) for o in operands.values()))
        parts = []
        for year in years:
            shown = {(item, back): f"{operands[(item, str(int(year) - back))].written}"
                     for item, back in _items_in(metric.formula)}
            cited = "; ".join(
                f"{o.row.label} {o.year} {o.written} [{order[(o.row.start, o.row.end, o.row.hit.doc_id)]}]"
                for (item, at), o in operands.items() if at in (year, str(int(year) - 1)) and
                (item, int(year) - int(at)) in set(_items_in(metric.formula)))
            parts.append((year, f"{format_number(results[year], places)}{unit} = {_show(metric.formula, shown)}",
                          cited))
        name = metric.names[0]
        if request.previous:
            change = results[request.year] - results[request.previous]
            head = (f"{format_number(change, places)}{' percentage points' if metric.percent else ''}: {name} "
                    f"{request.previous} to {request.year}")
            body = "; ".join(f"{year}: {calc} ({cited})" for year, calc, cited in reversed(parts))
            text = f"{head}. {body}"
        else:
            year, calc, cited = parts[0]
            text = f"{calc} ({name}, {year}: {cited})"
        return Draft(text=text, citations=citations, abstained=False, answerer=answerer, calculation=text,
                     warnings=[f"calculated {name} as {metric.text}"]), results

    def judgement(self, question: str) -> Judgement | None:
        return read_judgement(question, self.metrics)

    def judge(self, judgement: Judgement, hits: list[Hit], answerer: str, search: Search | None = None,
              rows_of: Callable[[Hit], list[Row]] = read_rows) -> Draft:
        """Yes or No first, then the figures it follows from, calculated and cited; an abstention where they
        are not found."""
        request = judgement.request
        draft, values = self._drafted(request, hits, answerer, search, rows_of)
        if draft.abstained:
            return draft
        now = values[request.year]
        if judgement.direction in ("above", "below"):
            holds = now > 0 if judgement.direction == "above" else now < 0
            reason = f"{request.metric.names[0]} in {request.year} is {draft.text.split(' = ', 1)[0]}"
        else:
            before = values[request.previous]
            holds = now > before if judgement.direction == "up" else now < before
            moved = "rose" if now > before else ("fell" if now < before else "was unchanged")
            unit = "%" if request.metric.percent else ""
            reason = (f"{request.metric.names[0]} {moved} from {format_number(before, 2)}{unit} in "
                      f"{request.previous} to {format_number(now, 2)}{unit} in {request.year}")
        # The change itself is said in the reason; the figures of each year follow it.
        shown = draft.text.split(". ", 1)[1] if request.previous and ". " in draft.text else draft.text
        draft.text = f"{'Yes' if holds else 'No'}: {reason}. {shown}"
        draft.warnings.append(f"judged {judgement.word!r} from the figures")
        return draft

    def _reported(self, request: MetricRequest, years: list[str], rows: list[Row],
                  answerer: str) -> tuple[Draft, dict[str, float]] | None:
        """The metric as the filing states it, where a row is labelled with its name ("Effective tax rate"):
        read, not recomputed from line items the filing may define otherwise."""
        metric = request.metric
        names = tuple(_label_key(n) for n in metric.names)
        found = {}
        for year in years:
            for row in sorted(rows, key=lambda r: (r.hit.rank, r.start)):
                if _label_key(row.label) in names and len(row.cells.get(year, [])) == 1:
                    value = parse_figure(row.cells[year][0][1])
                    if value is not None:
                        found[year] = (row, row.cells[year][0][1].replace("$", "").strip(), value)
                        break
        if len(found) != len(years):
            return None
        order: dict[tuple[int, str], int] = {}
        citations = []
        for row, _, _ in found.values():
            if (row.start, row.hit.doc_id) not in order:
                order[(row.start, row.hit.doc_id)] = len(order) + 1
                citations.append(citation_for(len(order), row.hit, row.start, row.end))
        said = "; ".join(f"{row.label} {year} {written} [{order[(row.start, row.hit.doc_id)]}]"
                         for year, (row, written, _) in sorted(found.items()))
        unit = " percentage points" if metric.percent else ""
        if request.previous:
            change = found[request.year][2] - found[request.previous][2]
            text = f"{format_number(change, 2)}{unit} = {found[request.year][1]} - {found[request.previous][1]} ({said})"
        else:
            text = f"{found[request.year][1]} ({said})"
        return (Draft(text=text, citations=citations, abstained=False, answerer=answerer, calculation=text,
                      warnings=[f"{metric.names[0]} as the filing states it"]),
                {year: value for year, (_, _, value) in found.items()})

    def _find(self, item: str, year: str, rows: list[Row]) -> Operand | None:
        """The row of `item` holding a figure for `year`: its preferred label first, then the better-ranked
        passage."""
        labels = self.metrics.labels[item]
        best = None
        for row in rows:
            key = _label_key(row.label)
            if key not in labels or year not in row.cells:
                continue
            options = [value for name, value in row.cells[year] if "%" not in name]
            if len(options) != 1:
                continue
            value = parse_figure(options[0])
            if value is None:
                continue
            rank = (labels.index(key), row.hit.rank, row.start)
            if best is None or rank < best[0]:
                best = (rank, Operand(item, year, row, options[0].replace("$", "").strip(), value))
        return best[1] if best else None


__all__ = ["Judgement", "MetricCalculator", "MetricRequest", "Metrics", "MetricsError", "load_metrics", "read_metric_request"]
