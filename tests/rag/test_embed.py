"""The packaged embedder: loads offline, checks its weights, and ranks by meaning."""

from __future__ import annotations

import shutil

import pytest

from rag.embed import (
    PACKAGED_MODEL_SHA256,
    SentenceTransformerEmbedder,
    build_embedder,
    cpu_multiplies_bf16,
    packaged_model_path,
)
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


def test_an_ingest_batch_encoded_by_token_length_keeps_each_text_s_vector_in_its_place():
    """Batches of more than 16 texts are encoded sorted by their length in tokens: each vector must still be
    its own text's. Lines from TAT-QA and FinanceBench filings, figure-heavy and plain, in mixed order."""
    from rag.embed import SentenceTransformerEmbedder, packaged_model_path

    embedder = SentenceTransformerEmbedder(packaged_model_path(), batch_size=4, precision="fp32")
    lines = ["Total net revenue 1,234,567 1,109,876 998,123 (12,345) 4.5%", "Accounts Receivable",
             "The Company's effective tax rate was 21.0% in fiscal 2019 compared with 24.5% in fiscal 2018.",
             "Cash paid for interest on long-term debt $ 325 $ 290 $ 328", "Goodwill", "Inventories, net"]
    texts = [f"{line} ({n})" for n in range(4) for line in lines]
    assert len(texts) > 16
    batch = embedder.embed_documents(texts)
    for text, vector in zip(texts, batch):
        assert dot(embedder.embed_query(text), vector) > 0.9999, text


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


# Lines of annual reports (TAT-QA dev): more than 16, so they take the batch (ingest) path.
FILING_LINES = [
    "Automotive | 2019: $ 5,686; 2018: $ 6,092; 2017: $ 5,228",
    "Commercial transportation | 2019: 1,221; 2018: 1,280; 2017: 997",
    "Sensors | 2019: 914; 2018: 918; 2017: 814",
    "Defined contribution schemes | 2019 €m: 166; 2018 €m: 178; 2017 €m: 192",
    "Defined benefit schemes | 2019 €m: 57; 2018 €m: 44; 2017 €m: 20",
    "Total amount charged to income statement (note 23) | 2019 €m: 223; 2018 €m: 222; 2017 €m: 212",
    "The Vodafone UK plan is registered as an occupational pension plan with HM Revenue and Customs.",
    "UK legislation requires that pension schemes are funded prudently.",
    "Deferred charges and other assets consisted of the following (in thousands):",
    "The following table sets forth selected financial data as of and for our last five fiscal years.",
    "Cash flow generated from operations, less tax and net capital expenditure, interest paid and received.",
    "Fixed Price | 2019: $ 1,452.4; 2018: $ 1,146.2; 2017: $ 1,036.9",
    "Total sales | 2019: $1,496.5; 2018: $1,202.9; 2017: $1,107.7",
    "Revenue increased primarily due to higher volumes in the Industrial Solutions segment.",
    "Gross margin decreased 120 basis points, reflecting unfavourable product mix.",
    "We repurchased 2.1 million shares of common stock for $180 million during fiscal 2019.",
    "Income tax expense was $85.3 million, an effective tax rate of 21.4%.",
    "Goodwill is tested for impairment annually in the fourth quarter.",
    "Capital expenditures were $749 million in fiscal 2019, compared with $723 million in fiscal 2018.",
    "The weighted-average discount rate used to measure lease liabilities was 4.1%.",
]


def test_bf16_batches_stay_within_rounding_of_fp32():
    fp32 = SentenceTransformerEmbedder(packaged_model_path(), precision="fp32")
    bf16 = SentenceTransformerEmbedder(packaged_model_path(), precision="bf16")
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    exact, rounded = fp32.embed_documents(FILING_LINES), bf16.embed_documents(FILING_LINES)
    assert rounded != exact  # the batch really ran in bf16
    assert all(abs(dot(v, v) - 1) < 1e-4 for v in exact + rounded)
    assert min(dot(a, b) for a, b in zip(exact, rounded)) > 0.999
    for question in ("What was the effective tax rate?", "How much did sensors sell in 2018?",
                     "What were capital expenditures in fiscal 2019?"):
        query = fp32.embed_query(question)
        assert bf16.embed_query(question) == query  # a question is always encoded in fp32

        def top3(vectors, query=query):
            return sorted(range(len(vectors)), key=lambda n: -dot(query, vectors[n]))[:3]
        assert top3(rounded) == top3(exact)


@pytest.mark.parametrize(("flags", "native"), [("fpu avx512f avx512_bf16 amx_bf16 amx_tile", True), ("fpu avx2 amx_bf16", True),
                                               ("fpu avx512f avx512_bf16", False), ("fpu sse4_2 avx2 avx512f", False)])
def test_bf16_is_chosen_only_where_the_cpu_multiplies_it(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n", encoding="ascii")
    assert cpu_multiplies_bf16(cpuinfo) is native
    assert cpu_multiplies_bf16(tmp_path / "missing") is False


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_asks_the_cpu(monkeypatch, native):
    monkeypatch.setattr("rag.embed.cpu_multiplies_bf16", lambda: native)
    chosen = SentenceTransformerEmbedder(packaged_model_path(), precision="auto").precision
    assert chosen == ("bf16" if native else "fp32")
