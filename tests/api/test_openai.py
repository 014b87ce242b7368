"""POST /v1/chat/completions through the `openai` package, as existing chat clients would call it."""

from __future__ import annotations

import openai
import pytest

from tests.api.conftest import READER

GROWTH = "How much will global AI server shipments grow in 2026?"


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=READER, max_retries=0)


def test_completion_has_cited_answer_and_citations_field(client):
    completion = client.chat.completions.create(model="rag-extractive",
                                                messages=[{"role": "user", "content": GROWTH}])
    content = completion.choices[0].message.content
    assert "20.9%" in content and "[1]" in content and "Sources:" in content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model_extra["citations"][0]["n"] == 1


def test_completion_streams_chunks(client):
    stream = client.chat.completions.create(model="rag", stream=True,
                                            messages=[{"role": "user", "content": GROWTH}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "20.9%" in text and chunks[-1].choices[0].finish_reason == "stop"


def test_earlier_messages_make_a_follow_up_standalone(client):
    completion = client.chat.completions.create(model="rag-extractive", messages=[
        {"role": "user", "content": GROWTH}, {"role": "assistant", "content": "20.9% [1]."},
        {"role": "user", "content": "and in 2027?"}])
    # The sample report has no 2027 forecast: the condensed question must not be answered with 2026's figure.
    assert completion.model_extra["abstained"] and "20.9%" not in completion.choices[0].message.content


def test_last_message_must_be_the_question(client):
    with pytest.raises(openai.BadRequestError, match="last message must be a non-empty user message"):
        client.chat.completions.create(model="rag", messages=[{"role": "assistant", "content": "hi"}])


def test_models_lists_the_answerers_a_client_can_pick(client):
    ids = [m.id for m in client.models.list()]
    # The test server has no OpenAI-compatible endpoint configured, so rag-openai is not offered.
    assert ids == ["rag", "rag-auto", "rag-extractive", "rag-local"]
    assert client.models.retrieve("rag-extractive").owned_by == "rag"
    with pytest.raises(openai.NotFoundError, match="no model 'gpt-4'"):
        client.models.retrieve("gpt-4")


def test_usage_counts_the_tokens_of_question_and_reply(client):
    from rag.chunk import count_tokens

    completion = client.chat.completions.create(model="rag-extractive",
                                                messages=[{"role": "user", "content": GROWTH}])
    usage = completion.usage
    assert usage.prompt_tokens == count_tokens(GROWTH)
    assert usage.completion_tokens == count_tokens(completion.choices[0].message.content) > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_stream_with_include_usage_ends_with_a_usage_chunk(client):
    from rag.chunk import count_tokens

    chunks = list(client.chat.completions.create(model="rag-extractive", stream=True,
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": GROWTH}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == count_tokens(text) > 0
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="rag-extractive", stream=True,
                                                 messages=[{"role": "user", "content": GROWTH}]))
    assert all(c.choices for c in chunks)


def test_bad_request_is_400_naming_the_field(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="rag", messages=[{"role": "user", "content": GROWTH}],
                                       extra_body={"stream": "yes"})
    assert caught.value.body["param"] == "stream" and caught.value.code == "invalid_request"
