"""The packaged embedder: loads offline, checks its weights, and ranks by meaning."""

from __future__ import annotations

import shutil

import pytest

from rag.embed import PACKAGED_MODEL_SHA256, SentenceTransformerEmbedder, build_embedder, packaged_model_path
from rag.errors import EmbedError
from rag.settings import EmbedSettings


@pytest.fixture(scope="module")
def embedder():
    return build_embedder(EmbedSettings())


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_packaged_model_has_the_expected_weights(embedder):
    assert embedder.dimension == 384
    assert embedder.name
    from rag.embed import file_sha256

    assert file_sha256(packaged_model_path() / "model.safetensors") == PACKAGED_MODEL_SHA256


def test_vectors_are_unit_length_and_batch_independent(embedder):
    texts = ["Huawei plans to launch Ascend 950PR in 1Q26.", "Storage shortages persist.", "AI servers grow."]
    batch = embedder.embed_documents(texts)
    assert len(batch) == 3 and all(len(v) == 384 for v in batch)
    assert all(abs(dot(v, v) - 1) < 1e-4 for v in batch)
    single = embedder.embed_query(texts[1])
    assert dot(single, batch[1]) > 0.9999


def test_paraphrase_is_closer_than_unrelated_text(embedder):
    query = embedder.embed_query("When does Huawei release its new AI chip?")
    near, far = embedder.embed_documents(
        ["Huawei plans to launch the Ascend 950PR processor in the first quarter of 2026.",
         "The bakery sells sourdough bread every Sunday morning."])
    assert dot(query, near) > dot(query, far) + 0.2


def test_empty_input_makes_no_model_call(embedder):
    assert embedder.embed_documents([]) == []


def test_same_settings_share_one_loaded_model():
    assert build_embedder(EmbedSettings()) is build_embedder(EmbedSettings())


def test_tampered_weights_fail_the_sha256_check(tmp_path):
    model = tmp_path / "model"
    shutil.copytree(packaged_model_path(), model, ignore=shutil.ignore_patterns("model.safetensors", "*.onnx", "onnx"))
    (model / "model.safetensors").write_bytes(b"not the real weights")
    with pytest.raises(EmbedError, match="sha256 .* does not match"):
        SentenceTransformerEmbedder(model, expected_sha256=PACKAGED_MODEL_SHA256)


def test_another_local_model_path_can_be_set(tmp_path, embedder):
    model = tmp_path / "my-model"
    model.mkdir()
    for item in packaged_model_path().iterdir():
        (model / item.name).symlink_to(item)
    other = build_embedder(EmbedSettings(model_path=str(model)))
    assert other is not embedder and other.name == "my-model"
    text = "Guosen expects a harvest year for local hard technology."
    assert dot(other.embed_query(text), embedder.embed_query(text)) > 0.9999


def test_folder_without_a_model_is_an_embed_error(tmp_path):
    with pytest.raises(EmbedError, match="not a sentence-transformers model folder"):
        build_embedder(EmbedSettings(model_path=str(tmp_path)))
