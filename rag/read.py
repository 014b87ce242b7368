"""Read: a question's text -> the typed Question that every later stage gets.

`Assistant.ask` reads a question once, here, and passes the record down: read -> retrieve -> answer -> verify.
Whether it is about the report itself, what its words ask for (rag/question.py), and which derived figure it
asks to be computed (rag/metrics.py, rag/calculate.py) are decided here and nowhere else, so no stage reads
the words again and two stages never disagree about what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.calculate import CalculationRequest, Calculator, PairRequest, asks_for_figure, is_yes_no
from rag.glossary import Glossary
from rag.metrics import Judgement, MetricCalculator, MetricRequest
from rag.question import QuestionProfile


@dataclass(frozen=True)
class Question:
    """A question as read: its text, what its words ask for, and the derived figure it asks for, if any."""

    text: str
    profile: QuestionProfile
    # A defined metric ("What is X's FY2022 current ratio?"), or a yes/no judgement of one ("Does X have
    # positive working capital in FY2022?"), computed from a filing's line items.
    metric: MetricRequest | None = None
    judgement: Judgement | None = None
    # A change, an average or another calculation over one line item's years (rag/calculations.txt) ...
    calculation: CalculationRequest | None = None
    # ... or a combination of two line items in one year ("Other sales as a percentage of total sales").
    pair: PairRequest | None = None
    # The calculation a question asking for a figure names, read into a request or not: a reader's quote must
    # then state it ("sales rose 12% in 2025"), since no table row was found to compute it from.
    operation: str | None = None
    yes_no: bool = False  # answered yes or no: a quote that merely shares its names is no answer

    @property
    def about_report(self) -> bool:
        """Whether it asks about the report itself (who published it, when): answered from the header."""
        return bool(self.profile.about_report)


class QuestionReader:
    """Reads a question's text once into a Question, with the team's glossary and definitions."""

    def __init__(self, glossary: Glossary, calculator: Calculator, metrics: MetricCalculator) -> None:
        self.glossary = glossary
        self.calculator = calculator
        self.metrics = metrics

    def read(self, text: str) -> Question:
        judgement = self.metrics.judgement(text)
        metric = judgement.request if judgement is not None else self.metrics.request(text)
        calculation = self.calculator.request(text)
        pair = self.calculator.pair_request(text) if calculation is None else None
        operation = calculation.operation if calculation is not None else self.calculator.asked_operation(text)
        # "What do the changes in cash flows relate to?" names a change and asks for a description.
        if not asks_for_figure(text):
            operation = None
        return Question(text=text, profile=QuestionProfile.read(text, self.glossary), metric=metric,
                        judgement=judgement, calculation=calculation, pair=pair, operation=operation,
                        yes_no=is_yes_no(text))
