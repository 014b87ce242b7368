"""Prometheus metrics for one app: request counts and latencies per route, time per pipeline stage,
answers by answerer, abstentions, and the LLM queue. Each app has its own registry so several servers in
one process (tests) do not share counts."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("rag_http_requests_total", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("rag_http_request_seconds", "Time to the response headers, by route.",
                                 ["route"], buckets=_BUCKETS_S, registry=self.registry)
        self.stage = Histogram("rag_stage_seconds", "Time per pipeline stage (condense, retrieve, answer, llm_wait).",
                               ["stage"], buckets=_BUCKETS_S, registry=self.registry)
        self.answers = Counter("rag_answers_total", "Answers by the answerer that produced them.", ["answerer"],
                               registry=self.registry)
        self.abstentions = Counter("rag_abstentions_total", "Answers that said the reports do not answer.",
                                   registry=self.registry)
        self.llm_fallbacks = Counter("rag_llm_overload_total",
                                     "Requests the busy LLM could not take, by outcome (extractive, rejected).",
                                     ["outcome"], registry=self.registry)
        self.llm_waiting = Gauge("rag_llm_waiting", "Requests waiting for the LLM.", registry=self.registry)
        self.rate_limited = Counter("rag_rate_limited_total", "Requests refused with 429.", registry=self.registry)

    def observe_answer(self, answer) -> None:
        self.answers.labels(answerer=answer.answerer).inc()
        if answer.abstained:
            self.abstentions.inc()
        for name, ms in answer.timings.items():
            self.stage.labels(stage=name.removesuffix("_ms")).observe(ms / 1000)

    def render(self) -> bytes:
        return generate_latest(self.registry)
