"""TAT-QA dev benchmark: ../shared/data/tatqa-dev (corpus.jsonl, qa.jsonl) -> retrieval and answer scores.

- Retrieval: hit@1/@5/@10 and MRR of any gold evidence doc id, over the whole corpus of 1,634 documents, for
  the project (hybrid), BM25 alone, dense alone and the naive LangChain pipeline; and for the project within
  the question's own context (its table and paragraphs only), since TAT-QA contexts carry no company name and
  "What was the net income in 2019?" fits many of them.
- Answers: SQuAD-style exact match and token F1 of the answer against the gold answers, for the questions
  whose answer comes from a paragraph (answer_from == "text"); the extractive answerer quotes whole sentences,
  so "contained" (a gold answer found inside the answer) is reported beside them.
- Near misses: each question that names one year, asked instead about the year before any its context
  mentions ("What was the total sales in 2016?" of a table for 2017-2019), answered within that context. Its
  context holds no answer, so every answer given is wrong: a figure moved to another year.

The corpus is read in place, never copied into the repo. Its index is built once under ~/.cache/rag-evals/
(env RAG_EVALS_CACHE), keyed by the corpus file's hash, the chunk settings and the embedder; reruns reuse it.

Source: Zhu et al., "TAT-QA: A Question Answering Benchmark on a Hybrid of Tabular and Textual Content in
Finance", ACL 2021 (CC BY 4.0).
"""

from __future__ import annotations

import json
import os
import re
import string
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, NotRequired, TypedDict

from rag.embed import file_sha256
from rag.errors import RagError
from rag.settings import Settings

from .baselines import NaiveLangChain, QueryCache
from .run import (
    MODES,
    ROOT,
    JsonRow,
    Progress,
    RetrievalMetrics,
    RunInfo,
    Searcher,
    first_rank,
    hits_as_spans,
    in_docs,
    mode_searcher,
    retrieval_metrics,
    run_info,
)

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.ingest import IngestProgress
    from rag.types import IngestReport

TATQA_DIR = ROOT.parent / "shared" / "data" / "tatqa-dev"
CITATION = ('Zhu et al., "TAT-QA: A Question Answering Benchmark on a Hybrid of Tabular and Textual Content in '
            'Finance", ACL 2021 (CC BY 4.0)')


def cache_root() -> Path:
    return Path(os.environ.get("RAG_EVALS_CACHE", "~/.cache/rag-evals")).expanduser()


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[JsonRow]:
    if not path.is_file():
        raise RagError(f"{path}: no such file (TAT-QA dev is expected in ../shared/data/tatqa-dev)")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RagError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        missing = [name for name in required if not isinstance(row, dict) or name not in row]
        if missing:
            raise RagError(f"{path}:{number}: missing {', '.join(missing)}")
        rows.append(row)
    return rows


def load_tatqa(data_dir: Path = TATQA_DIR) -> tuple[list[JsonRow], list[JsonRow]]:
    """(corpus documents, questions) of the TAT-QA dev benchmark.

    Raises:
        RagError: a missing file or a malformed line (named by file and line number).
    """
    corpus = _read_jsonl(data_dir / "corpus.jsonl", ("doc_id", "text", "context_id"))
    questions = _read_jsonl(data_dir / "qa.jsonl", ("id", "question", "answers", "evidence_doc_ids", "context_id"))
    return corpus, questions


def index_settings(base: Settings, corpus_path: Path, name: str = "tatqa") -> Settings:
    """`base` with its index moved to the cache directory for this corpus and these chunk settings (a change of
    tokens or encoders re-indexes the cached documents through their content hashes)."""
    settings = base.model_copy(deep=True)
    model = Path(base.embed.model_path).name if base.embed.model_path else "packaged"
    key = f"{name}-{file_sha256(corpus_path)[:12]}-c{base.chunk.chunk_tokens}-o{base.chunk.overlap_tokens}-{model}"
    settings.home = cache_root() / key
    settings.chroma.url = None
    return settings


def open_benchmark_index(base: Settings, corpus_path: Path, name: str,
                         on_progress: Progress | None = None) -> tuple[Settings, Assistant, IngestReport]:
    """(settings, assistant, ingest report) of the cached index of a benchmark corpus, brought up to date."""
    from rag.assistant import Assistant

    settings = index_settings(base, corpus_path, name)
    assistant = Assistant.from_settings(settings)

    def ingest_progress(p: IngestProgress) -> None:
        if on_progress:
            on_progress(f"{name} index", p.files_done, p.files_total)

    return settings, assistant, assistant.ingest([corpus_path], prune=True, on_progress=ingest_progress)


def open_tatqa_index(base: Settings, data_dir: Path, corpus: list[JsonRow], on_progress: Progress | None = None
                     ) -> tuple[Settings, Assistant, IngestReport, dict[str, set[str]]]:
    """(settings, assistant, ingest report, context id -> its doc ids) of the cached TAT-QA dev index, the
    assistant's question embeddings cached: every retriever and the answerer embed the same question."""
    settings, assistant, ingested = open_benchmark_index(base, data_dir / "corpus.jsonl", "tatqa", on_progress)
    assistant.embedder = assistant.retriever.embedder = QueryCache(assistant.embedder)
    context_docs: dict[str, set[str]] = {}
    for doc in corpus:
        context_docs.setdefault(doc["context_id"], set()).add(doc["doc_id"])
    return settings, assistant, ingested, context_docs


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


class ShiftedQuestion(TypedDict):
    """A near miss: `asked` (a question of the set) about an earlier year, as `question`."""

    id: str
    asked: str
    context_id: str
    question: str


def _replace_year(text: str, year: str, earlier: str) -> str:
    return _YEAR.sub(lambda m: earlier if m.group(0) == year else m.group(0), text)


def shifted_year_questions(corpus: list[JsonRow], questions: list[JsonRow]) -> list[ShiftedQuestion]:
    """Near misses made from the questions: each one that names a single year its context mentions, asked about
    the year before the earliest its context mentions. {id, question, asked, context_id}."""
    years: dict[str, set[int]] = {}
    for doc in corpus:
        found = _YEAR.findall(f"{doc['text']} {json.dumps(doc.get('table_raw') or '')}")
        years.setdefault(doc["context_id"], set()).update(int(y) for y in found)
    shifted: list[ShiftedQuestion] = []
    for q in questions:
        named = set(_YEAR.findall(q["question"]))
        context_years = years.get(q["context_id"], set())
        if len(named) != 1 or int(next(iter(named))) not in context_years:
            continue
        year, earlier = next(iter(named)), str(min(context_years) - 1)
        shifted.append({"id": q["id"], "asked": q["question"], "context_id": q["context_id"],
                        "question": _replace_year(q["question"], year, earlier)})
    return shifted


# Answer scoring (SQuAD's official normalisation) ----------------------------------------------------------

_MARKERS = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def squad_normalize(text: str) -> str:
    text = _MARKERS.sub(" ", text).lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: list[str]) -> float:
    return float(any(squad_normalize(prediction) == squad_normalize(g) for g in gold))


def token_f1(prediction: str, gold: list[str]) -> float:
    best = 0.0
    predicted = squad_normalize(prediction).split()
    for answer in gold:
        expected = squad_normalize(answer).split()
        shared = sum((Counter(predicted) & Counter(expected)).values())
        if shared:
            precision, recall = shared / len(predicted), shared / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(prediction: str, gold: list[str]) -> float:
    normalized = squad_normalize(prediction)
    return float(any(squad_normalize(g) and squad_normalize(g) in normalized for g in gold))


# Running -------------------------------------------------------------------------------------------------

class TatqaRow(TypedDict):
    """One question's outcome: the rank of its first gold document for each system (and within its context),
    and for a question answered from text, the answer and its scores."""

    id: str
    answer_from: str
    ranks: dict[str, int | None]
    answer: NotRequired[str]
    abstained: NotRequired[bool]
    em: NotRequired[float]
    f1: NotRequired[float]
    contained: NotRequired[float]


class NearMiss(TypedDict):
    id: str
    question: str
    abstained: bool
    answer: str


class TatqaAnswers(TypedDict):
    questions: int
    exact_match: float | None
    f1: float | None
    contained: float | None
    abstained: int
    wrong: int


class NearMisses(TypedDict):
    questions: int
    abstained: int
    answered: list[NearMiss]


class TatqaReport(RunInfo):
    """run_tatqa's report."""

    kind: str
    data: str
    citation: str
    index: str
    index_chunks: int
    index_reused: bool
    naive_chunks: int | None
    naive_reused: bool | None
    chunk_tokens: int
    overlap_tokens: int
    documents: int
    questions: int
    answerer: str
    retrieval: dict[str, RetrievalMetrics]
    within_context: RetrievalMetrics
    answers: TatqaAnswers
    near_misses: NearMisses
    rows: list[TatqaRow]


def run_tatqa(base: Settings, data_dir: Path = TATQA_DIR, limit: int | None = None, answerer: str = "extractive",
              k: int = 10, baselines: bool = True, answers: bool = True,
              on_progress: Progress | None = None) -> TatqaReport:
    """Index the TAT-QA dev corpus (cached) and score retrieval and extractive answers.

    Args:
        base: settings whose chunking, retrieval and embedder are evaluated (the index directory is replaced).
        limit: score only the first `limit` questions (the whole corpus is still indexed).
        answers: also ask the text-answer questions and score exact match / F1.

    Returns:
        The report: {metadata, retrieval: {system: metrics}, within_context, answers, questions: [...]}.
    """
    corpus, questions = load_tatqa(data_dir)
    if limit is not None:
        questions = questions[:limit]
    settings, assistant, ingested, context_docs = open_tatqa_index(base, data_dir, corpus, on_progress)
    searchers: dict[str, Searcher] = {"hybrid": mode_searcher(assistant)}
    naive = None
    if baselines:
        for mode in MODES[1:]:
            searchers[mode] = mode_searcher(assistant, mode)
        if on_progress:
            on_progress("naive index", 0, 1)
        # Kept inside the cached index folder (same corpus hash and embedder): rebuilding it costs minutes.
        naive = NaiveLangChain(assistant.embedder, persist_dir=settings.home / "naive-1000-200")
        naive.build((doc["doc_id"], doc["text"]) for doc in corpus)
        searchers[naive.name] = naive.search
    rows: list[TatqaRow] = []
    try:
        for done, q in enumerate(questions, start=1):
            gold = in_docs(set(q["evidence_doc_ids"]))
            row: TatqaRow = {"id": q["id"], "answer_from": q.get("answer_from", ""), "ranks": {}}
            for name, search in searchers.items():
                row["ranks"][name] = first_rank(search(q["question"], k), gold)
            # NOTE: no public filter selects a set of documents, so the within-context ranking goes one level
            # below search(); it is the same retrieval, restricted to the context's doc ids.
            within = assistant.retriever._retrieve(q["question"], k, context_docs.get(q["context_id"], set()), "hybrid")
            row["ranks"]["within_context"] = first_rank(hits_as_spans(within), gold)
            if answers and q.get("answer_from") == "text":
                answer = assistant.ask(q["question"], answerer=answerer)
                text = "" if answer.abstained else answer.text
                row.update({"answer": text[:500], "abstained": answer.abstained, "em": exact_match(text, q["answers"]),
                            "f1": round(token_f1(text, q["answers"]), 4),
                            "contained": contains_answer(text, q["answers"])})
            rows.append(row)
            if on_progress:
                on_progress("tatqa", done, len(questions))
        near_misses: list[NearMiss] = []
        if answers:
            reader = assistant.answerer(answerer)
            probes = shifted_year_questions(corpus, questions)
            for done, probe in enumerate(probes, start=1):
                hits = assistant.retriever._retrieve(probe["question"], assistant.settings.retrieve.top_k,
                                                     context_docs[probe["context_id"]], "hybrid")
                draft = reader.answer(assistant.read(probe["question"]), hits)
                near_misses.append({"id": probe["id"], "question": probe["question"], "abstained": draft.abstained,
                                    "answer": "" if draft.abstained else draft.text[:500]})
                if on_progress:
                    on_progress("tatqa near misses", done, len(probes))
    finally:
        if naive is not None:
            naive.close()
    answered = [r for r in rows if "em" in r]
    report: TatqaReport = {
        "kind": "tatqa",
        "data": str(data_dir),
        "citation": CITATION,
        "index": str(settings.home),
        "index_chunks": assistant.catalog.chunk_count(),
        "index_reused": ingested.added == 0 and ingested.updated == 0,
        "naive_chunks": naive.chunks if naive else None,
        "naive_reused": naive.reused if naive else None,
        "chunk_tokens": settings.chunk.chunk_tokens,
        "overlap_tokens": settings.chunk.overlap_tokens,
        "documents": len(corpus),
        "questions": len(rows),
        "answerer": answerer,
        **run_info(),
        "retrieval": {name: retrieval_metrics([r["ranks"][name] for r in rows]) for name in searchers},
        "within_context": retrieval_metrics([r["ranks"]["within_context"] for r in rows]),
        "answers": {
            "questions": len(answered),
            "exact_match": sum(r["em"] for r in answered) / len(answered) if answered else None,
            "f1": sum(r["f1"] for r in answered) / len(answered) if answered else None,
            "contained": sum(r["contained"] for r in answered) / len(answered) if answered else None,
            "abstained": sum(r["abstained"] for r in answered),
            # Answered, and no gold answer in what was said: the errors an analyst would be misled by.
            "wrong": sum(not r["abstained"] and not r["contained"] for r in answered),
        },
        # Within its own context, where the one report an analyst filters to holds no answer.
        "near_misses": {"questions": len(near_misses), "abstained": sum(r["abstained"] for r in near_misses),
                        "answered": [r for r in near_misses if not r["abstained"]]},
        "rows": rows,
    }
    return report
