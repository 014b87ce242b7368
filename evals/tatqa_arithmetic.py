"""TAT-QA dev arithmetic: ../shared/data/tatqa-dev/qa_arithmetic.jsonl (750 computed questions over the tables
and paragraphs of real annual reports) -> right / wrong / abstained, over the whole dev corpus and with the
question's own context alone (the reader's upper bound: retrieval cannot pick another report's table).

Right: the answer's first figure equals a gold answer at the gold's decimals (TAT-QA's answers are written at
the precision the question's figures give, "-12.6", "-6.75", "20297.5"). A percentage is compared as written
("-6.75%" against "-6.75"); the scale word ("million") is not compared, as every figure of one table shares it.
An abstention is never wrong; an answer whose first figure is not the gold one is.

The index is the TAT-QA dev index of evals/tatqa.py (cached under ~/.cache/rag-evals/, shared with it).

Source: Zhu et al., "TAT-QA: A Question Answering Benchmark on a Hybrid of Tabular and Textual Content in
Finance", ACL 2021 (CC BY 4.0).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Literal, TypedDict

from rag.cite import MARKER
from rag.settings import Settings

from .run import JsonRow, Progress, RunInfo, run_info
from .tatqa import CITATION, TATQA_DIR, _read_jsonl, open_tatqa_index

_FIGURE = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def first_figure(text: str) -> float | None:
    """The first figure of an answer, its [n] markers aside: the calculated result comes first."""
    match = _FIGURE.search(MARKER.sub(" ", text))
    return float(match.group(0).replace(",", "")) if match else None


def is_right(answer: str, golds: list[str]) -> bool:
    """Whether the answer's first figure equals a gold answer rounded to the gold's decimals."""
    value = first_figure(answer)
    if value is None:
        return False
    for gold in golds:
        cleaned = gold.replace(",", "").replace("%", "").replace("$", "").strip()
        try:
            number = float(cleaned)
        except ValueError:
            continue
        decimals = len(cleaned.split(".", 1)[1]) if "." in cleaned else 0
        if round(value, decimals) == round(number, decimals) or abs(value - number) < 1e-9:
            return True
    return False


def load_arithmetic(data_dir: Path = TATQA_DIR) -> list[JsonRow]:
    return _read_jsonl(data_dir / "qa_arithmetic.jsonl", ("id", "question", "answers", "context_id"))


# Where a question is asked: over the whole dev corpus, or within its own context.
Scope = Literal["corpus", "context"]


class ScopeOutcome(TypedDict):
    answer: str
    abstained: bool
    calculated: bool
    right: bool


class ArithmeticRow(TypedDict):
    id: str
    question: str
    gold: list[str]
    derivation: str | None
    answer_from: str
    corpus: ScopeOutcome
    context: ScopeOutcome


class ScopeCounts(TypedDict):
    right: int
    wrong: int
    abstained: int
    calculated: int


class ArithmeticReport(RunInfo):
    """run_tatqa_arithmetic's report."""

    kind: str
    data: str
    citation: str
    index: str
    questions: int
    answerer: str
    seconds: float
    corpus: ScopeCounts
    context: ScopeCounts
    rows: list[ArithmeticRow]


def run_tatqa_arithmetic(base: Settings, data_dir: Path = TATQA_DIR, limit: int | None = None,
                         answerer: str = "extractive", on_progress: Progress | None = None) -> ArithmeticReport:
    """Ask every arithmetic question over the whole TAT-QA dev corpus and within its own context; count right,
    wrong and abstained for each."""
    corpus = _read_jsonl(data_dir / "corpus.jsonl", ("doc_id", "text", "context_id"))
    questions = load_arithmetic(data_dir)
    if limit is not None:
        questions = questions[:limit]
    settings, assistant, _, context_docs = open_tatqa_index(base, data_dir, corpus, on_progress)
    reader = assistant.answerer(answerer)
    k = settings.retrieve.top_k
    rows: list[ArithmeticRow] = []
    started = time.perf_counter()
    for done, q in enumerate(questions, start=1):
        outcomes: dict[Scope, ScopeOutcome] = {}
        scopes: tuple[Scope, ...] = ("corpus", "context")
        for scope in scopes:
            if scope == "corpus":
                answer = assistant.ask(q["question"], answerer=answerer)
                text, abstained, calculated = answer.text, answer.abstained, _calculated(answer.warnings)
            else:
                # NOTE: no public filter selects a set of documents; the same retrieval, within the context.
                hits = assistant.retriever._retrieve(q["question"], k, context_docs.get(q["context_id"], set()),
                                                     "hybrid")
                draft = assistant.answer_from(assistant.read(q["question"]), hits, reader)
                text, abstained, calculated = draft.text, draft.abstained, _calculated(draft.warnings)
            outcomes[scope] = {"answer": "" if abstained else text[:400], "abstained": abstained,
                               "calculated": calculated, "right": (not abstained) and is_right(text, q["answers"])}
        rows.append({"id": q["id"], "question": q["question"], "gold": q["answers"], "derivation": q.get("derivation"),
                     "answer_from": q.get("answer_from", ""), "corpus": outcomes["corpus"],
                     "context": outcomes["context"]})
        if on_progress:
            on_progress("tatqa arithmetic", done, len(questions))
    elapsed = time.perf_counter() - started

    def counts(scope: Scope) -> ScopeCounts:
        right = sum(r[scope]["right"] for r in rows)
        abstained = sum(r[scope]["abstained"] for r in rows)
        return {"right": right, "wrong": len(rows) - right - abstained, "abstained": abstained,
                "calculated": sum(r[scope]["calculated"] for r in rows)}

    return {"kind": "tatqa_arithmetic", "data": str(data_dir), "citation": CITATION, "index": str(settings.home),
            "questions": len(rows), "answerer": answerer, "seconds": round(elapsed, 1), **run_info(),
            "corpus": counts("corpus"), "context": counts("context"), "rows": rows}


def _calculated(warnings: list[str]) -> bool:
    return any(w.startswith("calculated from") for w in warnings)
