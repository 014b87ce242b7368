"""LangChain's own standard retriever tests (langchain-tests' RetrieversIntegrationTests) on the project's
retriever over a real index of the sample report: the conventions a LangChain user relies on (invoke and
ainvoke return Documents, `k` in the constructor and in `invoke(query, k=...)`)."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import RetrieversIntegrationTests

from rag.errors import BadQuestionError
from rag.retrieve import HybridRetriever, ReportRetriever


class TestReportRetriever(RetrieversIntegrationTests):
    hybrid: HybridRetriever | None = None

    @pytest.fixture(autouse=True)
    def _index(self, assistant) -> None:
        type(self).hybrid = assistant.retriever

    @property
    def retriever_constructor(self) -> type[ReportRetriever]:
        return ReportRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": self.hybrid}

    @property
    def retriever_query_example(self) -> str:
        return "How much will global AI server shipments grow in 2026?"


def test_an_empty_query_is_refused_as_assistant_search_refuses_it(assistant):
    with pytest.raises(BadQuestionError):
        assistant.search("   ")
    with pytest.raises(BadQuestionError):
        assistant.as_langchain_retriever().invoke("   ")
