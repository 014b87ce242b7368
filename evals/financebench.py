"""FinanceBench dev answers: ../shared/data/financebench-dev (14 real filing PDFs, 37 analyst questions) ->
how many questions are answered right, answered wrong, or abstained.

The index holds the pages that hold each question's evidence (and the pages next to them, as distractors), and
each filing's first and last pages (its cover and contents, its signatures, exhibits and certifications: the
boilerplate that names the company and the year on every line and must never be cited as evidence for a
question about something else), cut from the real PDFs and read with the project's own PDF loader: this
measures reading and verification on real filings. Each page is one document, "<filing>:p<N>" with N the
1-based page. Retrieval across the whole filings (1,209 pages, one index of all 14 PDFs) is measured apart:
page hit@5 of the gold evidence page and filing hit@5, for the project's search beside plain BM25 over pages in
the same run (`run_page_retrieval`).

Grading, as the task asks: a yes/no question by the first word of the answer; a number question by any figure
of the answer within 1% of the gold number; span and free-form answers are counted as answered but not graded.
An abstention is never wrong: most questions need arithmetic over a table, which the assistant does not do, and
saying so is the honest answer. What the gate watches is the wrong answers.

Source: Islam et al., "FinanceBench: A New Benchmark for Financial Question Answering", 2023 (CC BY-NC 4.0).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from rag.cite import MARKER, figures
from rag.errors import RagError
from rag.settings import Settings

from .run import ROOT, JsonRow, Progress, RunInfo, run_info
from .tatqa import cache_root

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.types import Citation, Document

FINANCEBENCH_DIR = ROOT.parent / "shared" / "data" / "financebench-dev"
CITATION = ('Islam et al., "FinanceBench: A New Benchmark for Financial Question Answering", 2023 '
            "(CC BY-NC 4.0)")
NUMBER_TOLERANCE = 0.01
_PAGE = re.compile(r"^(?P<doc>.+):p(?P<page>\d+)$")


def load_questions(data_dir: Path = FINANCEBENCH_DIR) -> list[JsonRow]:
    path = data_dir / "qa.jsonl"
    if not path.is_file():
        raise RagError(f"{path}: no such file (FinanceBench dev is expected in ../shared/data/financebench-dev)")
    return read_questions(path)


def read_questions(path: Path) -> list[JsonRow]:
    """The JSON objects of a question file, a malformed line named by file and line."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RagError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return rows


def evidence_pages(questions: list[JsonRow], neighbours: int) -> dict[str, set[int]]:
    """Filing -> the 1-based pages to index: each evidence page (given 0-based) and `neighbours` either side."""
    pages: dict[str, set[int]] = {}
    for q in questions:
        for ref in q.get("evidence_doc_ids", []):
            match = _PAGE.match(ref)
            if match:
                page = int(match.group("page")) + 1
                pages.setdefault(match.group("doc"), set()).update(
                    range(max(1, page - neighbours), page + neighbours + 1))
    return pages


# A filing's first pages are its cover and contents, its last its signatures, exhibit index and certifications.
FILING_ENDS = 3


def page_texts(doc: Document) -> list[tuple[int, str]]:
    """(1-based page, its text) for each page of a loaded PDF, in order."""
    ends = [span.start for span in doc.pages[1:]] + [len(doc.text)]
    return [(span.page, doc.text[span.start:end]) for span, end in zip(doc.pages, ends)]


def write_page_corpus(data_dir: Path, pages: dict[str, set[int]], target: Path, companies: dict[str, str],
                      ends: int = 0) -> int:
    """A .jsonl corpus of the chosen pages and each filing's first and last `ends` pages, read by the project's
    PDF loader, each titled by its company and filing as a filing's cover names them ("Best Buy 2023 10K, page
    38"); returns the page count."""
    from rag.load import load_file

    records = []
    for filing, wanted in sorted(pages.items()):
        name = companies.get(filing, "")
        label = " ".join([name, *filing.split("_")[-2:]]) if name else filing.replace("_", " ")
        pdf = data_dir / "pdfs" / f"{filing}.pdf"
        (doc,) = load_file(pdf, filing)
        last = len(doc.pages)
        for page, text in page_texts(doc):
            chosen = page in wanted or page <= ends or page > last - ends
            if chosen and text.strip():
                records.append({"doc_id": f"{filing}:p{page}", "title": f"{label}, page {page}", "text": text.strip()})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return len(records)


# Retrieval over whole filings: distinct pages read from this many passages, of which the first 5 are scored.
RETRIEVAL_PASSAGES = 20
PAGE_K = 5


# A page of a filing: (filing, 1-based page); a search hit's page is None where its document has no pages.
PageKey = tuple[str, int]
HitPage = tuple[str, int | None]


def gold_pages(question: JsonRow) -> set[PageKey]:
    """The question's evidence pages as (filing, 1-based page)."""
    found = set()
    for ref in question.get("evidence_doc_ids", []):
        match = _PAGE.match(ref)
        if match:
            found.add((match.group("doc"), int(match.group("page")) + 1))
    return found


class PageBM25:
    """The plain baseline: Okapi BM25 (k1 1.5, b 0.75) over whole pages, with the project's tokens."""

    def __init__(self, pages: list[tuple[PageKey, str]]) -> None:
        from rag.lexical import lexical_tokens

        from .baselines import OkapiBM25

        self._tokens = lexical_tokens
        self.keys = [key for key, _ in pages]
        self.bm25 = OkapiBM25([lexical_tokens(text) for _, text in pages], k1=1.5, b=0.75)

    def top(self, query: str, k: int) -> list[PageKey]:
        return [self.keys[i] for i in self.bm25.top(self._tokens(query), k)]


# "page_hit@5" and "filing_hit@5": keys no class attribute can spell.
PageHits = TypedDict("PageHits", {"page_hit@5": float, "filing_hit@5": float})


class PageRetrievalQuestion(TypedDict):
    id: str
    gold: list[str]
    project: list[str]
    bm25: list[str]


class PageRetrievalReport(TypedDict):
    """run_page_retrieval's report."""

    pages: int
    filings: int
    failed: list[dict[str, str]]
    ingest_s: float
    project: PageHits
    bm25_pages: PageHits
    questions: list[PageRetrievalQuestion]


def page_hits(found: Sequence[Sequence[HitPage]], questions: list[JsonRow]) -> PageHits:
    """page hit@5 (a gold evidence page among the first 5 distinct pages) and filing hit@5 (the gold filing
    among those pages' filings), over `questions` in order."""
    page = sum(bool(gold_pages(q) & set(pages[:PAGE_K])) for q, pages in zip(questions, found))
    filing = sum(bool({d for d, _ in gold_pages(q)} & {d for d, _ in pages[:PAGE_K]}) for q, pages in zip(questions, found))
    n = max(1, len(questions))
    return {"page_hit@5": page / n, "filing_hit@5": filing / n}


def run_page_retrieval(base: Settings, data_dir: Path = FINANCEBENCH_DIR, on_progress: Progress | None = None,
                       filings: list[str] | None = None) -> PageRetrievalReport:
    """Index the whole filings (all 1,209 pages, cached and incremental) and score page-level retrieval of each
    question's evidence page: the project's hybrid search beside BM25 over pages, in the same run. `filings`
    (file stems) narrows both to those filings and the questions about them.

    English questions over English filings: the cross-lingual vectors are left out of this index, they serve
    Chinese questions only and would double its encoder time."""
    from rag.assistant import Assistant
    from rag.load import load_file

    questions = load_questions(data_dir)
    pdfs = sorted(p for p in (data_dir / "pdfs").glob("*.pdf") if filings is None or p.stem in filings)
    if filings is not None:
        questions = [q for q in questions if q["doc_name"] in filings]
    settings = base.model_copy(deep=True)
    settings.home = cache_root() / f"financebench-filings-c{base.chunk.chunk_tokens}"
    settings.chroma.url = None
    settings.embed.cross_lingual = False
    assistant = Assistant.from_settings(settings)
    started = time.perf_counter()
    report = assistant.ingest([data_dir / "pdfs"] if filings is None else pdfs)
    ingest_s = time.perf_counter() - started
    pages = []
    for pdf in pdfs:
        (doc,) = load_file(pdf, pdf.stem)
        pages += [((pdf.stem, page), text) for page, text in page_texts(doc)]
    bm25 = PageBM25(pages)
    project: list[list[HitPage]] = []
    baseline: list[list[PageKey]] = []
    for done, q in enumerate(questions, start=1):
        ranked: list[HitPage] = []
        for hit in assistant.search(q["question"], k=RETRIEVAL_PASSAGES):
            key = (hit.doc_id.removesuffix(".pdf"), hit.page)
            if key not in ranked:
                ranked.append(key)
        project.append(ranked)
        baseline.append(bm25.top(q["question"], PAGE_K))
        if on_progress:
            on_progress("financebench retrieval", done, len(questions))
    return {"pages": len(pages), "filings": report.added + report.updated + report.unchanged,
            "failed": report.failed, "ingest_s": round(ingest_s, 1),
            "project": page_hits(project, questions), "bm25_pages": page_hits(baseline, questions),
            "questions": [{"id": q["id"], "gold": sorted(f"{d}:p{p}" for d, p in gold_pages(q)),
                           "project": [f"{d}:p{p}" for d, p in r[:PAGE_K]], "bm25": [f"{d}:p{p}" for d, p in b]}
                          for q, r, b in zip(questions, project, baseline)]}


def gold_number(answer: str) -> float | None:
    keys = [k for k in figures(answer.replace("$", " ")) if "Q" not in k]
    return float(keys[0]) if keys else None


def grade(question: JsonRow, answer_text: str, abstained: bool) -> str:
    """correct | wrong | abstained | ungraded (an answer to a span or free-form question)."""
    if abstained:
        return "abstained"
    kind = question.get("answer_type")
    if kind == "yesno":
        first = re.sub(r"[^a-z]", "", (answer_text.split() or [""])[0].lower())
        gold = re.sub(r"[^a-z]", "", question["answer"].split()[0].lower())
        return "correct" if first == gold else "wrong"
    if kind == "number":
        number = gold_number(question["answer"])
        if number is None:
            return "ungraded"
        values = [float(k) for k in figures(answer_text) if "Q" not in k]
        near = any(abs(v - abs(number)) <= NUMBER_TOLERANCE * max(abs(number), 1e-9) for v in values)
        return "correct" if near else "wrong"
    return "ungraded"


def open_page_index(base: Settings, data_dir: Path, questions: list[JsonRow], neighbours: int = 1) -> Assistant:
    """The assistant over the cached index of the dev questions' evidence pages (and their neighbours), and each
    filing's first and last FILING_ENDS pages."""
    from rag.assistant import Assistant
    from rag.embed import file_sha256

    pages = evidence_pages(questions, neighbours)
    settings = base.model_copy(deep=True)
    key = f"financebench-{file_sha256(data_dir / 'qa.jsonl')[:12]}-n{neighbours}-e{FILING_ENDS}-c{base.chunk.chunk_tokens}-v3"
    settings.home = cache_root() / key
    settings.chroma.url = None
    corpus = settings.home / "pages.jsonl"
    if not corpus.exists():
        write_page_corpus(data_dir, pages, corpus, {q["doc_name"]: q.get("company", "") for q in questions},
                          ends=FILING_ENDS)
    assistant = Assistant.from_settings(settings)
    assistant.ingest([corpus])
    return assistant


def boilerplate_cited(assistant: Assistant, question: str, citations: list[Citation]) -> list[str]:
    """The cited passages marked as boilerplate of a kind the question does not ask about, as "chunk_id (kind)"."""
    records = assistant.indexer.catalog.chunks([c.chunk_id for c in citations])
    asked = assistant.indexer.chunker.boilerplate.asked(question)
    return sorted(f"{cid} ({r.boilerplate})" for cid, r in records.items()
                  if r.boilerplate and r.boilerplate not in asked)


def grade_suite_answer(question: JsonRow, answer_text: str, abstained: bool) -> str:
    """A blind suite's grading: correct | wrong | abstained | false_abstention | answered_unanswerable. A yes/no
    question by the answer's first word; a number by the answer's first figure (the computed result comes first),
    within 1%; a question the pages do not answer is right only when abstained."""
    if not question.get("answerable", True):
        return "abstained" if abstained else "answered_unanswerable"
    if abstained:
        return "false_abstention"
    if question.get("answer_type") in ("yes_no", "yesno"):
        first = re.sub(r"[^a-z]", "", (answer_text.split() or [""])[0].lower())
        return "correct" if first == question["answer"].strip().lower() else "wrong"
    gold = gold_number(question["answer"])
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?", MARKER.sub(" ", answer_text))
    if gold is None or match is None:
        return "wrong"
    value = float(match.group(0).replace(",", ""))
    return "correct" if abs(value - gold) <= NUMBER_TOLERANCE * max(abs(gold), 1e-9) else "wrong"


class SuiteAnswer(TypedDict):
    id: str
    question: str
    gold: str
    answer: str
    status: str
    warnings: list[str]


class FinancebenchSuiteReport(RunInfo):
    """run_financebench_suite's report: metrics are status -> count, and "questions"."""

    kind: str
    suite: str
    answerer: str
    metrics: dict[str, int]
    questions: list[SuiteAnswer]


def run_financebench_suite(base: Settings, suite: Path, data_dir: Path = FINANCEBENCH_DIR,
                           answerer: str = "extractive") -> FinancebenchSuiteReport:
    """A question file of our own (a blind suite written from the same filing pages) over the FinanceBench dev
    page index: {metrics: {status: count}, questions: [...]}."""
    questions = load_questions(data_dir)
    assistant = open_page_index(base, data_dir, questions)
    rows = read_questions(suite)
    outcomes: list[SuiteAnswer] = []
    for q in rows:
        answer = assistant.ask(q["question"], answerer=answerer, k=8)
        outcomes.append({"id": q["id"], "question": q["question"], "gold": q.get("answer", ""),
                         "answer": answer.text, "status": grade_suite_answer(q, answer.text, answer.abstained),
                         "warnings": answer.warnings})
    statuses = ("correct", "wrong", "false_abstention", "abstained", "answered_unanswerable")
    report: FinancebenchSuiteReport = {
        "kind": "financebench_suite", "suite": str(suite), "answerer": answerer, **run_info(),
        "metrics": {**{s: sum(o["status"] == s for o in outcomes) for s in statuses}, "questions": len(outcomes)},
        "questions": outcomes}
    return report


class FinancebenchOutcome(TypedDict):
    id: str
    question: str
    answer_type: str | None
    gold: str
    answer: str
    status: str
    cites_evidence_page: bool
    cited_pages: list[str]
    cited_boilerplate: list[str]
    warnings: list[str]
    ms: float


class FinancebenchMetrics(TypedDict):
    correct: int
    wrong: int
    abstained: int
    ungraded: int
    questions: int
    wrong_share: float


class FinancebenchReport(RunInfo):
    """run_financebench's report."""

    kind: str
    answerer: str
    pages_indexed: int
    retrieval: PageRetrievalReport | None
    neighbours: int
    citation: str
    metrics: FinancebenchMetrics
    questions: list[FinancebenchOutcome]


def run_financebench(base: Settings, data_dir: Path = FINANCEBENCH_DIR, answerer: str = "extractive",
                     neighbours: int = 1, on_progress: Progress | None = None,
                     page_retrieval: bool = True) -> FinancebenchReport:
    """Index the evidence pages (cached) and answer every question; with `page_retrieval`, also index the whole
    filings and score page retrieval (`run_page_retrieval`: about 35 minutes of a 2-core machine the first time,
    so the CI gate, which watches the answers, leaves it out).

    Returns:
        The report: {metadata, metrics: {correct, wrong, abstained, ungraded, wrong_share}, questions: [...]}.
    """
    questions = load_questions(data_dir)
    assistant = open_page_index(base, data_dir, questions, neighbours)
    outcomes: list[FinancebenchOutcome] = []
    for done, q in enumerate(questions, start=1):
        started = time.perf_counter()
        answer = assistant.ask(q["question"], answerer=answerer, k=8)
        status = grade(q, answer.text, answer.abstained)
        evidence = set(q.get("evidence_doc_ids", []))
        cited_pages = sorted({f"{c.doc_id.rsplit(':p', 1)[0]}:p{int(c.doc_id.rsplit(':p', 1)[1]) - 1}"
                              for c in answer.citations if ":p" in c.doc_id})
        outcomes.append({"id": q["id"], "question": q["question"], "answer_type": q.get("answer_type"),
                         "gold": q["answer"], "answer": answer.text, "status": status,
                         "cites_evidence_page": bool(evidence & set(cited_pages)), "cited_pages": cited_pages,
                         "cited_boilerplate": boilerplate_cited(assistant, q["question"], answer.citations),
                         "warnings": answer.warnings, "ms": round((time.perf_counter() - started) * 1000, 1)})
        if on_progress:
            on_progress("financebench", done, len(questions))
    counts = {s: sum(o["status"] == s for o in outcomes) for s in ("correct", "wrong", "abstained", "ungraded")}
    retrieval = run_page_retrieval(base, data_dir, on_progress) if page_retrieval else None
    metrics: FinancebenchMetrics = {"correct": counts["correct"], "wrong": counts["wrong"],
                                    "abstained": counts["abstained"], "ungraded": counts["ungraded"],
                                    "questions": len(outcomes), "wrong_share": counts["wrong"] / max(1, len(outcomes))}
    report: FinancebenchReport = {
        "kind": "financebench", "answerer": answerer, "pages_indexed": len(assistant.indexer.catalog.documents()),
        "retrieval": retrieval, "neighbours": neighbours, **run_info(), "citation": CITATION, "metrics": metrics,
        "questions": outcomes}
    return report
