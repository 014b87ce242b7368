"""Answer: a question and its retrieved Hits -> a Draft whose every claim carries an [n] marker that points at
the sentence it came from.

One path for every answerer: the sentences of the retrieved passages are scored against the question; a
reader turns the best of them into a short answer; rag/evidence.py checks each claim against the sentence it
cites and the question's constraints against the cited sentences. What fails is repaired once, then answered
by the extractive reader, which may abstain.

- ExtractiveAnswerer quotes the best-supported sentence(s): no model, deterministic, fast; the fallback.
- ReaderAnswerer gives the numbered sentences to a ChatModel (the packaged local model, or an
  OpenAI-compatible endpoint) and keeps its answer only when the checks pass.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np
from cachetools import LRUCache

from rag.chat_models import ChatModel, GenerationAbandoned, TokenSink
from rag.chunk import count_tokens, heading_of, sentence_spans
from rag.cite import figures
from rag.embed import Embedder
from rag.errors import AnswererError
from rag.evidence import (
    Cited,
    ClaimCheck,
    check_claims,
    dates_dropped,
    fits,
    has_amount,
    has_date,
    has_non_year_figure,
    has_percent,
    names_missing,
    names_stated,
)
from rag.glossary import Glossary
from rag.instructions import is_instruction
from rag.lexical import fold, is_chinese
from rag.normalise import MONTHS, quarters_written, token_set
from rag.prompts import load_prompt
from rag.question import PERIOD_WORDS, QuestionProfile
from rag.settings import AnswerSettings
from rag.types import Citation, Hit

if TYPE_CHECKING:  # rag.read imports the calculators, which build their Drafts here
    from rag.read import Question

log = logging.getLogger(__name__)

ABSTAIN_TEXT = "The indexed reports do not answer this question."
NOT_IN_REPORTS = "NOT_IN_REPORTS"
# A small model sometimes declines in its own words ("... is not provided in the given passages. [3]").
_SAYS_NOT_IN_PASSAGES = re.compile(
    r"\b(is|are|was|were) not (provided|mentioned|stated|given|specified|included|disclosed|available)\b|"
    r"\b(does|do|did) not (say|mention|provide|state|specify|include|contain|give|disclose)\b|"
    r"\bno (information|data|mention|figure)s? (is |are )?(given|provided|available|about|on|for)\b|"
    r"\bcannot be (determined|found|answered)\b|未提及|没有提到|无法回答", re.IGNORECASE)
# Sentence score weights: lexical coverage of the question's terms and embedding similarity count alike; a
# sentence of the wrong kind (no figure for "how much") is pushed far down, one of the right kind a little up.
COVERAGE_WEIGHT = 0.5
SIMILARITY_WEIGHT = 0.5
KIND_BONUS = 0.1
KIND_PENALTY = 0.3
# A list sentence ("Brands include ...") often leaves its subject to the sentence before it or to its section
# heading; their words count, discounted.
CONTEXT_DISCOUNT = 0.85
SECTION_DISCOUNT = 0.8
# A second sentence is quoted beside the best one only when it scores nearly as well.
SECOND_SENTENCE_RATIO = 0.92


def says_not_in_reports(raw: str) -> bool:
    """Whether a model's reply declines to answer: the agreed NOT_IN_REPORTS, or the same said in words and
    without a figure to back any claim."""
    if NOT_IN_REPORTS in raw.upper().replace(" ", "_"):
        return True
    return bool(_SAYS_NOT_IN_PASSAGES.search(raw)) and not figures(raw)


@dataclass
class Draft:
    """An answer before it becomes an Answer: text with [n] markers, citations, and what happened."""

    text: str
    citations: list[Citation]
    abstained: bool
    answerer: str
    warnings: list[str] = field(default_factory=list)
    # A figure computed by code: the calculation with each operand and its [n] (batch files give it a column).
    calculation: str = ""


class Answerer(Protocol):
    name: str

    def answer(self, question: Question, hits: list[Hit], on_token: TokenSink | None = None) -> Draft:
        """A cited answer to `question` from `hits`, or an abstention saying why there is none."""
        ...


def abstention(answerer: str, reason: str) -> Draft:
    return Draft(text=ABSTAIN_TEXT, citations=[], abstained=True, answerer=answerer, warnings=[reason])


def citation_for(n: int, hit: Hit, start: int, end: int) -> Citation:
    return Citation(n=n, chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title, source=hit.source, page=hit.page,
                    start=start, end=end, text=hit.text[start - hit.start : end - hit.start])


# Sentences -----------------------------------------------------------------------------------------------

@dataclass
class Sentence:
    """One sentence (or table row) of a retrieved passage, scored against the question."""

    hit: Hit
    start: int  # offsets in the document
    end: int
    text: str
    previous: str = ""  # the sentence before, within the same passage
    section: str = ""  # the heading in force at the sentence
    coverage: float = 0.0
    similarity: float = 0.0
    score: float = 0.0
    needs_previous: bool = False

    @property
    def context(self) -> str:
        """What says what the sentence is about besides itself: its section heading and its report's title."""
        return f"{self.section}\n{self.hit.title}"


class SentenceScorer:
    """Scores the sentences of retrieved passages against a question: lexical coverage of the question's
    terms (weighted by rarity among the candidates), embedding similarity, and the kind of answer."""

    def __init__(self, embedder: Embedder, cache_size: int = 20000, multilingual: Embedder | None = None) -> None:
        self.embedder = embedder
        # Similarity across languages, or within Chinese, is the multilingual encoder's to judge: the English
        # one reads Hanzi as [UNK].
        self.multilingual = multilingual
        # Least recently read sentences go first: a server's hot reports stay encoded.
        self._cache: LRUCache[tuple[str, str], list[float]] = LRUCache(maxsize=cache_size)
        self._lock = threading.Lock()

    @staticmethod
    def sentences(hits: list[Hit]) -> list[Sentence]:
        out = []
        for hit in hits:
            previous, section = "", hit.section
            for s, e in sentence_spans(hit.text):
                if is_instruction(hit.text[s:e]):
                    continue  # addressed to an assistant, not said of the world: no reader may quote it
                out.append(Sentence(hit=hit, start=hit.start + s, end=hit.start + e, text=hit.text[s:e],
                                    previous=previous, section=section))
                previous = hit.text[s:e]
                section = heading_of(hit.text, s, e) or section
        return out

    def score(self, profile: QuestionProfile, sentences: list[Sentence]) -> list[Sentence]:
        """`sentences` scored, best first."""
        if not sentences:
            return []
        question_terms = [fold(t) for t in profile.tokens]
        sentence_tokens = [token_set(s.text) for s in sentences]
        n = len(sentences)
        idf = {t: math.log(1 + n / (1 + sum(profile.covers(t, toks) for toks in sentence_tokens))) + 0.1
               for t in question_terms}
        total = sum(idf.values()) or 1.0

        def held(toks: AbstractSet[str]) -> float:
            return sum(idf[t] for t in question_terms if profile.covers(t, toks)) / total

        asked_in_chinese = is_chinese(profile.question)
        encoders = [self.multilingual if self.multilingual is not None and (asked_in_chinese or is_chinese(s.text))
                    else self.embedder for s in sentences]
        similarities = []
        for encoder in dict.fromkeys(encoders):
            texts = [s.text for s, e in zip(sentences, encoders) if e is encoder]
            (query,) = self._embed(encoder, [profile.question])
            similarities.append(dict(zip(texts, (float(np.dot(query, v)) for v in self._embed(encoder, texts)))))
        by_text = {text: value for found in similarities for text, value in found.items()}
        for sentence, toks in zip(sentences, sentence_tokens):
            own = held(toks)
            context_toks = toks | token_set(sentence.previous) if sentence.previous else toks
            with_context = held(context_toks)
            sentence.needs_previous = with_context * CONTEXT_DISCOUNT > own and (profile.wants_list or own < 0.3)
            sentence.coverage = max(own, CONTEXT_DISCOUNT * with_context) if sentence.needs_previous else own
            if sentence.section and profile.wants_list:
                sentence.coverage = max(sentence.coverage,
                                        SECTION_DISCOUNT * held(context_toks | token_set(sentence.section)))
            sentence.similarity = by_text[sentence.text]
            sentence.score = (COVERAGE_WEIGHT * sentence.coverage + SIMILARITY_WEIGHT * sentence.similarity
                              + _kind_bonus(profile, sentence.text))
        return sorted(sentences, key=lambda s: -s.score)

    def _embed(self, encoder: Embedder, texts: list[str]) -> list[list[float]]:
        # Read into a local dict: another thread may evict these while this one is embedding the rest.
        with self._lock:
            found = {t: v for t in texts if (v := self._cache.get((encoder.name, t))) is not None}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = encoder.embed_documents(missing)
            found.update(zip(missing, vectors))
            with self._lock:
                self._cache.update(((encoder.name, t), v) for t, v in zip(missing, vectors))
        return [found[t] for t in texts]


def _kind_bonus(profile: QuestionProfile, text: str) -> float:
    bonus = 0.0
    for wanted, present in ((profile.wants_number, has_non_year_figure), (profile.wants_amount, has_amount),
                            (profile.wants_percent, has_percent), (profile.wants_date, has_date)):
        if wanted:
            bonus += KIND_BONUS if present(text) else -KIND_PENALTY
    if profile.wants_list:
        bonus += KIND_BONUS if text.count(",") >= 3 else -KIND_BONUS
    return bonus


def place_text(profile: QuestionProfile, sentence: Sentence) -> str:
    """The words that say what a sentence is about: its own, its heading's, its report title's and, for a
    list, those of the sentence that introduces it."""
    place = f"{sentence.text}\n{sentence.context}"
    return f"{place}\n{sentence.previous}" if profile.wants_list else place


def answers_question(profile: QuestionProfile, sentences: list[Sentence]) -> bool:
    """The question's constraints, checked on the sentences an answer cites (together)."""
    text = "\n".join(s.text for s in sentences)
    if not fits(profile, text) or not says_more_than_names(profile, text):
        return False
    return names_stated(profile, "\n".join(place_text(profile, s) for s in sentences))


def says_more_than_names(profile: QuestionProfile, text: str) -> bool:
    """Whether `text` shares with a question that names a company (or other name) and a period a word besides
    those names and that period. A filing names the company and the year in its cover, its auditor's report,
    its certifications and on every page header: a sentence that shares only those with the question does not
    answer it ("Does Corning have positive working capital ...?" against "Corning Incorporated ... for the
    fiscal year ended December 31, 2022"). A question naming no period, or no name, is left to the other
    checks: what it shares with a sentence is then its subject's names (a product, a deal), or a period a
    paraphrase of its subject is dated by, and either can be what the sentence is about."""
    if profile.is_chinese or is_chinese(text):
        return True  # Chinese is held to most of the question's terms by the coverage check instead
    periods = [t for t in profile.tokens if t.isdigit() or t.capitalize() in MONTHS]
    named = [a for a in profile.names if not a.isdigit() and a.capitalize() not in MONTHS]
    rest = [fold(t) for t in profile.tokens if t not in profile.anchors and not t.isdigit()
            and t.capitalize() not in MONTHS and t not in PERIOD_WORDS]
    if not periods or not named or not rest:
        return True
    tokens = token_set(text)
    # Lenient on word forms: only a sentence that shares nothing else is refused, so "ship" meets "shipments"
    # and "batteries" meets "battery" by their first letters (the light fold keeps those apart).
    return any(profile.covers(t, tokens) or any(_same_stem(t, u) for u in tokens) for t in rest)


def _same_stem(a: str, b: str) -> bool:
    n = min(len(a), len(b), 5)
    return n >= 4 and a[:n] == b[:n]


# Extractive ----------------------------------------------------------------------------------------------

class ExtractiveAnswerer:
    """Quotes the best-supported sentence(s), each with its [n] citation."""

    name = "extractive"

    def __init__(self, scorer: SentenceScorer, settings: AnswerSettings) -> None:
        self.scorer = scorer
        self.settings = settings

    def answer(self, question: Question, hits: list[Hit], on_token: TokenSink | None = None) -> Draft:
        profile = question.profile
        reason = relevance_gap(profile, hits, self.settings)
        if reason:
            return abstention(self.name, reason)
        ranked = self.scorer.score(profile, self.scorer.sentences(hits))
        # The top-scoring sentence may speak of the topic without the answer ("Exchange rates during the year
        # are given below:"); the best one that does answer is quoted.
        best = next((s for s in ranked if self.supports(profile, s)), None)
        if best is None:
            missing = names_missing(profile, [place_text(profile, s) for s in ranked])
            return abstention(self.name, "no sentence in the retrieved passages answers the question" +
                              (f" (none names: {', '.join(missing)})" if missing else ""))
        ranked = ranked[ranked.index(best):]
        chosen = [best]
        # A list question is answered by one list; a second one nearby lists something else. A Chinese question
        # is judged by its names and figures alone: quote only the sentence that holds the most of them.
        most = 1 if profile.wants_list or profile.is_chinese else self.settings.max_sentences
        for other in ranked[1:]:
            if len(chosen) >= most:
                break
            if (other.score >= SECOND_SENTENCE_RATIO * best.score and self.supports(profile, other)
                    and _adds(other, chosen)):
                chosen.append(other)
        if profile.joins_subjects:
            # Joined subjects get a sentence each, however far the second one ranks below the first.
            for other in ranked[1:]:
                missing = names_missing(profile, [place_text(profile, c) for c in chosen])
                if not missing:
                    break
                if (set(missing) - set(names_missing(profile, [place_text(profile, other)]))
                        and self.supports(profile, other) and not _overlaps(other, chosen)):
                    chosen.append(other)
            missing = names_missing(profile, [place_text(profile, c) for c in chosen])
            if missing:
                return abstention(self.name, f"no sentence that answers names: {', '.join(missing)}")
        chosen.sort(key=lambda s: (s.hit.rank, s.start))
        parts: list[str] = []
        citations: list[Citation] = []
        for sentence in chosen:
            start = sentence.start
            quoted_before = any(c is not sentence and c.text == sentence.previous for c in chosen)
            if sentence.needs_previous and sentence.previous and not quoted_before:
                # Quote the sentence that names the subject too, so the list reads on its own.
                found = sentence.hit.text.rfind(sentence.previous, 0, sentence.start - sentence.hit.start)
                if found >= 0:
                    start = sentence.hit.start + found
            cited = citation_for(len(citations) + 1, sentence.hit, start, sentence.end)
            citations.append(cited)
            parts.append(f"{_as_quote(cited.text)} [{cited.n}]")
        return Draft(text=" ".join(parts), citations=citations, abstained=False, answerer=self.name)

    def supports(self, profile: QuestionProfile, sentence: Sentence) -> bool:
        """Whether quoting `sentence` answers the question rather than merely touching its topic."""
        if not answers_question(profile, [sentence]):
            return False
        if is_chinese(sentence.text) != is_chinese(profile.question):
            # Across languages a question shares only names and figures with a sentence, and no encoder here
            # scores a translation high enough to answer on its own: only a question for a figure or a date whose
            # anchors the sentence holds is answered. A Chinese question over an English report may be anchored
            # by its years alone (its names are often in Chinese); an English question over a Chinese report,
            # the newer and unmeasured way round, needs a name too.
            asks_figure = (profile.wants_number or profile.wants_amount or profile.wants_percent
                           or profile.wants_date or profile.wants_change)
            anchored = bool(profile.anchors) if profile.is_chinese else bool(profile.names)
            # The multilingual encoder still tells a sentence about the same thing (0.39-0.48 for a question and
            # its English or Chinese answer) from one that merely shares a year (0.12).
            return (asks_figure and anchored and sentence.coverage > 0
                    and sentence.similarity >= self.settings.min_cross_similarity)
        if profile.is_chinese:
            # Within Chinese, the sentence must hold most of the question's terms (bigrams within its words).
            return sentence.coverage >= self.settings.min_coverage
        if sentence.score < self.settings.min_sentence_score:
            return False
        # Either the sentence shares enough of the question's words, or it means the same thing in others.
        return sentence.coverage >= self.settings.min_coverage or sentence.similarity >= self.settings.min_similarity


def about_report(profile: QuestionProfile, hits: list[Hit]) -> Draft | None:
    """Questions about the report itself (who published it, when, whose research) are answered from its
    metadata, citing the place in the text where that metadata is written."""
    if not hits:
        return None
    hit = hits[0]
    tokens = token_set(f"{hit.title}\n{hit.text}")
    if not all(profile.holds(a, tokens) for a in profile.anchors):  # "Who published the note on X?"
        return None
    value = ""
    if profile.about_report == "date":
        value = _date_as_written(hit, hit.published) if hit.published else ""
    elif profile.about_report == "broker":
        value = hit.title.split(":", 1)[0] if ":" in hit.title else ""
    elif hit.publisher:
        value = hit.publisher
    if not value:
        return None
    found = hit.text.find(value)
    if found < 0:
        return None
    label = {"date": "published on", "broker": "research by"}.get(profile.about_report, "published by")
    cited = citation_for(1, hit, hit.start + found, hit.start + found + len(value))
    return Draft(text=f"The report is {label} {value} [1].", citations=[cited], abstained=False,
                 answerer="extractive")


def relevance_gap(profile: QuestionProfile, hits: list[Hit], settings: AnswerSettings) -> str:
    """Why nothing retrieved is worth reading for the question, or '' when something is."""
    if not hits:
        return "nothing relevant was found in the indexed reports"
    # The English encoder cannot judge a Chinese question's relevance; its names and figures decide instead.
    if not profile.is_chinese and max(h.relevance for h in hits) < settings.min_relevance:
        return "no passage in the indexed reports is relevant enough"
    return ""


def _overlaps(candidate: Sentence, chosen: list[Sentence]) -> bool:
    return any(c.hit.doc_id == candidate.hit.doc_id and not (candidate.end <= c.start or candidate.start >= c.end)
               for c in chosen)


def _adds(candidate: Sentence, chosen: list[Sentence]) -> bool:
    """Whether quoting `candidate` beside `chosen` tells the reader something more: reports repeat their key
    lines in the summary and the body."""
    if _overlaps(candidate, chosen):
        return False
    said = set().union(*(token_set(c.text) for c in chosen))
    own = token_set(candidate.text)
    return len(own - said) > 0.3 * len(own)


def _date_as_written(hit: Hit, iso: str) -> str:
    y, m, d = iso.split("-")
    for written in (f"{d}/{m}/{y}", f"{int(d)}/{int(m)}/{y}", iso, f"{y}年{int(m)}月{int(d)}日"):
        if written in hit.text:
            return written
    return ""


def _as_quote(text: str) -> str:
    text = text.strip().rstrip(",;")
    return text if text.endswith((".", "!", "?", "。", "！", "？", '"', "”")) else text + "."


# Reader --------------------------------------------------------------------------------------------------

class ReaderAnswerer:
    """A chat model reads the question's best sentences, numbered [1]..[n], and answers citing them; the
    checks of rag/evidence.py decide whether its answer stands."""

    def __init__(self, model: ChatModel, scorer: SentenceScorer, fallback: Answerer, glossary: Glossary,
                 settings: AnswerSettings) -> None:
        """Args:
            scorer: scores the retrieved sentences; the best go into the prompt.
            fallback: answers where the model's answer cannot stand, and gives the second opinion (the
                extractive answerer, which may abstain).
            glossary: the words a claim may use for its sentence's words.
        """
        self.model = model
        self.name = model.name
        self.scorer = scorer
        self.fallback = fallback
        self.glossary = glossary
        self.settings = settings

    def answer(self, question: Question, hits: list[Hit], on_token: TokenSink | None = None) -> Draft:
        draft = self._answer(question, hits, on_token)
        if draft.abstained or not self.settings.llm_answerability_check:
            return draft
        return self.checked(question.text, draft)

    def checked(self, question: str, draft: Draft) -> Draft:
        """`draft`, unless the model judges that the sentences it cites do not answer the question. The support
        checks ask whether what is said is in the cited sentence; this asks whether the sentence answers what
        was asked (a sentence naming the company and the year passes the first and fails the second)."""
        # The sentence, then one short question and a one-word reply: on ten sentence/question pairs from six
        # documents this wording was judged right 10 of 10 at about 0.9 s a check; the question first, 9 of 10;
        # "can the question be answered from it", Yes to all; a longer prompt about "mentions", 3 of 6 at 24 s.
        quoted = " ".join(" ".join(c.text.split()) for c in draft.citations)
        messages = [{"role": "user", "content": load_prompt("answerability").render(passages=quoted,
                                                                                    question=question)}]
        try:
            verdict = re.sub(r"[^a-z]", "", (self.model.generate(messages).split() or [""])[0].lower())
        except AnswererError as exc:
            log.warning("answerability check failed (%s); the answer stands on its support checks", exc)
            return draft
        if verdict == "no":
            refused = abstention(self.name, "the cited sentences mention the question's subject but do not answer "
                                            "it (the model's check)")
            refused.warnings = draft.warnings + refused.warnings
            return refused
        return draft

    def _answer(self, question: Question, hits: list[Hit], on_token: TokenSink | None) -> Draft:
        profile = question.profile
        reason = relevance_gap(profile, hits, self.settings)
        if reason:
            return abstention(self.name, reason)
        evidence = self.evidence_for(profile, hits)
        warnings: list[str] = []
        messages = build_messages(question.text, evidence)
        for attempt in range(2):
            try:
                raw = self.model.generate(messages, on_token)
            except AnswererError as exc:
                log.warning("%s; answering extractively", exc)
                return self._fallback(question, hits, [f"{exc}; answered extractively instead"])
            if says_not_in_reports(raw):
                # The extractive reader is held to the same checks: it answers only where a sentence does.
                return self._fallback(question, hits, warnings + ["the model found no answer in the passages"])
            check = check_claims(raw, [Cited(n, s.text, s.context) for n, s in enumerate(evidence, 1)],
                                 self.glossary, repoint=True)
            warnings.extend(check.moved)
            problems = self.problems(check, profile, evidence)
            if not problems:
                return self._second_opinion(self._draft(check, evidence, warnings), question, hits)
            warnings.append(f"attempt {attempt + 1}: {'; '.join(problems)}")
            # The repair goes after the first answer, not before the sentences: the model then rereads nothing
            # (llama.cpp keeps the evaluated prefix) and answers again within a second or two.
            messages = [*messages, {"role": "assistant", "content": raw}, {"role": "user", "content": (
                f"That answer was rejected: {'; '.join(problems)}. Answer the question again using only words and "
                f"figures of the numbered sentences, ending each sentence with its [n], or reply {NOT_IN_REPORTS}.")}]
        return self._fallback(question, hits, warnings + ["the model's answer failed verification twice; "
                                                          "answered extractively instead"])

    @staticmethod
    def problems(check: ClaimCheck, profile: QuestionProfile, evidence: list[Sentence]) -> list[str]:
        """Why the model's answer cannot stand: its claims against the sentences they cite (`check`), then the
        question's constraints against those sentences."""
        if not check.ok:
            return check.problems()
        cited = [evidence[n - 1] for n in check.cited]
        if not answers_question(profile, cited):
            return ["the cited sentence(s) do not state what the question asks for (its period, names, metric "
                    "or kind of answer)"]
        dropped = dates_dropped(profile, check.text, "\n".join(s.text for s in cited))
        if dropped:
            return [f"the question asks when: the cited sentence dates it {' or '.join(dropped)}, the answer "
                    "gives only a year or quarter"]
        return []

    def evidence_for(self, profile: QuestionProfile, hits: list[Hit]) -> list[Sentence]:
        """The best-scoring sentences within the prompt budget, in report order: a small CPU model starts
        answering within seconds of a short prompt, and is pulled to a distractor's figure by a long one."""
        ranked = self.scorer.score(profile, self.scorer.sentences(hits))
        chosen: list[Sentence] = []
        tokens = 0
        by_text = {(s.hit.chunk_id, s.text): s for s in ranked}
        # A sentence far weaker than the best costs the small model prompt time and pulls it to a distractor;
        # a question joining two subjects needs a sentence on each, however far apart they score.
        ratio = 0.0 if profile.joins_subjects else self.settings.llm_min_score_ratio
        floor = ranked[0].score * ratio if ranked and ratio else -math.inf
        for sentence in ranked:
            if chosen and sentence.score < floor:
                break  # ranked best first: the rest score lower still
            group = [sentence]
            if sentence.needs_previous and sentence.previous:
                before = by_text.get((sentence.hit.chunk_id, sentence.previous))
                if before is not None:
                    group.insert(0, before)
            group = [s for s in group if not any(s is c for c in chosen) and not _overlaps(s, chosen)]
            cost = sum(count_tokens(s.text) for s in group)
            if chosen and tokens + cost > self.settings.llm_evidence_tokens:
                continue
            chosen.extend(group)
            tokens += cost
            if len(chosen) >= self.settings.llm_sentences:
                break
        return sorted(chosen, key=lambda s: (s.hit.rank, s.start))

    def _draft(self, check: ClaimCheck, evidence: list[Sentence], warnings: list[str]) -> Draft:
        """The checked answer with its markers renumbered [1]..[k] in order of use, each citing its sentence."""
        order = {old: new for new, old in enumerate(check.cited, 1)}
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{order[int(m.group(1))]}]" if int(m.group(1)) in order else "",
                      check.text)
        text = in_report_notation(text, [evidence[n - 1].text for n in check.cited])
        citations = [citation_for(order[old], evidence[old - 1].hit, evidence[old - 1].start, evidence[old - 1].end)
                     for old in check.cited]
        return Draft(text=text, citations=citations, abstained=False, answerer=self.name, warnings=warnings)

    def _second_opinion(self, draft: Draft, question: Question, hits: list[Hit]) -> Draft:
        """The model's checked answer, unless the extractive reader confidently quotes other sentences: where
        the two disagree, the quote of the best-supported sentence wins. A small model sometimes cites a
        plausible sentence next to the one that answers; where the extractive reader abstains (a paraphrase
        it cannot match), the model's answer stands alone."""
        quoted = self.fallback.answer(question, hits)
        if quoted.abstained or _shares_sentence(draft.citations, quoted.citations):
            return draft
        quoted.warnings = draft.warnings + [
            "the model cited other sentences than the best-supported one; quoted that one instead"] + quoted.warnings
        return quoted

    def _fallback(self, question: Question, hits: list[Hit], warnings: list[str]) -> Draft:
        draft = self.fallback.answer(question, hits)
        draft.warnings = warnings + draft.warnings
        return draft


def _shares_sentence(a: list[Citation], b: list[Citation]) -> bool:
    return any(x.doc_id == y.doc_id and x.start < y.end and y.start < x.end for x in a for y in b)


def in_report_notation(answer: str, cited: list[str]) -> str:
    """`answer` with each quarter written as its cited sentences write it ("Q12026" -> "1Q26"): the reader
    may say a period another way, and the verifier accepts it, but an analyst should read the report's own
    notation, the one the citation shows."""
    written: dict[str, str] = {}
    for sentence in cited:
        for key, form in quarters_written(sentence).items():
            written.setdefault(key, form)
    for key, form in quarters_written(answer).items():
        # A quarter spelt out ("the third quarter of 2023", "2020年第一季度") reads on either side; only codes are
        # exchanged.
        spelt_out = re.search(r"quarter|季度", f"{form} {written.get(key, '')}", re.IGNORECASE)
        if key in written and form != written[key] and not spelt_out:
            answer = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", written[key], answer)
    return answer


def build_messages(question: str, evidence: list[Sentence]) -> list[dict[str, str]]:
    """The prompt: numbered sentences, a blank line between passages. Passages go in without titles: a small
    model copied a (truncated) report title into its answer; the citations carry titles and pages instead."""
    lines, previous_hit = [], None
    for n, sentence in enumerate(evidence, 1):
        if previous_hit is not None and sentence.hit.chunk_id != previous_hit:
            lines.append("")
        lines.append(f"[{n}] {' '.join(sentence.text.split())}")
        previous_hit = sentence.hit.chunk_id
    user = load_prompt("answer").render(passages="\n".join(lines), question=question)
    return [{"role": "system", "content": load_prompt("system").render()}, {"role": "user", "content": user}]


__all__ = ["ABSTAIN_TEXT", "Answerer", "Draft", "ExtractiveAnswerer", "GenerationAbandoned", "ReaderAnswerer",
           "Sentence", "SentenceScorer", "abstention", "build_messages", "citation_for", "says_not_in_reports"]
