"""Answer: a question and its retrieved Hits -> a Draft answer whose every claim carries an [n] marker.

Answerers:
- ExtractiveAnswerer picks the sentence(s), or the clause of a long sentence, that answer the question and
  quotes them. No generative model: deterministic, fast, and the fallback for the others.
- LlamaCppAnswerer runs a local GGUF model in-process (default: the packaged Qwen2.5-Coder-1.5B-Instruct).
- OpenAIAnswerer talks to any OpenAI-compatible endpoint through LangChain's ChatOpenAI.
Both generative answerers only see passages that passed the relevance gate, as numbered [n] windows.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from rag.chunk import count_tokens, sentence_spans
from rag.cite import figures
from rag.embed import Embedder
from rag.errors import AnswererError
from rag.lexical import lexical_tokens
from rag.prompts import load_prompt
from rag.settings import AnswerSettings, LLMSettings
from rag.types import Citation, Hit

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The indexed reports do not answer this question."
NOT_IN_REPORTS = "NOT_IN_REPORTS"
TokenSink = Callable[[str], None]

_CJK = re.compile(r"[\u3400-\u9fff]")
_NUMBER_Q = re.compile(
    r"\b(how (much|many|fast|big|large|high)|what (percentage|percent|share|rate|proportion|value|amount|level|"
    r"price|number|cagr|growth)|by how much|what is the (expected )?(growth|share|cagr|rate|ratio|price)|"
    r"grow(th)? rate|cagr|ratio|percentage)\b|多少|百分|增长|增速|比例|占比|份额|规模", re.IGNORECASE)
_DATE_Q = re.compile(r"\b(when|what year|which year|which quarter|what quarter|by when|what date|what time)\b|"
                     r"什么时候|何时|哪一年|哪年|哪个季度|日期", re.IGNORECASE)
_LIST_Q = re.compile(r"\b(which|what) (companies|firms|stocks|names|chips|devices|risks|products|areas|sectors|"
                     r"types|technologies|markets)\b|\blist\b|哪些", re.IGNORECASE)
_QUESTION_WORDS = {"what", "which", "who", "when", "where", "why", "how", "is", "are", "does", "do", "did", "will",
                   "can", "according", "in", "by", "the", "name", "list", "give", "tell"}
_CLAUSE_BREAK = re.compile(r",\s+(?=and |while |with |which |but |whereas |as well as |along with )|;\s+")
_YEAR = re.compile(r"^(19|20)\d\d$")


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
    coverage: float = 0.0
    similarity: float = 0.0
    score: float = 0.0


class QuestionProfile:
    """What a question asks for: its content tokens, the anchors (names, figures) a passage must share with
    it, and the kind of answer it expects (a figure, a date, a list)."""

    def __init__(self, question: str) -> None:
        self.question = question
        self.tokens = list(dict.fromkeys(lexical_tokens(question)))
        self.is_chinese = bool(_CJK.search(question))
        self.wants_number = bool(_NUMBER_Q.search(question))
        self.wants_date = bool(_DATE_Q.search(question))
        self.wants_list = bool(_LIST_Q.search(question))
        self.anchors = self._anchors(question)

    @staticmethod
    def _anchors(question: str) -> list[str]:
        anchors = []
        words = re.findall(r"[A-Za-z0-9][A-Za-z0-9.\-']*", question)
        for i, word in enumerate(words):
            word = word.rstrip(".'").removesuffix("'s")
            low = word.lower()
            if low in _QUESTION_WORDS and i == 0:
                continue
            has_digit = any(ch.isdigit() for ch in word)
            capitalised = word[:1].isupper() and i > 0 and low not in _QUESTION_WORDS
            if has_digit or capitalised or (word.isupper() and len(word) > 1):
                anchors.extend(lexical_tokens(word, keep_stop_words=True))
        return [a for a in dict.fromkeys(anchors) if a not in ("ai",)]


def _token_set(text: str) -> set[str]:
    return {_fold(t) for t in lexical_tokens(text, keep_stop_words=True)}


def _fold(token: str) -> str:
    # A light stemmer so "shipments" meets "shipment" and "grows" meets "grow".
    for suffix in ("ing", "ed", "es", "s"):
        if len(token) > len(suffix) + 3 and token.endswith(suffix) and not token[0].isdigit():
            return token[: -len(suffix)]
    return token


def has_non_year_figure(text: str) -> bool:
    for key in figures(text):
        if "Q" in key:
            continue
        if not _YEAR.match(key):
            return True
    return False


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
        if all(_fold(a) in tokens for a in profile.anchors):
            kept.append(hit)
    return kept


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
            for s, e in sentence_spans(hit.text):
                out.append(_Sentence(hit=hit, start=hit.start + s, end=hit.start + e, text=hit.text[s:e]))
        return out

    def eligible(self, profile: QuestionProfile, hits: list[Hit]) -> list[Hit]:
        return eligible_hits(profile, hits)

    def score(self, profile: QuestionProfile, sentences: list[_Sentence]) -> list[_Sentence]:
        if not sentences:
            return []
        question_terms = [_fold(t) for t in profile.tokens]
        sentence_tokens = [_token_set(s.text) for s in sentences]
        n = len(sentences)
        idf = {t: math.log(1 + n / (1 + sum(t in toks for toks in sentence_tokens))) + 0.1 for t in question_terms}
        total = sum(idf.values()) or 1.0
        vectors = self._embed([s.text for s in sentences])
        query = self.embedder.embed_query(profile.question)
        for sentence, toks, vector in zip(sentences, sentence_tokens, vectors):
            sentence.coverage = sum(idf[t] for t in question_terms if t in toks) / total
            sentence.similarity = sum(a * b for a, b in zip(query, vector))
            bonus = 0.0
            if profile.wants_number:
                bonus += 0.15 if has_non_year_figure(sentence.text) else -0.3
            if profile.wants_date:
                bonus += 0.15 if has_date(sentence.text) else -0.3
            sentence.score = 0.5 * sentence.coverage + 0.5 * sentence.similarity + bonus
        return sorted(sentences, key=lambda s: -s.score)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.embedder.embed_documents(missing)
            with self._lock:
                if len(self._cache) + len(missing) > self._cache_size:
                    self._cache.clear()
                self._cache.update(zip(missing, vectors))
        with self._lock:
            return [self._cache[t] for t in texts]


class ExtractiveAnswerer:
    """Quotes the best-supported sentence(s) or clause, each with its [n] citation."""

    name = "extractive"

    def __init__(self, scorer: PassageScorer, settings: AnswerSettings) -> None:
        self.scorer = scorer
        self.settings = settings

    def answer(self, question: str, hits: list[Hit]) -> Draft:
        profile = QuestionProfile(question)
        reason = gate(profile, hits, self.settings)
        if reason:
            return abstention(self.name, reason)
        ranked = self.scorer.score(profile, self.scorer.sentences(self.scorer.eligible(profile, hits)))
        best = ranked[0] if ranked else None
        if best is None or not self._supports(profile, best):
            return abstention(self.name, "no sentence in the retrieved passages answers the question")
        chosen = [best]
        for other in ranked[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if other.score >= 0.9 * best.score and self._supports(profile, other) and self._adds(other, chosen):
                chosen.append(other)
        chosen = [self._trim(profile, s) for s in chosen]
        chosen.sort(key=lambda s: (s.hit.rank, s.start))
        parts, citations = [], []
        for sentence in chosen:
            n = len(citations) + 1
            citations.append(citation_for(n, sentence.hit, sentence.start, sentence.end))
            parts.append(f"{_as_quote(sentence.text)} [{n}]")
        return Draft(text=" ".join(parts), citations=citations, abstained=False, answerer=self.name)

    def _supports(self, profile: QuestionProfile, sentence: _Sentence) -> bool:
        if profile.wants_number and not has_non_year_figure(sentence.text):
            return False
        if profile.wants_date and not profile.wants_number and not has_date(sentence.text):
            return False
        if profile.is_chinese:
            # English-only embeddings cannot judge a Chinese question; its names and figures must carry it.
            return bool(profile.anchors) and sentence.coverage > 0
        return sentence.coverage >= self.settings.min_coverage and sentence.score >= self.settings.min_sentence_score

    @staticmethod
    def _adds(candidate: _Sentence, chosen: list[_Sentence]) -> bool:
        for c in chosen:
            if c.hit.doc_id == candidate.hit.doc_id and not (candidate.end <= c.start or candidate.start >= c.end):
                return False
        return True

    def _trim(self, profile: QuestionProfile, sentence: _Sentence) -> _Sentence:
        """A long sentence is cut to its clause that answers the question, if that clause holds its figure."""
        if len(sentence.text.split()) <= 30:
            return sentence
        pieces, cursor = [], 0
        for match in _CLAUSE_BREAK.finditer(sentence.text):
            pieces.append((cursor, match.start()))
            cursor = match.end()
        pieces.append((cursor, len(sentence.text)))
        if len(pieces) < 2:
            return sentence
        terms = {_fold(t) for t in profile.tokens}
        best, best_key = None, None
        for s, e in pieces:
            text = sentence.text[s:e]
            toks = _token_set(text)
            if profile.wants_number and not has_non_year_figure(text):
                continue
            if profile.wants_date and not has_date(text):
                continue
            key = (len(terms & toks), -len(text))
            if best_key is None or key > best_key:
                best, best_key = (s, e), key
        if best is None or best_key[0] < max(1, len(terms & _token_set(sentence.text)) * 0.6):
            return sentence
        s, e = best
        return _Sentence(hit=sentence.hit, start=sentence.start + s, end=sentence.start + e,
                         text=sentence.text[s:e], coverage=sentence.coverage, similarity=sentence.similarity,
                         score=sentence.score)


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
    short enough for a small CPU model to start answering within seconds."""
    eligible = scorer.eligible(profile, hits)[:max_passages]
    ranked = scorer.score(profile, scorer.sentences(eligible))
    passages = []
    for hit in eligible:
        own = sorted((s for s in ranked if s.hit is hit), key=lambda s: s.start)
        if not own:
            continue
        best = max(own, key=lambda s: s.score)
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
    numbered = "\n".join(f"[{p.n}] ({p.hit.title[:80]}{f', p. {p.hit.page}' if p.hit.page else ''}) {p.text}"
                         for p in passages)
    user = load_prompt("answer").render(passages=numbered, question=question)
    if repair_note:
        user = f"{repair_note}\n\n{user}"
    return [{"role": "system", "content": load_prompt("system").render()}, {"role": "user", "content": user}]


class LlamaCppAnswerer:
    """A local GGUF chat model run by llama-cpp-python in this process, one generation at a time."""

    name = "local"

    def __init__(self, settings: LLMSettings, model_path: str) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise AnswererError("llama-cpp-python is not installed: pip install 'llama-cpp-python[server]'") from exc
        import os

        threads = settings.n_threads or os.cpu_count() or 2
        try:
            self._llm = Llama(model_path=model_path, n_ctx=settings.n_ctx, n_threads=threads, verbose=False,
                              seed=0)
        except Exception as exc:  # llama.cpp raises ValueError for a missing or corrupt file
            raise AnswererError(f"cannot load the local model {model_path}: {exc}") from exc
        self.settings = settings
        self.model_path = model_path
        self.lock = threading.Lock()  # llama.cpp contexts are not reentrant: serialize generations

    def generate(self, messages: list[dict[str, str]], on_token: TokenSink | None = None) -> str:
        with self.lock:
            pieces = []
            stream = self._llm.create_chat_completion(
                messages=messages, stream=True, temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens, seed=0)
            for event in stream:
                delta = event["choices"][0].get("delta", {}).get("content") or ""
                if delta:
                    pieces.append(delta)
                    if on_token:
                        on_token(delta)
            return "".join(pieces)


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
