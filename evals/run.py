"""Suite runner: a JSONL suite of known Q&A pairs -> per-question outcomes and scores, through the same
`Assistant.search` and `Assistant.ask` every front end uses.

Scores (small functions below, each usable on its own):
- retrieval hit@1/@5/@10 and MRR of the evidence sentence: a retrieved passage counts when its [start, end)
  span overlaps at least half of the evidence's span in the document (or half of the passage, when the
  passage is shorter than the evidence); for the project (hybrid), BM25 alone, dense alone and the naive
  LangChain pipeline;
- key-fact accuracy: answerable questions answered (not abstained) with every key fact present, after
  normalising case, "20.9 %" / "20.9 percent", thousands separators and full-width characters;
- citation precision: citations of answered, answerable questions whose text holds a key fact or whose span
  overlaps the evidence, over all such citations; citation recall: answerable questions with at least one such
  citation, over all answerable questions;
- abstention precision and recall on the unanswerable questions, and false abstentions on answerable ones;
- latency p50/p95 of each stage (the Answer's timings).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from rag.errors import EmptyIndexError, RagError
from rag.load import load_file
from rag.types import Hit

from .baselines import NaiveLangChain, Span

if TYPE_CHECKING:
    # For annotations only: importing rag.assistant loads every stage.
    from rag.assistant import Assistant

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SUITE = ROOT / "evals" / "guosen_qa.jsonl"
RETRIEVAL_KS = (1, 5, 10)
EVIDENCE_SEPARATOR = " || "
MODES = ("hybrid", "lexical", "dense")
# Names shown in reports for each retriever.
SYSTEM_NAMES = {"hybrid": "project (hybrid)", "lexical": "BM25 alone", "dense": "dense alone",
                "naive_langchain": "naive LangChain", "bm25_bigram": "BM25 CJK bigrams (reference)"}

Searcher = Callable[[str, int], list[Span]]
Progress = Callable[[str, int, int], None]
# hit@k for each k, "mrr", and "n" (the questions scored): see retrieval_metrics.
RetrievalMetrics = dict[str, float]
# A line of a benchmark's own .jsonl files (TAT-QA, FinCUGE, FinanceBench), as json.loads returns it.
JsonRow = dict[str, Any]


class RunInfo(TypedDict):
    """When and on which commit a run happened: the head of every report."""

    date: str
    commit: str


@dataclass
class SuiteItem:
    id: str
    question: str
    answer: str
    key_facts: list[str]
    evidence: str
    answerable: bool
    lang: str = "en"
    category: str = ""


def load_suite(path: Path) -> list[SuiteItem]:
    """Read a suite file: one JSON object per line with id, question, answer, key_facts, evidence, answerable.

    Raises:
        RagError: a missing file, or a malformed line (named by file and line number).
    """
    if not path.is_file():
        raise RagError(f"{path}: no such suite file")
    items: list[SuiteItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise RagError(f"{where}: each line must be a JSON object")
        for name in ("id", "question"):
            if not isinstance(record.get(name), str) or not record[name].strip():
                raise RagError(f"{where}: '{name}' must be a non-empty string")
        answerable = record.get("answerable", True)
        if not isinstance(answerable, bool):
            raise RagError(f"{where}: 'answerable' must be true or false")
        facts = record.get("key_facts", [])
        if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
            raise RagError(f"{where}: 'key_facts' must be a list of non-empty strings")
        evidence = record.get("evidence", "")
        if not isinstance(evidence, str):
            raise RagError(f"{where}: 'evidence' must be a string")
        if answerable and (not facts or not evidence.strip()):
            raise RagError(f"{where}: an answerable question needs 'key_facts' and 'evidence'")
        if record["id"] in seen:
            raise RagError(f"{where}: duplicate id {record['id']!r}")
        seen.add(record["id"])
        items.append(SuiteItem(id=record["id"], question=record["question"], answer=str(record.get("answer", "")),
                               key_facts=facts, evidence=evidence, answerable=answerable,
                               lang=str(record.get("lang", "en")), category=str(record.get("category", ""))))
    if not items:
        raise RagError(f"{path}: the suite has no questions")
    return items


# Scorers -----------------------------------------------------------------------------------------------

_MARKERS = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")
_PERCENT_WORDS = re.compile(r"\s*(?:per\s*cent|percent|pct)\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalize(text: str) -> str:
    """Lower-cased text with percent spellings, thousands separators, currency spacing and widths unified."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _MARKERS.sub(" ", text)
    text = text.replace("\u2019", "'").replace("\u2013", "-").replace("\u2014", "-")
    text = _PERCENT_WORDS.sub("%", text)
    text = re.sub(r"\s+%", "%", text)
    text = _THOUSANDS.sub("", text)
    text = re.sub(r"([$¥€£])\s+(?=\d)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def has_fact(fact: str, text: str) -> bool:
    """Whether `fact` occurs in `text` after normalising both; a figure must not be part of a longer one
    ("20.9%" is not found in "120.9%")."""
    fact, text = normalize(fact), normalize(text)
    if not fact:
        return False
    before = r"(?<![\d.])" if fact[0].isdigit() else ""
    after = r"(?!\.?\d)" if fact[-1].isdigit() else ""
    return re.search(before + re.escape(fact) + after, text) is not None


def all_facts(facts: list[str], text: str) -> bool:
    return bool(facts) and all(has_fact(f, text) for f in facts)


def find_span(text: str, evidence: str) -> tuple[int, int] | None:
    """Offsets of `evidence` in `text`, exact or modulo runs of whitespace; None when it is not there."""
    if not evidence.strip():
        return None
    at = text.find(evidence)
    if at >= 0:
        return at, at + len(evidence)
    pattern = r"\s+".join(re.escape(word) for word in evidence.split())
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None


def spans_overlap(passage: tuple[int, int], evidence: tuple[int, int]) -> bool:
    """A passage holds the evidence when it covers half of it, or when the evidence covers half of a passage
    shorter than it (a long evidence sentence cut across two chunks)."""
    shared = min(passage[1], evidence[1]) - max(passage[0], evidence[0])
    if shared <= 0:
        return False
    return shared >= 0.5 * min(evidence[1] - evidence[0], passage[1] - passage[0])


def first_rank(spans: list[Span], relevant: Callable[[Span], bool]) -> int | None:
    """1-based rank of the first relevant span, None when none is."""
    return next((rank for rank, span in enumerate(spans, start=1) if relevant(span)), None)


def retrieval_metrics(ranks: list[int | None], ks: tuple[int, ...] = RETRIEVAL_KS) -> RetrievalMetrics:
    """hit@k for each k and MRR (cut at the largest k) of a list of first-relevant ranks."""
    n = len(ranks)
    if not n:
        return {**{f"hit@{k}": 0.0 for k in ks}, "mrr": 0.0, "n": 0}
    out: RetrievalMetrics = {f"hit@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out["mrr"] = sum(1 / r for r in ranks if r is not None and r <= max(ks)) / n
    out["n"] = n
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class EvidenceLocator:
    """Finds an evidence sentence's span in the indexed documents' texts (read from their source files and
    cached), so that retrieved passages and citations can be matched by offsets."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._spans: dict[tuple[str, str], tuple[int, int] | None] = {}

    def add_text(self, doc_id: str, text: str) -> None:
        self._texts[doc_id] = text

    def text(self, doc_id: str, source: str) -> str:
        if doc_id not in self._texts:
            try:
                docs = load_file(Path(source), doc_id)
            except RagError:
                docs = []
            for doc in docs:
                self._texts.setdefault(doc.doc_id, doc.text)
            self._texts.setdefault(doc_id, "")
        return self._texts[doc_id]

    def span(self, doc_id: str, evidence: str, source: str = "") -> tuple[int, int] | None:
        key = (doc_id, evidence)
        if key not in self._spans:
            self._spans[key] = find_span(self.text(doc_id, source), evidence)
        return self._spans[key]

    def holds(self, doc_id: str, start: int, end: int, evidence: str, source: str = "") -> bool:
        """Whether [start, end) holds the evidence, or one of its parts: a two-fact question's evidence is its
        sentences joined by " || "."""
        for part in evidence.split(EVIDENCE_SEPARATOR):
            span = self.span(doc_id, part.strip(), source)
            if span is not None and spans_overlap((start, end), span):
                return True
        return False


# Running -----------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one question; kept in the JSON report so that a later run can name what changed."""

    id: str
    question: str
    category: str
    lang: str
    answerable: bool
    status: str = ""  # correct | wrong | false_abstention | abstained | answered_unanswerable | error
    answer: str = ""
    abstained: bool = False
    key_facts_ok: bool = False
    missing_facts: list[str] = field(default_factory=list)
    citations: int = 0
    good_citations: int = 0
    evidence_cited: bool = False
    ranks: dict[str, int | None] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str = ""


class OutcomeRecord(TypedDict):
    """An Outcome as the JSON report keeps it (dataclasses.asdict)."""

    id: str
    question: str
    category: str
    lang: str
    answerable: bool
    status: str
    answer: str
    abstained: bool
    key_facts_ok: bool
    missing_facts: list[str]
    citations: int
    good_citations: int
    evidence_cited: bool
    ranks: dict[str, int | None]
    timings: dict[str, float]
    warnings: list[str]
    error: str


class Percentiles(TypedDict):
    p50: float
    p95: float


class SuiteMetrics(TypedDict):
    """A suite's answer, citation, abstention and latency scores: None where a denominator is empty."""

    questions: int
    answerable: int
    unanswerable: int
    key_fact_accuracy: float | None
    citation_precision: float | None
    citation_recall: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    false_abstentions: int
    errors: int
    latency_ms: dict[str, Percentiles]


class CategoryScore(TypedDict):
    questions: int
    passed: int


class SuiteReport(RunInfo):
    """run_suite's report."""

    kind: str
    answerer: str
    k: int
    documents: int
    metrics: SuiteMetrics
    retrieval: dict[str, RetrievalMetrics]
    by_category: dict[str, CategoryScore]
    questions: list[OutcomeRecord]


class OutcomeChange(TypedDict):
    """A question whose outcome changed between two runs."""

    id: str
    question: str
    before: str
    after: str
    detail: str


def _status(outcome: Outcome) -> str:
    if outcome.error:
        return "error"
    if outcome.answerable:
        if outcome.abstained:
            return "false_abstention"
        return "correct" if outcome.key_facts_ok else "wrong"
    return "abstained" if outcome.abstained else "answered_unanswerable"


def hits_as_spans(hits: list[Hit]) -> list[Span]:
    return [Span(h.doc_id, h.start, h.end, h.text) for h in hits]


def mode_searcher(assistant: Assistant, mode: str | None = None) -> Searcher:
    """The assistant's search as a Searcher: hybrid (None), or one side alone ("lexical" | "dense")."""
    if mode is None:
        return lambda q, n: hits_as_spans(assistant.search(q, k=n))
    return lambda q, n: hits_as_spans(assistant.search(q, k=n, mode=mode))


def in_docs(doc_ids: set[str]) -> Callable[[Span], bool]:
    """Whether a span comes from one of `doc_ids` (a question's gold evidence documents)."""
    return lambda span: span.doc_id in doc_ids


def run_suite(assistant: Assistant, items: list[SuiteItem], answerer: str = "extractive", k: int = 10,
              baselines: bool = True, on_progress: Progress | None = None) -> SuiteReport:
    """Send every question of a suite through `assistant` and score the outcomes.

    Args:
        answerer: the answerer `ask()` uses (extractive | local | openai | auto).
        k: passages retrieved for the retrieval metrics (hit@k up to 10 needs k >= 10).
        baselines: also score BM25 alone, dense alone and the naive LangChain pipeline.

    Returns:
        The report: {suite metadata, metrics, retrieval: {system: metrics}, questions: [outcome]}.

    Raises:
        EmptyIndexError: nothing is indexed.
    """
    documents = assistant.documents()
    if not documents:
        raise EmptyIndexError("nothing is indexed yet: run `rag ingest corpus/` first (or pass --index DIR)")
    locator = EvidenceLocator()
    sources = {d.doc_id: d.source for d in documents}
    searchers: dict[str, Searcher] = {"hybrid": mode_searcher(assistant)}
    naive = None
    if baselines:
        for mode in MODES[1:]:
            searchers[mode] = mode_searcher(assistant, mode)
        naive = NaiveLangChain(assistant.embedder)
        naive.build((d.doc_id, locator.text(d.doc_id, d.source)) for d in documents)
        searchers[naive.name] = naive.search
    outcomes = []
    try:
        for done, item in enumerate(items, start=1):
            outcomes.append(_run_item(assistant, item, answerer, k, searchers, locator, sources))
            if on_progress:
                on_progress("suite", done, len(items))
    finally:
        if naive is not None:
            naive.close()
    report: SuiteReport = {
        "kind": "suite",
        "answerer": answerer,
        "k": k,
        "documents": len(documents),
        **run_info(),
        "metrics": score_outcomes(outcomes),
        "retrieval": {name: retrieval_metrics([o.ranks.get(name) for o in outcomes if o.answerable])
                      for name in searchers},
        "by_category": by_category(outcomes),
        # asdict gives the dataclass' fields, which OutcomeRecord names one by one.
        "questions": [cast(OutcomeRecord, asdict(o)) for o in outcomes],
    }
    return report


def _run_item(assistant: Assistant, item: SuiteItem, answerer: str, k: int, searchers: dict[str, Searcher],
              locator: EvidenceLocator, sources: dict[str, str]) -> Outcome:
    outcome = Outcome(id=item.id, question=item.question, category=item.category, lang=item.lang,
                      answerable=item.answerable)

    def holds_evidence(span: Span) -> bool:
        return locator.holds(span.doc_id, span.start, span.end, item.evidence, sources.get(span.doc_id, ""))

    try:
        if item.answerable:
            for name, search in searchers.items():
                outcome.ranks[name] = first_rank(search(item.question, k), holds_evidence)
        started = time.perf_counter()
        answer = assistant.ask(item.question, answerer=answerer, id=item.id)
        total_ms = (time.perf_counter() - started) * 1000
    except RagError as exc:
        outcome.error = str(exc)
        outcome.status = _status(outcome)
        return outcome
    outcome.answer = answer.text
    outcome.abstained = answer.abstained
    outcome.warnings = list(answer.warnings)
    outcome.timings = {**{key: round(v, 1) for key, v in answer.timings.items()}, "total_ms": round(total_ms, 1)}
    if item.answerable and not answer.abstained:
        outcome.missing_facts = [f for f in item.key_facts if not has_fact(f, answer.text)]
        outcome.key_facts_ok = not outcome.missing_facts
        outcome.citations = len(answer.citations)
        for c in answer.citations:
            good = any(has_fact(f, c.text) for f in item.key_facts) or locator.holds(
                c.doc_id, c.start, c.end, item.evidence, c.source)
            outcome.good_citations += good
        outcome.evidence_cited = outcome.good_citations > 0
    outcome.status = _status(outcome)
    return outcome


def score_outcomes(outcomes: list[Outcome]) -> SuiteMetrics:
    """The suite's answer, citation, abstention and latency scores (None where a denominator is empty)."""
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    abstained = [o for o in outcomes if o.abstained]
    timed = [o for o in outcomes if o.timings]
    latency: dict[str, Percentiles] = {}
    for stage in ("retrieve_ms", "answer_ms", "total_ms"):
        values = [o.timings[stage] for o in timed if stage in o.timings]
        latency[stage] = {"p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1)}
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "key_fact_accuracy": ratio(sum(o.key_facts_ok for o in answerable), len(answerable)),
        "citation_precision": ratio(sum(o.good_citations for o in answerable), sum(o.citations for o in answerable)),
        "citation_recall": ratio(sum(o.evidence_cited for o in answerable), len(answerable)),
        "abstention_precision": ratio(sum(not o.answerable for o in abstained), len(abstained)),
        "abstention_recall": ratio(sum(o.abstained for o in unanswerable), len(unanswerable)),
        "false_abstentions": sum(o.abstained for o in answerable),
        "errors": sum(bool(o.error) for o in outcomes),
        "latency_ms": latency,
    }


def by_category(outcomes: list[Outcome]) -> dict[str, CategoryScore]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.category or "-", []).append(o)
    return {name: {"questions": len(group),
                   "passed": sum(o.status in ("correct", "abstained") for o in group)}
            for name, group in sorted(groups.items())}


def run_info() -> RunInfo:
    """When and on which commit the run happened (a trailing '+' marks uncommitted changes)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--untracked-files=no"):
        commit += "+"
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit or "unknown"}


# Comparing runs ----------------------------------------------------------------------------------------

def load_report(path: Path) -> dict[str, Any]:
    """A JSON report written by `rag eval`.

    Raises:
        RagError: a missing file or one that is not an eval report.
    """
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RagError(f"{path}: no such report") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise RagError(f"{path}: not a JSON eval report ({exc})") from exc
    suite = report.get("suite") if isinstance(report, dict) else None
    if not isinstance(suite, dict) or not isinstance(suite.get("questions"), list):
        raise RagError(f"{path}: not an eval report (no suite.questions)")
    return report


def compare_outcomes(old: list[OutcomeRecord], new: list[OutcomeRecord]) -> list[OutcomeChange]:
    """Questions whose outcome changed between two runs: status, or the rank of the evidence in hybrid
    retrieval crossing the top 5. Questions present in only one run are listed too."""
    before = {o["id"]: o for o in old}
    after = {o["id"]: o for o in new}
    changes: list[OutcomeChange] = []
    for qid in list(dict.fromkeys([*before, *after])):
        a, b = before.get(qid), after.get(qid)
        if a is None or b is None:
            # One of the two runs holds qid: it came from their ids.
            only = before.get(qid) or after[qid]
            changes.append({"id": qid, "question": only["question"], "before": a["status"] if a else "absent",
                            "after": b["status"] if b else "absent", "detail": "only in one run"})
            continue
        details = []
        if a["status"] != b["status"]:
            details.append(f"{a['status']} -> {b['status']}")
        rank_a, rank_b = a.get("ranks", {}).get("hybrid"), b.get("ranks", {}).get("hybrid")
        if a["answerable"] and (rank_a is not None and rank_a <= 5) != (rank_b is not None and rank_b <= 5):
            details.append(f"evidence rank {rank_a} -> {rank_b}")
        if details:
            changes.append({"id": qid, "question": b["question"], "before": a["status"], "after": b["status"],
                            "detail": "; ".join(details)})
    return changes
