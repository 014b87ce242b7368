"""FinCUGE dev benchmark: ../shared/data/fincuge-dev (897 Chinese financial news passages, 466 extractive
questions) -> retrieval hit@1/@5/@10 of the evidence passage and whether the answer's quoted sentence holds the
gold span.

Systems, in the same run: the project (hybrid), its BM25 alone, its dense side alone, and the reference the
issue names, plain BM25 over CJK unigrams and bigrams (k1 0.9, b 0.4), thirty lines of numpy below. Each
question has exactly one evidence passage; a passage counts when any retrieved chunk comes from it.

Answers: the answerer is asked every question; "span in answer" counts answers (not abstentions) that contain a
gold answer span verbatim (after NFKC, so full-width and half-width forms meet), "wrong" those that answered
without it. The corpus is read in place, never copied; its index is cached like TAT-QA's.

Source: Lu et al., "BBT-Fin: Comprehensive Construction of Chinese Financial Domain Pre-trained Language Model,
Corpus and Benchmark", 2023 (FinCUGE FinQA, derived from Baidu's DuEE-fin; the repository states no license).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import NotRequired, TypedDict

from rag.settings import Settings

from .baselines import OkapiBM25, Span
from .run import (
    MODES,
    ROOT,
    JsonRow,
    Progress,
    RetrievalMetrics,
    RunInfo,
    Searcher,
    mode_searcher,
    retrieval_metrics,
    run_info,
)
from .tatqa import _read_jsonl, open_benchmark_index

FINCUGE_DIR = ROOT.parent / "shared" / "data" / "fincuge-dev"
CITATION = ('Lu et al., "BBT-Fin: Comprehensive Construction of Chinese Financial Domain Pre-trained Language '
            'Model, Corpus and Benchmark", 2023 (FinCUGE FinQA; no license stated)')
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?%?")


def load_fincuge(data_dir: Path = FINCUGE_DIR) -> tuple[list[JsonRow], list[JsonRow]]:
    """(passages, questions) of the FinCUGE dev subset.

    Raises:
        RagError: a missing file or a malformed line (named by file and line number).
    """
    corpus = _read_jsonl(data_dir / "corpus.jsonl", ("doc_id", "text"))
    questions = _read_jsonl(data_dir / "qa.jsonl", ("id", "question", "answers", "evidence_doc_ids"))
    return corpus, questions


def bigram_terms(text: str) -> list[str]:
    """The reference tokenisation: every CJK character and every pair of adjacent CJK characters, plus lowercase
    Latin words and figures."""
    text = unicodedata.normalize("NFKC", text).lower()
    terms: list[str] = []
    for run in re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+", text):
        terms.extend(run)
        terms.extend(a + b for a, b in zip(run, run[1:]))
    terms.extend(_WORD.findall(_CJK.sub(" ", text)))
    return terms


class BigramBM25:
    """BM25 over `bigram_terms` (k1 0.9, b 0.4), as the issue's reference was run."""

    name = "bm25_bigram"

    def __init__(self, documents: list[tuple[str, str]]) -> None:
        self.doc_ids = [doc_id for doc_id, _ in documents]
        self.bm25 = OkapiBM25([bigram_terms(text) for _, text in documents], k1=0.9, b=0.4)

    def search(self, query: str, k: int) -> list[Span]:
        return [Span(self.doc_ids[i], 0, 0, "") for i in self.bm25.top(bigram_terms(query), k)]


def span_in(answer: str, spans: list[str]) -> bool:
    text = unicodedata.normalize("NFKC", answer)
    return any(s and unicodedata.normalize("NFKC", s) in text for s in spans)


class FincugeRow(TypedDict):
    """One question's outcome: the rank of its evidence passage for each system, and the answer's, when asked."""

    id: str
    question: str
    ranks: dict[str, int | None]
    answer: NotRequired[str]
    abstained: NotRequired[bool]
    span_in_answer: NotRequired[bool]
    cited_evidence: NotRequired[bool]


class FincugeAnswers(TypedDict):
    questions: int
    answered: int
    span_in_answer: float | None
    cited_evidence: float | None
    abstained: int
    wrong: int


class FincugeReport(RunInfo):
    """run_fincuge's report."""

    kind: str
    data: str
    citation: str
    index: str
    index_chunks: int
    index_reused: bool
    documents: int
    questions: int
    answerer: str
    retrieval: dict[str, RetrievalMetrics]
    answers: FincugeAnswers
    rows: list[FincugeRow]


def run_fincuge(base: Settings, data_dir: Path = FINCUGE_DIR, limit: int | None = None, answerer: str = "extractive",
                k: int = 10, baselines: bool = True, answers: bool = True,
                on_progress: Progress | None = None) -> FincugeReport:
    """Index the FinCUGE dev passages (cached) and score retrieval (and answers) on its questions."""
    corpus, questions = load_fincuge(data_dir)
    if limit is not None:
        questions = questions[:limit]
    settings, assistant, ingested = open_benchmark_index(base, data_dir / "corpus.jsonl", "fincuge", on_progress)
    searchers: dict[str, Searcher] = {"hybrid": mode_searcher(assistant)}
    if baselines:
        for mode in MODES[1:]:
            searchers[mode] = mode_searcher(assistant, mode)
        reference = BigramBM25([(d["doc_id"], f"{d.get('title', '')}\n{d['text']}") for d in corpus])
        searchers[reference.name] = reference.search
    rows: list[FincugeRow] = []
    for done, q in enumerate(questions, start=1):
        gold = set(q["evidence_doc_ids"])
        row: FincugeRow = {"id": q["id"], "question": q["question"], "ranks": {}}
        for name, search in searchers.items():
            # A passage can be several chunks: rank passages, not chunks, so hit@k counts k passages.
            passages = list(dict.fromkeys(s.doc_id for s in search(q["question"], 3 * k)))[:k]
            row["ranks"][name] = next((rank for rank, doc_id in enumerate(passages, 1) if doc_id in gold), None)
        if answers:
            answer = assistant.ask(q["question"], answerer=answerer)
            text = "" if answer.abstained else answer.text
            row.update({"answer": text[:300], "abstained": answer.abstained,
                        "span_in_answer": span_in(text, q["answers"]),
                        "cited_evidence": any(c.doc_id in gold for c in answer.citations)})
        rows.append(row)
        if on_progress:
            on_progress("fincuge", done, len(questions))
    answered = [r for r in rows if "abstained" in r]
    spoken = [r for r in answered if not r["abstained"]]
    report: FincugeReport = {
        "kind": "fincuge",
        "data": str(data_dir),
        "citation": CITATION,
        "index": str(settings.home),
        "index_chunks": assistant.catalog.chunk_count(),
        "index_reused": ingested.added == 0 and ingested.updated == 0,
        "documents": len(corpus),
        "questions": len(rows),
        "answerer": answerer,
        **run_info(),
        "retrieval": {name: retrieval_metrics([r["ranks"][name] for r in rows]) for name in searchers},
        "answers": {
            "questions": len(answered),
            "answered": len(spoken),
            "span_in_answer": sum(r["span_in_answer"] for r in answered) / len(answered) if answered else None,
            "cited_evidence": sum(r["cited_evidence"] for r in spoken) / len(spoken) if spoken else None,
            "abstained": len(answered) - len(spoken),
            "wrong": sum(not r["span_in_answer"] for r in spoken),
        },
        "rows": rows,
    }
    return report
